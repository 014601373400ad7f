//go:build !linux

package pidfd

import (
	"fmt"
	"os"
	"runtime"
)

// A Watcher watches one process.
type Watcher struct{}

// Watch returns an error: pidfds are Linux's.
func Watch(p *os.Process, exited func()) (*Watcher, error) {
	return nil, fmt.Errorf("pidfd: not supported on %s", runtime.GOOS)
}

// Close does nothing.
func (w *Watcher) Close() error { return nil }
