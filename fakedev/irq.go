package fakedev

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

// rxPend is CORE[k].RX_PEND: the enabled mailboxes received by k that hold
// a message.
func (d *Device) rxPend(k int) uint32 {
	var p uint32
	for m := range d.mbox {
		mb := &d.mbox[m]
		if mb.en() && mb.receiver() == k && mb.count > 0 {
			p |= 1 << m
		}
	}
	return p
}

// irqStatus is CORE[k].IRQ_STATUS (docs/ipcu.md 6.1).
func (d *Device) irqStatus(k int) uint32 {
	c := &d.cores[k]
	var st uint32
	if d.rxPend(k)&c.rxEn != 0 {
		st |= irqMboxRX
	}
	if c.txPend&c.txEn != 0 {
		st |= irqMboxTX
	}
	if c.dbStatus&c.dbEn != 0 {
		st |= irqDB
	}
	if c.fire {
		st |= irqDMADone
	}
	if c.dmaErrPend != 0 {
		st |= irqDMAErr
	}
	if c.irqAccess {
		st |= irqAccess
	}
	return st
}

// update re-evaluates every IRQ line and notifies on each rising edge
// (docs/ipcu.md 6.2, 6.3 rule 1). It runs after every access and event.
func (d *Device) update() {
	for k := 0; k < d.cfg.Cores; k++ {
		c := &d.cores[k]
		line := d.ctrlEN && d.irqStatus(k)&c.irqMask != 0
		if line && !c.line {
			d.notify(k)
		}
		c.line = line
	}
}

// eoi is IRQ_EOI.EOI = 1: a new notification if the line is high after
// the write (6.3 rule 2).
func (d *Device) eoi(k int) {
	c := &d.cores[k]
	if d.ctrlEN && d.irqStatus(k)&c.irqMask != 0 {
		c.line = true
		d.notify(k)
	}
}

// notify delivers one notification: one increment of the core's eventfd.
func (d *Device) notify(k int) {
	c := &d.cores[k]
	c.notes++
	d.event(k, "notify")
	switch {
	case d.faults.chance(d.faults.plan.LoseNotification):
		d.event(k, "fault: notification lost")
	case d.faults.chance(d.faults.plan.DuplicateNotification):
		d.event(k, "fault: notification duplicated")
		d.signal(k)
		d.signal(k)
	default:
		d.signal(k)
	}
}

// signal adds 1 to core k's eventfd.
func (d *Device) signal(k int) {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	// The counter cannot overflow in practice (2^64-2); EAGAIN would mean
	// it did, and the notification is then already pending.
	_, _ = unix.Write(d.cores[k].efd, one[:])
}

// dmaEvent is a completion event for core k on DMA_PEND bit (6.4 steps 1-4).
func (d *Device) dmaEvent(k int, bit uint32) {
	if k >= d.cfg.Cores {
		return
	}
	c := &d.cores[k]
	c.dmaPend |= bit
	if c.dmaEn&bit == 0 || c.fire {
		return
	}
	c.cnt++
	n, t := int(c.coal&0xff), c.coal>>16
	if n <= 1 || c.cnt >= n {
		c.fire = true
		c.cnt = 0
		c.stopTimer()
		return
	}
	if c.timer == nil && t != 0 {
		gen := c.timerGen
		c.timer = d.cfg.Clock.AfterFunc(time.Duration(t)*time.Microsecond, func() { d.coalExpire(k, gen) })
	}
}

// coalExpire is the coalescing timer's expiry (6.4 step 4).
func (d *Device) coalExpire(k int, gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := &d.cores[k]
	if d.closed || gen != c.timerGen {
		return // stopped in the meantime
	}
	c.timer = nil
	if !c.fire && c.cnt > 0 {
		c.fire = true
		c.cnt = 0
		d.event(k, "coalescing timeout")
	}
	d.update()
}

// coalCheck is 6.4 step 5: when (DMA_PEND & DMA_EN) becomes 0, the
// coalescer returns to idle.
func (d *Device) coalCheck(k int) {
	c := &d.cores[k]
	if c.dmaPend&c.dmaEn == 0 {
		c.fire = false
		c.cnt = 0
		c.stopTimer()
	}
}

// coalRestart is 6.4 step 6, after a write of DMA_EN or COAL.
func (d *Device) coalRestart(k int) {
	c := &d.cores[k]
	c.cnt = 0
	c.stopTimer()
	c.fire = c.dmaPend&c.dmaEn != 0
}
