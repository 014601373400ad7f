package dmaring_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/ipcu/ipcu/dmaring"
)

// Several producers and consumers share an MPMC ring; each message reaches
// exactly one consumer. In real use each goroutine could be another process
// attached with AttachMPMC to the same shared mapping.
func ExampleInitMPMC() {
	size, err := dmaring.RingSize(16, 64)
	if err != nil {
		panic(err)
	}
	ring, err := dmaring.InitMPMC(make([]byte, size), 16, 64)
	if err != nil {
		panic(err)
	}

	var wg sync.WaitGroup
	for id := range 3 { // three producers of 100 messages each
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				msg := fmt.Appendf(nil, "%d/%d", id, i)
				for errors.Is(ring.Enqueue(msg), dmaring.ErrFull) {
					runtime.Gosched()
				}
			}
		}()
	}
	var mu sync.Mutex
	got := 0
	for range 2 { // two consumers
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, ring.MaxMessage())
			for {
				mu.Lock()
				done := got == 300
				mu.Unlock()
				if done {
					return
				}
				if _, err := ring.Dequeue(buf); err == nil {
					mu.Lock()
					got++
					mu.Unlock()
				} else {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println(got, "messages")
	// Output: 300 messages
}
