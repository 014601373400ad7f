//go:build !linux

package irq

import "context"

// loopSys is empty: there is no epoll outside Linux.
type loopSys struct{}

// NewLoop fails with an error wrapping ErrNotSupported: the loop is built
// on epoll, a Linux interface.
func NewLoop(opts *LoopOptions) (*Loop, error) { return nil, errNotSupported("loop") }

// Add fails with an error wrapping ErrNotSupported.
func (l *Loop) Add(src Source, h Handler) error { return errNotSupported("add") }

// Remove fails with an error wrapping ErrNotSupported.
func (l *Loop) Remove(src Source) error { return errNotSupported("remove") }

// Run fails with an error wrapping ErrNotSupported.
func (l *Loop) Run(ctx context.Context) error { return errNotSupported("run") }

// Close does nothing.
func (l *Loop) Close() error { return nil }
