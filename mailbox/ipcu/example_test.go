package ipcu_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/mailbox/ipcu"
)

// Bring up the block on the management core, open a channel on core 1 and
// core 2, and exchange a message. On hardware, Bus is a UIO or VFIO
// window and IRQ the line's eventfd; here both come from fakedev.
func Example() {
	dev, err := fakedev.New(fakedev.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	var lines []*irq.Eventfd // each core's interrupt line, closed after its driver
	defer func() {
		for _, l := range lines {
			l.Close()
		}
	}()
	open := func(k int) *ipcu.Driver {
		line, err := irq.FromEventfd(dev.Core(k).EventFD(), false)
		if err != nil {
			panic(err)
		}
		drv, err := ipcu.Open(ipcu.Config{Bus: dev.Core(k), IRQ: line})
		if err != nil {
			panic(err)
		}
		lines = append(lines, line)
		return drv
	}
	mgmt, a, b := open(0), open(1), open(2)
	defer mgmt.Close()
	defer a.Close()
	defer b.Close()

	// docs/ipcu.md 11.1: access control, lock, enable.
	if err := mgmt.ConfigureMailbox(0, 1, 2); err != nil {
		fmt.Println(err)
		return
	}
	mgmt.LockAll()
	mgmt.Enable()

	tx, _ := a.Channel(ipcu.ChannelConfig{TX: 0, RX: -1})
	rx, _ := b.Channel(ipcu.ChannelConfig{TX: -1, RX: 0})
	defer tx.Close()
	defer rx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tx.Send(ctx, []byte("hello, core 2")); err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, rx.MaxMessage())
	n, err := rx.Recv(ctx, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("core %d got %q\n", b.Core(), buf[:n])

	// Core 2 may not send on mailbox 0: the access control says so.
	_, err = b.Channel(ipcu.ChannelConfig{TX: 0, RX: -1})
	fmt.Println(err)
	// Output:
	// core 2 got "hello, core 2"
	// open ipcu core 2 mailbox tx 0 rx -1: mailbox 0's sender is core 1, not core 2: permission denied
}
