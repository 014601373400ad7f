//go:build !linux

package shm

import (
	"fmt"
	"os"
	"runtime"
)

type sysChannel struct{}

func errNotSupported(op string) error {
	return &Error{Op: op, Err: fmt.Errorf("%w on %s", ErrNotSupported, runtime.GOOS)}
}

// Create returns an error wrapping ErrNotSupported: memfd is Linux's.
func Create(opts *Options) (*Channel, error) { return nil, errNotSupported("create") }

// CreateNamed returns an error wrapping ErrNotSupported.
func CreateNamed(name string, opts *Options) (*Channel, error) {
	return nil, errNotSupported("create")
}

// OpenNamed returns an error wrapping ErrNotSupported.
func OpenNamed(name string, opts *Options) (*Channel, error) {
	return nil, errNotSupported("open")
}

// FromFiles returns an error wrapping ErrNotSupported.
func FromFiles(files []*os.File, opts *Options) (*Channel, error) {
	return nil, errNotSupported("attach")
}

// NewPair returns an error wrapping ErrNotSupported.
func NewPair(opts *Options) (a, b *Channel, err error) {
	return nil, nil, errNotSupported("create")
}

// Files returns an error wrapping ErrNotSupported.
func (c *Channel) Files() ([]*os.File, error) { return nil, errNotSupported("files") }

// WatchProcess returns an error wrapping ErrNotSupported.
func (c *Channel) WatchProcess(p *os.Process) error { return errNotSupported("watch") }

func (c *Channel) release() error { return nil }

func (c *Channel) markClosed() {}
