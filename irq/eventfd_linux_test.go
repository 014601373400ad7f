package irq_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/irq"
)

// requireEventfd gates a test on the kernel's eventfd, probed directly.
func requireEventfd(tb testing.TB) {
	tb.Helper()
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err == nil {
		unix.Close(fd)
	}
	testenv.Require(tb, "eventfd(2)", err)
}

// newSource returns an owned Eventfd that the test's cleanup closes.
func newSource(tb testing.TB) *irq.Eventfd {
	tb.Helper()
	requireEventfd(tb)
	e, err := irq.NewEventfd()
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, e.Close()) })
	return e
}

// rawEventfd returns a kernel eventfd with the given extra flags, which the
// test's cleanup closes unless the test did.
func rawEventfd(tb testing.TB, flags int) int {
	tb.Helper()
	requireEventfd(tb)
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|flags)
	require.NoError(tb, err)
	return fd
}

// fdOpen reports whether fd is an open descriptor.
func fdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// waitAsync runs Wait on its own goroutine.
func waitAsync(ctx context.Context, e *irq.Eventfd) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := e.Wait(ctx)
		ch <- result{n, err}
	}()
	return ch
}

type result struct {
	n   uint64
	err error
}

// assertBlocked checks that nothing arrives on ch for a while.
func assertBlocked(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("Wait returned %d, %v while it should block", r.n, r.err)
	case <-time.After(30 * time.Millisecond):
	}
}

// recv returns the result from ch, failing after a generous timeout.
func recv(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return")
		return result{}
	}
}

func TestCountAndMissed(t *testing.T) {
	e := newSource(t)
	for range 3 {
		require.NoError(t, e.Signal())
	}
	n, err := e.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(3), n)
	assert.Equal(t, irq.Stats{Wakeups: 1, Delivered: 3, Missed: 2}, e.Stats())

	require.NoError(t, e.Signal())
	n, err = e.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)
	assert.Equal(t, irq.Stats{Wakeups: 2, Delivered: 4, Missed: 2}, e.Stats())
}

func TestWaitBlocksUntilSignal(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancellable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSource(t)
			ctx, cancel := tc.ctx()
			defer cancel()
			ch := waitAsync(ctx, e)
			assertBlocked(t, ch)
			require.NoError(t, e.Signal())
			r := recv(t, ch)
			require.NoError(t, r.err)
			assert.Equal(t, uint64(1), r.n)
		})
	}
}

func TestWaitDeadline(t *testing.T) {
	e := newSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	n, err := e.Wait(ctx)
	// Not before the deadline (measured from it, not from a later clock
	// read, which a slow CPU or an emulator puts well after it).
	assert.False(t, time.Now().Before(deadline), "Wait returned %v before its deadline", time.Until(deadline))
	assert.Zero(t, n)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	var ie *irq.Error
	require.ErrorAs(t, err, &ie)
	assert.True(t, ie.Timeout())

	// A deadline already past fails at once, even with a count pending.
	require.NoError(t, e.Signal())
	_, err = e.Wait(ctx)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	n, err = e.TryWait()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)
}

