package irq

import (
	"context"
	"errors"
)

// A Source is an interrupt line as userspace sees it: a file descriptor
// that becomes readable when the device interrupts (an eventfd written by
// VFIO or by a fake device, a UIO device node).
//
// Wait blocks until the line has fired, the context is done, or the source
// is closed; it returns how many interrupts the kernel counted since the
// previous Wait. A count above one means interrupts were merged before
// userspace saw them: Stats counts them as missed. An edge is never lost
// between two Waits, but handlers must still re-check device state after
// re-arming (Ack, or the device's end-of-interrupt register), because an
// interrupt that arrives while the handler runs is merged into the next
// Wait.
type Source interface {
	// Wait blocks for the next interrupt. It returns an error wrapping
	// os.ErrDeadlineExceeded when ctx's deadline passes, ctx.Err() when ctx
	// is cancelled, and os.ErrClosed once Close has been called (Close
	// wakes every waiter).
	Wait(ctx context.Context) (count uint64, err error)
	// TryWait returns the interrupts pending now without blocking: 0 and
	// no error when there are none.
	TryWait() (count uint64, err error)
	// Ack re-enables a line the kernel masks on delivery (UIO, VFIO INTx).
	// It does nothing for edge sources such as eventfds.
	Ack() error
	// Spurious records that a wake-up found nothing pending in the device,
	// for Stats.
	Spurious()
	// Stats returns the counters.
	Stats() Stats
	// FD returns the file descriptor to poll, for event loops. It stays
	// owned by the Source.
	FD() int
	// Close releases the source and wakes every waiter with
	// os.ErrClosed. It is idempotent.
	Close() error
}

// Stats are a Source's counters since it was opened.
type Stats struct {
	// Wakeups is the number of Waits that returned an interrupt.
	Wakeups uint64
	// Delivered is the number of interrupts counted by the kernel.
	Delivered uint64
	// Missed is the number of interrupts merged into another before
	// userspace saw them: the sum of (count - 1) over wake-ups.
	Missed uint64
	// Spurious is the number of wake-ups a handler reported as finding
	// nothing pending.
	Spurious uint64
}

// ErrNotSupported is returned where the platform lacks what a source needs.
var ErrNotSupported = errors.New("not supported")
