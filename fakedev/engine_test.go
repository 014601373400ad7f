package fakedev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/regs/ipcu"
)

// Descriptor flags as a driver writes them.
const (
	own   = flagOwn
	eop   = flagEOP
	irq   = flagIRQ
	runWB = ctrlRun | ctrlWBEn
	errW1 = 1 << 8 // STATUS.ERR
)

// stepRig is a rig whose engine moves only when the test steps it, with
// the block enabled.
func stepRig(t *testing.T) *rig {
	r := newRig(t, Config{Engine: EngineStep})
	r.blk[0].CTRL.Write(1)
	return r
}

// alloc allocates DMA memory of core k, freed when the test ends.
func (r *rig) alloc(k, size int) *Buffer {
	r.t.Helper()
	b, err := r.d.Core(k).Alloc(size, 0)
	require.NoError(r.t, err)
	r.t.Cleanup(func() { assert.NoError(r.t, b.Free()) })
	return b
}

// chanRig is one DMA channel set up as in docs/ipcu.md 11.8: both rings
// and write-back words allocated and programmed, both sides running with
// write-back, completion and error interrupts enabled in both cores.
type chanRig struct {
	r              *rig
	c, src, dst    int
	nTX, nRX       int
	tx, rx         *ipcu.IPCU_DMA // SRC's and DST's views
	txRing, rxRing *Buffer
	txWB, rxWB     *Buffer
	txProd, rxProd uint32
}

func (r *rig) open(c, src, dst, nTX, nRX int, prio uint32) *chanRig {
	r.t.Helper()
	r.blk[0].DMA[c].CFG.Write(uint32(1|src<<4|dst<<8) | prio<<16)
	ch := &chanRig{r: r, c: c, src: src, dst: dst, nTX: nTX, nRX: nRX,
		tx: &r.blk[src].DMA[c], rx: &r.blk[dst].DMA[c]}
	ch.txRing, ch.rxRing = r.alloc(src, descSize*nTX), r.alloc(dst, descSize*nRX)
	ch.txWB, ch.rxWB = r.alloc(src, 4), r.alloc(dst, 4)
	ch.tx.TX_BASE.Write(ch.txRing.Addr())
	ch.tx.TX_SIZE.Write(uint32(nTX))
	ch.tx.TX_WB.Write(ch.txWB.Addr())
	ch.rx.RX_BASE.Write(ch.rxRing.Addr())
	ch.rx.RX_SIZE.Write(uint32(nRX))
	ch.rx.RX_WB.Write(ch.rxWB.Addr())
	for _, k := range []int{src, dst} {
		cr := &r.blk[k].CORE[k]
		cr.IRQ_MASK.Write(irqDMADone | irqDMAErr)
	}
	s := &r.blk[src].CORE[src]
	s.DMA_EN.Write(s.DMA_EN.Read() | 1<<c)
	d := &r.blk[dst].CORE[dst]
	d.DMA_EN.Write(d.DMA_EN.Read() | 1<<(16+c))
	ch.tx.TX_CTRL.Write(runWB)
	ch.rx.RX_CTRL.Write(runWB)
	return ch
}

// desc is a descriptor as the driver sees it in memory.
type dsc struct {
	addr  uint64
	len   uint32
	flags uint16
	id    uint16
}

func putDesc(ring *Buffer, slot int, x dsc) {
	b := ring.Bytes()[descSize*slot:]
	binary.LittleEndian.PutUint64(b, x.addr)
	binary.LittleEndian.PutUint32(b[8:], x.len)
	binary.LittleEndian.PutUint16(b[12:], x.flags)
	binary.LittleEndian.PutUint16(b[14:], x.id)
}

func getDesc(ring *Buffer, slot int) dsc {
	b := ring.Bytes()[descSize*slot:]
	return dsc{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint32(b[8:]),
		binary.LittleEndian.Uint16(b[12:]), binary.LittleEndian.Uint16(b[14:])}
}

// pattern returns n bytes that depend on seed.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7) ^ seed
	}
	return p
}

// stageTX writes data into a new buffer and the next TX descriptor, without
// publishing it. It returns the slot and the buffer.
func (ch *chanRig) stageTX(data []byte, flags, id uint16) (int, *Buffer) {
	b := ch.r.alloc(ch.src, len(data))
	copy(b.Bytes(), data)
	slot := int(ch.txProd % uint32(ch.nTX))
	putDesc(ch.txRing, slot, dsc{b.Addr(), uint32(len(data)), flags, id})
	ch.txProd++
	return slot, b
}

// stageRX posts a new buffer of n bytes, filled with 0xAA, in the next RX
// descriptor, without publishing it.
func (ch *chanRig) stageRX(n int, flags uint16) (int, *Buffer) {
	b := ch.r.alloc(ch.dst, n)
	for i := range b.Bytes() {
		b.Bytes()[i] = 0xaa
	}
	slot := int(ch.rxProd % uint32(ch.nRX))
	putDesc(ch.rxRing, slot, dsc{b.Addr(), uint32(n), flags, 0})
	ch.rxProd++
	return slot, b
}

func (ch *chanRig) publishTX() { ch.tx.TX_PROD.Write(ch.txProd) }
func (ch *chanRig) publishRX() { ch.rx.RX_PROD.Write(ch.rxProd) }

func (ch *chanRig) send(data []byte, flags, id uint16) (int, *Buffer) {
	s, b := ch.stageTX(data, flags, id)
	ch.publishTX()
	return s, b
}

func (ch *chanRig) post(n int, flags uint16) (int, *Buffer) {
	s, b := ch.stageRX(n, flags)
	ch.publishRX()
	return s, b
}

func (ch *chanRig) status() uint32 { return ch.tx.STATUS.Read() }

// cons returns TX_CONS, RX_CONS and the two write-back words.
func (ch *chanRig) cons() [4]uint32 {
	return [4]uint32{ch.tx.TX_CONS.Read(), ch.rx.RX_CONS.Read(), ch.txWB.Load32(0), ch.rxWB.Load32(0)}
}

// ack clears both cores' DMA events and drains their eventfds.
func (ch *chanRig) ack() {
	for _, k := range []int{ch.src, ch.dst} {
		cr := &ch.r.blk[k].CORE[k]
		cr.DMA_PEND.Write(0x000f000f)
		cr.DMA_ERR_PEND.Write(0xf)
		ch.r.notes(k)
	}
}

