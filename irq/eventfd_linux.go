package irq

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// eventfdSys is the Linux state of an Eventfd.
type eventfdSys struct {
	fd       int  // the line; immutable
	owned    bool // Close closes fd
	blocking bool // fd lacks O_NONBLOCK: reads are serialised behind a zero-timeout poll
	closefd  int  // made readable once by Close and never drained: wakes every poller

	closed atomic.Bool
	// mu is read-held by every operation that uses the descriptors; Close
	// write-locks it, after waking the pollers, to release them safely.
	mu       sync.RWMutex
	once     sync.Once
	closeErr error

	rmu sync.Mutex // serialises reads when blocking

	wmu    sync.Mutex
	wakers []*waker // idle cancellation wakers, closed by Close
}

// NewEventfd returns a Source over a new non-blocking eventfd, which it owns
// and Close closes. Fire it with Signal.
func NewEventfd() (*Eventfd, error) {
	fd, err := newEventfd()
	if err != nil {
		return nil, &Error{Op: "eventfd", Err: err}
	}
	e, err := FromEventfd(fd, true)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return e, nil
}

// FromEventfd returns a Source over the eventfd fd, such as the one given
// to VFIO_DEVICE_SET_IRQS or fakedev's Core.EventFD. When owned is true,
// Close closes fd; when it is false fd stays open and its owner closes it,
// after closing the Eventfd. On error fd is left open whatever owned says.
//
// fd should be non-blocking (EFD_NONBLOCK). A blocking eventfd works too,
// since FromEventfd does not change the flags of a descriptor it may share:
// its reads are then serialised and preceded by a zero-timeout poll, which
// costs a system call per read and assumes nothing else reads fd.
func FromEventfd(fd int, owned bool) (*Eventfd, error) {
	if fd < 0 {
		return nil, &Error{Op: "eventfd", Err: os.NewSyscallError("fcntl", unix.EBADF)}
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, &Error{Op: "eventfd", Err: os.NewSyscallError("fcntl", err)}
	}
	// Best effort: where /proc is mounted, refuse what is not an eventfd.
	if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && target != "anon_inode:[eventfd]" {
		return nil, &Error{Op: "eventfd", Err: fmt.Errorf("fd %d is %s, not an eventfd: %w", fd, target, unix.EINVAL)}
	}
	closefd, err := newEventfd()
	if err != nil {
		return nil, &Error{Op: "eventfd", Err: err}
	}
	e := &Eventfd{}
	e.fd = fd
	e.owned = owned
	e.blocking = flags&unix.O_NONBLOCK == 0
	e.closefd = closefd
	return e, nil
}

// newEventfd creates a non-blocking, close-on-exec eventfd.
func newEventfd() (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return -1, os.NewSyscallError("eventfd", err)
	}
	return fd, nil
}

// FD returns the eventfd, for event loops: see the ownership rules of
// FromEventfd. It returns -1 after Close.
func (e *Eventfd) FD() int {
	if e.closed.Load() {
		return -1
	}
	return e.fd
}

// Wait blocks until the eventfd has a count, and returns it. It fails with
// an *Error wrapping os.ErrClosed after Close (which wakes a blocked Wait),
// os.ErrDeadlineExceeded (also context.DeadlineExceeded) when ctx's
// deadline passes, and ctx.Err() when ctx is cancelled. A context already
// done fails Wait even when a count is pending: TryWait collects it.
//
// A Wait that finds a count pending, or whose context has no Done channel,
// allocates nothing. One that must block on a cancellable context arms
// context.AfterFunc, which allocates.
func (e *Eventfd) Wait(ctx context.Context) (uint64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed.Load() {
		return 0, errClosed("wait")
	}
	if err := ctxDone(ctx); err != nil {
		return 0, ctxError("wait", err)
	}
	n, err := e.read()
	if err != nil || n > 0 {
		return n, err
	}
	return e.block(ctx)
}

// block is Wait when no count is pending. The caller read-holds e.mu.
func (e *Eventfd) block(ctx context.Context) (uint64, error) {
	deadline, hasDeadline := ctx.Deadline()
	fds := [3]unix.PollFd{
		{Fd: int32(e.fd), Events: unix.POLLIN},
		{Fd: int32(e.closefd), Events: unix.POLLIN},
	}
	nfds := 2
	var w *waker
	if ctx.Done() != nil {
		var err error
		if w, err = e.getWaker(); err != nil {
			return 0, &Error{Op: "wait", Err: err}
		}
		defer e.putWaker(w)
		w.arm()
		stop := context.AfterFunc(ctx, w.wake)
		defer w.disarm(stop)
		fds[2] = unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN}
		nfds = 3
	}
	for {
		var ts *unix.Timespec
		var tsv unix.Timespec
		if hasDeadline {
			d := time.Until(deadline)
			if d <= 0 {
				return 0, ctxError("wait", context.DeadlineExceeded)
			}
			tsv = unix.NsecToTimespec(int64(d))
			ts = &tsv
		}
		_, err := unix.Ppoll(fds[:nfds], ts, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &Error{Op: "wait", Err: os.NewSyscallError("ppoll", err)}
		}
		if e.closed.Load() {
			return 0, errClosed("wait")
		}
		if fds[0].Revents&unix.POLLNVAL != 0 {
			return 0, &Error{Op: "wait", Err: os.NewSyscallError("ppoll", unix.EBADF)}
		}
		if fds[0].Revents != 0 {
			// Another waiter may have taken the count: then n is 0.
			n, err := e.read()
			if err != nil || n > 0 {
				return n, err
			}
		}
		if err := ctx.Err(); err != nil {
			return 0, ctxError("wait", err)
		}
	}
}

