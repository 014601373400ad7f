package irq

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// eventfdSys is the Linux state of an Eventfd.
//
// A blocked Wait parks in the Go runtime's netpoller, not in a system
// call: it reads the eventfd through the RawConn of an *os.File, which
// waits for readiness without holding a P or a thread. Each Wait blocked
// at the same time uses a waiter of its own, with its own *os.File on its
// own duplicate of the descriptor, so that the read deadline and the
// cancellation of one Wait never disturb another. Waiters are made by the
// first Wait that blocks, not before: an Eventfd that only a Loop reads
// stays out of the netpoller, which would otherwise wake for nothing at
// each of its interrupts.
type eventfdSys struct {
	fd    int  // the line; immutable
	owned bool // Close closes fd

	closed atomic.Bool
	// mu is read-held by TryWait, Signal and the first read of Wait, which
	// use fd directly; Close write-locks it before closing fd.
	mu       sync.RWMutex
	once     sync.Once
	closeErr error

	wmu  sync.Mutex
	all  []*waiter // every waiter; Close closes them
	idle []*waiter // waiters no Wait is using
}

// NewEventfd returns a Source over a new non-blocking eventfd, which it owns
// and Close closes. Fire it with Signal.
func NewEventfd() (*Eventfd, error) {
	fd, err := newEventfd()
	if err != nil {
		return nil, &Error{Op: "eventfd", Err: err}
	}
	e := &Eventfd{}
	e.fd, e.owned = fd, true
	return e, nil
}

// FromEventfd returns a Source over the eventfd fd, such as the one given
// to VFIO_DEVICE_SET_IRQS or fakedev's Core.EventFD. When owned is true,
// Close closes fd; when it is false fd stays open and its owner closes it,
// after closing the Eventfd. On error fd is left open whatever owned says.
//
// A Wait that blocks reads a duplicate of fd (F_DUPFD_CLOEXEC) in the Go
// runtime's netpoller, and Close closes the duplicates; FD returns fd
// itself. The netpoller needs a non-blocking descriptor: if fd lacks
// O_NONBLOCK (EFD_NONBLOCK), FromEventfd sets it, and since the flag
// belongs to the open file description that fd and its duplicates share,
// its owner sees it too, for good (Close does not restore it, as another
// Source may still use fd): a blocking read(2) of fd by someone else then
// fails with EAGAIN instead of waiting. The eventfds of VFIO users and of
// fakedev are non-blocking already.
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
	if flags&unix.O_NONBLOCK == 0 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags|unix.O_NONBLOCK); err != nil {
			return nil, &Error{Op: "eventfd", Err: os.NewSyscallError("fcntl", err)}
		}
	}
	e := &Eventfd{}
	e.fd, e.owned = fd, owned
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

// dupCloexec duplicates fd, close-on-exec.
func dupCloexec(fd int) (int, error) {
	for {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, os.NewSyscallError("fcntl", err)
		}
		return nfd, nil
	}
}

