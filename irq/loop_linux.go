package irq

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// loopSys is the Linux state of a Loop.
//
// Run parks in the Go runtime's netpoller: the epoll descriptor is itself
// pollable (readable while a source is ready), so Run waits for it through
// the RawConn of an *os.File, whose callback is a zero-timeout
// epoll_wait, and holds no P or thread while it sleeps.
type loopSys struct {
	epfd    int      // immutable until released; epf's descriptor
	epf     *os.File // epfd in the netpoller; release closes it
	epc     syscall.RawConn
	pollFn  func(fd uintptr) bool // l.poll, bound once
	polled  int                   // the result of pollFn: events in l.events
	pollErr error
	dl      time.Time // the read deadline set on epf, zero if none
	wakefd  int       // non-blocking eventfd that Close and context cancellation write

	closing atomic.Bool       // Close was called: Run stops at its next check
	events  []unix.EpollEvent // Run's buffer

	mu       sync.Mutex
	closed   bool
	running  bool
	released bool // epfd and wakefd are closed
	bySrc    map[Source]*entry
	byFD     map[int32]*entry // the registrations epoll holds
}

// entry is a registered Source.
type entry struct {
	src Source
	h   Handler
	fd  int32
}

// NewLoop returns a Loop with no sources. opts may be nil.
func NewLoop(opts *LoopOptions) (*Loop, error) {
	var o LoopOptions
	if opts != nil {
		o = *opts
	}
	if o.BusyPoll < 0 || o.MaxEvents < 0 {
		return nil, &Error{Op: "loop", Err: fmt.Errorf("negative option in %+v", o)}
	}
	if o.MaxEvents == 0 {
		o.MaxEvents = 16
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, &Error{Op: "loop", Err: os.NewSyscallError("epoll_create1", err)}
	}
	// os.NewFile puts only a descriptor with O_NONBLOCK in the
	// netpoller. The flag changes nothing else for an epoll descriptor:
	// epoll_wait takes its timeout as an argument.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, &Error{Op: "loop", Err: os.NewSyscallError("fcntl", err)}
	}
	epf, epc, err := pollFile(epfd, "epoll")
	if err != nil {
		return nil, &Error{Op: "loop", Err: err}
	}
	wakefd, err := newEventfd()
	if err != nil {
		epf.Close()
		return nil, &Error{Op: "loop", Err: err}
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		epf.Close()
		return nil, &Error{Op: "loop", Err: os.NewSyscallError("epoll_ctl", err)}
	}
	l := &Loop{busyPoll: o.BusyPoll}
	l.epfd, l.epf, l.epc = epfd, epf, epc
	l.pollFn = l.poll
	l.wakefd = wakefd
	l.events = make([]unix.EpollEvent, o.MaxEvents)
	l.bySrc = make(map[Source]*entry)
	l.byFD = make(map[int32]*entry)
	return l, nil
}

// Add registers src, whose interrupts Run passes to h. src must be open and
// comparable (a pointer, as *Eventfd is), and not already in the loop. It
// may be called while Run runs, from a handler too.
func (l *Loop) Add(src Source, h Handler) error {
	if src == nil || h == nil {
		return &Error{Op: "add", Err: errors.New("nil source or handler")}
	}
	fd := src.FD()
	if fd < 0 {
		return errClosed("add")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed("add")
	}
	if _, ok := l.bySrc[src]; ok {
		return &Error{Op: "add", Err: fmt.Errorf("source of fd %d: %w", fd, os.ErrExist)}
	}
	// Level-triggered: a source whose count Run did not take stays ready.
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return &Error{Op: "add", Err: os.NewSyscallError("epoll_ctl", err)}
	}
	if old := l.byFD[int32(fd)]; old != nil {
		// old was closed and its fd number reused: epoll dropped it when
		// the file closed, or ADD would have failed with EEXIST.
		delete(l.bySrc, old.src)
	}
	en := &entry{src: src, h: h, fd: int32(fd)}
	l.bySrc[src] = en
	l.byFD[en.fd] = en
	return nil
}

