package fakedev

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/regs/ipcu"
)

// events returns the internal events of a trace.
func events(tr []TraceEntry) []string {
	var out []string
	for _, e := range tr {
		if e.Event != "" {
			out = append(out, e.Event)
		}
	}
	return out
}

// rxRig is a rig with MBOX[0] from core 1 to core 2, core 2's MBOX_RX
// interrupt enabled, and the block enabled.
func rxRig(t *testing.T) *rig {
	r := newRig(t, Config{})
	r.mailbox(0, 1, 2)
	r.blk[2].CORE[2].RX_EN.Write(1)
	r.blk[2].CORE[2].IRQ_MASK.Write(irqMboxRX)
	r.blk[0].CTRL.Write(1)
	r.d.SetTrace(true)
	return r
}

// A lost notification leaves the register state as it was, so a driver
// that reads IRQ_MSTATUS (or polls) still finds the message (6.3).
func TestFaultLostNotification(t *testing.T) {
	r := rxRig(t)
	r.d.SetFaults(FaultPlan{Seed: 1, LoseNotification: 1})
	r.send(1, 0, 4, 42)
	assert.Zero(t, r.notes(2), "the eventfd was not incremented")
	assert.Contains(t, events(r.d.Trace()), "fault: notification lost")
	assert.Equal(t, uint32(irqMboxRX), r.blk[2].CORE[2].IRQ_MSTATUS.Read(), "the state is all there")
	assert.Equal(t, uint32(42), r.blk[2].MBOX[0].RXDATA[0].Read())
}

// A duplicated notification is two increments for one edge; the handler's
// second pass finds nothing, like a spurious one (6.3 step 2).
func TestFaultDuplicateAndSpuriousNotification(t *testing.T) {
	r := rxRig(t)
	r.d.SetFaults(FaultPlan{Seed: 1, DuplicateNotification: 1})
	r.send(1, 0, 4, 1)
	assert.Equal(t, uint64(2), r.notes(2))
	assert.Contains(t, events(r.d.Trace()), "fault: notification duplicated")

	r.blk[2].MBOX[0].POP.Write(1)
	r.d.SetFaults(FaultPlan{Seed: 7, SpuriousNotification: 1})
	r.blk[1].ID.Read()
	r.d.SetFaults(FaultPlan{})
	var total uint64
	for k := 0; k < 4; k++ {
		total += r.notes(k)
	}
	assert.Equal(t, uint64(1), total, "one spurious notification")
	assert.Contains(t, events(r.d.Trace()), "fault: spurious notification")
	for k := 0; k < 4; k++ {
		assert.Zero(t, r.blk[k].CORE[k].IRQ_MSTATUS.Read(), "nothing pending on core %d", k)
	}
}

// A stuck status bit reads its fixed value whatever the state: a sender
// that trusts STATUS.FULL never sends.
func TestFaultStuckBits(t *testing.T) {
	r := rxRig(t)
	full := uint32(ipcu.MBOX_STATUS.FULL.Mask())
	r.d.SetFaults(FaultPlan{Stuck: []StuckBits{{Offset: 0x804, Mask: full, Value: full}}})
	st := r.blk[1].MBOX[0].STATUS.Read()
	assert.True(t, ipcu.MBOX_STATUS.FULL.IsSet(st))
	assert.True(t, ipcu.MBOX_STATUS.EMPTY.IsSet(st), "the other bits are real")
	r.d.SetFaults(FaultPlan{})
	assert.False(t, ipcu.MBOX_STATUS.FULL.IsSet(r.blk[1].MBOX[0].STATUS.Read()))

	// On a 64-bit register, stuck bits of the high half.
	r.channel(0, 1, 2)
	r.d.SetFaults(FaultPlan{Stuck: []StuckBits{{Offset: 0x1014, Mask: 1, Value: 1}}})
	assert.Equal(t, uint64(1)<<32, r.blk[1].DMA[0].TX_BASE.Read())
}