// pollFile returns an *os.File over the non-blocking descriptor fd, which it
// takes over (it closes fd on error), registered with the runtime's
// netpoller.
func pollFile(fd int, name string) (*os.File, syscall.RawConn, error) {
	f := os.NewFile(uintptr(fd), name)
	// os.NewFile falls back to blocking I/O, silently, when it cannot
	// register fd with the netpoller: then there is no deadline.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not pollable: %w", name, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rc, nil
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
// A blocked Wait parks its goroutine in the Go runtime's netpoller, like a
// network read: it holds no thread and no P, so other goroutines run while
// it waits, even with GOMAXPROCS=1. An interrupt makes it runnable as soon
// as a P polls the netpoller: at once when one is idle; when goroutines
// keep every P busy (spinning on runtime.Gosched, for instance), only at
// the runtime's poll every 10ms.
//
// A Wait that finds a count pending allocates nothing. One that must
// block needs a waiter: a duplicate of the eventfd in the netpoller, made
// by the first Wait that blocks and by each one that blocks while all the
// others are in use, and kept until Close. It then allocates nothing as
// long as it has no Done channel (context.Background) or that of the
// previous blocking Wait on the same waiter, as a driver's interrupt loop
// does; otherwise it arms a context.AfterFunc on ctx, a few small
// allocations, which stays armed for the next Waits with that context
// until another context replaces it, ctx is done or the Eventfd is closed.
// A context whose Done channel changes at every call (a new
// context.WithTimeout per Wait) thus costs that AfterFunc at each Wait
// that blocks.
func (e *Eventfd) Wait(ctx context.Context) (uint64, error) {
	e.mu.RLock()
	if e.closed.Load() {
		e.mu.RUnlock()
		return 0, errClosed("wait")
	}
	if err := ctxDone(ctx); err != nil {
		e.mu.RUnlock()
		return 0, ctxError("wait", err)
	}
	n, err := e.read()
	e.mu.RUnlock()
	if err != nil || n > 0 {
		return n, err
	}
	return e.block(ctx)
}

// block is Wait when no count was pending.
func (e *Eventfd) block(ctx context.Context) (uint64, error) {
	done := ctx.Done()
	w, err := e.getWaiter(done)
	if err != nil {
		return 0, err
	}
	defer e.putWaiter(w)
	deadline, _ := ctx.Deadline()
	for {
		if err := w.prepare(ctx, done, deadline); err != nil {
			if e.closed.Load() {
				return 0, errClosed("wait")
			}
			return 0, &Error{Op: "wait", Err: err}
		}
		// After prepare: a cancellation from now on wakes the read below,
		// one from before shows here.
		if err := ctx.Err(); err != nil {
			return 0, ctxError("wait", err)
		}
		w.n, w.err = 0, nil
		err := w.rc.Read(w.readFn)
		switch {
		case err == nil && w.err == nil:
			e.stats.record(w.n)
			return w.n, nil
		case err == nil:
			return 0, &Error{Op: "read", Err: os.NewSyscallError("read", w.err)}
		case e.closed.Load():
			return 0, errClosed("wait")
		case errors.Is(err, os.ErrDeadlineExceeded):
			if err := ctxDone(ctx); err != nil {
				return 0, ctxError("wait", err)
			}
			// A cancellation meant for another context that this waiter
			// served before: prepare clears it.
			continue
		}
		return 0, &Error{Op: "wait", Err: err}
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
	n, err := readCount(e.fd)
	switch err {
	case nil:
		e.stats.record(n)
		return n, nil
	case unix.EAGAIN:
		return 0, nil
	}
	return 0, &Error{Op: "read", Err: os.NewSyscallError("read", err)}
}

// readCount reads the non-blocking eventfd fd: its count, or EAGAIN when it
// is 0.
func readCount(fd int) (uint64, error) {
	var buf [8]byte
	for {
		_, err := unix.Read(fd, buf[:])
		switch err {
		case nil:
			// eventfd(2): the counter in host byte order, never 0.
			return binary.NativeEndian.Uint64(buf[:]), nil
		case unix.EINTR:
			continue
		}
		return 0, err
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

// Close wakes every blocked Wait with os.ErrClosed and releases the
// descriptors (the eventfd itself only if owned) as soon as no Wait is
// reading them: when it returns, none is. It is idempotent and safe on a
// nil *Eventfd; every Wait after it fails with os.ErrClosed.
func (e *Eventfd) Close() error {
	if e == nil {
		return nil
	}
	e.once.Do(func() {
		e.wmu.Lock()
		e.closed.Store(true) // under wmu: no waiter is made from now on
		all := e.all
		e.all, e.idle = nil, nil
		e.wmu.Unlock()
		// Wait for TryWait, Signal and first reads, which use fd.
		e.mu.Lock()
		defer e.mu.Unlock()
		// Closing a file wakes the Wait blocked on it, with
		// os.ErrClosed, and returns once it has let go of the file.
		for _, w := range all {
			if err := w.close(); err != nil && e.closeErr == nil {
				e.closeErr = &Error{Op: "close", Err: err}
			}
		}
		if e.owned {
			if err := unix.Close(e.fd); err != nil && e.closeErr == nil {
				e.closeErr = &Error{Op: "close", Err: os.NewSyscallError("close", err)}
			}
		}
	})
	return e.closeErr
}

// A waiter is what one blocked Wait reads: a duplicate of the eventfd in
// the netpoller, with the read deadline and the cancellation of that Wait.
// Wait takes an idle waiter, or makes one when all are in use, and gives
// it back when it returns.
type waiter struct {
	e      *Eventfd
	f      *os.File
	rc     syscall.RawConn
	readFn func(fd uintptr) bool // w.read, bound once so that Wait does not allocate

	n   uint64 // the result of readFn
	err error

	// mu orders prepare, which the Wait using the waiter calls, against
	// the AfterFunc of a cancelled context.
	mu    sync.Mutex
	done  <-chan struct{} // the Done channel that stop's AfterFunc watches
	stop  func() bool     // stops that AfterFunc; nil if none
	dl    time.Time       // the read deadline set on f, zero if none
	woken bool            // the AfterFunc moved f's deadline to the past
}

// newWaiter returns a waiter over fd, a non-blocking duplicate of the
// eventfd, which it takes over (it closes fd on error).
func (e *Eventfd) newWaiter(fd int) (*waiter, error) {
	f, rc, err := pollFile(fd, "eventfd")
	if err != nil {
		return nil, err
	}
	w := &waiter{e: e, f: f, rc: rc}
	w.readFn = w.read
	return w, nil
}

// getWaiter takes an idle waiter, preferably one whose AfterFunc already
// watches done, or makes one.
func (e *Eventfd) getWaiter(done <-chan struct{}) (*waiter, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.closed.Load() {
		return nil, errClosed("wait")
	}
	if n := len(e.idle); n > 0 {
		i := n - 1
		for j := i; j >= 0 && done != nil; j-- {
			if e.idle[j].done == done {
				i = j
				break
			}
		}
		w := e.idle[i]
		e.idle[i] = e.idle[n-1]
		e.idle = e.idle[:n-1]
		return w, nil
	}
	dup, err := dupCloexec(e.fd)
	if err != nil {
		return nil, &Error{Op: "wait", Err: err}
	}
	w, err := e.newWaiter(dup)
	if err != nil {
		return nil, &Error{Op: "wait", Err: err}
	}
	e.all = append(e.all, w)
	return w, nil
}

// putWaiter makes w idle again, unless Close has come.
func (e *Eventfd) putWaiter(w *waiter) {
	e.wmu.Lock()
	if !e.closed.Load() {
		e.idle = append(e.idle, w)
	}
	e.wmu.Unlock()
}

// read is the RawConn.Read callback: false, to wait for readiness, while
// the count is 0.
func (w *waiter) read(fd uintptr) bool {
	n, err := readCount(int(fd))
	if err == unix.EAGAIN {
		return false
	}
	w.n, w.err = n, err
	return true
}

// prepare sets the waiter up for a Wait on ctx, whose Done channel is done
// and whose deadline is deadline (zero if none): f's read deadline, and an
// AfterFunc that moves it to the past when ctx is done.
func (w *waiter) prepare(ctx context.Context, done <-chan struct{}, deadline time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if done != nil && done != w.done {
		if w.stop != nil {
			w.stop()
		}
		w.done = done
		w.stop = context.AfterFunc(ctx, func() { w.cancel(done) })
	}
	if w.woken || !deadline.Equal(w.dl) {
		w.woken = false
		w.dl = deadline
		return w.f.SetReadDeadline(deadline)
	}
	return nil
}

// cancel is the AfterFunc of a context whose Done channel is done: it
// wakes the Wait blocked on w, if w still serves that context.
func (w *waiter) cancel(done <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done == done && !w.woken {
		w.woken = true
		_ = w.f.SetReadDeadline(time.Unix(1, 0)) // fails only once f is closed
	}
}

// close stops the AfterFunc and closes f, which wakes a Wait blocked on it
// and returns once that Wait has let go of f.
func (w *waiter) close() error {
	w.mu.Lock()
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	w.mu.Unlock()
	return w.f.Close()
}
