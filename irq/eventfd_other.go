//go:build !linux

package irq

import (
	"context"
	"fmt"
	"runtime"
)

// eventfdSys is empty: there is no eventfd outside Linux.
type eventfdSys struct{}

// errNotSupported is the error of op on a system without eventfd and epoll.
func errNotSupported(op string) error {
	return &Error{Op: op, Err: fmt.Errorf("%w on %s: eventfd and epoll are Linux interfaces", ErrNotSupported, runtime.GOOS)}
}

// NewEventfd fails with an error wrapping ErrNotSupported: eventfd is a
// Linux interface.
func NewEventfd() (*Eventfd, error) { return nil, errNotSupported("eventfd") }

// FromEventfd fails with an error wrapping ErrNotSupported: eventfd is a
// Linux interface.
func FromEventfd(fd int, owned bool) (*Eventfd, error) { return nil, errNotSupported("eventfd") }

// FD returns -1.
func (e *Eventfd) FD() int { return -1 }

// Wait fails with an error wrapping ErrNotSupported.
func (e *Eventfd) Wait(ctx context.Context) (uint64, error) { return 0, errNotSupported("wait") }

// TryWait fails with an error wrapping ErrNotSupported.
func (e *Eventfd) TryWait() (uint64, error) { return 0, errNotSupported("wait") }

// Signal fails with an error wrapping ErrNotSupported.
func (e *Eventfd) Signal() error { return errNotSupported("signal") }

// Ack fails with an error wrapping ErrNotSupported.
func (e *Eventfd) Ack() error { return errNotSupported("ack") }

// Close does nothing.
func (e *Eventfd) Close() error { return nil }
