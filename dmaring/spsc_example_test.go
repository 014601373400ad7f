package dmaring_test

import (
	"errors"
	"fmt"

	"github.com/ipcu/ipcu/dmaring"
)

// Two processes share an SPSC ring: one formats the memory, the other
// attaches to it. Here both sides are in one process, over one slice; in
// real use mem is a MAP_SHARED mapping of a memfd (or /dev/shm object) that
// both processes map.
func ExampleInitSPSC() {
	size, err := dmaring.RingSize(64, 128) // 64 slots, messages up to 112 bytes
	if err != nil {
		panic(err)
	}
	mem := make([]byte, size)

	ring, err := dmaring.InitSPSC(mem, 64, 128) // the creator: the producer here
	if err != nil {
		panic(err)
	}
	peer, err := dmaring.AttachSPSC(mem) // the peer: the consumer
	if err != nil {
		panic(err)
	}
	p, c := ring.Producer(), peer.Consumer()

	if err := p.Enqueue([]byte("hello")); err != nil {
		panic(err)
	}
	buf := make([]byte, peer.MaxMessage())
	n, err := c.Dequeue(buf)
	fmt.Println(string(buf[:n]), err)
	_, err = c.Dequeue(buf)
	fmt.Println(errors.Is(err, dmaring.ErrEmpty))
	// Output:
	// hello <nil>
	// true
}
