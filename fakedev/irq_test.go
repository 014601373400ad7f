package fakedev

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The IRQ line and notifications (6.2, 6.3): one notification per rising
// edge, none while the line stays high, one per IRQ_EOI with the line high;
// CTRL.EN gates every line.
func TestNotifications(t *testing.T) {
	r := newRig(t, Config{})
	r.mailbox(0, 1, 2)
	r.mailbox(1, 1, 2)
	c2 := r.blk[2].CORE[2]
	c2.RX_EN.Write(3)
	c2.IRQ_MASK.Write(irqMboxRX)

	r.send(1, 0, 4, 1)
	assert.Zero(t, r.notes(2), "CTRL.EN = 0: lines are low")
	assert.Equal(t, uint32(irqMboxRX), c2.IRQ_STATUS.Read(), "the status is there all the same")
	assert.Equal(t, uint32(irqMboxRX), c2.IRQ_MSTATUS.Read(), "MSTATUS is STATUS & MASK, EN aside")
	r.blk[0].CTRL.Write(1)
	assert.Equal(t, uint64(1), r.notes(2), "EN 0 -> 1 with a pending source is a rising edge")
	assert.True(t, r.d.Core(2).Line())

	r.send(1, 1, 4, 2)
	assert.Zero(t, r.notes(2), "a new event while the line is high: no notification")
	c2.IRQ_EOI.Write(1)
	assert.Equal(t, uint64(1), r.notes(2), "EOI with the line high notifies")
	c2.IRQ_EOI.Write(0)
	assert.Zero(t, r.notes(2), "EOI = 0 does nothing")

	r.blk[2].MBOX[0].POP.Write(1)
	r.blk[2].MBOX[1].POP.Write(1)
	assert.False(t, r.d.Core(2).Line(), "acknowledged: the line falls")
	c2.IRQ_EOI.Write(1)
	assert.Zero(t, r.notes(2), "EOI with the line low: nothing")

	// Unmasking a pending source is a rising edge.
	c2.IRQ_MASK.Write(0)
	r.send(1, 0, 4, 3)
	assert.Zero(t, r.notes(2))
	assert.Zero(t, c2.IRQ_MSTATUS.Read())
	c2.IRQ_MASK.Write(irqMboxRX)
	assert.Equal(t, uint64(1), r.notes(2))
	assert.Equal(t, uint32(irqMboxRX), c2.IRQ_MSTATUS.Read())

	// Summary bits are read-only: writing them changes nothing.
	c2.IRQ_STATUS.Write(irqAll)
	assert.Equal(t, uint32(irqMboxRX), c2.IRQ_STATUS.Read())
	assert.Equal(t, uint64(3), r.d.Core(2).Notifications())
	assert.Zero(t, r.notes(1), "nothing for the sender")
}

// Each source reaches IRQ_STATUS through its enable (6.1), and detail bits
// are set even when disabled (12.4).
func TestInterruptSources(t *testing.T) {
	r := newRig(t, Config{})
	b0 := r.blk[0]
	b0.CTRL.Write(1)
	r.mailbox(0, 1, 2)
	b0.CORE[1].DB_ACL.Write(1 << 2)
	c1 := r.blk[1].CORE[1]
	c1.IRQ_MASK.Write(irqAll)

	r.send(1, 0, 0)
	r.blk[2].MBOX[0].POP.Write(1)
	assert.Equal(t, uint32(1), c1.TX_PEND.Read(), "detail set while disabled")
	assert.Zero(t, c1.IRQ_STATUS.Read())
	c1.TX_EN.Write(1)
	assert.Equal(t, uint32(irqMboxTX), c1.IRQ_STATUS.Read())
	assert.Equal(t, uint64(1), r.notes(1))
	c1.TX_PEND.Write(1)

	r.blk[2].CORE[1].DB_SET.Write(1 << 7)
	assert.Zero(t, c1.IRQ_STATUS.Read())
	c1.DB_EN.Write(1 << 7)
	assert.Equal(t, uint32(irqDB), c1.IRQ_STATUS.Read())
	c1.DB_STATUS.Write(1 << 7)
	assert.Zero(t, c1.IRQ_STATUS.Read())

	r.d.Core(3).Write32(0x480, 0) // a violation in CORE[1]
	assert.Equal(t, uint32(irqAccess), c1.IRQ_STATUS.Read())
	c1.IRQ_STATUS.Write(irqAccess)
	assert.Zero(t, c1.IRQ_STATUS.Read(), "ACCESS is W1C")
	assert.Equal(t, uint64(2), r.notes(1), "DB and ACCESS each rose the line once")
}

// DMA completion coalescing (6.4), with a manual clock.
func TestCoalescing(t *testing.T) {
	clk := &ManualClock{}
	r := newRig(t, Config{Clock: clk})
	r.blk[0].CTRL.Write(1)
	c := r.blk[1].CORE[1]
	c.IRQ_MASK.Write(irqDMADone)
	event := func(bit uint32) {
		r.d.mu.Lock()
		r.d.dmaEvent(1, bit)
		r.d.update()
		r.d.mu.Unlock()
	}

	// Disabled bits are pending but silent.
	event(1)
	assert.Equal(t, uint32(1), c.DMA_PEND.Read())
	assert.Zero(t, c.IRQ_STATUS.Read())
	// Enabling with an event pending fires at once (step 6).
	c.DMA_EN.Write(1 | 1<<16)
	assert.Equal(t, uint32(irqDMADone), c.IRQ_STATUS.Read())
	assert.Equal(t, uint64(1), r.notes(1))
	c.DMA_PEND.Write(1)
	assert.Zero(t, c.IRQ_STATUS.Read(), "(DMA_PEND & DMA_EN) = 0 resets the coalescer (step 5)")

	// COUNT = 3, TIMEOUT = 10 us.
	c.COAL.Write(10<<16 | 3)
	event(1 << 16)
	event(1 << 16)
	assert.Zero(t, c.IRQ_STATUS.Read(), "two events of three")
	clk.Advance(9 * time.Microsecond)
	assert.Zero(t, c.IRQ_STATUS.Read())
	event(1)
	assert.Equal(t, uint32(irqDMADone), c.IRQ_STATUS.Read(), "the third event fires")
	clk.Advance(time.Millisecond)
	assert.Equal(t, uint64(1), r.notes(1))
	c.DMA_PEND.Write(1 | 1<<16)

	event(1)
	assert.Zero(t, c.IRQ_STATUS.Read())
	clk.Advance(10 * time.Microsecond)
	assert.Equal(t, uint32(irqDMADone), c.IRQ_STATUS.Read(), "the timer fires a lone event")
	assert.Equal(t, uint64(1), r.notes(1))
	event(1 << 16)
	assert.Zero(t, r.notes(1), "fire = 1 covers later events")
	c.DMA_PEND.Write(1 | 1<<16)

	// TIMEOUT = 0 with COUNT >= 2: a lone event never interrupts.
	c.COAL.Write(2)
	event(1)
	clk.Advance(time.Second)
	assert.Zero(t, c.IRQ_STATUS.Read())
	// A write of COAL restarts: pending events fire at once.
	c.COAL.Write(0)
	assert.Equal(t, uint32(irqDMADone), c.IRQ_STATUS.Read())
	require.Equal(t, uint64(1), r.notes(1))
}