// dmaEvents returns the internal events of a trace that start with prefix.
func dmaEvents(tr []TraceEntry, prefix string) []string {
	var out []string
	for _, e := range tr {
		if strings.HasPrefix(e.Event, prefix) {
			out = append(out, e.Event)
		}
	}
	return out
}

// A single-buffer packet (9.4, 9.2, 9.5): the payload lands in the RX
// buffer, the RX descriptor gets LEN, FLAGS = IRQ | EOP and the TX ID, the
// TX descriptor only loses OWN (and ERR/ECODE), both CONS move and are
// written back, and each side gets its DMA_PEND bit and a notification.
// Nothing moves before the engine steps.
func TestDMATransfer(t *testing.T) {
	r := stepRig(t)
	r.d.SetTrace(true)
	ch := r.open(1, 1, 2, 4, 4, 0)
	rs, rb := ch.post(256, own|irq|0x10|flagErr|3<<8) // reserved, ERR and ECODE: ignored on fetch, written 0
	data := pattern(100, 1)
	ts, tb := ch.send(data, own|eop|irq|0x1010|flagErr|5<<8, 0xbeef)
	assert.Equal(t, [4]uint32{}, ch.cons(), "step mode: nothing moves by itself")

	require.True(t, r.d.Step())
	assert.Equal(t, data, rb.Bytes()[:100])
	assert.Equal(t, bytes.Repeat([]byte{0xaa}, 156), rb.Bytes()[100:], "nothing beyond the packet")
	assert.Equal(t, dsc{rb.Addr(), 100, irq | eop, 0xbeef}, getDesc(ch.rxRing, rs))
	assert.Equal(t, dsc{tb.Addr(), 100, eop | irq | 0x1010, 0xbeef}, getDesc(ch.txRing, ts),
		"TX completion clears OWN, ERR and ECODE and keeps the reserved bits")
	assert.Equal(t, [4]uint32{1, 1, 1, 1}, ch.cons())
	assert.Equal(t, uint32(1<<1), r.blk[1].CORE[1].DMA_PEND.Read(), "TX bit c for SRC")
	assert.Equal(t, uint32(1<<17), r.blk[2].CORE[2].DMA_PEND.Read(), "RX bit c for DST")
	assert.Equal(t, uint32(irqDMADone), r.blk[1].CORE[1].IRQ_MSTATUS.Read())
	assert.Equal(t, uint32(irqDMADone), r.blk[2].CORE[2].IRQ_MSTATUS.Read())
	assert.Equal(t, uint64(1), r.notes(1))
	assert.Equal(t, uint64(1), r.notes(2))
	assert.Equal(t, uint32(1), ch.status(), "ACTIVE, no stall, no error")
	assert.Contains(t, dmaEvents(r.d.Trace(), "dma"), "dma deliver ch1")
	assert.False(t, r.d.Step(), "idle: TX_PROD = TX_CONS")
}

// A packet larger than one RX buffer fills them in order, each to its
// capacity, EOP only on the last; each RX descriptor with IRQ is one event
// (6.4); the next posted buffer is left alone.
func TestDMAMultiBuffer(t *testing.T) {
	r := stepRig(t)
	ch := r.open(0, 1, 2, 4, 8, 0)
	r.blk[2].CORE[2].COAL.Write(3) // fire on the third event
	var rs [4]int
	var rb [4]*Buffer
	for i, f := range []uint16{own | irq, own | irq, own | irq, own | irq} {
		rs[i], rb[i] = ch.stageRX(4096, f)
	}
	ch.publishRX()
	data := pattern(10000, 2)
	ch.send(data, own|eop, 7)
	require.True(t, r.d.Step())

	got := append(append(append([]byte{}, rb[0].Bytes()...), rb[1].Bytes()...), rb[2].Bytes()[:10000-8192]...)
	assert.Equal(t, data, got)
	assert.Equal(t, dsc{rb[0].Addr(), 4096, irq, 7}, getDesc(ch.rxRing, rs[0]))
	assert.Equal(t, dsc{rb[1].Addr(), 4096, irq, 7}, getDesc(ch.rxRing, rs[1]))
	assert.Equal(t, dsc{rb[2].Addr(), 10000 - 8192, irq | eop, 7}, getDesc(ch.rxRing, rs[2]))
	assert.Equal(t, dsc{rb[3].Addr(), 4096, own | irq, 0}, getDesc(ch.rxRing, rs[3]), "the fourth buffer is not used")
	assert.Equal(t, [4]uint32{1, 3, 1, 3}, ch.cons())
	assert.Equal(t, uint32(irqDMADone), r.blk[2].CORE[2].IRQ_STATUS.Read(), "three RX events reach COUNT = 3")
	assert.Zero(t, r.blk[1].CORE[1].DMA_PEND.Read(), "TX descriptor without IRQ")
}

// Descriptors without IRQ complete silently: CONS and write-back move, no
// DMA_PEND bit, no notification (9.4).
func TestDMASilentCompletion(t *testing.T) {
	r := stepRig(t)
	ch := r.open(0, 1, 2, 2, 2, 0)
	for i := 0; i < 3; i++ { // wraps both rings
		_, rb := ch.post(64, own)
		data := pattern(64, byte(i))
		ch.send(data, own|eop, uint16(i))
		require.True(t, r.d.Step())
		assert.Equal(t, data, rb.Bytes())
	}
	assert.Equal(t, [4]uint32{3, 3, 3, 3}, ch.cons())
	assert.Zero(t, r.blk[1].CORE[1].DMA_PEND.Read())
	assert.Zero(t, r.blk[2].CORE[2].DMA_PEND.Read())
	assert.Zero(t, r.notes(1))
	assert.Zero(t, r.notes(2))
}

