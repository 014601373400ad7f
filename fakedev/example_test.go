package fakedev_test

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/regs/ipcu"
)

// waitIRQ blocks until core's interrupt eventfd has a notification, and
// consumes it: what irq.Source will do for a driver.
func waitIRQ(core *fakedev.Core) error {
	fds := []unix.PollFd{{Fd: int32(core.EventFD()), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, 5000); err != nil && err != unix.EINTR {
			return err
		}
		var buf [8]byte
		if _, err := unix.Read(core.EventFD(), buf[:]); err == nil {
			return nil
		} else if err != unix.EAGAIN {
			return err
		}
	}
}

// A protocol test without hardware: core 0 (the Linux side) sends a request
// on mailbox 0, and a goroutine playing the firmware on core 1 answers on
// mailbox 1, interrupt-driven, following docs/ipcu.md 11.4.
func Example() {
	dev, err := fakedev.New(fakedev.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	host, _ := ipcu.New(dev.Core(0), 0)
	fw, _ := ipcu.New(dev.Core(1), 0)

	// Core 0, the management core, sets up the access control (11.1).
	cfg := ipcu.MBOX_CFG
	host.MBOX[0].CFG.Update(cfg.EN.Val(1), cfg.SENDER.Val(0), cfg.RECEIVER.Val(1))
	host.MBOX[1].CFG.Update(cfg.EN.Val(1), cfg.SENDER.Val(1), cfg.RECEIVER.Val(0))
	host.CTRL.Update(ipcu.CTRL.EN.Val(1))

	// The firmware: wait for a request, answer with the value plus one.
	fw.CORE[1].RX_EN.Write(1 << 0)
	fw.CORE[1].IRQ_MASK.Update(ipcu.CORE_IRQ_MASK.MBOX_RX.Val(1))
	done := make(chan error, 1)
	go func() {
		if err := waitIRQ(dev.Core(1)); err != nil {
			done <- err
			return
		}
		if fw.CORE[1].IRQ_MSTATUS.Read()&(1<<0) != 0 && fw.MBOX[0].RXLEN.Read()>>31 == 1 {
			req := fw.MBOX[0].RXDATA[0].Read()
			fw.MBOX[0].POP.Write(1)
			fw.MBOX[1].TXDATA[0].Write(req + 1)
			fw.MBOX[1].COMMIT.Write(4)
		}
		fw.CORE[1].IRQ_EOI.Write(1)
		done <- nil
	}()

	// The host: send, then wait for the answer on its own interrupt.
	host.CORE[0].RX_EN.Write(1 << 1)
	host.CORE[0].IRQ_MASK.Update(ipcu.CORE_IRQ_MASK.MBOX_RX.Val(1))
	host.MBOX[0].TXDATA[0].Write(41)
	host.MBOX[0].COMMIT.Write(4)
	if err := waitIRQ(dev.Core(0)); err != nil {
		fmt.Println(err)
		return
	}
	n := ipcu.MBOX_RXLEN.LEN.Get(host.MBOX[1].RXLEN.Read())
	fmt.Printf("firmware answered %d (%d bytes)\n", host.MBOX[1].RXDATA[0].Read(), n)
	host.MBOX[1].POP.Write(1)
	if err := <-done; err != nil {
		fmt.Println(err)
	}
	// Output: firmware answered 42 (4 bytes)
}
