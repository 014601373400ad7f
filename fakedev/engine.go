package fakedev

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/ipcu/ipcu/regs/ipcu"
)

// EngineMode says how the DMA engine runs.
type EngineMode uint8

const (
	// EngineFreeRunning runs the engine in a goroutine of its own,
	// started by New and stopped by Close: packets move asynchronously
	// after the register write that makes a channel eligible, as on the
	// hardware (docs/ipcu.md 13.10).
	EngineFreeRunning EngineMode = iota
	// EngineStep moves nothing until the caller asks: Step makes one
	// arbitration decision, RunEngine makes them until no channel is
	// eligible. For deterministic tests.
	EngineStep
)

// String returns "free-running" or "step".
func (m EngineMode) String() string {
	switch m {
	case EngineFreeRunning:
		return "free-running"
	case EngineStep:
		return "step"
	}
	return fmt.Sprintf("EngineMode(%d)", uint8(m))
}

// Descriptor layout and FLAGS bits (docs/ipcu.md 9.2).
const (
	descSize  = 16
	flagOwn   = 1 << 0
	flagEOP   = 1 << 1
	flagIRQ   = 1 << 2
	flagErr   = 1 << 3
	flagECode = 0xf << 8
	maxLen    = 1 << MaxLenLog2
)

// engine is the DMA engine's own state. step serialises packets; the rest
// is guarded by the device's lock.
type engine struct {
	step sync.Mutex // held for a whole arbitration decision, delay included

	// Free-running mode only: kick's wake-up, Close's stop.
	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	rr    [4]int    // per PRIO: the channel delivered last, -1 for none
	gen   [4]uint64 // per channel: changes when in-flight work is abandoned
	pkt   [maxLen]byte
	parts []part
}

// part is one RX buffer reserved for the packet in flight.
type part struct {
	d   desc
	buf [][]byte
	n   uint32
}

// desc is a fetched descriptor and the memory it lies in.
type desc struct {
	addr  uint64
	len   uint32
	flags uint16
	id    uint16
	mem   [][]byte
}

// startEngine starts the free-running engine (New).
func (d *Device) startEngine() {
	if d.cfg.Engine != EngineFreeRunning {
		return
	}
	e := &d.eng
	e.wake = make(chan struct{}, 1)
	e.quit = make(chan struct{})
	e.done = make(chan struct{})
	go d.engineLoop()
}

// stopEngine stops the free-running engine and waits for it (Close). It
// must be called without the device's lock.
func (d *Device) stopEngine() {
	e := &d.eng
	e.stopOnce.Do(func() {
		if e.quit != nil {
			close(e.quit)
			<-e.done
		}
	})
}

// resetEngine is the engine's part of a soft or hard reset (docs/ipcu.md
// 10): in-flight work is abandoned and the arbiter pointers return to
// reset.
func (d *Device) resetEngine() {
	e := &d.eng
	for i := range e.rr {
		e.rr[i] = -1
	}
	for c := range e.gen {
		e.gen[c]++
	}
}

func (d *Device) engineLoop() {
	e := &d.eng
	defer close(e.done)
	for {
		select {
		case <-e.quit:
			return
		case <-e.wake:
		}
		for d.step() {
			select {
			case <-e.quit:
				return
			default:
			}
		}
	}
}

// kick tells the engine that a channel may have become eligible (called
// under the lock after every change that can make one so). It also ends
// the stall and the in-flight work of every channel that is not active:
// STATUS.STALL lasts only while the channel is active (4.4), and a stop
// abandons a packet still being fetched (9.8).
func (d *Device) kick() {
	for c := 0; c < d.cfg.DMAChannels; c++ {
		if !d.active(c) {
			d.dma[c].stall, d.dma[c].wait = false, false
			d.eng.gen[c]++
		}
	}
	if d.eng.wake != nil {
		select {
		case d.eng.wake <- struct{}{}:
		default:
		}
	}
}

// Step makes one decision of the DMA engine: it picks the eligible channel
// of 9.7 and delivers its packet, stalls it or halts it (docs/ipcu.md 9.4).
// It reports whether there was an eligible channel. Step is meant for
// EngineStep; in EngineFreeRunning it competes with the engine's
// goroutine, one packet at a time. With a CompletionDelay fault, Step
// sleeps without holding the device's lock.
func (d *Device) Step() bool { return d.step() }

// RunEngine calls Step until no channel is eligible and returns the number
// of decisions made.
func (d *Device) RunEngine() int {
	n := 0
	for d.step() {
		n++
	}
	return n
}

