//go:build linux

package shm_test

import (
	"context"
	"errors"
	"flag"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/internal/cbaseline"
	"github.com/ipcu/ipcu/internal/futex"
	"github.com/ipcu/ipcu/internal/spin"
	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/mailbox/mailboxtest"
	"github.com/ipcu/ipcu/shm"
)

// The benchmarks of this file compare the Go rings and channels with the C
// baseline (internal/cbaseline) in the same run, because on a shared
// machine the absolute figures move by several times from run to run
// (where the host places the vCPUs) while ratios measured side by side
// hold. Each sub-benchmark alternates nine times between its Go
// measurement and a run of the C baseline on the same two CPUs. Each
// measurement gives its mean and its best window of 1000 round trips (or
// batches): the host runs other work on these CPUs now and then, which
// the means absorb and the best windows mostly escape. The ratios are
// taken between best windows, round by round, and their median reported:
//
//	go test -run x -bench VersusC -benchtime 2s ./shm/
//	go test -run x -bench Wakeup ./shm/
//
// Metrics (medians over the rounds): ns/roundtrip and msgs/s are the Go
// means, best-ns/roundtrip and best-msgs/s the Go best windows,
// c-*-best-ns and c-*-best-msgs/s the C best windows; x-c-headtail,
// x-c-stamp and x-c-probe are the Go best window over the C one (lower is
// better for round trips, higher for throughput). ns/op is the Go side's time per operation, thread start-up
// included. The shared-memory sides busy-poll with spin.Spinner (PAUSE,
// a yield every 64 spins), as the C sides spin with PAUSE. The file is
// Linux-only (affinity, futexes, eventfds), and its one unsafe conversion
// is the futex word's address, which the futex syscall takes.

const (
	benchMsg   = 64  // bytes per message
	benchSlots = 256 // as the C baseline's rings
	benchSlot  = 128 // bytes per slot: 64-byte messages, cache-line multiple
	benchBatch = 32

	// The C measurements run as many round trips or batches as a Go
	// round, at most these.
	cRTTIters   = 20000
	cBatchIters = 10000
)

// buildBaseline builds the C baseline for the benchmarks of b, which
// remove it when they end.
func buildBaseline(b *testing.B) *cbaseline.Baseline {
	b.Helper()
	testenv.Require(b, "gcc", cbaseline.Available())
	cb, err := cbaseline.Build("")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cb.Close() })
	return cb
}

// cRun runs the C baseline with p on cpus.
func cRun(b *testing.B, cb *cbaseline.Baseline, cpus []int, p cbaseline.Params) cbaseline.Results {
	b.Helper()
	p.CPUs = cpus
	r, err := cb.Run(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// benchCPUs returns two CPUs of this process's affinity mask to pin the two
// sides to, or nil (no pinning) when it has fewer than two.
func benchCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	var cpus []int
	for i := 0; i < 1024 && len(cpus) < 2; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return nil
	}
	return cpus
}

// onCPU runs f in a new goroutine locked to its OS thread and pinned to
// cpu (when cpus is not nil), and returns a channel closed when f returns.
// The goroutine exits still locked, so its pinned thread exits with it
// rather than returning to the runtime's pool.
func onCPU(cpus []int, side int, f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if cpus != nil {
			var set unix.CPUSet
			set.Set(cpus[side])
			_ = unix.SchedSetaffinity(0, &set) // best effort: unpinned still measures
		}
		f()
	}()
	return done
}

// figure is a Go measurement: its mean and its best window of
// cbaseline.WindowSize operations, as the C baseline reports them, in ns
// per operation (round trip, or message for throughput).
type figure struct{ mean, best float64 }

// window tracks the best window of a measurement.
type window struct {
	t      time.Time
	n, per int
	best   float64
}

func startWindow(per int) *window { return &window{t: time.Now(), per: per} }

// tick counts k operations done.
func (w *window) tick(k int) {
	w.n += k
	if w.n >= w.per {
		now := time.Now()
		if v := float64(now.Sub(w.t).Nanoseconds()) / float64(w.n); w.best == 0 || v < w.best {
			w.best = v
		}
		w.t, w.n = now, 0
	}
}

// figure returns the mean of n operations over elapsed, and the best
// window (the mean if there was no whole window).
func (w *window) figure(elapsed time.Duration, n int) figure {
	f := figure{mean: float64(elapsed.Nanoseconds()) / float64(n), best: w.best}
	if f.best == 0 {
		f.best = f.mean
	}
	return f
}

