package fakedev

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ipcu/ipcu/regs/ipcu"
)

// channel enables DMA[c] from src to dst.
func (r *rig) channel(c, src, dst int) {
	r.blk[0].DMA[c].CFG.Write(uint32(1 | src<<4 | dst<<8))
}

// 64-bit registers (3.4): the low half is latched, the high half commits;
// a 64-bit access is atomic; reserved low bits read 0; writes are ignored
// while the ring runs.
func TestDMA64BitRegisters(t *testing.T) {
	r := newRig(t, Config{})
	r.channel(0, 1, 2)
	c1 := r.d.Core(1)
	base := uintptr(0x1010) // DMA[0].TX_BASE

	c1.Write32(base, 0x89abcdef)
	assert.Zero(t, c1.Read64(base), "a low-half write only loads the latch")
	c1.Write32(base+4, 0x01234567)
	assert.Equal(t, uint64(0x01234567_89abcde0), c1.Read64(base), "the high half commits; bits 3:0 read 0")
	assert.Equal(t, uint32(0x89abcde0), c1.Read32(base))
	assert.Equal(t, uint32(0x01234567), c1.Read32(base+4))
	c1.Write32(base+4, 0x2)
	assert.Equal(t, uint64(0x2_89abcde0), c1.Read64(base), "the latch keeps the low word")
	c1.Write64(base, 0x1111_2222_3333_4444)
	assert.Equal(t, uint64(0x1111_2222_3333_4440), r.blk[2].DMA[0].TX_BASE.Read())
	r.blk[1].DMA[0].TX_WB.Write(0x1003)
	assert.Equal(t, uint64(0x1000), r.blk[1].DMA[0].TX_WB.Read(), "WB bits 1:0 read 0")

	// The split writes of regs.SplitWrite64 follow the same protocol.
	r.blk[2].DMA[0].RX_BASE.Write(0xaaaa_bbbb_cccc_ddd0)
	assert.Equal(t, uint64(0xaaaa_bbbb_cccc_ddd0), r.blk[1].DMA[0].RX_BASE.Read())

	// Frozen while running.
	r.blk[1].DMA[0].TX_SIZE.Write(4)
	r.blk[1].DMA[0].TX_CTRL.Write(ctrlRun)
	c1.Write64(base, 0)
	c1.Write32(base, 0)
	c1.Write32(base+4, 0)
	r.blk[1].DMA[0].TX_SIZE.Write(8)
	assert.Equal(t, uint64(0x1111_2222_3333_4440), c1.Read64(base))
	assert.Equal(t, uint32(4), r.blk[1].DMA[0].TX_SIZE.Read())
	_, _, n := r.errLog()
	assert.Zero(t, n, "ignored writes are not violations")

	// Only the ring's owner writes its registers.
	r.blk[2].DMA[0].TX_SIZE.Write(2)
	_, inf, _ := r.errLog()
	assert.Equal(t, info(CauseDenied, 32, 1, 2, 0x1018), inf)
}

// Ring control and SIZE checks (9.3): RUN with a bad SIZE halts with
// BAD_CFG; RST with RUN = 0 zeroes the indices; ACTIVE needs EN, CFG.EN,
// both RUN and no error.
func TestDMARingControl(t *testing.T) {
	r := newRig(t, Config{})
	r.channel(1, 1, 2)
	tx, rx := r.blk[1].DMA[1], r.blk[2].DMA[1]
	r.blk[1].CORE[1].IRQ_MASK.Write(irqDMAErr)
	r.blk[0].CTRL.Write(1)

	tx.TX_SIZE.Write(3)
	tx.TX_CTRL.Write(ctrlRun)
	st := tx.STATUS.Read()
	assert.True(t, ipcu.DMA_STATUS.ERR.IsSet(st))
	assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_BAD_CFG, ipcu.DMA_STATUS.ERRCODE.Get(st))
	assert.Equal(t, ipcu.DMA_STATUS_ERR_RING_TX, ipcu.DMA_STATUS.ERR_RING.Get(st))
	assert.Equal(t, uint32(1<<1), r.blk[1].CORE[1].DMA_ERR_PEND.Read())
	assert.Equal(t, uint32(1<<1), r.blk[2].CORE[2].DMA_ERR_PEND.Read())
	assert.Equal(t, uint64(1), r.notes(1))

	// Clearing ERR re-checks SIZE: still bad, halts again.
	rx.STATUS.Write(1 << 8)
	assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_BAD_CFG, ipcu.DMA_STATUS.ERRCODE.Get(tx.STATUS.Read()))
	tx.TX_CTRL.Write(0)
	tx.TX_SIZE.Write(4)
	tx.TX_CTRL.Write(ctrlRun)
	tx.STATUS.Write(1 << 8)
	assert.Zero(t, tx.STATUS.Read(), "no error, not active: RX is not running")
	rx.RX_SIZE.Write(4096)
	rx.RX_CTRL.Write(ctrlRun | ctrlWBEn)
	assert.Equal(t, uint32(1), tx.STATUS.Read(), "ACTIVE")
	assert.Equal(t, uint32(ctrlRun|ctrlWBEn), rx.RX_CTRL.Read(), "RST reads 0")
	r.blk[0].CTRL.Write(0)
	assert.Zero(t, tx.STATUS.Read(), "CTRL.EN gates ACTIVE")
	r.blk[0].CTRL.Write(1)

	// RST is ignored while RUN stays 1, applied with RUN = 0.
	rx.RX_PROD.Write(3)
	rx.RX_CTRL.Write(ctrlRun | ctrlRst)
	assert.Equal(t, uint32(3), rx.RX_PROD.Read())
	rx.RX_CTRL.Write(ctrlRst)
	assert.Zero(t, rx.RX_PROD.Read())
	assert.Zero(t, rx.RX_CONS.Read())
}

