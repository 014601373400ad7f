package fakedev

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/ipcu"
)

// Every register shape of the SVD has modelled behaviour, and the model
// has none the SVD lacks (docs/ipcu.md 13.2).
func TestEveryRegisterIsModelled(t *testing.T) {
	shapes := map[string]bool{}
	for _, r := range ipcu.Description.Peripheral("IPCU").Registers {
		shape := indexRE.ReplaceAllString(r.Name, "[]")
		shapes[shape] = true
		def := regDefs[shape]
		if assert.NotNil(t, def, "register %s has no modelled behaviour", r.Name) {
			assert.Equal(t, int(r.Bits), def.bits, r.Name)
		}
	}
	for _, s := range Registers() {
		assert.True(t, shapes[s], "the model has %s, the SVD does not", s)
	}
}

// Reset values (docs/ipcu.md 3.2 and 4): every register the management
// core may read reads the SVD's reset value; the mailbox data path is not
// readable by core 0 and its reads are violations.
func TestResetValues(t *testing.T) {
	r := newRig(t, Config{})
	p := ipcu.Description.Peripheral("IPCU")
	for i := range p.Registers {
		reg := &p.Registers[i]
		if reg.Access == regs.WriteOnly || reg.Name == "ERR_COUNT" {
			continue
		}
		v, err := reg.Read(r.d.Core(0), 0)
		require.NoError(t, err)
		dataPath := strings.Contains(reg.Name, "DATA[") || strings.HasSuffix(reg.Name, ".RXLEN")
		if dataPath {
			assert.Zero(t, v, reg.Name)
			_, inf, _ := r.errLog()
			assert.Equal(t, CauseDenied, Cause(inf>>28), "%s: core 0 is not a party of a disabled mailbox", reg.Name)
			r.clearLog()
			continue
		}
		assert.Equal(t, reg.Reset&reg.ResetMask, v&reg.ResetMask, "%s reset value", reg.Name)
	}
	st, _, n := r.errLog()
	assert.Zero(t, st)
	assert.Zero(t, n)
	assert.Zero(t, r.notes(0), "reading reset values notifies nobody while CTRL.EN = 0")
}

func TestConfigurationIsReported(t *testing.T) {
	r := newRig(t, Config{Cores: 2, FIFODepth: 8, MsgWords: 2, DMAChannels: 1})
	b := r.blk[0]
	caps := b.CAPS.Read()
	assert.Equal(t, uint32(2), ipcu.CAPS.NCORES.Get(caps))
	assert.Equal(t, uint32(8), ipcu.CAPS.FIFO_DEPTH.Get(caps))
	assert.Equal(t, uint32(2), ipcu.CAPS.MSG_WORDS.Get(caps))
	assert.Equal(t, uint32(1), ipcu.CAPS.NDMA.Get(caps))
	assert.Equal(t, uint32(16), ipcu.CAPS.NMBOX.Get(caps))
	assert.Equal(t, uint32(0x0040100c), b.DMACAPS.Read())

	// Instances outside the configuration are reserved: RAZ/WI, no violation.
	b.CORE[2].IRQ_MASK.Write(0x3f)
	assert.Zero(t, b.CORE[2].IRQ_MASK.Read())
	b.DMA[1].CFG.Write(1)
	assert.Zero(t, b.DMA[1].CFG.Read())
	r.mailbox(0, 0, 0)
	b.MBOX[0].TXDATA[2].Write(0xffffffff)
	assert.Zero(t, b.MBOX[0].TXDATA[2].Read())
	_, _, n := r.errLog()
	assert.Zero(t, n)

	for _, bad := range []Config{{Cores: 1}, {Cores: 9}, {FIFODepth: 17}, {MsgWords: 5}, {DMAChannels: 5}, {Cores: -1}} {
		_, err := New(bad)
		assert.Error(t, err, "%+v", bad)
	}
}

