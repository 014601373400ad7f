package shm_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/mailbox/mailboxtest"
	"github.com/ipcu/ipcu/shm"
)

// A memfd channel woken through futexes passes the suite, in one process
// and across two (Files hands over the memfd alone).
func TestFutexConformance(t *testing.T) {
	opts := shm.Options{Slots: 8, SlotSize: 64, Wake: shm.WakeFutex}
	t.Run("in-process", func(t *testing.T) {
		mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
			a, b, err := shm.NewPair(&opts)
			require.NoError(t, err)
			return mailboxtest.Pair{A: a, B: b, Duplex: true}
		})
	})
	t.Run("cross-process", func(t *testing.T) {
		mailboxtest.RunOptions(t, func(t *testing.T) mailboxtest.Pair {
			a, err := shm.Create(&opts)
			require.NoError(t, err)
			files, err := a.Files()
			if err != nil {
				a.Close()
				require.NoError(t, err)
			}
			require.Len(t, files, 1)
			b := mailboxtest.StartRemote(t, "busypoll=0", files)
			files[0].Close()
			return mailboxtest.Pair{A: a, B: b, Duplex: true}
		}, mailboxtest.Options{Messages: 200})
	})
}

// A busy poll that would last for hours still ends with its context and
// with Close.
func TestLongBusyPollEnds(t *testing.T) {
	a, b, err := shm.NewPair(&shm.Options{BusyPoll: math.MaxInt})
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() {
		_, err := b.Recv(ctx, make([]byte, 64))
		done <- err
	}()
	go func() {
		_, err := a.Recv(context.Background(), make([]byte, 64))
		done <- err
	}()
	cancel()
	b.Close()
	a.Close()
	for range 2 {
		select {
		case err := <-done:
			require.Error(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("a busy-polling Recv ignored its context and Close")
		}
	}
}

// BenchmarkSleepingRoundTrip is a 64-byte round trip between two
// endpoints that sleep at once (BusyPoll 0), woken through eventfds or
// futexes, beside a bare futex ping-pong is in BenchmarkWakeup:
//
//	go test -run x -bench 'SleepingRoundTrip|Wakeup' ./shm/
func BenchmarkSleepingRoundTrip(b *testing.B) {
	for _, w := range []struct {
		name string
		wake shm.Wake
	}{{"eventfd", shm.WakeEventfd}, {"futex", shm.WakeFutex}} {
		b.Run(w.name, func(b *testing.B) {
			x, y, err := shm.NewPair(&shm.Options{Wake: w.wake})
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			defer y.Close()
			ctx := context.Background()
			go func() { // echo
				buf := make([]byte, 64)
				for {
					n, err := y.Recv(ctx, buf)
					if err != nil {
						return
					}
					if y.Send(ctx, buf[:n]) != nil {
						return
					}
				}
			}()
			msg, buf := make([]byte, 64), make([]byte, 64)
			b.ResetTimer()
			for range b.N {
				if err := x.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := x.Recv(ctx, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
