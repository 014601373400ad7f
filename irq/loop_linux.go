package irq

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// loopSys is the Linux state of a Loop.
type loopSys struct {
	epfd   int // immutable until released
	wakefd int // non-blocking eventfd that Close and context cancellation write

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
	wakefd, err := newEventfd()
	if err != nil {
		unix.Close(epfd)
		return nil, &Error{Op: "loop", Err: err}
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, &Error{Op: "loop", Err: os.NewSyscallError("epoll_ctl", err)}
	}
	l := &Loop{busyPoll: o.BusyPoll}
	l.epfd = epfd
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
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, l.wake)
		defer stop()
	}
	deadline, hasDeadline := ctx.Deadline()
	for {
		timeout := -1
		if hasDeadline {
			d := time.Until(deadline)
			if d <= 0 {
				return ctxError("run", context.DeadlineExceeded)
			}
			timeout = int((d + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := unix.EpollWait(l.epfd, l.events, timeout)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &Error{Op: "run", Err: os.NewSyscallError("epoll_wait", err)}
		}
		if n == 0 {
			continue // timed out: the deadline check above returns
		}
		if err := l.dispatch(ctx, n, &l.stats.wakeups); err != nil {
			return err
		}
		if l.busyPoll > 0 {
			if err := l.spin(ctx); err != nil {
				return err
			}
		}
	}
}

// spin is busy polling: non-blocking checks until busyPoll has passed
// since the last event.
func (l *Loop) spin(ctx context.Context) error {
	done := ctx.Done()
	last := time.Now()
	for time.Since(last) < l.busyPoll {
		if l.closing.Load() {
			return errClosed("run")
		}
		select {
		case <-done:
			return ctxError("run", ctx.Err())
		default:
		}
		n, err := unix.EpollWait(l.epfd, l.events, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &Error{Op: "run", Err: os.NewSyscallError("epoll_wait", err)}
		}
		if n == 0 {
			// Let the goroutines that will fire the next interrupt run,
			// even with GOMAXPROCS=1.
			runtime.Gosched()
			continue
		}
		if err := l.dispatch(ctx, n, &l.stats.busyHits); err != nil {
			return err
		}
		last = time.Now()
	}
	return nil
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
	err := unix.Close(l.epfd)
	unix.Close(l.wakefd)
	if err != nil {
		return &Error{Op: "close", Err: os.NewSyscallError("close", err)}
	}
	return nil
}
