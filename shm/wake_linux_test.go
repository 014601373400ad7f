package shm_test

import (
	"context"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
			return remotePair(t, &opts)
		}, mailboxtest.Options{Messages: 200})
	})
}

// A busy poll that would last for hours still ends with its context: the
// spin loop checks it, not only the sleep after it.
func TestLongBusyPollEnds(t *testing.T) {
	a, b, err := shm.NewPair(&shm.Options{BusyPoll: math.MaxInt})
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Recv(ctx, make([]byte, 64))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // Recv is spinning by then (an ordering, not a timing check)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("a busy-polling Recv ignored its cancelled context")
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

// BenchmarkSpinThenSleep measures what sleeping costs, each comparison
// alternating benchRounds times between its two sides and reporting the
// median of the rounds' ratios:
//
//   - Active: one-way throughput of 64-byte messages from a sender that
//     keeps the receiver busy, with a spin-then-sleep receiver (BusyPoll
//     spinBudget) against a busy-polling one (BusyPoll 1<<20):
//     x-busypoll-throughput is spin-then-sleep's share of busy-poll's.
//
//   - Asleep: the round trip of two endpoints that sleep at once (BusyPoll
//     0) against a bare eventfd ping-pong between two threads, which is
//     the wake-up the channel is built on: x-bare-eventfd.
//
//     go test -run x -bench SpinThenSleep ./shm/
func BenchmarkSpinThenSleep(b *testing.B) {
	const spinBudget = 2000
	cpus := benchCPUs()
	// Fixed sizes, in one call with b.N = 1 (padTimer ends the ramp):
	// the ratios are what is reported.
	b.Run("Active", func(b *testing.B) {
		b.StopTimer()
		const n = 50000
		var ratios, rates []float64
		for range benchRounds {
			busy, err := streamRate(&shm.Options{BusyPoll: 1 << 20}, n)
			if err != nil {
				b.Fatal(err)
			}
			sts, err := streamRate(&shm.Options{BusyPoll: spinBudget}, n)
			if err != nil {
				b.Fatal(err)
			}
			ratios = append(ratios, sts/busy)
			rates = append(rates, sts)
		}
		padTimer(b)
		b.ReportMetric(1e9/medianOf(rates), "ns/op")
		b.ReportMetric(medianOf(rates), "msgs/s")
		b.ReportMetric(medianOf(ratios), "x-busypoll-throughput")
	})
	b.Run("Asleep", func(b *testing.B) {
		b.StopTimer()
		const n = 2000
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		var ratios, chans, bares []float64
		for range benchRounds {
			a, z, err := shm.NewPair(&shm.Options{Slots: benchSlots, SlotSize: benchSlot})
			if err != nil {
				b.Fatal(err)
			}
			ch, err := channelRTT(a, z, n, msg, buf)
			a.Close()
			z.Close()
			if err != nil {
				b.Fatal(err)
			}
			bare, err := eventfdPingPong(cpus, n)
			if err != nil {
				b.Fatal(err)
			}
			ratios = append(ratios, ch.mean/bare.mean)
			chans, bares = append(chans, ch.mean), append(bares, bare.mean)
		}
		padTimer(b)
		b.ReportMetric(medianOf(chans), "ns/op")
		b.ReportMetric(medianOf(bares), "bare-eventfd-ns/roundtrip")
		b.ReportMetric(medianOf(ratios), "x-bare-eventfd")
	})
}

// streamRate sends n 64-byte messages one way through a new pair made
// with opts and returns the messages per second the receiver took.
func streamRate(opts *shm.Options, n int) (float64, error) {
	o := *opts
	o.Slots, o.SlotSize = benchSlots, benchSlot
	a, z, err := shm.NewPair(&o)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	defer z.Close()
	ctx := context.Background()
	sent := make(chan error, 1)
	go func() {
		msg := make([]byte, benchMsg)
		for range n {
			if err := a.Send(ctx, msg); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	buf := make([]byte, benchMsg)
	start := time.Now()
	for range n {
		if _, err := z.Recv(ctx, buf); err != nil {
			return 0, err
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	return rate, <-sent
}

// eventfdPingPong is BenchmarkWakeup's bare eventfd round trip between two
// threads on cpus, n times.
func eventfdPingPong(cpus []int, n int) (figure, error) {
	var fds [2]int
	for k := range fds {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			return figure{}, err
		}
		fds[k] = fd
		defer unix.Close(fd)
	}
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	return pingPong(cpus, n, func() error {
		var buf [8]byte
		if _, err := unix.Write(fds[0], one); err != nil {
			return err
		}
		_, err := unix.Read(fds[1], buf[:])
		return err
	}, func(stop *atomic.Bool) error {
		var buf [8]byte
		for {
			if _, err := unix.Read(fds[0], buf[:]); err != nil {
				return err
			}
			if stop.Load() {
				return nil
			}
			if _, err := unix.Write(fds[1], one); err != nil {
				return err
			}
		}
	}, func() { _, _ = unix.Write(fds[0], one) })
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// A futex channel hands over its memfd alone; three files (the memfd and
// two eventfds of another channel) are accepted too, the eventfds unused.
func TestFutexFiles(t *testing.T) {
	a, err := shm.Create(&shm.Options{Wake: shm.WakeFutex})
	require.NoError(t, err)
	defer a.Close()
	files, err := a.Files()
	require.NoError(t, err)
	defer files[0].Close()
	require.Len(t, files, 1)
	b, err := shm.FromFiles(files, nil)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.TrySend([]byte("x")))
	n, err := b.Recv(context.Background(), make([]byte, 8))
	require.NoError(t, err)
	require.Equal(t, 1, n)

	e, err := shm.Create(nil) // eventfd channel: one file is not enough
	require.NoError(t, err)
	defer e.Close()
	efiles, err := e.Files()
	require.NoError(t, err)
	defer func() {
		for _, f := range efiles {
			f.Close()
		}
	}()
	_, err = shm.FromFiles(efiles[:1], nil)
	require.ErrorIs(t, err, shm.ErrLayout)
	f, err := shm.FromFiles(efiles, nil) // the failed attach did not take the side
	require.NoError(t, err)
	f.Close()
}
