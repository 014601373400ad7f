//go:build !linux

package regs

import (
	"fmt"
	"runtime"
)

// Map maps a file's memory. It is supported on Linux only.
func Map(fd int, offset int64, length int, opts *WindowOptions) (*Window, error) {
	return nil, fmt.Errorf("map: not supported on %s", runtime.GOOS)
}
