package fakedev

import (
	"fmt"

	"github.com/ipcu/ipcu/regs/ipcu"
)

// Cause is why an access was refused: the ERR_INFO.CAUSE values of the
// generated map, so that the model and the driver share one definition.
type Cause = ipcu.ERR_INFO_CAUSE

// The violation causes of docs/ipcu.md 5.2.
const (
	CauseNone    = ipcu.ERR_INFO_CAUSE_NONE
	CauseDenied  = ipcu.ERR_INFO_CAUSE_DENIED
	CauseLocked  = ipcu.ERR_INFO_CAUSE_LOCKED
	CauseBadCore = ipcu.ERR_INFO_CAUSE_BAD_CORE
	CauseBadSize = ipcu.ERR_INFO_CAUSE_BAD_SIZE
)

// Outcome is what became of a register access.
type Outcome uint8

// Outcomes of an access.
const (
	// Done: the access was performed (a permitted write to a read-only
	// register and a permitted read of a write-only one are Done too).
	Done Outcome = iota
	// RAZWI: the offset holds no implemented register; read 0, write
	// ignored, no violation.
	RAZWI
	// Violation: refused, counted, logged and signalled (Cause says why).
	Violation
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "ok"
	case RAZWI:
		return "RAZ/WI"
	case Violation:
		return "violation"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// access performs one register access by initiator i, under the lock, and
// re-evaluates the interrupt lines. It returns the value read.
func (d *Device) access(i int, off uintptr, bits int, write bool, v uint64) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		panic("fakedev: access to a closed device")
	}
	out, cause, got := d.access1(i, off, bits, write, v)
	if out == Done && !write {
		got = d.stuck(off, bits, got)
	}
	if out == Violation {
		d.violate(i, off, bits, write, cause)
	}
	if d.tracing {
		val := got
		if write {
			val = v
		}
		d.trace = append(d.trace, TraceEntry{Core: i, Offset: off, Bits: bits, Write: write, Value: val, Outcome: out, Cause: cause})
	}
	d.update()
	if d.faults.chance(d.faults.plan.SpuriousNotification) {
		k := d.faults.rnd.Intn(d.cfg.Cores)
		d.event(k, "fault: spurious notification")
		d.signal(k)
	}
	return got
}

// access1 decodes and checks the access (docs/ipcu.md 3.3 and 5.2) and
// performs it when it passes.
func (d *Device) access1(i int, off uintptr, bits int, write bool, v uint64) (Outcome, Cause, uint64) {
	if off >= BlockSize {
		return RAZWI, CauseNone, 0
	}
	s := d.table[off&^3]
	switch bits {
	case 8, 16:
		if s == nil {
			return RAZWI, CauseNone, 0
		}
		return Violation, CauseBadSize, 0
	case 64:
		if s == nil || s.def.bits != 64 || s.high {
			if s != nil || d.table[off+4] != nil {
				return Violation, CauseBadSize, 0
			}
			return RAZWI, CauseNone, 0
		}
	default:
		if s == nil {
			return RAZWI, CauseNone, 0
		}
	}
	if i >= d.cfg.Cores {
		return Violation, CauseBadCore, 0
	}
	def := s.def
	if !write {
		if !def.read(d, s, i) {
			return Violation, CauseDenied, 0
		}
		if def.readsZero {
			return Done, CauseNone, 0
		}
		if def.bits == 64 {
			val, _, mask, _ := def.r64(d, s)
			x := *val & mask
			switch {
			case bits == 64:
				return Done, CauseNone, x
			case s.high:
				return Done, CauseNone, x >> 32
			}
			return Done, CauseNone, x & 0xffffffff
		}
		return Done, CauseNone, def.get(d, s, i)
	}
	if !def.write(d, s, i) {
		return Violation, CauseDenied, 0
	}
	if def.acl && uint32(def.get(d, s, i))&lockBit != 0 {
		return Violation, CauseLocked, 0
	}
	switch {
	case def.ignoreWrite:
	case def.bits == 64:
		write64(d, s, bits, v)
	default:
		def.set(d, s, i, uint32(v))
	}
	return Done, CauseNone, 0
}

// write64 is the 64-bit register protocol of docs/ipcu.md 3.4.
func write64(d *Device, s *slot, bits int, v uint64) {
	val, latch, mask, frozen := s.def.r64(d, s)
	if frozen {
		return
	}
	switch {
	case bits == 64:
		*val = v & mask
		*latch = uint32(v)
	case s.high:
		if d.faults.chance(d.faults.plan.TornWrite64) {
			d.event(-1, "fault: torn 64-bit write")
			return
		}
		*val = (v<<32 | uint64(*latch)) & mask
		*latch = uint32(*val)
	default:
		*latch = uint32(v)
	}
}

// violate counts, logs and signals a refused access (docs/ipcu.md 5.4).
func (d *Device) violate(i int, off uintptr, bits int, write bool, cause Cause) {
	if d.errCnt < 0xffff {
		d.errCnt++
	}
	if d.errSt&1 == 0 {
		size := map[int]uint32{8: 0, 16: 1, 32: 2, 64: 3}[bits]
		d.errInf = uint32(cause)<<28 | size<<24 | uint32(b2u(write))<<20 | uint32(i&7)<<16 | uint32(off&0xffff)
		d.errSt |= 1
	} else {
		d.errSt |= 2
	}
	for _, k := range d.notifySet(off) {
		if k >= 0 && k < d.cfg.Cores {
			d.cores[k].irqAccess = true
		}
	}
}

// notifySet returns the cores told about a violation at off (5.4).
func (d *Device) notifySet(off uintptr) []int {
	switch {
	case off >= 0x400 && off < 0x800:
		return []int{0, int(off-0x400) / 0x80}
	case off >= 0x800 && off < 0x1000:
		m := &d.mbox[(off-0x800)/0x80]
		if m.en() {
			return []int{0, m.sender(), m.receiver()}
		}
	case off >= 0x1000 && off < 0x1400:
		c := &d.dma[(off-0x1000)/0x100]
		if c.en() {
			return []int{0, c.src(), c.dst()}
		}
	}
	return []int{0}
}

// writeCTRL handles CTRL: SRST takes precedence over EN.
func (d *Device) writeCTRL(v uint32) {
	if v&2 != 0 {
		d.softReset()
		d.event(-1, "soft reset")
		return
	}
	d.ctrlEN = v&1 != 0
	d.kick()
}

// lockAll is ACL_LOCK.ALL: LOCK in every access-control register.
func (d *Device) lockAll() {
	for m := range d.mbox {
		d.mbox[m].cfg |= lockBit
	}
	for k := range d.cores {
		d.cores[k].dbACL |= lockBit
	}
	for c := range d.dma {
		d.dma[c].cfg |= lockBit
	}
}