func (d *Device) step() bool {
	e := &d.eng
	e.step.Lock()
	defer e.step.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	defer d.iommu.resetScratch()
	c := d.arbitrate()
	if c < 0 {
		return false
	}
	d.faults.packets[c]++
	for _, f := range d.faults.plan.DMAErrors {
		if f.Channel == c && f.Packet == d.faults.packets[c] {
			d.injectError(c, f.Code)
			d.update()
			return true
		}
	}
	if delay := d.faults.plan.CompletionDelay; delay > 0 {
		ch := &d.dma[c]
		gen, txc, rxc := e.gen[c], ch.tx.cons, ch.rx.cons
		d.eventf(-1, "fault: completion delay ch%d", c)
		d.mu.Unlock()
		stopped := d.sleep(delay)
		d.mu.Lock()
		if stopped || d.closed || gen != e.gen[c] || txc != ch.tx.cons || rxc != ch.rx.cons || !d.eligible(c) {
			if !d.closed {
				d.eventf(-1, "dma abandon ch%d", c)
			}
			return true
		}
	}
	d.transfer(c)
	d.update()
	return true
}

// sleep waits for t, or until the free-running engine is stopped, which
// it reports.
func (d *Device) sleep(t time.Duration) bool {
	tm := time.NewTimer(t)
	defer tm.Stop()
	select {
	case <-tm.C:
		return false
	case <-d.eng.quit: // nil, never ready, in step mode
		return true
	}
}

// eligible is 9.7: active, a packet posted, not waiting after a stall.
func (d *Device) eligible(c int) bool {
	ch := &d.dma[c]
	return d.active(c) && ch.tx.prod != ch.tx.cons && !ch.wait
}

func (c *dmaState) prio() int { return int(c.cfg >> 16 & 3) }

// arbitrate picks the channel of 9.7: the highest PRIO, and among those
// the first in round-robin order after the one of that priority delivered
// last. It returns -1 when no channel is eligible.
func (d *Device) arbitrate() int {
	n := d.cfg.DMAChannels
	p := -1
	for c := 0; c < n; c++ {
		if d.eligible(c) {
			p = max(p, d.dma[c].prio())
		}
	}
	if p < 0 {
		return -1
	}
	start := d.eng.rr[p] + 1
	for i := 0; i < n; i++ {
		c := (start + i) % n
		if d.eligible(c) && d.dma[c].prio() == p {
			return c
		}
	}
	return -1
}

// transfer is docs/ipcu.md 9.4 for channel c: every check in order, then
// the packet's writes, all under the lock.
func (d *Device) transfer(c int) {
	ch := &d.dma[c]
	tx, rx := &ch.tx, &ch.rx
	for r := 0; r < 2; r++ {
		if !d.side(c, r).sizeOK() { // cannot happen while active; kept as a guard
			d.halt(c, errBadCfg, r, 0)
			return
		}
	}

	// 1-2. The TX descriptor.
	s := tx.cons & (tx.size - 1)
	td, ok := d.fetch(tx, s)
	switch {
	case !ok:
		d.halt(c, errDescFault, 0, s)
		return
	case td.flags&flagOwn == 0:
		d.halt(c, errNotOwned, 0, s)
		return
	case td.flags&flagEOP == 0:
		d.fail(c, errBadDesc, 0, s, &td)
		return
	case td.len == 0 || td.len > maxLen:
		d.fail(c, errBadLen, 0, s, &td)
		return
	}

	// 3. The payload, TX write-back.
	payload, ok := d.iommu.translate(td.addr, int(td.len), PermRead)
	if !ok {
		d.fail(c, errBufFault, 0, s, &td)
		return
	}
	var txWB, rxWB [][]byte
	if tx.ctrl&ctrlWBEn != 0 {
		if txWB, ok = d.iommu.translate(tx.wb, 4, PermWrite); !ok {
			d.halt(c, errWBFault, 0, 0)
			return
		}
	}

	// 4. Reserve RX buffers.
	parts := d.eng.parts[:0]
	defer func() { clear(parts); d.eng.parts = parts[:0] }()
	left := td.len
	for j := uint32(0); left > 0; j++ {
		if posted := rx.prod - rx.cons; j == posted {
			if posted == rx.size {
				d.halt(c, errTooBig, 1, rx.cons&(rx.size-1))
				return
			}
			ch.stall, ch.wait = true, true
			d.eventf(-1, "dma stall ch%d", c)
			return
		}
		rs := (rx.cons + j) & (rx.size - 1)
		rd, ok := d.fetch(rx, rs)
		switch {
		case !ok:
			d.halt(c, errDescFault, 1, rs)
			return
		case rd.flags&flagOwn == 0:
			d.halt(c, errNotOwned, 1, rs)
			return
		case rd.len == 0 || rd.len > maxLen:
			d.fail(c, errBadLen, 1, rs, &rd)
			return
		}
		n := min(rd.len, left)
		buf, ok := d.iommu.translate(rd.addr, int(n), PermWrite)
		if !ok {
			d.fail(c, errBufFault, 1, rs, &rd)
			return
		}
		parts = append(parts, part{d: rd, buf: buf, n: n})
		left -= n
	}

	// 5. RX write-back.
	if rx.ctrl&ctrlWBEn != 0 {
		if rxWB, ok = d.iommu.translate(rx.wb, 4, PermWrite); !ok {
			d.halt(c, errWBFault, 1, 0)
			return
		}
	}

	// 6. Store and forward the payload.
	pkt := d.eng.pkt[:td.len]
	gather(pkt, payload)
	for _, p := range parts {
		scatter(p.buf, pkt[:p.n])
		pkt = pkt[p.n:]
	}

	// 7. RX completion, RX_CONS.
	for i, p := range parts {
		flags := p.d.flags & flagIRQ
		if i == len(parts)-1 {
			flags |= flagEOP
		}
		var b [8]byte
		binary.LittleEndian.PutUint32(b[0:], p.n)
		binary.LittleEndian.PutUint16(b[4:], flags)
		binary.LittleEndian.PutUint16(b[6:], td.id)
		putAt(p.d.mem, 8, b[:])
	}
	rx.cons += uint32(len(parts))
	if rxWB != nil {
		store32(rxWB, rx.cons)
	}

	// 8. TX completion, TX_CONS.
	var f [2]byte
	binary.LittleEndian.PutUint16(f[:], td.flags&^(flagOwn|flagErr|flagECode))
	putAt(td.mem, 12, f[:])
	tx.cons++
	if txWB != nil {
		store32(txWB, tx.cons)
	}

	// 9. Events.
	for _, p := range parts {
		if p.d.flags&flagIRQ != 0 {
			d.dmaEvent(ch.dst(), 1<<(16+c))
		}
	}
	if td.flags&flagIRQ != 0 {
		d.dmaEvent(ch.src(), 1<<c)
	}
	ch.stall, ch.wait = false, false
	d.eng.rr[ch.prio()] = c
	d.eventf(-1, "dma deliver ch%d", c)
}

