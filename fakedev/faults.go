package fakedev

import (
	"math/rand"
	"time"
)

// A FaultPlan makes the model misbehave in the ways docs/ipcu.md 13.13 lets
// the real world differ from the specification, deterministically from
// Seed, so that a failing test can be replayed. Each injected fault is
// named in the trace ("fault: ...").
//
// Probabilities are per opportunity: per notification for the lost and
// duplicated ones, per register access for spurious ones, per 64-bit
// high-half write for torn writes, per PROD write for garbage indices,
// per descriptor fetch for garbage descriptors.
type FaultPlan struct {
	Seed int64

	// LoseNotification drops a notification: the eventfd is not
	// incremented (register state is unchanged, so a handler that re-reads
	// status after IRQ_EOI loses nothing).
	LoseNotification float64
	// DuplicateNotification increments the eventfd twice. It is drawn
	// for the notifications not lost, so the rate per notification is
	// (1 - LoseNotification) x DuplicateNotification.
	DuplicateNotification float64
	// SpuriousNotification increments a random core's eventfd after a
	// register access, with nothing pending.
	SpuriousNotification float64

	// Stuck makes bits of registers read a fixed value.
	Stuck []StuckBits

	// TornWrite64 drops the high-half 32-bit write of a 64-bit register,
	// leaving the low half in the latch (the register keeps its value).
	TornWrite64 float64

	// GarbageProd replaces the value of a PROD write with a random one,
	// as a buggy or hostile peer would write; the block judges it by 9.3.
	GarbageProd float64
	// GarbageDescriptor overwrites a descriptor with random bytes just
	// before the engine fetches it, as a buggy or hostile peer sharing the
	// ring would; the engine judges it by 9.4 (NOT_OWNED, BAD_LEN,
	// BUF_FAULT, ...).
	GarbageDescriptor float64

	// DMAErrors force a channel error on a chosen packet.
	DMAErrors []DMAError
	// CompletionDelay makes the engine complete each packet this long
	// after it selected it (real time, whatever the Clock).
	CompletionDelay time.Duration
}

// StuckBits makes the bits Mask of the register at Offset read as Value,
// whatever the register holds.
type StuckBits struct {
	Offset uintptr
	Mask   uint32
	Value  uint32
}

// A DMAError halts channel Channel with ERRCODE Code when the engine
// selects the channel's Packet-th packet (1 for the first after SetFaults),
// with the side effects of docs/ipcu.md 9.6, as if the fault had happened.
type DMAError struct {
	Channel int
	Packet  int
	Code    int
}

// faultState is the plan in force and its random source.
type faultState struct {
	plan    FaultPlan
	rnd     *rand.Rand
	packets [4]int // packets selected per channel since SetFaults
}

// SetFaults replaces the fault plan. The zero FaultPlan injects nothing.
func (d *Device) SetFaults(p FaultPlan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = faultState{plan: p, rnd: rand.New(rand.NewSource(p.Seed))}
}

// chance reports whether a fault of probability p happens now.
func (f *faultState) chance(p float64) bool {
	return p > 0 && f.rnd != nil && f.rnd.Float64() < p
}

// stuck applies the stuck bits of the plan to a value read at off.
func (d *Device) stuck(off uintptr, bits int, v uint64) uint64 {
	for _, sb := range d.faults.plan.Stuck {
		var shift uint
		switch {
		case sb.Offset == off:
		case bits == 64 && sb.Offset == off+4:
			shift = 32
		default:
			continue
		}
		v = v&^(uint64(sb.Mask)<<shift) | uint64(sb.Value&sb.Mask)<<shift
	}
	return v
}

// garbleProd returns v, or a random index in place of it when the plan
// says a peer writes garbage.
func (d *Device) garbleProd(v uint32) uint32 {
	if d.faults.chance(d.faults.plan.GarbageProd) {
		g := d.faults.rnd.Uint32()
		d.event(-1, "fault: garbage PROD")
		return g
	}
	return v
}