// Too few posted RX buffers stall the channel without changing anything
// (9.4): STATUS.STALL = 1, the channel is not eligible until DST writes
// RX_PROD (or the channel is stopped and restarted, or ERR cleared), then
// the packet is retried; STALL returns to 0 when it is delivered (4.4).
func TestDMAStall(t *testing.T) {
	r := stepRig(t)
	r.d.SetTrace(true)
	ch := r.open(0, 1, 2, 4, 4, 0)
	rs, rb := ch.post(1024, own|irq)
	data := pattern(3000, 3)
	ch.send(data, own|eop|irq, 9)
	require.True(t, r.d.Step())
	st := ch.status()
	assert.True(t, ipcu.DMA_STATUS.STALL.IsSet(st))
	assert.True(t, ipcu.DMA_STATUS.ACTIVE.IsSet(st))
	assert.False(t, ipcu.DMA_STATUS.ERR.IsSet(st))
	assert.Equal(t, [4]uint32{}, ch.cons())
	assert.Equal(t, dsc{rb.Addr(), 1024, own | irq, 0}, getDesc(ch.rxRing, rs), "nothing written")
	assert.Equal(t, bytes.Repeat([]byte{0xaa}, 1024), rb.Bytes())
	assert.Equal(t, []string{"dma stall ch0"}, dmaEvents(r.d.Trace(), "dma"))
	assert.False(t, r.d.Step(), "a stalled channel is not eligible")

	// Stop and restart: eligible again, stalls again.
	ch.rx.RX_CTRL.Write(0)
	assert.Zero(t, ch.status(), "STALL ends when the channel stops being active")
	ch.rx.RX_CTRL.Write(runWB)
	require.True(t, r.d.Step())
	assert.True(t, ipcu.DMA_STATUS.STALL.IsSet(ch.status()))
	r.blk[0].CTRL.Write(0)
	r.blk[0].CTRL.Write(1)
	assert.Equal(t, uint32(1), ch.status(), "CTRL.EN off and on ends the stall too")
	require.True(t, r.d.Step())

	// More buffers: RX_PROD ends the stall.
	ch.publishRX() // the same value: not new buffers
	assert.False(t, r.d.Step())
	ch.stageRX(1024, own|irq)
	ch.publishRX()
	assert.True(t, ipcu.DMA_STATUS.STALL.IsSet(ch.status()), "STALL lasts until the packet is delivered")
	require.True(t, r.d.Step()) // 2 of 3 buffers: stalls again
	assert.Equal(t, []string{"dma stall ch0", "dma stall ch0", "dma stall ch0"}, dmaEvents(r.d.Trace(), "dma"))
	ch.stageRX(1024, own|irq)
	ch.publishRX()
	require.True(t, r.d.Step())
	assert.Equal(t, [4]uint32{1, 3, 1, 3}, ch.cons())
	assert.Equal(t, uint32(1), ch.status())
	assert.Equal(t, data[:1024], rb.Bytes())
}

// A packet longer than a completely posted RX ring is TOO_BIG (RX, ERR_IDX
// the slot of RX_CONS); enlarging the posted buffers and clearing ERR
// delivers it.
func TestDMATooBig(t *testing.T) {
	r := stepRig(t)
	ch := r.open(0, 1, 2, 4, 2, 0)
	ch.post(64, own)
	ch.send(pattern(10, 0), own|eop, 0)
	require.True(t, r.d.Step()) // RX_CONS = 1
	var rb [2]*Buffer
	var rs [2]int
	for i := range rb {
		rs[i], rb[i] = ch.stageRX(4096, own)
		putDesc(ch.rxRing, rs[i], dsc{rb[i].Addr(), 1024, own, 0}) // capacity 1024 of 4096
	}
	ch.publishRX()
	data := pattern(4000, 4)
	ch.send(data, own|eop, 1)
	require.True(t, r.d.Step())
	st := ch.status()
	assert.True(t, ipcu.DMA_STATUS.ERR.IsSet(st))
	assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_TOO_BIG, ipcu.DMA_STATUS.ERRCODE.Get(st))
	assert.Equal(t, ipcu.DMA_STATUS_ERR_RING_RX, ipcu.DMA_STATUS.ERR_RING.Get(st))
	assert.Equal(t, uint32(1), ipcu.DMA_STATUS.ERR_IDX.Get(st), "slot of RX_CONS")
	assert.False(t, ipcu.DMA_STATUS.STALL.IsSet(st))
	assert.Equal(t, [4]uint32{1, 1, 1, 1}, ch.cons())

	for i := range rb {
		putDesc(ch.rxRing, rs[i], dsc{rb[i].Addr(), 4096, own, 0})
	}
	ch.rx.STATUS.Write(errW1)
	require.True(t, r.d.Step())
	assert.Equal(t, [4]uint32{2, 2, 2, 2}, ch.cons())
	assert.Equal(t, data, rb[0].Bytes()[:4000])
}

// errPacket is the second packet of a channel, whose first was delivered:
// its TX descriptor in slot 1, one RX buffer in slot 1.
type errPacket struct {
	ch           *chanRig
	txBuf, rxBuf *Buffer
	data         []byte
}

func (p *errPacket) txDesc(f func(*dsc)) {
	x := getDesc(p.ch.txRing, 1)
	f(&x)
	putDesc(p.ch.txRing, 1, x)
}

func (p *errPacket) rxDesc(f func(*dsc)) {
	x := getDesc(p.ch.rxRing, 1)
	f(&x)
	putDesc(p.ch.rxRing, 1, x)
}

func protect(t *testing.T, b *Buffer, p Perm) { require.NoError(t, b.Protect(p)) }

