package fakedev

import (
	"sync"
	"testing"
	"time"
)

// lateClock models time.AfterFunc racing with Stop: Stop reports that the
// timer already fired, and the callback runs only when the test says.
type lateClock struct {
	mu sync.Mutex
	fs []func()
}

type lateTimer struct{}

func (lateTimer) Stop() bool { return false }

func (c *lateClock) AfterFunc(_ time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fs = append(c.fs, f)
	return lateTimer{}
}

// TestStaleCoalTimerAfterSoftReset: a coalescing timer that fired just
// before a soft reset (its Stop too late) does not fire the coalescer of
// the core programmed again since: DMA_DONE comes only with COUNT events
// or the new timeout.
func TestStaleCoalTimerAfterSoftReset(t *testing.T) {
	clk := &lateClock{}
	r := newRig(t, Config{Clock: clk})
	event := func() {
		r.d.mu.Lock()
		r.d.dmaEvent(1, 1)
		r.d.update()
		r.d.mu.Unlock()
	}
	setup := func() {
		r.blk[0].CTRL.Write(1)
		c := r.blk[1].CORE[1]
		c.IRQ_MASK.Write(irqDMADone)
		c.DMA_EN.Write(1)
		c.COAL.Write(1000<<16 | 4) // 4 events or 1 ms
	}
	setup()
	event()                // timer 1 starts
	r.blk[0].CTRL.Write(2) // soft reset: timer 1's Stop comes too late
	setup()
	event()     // timer 2 starts: 1 event of 4
	clk.fs[0]() // timer 1's callback runs now
	if st := r.blk[1].CORE[1].IRQ_STATUS.Read(); st&irqDMADone != 0 {
		t.Errorf("a timer from before the soft reset raised DMA_DONE after 1 of 4 events (IRQ_STATUS %#x)", st)
	}
}
