package irq_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/irq"
)

// newLoop returns a Loop that the test's cleanup closes.
func newLoop(tb testing.TB, opts *irq.LoopOptions) *irq.Loop {
	tb.Helper()
	requireEventfd(tb)
	l, err := irq.NewLoop(opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, l.Close()) })
	return l
}

// runAsync runs l.Run on its own goroutine.
func runAsync(ctx context.Context, l *irq.Loop) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.Run(ctx) }()
	return ch
}

// recvErr returns Run's error, failing after a generous timeout.
func recvErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// counter is a handler that sends each count it gets.
func counter() (irq.Handler, <-chan uint64) {
	ch := make(chan uint64, 100)
	return func(n uint64) { ch <- n }, ch
}

// next returns the next count from ch, failing after a generous timeout.
func next(t *testing.T, ch <-chan uint64) uint64 {
	t.Helper()
	select {
	case n := <-ch:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not called")
		return 0
	}
}

func TestLoopDispatches(t *testing.T) {
	l := newLoop(t, nil)
	a, b := newSource(t), newSource(t)
	ha, cha := counter()
	hb, chb := counter()
	require.NoError(t, l.Add(a, ha))
	require.NoError(t, l.Add(b, hb))
	run := runAsync(context.Background(), l)

	require.NoError(t, a.Signal())
	assert.Equal(t, uint64(1), next(t, cha))
	require.NoError(t, b.Signal())
	assert.Equal(t, uint64(1), next(t, chb))
	require.NoError(t, a.Signal())
	require.NoError(t, b.Signal())
	assert.Equal(t, uint64(1), next(t, cha))
	assert.Equal(t, uint64(1), next(t, chb))

	// After Remove, a's interrupts stay pending for whoever reads a.
	require.NoError(t, l.Remove(a))
	assert.ErrorIs(t, l.Remove(a), os.ErrNotExist)
	require.NoError(t, a.Signal())
	require.NoError(t, b.Signal())
	assert.Equal(t, uint64(1), next(t, chb))
	assert.Empty(t, cha)
	n, err := a.TryWait()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)

	// The loop read through the sources: their Stats count its wake-ups.
	assert.Equal(t, uint64(3), a.Stats().Delivered)
	assert.Equal(t, uint64(3), b.Stats().Delivered)

	require.NoError(t, l.Close())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
	st := l.Stats()
	assert.Equal(t, uint64(5), st.Handled)
	assert.NotZero(t, st.Wakeups)
	assert.Zero(t, st.BusyPollHits)
}

func TestLoopClose(t *testing.T) {
	l := newLoop(t, nil)
	run := runAsync(context.Background(), l)
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, l.Close())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
	assert.NoError(t, l.Close(), "Close is idempotent")
	assert.ErrorIs(t, l.Run(context.Background()), os.ErrClosed)
	assert.ErrorIs(t, l.Add(newSource(t), func(uint64) {}), os.ErrClosed)
	var nilLoop *irq.Loop
	assert.NoError(t, nilLoop.Close())
}

func TestLoopCloseFromHandler(t *testing.T) {
	l := newLoop(t, nil)
	a := newSource(t)
	require.NoError(t, l.Add(a, func(uint64) { assert.NoError(t, l.Close()) }))
	run := runAsync(context.Background(), l)
	require.NoError(t, a.Signal())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
}

func TestLoopContext(t *testing.T) {
	l := newLoop(t, &irq.LoopOptions{BusyPoll: time.Millisecond})
	a := newSource(t)
	h, ch := counter()
	require.NoError(t, l.Add(a, h))

	ctx, cancel := context.WithCancel(context.Background())
	run := runAsync(ctx, l)
	require.NoError(t, a.Signal())
	next(t, ch)
	cancel()
	err := recvErr(t, run)
	assert.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err = l.Run(ctx)
	assert.False(t, time.Now().Before(deadline), "Run returned %v before its deadline", time.Until(deadline))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// The loop is still usable after its context ended.
	run = runAsync(context.Background(), l)
	require.NoError(t, a.Signal())
	next(t, ch)
	assert.ErrorContains(t, l.Run(context.Background()), "already running")
	require.NoError(t, l.Close())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
}

func TestLoopBusyPoll(t *testing.T) {
	l := newLoop(t, &irq.LoopOptions{BusyPoll: 200 * time.Millisecond})
	a := newSource(t)
	h, ch := counter()
	require.NoError(t, l.Add(a, h))
	run := runAsync(context.Background(), l)
	// Each interrupt after the first comes while the loop polls.
	for range 10 {
		require.NoError(t, a.Signal())
		assert.Equal(t, uint64(1), next(t, ch))
	}
	require.NoError(t, l.Close())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
	st := l.Stats()
	assert.Equal(t, uint64(10), st.Handled)
	assert.GreaterOrEqual(t, st.BusyPollHits, uint64(5))
	assert.Equal(t, uint64(10), st.Wakeups+st.BusyPollHits)
}

func TestLoopAddErrors(t *testing.T) {
	l := newLoop(t, nil)
	a := newSource(t)
	assert.Error(t, l.Add(nil, func(uint64) {}))
	assert.Error(t, l.Add(a, nil))
	require.NoError(t, l.Add(a, func(uint64) {}))
	assert.ErrorIs(t, l.Add(a, func(uint64) {}), os.ErrExist)

	closed, err := irq.NewEventfd()
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	assert.ErrorIs(t, l.Add(closed, func(uint64) {}), os.ErrClosed)

	_, err = irq.NewLoop(&irq.LoopOptions{BusyPoll: -1})
	assert.Error(t, err)
}

// A source closed while in the loop is dropped when it next fires.
func TestLoopDropsClosedSource(t *testing.T) {
	l := newLoop(t, nil)
	fd := rawEventfd(t, unix.EFD_NONBLOCK)
	defer unix.Close(fd)
	src, err := irq.FromEventfd(fd, false)
	require.NoError(t, err)
	var calls atomic.Int32
	require.NoError(t, l.Add(src, func(uint64) { calls.Add(1) }))
	run := runAsync(context.Background(), l)
	require.NoError(t, src.Close())
	// The device, which still owns fd, fires the line.
	_, err = unix.Write(fd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		err := l.Remove(src)
		return err != nil && assert.ErrorIs(t, err, os.ErrNotExist)
	}, 5*time.Second, time.Millisecond)
	assert.Zero(t, calls.Load())
	require.NoError(t, l.Close())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
}

// staleSource's first TryWait finds nothing, as if another reader had
// taken the count between epoll_wait and TryWait.
type staleSource struct {
	*irq.Eventfd
	once atomic.Bool
}

func (s *staleSource) TryWait() (uint64, error) {
	if s.once.CompareAndSwap(false, true) {
		return 0, nil
	}
	return s.Eventfd.TryWait()
}

func TestLoopStale(t *testing.T) {
	l := newLoop(t, nil)
	src := &staleSource{Eventfd: newSource(t)}
	h, ch := counter()
	require.NoError(t, l.Add(src, h))
	run := runAsync(context.Background(), l)
	require.NoError(t, src.Signal())
	// Level-triggered: the count the stale read left is delivered next.
	assert.Equal(t, uint64(1), next(t, ch))
	require.NoError(t, l.Close())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
	assert.Equal(t, irq.LoopStats{Wakeups: 2, Handled: 1, Stale: 1}, l.Stats())
}