// A torn 64-bit write drops the high half: the register keeps its value
// and the latch holds the low word, which a driver reading back detects.
func TestFaultTornWrite64(t *testing.T) {
	r := rxRig(t)
	r.channel(0, 1, 2)
	c1 := r.d.Core(1)
	c1.Write64(0x1010, 0x1_0000_0000)
	r.d.SetFaults(FaultPlan{Seed: 3, TornWrite64: 1})
	c1.Write32(0x1010, 0x2000)
	c1.Write32(0x1014, 0x2)
	assert.Equal(t, uint64(0x1_0000_0000), c1.Read64(0x1010), "the high-half write was dropped")
	assert.Contains(t, events(r.d.Trace()), "fault: torn 64-bit write")
	r.d.SetFaults(FaultPlan{})
	c1.Write32(0x1014, 0x2)
	assert.Equal(t, uint64(0x2_0000_2000), c1.Read64(0x1010), "the latch was pending")
}

// A peer writing garbage indices is judged by 9.3: outside the window the
// write is dropped and the channel halts with BAD_INDEX.
func TestFaultGarbageProd(t *testing.T) {
	r := rxRig(t)
	r.channel(0, 1, 2)
	tx := r.blk[1].DMA[0]
	tx.TX_SIZE.Write(16)
	r.d.SetFaults(FaultPlan{Seed: 11, GarbageProd: 1})
	tx.TX_PROD.Write(1)
	r.d.SetFaults(FaultPlan{})
	assert.Contains(t, events(r.d.Trace()), "fault: garbage PROD")
	st := tx.STATUS.Read()
	prod := tx.TX_PROD.Read()
	if ipcu.DMA_STATUS.ERR.IsSet(st) {
		assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_BAD_INDEX, ipcu.DMA_STATUS.ERRCODE.Get(st))
		assert.Zero(t, prod, "dropped")
	} else {
		assert.LessOrEqual(t, prod, uint32(16), "a garbage value inside the window is accepted")
	}
}

// Faults are deterministic from the seed: the same plan and the same
// accesses give the same trace.
func TestFaultsAreReproducible(t *testing.T) {
	run := func() []string {
		r := rxRig(t)
		r.d.SetFaults(FaultPlan{Seed: 99, LoseNotification: 0.3, DuplicateNotification: 0.3, SpuriousNotification: 0.2})
		for i := 0; i < 20; i++ {
			r.send(1, 0, 4, uint32(i))
			r.blk[2].MBOX[0].POP.Write(1)
		}
		return events(r.d.Trace())
	}
	a, b := run(), run()
	require.NotEmpty(t, a)
	assert.Equal(t, a, b)
	faults := 0
	for _, e := range a {
		if len(e) > 6 && e[:6] == "fault:" {
			faults++
		}
	}
	assert.NotZero(t, faults, "the plan injected something")
}

// A peer scribbling garbage over descriptors is judged by 9.4: whatever the
// bytes, the engine halts with one of its codes (NOT_OWNED, BAD_DESC,
// BAD_LEN, BUF_FAULT, ...) and marks or leaves the descriptor, or, if the
// garbage happens to be a valid descriptor, delivers; it never panics or
// touches memory it was not given.
func TestFaultGarbageDescriptor(t *testing.T) {
	halts := 0
	for seed := int64(1); seed <= 40; seed++ {
		r := stepRig(t)
		r.d.SetTrace(true)
		ch := r.open(0, 1, 2, 4, 4, 0)
		ch.post(256, own|irq)
		r.d.SetFaults(FaultPlan{Seed: seed, GarbageDescriptor: 1})
		ch.send(pattern(64, byte(seed)), own|eop|irq, 1)
		r.d.RunEngine()
		r.d.SetFaults(FaultPlan{})
		assert.Contains(t, events(r.d.Trace()), "fault: garbage descriptor", "seed %d", seed)
		st := ch.status()
		if ipcu.DMA_STATUS.ERR.IsSet(st) {
			halts++
			code := ipcu.DMA_STATUS.ERRCODE.Get(st)
			assert.Contains(t, []ipcu.DMA_STATUS_ERRCODE{
				ipcu.DMA_STATUS_ERRCODE_NOT_OWNED, ipcu.DMA_STATUS_ERRCODE_BAD_DESC,
				ipcu.DMA_STATUS_ERRCODE_BAD_LEN, ipcu.DMA_STATUS_ERRCODE_BUF_FAULT,
				ipcu.DMA_STATUS_ERRCODE_TOO_BIG,
			}, code, "seed %d", seed)
			assert.Equal(t, [4]uint32{0, 0, 0, 0}, ch.cons(), "no descriptor consumed on error (seed %d)", seed)
		}
	}
	assert.NotZero(t, halts, "garbage is mostly refused")
}