// fetch reads the descriptor in slot s of ring r, which must be mapped
// read-write (9.4 steps 1 and 4). A ring address past 2^64 is a fault.
func (d *Device) fetch(r *ring, s uint32) (desc, bool) {
	a := r.base + descSize*uint64(s)
	if a < r.base {
		return desc{}, false
	}
	mem, ok := d.iommu.translate(a, descSize, PermRW)
	if !ok {
		return desc{}, false
	}
	var b [descSize]byte
	if d.faults.chance(d.faults.plan.GarbageDescriptor) {
		// A buggy or hostile peer scribbled over the descriptor; the
		// engine judges what it fetches as ever (9.4).
		d.faults.rnd.Read(b[:])
		scatter(mem, b[:])
		d.event(-1, "fault: garbage descriptor")
	}
	gather(b[:], mem)
	return desc{
		addr:  binary.LittleEndian.Uint64(b[0:]),
		len:   binary.LittleEndian.Uint32(b[8:]),
		flags: binary.LittleEndian.Uint16(b[12:]),
		id:    binary.LittleEndian.Uint16(b[14:]),
		mem:   mem,
	}, true
}

// fail halts channel c with an error that marks the offending descriptor
// (BAD_LEN, BAD_DESC, BUF_FAULT): FLAGS = fetched FLAGS, ERR = 1, ECODE.
func (d *Device) fail(c, code, r int, s uint32, dsc *desc) {
	if !d.dma[c].err {
		var f [2]byte
		binary.LittleEndian.PutUint16(f[:], dsc.flags&^flagECode|flagErr|uint16(code)<<8)
		putAt(dsc.mem, 12, f[:])
	}
	d.halt(c, code, r, s)
}

// injectError is the DMAErrors fault: channel c halts with code as if the
// packet at TX_CONS had caused it.
func (d *Device) injectError(c, code int) {
	ch := &d.dma[c]
	code &= 0xf
	r, idx := 0, ch.tx.cons&(ch.tx.size-1)
	switch code {
	case errTooBig:
		r, idx = 1, ch.rx.cons&(ch.rx.size-1)
	case errWBFault, errBadCfg:
		idx = 0
	case errBadIndex:
		idx = ch.tx.prod
	}
	d.eventf(-1, "fault: dma error ch%d %v", c, ipcu.DMA_STATUS_ERRCODE(code))
	switch code {
	case errBadLen, errBadDesc, errBufFault:
		if td, ok := d.fetch(&ch.tx, idx); ok {
			d.fail(c, code, r, idx, &td)
			return
		}
	}
	d.halt(c, code, r, idx)
}

// putAt writes b at byte offset off of translated memory.
func putAt(segs [][]byte, off int, b []byte) {
	for _, s := range segs {
		if off >= len(s) {
			off -= len(s)
			continue
		}
		n := copy(s[off:], b)
		b, off = b[n:], 0
		if len(b) == 0 {
			return
		}
	}
}

// eventf records an internal event, formatted only when tracing.
func (d *Device) eventf(core int, format string, args ...any) {
	if d.tracing {
		d.event(core, fmt.Sprintf(format, args...))
	}
}