// Each error of 9.6 the engine detects (9.4): STATUS.ERR with ERRCODE,
// ERR_RING and ERR_IDX, DMA_ERR_PEND and a notification in both cores, no
// CONS movement, nothing written but the marking of the offending
// descriptor for BUF_FAULT, BAD_LEN and BAD_DESC (OWN kept); the halted
// channel is not served; fixing the cause and clearing ERR retries the
// packet.
func TestDMAErrors(t *testing.T) {
	tx, rx := ipcu.DMA_STATUS_ERR_RING_TX, ipcu.DMA_STATUS_ERR_RING_RX
	for _, tc := range []struct {
		name   string
		code   ipcu.DMA_STATUS_ERRCODE
		ring   ipcu.DMA_STATUS_ERR_RING
		idx    uint32
		marked bool
		arm    func(t *testing.T, p *errPacket)
		fix    func(t *testing.T, p *errPacket)
	}{
		{"DESC_FAULT TX ring read-only", ipcu.DMA_STATUS_ERRCODE_DESC_FAULT, tx, 1, false,
			func(t *testing.T, p *errPacket) { protect(t, p.ch.txRing, PermRead) },
			func(t *testing.T, p *errPacket) { protect(t, p.ch.txRing, PermRW) }},
		{"DESC_FAULT RX ring unmapped", ipcu.DMA_STATUS_ERRCODE_DESC_FAULT, rx, 1, false,
			func(t *testing.T, p *errPacket) { protect(t, p.ch.rxRing, 0) },
			func(t *testing.T, p *errPacket) { protect(t, p.ch.rxRing, PermRW) }},
		{"BUF_FAULT TX buffer not readable", ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, tx, 1, true,
			func(t *testing.T, p *errPacket) { protect(t, p.txBuf, PermWrite) },
			func(t *testing.T, p *errPacket) { protect(t, p.txBuf, PermRead) }},
		{"BUF_FAULT TX range wraps past 2^64", ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, tx, 1, true,
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.addr = 1<<64 - 50 }) },
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.addr = p.txBuf.Addr() }) }},
		{"BUF_FAULT RX buffer not writable", ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, rx, 1, true,
			func(t *testing.T, p *errPacket) { protect(t, p.rxBuf, PermRead) },
			func(t *testing.T, p *errPacket) { protect(t, p.rxBuf, PermRW) }},
		{"WB_FAULT TX", ipcu.DMA_STATUS_ERRCODE_WB_FAULT, tx, 0, false,
			func(t *testing.T, p *errPacket) { protect(t, p.ch.txWB, PermRead) },
			func(t *testing.T, p *errPacket) { protect(t, p.ch.txWB, PermWrite) }},
		{"WB_FAULT RX", ipcu.DMA_STATUS_ERRCODE_WB_FAULT, rx, 0, false,
			func(t *testing.T, p *errPacket) { protect(t, p.ch.rxWB, 0) },
			func(t *testing.T, p *errPacket) { protect(t, p.ch.rxWB, PermRW) }},
		{"NOT_OWNED TX", ipcu.DMA_STATUS_ERRCODE_NOT_OWNED, tx, 1, false,
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.flags &^= own }) },
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.flags |= own }) }},
		{"NOT_OWNED RX", ipcu.DMA_STATUS_ERRCODE_NOT_OWNED, rx, 1, false,
			func(t *testing.T, p *errPacket) { p.rxDesc(func(x *dsc) { x.flags &^= own }) },
			func(t *testing.T, p *errPacket) { p.rxDesc(func(x *dsc) { x.flags |= own }) }},
		{"BAD_LEN TX zero", ipcu.DMA_STATUS_ERRCODE_BAD_LEN, tx, 1, true,
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.len = 0 }) },
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.len = 100 }) }},
		{"BAD_LEN TX over 65536", ipcu.DMA_STATUS_ERRCODE_BAD_LEN, tx, 1, true,
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.len = 65537 }) },
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.len = 100 }) }},
		{"BAD_LEN RX zero", ipcu.DMA_STATUS_ERRCODE_BAD_LEN, rx, 1, true,
			func(t *testing.T, p *errPacket) { p.rxDesc(func(x *dsc) { x.len = 0 }) },
			func(t *testing.T, p *errPacket) { p.rxDesc(func(x *dsc) { x.len = 256 }) }},
		{"BAD_LEN RX over 65536", ipcu.DMA_STATUS_ERRCODE_BAD_LEN, rx, 1, true,
			func(t *testing.T, p *errPacket) { p.rxDesc(func(x *dsc) { x.len = 1 << 20 }) },
			func(t *testing.T, p *errPacket) { p.rxDesc(func(x *dsc) { x.len = 256 }) }},
		{"BAD_DESC TX without EOP", ipcu.DMA_STATUS_ERRCODE_BAD_DESC, tx, 1, true,
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.flags &^= eop }) },
			func(t *testing.T, p *errPacket) { p.txDesc(func(x *dsc) { x.flags |= eop }) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := stepRig(t)
			r.d.SetTrace(true)
			ch := r.open(0, 1, 2, 4, 4, 0)
			ch.post(64, own|irq)
			ch.send(pattern(64, 0), own|eop|irq, 0)
			require.True(t, r.d.Step())
			ch.ack()
			r.d.Trace()

			p := &errPacket{ch: ch, data: pattern(100, 5)}
			_, p.rxBuf = ch.stageRX(256, own|irq)
			_, p.txBuf = ch.stageTX(p.data, own|eop|irq, 0x55)
			tc.arm(t, p)
			txBefore, rxBefore := getDesc(ch.txRing, 1), getDesc(ch.rxRing, 1)
			ch.publishRX()
			ch.publishTX()

			require.True(t, r.d.Step())
			st := ch.status()
			assert.Equal(t, uint32(1), ipcu.DMA_STATUS.ERR.Get(st))
			assert.Equal(t, tc.code, ipcu.DMA_STATUS.ERRCODE.Get(st))
			assert.Equal(t, tc.ring, ipcu.DMA_STATUS.ERR_RING.Get(st))
			assert.Equal(t, tc.idx, ipcu.DMA_STATUS.ERR_IDX.Get(st))
			assert.Zero(t, st&3, "neither ACTIVE nor STALL")
			assert.Equal(t, fmt.Sprintf("dma halt ch0 %v", tc.code), dmaEvents(r.d.Trace(), "dma halt")[0])
			assert.Equal(t, uint32(1), r.blk[1].CORE[1].DMA_ERR_PEND.Read())
			assert.Equal(t, uint32(1), r.blk[2].CORE[2].DMA_ERR_PEND.Read())
			assert.Equal(t, uint64(1), r.notes(1))
			assert.Equal(t, uint64(1), r.notes(2))
			assert.Zero(t, r.blk[1].CORE[1].DMA_PEND.Read())
			assert.Zero(t, r.blk[2].CORE[2].DMA_PEND.Read())
			assert.Equal(t, [4]uint32{1, 1, 1, 1}, ch.cons(), "no descriptor consumed")
			assert.Equal(t, bytes.Repeat([]byte{0xaa}, 256), p.rxBuf.Bytes(), "no partial packet")
			mark := func(x dsc) dsc {
				x.flags = x.flags&^flagECode | flagErr | uint16(tc.code)<<8
				return x
			}
			wantTX, wantRX := txBefore, rxBefore
			if tc.marked && tc.ring == tx {
				wantTX = mark(txBefore)
			}
			if tc.marked && tc.ring == rx {
				wantRX = mark(rxBefore)
			}
			assert.Equal(t, wantTX, getDesc(ch.txRing, 1), "TX descriptor")
			assert.Equal(t, wantRX, getDesc(ch.rxRing, 1), "RX descriptor")
			assert.False(t, r.d.Step(), "a halted channel is not served")

			tc.fix(t, p)
			owner := ch.tx
			if tc.ring == rx {
				owner = ch.rx
			}
			owner.STATUS.Write(errW1)
			assert.Equal(t, uint32(1), ch.status())
			require.True(t, r.d.Step(), "retry")
			assert.Equal(t, [4]uint32{2, 2, 2, 2}, ch.cons())
			assert.Equal(t, p.data, p.rxBuf.Bytes()[:100])
			assert.Equal(t, dsc{p.rxBuf.Addr(), 100, irq | eop, 0x55}, getDesc(ch.rxRing, 1))
			assert.Equal(t, uint16(eop|irq), getDesc(ch.txRing, 1).flags, "ERR and ECODE cleared on completion")
			assert.Equal(t, uint32(1), r.blk[1].CORE[1].DMA_ERR_PEND.Read(), "DMA_ERR_PEND is separate from ERR")
		})
	}
}

