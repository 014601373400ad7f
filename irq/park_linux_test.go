package irq_test

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/irq"
)

// notInGo returns how many goroutines the runtime counts as running or
// blocked in a system call.
func notInGo(tb testing.TB) uint64 {
	tb.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines/not-in-go:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		tb.Skip("runtime/metrics lacks /sched/goroutines/not-in-go")
	}
	return s[0].Value.Uint64()
}

// A blocked Wait parks its goroutine in the runtime's netpoller: it holds
// neither a P nor a thread in a system call, so with GOMAXPROCS=1 the other
// goroutines keep running, and a Signal wakes the waiter at once.
func TestWaitDoesNotPinP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const waiters = 3
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dl, cancelDL := context.WithTimeout(context.Background(), time.Minute)
	defer cancelDL()
	base := notInGo(t)

	// Each waiter loops on its own source and reports each wake-up.
	type waiter struct {
		src  *irq.Eventfd
		woke chan time.Time
	}
	ws := make([]waiter, waiters)
	done := make(chan error, waiters)
	for i := range ws {
		w := waiter{src: newSource(t), woke: make(chan time.Time, 1)}
		ws[i] = w
		wctx := []context.Context{context.Background(), ctx, dl}[i%3]
		go func() {
			for {
				if _, err := w.src.Wait(wctx); err != nil {
					done <- err
					return
				}
				w.woke <- time.Now()
			}
		}()
	}

	// This goroutine gets the only P back as soon as each waiter blocks:
	// a busy loop of yields runs many times per millisecond.
	start := time.Now()
	yields := 0
	for time.Since(start) < 20*time.Millisecond {
		runtime.Gosched()
		yields++
	}
	assert.Greater(t, yields, 10, "the goroutine made no progress while the waiters blocked")
	assert.Less(t, notInGo(t), base+waiters, "blocked waiters sit in system calls")

	// Round trips: the waiter wakes, reports, and blocks again, which must
	// hand the P straight back to this goroutine.
	var lat []time.Duration
	for i := range 60 {
		w := ws[i%waiters]
		t0 := time.Now()
		require.NoError(t, w.src.Signal())
		select {
		case <-w.woke:
		case <-time.After(5 * time.Second):
			t.Fatal("Signal did not wake the waiter")
		}
		runtime.Gosched() // let it block again
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	t.Logf("round trip with GOMAXPROCS=1: median %v, max %v", lat[len(lat)/2], lat[len(lat)-1])
	// Latency itself is a benchmark's business (BenchmarkPingPong), not a
	// timed assertion on a shared machine.
	assert.Less(t, notInGo(t), base+waiters, "blocked waiters sit in system calls")

	for _, w := range ws {
		require.NoError(t, w.src.Close())
	}
	for range waiters {
		select {
		case err := <-done:
			assert.ErrorIs(t, err, os.ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake a waiter")
		}
	}
}

// A Run waiting for its sources parks in the netpoller too.
func TestRunDoesNotPinP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	base := notInGo(t)
	l := newLoop(t, nil)
	a := newSource(t)
	h, ch := counter()
	require.NoError(t, l.Add(a, h))
	run := runAsync(context.Background(), l)
	time.Sleep(10 * time.Millisecond)
	assert.Less(t, notInGo(t), base+1, "a waiting Run sits in a system call")
	require.NoError(t, a.Signal())
	assert.Equal(t, uint64(1), next(t, ch))
	require.NoError(t, l.Close())
	assert.ErrorIs(t, recvErr(t, run), os.ErrClosed)
}

// A Wait that blocks allocates nothing once its waiter is armed for its
// context: a driver's loop, Waiting with the same context again and again.
func TestBlockingWaitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		testenv.Unsupported(t, "the race detector's instrumentation allocates")
	}
	e := newSource(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kick := make(chan struct{})
	go func() {
		for range kick {
			time.Sleep(200 * time.Microsecond) // the Wait blocks first
			_ = e.Signal()
		}
	}()
	defer close(kick)
	for _, c := range []context.Context{context.Background(), ctx} {
		allocs := testing.AllocsPerRun(20, func() {
			kick <- struct{}{}
			if n, err := e.Wait(c); err != nil || n != 1 {
				t.Fatal(n, err)
			}
		})
		assert.Zero(t, allocs)
	}
}

// FromEventfd makes a blocking eventfd non-blocking, for the netpoller, and
// leaves it so after Close.
func TestFromEventfdSetsNonblock(t *testing.T) {
	fd := rawEventfd(t, 0)
	defer unix.Close(fd)
	e, err := irq.FromEventfd(fd, false)
	require.NoError(t, err)
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	assert.NotZero(t, flags&unix.O_NONBLOCK)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = e.Wait(ctx)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	ch := waitAsync(context.Background(), e)
	assertBlocked(t, ch)
	require.NoError(t, e.Signal())
	r := recv(t, ch)
	require.NoError(t, r.err)
	assert.Equal(t, uint64(1), r.n)
	require.NoError(t, e.Close())
	assert.True(t, fdOpen(fd), "a borrowed fd stays open")
}
