package uio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/irq"
)

// interrupt is the irq.Source of a UIO device: its own open file of the
// device node, non-blocking, in the Go runtime's netpoller.
//
// One Wait reads at a time: a Wait takes sem, which a Wait blocked on it
// gives up when its context is done. The read deadline of the file is the
// waiting context's deadline, and a context.AfterFunc moves it into the
// past when the context is cancelled. Close closes the file, which wakes a
// blocked read with os.ErrClosed.
type interrupt struct {
	node string
	fd   int // the descriptor of f; TryWait and Ack use it under mu
	f    *os.File
	rc   syscall.RawConn
	sem  chan struct{}
	c    *counter

	// reenable re-enables the line when the driver has no irqcontrol
	// (uio_pci_generic never had one: it masks INTx with the command
	// register's interrupt-disable bit, which userspace clears). Nil when
	// the device is not a PCI function.
	reenable func() error

	closed atomic.Bool
	// mu is read-held by TryWait and Ack, which use fd directly; Close
	// write-locks it before closing f.
	mu       sync.RWMutex
	once     sync.Once
	closeErr error
}

var _ irq.Source = (*interrupt)(nil)

// openInterrupt opens the node of info non-blocking and takes the device's
// event counter from sysfs as the baseline of the counts.
func openInterrupt(info Info) (irq.Source, error) {
	fd, err := unix.Open(info.Node, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Op: "open", Device: info.Node, Err: &os.PathError{Op: "open", Path: info.Node, Err: err}}
	}
	// After the open: the kernel takes the reader's baseline at open, so
	// an interrupt in between is seen by the first Wait (see counter).
	base, err := sysfs{dir: info.dir}.decimal("event", 32)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return newInterrupt(info.Node, fd, uint32(base))
}

// newInterrupt returns the source over the non-blocking descriptor fd,
// which it takes over (it closes it on error).
func newInterrupt(node string, fd int, base uint32) (*interrupt, error) {
	f := os.NewFile(uintptr(fd), node)
	// os.NewFile falls back to blocking I/O, silently, when it cannot
	// register fd with the netpoller: then there is no deadline.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, &Error{Op: "open", Device: node, Err: fmt.Errorf("not pollable: %w", err)}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, &Error{Op: "open", Device: node, Err: err}
	}
	return &interrupt{node: node, fd: fd, f: f, rc: rc, sem: make(chan struct{}, 1), c: newCounter(base)}, nil
}

func (i *interrupt) errClosed(op string) error {
	return &Error{Op: op, Device: i.node, Err: os.ErrClosed}
}

// ctxError is the error of op when a context is done with err: a missed
// deadline becomes os.ErrDeadlineExceeded.
func (i *interrupt) ctxError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		err = os.ErrDeadlineExceeded
	}
	return &Error{Op: op, Device: i.node, Err: err}
}