// The checks of 9.4 are made in order: with two faults, the earlier step's
// is reported; a stall (step 4) comes before the RX write-back check (5).
func TestDMACheckOrder(t *testing.T) {
	type arm func(t *testing.T, ch *chanRig, txBuf, rxBuf *Buffer)
	txd := func(ch *chanRig, f func(*dsc)) { x := getDesc(ch.txRing, 0); f(&x); putDesc(ch.txRing, 0, x) }
	rxd := func(ch *chanRig, f func(*dsc)) { x := getDesc(ch.rxRing, 0); f(&x); putDesc(ch.rxRing, 0, x) }
	for _, tc := range []struct {
		name string
		code ipcu.DMA_STATUS_ERRCODE // NONE: a stall
		ring ipcu.DMA_STATUS_ERR_RING
		arm  arm
	}{
		{"DESC_FAULT before NOT_OWNED", ipcu.DMA_STATUS_ERRCODE_DESC_FAULT, 0, func(t *testing.T, ch *chanRig, _, _ *Buffer) {
			txd(ch, func(x *dsc) { x.flags = 0 })
			protect(t, ch.txRing, 0)
		}},
		{"NOT_OWNED before BAD_DESC", ipcu.DMA_STATUS_ERRCODE_NOT_OWNED, 0, func(t *testing.T, ch *chanRig, _, _ *Buffer) {
			txd(ch, func(x *dsc) { x.flags = 0 })
		}},
		{"BAD_DESC before BAD_LEN", ipcu.DMA_STATUS_ERRCODE_BAD_DESC, 0, func(t *testing.T, ch *chanRig, _, _ *Buffer) {
			txd(ch, func(x *dsc) { x.flags, x.len = own, 0 })
		}},
		{"BAD_LEN before BUF_FAULT", ipcu.DMA_STATUS_ERRCODE_BAD_LEN, 0, func(t *testing.T, ch *chanRig, txBuf, _ *Buffer) {
			txd(ch, func(x *dsc) { x.len = 0 })
			protect(t, txBuf, 0)
		}},
		{"BUF_FAULT before WB_FAULT", ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, 0, func(t *testing.T, ch *chanRig, txBuf, _ *Buffer) {
			protect(t, txBuf, 0)
			protect(t, ch.txWB, 0)
		}},
		{"TX before RX", ipcu.DMA_STATUS_ERRCODE_WB_FAULT, 0, func(t *testing.T, ch *chanRig, _, _ *Buffer) {
			protect(t, ch.txWB, 0)
			protect(t, ch.rxRing, 0)
		}},
		{"TX before stall", ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, 0, func(t *testing.T, ch *chanRig, txBuf, _ *Buffer) {
			protect(t, txBuf, 0)
			ch.rx.RX_CTRL.Write(ctrlRst) // RX_PROD = 0: nothing posted
			ch.rx.RX_CTRL.Write(runWB)
		}},
		{"RX DESC_FAULT before RX WB_FAULT", ipcu.DMA_STATUS_ERRCODE_DESC_FAULT, 1, func(t *testing.T, ch *chanRig, _, _ *Buffer) {
			protect(t, ch.rxRing, PermRead)
			protect(t, ch.rxWB, 0)
		}},
		{"RX NOT_OWNED before RX BAD_LEN", ipcu.DMA_STATUS_ERRCODE_NOT_OWNED, 1, func(t *testing.T, ch *chanRig, _, _ *Buffer) {
			rxd(ch, func(x *dsc) { x.flags, x.len = 0, 0 })
		}},
		{"RX BAD_LEN before RX BUF_FAULT", ipcu.DMA_STATUS_ERRCODE_BAD_LEN, 1, func(t *testing.T, ch *chanRig, _, rxBuf *Buffer) {
			rxd(ch, func(x *dsc) { x.len = 0 })
			protect(t, rxBuf, 0)
		}},
		{"RX BUF_FAULT before RX WB_FAULT", ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, 1, func(t *testing.T, ch *chanRig, _, rxBuf *Buffer) {
			protect(t, rxBuf, 0)
			protect(t, ch.rxWB, 0)
		}},
		{"stall before RX WB_FAULT", ipcu.DMA_STATUS_ERRCODE_NONE, 0, func(t *testing.T, ch *chanRig, _, _ *Buffer) {
			rxd(ch, func(x *dsc) { x.len = 50 }) // 50 of 100 bytes: a second buffer is needed
			protect(t, ch.rxWB, 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := stepRig(t)
			ch := r.open(0, 1, 2, 4, 4, 0)
			_, rxBuf := ch.stageRX(256, own)
			_, txBuf := ch.stageTX(pattern(100, 0), own|eop, 0)
			ch.publishRX()
			tc.arm(t, ch, txBuf, rxBuf)
			ch.publishTX()
			require.True(t, r.d.Step())
			st := ch.status()
			assert.Equal(t, tc.code, ipcu.DMA_STATUS.ERRCODE.Get(st))
			assert.Equal(t, tc.ring, ipcu.DMA_STATUS.ERR_RING.Get(st))
			assert.Equal(t, tc.code == ipcu.DMA_STATUS_ERRCODE_NONE, ipcu.DMA_STATUS.STALL.IsSet(st))
		})
	}
}

// Only the part of an RX buffer the packet fills is translated (9.4 step
// 4): a buffer whose tail is unmapped takes a short packet, and faults
// (BUF_FAULT, RX) for a longer one. A payload may cross two adjacent
// mappings, of memory mapped with Map.
func TestDMAPartialTranslation(t *testing.T) {
	r := stepRig(t)
	ch := r.open(0, 1, 2, 4, 4, 0)
	page := pageSize
	_, rb := ch.post(2*page, own)
	require.NoError(t, r.d.Unmap(rb.Addr()+uint64(page), page))

	// A TX payload in ordinary Go memory, mapped in two pieces.
	data := pattern(page+64, 6)
	const at = 0x7000_0000
	require.NoError(t, r.d.Map(at, data[:64], PermRead))
	require.NoError(t, r.d.Map(at+64, data[64:], PermRead))
	putDesc(ch.txRing, 0, dsc{at, uint32(page), own | eop, 3})
	ch.txProd++
	ch.publishTX()
	require.True(t, r.d.Step())
	assert.Equal(t, uint32(1), ch.status(), "no error")
	assert.Equal(t, data[:page], rb.Bytes()[:page])

	_, rb = ch.post(2*page, own)
	require.NoError(t, r.d.Unmap(rb.Addr()+uint64(page), page))
	ch.send(data[:page+1], own|eop, 0)
	require.True(t, r.d.Step())
	st := ch.status()
	assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, ipcu.DMA_STATUS.ERRCODE.Get(st))
	assert.Equal(t, ipcu.DMA_STATUS_ERR_RING_RX, ipcu.DMA_STATUS.ERR_RING.Get(st))
	assert.Equal(t, uint32(1), ipcu.DMA_STATUS.ERR_IDX.Get(st))
}

