//go:build !linux

package nsiso

import (
	"fmt"
	"os"
	"runtime"
)

type sysDomain struct{}

type sysCmd struct{}

func errNotSupported(op string) error {
	return &Error{Op: op, Err: fmt.Errorf("%w on %s", ErrNotSupported, runtime.GOOS)}
}

// New makes a domain; namespaces exist on Linux only, so here it fails
// with an error wrapping ErrNotSupported.
func New(opts *Options) (*Domain, error) { return nil, errNotSupported("new") }

func (d *Domain) release() error { return nil }

// Init does nothing in a process not started by Cmd, and fails with an
// error wrapping ErrNotSupported otherwise (which cannot happen here).
func Init() error {
	if _, ok := os.LookupEnv(envInit); !ok {
		return nil
	}
	return errNotSupported("init")
}

// Start fails with an error wrapping ErrNotSupported: namespaces exist on
// Linux only.
func (c *Cmd) Start() error { return errNotSupported("start") }

// Wait fails: the child cannot have started.
func (c *Cmd) Wait() error { return errNotSupported("wait") }

// Run fails with an error wrapping ErrNotSupported.
func (c *Cmd) Run() error { return c.Start() }

// MarkInherited fails with an error wrapping ErrNotSupported: Cmd, for
// which it exists, cannot start here.
func MarkInherited() error { return errNotSupported("mark inherited") }
