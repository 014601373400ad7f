package irq_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/irq"
)

// BenchmarkSignalWait is one Signal and one Wait on the same goroutine: the
// cost of the system calls, and proof that Wait allocates nothing when a
// count is pending, whatever its context.
func BenchmarkSignalWait(b *testing.B) {
	for _, bc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancellable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newSource(b)
			ctx, cancel := bc.ctx()
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if err := e.Signal(); err != nil {
					b.Fatal(err)
				}
				if n, err := e.Wait(ctx); err != nil || n != 1 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkTryWaitEmpty is the cost of a check that finds nothing: one
// read(2) returning EAGAIN.
func BenchmarkTryWaitEmpty(b *testing.B) {
	e := newSource(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.TryWait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPingPong is the round trip between two goroutines, each woken
// by the other's Signal: ns/op is one request and one reply.
//
//   - wait: both sides block in Wait.
//   - loop: a Loop answers; the requester blocks in Wait.
//   - loop-busypoll: a busy-polling Loop answers; the requester blocks.
//   - loop-busypoll-spin: a busy-polling Loop answers and the requester
//     spins on TryWait: no sleeping thread on either side.
func BenchmarkPingPong(b *testing.B) {
	b.Run("wait", func(b *testing.B) {
		ping, pong := newSource(b), newSource(b)
		go func() {
			for {
				if _, err := ping.Wait(context.Background()); err != nil {
					return
				}
				pong.Signal()
			}
		}()
		pingPong(b, ping, pong, false)
		ping.Close()
	})
	for _, bc := range []struct {
		name     string
		busyPoll time.Duration
		spin     bool
	}{
		{"loop", 0, false},
		{"loop-busypoll", 100 * time.Microsecond, false},
		{"loop-busypoll-spin", 100 * time.Microsecond, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ping, pong := newSource(b), newSource(b)
			l := newLoop(b, &irq.LoopOptions{BusyPoll: bc.busyPoll})
			require.NoError(b, l.Add(ping, func(uint64) { pong.Signal() }))
			done := make(chan error, 1)
			go func() { done <- l.Run(context.Background()) }()
			pingPong(b, ping, pong, bc.spin)
			l.Close()
			if err := <-done; !errors.Is(err, os.ErrClosed) {
				b.Fatal(err)
			}
			st := l.Stats()
			b.ReportMetric(float64(st.BusyPollHits)/float64(st.Handled), "polled/op")
		})
	}
}

// pingPong signals ping and waits for pong, b.N times.
func pingPong(b *testing.B, ping, pong *irq.Eventfd, spin bool) {
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		if err := ping.Signal(); err != nil {
			b.Fatal(err)
		}
		if spin {
			for {
				n, err := pong.TryWait()
				if err != nil {
					b.Fatal(err)
				}
				if n > 0 {
					break
				}
				runtime.Gosched()
			}
			continue
		}
		if _, err := pong.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
