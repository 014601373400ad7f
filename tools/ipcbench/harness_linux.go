package main

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/spin"
)

// The first byte of every message says what it is; the rest is payload.
const (
	markData = 0x5a
	markStop = 0xa5
)

// endpoint is one side of a pair: what it sends the other side receives.
// Both methods block until done; recv returns the message's length.
type endpoint interface {
	send(msg []byte) error
	recv(buf []byte) (int, error)
}

// pair is a connected pair of endpoints at one message size.
type pair struct {
	a, b endpoint
	// abort, if not nil, wakes a side blocked in send or recv after the
	// other side failed (it may leave the pair unusable, not unsafe).
	abort func()
	// close releases the pair, once both sides have stopped.
	close func() error
	// stream, if not nil, replaces the generic one-way streaming through
	// a and b (to batch).
	stream func(m *measure, size int) (*Throughput, error)
}

// measure holds what every measurement needs.
type measure struct {
	cpus     []int // nil: not pinned
	warmup   int
	n        int
	duration time.Duration // 0: no cap
}

// side runs f in a new goroutine and returns a channel that yields its
// error. With locked, the goroutine is locked to its OS thread, pinned to
// cpu (when cpu >= 0); it exits still locked, so that its pinned thread
// exits with it rather than going back to the runtime's pool.
func side(locked bool, cpu int, f func() error) <-chan error {
	done := make(chan error, 1)
	go func() {
		if locked {
			runtime.LockOSThread()
			if cpu >= 0 {
				var set unix.CPUSet
				set.Set(cpu)
				if err := unix.SchedSetaffinity(0, &set); err != nil {
					done <- fmt.Errorf("pinning to CPU %d: %w", cpu, err)
					return
				}
			}
		}
		done <- f()
	}()
	return done
}

// cpu returns the CPU of side i, or -1.
func (m *measure) cpu(i int) int {
	if m.cpus == nil {
		return -1
	}
	return m.cpus[i]
}

// deadline returns when the timed part started at start must stop.
func (m *measure) deadline(start time.Time) time.Time {
	if m.duration == 0 {
		return time.Time{}
	}
	return start.Add(m.duration)
}

// errStuck: a side did not stop after the other failed; the pair is left
// open, as it may still be in use.
var errStuck = errors.New("the other side did not stop")

// join waits for both sides. When one fails first, it aborts the pair to
// wake the other, and gives the other two seconds, after which it returns
// an error wrapping errStuck.
func join(p *pair, a, b <-chan error) error {
	var once sync.Once
	abort := func() {
		once.Do(func() {
			if p.abort != nil {
				p.abort()
			}
		})
	}
	var errA, errB error
	var gotA, gotB bool
	for !gotA || !gotB {
		var timeout <-chan time.Time
		if (errA != nil || errB != nil) && (!gotA || !gotB) {
			timeout = time.After(2 * time.Second)
		}
		select {
		case errA = <-a:
			gotA = true
		case errB = <-b:
			gotB = true
		case <-timeout:
			return errors.Join(errA, errB, errStuck)
		}
		if errA != nil || errB != nil {
			abort()
		}
	}
	return errors.Join(errA, errB)
}

// roundTrips measures m.n round trips of size-byte messages through p, a
// sending and waiting for the echo from b, after m.warmup untimed ones.
//
// A pair whose b is nil has its echo side in another process, which
// echoes the stop message too.
func roundTrips(m *measure, p *pair, size int, locked bool) (*hdrhistogram.Histogram, error) {
	h := newHistogram()
	remote := p.b == nil
	echo := side(locked, m.cpu(1), func() error {
		if remote {
			return nil
		}
		buf := make([]byte, size)
		for {
			n, err := p.b.recv(buf)
			if err != nil {
				return fmt.Errorf("echo: receiving: %w", err)
			}
			if n == 0 || buf[0] == markStop {
				return nil
			}
			if err := p.b.send(buf[:n]); err != nil {
				return fmt.Errorf("echo: sending: %w", err)
			}
		}
	})
	ping := side(locked, m.cpu(0), func() error {
		msg, buf := make([]byte, size), make([]byte, size)
		for i := range msg {
			msg[i] = byte(i)
		}
		msg[0] = markData
		rt := func() error {
			if err := p.a.send(msg); err != nil {
				return fmt.Errorf("sending: %w", err)
			}
			n, err := p.a.recv(buf)
			if err != nil {
				return fmt.Errorf("receiving: %w", err)
			}
			if n != size || buf[0] != markData || buf[n-1] != msg[n-1] {
				return fmt.Errorf("received %d bytes [%#x ... %#x], want the %d sent", n, buf[0], buf[max(n-1, 0)], size)
			}
			return nil
		}
		for range m.warmup {
			if err := rt(); err != nil {
				return err
			}
		}
		start := time.Now()
		end := m.deadline(start)
		for i := range m.n {
			if !end.IsZero() && i%16 == 0 && time.Now().After(end) {
				break
			}
			t0 := time.Now()
			if err := rt(); err != nil {
				return err
			}
			if err := h.RecordValue(int64(time.Since(t0))); err != nil {
				return err
			}
		}
		msg[0] = markStop
		if err := p.a.send(msg); err != nil || !remote {
			return err
		}
		_, err := p.a.recv(buf)
		return err
	})
	if err := join(p, ping, echo); err != nil {
		return nil, err
	}
	return h, nil
}