// pingPong runs echo on the second CPU and ping (one round trip per call)
// n times on the first, after a warm-up, and returns the round trip.
// stop tells echo to return; unblock, if not nil, is called after stop is
// set, to wake an echo asleep in the kernel.
func pingPong(cpus []int, n int, ping func() error, echo func(stop *atomic.Bool) error, unblock func()) (figure, error) {
	var stop atomic.Bool
	var echoErr, pingErr error
	echoDone := onCPU(cpus, 1, func() { echoErr = echo(&stop) })
	var f figure
	<-onCPU(cpus, 0, func() {
		for range min(n, 1000) {
			if pingErr = ping(); pingErr != nil {
				return
			}
		}
		start := time.Now()
		w := startWindow(cbaseline.WindowSize)
		for range n {
			if pingErr = ping(); pingErr != nil {
				return
			}
			w.tick(1)
		}
		f = w.figure(time.Since(start), n)
	})
	stop.Store(true)
	if unblock != nil {
		unblock()
	}
	<-echoDone
	return f, errors.Join(pingErr, echoErr)
}

// benchRounds is how many times a comparison alternates between the Go
// measurement and the C one: the host moves the vCPUs now and then, so
// each round's ratio compares neighbours in time, and the median of the
// rounds' ratios is what is reported.
const benchRounds = 9

// round is one Go measurement and the C run after it.
type round struct {
	g figure
	c cbaseline.Results
}

// minRound is the fewest operations of a round: five windows, so that a
// round has a best window, and enough that the start of a round (threads
// started and pinned, an unpinned goroutine settling on its P, which can
// take milliseconds) is not what it measures.
const minRound = 5 * cbaseline.WindowSize

// roundSize returns the operations of a round: with -benchtime Nx, N
// divided among the rounds; with a duration, as many as fill a
// benchRounds-th of it (and a tenth more) at the rate of a calibration run
// of goRound; at least minRound either way.
func roundSize(b *testing.B, goRound func(n int) (figure, error)) int {
	b.Helper()
	bt := "1s"
	if f := flag.Lookup("test.benchtime"); f != nil {
		bt = f.Value.String()
	}
	if c, ok := strings.CutSuffix(bt, "x"); ok {
		n, err := strconv.Atoi(c)
		if err != nil {
			b.Fatalf("-benchtime %s: %v", bt, err)
		}
		return max(n/benchRounds, minRound)
	}
	d, err := time.ParseDuration(bt)
	if err != nil {
		b.Fatalf("-benchtime %s: %v", bt, err)
	}
	cal, err := goRound(minRound)
	if err != nil {
		b.Fatal(err)
	}
	return max(int(float64(d.Nanoseconds())/benchRounds/cal.mean), minRound)
}

// padTimer lets the benchmark timer run until it shows -benchtime, if it
// does not yet, so that the framework takes the call with b.N = 1 as the
// whole benchmark rather than calling again with a larger b.N.
func padTimer(b *testing.B) {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return
	}
	d, err := time.ParseDuration(f.Value.String())
	if err != nil {
		return // Nx: the framework calls once
	}
	if rem := d - b.Elapsed(); rem > 0 {
		b.StartTimer()
		time.Sleep(rem)
		b.StopTimer()
	}
}

// versus runs benchRounds rounds of goRound then the C baseline with p.
// It makes its own round size (roundSize) from -benchtime, rather than
// following b.N, because the framework's ramp of b.N, which estimates the
// cost of an operation from short first runs, is thrown far off by the
// start of a round: one call with b.N = 1 takes -benchtime of Go
// measurement (padded if short), which ends the ramp there. The C runs are
// not timed; the caller reports ns/op from the figures.
func versus(b *testing.B, cb *cbaseline.Baseline, cpus []int, p cbaseline.Params, cMax int, goRound func(n int) (figure, error)) []round {
	b.Helper()
	n := roundSize(b, goRound)
	p.Iterations = min(n, cMax)
	rounds := make([]round, benchRounds)
	for i := range rounds {
		b.StartTimer()
		g, err := goRound(n)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		rounds[i] = round{g: g, c: cRun(b, cb, cpus, p)}
	}
	padTimer(b)
	return rounds
}

