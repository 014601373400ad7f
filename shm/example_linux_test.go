package shm_test

import (
	"context"
	"fmt"

	"github.com/ipcu/ipcu/shm"
)

func ExampleNewPair() {
	a, b, err := shm.NewPair(&shm.Options{Slots: 16, SlotSize: 128, BusyPoll: 50})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	defer b.Close()

	ctx := context.Background()
	if err := a.Send(ctx, []byte("hello")); err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, b.MaxMessage())
	n, err := b.Recv(ctx, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, up to %d bytes\n", buf[:n], b.MaxMessage())
	// Output: hello, up to 112 bytes
}