// aLongTimeAgo is a read deadline in the past, which wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// Wait blocks until the device interrupts, ctx is done or Close is called.
func (i *interrupt) Wait(ctx context.Context) (uint64, error) {
	if i.closed.Load() {
		return 0, i.errClosed("wait")
	}
	if err := ctxDone(ctx); err != nil {
		return 0, i.ctxError("wait", err)
	}
	select {
	case i.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, i.ctxError("wait", ctx.Err())
	}
	defer func() { <-i.sem }()
	if i.closed.Load() {
		return 0, i.errClosed("wait")
	}
	if ctx.Done() != nil {
		// Cancellation moves the read deadline into the past. Wait does
		// not return while the function may still run, or it could
		// cancel the next Wait's read.
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			_ = i.f.SetReadDeadline(aLongTimeAgo)
			close(fired)
		})
		defer func() {
			if !stop() {
				<-fired
			}
		}()
	}
	deadline, _ := ctx.Deadline()
	for {
		if err := ctxDone(ctx); err != nil {
			return 0, i.ctxError("wait", err)
		}
		if err := i.f.SetReadDeadline(deadline); err != nil {
			if i.closed.Load() {
				return 0, i.errClosed("wait")
			}
			return 0, &Error{Op: "wait", Device: i.node, Err: err}
		}
		// The AfterFunc may have moved the deadline into the past just
		// before the line above put it back: it ran after ctx was done.
		if err := ctx.Err(); err != nil {
			return 0, i.ctxError("wait", err)
		}
		var (
			buf  [4]byte
			rerr error
		)
		err := i.rc.Read(func(fd uintptr) bool {
			for {
				_, rerr = unix.Read(int(fd), buf[:])
				switch rerr {
				case unix.EINTR:
					continue
				case unix.EAGAIN:
					return false // park until readable
				}
				return true
			}
		})
		switch {
		case err == nil && rerr == nil:
			return i.c.record(binary.NativeEndian.Uint32(buf[:])), nil
		case err == nil:
			return 0, &Error{Op: "wait", Device: i.node, Err: os.NewSyscallError("read", rerr)}
		case i.closed.Load() || errors.Is(err, os.ErrClosed):
			return 0, i.errClosed("wait")
		case errors.Is(err, os.ErrDeadlineExceeded):
			// ctx's deadline or cancellation; the loop's check tells
			// which. The clock may see the deadline a moment before the
			// context does: that too ends at the check.
			if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
				return 0, i.ctxError("wait", context.DeadlineExceeded)
			}
			continue
		}
		return 0, &Error{Op: "wait", Device: i.node, Err: err}
	}
}

// TryWait returns the interrupts counted since the previous read, 0 when
// there are none, without blocking.
func (i *interrupt) TryWait() (uint64, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.closed.Load() {
		return 0, i.errClosed("wait")
	}
	var buf [4]byte
	for {
		_, err := unix.Read(i.fd, buf[:])
		switch err {
		case nil:
			return i.c.record(binary.NativeEndian.Uint32(buf[:])), nil
		case unix.EAGAIN:
			return 0, nil
		case unix.EINTR:
			continue
		}
		return 0, &Error{Op: "wait", Device: i.node, Err: os.NewSyscallError("read", err)}
	}
}

// Ack writes the int32 1 to the node: the driver's irqcontrol re-enables
// the interrupt. Drivers without irqcontrol fail it with ENOSYS; for a PCI
// function Ack then re-enables INTx through the config space (reenable).
func (i *interrupt) Ack() error {
	err := i.write1()
	if err == unix.ENOSYS && i.reenable != nil {
		// Outside i.mu: reenable takes the Device's lock, which Close
		// holds while it closes this source (and takes i.mu).
		return i.reenable()
	}
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return i.errClosed("ack")
		}
		return &Error{Op: "ack", Device: i.node, Err: os.NewSyscallError("write", err)}
	}
	return nil
}

// write1 writes the int32 1 to the node under i.mu.
func (i *interrupt) write1() error {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.closed.Load() {
		return os.ErrClosed
	}
	var one [4]byte
	binary.NativeEndian.PutUint32(one[:], 1)
	for {
		_, err := unix.Write(i.fd, one[:])
		if err != unix.EINTR {
			return err
		}
	}
}

// Spurious counts a wake-up that found nothing pending.
func (i *interrupt) Spurious() { i.c.spurious() }

// Stats returns the counters.
func (i *interrupt) Stats() irq.Stats { return i.c.get() }

// FD returns the descriptor to poll, owned by the source; -1 after Close.
func (i *interrupt) FD() int {
	if i.closed.Load() {
		return -1
	}
	return i.fd
}

// Close wakes the waiters with os.ErrClosed and closes the node. It is
// idempotent.
func (i *interrupt) Close() error {
	i.once.Do(func() {
		// Once closed is set under mu, no TryWait or Ack uses fd.
		i.mu.Lock()
		i.closed.Store(true)
		i.mu.Unlock()
		if err := i.f.Close(); err != nil {
			i.closeErr = &Error{Op: "close", Device: i.node, Err: err}
		}
	})
	return i.closeErr
}

// setReenable makes src's Ack fall back to reenable when the driver has no
// irqcontrol.
func setReenable(src irq.Source, reenable func() error) {
	if in, ok := src.(*interrupt); ok {
		in.reenable = reenable
	}
}