// median returns the median of f over the rounds.
func median(rounds []round, f func(round) float64) float64 {
	v := make([]float64, len(rounds))
	for i, r := range rounds {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// reportRTT reports round trips: the Go mean and best window, the C best
// windows named in cs, and the Go best window over each.
func reportRTT(b *testing.B, rounds []round, cs ...string) {
	b.ReportMetric(median(rounds, func(r round) float64 { return r.g.mean }), "ns/op")
	b.ReportMetric(median(rounds, func(r round) float64 { return r.g.mean }), "ns/roundtrip")
	b.ReportMetric(median(rounds, func(r round) float64 { return r.g.best }), "best-ns/roundtrip")
	for _, name := range cs {
		c := cBestRTT[name]
		b.ReportMetric(median(rounds, func(r round) float64 { return c(r.c) }), "c-"+name+"-best-ns")
		b.ReportMetric(median(rounds, func(r round) float64 { return r.g.best / c(r.c) }), "x-c-"+name)
	}
}

var cBestRTT = map[string]func(cbaseline.Results) float64{
	"probe":    func(r cbaseline.Results) float64 { return ns(r.ProbeRTTBest) },
	"headtail": func(r cbaseline.Results) float64 { return ns(r.HeadTailRTTBest) },
	"stamp":    func(r cbaseline.Results) float64 { return ns(r.StampRTTBest) },
}

func ns(d time.Duration) float64 { return float64(d.Nanoseconds()) }

func newBenchRing(b *testing.B) (*dmaring.SPSCProducer, *dmaring.SPSCConsumer) {
	b.Helper()
	size, err := dmaring.RingSize(benchSlots, benchSlot)
	if err != nil {
		b.Fatal(err)
	}
	// A private anonymous mapping: page-aligned, so the ring's cache
	// lines are the CPU's, as in a memfd.
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = unix.Munmap(mem) })
	r, err := dmaring.InitSPSC(mem, benchSlots, benchSlot)
	if err != nil {
		b.Fatal(err)
	}
	return r.Producer(), r.Consumer()
}

// recvSpin dequeues into buf, spinning (spin.Spinner: Pause, a yield every
// 64 spins) while the ring is empty, until stop is set.
func recvSpin(c *dmaring.SPSCConsumer, buf []byte, stop *atomic.Bool) (int, error) {
	var s spin.Spinner
	for {
		n, err := c.Dequeue(buf)
		if err != dmaring.ErrEmpty {
			return n, err
		}
		if stop != nil && s.Spins()%1024 == 1023 && stop.Load() {
			return 0, nil
		}
		s.Spin()
	}
}

func sendSpin(p *dmaring.SPSCProducer, msg []byte) error {
	var s spin.Spinner
	for {
		err := p.Enqueue(msg)
		if err != dmaring.ErrFull {
			return err
		}
		s.Spin()
	}
}

// probe bounces a cache line between two threads, n round trips: Go's
// sync/atomic against C's acquire/release in the C probe.
func probe(cpus []int, n int) (figure, error) {
	var line struct {
		_ [64]byte
		v atomic.Uint64
		_ [64]byte
	}
	var i uint64
	return pingPong(cpus, n, func() error {
		i += 2
		line.v.Store(i - 1)
		var s spin.Spinner
		for line.v.Load() != i {
			s.Spin()
		}
		return nil
	}, func(stop *atomic.Bool) error {
		var s spin.Spinner
		for j := uint64(1); ; j += 2 {
			for line.v.Load() != j {
				if s.Spins()%1024 == 1023 && stop.Load() {
					return nil
				}
				s.Spin()
			}
			s.Reset()
			line.v.Store(j + 1)
		}
	}, nil)
}