// Remove unregisters src, leaving it open. After Remove returns, Run calls
// src's handler no more, except to finish a dispatch of src that it had
// begun on its own goroutine; called from a handler, Remove takes effect
// at once. It fails with os.ErrNotExist if src is not in the loop and
// os.ErrClosed after Close.
func (l *Loop) Remove(src Source) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed("remove")
	}
	en := l.bySrc[src]
	if en == nil {
		return &Error{Op: "remove", Err: os.ErrNotExist}
	}
	return l.drop(en)
}

// drop unregisters en. The caller holds l.mu and l is not released.
func (l *Loop) drop(en *entry) error {
	delete(l.bySrc, en.src)
	if l.byFD[en.fd] != en {
		return nil // its fd number already belongs to another source
	}
	delete(l.byFD, en.fd)
	err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, int(en.fd), nil)
	switch err {
	case nil, unix.ENOENT, unix.EBADF:
		// ENOENT, EBADF: the source closed its fd, which dropped it.
		return nil
	}
	return &Error{Op: "remove", Err: os.NewSyscallError("epoll_ctl", err)}
}

// Run waits for the loop's sources and calls their handlers until ctx is
// done or Close is called. It returns an *Error wrapping:
// os.ErrClosed after Close; os.ErrDeadlineExceeded (also
// context.DeadlineExceeded) at ctx's deadline; ctx.Err() when ctx is
// cancelled; or the error of a failed epoll_wait or TryWait. It never
// returns nil. A source whose TryWait fails with os.ErrClosed is dropped
// and Run goes on. Only one Run may run at a time.
func (l *Loop) Run(ctx context.Context) error {
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		return errClosed("run")
	case l.running:
		l.mu.Unlock()
		return &Error{Op: "run", Err: errors.New("already running")}
	}
	l.running = true
	l.mu.Unlock()
	defer l.exitRun()
	if err := ctxDone(ctx); err != nil {
		return ctxError("run", err)
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, l.wake)
		defer stop()
	}
	deadline, _ := ctx.Deadline() // zero, no deadline, if none
	for {
		n, err := l.wait(ctx, deadline)
		if err != nil {
			return err
		}
		if n == 0 {
			continue // the deadline check of wait was early by ctx's clock
		}
		if err := l.dispatch(ctx, n, &l.stats.wakeups); err != nil {
			return err
		}
		if l.busyPoll > 0 {
			if err := l.spin(ctx, deadline); err != nil {
				return err
			}
		}
	}
}

// wait parks Run in the netpoller until a source is ready, or until
// deadline (zero for none). It returns how many events of l.events are
// ready, 0 if deadline passed, and the context's error if that was ctx's
// deadline.
func (l *Loop) wait(ctx context.Context, deadline time.Time) (int, error) {
	if !deadline.Equal(l.dl) {
		if err := l.epf.SetReadDeadline(deadline); err != nil {
			return 0, &Error{Op: "run", Err: err}
		}
		l.dl = deadline
	}
	l.polled, l.pollErr = 0, nil
	if err := l.epc.Read(l.pollFn); err != nil {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, &Error{Op: "run", Err: err}
		}
		if err := ctxDone(ctx); err != nil {
			return 0, ctxError("run", err)
		}
		return 0, nil
	}
	if l.pollErr != nil {
		return 0, &Error{Op: "run", Err: os.NewSyscallError("epoll_wait", l.pollErr)}
	}
	return l.polled, nil
}

// poll is the RawConn.Read callback of Run: a zero-timeout epoll_wait, and
// false, to wait for the epoll descriptor to become readable, when no
// source is ready.
func (l *Loop) poll(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), l.events, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			l.pollErr = err
			return true
		case n == 0:
			return false
		}
		l.polled = n
		return true
	}
}

// spinYield is how often spin yields the processor while nothing is ready,
// besides once after each event: a bound on how long the goroutines queued
// behind it wait when every other P is busy.
const spinYield = time.Millisecond

