package irq

import (
	"sync/atomic"
	"time"
)

// A Handler handles the interrupts of one Source in a Loop. count is what
// the Source's TryWait returned: at least 1, and above 1 when interrupts
// were merged, so it is never a number of device events.
//
// A handler must not trust count: it reads the device's status, handles
// and acknowledges every source it finds, then re-arms the line (writes
// the end-of-interrupt register, or calls Ack). An event that arrives while
// it runs is then either seen by the status read or produces a new
// notification when the line is re-armed, which the Loop delivers in a
// later call (see the package documentation). A call that finds nothing
// pending should call the Source's Spurious.
//
// Handlers run one at a time on the goroutine of Run. They may call Add,
// Remove and Close of their Loop.
type Handler func(count uint64)

// LoopOptions configure a Loop. The zero value, or a nil pointer, is a loop
// that sleeps (parks in the Go runtime's netpoller) whenever no source is
// ready.
type LoopOptions struct {
	// BusyPoll, when positive, is how long Run keeps checking its sources
	// without sleeping (epoll_wait with a zero timeout) after the last
	// interrupt it handled, before it parks again.
	//
	// Waking a parked Run costs waking the thread blocked in the
	// netpoller, from a few to tens of microseconds (more with deep CPU
	// idle states or under virtualisation); an interrupt that comes while
	// Run polls is seen in well under a microsecond more than the system
	// call. The price is a core kept busy for up to BusyPoll after each
	// burst: choose it around the expected gap between the interrupts of a
	// burst (request and reply), and leave it 0 for sources that fire
	// rarely.
	//
	// Busy polling needs a P (a processor of the scheduler) of its own.
	// While it spins it yields the P once after each interrupt, so that an
	// idle P polls the network for the goroutines parked there (a blocked
	// Eventfd.Wait among them), and then every millisecond. With
	// GOMAXPROCS=1 it does not spin: Run parks for the window instead, as
	// spinning would keep those goroutines from running until it ends.
	BusyPoll time.Duration
	// MaxEvents is how many ready sources one epoll_wait can return; 0
	// means 16.
	MaxEvents int
}

// LoopStats are a Loop's counters since it was made.
type LoopStats struct {
	// Wakeups is the number of waits outside busy polling that returned
	// with a ready source (not counting the loop's own wake-ups by Close
	// or a context).
	Wakeups uint64
	// BusyPollHits is the number of checks during busy polling that found
	// a ready source: wake-ups that polling saved (with GOMAXPROCS=1,
	// wake-ups during the busy-polling window).
	BusyPollHits uint64
	// Handled is the number of Handler calls.
	Handled uint64
	// Stale is the number of ready sources whose TryWait found nothing,
	// because another reader took the count first.
	Stale uint64
}

// A Loop dispatches the interrupts of many Sources to their Handlers from
// one goroutine, which sleeps on one epoll(7) descriptor for all of them
// (or busy polls: see LoopOptions.BusyPoll). The goroutine parks in the Go
// runtime's netpoller, on which the epoll descriptor is itself registered,
// so it holds no thread or P while it sleeps. It reads each ready Source through its
// TryWait, so the Source's Stats stay right.
//
// Make it with NewLoop, register sources with Add, and call Run. A Loop
// does not own its sources: Close leaves them open, and a source closed
// while registered is dropped from the loop.
type Loop struct {
	loopSys  // per system: loop_linux.go, loop_other.go
	busyPoll time.Duration
	stats    loopCounters
}

// Stats returns the loop's counters.
func (l *Loop) Stats() LoopStats {
	return LoopStats{
		Wakeups:      l.stats.wakeups.Load(),
		BusyPollHits: l.stats.busyHits.Load(),
		Handled:      l.stats.handled.Load(),
		Stale:        l.stats.stale.Load(),
	}
}

type loopCounters struct {
	wakeups, busyHits, handled, stale atomic.Uint64
}
