//go:build !linux

package uio

import (
	"fmt"
	"runtime"

	"github.com/ipcu/ipcu/irq"
)

// openInterrupt needs Linux.
func openInterrupt(info Info) (irq.Source, error) {
	return nil, &Error{Op: "open", Device: info.Node, Err: fmt.Errorf("UIO on %s: %w", runtime.GOOS, ErrNotSupported)}
}

func setReenable(irq.Source, func() error) {}
