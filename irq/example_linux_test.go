package irq_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ipcu/ipcu/irq"
)

// A software interrupt line: two interrupts before the Wait are merged into
// one count of 2, which Stats reports as one missed.
func ExampleEventfd() {
	src, err := irq.NewEventfd()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	src.Signal()
	src.Signal()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := src.Wait(ctx)
	fmt.Println(n, err)
	fmt.Printf("%+v\n", src.Stats())

	// Nothing pending: Wait sleeps until the deadline.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = src.Wait(ctx)
	fmt.Println(err)
	// Output:
	// 2 <nil>
	// {Wakeups:1 Delivered:2 Missed:1 Spurious:0}
	// irq: wait: i/o timeout
}

// One goroutine serves two interrupt lines. The handler of the first line
// fires the second; the second's handler stops the loop.
func ExampleLoop() {
	rx, err := irq.NewEventfd()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rx.Close()
	tx, err := irq.NewEventfd()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tx.Close()

	loop, err := irq.NewLoop(&irq.LoopOptions{BusyPoll: 50 * time.Microsecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer loop.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loop.Add(rx, func(count uint64) {
		// A device handler would read the status, acknowledge, then
		// write the end-of-interrupt register (see the package doc).
		fmt.Println("rx interrupt, count", count)
		tx.Signal()
	})
	loop.Add(tx, func(count uint64) {
		fmt.Println("tx interrupt, count", count)
		cancel()
	})

	rx.Signal()
	err = loop.Run(ctx)
	fmt.Println("Run:", err)
	fmt.Println("handled", loop.Stats().Handled)
	// Output:
	// rx interrupt, count 1
	// tx interrupt, count 1
	// Run: irq: run: context canceled
	// handled 2
}