// Decoding (3.3): reserved offsets are RAZ/WI; bad widths on registers are
// BAD_SIZE violations; writes to read-only registers by a permitted core
// are ignored without a violation.
func TestDecoding(t *testing.T) {
	r := newRig(t, Config{})
	c1 := r.d.Core(1)
	for _, off := range []uintptr{0x1c, 0x2c, 0x3fc, 0x440, 0x814, 0x870, 0x1050, 0x1400, 0x1ffc} {
		c1.Write32(off, 0xffffffff)
		assert.Zero(t, c1.Read32(off), "%#x", off)
	}
	c1.Write8(0x1401, 1)
	assert.Zero(t, c1.Read64(0x1ff8))
	_, _, n := r.errLog()
	assert.Zero(t, n, "reserved space is never a violation")

	for _, tt := range []struct {
		name string
		do   func()
		off  uintptr
		bits int
		wr   int
	}{
		{"8-bit read of ID", func() { c1.Read8(0x1) }, 0x1, 8, 0},
		{"16-bit write of CTRL", func() { c1.Write16(0x12, 1) }, 0x12, 16, 1},
		{"64-bit read of two 32-bit registers", func() { c1.Read64(0x0) }, 0x0, 64, 0},
		{"64-bit read over a register and a hole", func() { c1.Read64(0x28) }, 0x28, 64, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			st, inf, n := r.errLog()
			assert.Equal(t, uint32(1), st)
			assert.Equal(t, info(CauseBadSize, tt.bits, tt.wr, 1, tt.off), inf)
			assert.Equal(t, uint32(1), n)
			r.clearLog()
		})
	}

	r.blk[1].ID.Read()
	r.d.Core(1).Write32(0, 0) // ID is read-only: ignored
	r.blk[0].CORE[1].RX_PEND.Read()
	assert.Equal(t, uint32(0x49504355), r.blk[1].ID.Read())
	_, _, n = r.errLog()
	assert.Zero(t, n)
}

// CORE_ID returns the initiator; an id of NCORES or more can do nothing
// (5.5): BAD_CORE, read 0, logged with its id, signalled to core 0.
func TestCoreIDAndBadCore(t *testing.T) {
	r := newRig(t, Config{Cores: 2})
	assert.Equal(t, uint32(0), r.blk[0].CORE_ID.Read())
	assert.Equal(t, uint32(1), r.blk[1].CORE_ID.Read())
	assert.Zero(t, r.blk[5].CORE_ID.Read())
	st, inf, n := r.errLog()
	assert.Equal(t, uint32(1), st)
	assert.Equal(t, info(CauseBadCore, 32, 0, 5, 0x18), inf)
	assert.Equal(t, uint32(1), n)
	assert.True(t, ipcu.CORE_IRQ_STATUS.ACCESS.IsSet(r.blk[0].CORE[0].IRQ_STATUS.Read()))
	assert.Equal(t, -1, r.d.Core(5).EventFD())
	// Reserved offsets stay silent even for such a core.
	r.d.Core(5).Read32(0x1c)
	_, _, n = r.errLog()
	assert.Zero(t, n)
	assert.Panics(t, func() { r.d.Core(8) })
}

// Deny by default (5.1) and the violation log (5.4): a refused access has
// no effect, is counted, logged once (OVERRUN after) and signalled to the
// notify set of its offset.
func TestViolationLog(t *testing.T) {
	r := newRig(t, Config{})
	b1 := r.blk[1]
	b1.MBOX[3].TXDATA[0].Write(0x1234) // mailbox disabled: nobody is SND
	st, inf, n := r.errLog()
	assert.Equal(t, uint32(1), st, "VALID")
	assert.Equal(t, info(CauseDenied, 32, 1, 1, 0x9c0), inf, "MBOX[3].TXDATA[0] written by core 1")
	assert.Equal(t, uint32(1), n)
	assert.True(t, ipcu.CORE_IRQ_STATUS.ACCESS.IsSet(r.blk[0].CORE[0].IRQ_STATUS.Read()), "core 0 is signalled")
	assert.False(t, ipcu.CORE_IRQ_STATUS.ACCESS.IsSet(b1.CORE[1].IRQ_STATUS.Read()), "a disabled mailbox has no parties to signal")

	// ERR_STATUS.VALID stays, later violations set OVERRUN and count.
	b1.CTRL.Write(1)             // only core 0 writes CTRL
	b1.CORE[2].IRQ_MASK.Write(1) // only core 2 writes its own cluster
	assert.Zero(t, r.blk[0].CTRL.Read(), "a refused write has no effect")
	st = r.blk[0].ERR_STATUS.Read()
	assert.Equal(t, uint32(3), st, "VALID and OVERRUN")
	assert.Equal(t, uint32(0x09c0), r.blk[0].ERR_INFO.Read()&0xffff, "the first violation is kept")
	assert.True(t, ipcu.CORE_IRQ_STATUS.ACCESS.IsSet(r.blk[2].CORE[2].IRQ_STATUS.Read()), "CORE[2]'s owner is signalled")

	// ERR_COUNT is read-to-clear for core 0; another core's read is itself
	// a violation that returns 0 and counts.
	assert.Equal(t, uint32(0), b1.ERR_COUNT.Read())
	assert.Equal(t, uint32(3), r.blk[0].ERR_COUNT.Read(), "CTRL, IRQ_MASK and the ERR_COUNT read, since errLog cleared it")
	assert.Equal(t, uint32(0), r.blk[0].ERR_COUNT.Read())

	// Clearing VALID clears ERR_INFO and re-arms; OVERRUN clears on its own.
	r.blk[0].ERR_STATUS.Update(ipcu.ERR_STATUS.VALID.Clear())
	assert.Equal(t, uint32(2), r.blk[0].ERR_STATUS.Read())
	assert.Zero(t, r.blk[0].ERR_INFO.Read())
	r.blk[0].ERR_STATUS.Update(ipcu.ERR_STATUS.OVERRUN.Clear())
	assert.Zero(t, r.blk[0].ERR_STATUS.Read())
	r.d.Core(1).Write32(0x10, 1)
	assert.Equal(t, info(CauseDenied, 32, 1, 1, 0x10), r.blk[0].ERR_INFO.Read(), "the next violation is logged")
}

