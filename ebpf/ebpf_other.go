//go:build !linux

package ebpf

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

type sysChannel struct{}

const shortSleepMax = 0

func shortSleep(time.Duration) {}

func errNotSupported(op, dir string) error {
	return &Error{Op: op, Dir: dir, Err: fmt.Errorf("%w on %s", ErrNotSupported, runtime.GOOS)}
}

// Probe returns an error wrapping ErrNotSupported: BPF maps are Linux's.
func Probe() error { return errNotSupported("probe", "") }

// Create returns an error wrapping ErrNotSupported.
func Create(dir string, opts *Options) (*Channel, error) { return nil, errNotSupported("create", dir) }

// Open returns an error wrapping ErrNotSupported.
func Open(dir string, opts *Options) (*Channel, error) { return nil, errNotSupported("open", dir) }

// WatchProcess returns an error wrapping ErrNotSupported.
func (c *Channel) WatchProcess(p *os.Process) error { return errNotSupported("watch", "") }

func (c *Channel) trySend(msg []byte) error        { return errNotSupported("send", "") }
func (c *Channel) tryRecv(buf []byte) (int, error) { return 0, errNotSupported("recv", "") }
func (c *Channel) release() error                  { return nil }
