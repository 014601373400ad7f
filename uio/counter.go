package uio

import (
	"sync"

	"github.com/ipcu/ipcu/irq"
)

// counter turns the totals that reads of /dev/uioN return into counts per
// wake-up, and keeps the Stats.
//
// A read of /dev/uioN returns the device's event counter, a 32-bit total of
// its interrupts since it was registered (uio_read in
// drivers/uio/uio.c), and returns only once the total differs from the one
// the reader last saw. The count of a wake-up is the difference with the
// previous total, modulo 2^32; more than 1 means interrupts merged before
// userspace ran. A difference of 0 (the counter wrapped exactly, or
// moved between the open of the node and the read of the baseline from
// sysfs) still stands for one interrupt, since the read returned.
type counter struct {
	mu    sync.Mutex
	last  uint32
	stats irq.Stats
}

// newCounter returns a counter whose previous total is base, the device's
// event counter when it was opened.
func newCounter(base uint32) *counter { return &counter{last: base} }

// record takes the total a read returned and returns the count since the
// previous one.
func (c *counter) record(total uint32) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := uint64(total - c.last)
	if n == 0 {
		n = 1
	}
	c.last = total
	c.stats.Wakeups++
	c.stats.Delivered += n
	c.stats.Missed += n - 1
	return n
}

// spurious counts a wake-up a handler found nothing in.
func (c *counter) spurious() {
	c.mu.Lock()
	c.stats.Spurious++
	c.mu.Unlock()
}

// get returns the Stats.
func (c *counter) get() irq.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