// The counter saturates at 0xFFFF.
func TestViolationCounterSaturates(t *testing.T) {
	r := newRig(t, Config{})
	for i := 0; i < 0x10005; i++ {
		r.d.Core(1).Write32(0x10, 1)
	}
	_, _, n := r.errLog()
	assert.Equal(t, uint32(0xffff), n)
}

// Locks (5.3): a locked access-control register refuses every write, even
// core 0's and even of the same value; ACL_LOCK locks all at once without
// changing them and is not itself a violation; soft reset keeps locked
// registers and clears unlocked ones; hardware reset releases the locks.
func TestLocks(t *testing.T) {
	r := newRig(t, Config{})
	b := r.blk[0]
	b.MBOX[0].CFG.Write(1 | 1<<4 | 2<<8 | lockBit)
	b.MBOX[0].CFG.Write(1 | 1<<4 | 2<<8 | lockBit)
	_, inf, n := r.errLog()
	assert.Equal(t, info(CauseLocked, 32, 1, 0, 0x800), inf)
	assert.Equal(t, uint32(1), n)
	r.clearLog()

	b.MBOX[1].CFG.Write(1 | 3<<4 | 3<<8)
	b.CORE[2].DB_ACL.Write(0x3)
	b.DMA[0].CFG.Write(1 | 1<<4 | 2<<8 | 2<<16)
	b.ACL_LOCK.Write(1)
	_, _, n = r.errLog()
	assert.Zero(t, n, "ACL_LOCK is not a LOCKED violation")
	assert.Equal(t, uint32(lockBit|1|3<<4|3<<8), b.MBOX[1].CFG.Read())
	assert.Equal(t, uint32(lockBit|3), b.CORE[2].DB_ACL.Read())
	assert.Equal(t, uint32(lockBit|1|1<<4|2<<8|2<<16), b.DMA[0].CFG.Read())
	assert.Equal(t, uint32(lockBit), b.MBOX[5].CFG.Read(), "unused registers are locked too")
	b.DMA[0].CFG.Write(0)
	_, inf, _ = r.errLog()
	assert.Equal(t, info(CauseLocked, 32, 1, 0, 0x1000), inf)

	b.CTRL.Write(2) // soft reset
	assert.Equal(t, uint32(lockBit|1|3<<4|3<<8), b.MBOX[1].CFG.Read(), "locked registers survive soft reset")

	r.d.HardReset()
	assert.Zero(t, b.MBOX[1].CFG.Read(), "hardware reset releases the locks")
	b.MBOX[1].CFG.Write(1)
	assert.Equal(t, uint32(1), b.MBOX[1].CFG.Read())
}

// Soft reset (10.2): registers to reset values except locked ACLs,
// FIFOs emptied, CTRL.EN = 0, no notification.
func TestSoftReset(t *testing.T) {
	r := newRig(t, Config{})
	b := r.blk[0]
	r.mailbox(0, 1, 2)
	b.MBOX[1].CFG.Write(1 | 1<<4 | 2<<8 | lockBit)
	r.send(1, 0, 4, 0xdead)
	r.send(1, 1, 4, 0xbeef)
	r.blk[2].CORE[2].RX_EN.Write(3)
	r.blk[2].CORE[2].IRQ_MASK.Write(irqMboxRX)
	b.CTRL.Write(1)
	require.Equal(t, uint64(1), r.notes(2))
	r.d.Core(3).Write32(0x10, 1) // a violation to clear

	b.CTRL.Write(2)
	assert.Zero(t, b.CTRL.Read())
	assert.Zero(t, b.MBOX[0].CFG.Read())
	assert.Equal(t, uint32(0x100), b.MBOX[1].STATUS.Read(), "the locked mailbox is emptied too")
	assert.Zero(t, r.blk[2].CORE[2].RX_EN.Read())
	assert.Zero(t, r.blk[2].CORE[2].IRQ_MASK.Read())
	st, inf, n := r.errLog()
	assert.Zero(t, st|inf|n, "the log is cleared")
	assert.Zero(t, r.notes(2), "soft reset notifies nobody")
	assert.False(t, r.d.Core(2).Line())
}