// PROD validation (9.3): only [old PROD, CONS + SIZE]; a bad value is
// dropped and halts with BAD_INDEX; while ERR = 1 STATUS keeps the first
// error.
func TestDMAProdValidation(t *testing.T) {
	r := newRig(t, Config{})
	r.channel(2, 1, 1) // loopback
	tx := r.blk[1].DMA[2]
	tx.TX_SIZE.Write(8)
	tx.TX_PROD.Write(5)
	tx.TX_PROD.Write(5)
	tx.TX_PROD.Write(8)
	assert.Equal(t, uint32(8), tx.TX_PROD.Read(), "a full ring is allowed")
	assert.Zero(t, tx.STATUS.Read())

	tx.TX_PROD.Write(9)
	assert.Equal(t, uint32(8), tx.TX_PROD.Read(), "past CONS + SIZE: dropped")
	st := tx.STATUS.Read()
	assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_BAD_INDEX, ipcu.DMA_STATUS.ERRCODE.Get(st))
	assert.Equal(t, uint32(9), ipcu.DMA_STATUS.ERR_IDX.Get(st))
	tx.TX_PROD.Write(2) // backwards, while ERR = 1
	assert.Equal(t, st, tx.STATUS.Read(), "only the first error is recorded")
	tx.STATUS.Write(1 << 8)
	tx.TX_PROD.Write(0x12345)
	assert.Equal(t, uint32(0x2345), ipcu.DMA_STATUS.ERR_IDX.Get(tx.STATUS.Read()), "ERR_IDX holds the low 16 bits")

	// Free-running indices wrap modulo 2^32.
	tx.STATUS.Write(1 << 8)
	tx.TX_CTRL.Write(ctrlRst)
	r.d.mu.Lock()
	r.d.dma[2].tx.prod, r.d.dma[2].tx.cons = 0xfffffffe, 0xfffffffe
	r.d.mu.Unlock()
	tx.TX_PROD.Write(2)
	assert.Equal(t, uint32(2), tx.TX_PROD.Read(), "0xfffffffe + 4 wraps to 2")
	assert.Zero(t, tx.STATUS.Read())
}

// A CFG write changing EN, SRC or DST resets the channel (4.4); PRIO alone
// does not.
func TestDMAChannelReset(t *testing.T) {
	r := newRig(t, Config{})
	r.channel(3, 1, 2)
	tx := r.blk[1].DMA[3]
	tx.TX_SIZE.Write(16)
	tx.TX_PROD.Write(4)
	tx.TX_PROD.Write(1) // BAD_INDEX: DMA_ERR_PEND in both parties
	r.blk[0].DMA[3].CFG.Write(1 | 1<<4 | 2<<8 | 3<<16)
	assert.Equal(t, uint32(16), tx.TX_SIZE.Read(), "PRIO alone keeps the channel")
	assert.Equal(t, ipcu.DMA_CFG_PRIO_URGENT, ipcu.DMA_CFG.PRIO.Get(tx.CFG.Read()))

	r.channel(3, 1, 3)
	assert.Zero(t, r.blk[0].DMA[3].TX_SIZE.Read())
	assert.Zero(t, r.blk[0].DMA[3].TX_PROD.Read())
	assert.Zero(t, r.blk[0].DMA[3].STATUS.Read())
	assert.Zero(t, r.blk[1].CORE[1].DMA_ERR_PEND.Read(), "previous SRC's bit cleared")
	assert.Zero(t, r.blk[2].CORE[2].DMA_ERR_PEND.Read(), "previous DST's bit cleared")
}
