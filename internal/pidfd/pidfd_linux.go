package pidfd

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A Watcher watches one process.
type Watcher struct {
	f    *os.File
	done chan struct{}
}

// Watch starts watching p and calls exited, once, from another goroutine,
// when p exits; not if Close comes first. p must not have been waited
// for (its PID could name another process by then): watch a child
// before Wait, or a process known to be alive.
func Watch(p *os.Process, exited func()) (*Watcher, error) {
	// Flags 0 and O_NONBLOCK set after: PIDFD_NONBLOCK came with Linux
	// 5.10, pidfd_open with 5.3 (and pidfd_open's descriptors are
	// close-on-exec already).
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		return nil, os.NewSyscallError("pidfd_open", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	// A nonblocking descriptor goes into the runtime's poller; a
	// deadline can be set only there, which is what this checks.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &Watcher{f: f, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		// The callback returns false (wait for readiness) until the
		// pidfd polls readable: the process exited. Close ends the
		// wait with an error.
		err := rc.Read(func(fd uintptr) bool {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(pfd, 0)
			return err != unix.EINTR && n > 0
		})
		if err == nil {
			exited()
		}
	}()
	return w, nil
}

// Close stops watching, closes the pidfd and waits until exited, if
// called, has returned. It is safe on a nil *Watcher.
func (w *Watcher) Close() error {
	if w == nil {
		return nil
	}
	err := w.f.Close()
	<-w.done
	return err
}