// BenchmarkVersusC compares the Go rings and channel with the C baseline
// on the same two CPUs, alternating benchRounds times between them. ns/op
// is the Go side's time per operation (the C runs are not timed).
func BenchmarkVersusC(b *testing.B) {
	cb := buildBaseline(b)
	cpus := benchCPUs()
	cRTT := cbaseline.Params{Tests: []cbaseline.Test{cbaseline.Probe, cbaseline.HeadTail, cbaseline.Stamp}}

	// Probe: the Go cache-line ping-pong; the floor of every round trip
	// below.
	b.Run("Probe", func(b *testing.B) {
		rounds := versus(b, cb, cpus, cbaseline.Params{Tests: []cbaseline.Test{cbaseline.Probe}}, cRTTIters,
			func(n int) (figure, error) { return probe(cpus, n) })
		reportRTT(b, rounds, "probe")
	})

	// RingRTT: a 64-byte message through two dmaring SPSC rings, one each
	// way, between two goroutines locked to threads pinned to two CPUs,
	// busy-polling with spin.Spinner.
	b.Run("RingRTT", func(b *testing.B) {
		pingP, pingC := newBenchRing(b)
		pongP, pongC := newBenchRing(b)
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		rounds := versus(b, cb, cpus, cRTT, cRTTIters, func(n int) (figure, error) {
			return pingPong(cpus, n, func() error {
				if err := sendSpin(pingP, msg); err != nil {
					return err
				}
				_, err := recvSpin(pongC, buf, nil)
				return err
			}, func(stop *atomic.Bool) error {
				ebuf := make([]byte, benchMsg)
				for !stop.Load() {
					n, err := recvSpin(pingC, ebuf, stop)
					if err != nil || stop.Load() {
						return err
					}
					if err := sendSpin(pongP, ebuf[:n]); err != nil {
						return err
					}
				}
				return nil
			}, nil)
		})
		reportRTT(b, rounds, "probe", "headtail", "stamp")
	})

	// ChannelRTT: the same round trip through an shm.Channel pair (Send,
	// Recv) busy-polling, the goroutines neither locked nor pinned: the
	// channel's busy poll yields, and a locked goroutine that yields pays
	// a thread hand-off.
	b.Run("ChannelRTT", func(b *testing.B) {
		a, z, err := shm.NewPair(&shm.Options{Slots: benchSlots, SlotSize: benchSlot, BusyPoll: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		defer z.Close()
		msg, buf := make([]byte, benchMsg), make([]byte, benchMsg)
		rounds := versus(b, cb, cpus, cRTT, cRTTIters, func(n int) (figure, error) {
			return channelRTT(a, z, n, msg, buf)
		})
		reportRTT(b, rounds, "probe", "headtail", "stamp")
	})

	// Batch: one-way throughput of 64-byte messages in batches of 32
	// (EnqueueBatch, DequeueBatch) between two pinned threads.
	b.Run("Batch", func(b *testing.B) {
		p, c := newBenchRing(b)
		rounds := versus(b, cb, cpus, cbaseline.Params{Batch: benchBatch, Tests: []cbaseline.Test{cbaseline.Throughput}}, cBatchIters,
			func(n int) (figure, error) { return batchRate(cpus, p, c, n) })
		rate := func(nsPerMsg float64) float64 { return 1e9 / nsPerMsg }
		b.ReportMetric(benchBatch*median(rounds, func(r round) float64 { return r.g.mean }), "ns/op")
		b.ReportMetric(median(rounds, func(r round) float64 { return rate(r.g.mean) }), "msgs/s")
		b.ReportMetric(median(rounds, func(r round) float64 { return rate(r.g.best) }), "best-msgs/s")
		for name, c := range map[string]func(cbaseline.Results) float64{
			"headtail": func(r cbaseline.Results) float64 { return r.HeadTailThroughputBest },
			"stamp":    func(r cbaseline.Results) float64 { return r.StampThroughputBest },
		} {
			b.ReportMetric(median(rounds, func(r round) float64 { return c(r.c) }), "c-"+name+"-best-msgs/s")
			b.ReportMetric(median(rounds, func(r round) float64 { return rate(r.g.best) / c(r.c) }), "x-c-"+name)
		}
	})
}

// channelRTT measures n round trips from a through z, which echoes them
// in a goroutine of its own until an empty message.
func channelRTT(a, z *shm.Channel, n int, msg, buf []byte) (figure, error) {
	ctx := context.Background()
	echoDone := make(chan error, 1)
	go func() { echoDone <- mailboxtest.Echo(ctx, z) }()
	rt := func() error {
		if err := a.Send(ctx, msg); err != nil {
			return err
		}
		_, err := a.Recv(ctx, buf)
		return err
	}
	var err error
	for range min(n, 1000) {
		if err = rt(); err != nil {
			break
		}
	}
	start := time.Now()
	w := startWindow(cbaseline.WindowSize)
	for i := 0; i < n && err == nil; i++ {
		err = rt()
		w.tick(1)
	}
	f := w.figure(time.Since(start), n)
	if err == nil {
		err = a.Send(ctx, nil)
	}
	if err == nil {
		err = <-echoDone
	}
	return f, err
}

// batchRate streams n batches of 64-byte messages from p to c, between two
// pinned threads, and returns the ns per message after a warm-up.
func batchRate(cpus []int, p *dmaring.SPSCProducer, c *dmaring.SPSCConsumer, n int) (figure, error) {
	msgs, bufs, lens := make([][]byte, benchBatch), make([][]byte, benchBatch), make([]int, benchBatch)
	for i := range msgs {
		msgs[i], bufs[i] = make([]byte, benchMsg), make([]byte, benchMsg)
	}
	total := n * benchBatch
	warm := min(total/10, 100000)
	var perr, cerr error
	var f figure
	prodDone := onCPU(cpus, 1, func() {
		var s spin.Spinner
		for sent := 0; sent < total+warm; {
			n, err := p.EnqueueBatch(msgs[:min(benchBatch, total+warm-sent)])
			sent += n
			if n == 0 {
				if err != dmaring.ErrFull {
					perr = err
					return
				}
				s.Spin()
			}
		}
	})
	<-onCPU(cpus, 0, func() {
		var s spin.Spinner
		var start time.Time
		var w *window
		for got := 0; got < total+warm; {
			if got >= warm && w == nil {
				start, w = time.Now(), startWindow(cbaseline.WindowSize*benchBatch)
			}
			n, err := c.DequeueBatch(bufs, lens)
			got += n
			if n == 0 {
				if err != dmaring.ErrEmpty {
					cerr = err
					return
				}
				s.Spin()
			} else if w != nil {
				w.tick(n)
			}
		}
		f = w.figure(time.Since(start), total)
	})
	<-prodDone
	return f, errors.Join(perr, cerr)
}

// BenchmarkWakeup is the round trip of a kernel wake-up each way between
// two threads pinned to two CPUs: a bare futex ping-pong (FUTEX_WAIT and
// FUTEX_WAKE on a word of a shared mapping, the non-private operations a
// futex between processes needs) against an eventfd ping-pong (a blocking
// read of one eventfd, a write to the other), so that the channel's
// sleeping path can choose by measurement. It runs a Go cache-line probe
// beside them for scale.
func BenchmarkWakeup(b *testing.B) {
	cpus := benchCPUs()
	b.Run("Futex", func(b *testing.B) {
		mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Munmap(mem)
		// The futex word: the one conversion of a shared-memory address
		// in this file (the syscall takes the address).
		w := (*uint32)(unsafe.Pointer(&mem[0]))
		var i uint32
		rtt, err := pingPong(cpus, b.N, func() error {
			i += 2
			atomic.StoreUint32(w, i-1)
			if err := futexWake(w); err != nil {
				return err
			}
			for atomic.LoadUint32(w) == i-1 {
				if err := futexWait(w, i-1); err != nil {
					return err
				}
			}
			return nil
		}, func(stop *atomic.Bool) error {
			for j := uint32(1); ; j += 2 {
				for v := atomic.LoadUint32(w); v != j; v = atomic.LoadUint32(w) {
					if stop.Load() {
						return nil
					}
					if err := futexWait(w, v); err != nil {
						return err
					}
				}
				atomic.StoreUint32(w, j+1)
				if err := futexWake(w); err != nil {
					return err
				}
			}
		}, func() {
			atomic.StoreUint32(w, ^uint32(1)) // even: never a ping
			_ = futexWake(w)
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rtt.mean, "ns/roundtrip")
		b.ReportMetric(rtt.best, "best-ns/roundtrip")
	})
	b.Run("Eventfd", func(b *testing.B) {
		rtt, err := eventfdPingPong(cpus, b.N)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rtt.mean, "ns/roundtrip")
		b.ReportMetric(rtt.best, "best-ns/roundtrip")
	})
	b.Run("Probe", func(b *testing.B) {
		rtt, err := probe(cpus, b.N)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rtt.mean, "ns/roundtrip")
		b.ReportMetric(rtt.best, "best-ns/roundtrip")
	})
}

// futexWait sleeps while *w holds v (internal/futex: shared between
// processes). A changed value (EAGAIN) or a signal (EINTR) returns nil:
// the callers look at the word again.
func futexWait(w *uint32, v uint32) error {
	if err := futex.Wait(w, v, nil); err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
		return err
	}
	return nil
}

// futexWake wakes one waiter on w.
func futexWake(w *uint32) error {
	_, err := futex.Wake(w, 1)
	return err
}
