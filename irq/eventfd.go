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
// Wait blocks in ppoll(2) on the eventfd and on internal wake-up eventfds,
// which Close and context cancellation write, so a blocked Wait parks one
// OS thread and burns no CPU. Any number of goroutines may Wait at the same
// time; each interrupt count goes to exactly one of them.
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