func TestWaitCancel(t *testing.T) {
	e := newSource(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := waitAsync(ctx, e)
	assertBlocked(t, ch)
	cancel()
	r := recv(t, ch)
	assert.ErrorIs(t, r.err, context.Canceled)
	assert.NotErrorIs(t, r.err, os.ErrDeadlineExceeded)

	// Cancelled before the call: fails at once.
	_, err := e.Wait(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

// A cancellation wakes its own Wait only, and the wakers are reused.
func TestCancelWakesOnlyItsWaiter(t *testing.T) {
	e := newSource(t)
	other := waitAsync(context.Background(), e)
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		ch := waitAsync(ctx, e)
		time.Sleep(time.Millisecond)
		cancel()
		assert.ErrorIs(t, recv(t, ch).err, context.Canceled)
	}
	assertBlocked(t, other)
	require.NoError(t, e.Signal())
	r := recv(t, other)
	require.NoError(t, r.err)
	assert.Equal(t, uint64(1), r.n)

	// A context cancelled after its Wait returned leaves no stale wake-up.
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, e.Signal())
	_, err := e.Wait(ctx)
	require.NoError(t, err)
	cancel()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	_, err = e.Wait(ctx2)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestCloseWakesWaiters(t *testing.T) {
	requireEventfd(t)
	e, err := irq.NewEventfd()
	require.NoError(t, err)
	fd := e.FD()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dl, cancelDL := context.WithTimeout(context.Background(), time.Minute)
	defer cancelDL()
	chans := []<-chan result{
		waitAsync(context.Background(), e),
		waitAsync(ctx, e),
		waitAsync(dl, e),
	}
	for _, ch := range chans {
		assertBlocked(t, ch)
	}
	require.NoError(t, e.Close())
	for _, ch := range chans {
		r := recv(t, ch)
		assert.ErrorIs(t, r.err, os.ErrClosed)
	}
	_, err = e.Wait(context.Background())
	assert.ErrorIs(t, err, os.ErrClosed)
	_, err = e.TryWait()
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.ErrorIs(t, e.Signal(), os.ErrClosed)
	assert.ErrorIs(t, e.Ack(), os.ErrClosed)
	assert.Equal(t, -1, e.FD())
	assert.NoError(t, e.Close(), "Close is idempotent")
	assert.False(t, fdOpen(fd), "an owned fd is closed")

	var nilSource *irq.Eventfd
	assert.NoError(t, nilSource.Close())
}

func TestFromEventfdOwnership(t *testing.T) {
	t.Run("borrowed", func(t *testing.T) {
		fd := rawEventfd(t, unix.EFD_NONBLOCK)
		defer unix.Close(fd)
		e, err := irq.FromEventfd(fd, false)
		require.NoError(t, err)
		assert.Equal(t, fd, e.FD())
		ch := waitAsync(context.Background(), e)
		assertBlocked(t, ch)
		require.NoError(t, e.Close())
		assert.ErrorIs(t, recv(t, ch).err, os.ErrClosed)
		assert.True(t, fdOpen(fd), "a borrowed fd stays open")
	})
	t.Run("owned", func(t *testing.T) {
		fd := rawEventfd(t, unix.EFD_NONBLOCK)
		e, err := irq.FromEventfd(fd, true)
		require.NoError(t, err)
		require.NoError(t, e.Close())
		assert.False(t, fdOpen(fd), "an owned fd is closed")
	})
}

func TestFromEventfdRejects(t *testing.T) {
	requireEventfd(t)
	_, err := irq.FromEventfd(-1, false)
	assert.ErrorIs(t, err, unix.EBADF)

	fd := rawEventfd(t, 0)
	require.NoError(t, unix.Close(fd))
	_, err = irq.FromEventfd(fd, true)
	assert.ErrorIs(t, err, unix.EBADF)

	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return // the eventfd check needs /proc
	}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	_, err = irq.FromEventfd(int(r.Fd()), false)
	assert.ErrorIs(t, err, unix.EINVAL)
	assert.True(t, fdOpen(int(r.Fd())))
}

func TestTryWait(t *testing.T) {
	e := newSource(t)
	n, err := e.TryWait()
	require.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, e.Signal())
	require.NoError(t, e.Signal())
	n, err = e.TryWait()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), n)
	n, err = e.TryWait()
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, irq.Stats{Wakeups: 1, Delivered: 2, Missed: 1}, e.Stats())
	assert.NoError(t, e.Ack())
}

func TestSpurious(t *testing.T) {
	e := newSource(t)
	e.Spurious()
	e.Spurious()
	assert.Equal(t, irq.Stats{Spurious: 2}, e.Stats())
}

// Concurrent Waits share the interrupts: none is delivered twice, none is
// lost. A blocking eventfd (without EFD_NONBLOCK) must work as well.
func TestConcurrentWaits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags int
	}{
		{"nonblocking", unix.EFD_NONBLOCK},
		{"blocking", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := rawEventfd(t, tc.flags)
			e, err := irq.FromEventfd(fd, true)
			require.NoError(t, err)
			defer e.Close()

			const signals, waiters = 2000, 4
			var total atomic.Uint64
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for range waiters {
				wg.Go(func() {
					for {
						n, err := e.Wait(ctx)
						if err != nil {
							return
						}
						if total.Add(n) == signals {
							cancel()
						}
					}
				})
			}
			for range signals {
				require.NoError(t, e.Signal())
			}
			wg.Wait()
			assert.Equal(t, uint64(signals), total.Load())
			st := e.Stats()
			assert.Equal(t, uint64(signals), st.Delivered)
			assert.Equal(t, st.Delivered, st.Wakeups+st.Missed)
			n, err := e.TryWait()
			require.NoError(t, err)
			assert.Zero(t, n, "a count was left behind")
		})
	}
}

// Wait and TryWait allocate nothing when a count is pending, whatever the
// context (BenchmarkSignalWait shows the same).
func TestWaitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		testenv.Unsupported(t, "the race detector's instrumentation allocates")
	}
	e := newSource(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	allocs := testing.AllocsPerRun(100, func() {
		_ = e.Signal()
		_, _ = e.Wait(context.Background())
		_ = e.Signal()
		_, _ = e.Wait(ctx)
		_ = e.Signal()
		_, _ = e.TryWait()
		_, _ = e.TryWait()
	})
	assert.Zero(t, allocs)
	assert.Equal(t, uint64(3*101), e.Stats().Delivered)
}