// ctxDone returns ctx.Err(), or context.DeadlineExceeded when ctx's
// deadline has passed but its timer has not fired yet.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// TryWait returns the count pending now, 0 when there is none, without
// blocking. It allocates nothing.
func (e *Eventfd) TryWait() (uint64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed.Load() {
		return 0, errClosed("wait")
	}
	return e.read()
}

// read takes the eventfd's count, 0 when there is none, and records it in
// the Stats. The caller read-holds e.mu.
func (e *Eventfd) read() (uint64, error) {
	if e.blocking {
		e.rmu.Lock()
		defer e.rmu.Unlock()
		fds := [1]unix.PollFd{{Fd: int32(e.fd), Events: unix.POLLIN}}
		var zero unix.Timespec
		for {
			n, err := unix.Ppoll(fds[:], &zero, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return 0, &Error{Op: "read", Err: os.NewSyscallError("ppoll", err)}
			}
			if n == 0 || fds[0].Revents&unix.POLLIN == 0 {
				return 0, nil
			}
			break
		}
	}
	var buf [8]byte
	for {
		_, err := unix.Read(e.fd, buf[:])
		switch err {
		case nil:
			// eventfd(2): the counter in host byte order.
			n := binary.NativeEndian.Uint64(buf[:])
			if n > 0 {
				e.stats.record(n)
			}
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, &Error{Op: "read", Err: os.NewSyscallError("read", err)}
	}
}

// Signal adds 1 to the eventfd's counter, as an interrupt does: a software
// interrupt, for tests and for sources that are not hardware. On a
// borrowed eventfd it injects a notification its device did not send.
func (e *Eventfd) Signal() error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed.Load() {
		return errClosed("signal")
	}
	if err := writeOne(e.fd); err != nil {
		return &Error{Op: "signal", Err: err}
	}
	return nil
}

// writeOne adds 1 to the eventfd fd. EAGAIN, a counter at its maximum,
// means a count is pending anyway: it is not an error.
func writeOne(fd int) error {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(fd, one[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("write", err)
	}
}

// drain resets the non-blocking eventfd fd to 0.
func drain(fd int) {
	var buf [8]byte
	for {
		if _, err := unix.Read(fd, buf[:]); err != unix.EINTR {
			return
		}
	}
}

// Ack does nothing: an eventfd is an edge source that the kernel does not
// mask. It fails only after Close.
func (e *Eventfd) Ack() error {
	if e.closed.Load() {
		return errClosed("ack")
	}
	return nil
}

// Close wakes every blocked Wait with os.ErrClosed, waits for them to
// return, and releases the descriptors: the eventfd itself only if owned.
// It is idempotent and safe on a nil *Eventfd; every Wait after it fails
// with os.ErrClosed.
func (e *Eventfd) Close() error {
	if e == nil {
		return nil
	}
	e.once.Do(func() {
		e.closed.Store(true)
		// closefd stays readable from now on, so every poller wakes and
		// no later one sleeps. Closing e.fd would not wake them: Linux
		// keeps a polled file alive until the poll returns.
		if err := writeOne(e.closefd); err != nil {
			e.closeErr = &Error{Op: "close", Err: err}
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.owned {
			if err := unix.Close(e.fd); err != nil && e.closeErr == nil {
				e.closeErr = &Error{Op: "close", Err: os.NewSyscallError("close", err)}
			}
		}
		unix.Close(e.closefd)
		e.wmu.Lock()
		for _, w := range e.wakers {
			unix.Close(w.fd)
		}
		e.wakers = nil
		e.wmu.Unlock()
	})
	return e.closeErr
}

// A waker wakes one blocked Wait when its context is done: each such Wait
// polls a waker of its own, so one cancellation does not wake, or leave a
// stale readable descriptor for, the others.
type waker struct {
	fd    int // non-blocking eventfd
	mu    sync.Mutex
	armed bool // wake may write fd: false once the Wait has returned
}

// getWaker takes an idle waker or makes one.
func (e *Eventfd) getWaker() (*waker, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if n := len(e.wakers); n > 0 {
		w := e.wakers[n-1]
		e.wakers = e.wakers[:n-1]
		return w, nil
	}
	fd, err := newEventfd()
	if err != nil {
		return nil, err
	}
	return &waker{fd: fd}, nil
}

// putWaker returns a disarmed, drained waker to the idle list.
func (e *Eventfd) putWaker(w *waker) {
	e.wmu.Lock()
	e.wakers = append(e.wakers, w)
	e.wmu.Unlock()
}

func (w *waker) arm() {
	w.mu.Lock()
	w.armed = true
	w.mu.Unlock()
}

// wake is the context.AfterFunc callback.
func (w *waker) wake() {
	w.mu.Lock()
	if w.armed {
		_ = writeOne(w.fd)
	}
	w.mu.Unlock()
}

// disarm stops the AfterFunc and makes sure a callback already running
// cannot write after it returns, then drains fd for the next user.
func (w *waker) disarm(stop func() bool) {
	stop()
	w.mu.Lock()
	w.armed = false
	w.mu.Unlock()
	drain(w.fd)
}