// stream measures one-way throughput: a sends m.warmup + m.n messages, b
// receives them; the clock runs on b from the end of the warm-up to the
// last message.
func stream(m *measure, p *pair, size int, locked bool) (*Throughput, error) {
	warm := max(m.warmup, 1)
	var got int64
	var elapsed time.Duration
	recv := side(locked, m.cpu(1), func() error {
		buf := make([]byte, size)
		var start time.Time
		for k := 0; ; k++ {
			if k == warm {
				start = time.Now()
			}
			n, err := p.b.recv(buf)
			if err != nil {
				return fmt.Errorf("receiving: %w", err)
			}
			if n == 0 || buf[0] == markStop {
				if !start.IsZero() {
					elapsed = time.Since(start)
					got = int64(k - warm)
				}
				return nil
			}
		}
	})
	send := side(locked, m.cpu(0), func() error {
		msg := make([]byte, size)
		msg[0] = markData
		var end time.Time
		for i := 0; i < warm+m.n; i++ {
			if i == warm {
				end = m.deadline(time.Now())
			}
			if i > warm && !end.IsZero() && i%64 == 0 && time.Now().After(end) {
				break
			}
			if err := p.a.send(msg); err != nil {
				return fmt.Errorf("sending: %w", err)
			}
		}
		msg[0] = markStop
		return p.a.send(msg)
	})
	if err := join(p, send, recv); err != nil {
		return nil, err
	}
	return newThroughput(got, elapsed, size, 1), nil
}

func newThroughput(msgs int64, elapsed time.Duration, size, batch int) *Throughput {
	t := &Throughput{Messages: msgs, Batch: batch}
	if elapsed > 0 {
		t.MsgsPerSec = float64(msgs) / elapsed.Seconds()
		t.MiBPerSec = t.MsgsPerSec * float64(size) / (1 << 20)
	}
	return t
}

// probeIters is how many round trips a probe times.
const probeIters = 20000

// probe is the cache-line ping-pong: one 64-byte line bounced between two
// locked threads on m's CPUs through sync/atomic, the floor of every
// shared-memory round trip. It returns the mean round trip in ns.
func probe(m *measure) (float64, error) {
	var line struct {
		_ [64]byte
		v atomic.Uint64
		_ [64]byte
	}
	const total = probeIters + probeIters/10
	var elapsed time.Duration
	echo := side(true, m.cpu(1), func() error {
		s := lockedSpinner()
		for j := uint64(1); j < 2*total; j += 2 {
			for line.v.Load() != j {
				s.Spin()
			}
			s.Reset()
			line.v.Store(j + 1)
		}
		return nil
	})
	ping := side(true, m.cpu(0), func() error {
		s := lockedSpinner()
		var start time.Time
		for i := uint64(0); i < total; i++ {
			if i == probeIters/10 {
				start = time.Now()
			}
			line.v.Store(2*i + 1)
			for line.v.Load() != 2*i+2 {
				s.Spin()
			}
			s.Reset()
		}
		elapsed = time.Since(start)
		return nil
	})
	if err := errors.Join(<-ping, <-echo); err != nil {
		return 0, err
	}
	return float64(elapsed.Nanoseconds()) / probeIters, nil
}

// lockedSpinner is the busy wait of a locked thread: it yields rarely,
// since a locked goroutine that yields hands its thread over twice, unless
// the process has a single processor, where the peer runs only when it
// yields.
func lockedSpinner() spin.Spinner {
	if runtime.GOMAXPROCS(0) < 2 {
		return spin.Spinner{}
	}
	return spin.Spinner{YieldEvery: 1 << 14}
}