// spin is busy polling: non-blocking checks until busyPoll has passed
// since the last event.
//
// The goroutines parked in the netpoller (a blocked Eventfd.Wait, network
// I/O) are woken by a thread that blocks in the netpoller while its P is
// idle, or by the check of a P that finds nothing else to run; a spinning
// goroutine is never idle and, between its yields, leaves its P nothing
// else to find. So:
//   - with GOMAXPROCS=1, spin parks in the netpoller for the rest of the
//     window instead of spinning: there is no other P to poll it;
//   - otherwise it yields once after each event, which wakes an idle P to
//     poll the network (the thread that was blocked there may be the one
//     that woke this loop), then only every spinYield: yielding at every
//     check keeps waking threads, which steal the spinner and delay the
//     goroutines of the netpoller (measured on two CPUs, a busy-polling
//     Loop answering a blocked Wait: 9µs a round trip instead of 3µs, and
//     many a round trip as long as the whole window).
func (l *Loop) spin(ctx context.Context, deadline time.Time) error {
	park := runtime.GOMAXPROCS(0) == 1
	done := ctx.Done()
	last := time.Now()
	var yielded time.Time // zero: yield at the next empty check
	for {
		now := time.Now()
		end := last.Add(l.busyPoll)
		if !now.Before(end) {
			return nil
		}
		if l.closing.Load() {
			return errClosed("run")
		}
		select {
		case <-done:
			return ctxError("run", ctx.Err())
		default:
		}
		var n int
		if park {
			if !deadline.IsZero() && deadline.Before(end) {
				end = deadline
			}
			var err error
			if n, err = l.wait(ctx, end); err != nil {
				return err
			}
			if n == 0 {
				continue
			}
		} else {
			var err error
			n, err = unix.EpollWait(l.epfd, l.events, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return &Error{Op: "run", Err: os.NewSyscallError("epoll_wait", err)}
			}
			if n == 0 {
				if yielded.IsZero() || now.Sub(yielded) >= spinYield {
					runtime.Gosched()
					yielded = now
				}
				continue
			}
		}
		if err := l.dispatch(ctx, n, &l.stats.busyHits); err != nil {
			return err
		}
		last = time.Now()
		yielded = time.Time{}
	}
}

// dispatch handles the first n events of l.events, and adds 1 to hits if
// a source was among them.
func (l *Loop) dispatch(ctx context.Context, n int, hits *atomic.Uint64) error {
	counted := false
	for i := range n {
		if l.closing.Load() {
			return errClosed("run")
		}
		fd := l.events[i].Fd
		if int(fd) == l.wakefd {
			// A context's AfterFunc (which may be stale, from a
			// previous Run) or Close, checked above.
			drain(l.wakefd)
			if l.closing.Load() { // Close stores closing before it writes
				return errClosed("run")
			}
			if err := ctx.Err(); err != nil {
				return ctxError("run", err)
			}
			continue
		}
		if !counted {
			hits.Add(1)
			counted = true
		}
		l.mu.Lock()
		en := l.byFD[fd]
		l.mu.Unlock()
		if en == nil {
			continue // removed since epoll_wait returned
		}
		count, err := en.src.TryWait()
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				l.mu.Lock()
				if !l.closed && l.bySrc[en.src] == en {
					_ = l.drop(en)
				}
				l.mu.Unlock()
				continue
			}
			return &Error{Op: "run", Err: err}
		}
		if count == 0 {
			l.stats.stale.Add(1)
			continue
		}
		l.stats.handled.Add(1)
		en.h(count)
	}
	return nil
}

// wake makes a blocked Run check its context and l.closing.
func (l *Loop) wake() {
	l.mu.Lock()
	if !l.released {
		_ = writeOne(l.wakefd)
	}
	l.mu.Unlock()
}

// exitRun ends a Run, and releases the descriptors if Close came during it.
func (l *Loop) exitRun() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running = false
	if l.closed {
		l.release()
	}
}

// Close stops the loop: a running Run returns an error wrapping os.ErrClosed,
// and every later call fails with it. It does not close the sources. When
// Run is running, Close only wakes it and Run releases the loop's
// descriptors on its way out, so Close may be called from a handler. It is
// idempotent and safe on a nil *Loop.
func (l *Loop) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.closing.Store(true)
	if l.running {
		if err := writeOne(l.wakefd); err != nil {
			return &Error{Op: "close", Err: err}
		}
		return nil
	}
	return l.release()
}

// release closes the descriptors. The caller holds l.mu.
func (l *Loop) release() error {
	if l.released {
		return nil
	}
	l.released = true
	l.bySrc, l.byFD = nil, nil
	err := l.epf.Close()
	unix.Close(l.wakefd)
	if err != nil {
		return &Error{Op: "close", Err: err}
	}
	return nil
}