// Strict priority between levels, round-robin within one (9.7): at equal
// priority channels take turns in ascending order; a higher priority
// channel always goes first.
func TestDMAArbitration(t *testing.T) {
	r := stepRig(t)
	prios := []uint32{1, 1, 2, 1} // channel 2 is HIGH
	var chs []*chanRig
	for c, p := range prios {
		ch := r.open(c, 1, 2, 4, 4, p)
		for i := 0; i < 2; i++ {
			ch.stageRX(64, own)
			ch.stageTX(pattern(16, byte(c)), own|eop, uint16(i))
		}
		chs = append(chs, ch)
	}
	r.d.SetTrace(true)
	for _, ch := range chs {
		ch.publishRX()
		ch.publishTX()
	}
	assert.Equal(t, 8, r.d.RunEngine())
	assert.Equal(t, []string{
		"dma deliver ch2", "dma deliver ch2",
		"dma deliver ch0", "dma deliver ch1", "dma deliver ch3",
		"dma deliver ch0", "dma deliver ch1", "dma deliver ch3",
	}, dmaEvents(r.d.Trace(), "dma"))

	// A PRIO change takes effect at the next arbitration.
	for _, ch := range chs[:2] {
		ch.post(64, own)
		ch.send(pattern(16, 0), own|eop, 0)
	}
	r.blk[0].DMA[1].CFG.Write(1 | 1<<4 | 2<<8 | 3<<16)
	assert.Equal(t, 2, r.d.RunEngine())
	assert.Equal(t, []string{"dma deliver ch1", "dma deliver ch0"}, dmaEvents(r.d.Trace(), "dma"))
}

// A channel that stalls loses its turn without moving the round-robin
// pointer (9.7): after ch1 delivers, ch2 comes before the unstalled ch0.
func TestDMAArbitrationStall(t *testing.T) {
	r := stepRig(t)
	var chs []*chanRig
	for c := 0; c < 3; c++ {
		ch := r.open(c, 1, 2, 4, 4, 0)
		if c != 0 {
			ch.post(64, own)
		}
		ch.send(pattern(16, byte(c)), own|eop, 0)
		chs = append(chs, ch)
	}
	r.d.SetTrace(true)
	require.True(t, r.d.Step()) // ch0 stalls
	require.True(t, r.d.Step()) // ch1
	chs[0].post(64, own)
	assert.Equal(t, 2, r.d.RunEngine())
	assert.Equal(t, []string{"dma stall ch0", "dma deliver ch1", "dma deliver ch2", "dma deliver ch0"},
		dmaEvents(r.d.Trace(), "dma"))
}

// Clearing RUN, CTRL.EN, a channel reset and a soft reset stop the
// channel (9.8): nothing moves; setting RUN again resumes at the current
// indices. A channel reset abandons the packet.
func TestDMAStop(t *testing.T) {
	r := stepRig(t)
	ch := r.open(0, 1, 2, 4, 4, 0)
	_, rb := ch.post(64, own)
	data := pattern(32, 7)
	ch.send(data, own|eop, 0)
	for _, stop := range []struct{ off, on func() }{
		{func() { ch.tx.TX_CTRL.Write(0) }, func() { ch.tx.TX_CTRL.Write(runWB) }},
		{func() { ch.rx.RX_CTRL.Write(ctrlWBEn) }, func() { ch.rx.RX_CTRL.Write(runWB) }},
		{func() { r.blk[0].CTRL.Write(0) }, func() { r.blk[0].CTRL.Write(1) }},
	} {
		stop.off()
		assert.Zero(t, ch.status())
		assert.False(t, r.d.Step())
		stop.on()
	}
	assert.Equal(t, [4]uint32{}, ch.cons())
	require.True(t, r.d.Step())
	assert.Equal(t, data, rb.Bytes()[:32])

	// Channel reset: the posted packet is abandoned with the registers.
	_, rb = ch.post(64, own)
	ch.send(data, own|eop, 0)
	r.channel(0, 1, 3)
	assert.False(t, r.d.Step())
	assert.Equal(t, bytes.Repeat([]byte{0xaa}, 64), rb.Bytes())

	// Soft reset.
	ch = r.open(1, 1, 2, 4, 4, 0)
	_, rb = ch.post(64, own)
	ch.send(data, own|eop, 0)
	r.blk[0].CTRL.Write(2) // SRST
	r.blk[0].CTRL.Write(1)
	assert.False(t, r.d.Step())
	assert.Equal(t, bytes.Repeat([]byte{0xaa}, 64), rb.Bytes())
}

