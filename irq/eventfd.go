package irq

import "sync/atomic"

// Eventfd is a Source over a Linux eventfd: the interrupt line VFIO signals
// for an MSI or INTx vector, the line of a fakedev core, or a purely
// software source that Signal fires.
//
// An eventfd is a 64-bit counter. Each interrupt adds 1; Wait reads the
// counter and resets it, so the count it returns is the number of
// interrupts since the previous successful Wait or TryWait.
//
// A blocked Wait parks its goroutine in the Go runtime's netpoller, as a
// network read does: it holds neither a thread nor a P (a processor of the
// scheduler) and burns no CPU, and an interrupt wakes it through the same
// epoll the runtime uses for the network. Its deadline is the read
// deadline of an *os.File over a duplicate of the eventfd; cancellation
// and Close move that deadline or close that file. Any number of goroutines
// may Wait at the same time, each on a duplicate of its own; each interrupt
// count goes to exactly one of them.
//
// An Eventfd made by NewEventfd owns its descriptor; FromEventfd says
// whether it does. Close closes an owned descriptor and leaves a borrowed
// one open for its owner.
type Eventfd struct {
	eventfdSys // per system: eventfd_linux.go, eventfd_other.go
	stats      counters
}

var _ Source = (*Eventfd)(nil)

// Stats returns the counters.
func (e *Eventfd) Stats() Stats { return e.stats.snapshot() }

// Spurious records that a wake-up found nothing pending in the device.
func (e *Eventfd) Spurious() { e.stats.spurious.Add(1) }

// counters are a Source's Stats, updated atomically.
type counters struct {
	wakeups, delivered, missed, spurious atomic.Uint64
}

// record counts a wake-up that returned count > 0 interrupts.
func (c *counters) record(count uint64) {
	c.wakeups.Add(1)
	c.delivered.Add(count)
	c.missed.Add(count - 1)
}

func (c *counters) snapshot() Stats {
	return Stats{
		Wakeups:   c.wakeups.Load(),
		Delivered: c.delivered.Load(),
		Missed:    c.missed.Load(),
		Spurious:  c.spurious.Load(),
	}
}