// waitEvent steps nothing: it polls the trace until an event starting
// with prefix appears, and returns the events seen.
func waitEvent(t *testing.T, d *Device, prefix string) []string {
	var seen []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range d.Trace() {
			if e.Event != "" {
				seen = append(seen, e.Event)
				if strings.HasPrefix(e.Event, prefix) {
					return seen
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no %q event; saw %q", prefix, seen)
	return nil
}

// A CompletionDelay fault makes the engine complete the packet later,
// without holding the lock meanwhile; a stop during the delay abandons it
// (9.8: when the stopping write completes, the channel has stopped), and
// it is transferred when the channel runs again.
func TestDMACompletionDelay(t *testing.T) {
	r := stepRig(t)
	ch := r.open(0, 1, 2, 4, 4, 0)
	r.d.SetTrace(true)
	r.d.SetFaults(FaultPlan{CompletionDelay: 30 * time.Millisecond})
	_, rb := ch.post(64, own)
	data := pattern(32, 8)
	ch.send(data, own|eop, 0)

	start := time.Now()
	done := make(chan bool)
	go func() { done <- r.d.Step() }()
	waitEvent(t, r.d, "fault: completion delay ch0")
	assert.Equal(t, [4]uint32{}, ch.cons(), "registers are accessible during the delay")
	assert.True(t, <-done)
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	assert.Equal(t, [4]uint32{1, 1, 1, 1}, ch.cons())
	assert.Equal(t, data, rb.Bytes()[:32])
	assert.Equal(t, []string{"dma deliver ch0"}, dmaEvents(r.d.Trace(), "dma"))

	// Stopped during the delay: abandoned. (A longer delay, so that the
	// stop surely falls in it.)
	r.d.SetFaults(FaultPlan{CompletionDelay: 150 * time.Millisecond})
	_, rb = ch.post(64, own)
	ch.send(data, own|eop, 1)
	go func() { done <- r.d.Step() }()
	waitEvent(t, r.d, "fault: completion delay ch0")
	ch.tx.TX_CTRL.Write(0)
	assert.True(t, <-done)
	assert.Equal(t, [4]uint32{1, 1, 1, 1}, ch.cons(), "nothing completed after the stop")
	assert.Equal(t, bytes.Repeat([]byte{0xaa}, 64), rb.Bytes())
	assert.Equal(t, []string{"dma abandon ch0"}, dmaEvents(r.d.Trace(), "dma"))
	r.d.SetFaults(FaultPlan{})
	ch.tx.TX_CTRL.Write(runWB)
	require.True(t, r.d.Step())
	assert.Equal(t, data, rb.Bytes()[:32])

	// A channel reset during the delay abandons it too.
	r.d.SetFaults(FaultPlan{CompletionDelay: 150 * time.Millisecond})
	_, rb = ch.post(64, own)
	ch.send(data, own|eop, 2)
	go func() { done <- r.d.Step() }()
	waitEvent(t, r.d, "fault: completion delay ch0")
	r.channel(0, 1, 3)
	r.channel(0, 1, 2)
	assert.True(t, <-done)
	assert.Equal(t, bytes.Repeat([]byte{0xaa}, 64), rb.Bytes())
	assert.Contains(t, dmaEvents(r.d.Trace(), "dma"), "dma abandon ch0")
}

// An injected DMA error halts the channel when its Packet-th packet is
// selected, with the 9.6 side effects (here BUF_FAULT: marking); clearing
// ERR retries the packet, which then goes through.
func TestDMAInjectedError(t *testing.T) {
	r := stepRig(t)
	ch := r.open(2, 1, 2, 4, 4, 0)
	r.d.SetTrace(true)
	r.d.SetFaults(FaultPlan{DMAErrors: []DMAError{
		{Channel: 2, Packet: 2, Code: errBufFault},
		{Channel: 2, Packet: 4, Code: errTooBig},
	}})
	for i := 0; i < 3; i++ {
		ch.post(64, own)
		ch.send(pattern(8, byte(i)), own|eop, uint16(i))
	}
	require.True(t, r.d.Step())
	require.True(t, r.d.Step())
	st := ch.status()
	assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_BUF_FAULT, ipcu.DMA_STATUS.ERRCODE.Get(st))
	assert.Equal(t, ipcu.DMA_STATUS_ERR_RING_TX, ipcu.DMA_STATUS.ERR_RING.Get(st))
	assert.Equal(t, uint32(1), ipcu.DMA_STATUS.ERR_IDX.Get(st))
	assert.Equal(t, uint16(own|eop|flagErr|errBufFault<<8), getDesc(ch.txRing, 1).flags)
	assert.Equal(t, uint32(1<<2), r.blk[2].CORE[2].DMA_ERR_PEND.Read())
	assert.Equal(t, [4]uint32{1, 1, 1, 1}, ch.cons())
	assert.Contains(t, dmaEvents(r.d.Trace(), "fault:"), "fault: dma error ch2 BUF_FAULT")

	ch.tx.STATUS.Write(errW1)
	require.True(t, r.d.Step()) // the third selection retries packet 2
	assert.Equal(t, [4]uint32{2, 2, 2, 2}, ch.cons())
	require.True(t, r.d.Step()) // fourth: TOO_BIG on RX
	st = ch.status()
	assert.Equal(t, ipcu.DMA_STATUS_ERRCODE_TOO_BIG, ipcu.DMA_STATUS.ERRCODE.Get(st))
	assert.Equal(t, ipcu.DMA_STATUS_ERR_RING_RX, ipcu.DMA_STATUS.ERR_RING.Get(st))
	assert.Equal(t, uint32(2), ipcu.DMA_STATUS.ERR_IDX.Get(st))
	ch.rx.STATUS.Write(errW1)
	assert.Equal(t, 1, r.d.RunEngine())
	assert.Equal(t, [4]uint32{3, 3, 3, 3}, ch.cons())
}

// waitNote waits up to d for a notification on core k's eventfd and
// consumes it; it reports whether there was one.
func waitNote(c *Core, d time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(c.EventFD()), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, int(d/time.Millisecond)); err != nil && !errors.Is(err, unix.EINTR) {
		return false, err
	}
	var buf [8]byte
	_, err := unix.Read(c.EventFD(), buf[:])
	if errors.Is(err, unix.EAGAIN) {
		return false, nil
	}
	return err == nil, err
}

// The free-running engine moves packets on its own, asynchronously to the
// register writes: a sender and an interrupt-driven receiver (11.9, 11.10)
// on two goroutines exchange packets of 1 to 3000 bytes through an 8-entry
// ring of 2 KiB buffers, in order and intact.
func TestDMAFreeRunning(t *testing.T) {
	r := newRig(t, Config{})
	r.blk[0].CTRL.Write(1)
	ch := r.open(0, 1, 2, 8, 8, 0)
	const packets, bufSize = 300, 2048
	size := func(i int) int { return 1 + i*997%3000 }
	rxBufs := make([]*Buffer, 8)
	for i := range rxBufs {
		_, rxBufs[i] = ch.stageRX(bufSize, own|irq)
	}
	ch.publishRX()
	txBufs := make([]*Buffer, 8)
	for i := range txBufs {
		txBufs[i] = r.alloc(1, 3000)
	}

	sendErr := make(chan error, 1)
	go func() { // core 1: polls TX_CONS through the write-back word
		deadline := time.Now().Add(10 * time.Second)
		for i := 0; i < packets; i++ {
			for ch.txProd-ch.txWB.Load32(0) == 8 {
				if time.Now().After(deadline) {
					sendErr <- errors.New("sender: TX ring never drained")
					return
				}
				runtime.Gosched()
			}
			slot := int(ch.txProd % 8)
			copy(txBufs[slot].Bytes(), pattern(size(i), byte(i)))
			putDesc(ch.txRing, slot, dsc{txBufs[slot].Addr(), uint32(size(i)), own | eop, uint16(i)})
			ch.txProd++
			ch.publishTX()
		}
		sendErr <- nil
	}()

	// Core 2: interrupt-driven receive.
	core := r.d.Core(2)
	regs := r.blk[2]
	var next, rxCons uint32
	var pkt []byte
	got := 0
	deadline := time.Now().Add(10 * time.Second)
	for got < packets {
		require.True(t, time.Now().Before(deadline), "received %d of %d packets", got, packets)
		_, err := waitNote(core, 100*time.Millisecond)
		require.NoError(t, err)
		regs.CORE[2].DMA_PEND.Write(regs.CORE[2].DMA_PEND.Read())
		rxCons = ch.rxWB.Load32(0)
		for ; next != rxCons; next++ {
			slot := int(next % 8)
			x := getDesc(ch.rxRing, slot)
			pkt = append(pkt, rxBufs[slot].Bytes()[:x.len]...)
			if x.flags&eop != 0 {
				require.Equal(t, uint16(got), x.id)
				require.Equal(t, pattern(size(got), byte(got)), pkt, "packet %d", got)
				pkt = pkt[:0]
				got++
			}
			putDesc(ch.rxRing, slot, dsc{rxBufs[slot].Addr(), bufSize, own | irq, 0})
			ch.rxProd++
		}
		ch.publishRX()
		regs.CORE[2].IRQ_EOI.Write(1)
	}
	require.NoError(t, <-sendErr)
	assert.Equal(t, uint32(1), ch.status())
}

// BenchmarkDMA moves 4 KiB packets from core 1 to core 2 through the
// free-running engine, 64-entry rings, polled through the write-back
// words, and reports the throughput of the model in MiB/s.
func BenchmarkDMA(b *testing.B) {
	const n, size = 64, 4096
	d, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	host, _ := ipcu.New(d.Core(0), 0)
	snd, _ := ipcu.New(d.Core(1), 0)
	rcv, _ := ipcu.New(d.Core(2), 0)
	alloc := func(k, sz int) *Buffer {
		buf, err := d.Core(k).Alloc(sz, 0)
		if err != nil {
			b.Fatal(err)
		}
		return buf
	}
	host.DMA[0].CFG.Write(1 | 1<<4 | 2<<8)
	host.CTRL.Write(1)
	txRing, rxRing, txWB, rxWB := alloc(1, n*descSize), alloc(2, n*descSize), alloc(1, 4), alloc(2, 4)
	tx, rx := &snd.DMA[0], &rcv.DMA[0]
	tx.TX_BASE.Write(txRing.Addr())
	tx.TX_SIZE.Write(n)
	tx.TX_WB.Write(txWB.Addr())
	rx.RX_BASE.Write(rxRing.Addr())
	rx.RX_SIZE.Write(n)
	rx.RX_WB.Write(rxWB.Addr())
	txBufs, rxBufs := make([]*Buffer, n), make([]*Buffer, n)
	for i := range txBufs {
		txBufs[i], rxBufs[i] = alloc(1, size), alloc(2, size)
		copy(txBufs[i].Bytes(), pattern(size, byte(i)))
		putDesc(rxRing, i, dsc{rxBufs[i].Addr(), size, own, 0})
	}
	rx.RX_PROD.Write(n)
	tx.TX_CTRL.Write(runWB)
	rx.RX_CTRL.Write(runWB)

	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	var txProd, rxNext, rxProd uint32 = 0, 0, n
	for rxNext < uint32(b.N) {
		progress := false
		if txCons := txWB.Load32(0); txProd < uint32(b.N) && txProd-txCons < n {
			for ; txProd < uint32(b.N) && txProd-txCons < n; txProd++ {
				s := int(txProd % n)
				putDesc(txRing, s, dsc{txBufs[s].Addr(), size, own | eop, uint16(txProd)})
			}
			tx.TX_PROD.Write(txProd)
			progress = true
		}
		if rxCons := rxWB.Load32(0); rxNext != rxCons {
			for ; rxNext != rxCons; rxNext++ {
				s := int(rxNext % n)
				putDesc(rxRing, s, dsc{rxBufs[s].Addr(), size, own, 0})
				rxProd++
			}
			rx.RX_PROD.Write(rxProd)
			progress = true
		}
		if !progress {
			runtime.Gosched()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*size/(1<<20)/b.Elapsed().Seconds(), "MiB/s")
	if !bytes.Equal(rxBufs[0].Bytes(), txBufs[0].Bytes()) {
		b.Fatal("payload mismatch")
	}
}

// The free-running engine's goroutine ends with Close.
func TestDMAEngineGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		d, err := New(Config{})
		require.NoError(t, err)
		require.NoError(t, d.Close())
	}
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > before && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, n, before)
}
