package dmaring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/ipcu/ipcu/regs"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// The reference block's DMA descriptor rings (docs/ipcu.md 9, 11.8 to
// 11.12). A TX runs on a channel's SRC core, an RX on its DST core; each
// owns its ring's registers, its descriptors, its write-back word and a
// pool of DMA buffers, and keeps everything it needs to trust in private
// memory: buffer addresses, capacities, IDs and indices are never read
// back from descriptors. What the engine writes (the write-back word, RX
// descriptors) is read once, into private memory, and validated there.

// Limits of this revision of the block (docs/ipcu.md 2).
const (
	// DescriptorSize is the size of a descriptor in bytes.
	DescriptorSize = 16
	// MaxRingSize is the largest ring: 2^DMACAPS.MAX_RING_LOG2 descriptors.
	MaxRingSize = 1 << 12
	// MaxDMAPacket is the largest descriptor LEN and packet:
	// 2^DMACAPS.MAX_LEN_LOG2 bytes.
	MaxDMAPacket = 1 << 16
)

// Descriptor layout (docs/ipcu.md 9.2): ADDR, LEN, FLAGS, ID, little-endian.
const (
	descOffLen   = 8
	descOffFlags = 12
	descOffID    = 14

	descOwn   uint16 = 1 << 0
	descEOP   uint16 = 1 << 1
	descIRQ   uint16 = 1 << 2
	descErr   uint16 = 1 << 3
	descECode uint16 = 0xf << 8
)

// Ring control bits (TX_CTRL and RX_CTRL, docs/ipcu.md 4.4).
const (
	ctrlRun  = 1 << 0
	ctrlWBEn = 1 << 1
	ctrlRst  = 1 << 2
)

// wbLine is the cache line the write-back word has to itself, after the
// descriptors, so that the driver's polling loads do not share a line with
// its descriptor stores. Buffers are aligned to it too.
const wbLine = 64

// numChannels is the number of DMA[c] register instances (CAPS.NDMA is at
// most this).
const numChannels = 4

// ErrHalted is what a *ChannelError wraps: the DMA channel halted on an
// error (STATUS.ERR = 1) and moves nothing until the ring that caused it is
// recovered (Reset, or Retry once the cause is gone).
var ErrHalted = errors.New("DMA channel halted")

// A ChannelError describes the halt of a DMA channel, as STATUS reports it
// (docs/ipcu.md 9.6). It wraps ErrHalted.
type ChannelError struct {
	// Channel is the DMA channel.
	Channel int
	// Code is STATUS.ERRCODE, the cause.
	Code regmap.DMA_STATUS_ERRCODE
	// Ring is STATUS.ERR_RING, the ring on which the error was detected.
	Ring regmap.DMA_STATUS_ERR_RING
	// Slot is STATUS.ERR_IDX: the offending descriptor's slot; the RX_CONS
	// slot for TOO_BIG; the low 16 bits of the rejected index for
	// BAD_INDEX; 0 for WB_FAULT and BAD_CFG.
	Slot int
}

// Error describes the halt, e.g. "DMA channel 0 halted: BUF_FAULT on the
// TX ring, slot 3".
func (e *ChannelError) Error() string {
	return fmt.Sprintf("DMA channel %d halted: %v on the %v ring, slot %d", e.Channel, e.Code, e.Ring, e.Slot)
}

// Unwrap returns ErrHalted.
func (e *ChannelError) Unwrap() error { return ErrHalted }

// Owner returns the ring whose owner recovers from the halt (docs/ipcu.md
// 11.12): Ring, except for TOO_BIG, a packet larger than the whole RX ring,
// which the sender drops by resetting its TX ring.
func (e *ChannelError) Owner() regmap.DMA_STATUS_ERR_RING {
	if e.Code == regmap.DMA_STATUS_ERRCODE_TOO_BIG {
		return regmap.DMA_STATUS_ERR_RING_TX
	}
	return e.Ring
}

// RingConfig says what a TX or RX ring runs on and how it is shaped. Bus,
// Memory and Notify are the caller's: the ring uses them and never closes
// them.
type RingConfig struct {
	// Bus is the block's registers as the owning core sees them (a UIO or
	// VFIO window, or a fakedev core): the channel's SRC core for a TX,
	// its DST core for an RX.
	Bus regs.Bus
	// Base is the block's offset on Bus.
	Base uintptr
	// Channel is the DMA channel, 0 to CAPS.NDMA-1. The management core
	// must have enabled it for this core (docs/ipcu.md 11.1).
	Channel int
	// Memory gives the owning core's DMA memory: the ring, its write-back
	// word and the buffer pool.
	Memory Memory
	// RingSize is the number of descriptors: a power of two from 1 to
	// MaxRingSize.
	RingSize int
	// BufSize is the size of each DMA buffer in bytes, 1 to MaxDMAPacket:
	// the largest packet a TX sends, and the capacity of each RX
	// descriptor.
	BufSize int
	// Buffers is the number of DMA buffers in the pool. Default RingSize.
	// An RX needs at least RingSize, to keep its ring fully posted; more
	// leave room for packets held with RecvPacket. A TX may have fewer
	// (Send returns ErrFull when none is free) or more (buffers taken with
	// Buffer and not yet posted).
	Buffers int
	// MaxPacket is the largest packet an RX accepts, 1 to
	// min(MaxDMAPacket, RingSize x BufSize), its default; a longer one
	// breaks the ring (ErrBroken). TX ignores it.
	MaxPacket int
	// IRQ sets FLAGS.IRQ in every descriptor, so that each completion is
	// an event in the core's DMA_PEND (docs/ipcu.md 6.4). The core's
	// interrupt set-up (DMA_EN, COAL, IRQ_MASK, IRQ_EOI) is the job of
	// whoever owns the core's interrupt line, not the ring's.
	IRQ bool
	// Notify, if not nil, wakes Wait: whoever handles the core's
	// interrupt line sends on it (without blocking) after acknowledging
	// DMA_PEND (docs/ipcu.md 11.10 step 1), and never closes it. Wait
	// polls in any case, so a lost notification only delays it.
	Notify <-chan struct{}
	// PollInterval bounds how long Wait sleeps before it checks the ring
	// again. Default 1ms.
	PollInterval time.Duration
}

// descRing is what TX and RX share: the channel's registers, the ring's
// memory and the buffer pool, each in private memory once validated.
type descRing struct {
	mu sync.Mutex // guards everything below; Wait sleeps without it

	blk  *regmap.IPCU
	dma  *regmap.IPCU_DMA
	side regmap.DMA_STATUS_ERR_RING
	name string // "TX ring of DMA channel 0"
	ch   int
	self int

	ctrl     regs.RW[uint32] // X_CTRL
	baseReg  regs.RW[uint64] // X_BASE
	sizeReg  regs.RW[uint32] // X_SIZE
	wbReg    regs.RW[uint64] // X_WB
	prodReg  regs.RW[uint32] // X_PROD
	consReg  regs.RO[uint32] // X_CONS
	pendBit  uint32          // this ring's bit in CORE[self].DMA_PEND
	descFlag uint16          // FLAGS.IRQ if asked for

	size, mask uint32

	ringRegion Region
	ring       []byte // size descriptors
	wb         []byte // the 4-byte write-back word
	ringAddr   uint64
	wbAddr     uint64

	poolRegion Region
	pool       []byte
	poolAddr   uint64
	bufSize    int
	stride     int
	nbuf       int
	free       []int32 // free buffers, a stack

	notify  <-chan struct{}
	poll    time.Duration // the longest sleep of Wait
	sleep0  time.Duration // its first sleep
	closed  bool
	closing chan struct{} // closed by Close, to wake Wait
	broken  error         // the first reason the ring broke, wrapping ErrBroken
}

// open checks the block and the configuration, allocates the ring, its
// write-back word and the pool, and programs the ring's registers
// (docs/ipcu.md 11.8 steps 1 to 3). The ring is left stopped. On error
// nothing stays allocated.
func (d *descRing) open(cfg *RingConfig, side regmap.DMA_STATUS_ERR_RING) (err error) {
	d.side = side
	d.ch = cfg.Channel
	d.name = fmt.Sprintf("%v ring of DMA channel %d", side, cfg.Channel)
	if cfg.Bus == nil || cfg.Memory == nil {
		return errors.New("a Bus and a Memory are required")
	}
	if cfg.Channel < 0 || cfg.Channel >= numChannels {
		return fmt.Errorf("channel %d is not 0 to %d", cfg.Channel, numChannels-1)
	}
	blk, err := regmap.New(cfg.Bus, cfg.Base)
	if err != nil {
		return err
	}
	d.blk = blk
	if id := blk.ID.Read(); id != 0x49504355 {
		return fmt.Errorf("ID reads %#x, not 0x49504355: no IPCU block here", id)
	}
	if v := blk.VERSION.Read(); regmap.VERSION.MAJOR.Get(v) != 1 {
		return fmt.Errorf("VERSION %#x is not 1.x", v)
	}
	if n := int(regmap.CAPS.NDMA.Get(blk.CAPS.Read())); cfg.Channel >= n {
		return fmt.Errorf("the block has %d DMA channels", n)
	}
	caps := blk.DMACAPS.Read()
	maxRing := 1 << min(regmap.DMACAPS.MAX_RING_LOG2.Get(caps), 12)
	maxLen := 1 << min(regmap.DMACAPS.MAX_LEN_LOG2.Get(caps), 16)
	switch {
	case cfg.RingSize < 1 || cfg.RingSize > maxRing || cfg.RingSize&(cfg.RingSize-1) != 0:
		return fmt.Errorf("ring size %d is not a power of two from 1 to %d", cfg.RingSize, maxRing)
	case cfg.BufSize < 1 || cfg.BufSize > maxLen:
		return fmt.Errorf("buffer size %d is not 1 to %d", cfg.BufSize, maxLen)
	case cfg.Buffers < 0 || cfg.Buffers > 1<<20:
		return fmt.Errorf("%d buffers is not 0 (the ring size) to %d", cfg.Buffers, 1<<20)
	case cfg.PollInterval < 0:
		return fmt.Errorf("negative poll interval %v", cfg.PollInterval)
	}
	d.size, d.mask = uint32(cfg.RingSize), uint32(cfg.RingSize-1)
	d.bufSize = cfg.BufSize
	d.stride = (cfg.BufSize + wbLine - 1) &^ (wbLine - 1)
	d.nbuf = cfg.Buffers
	if d.nbuf == 0 {
		d.nbuf = cfg.RingSize
	}
	if uint64(d.nbuf)*uint64(d.stride) > 1<<30 {
		return fmt.Errorf("%d buffers of %d bytes: more than 1 GiB", d.nbuf, cfg.BufSize)
	}
	if cfg.IRQ {
		d.descFlag = descIRQ
	}
	d.notify = cfg.Notify
	d.poll = cfg.PollInterval
	if d.poll == 0 {
		d.poll = time.Millisecond
	}
	d.sleep0 = 10 * time.Microsecond

	d.self = int(regmap.CORE_ID.ID.Get(blk.CORE_ID.Read()))
	d.dma = &blk.DMA[cfg.Channel]
	if err := d.checkOwner(); err != nil {
		return err
	}
	if side == regmap.DMA_STATUS_ERR_RING_TX {
		d.ctrl, d.baseReg, d.sizeReg, d.wbReg = d.dma.TX_CTRL, d.dma.TX_BASE, d.dma.TX_SIZE, d.dma.TX_WB
		d.prodReg, d.consReg = d.dma.TX_PROD, d.dma.TX_CONS
		d.pendBit = 1 << cfg.Channel
	} else {
		d.ctrl, d.baseReg, d.sizeReg, d.wbReg = d.dma.RX_CTRL, d.dma.RX_BASE, d.dma.RX_SIZE, d.dma.RX_WB
		d.prodReg, d.consReg = d.dma.RX_PROD, d.dma.RX_CONS
		d.pendBit = 1 << (16 + cfg.Channel)
	}

	// 11.8 step 1: stop the ring and reset its indices, in case a previous
	// owner left it running.
	d.ctrl.Write(ctrlRst)

	// 11.8 step 2: the ring and its write-back word (one allocation,
	// 16-byte aligned and more), and the buffers.
	defer func() {
		if err != nil {
			err = errors.Join(err, d.release())
		}
	}()
	ringBytes := cfg.RingSize * DescriptorSize
	mem, addr, err := allocRegion(cfg.Memory, &d.ringRegion, ringBytes+wbLine, wbLine, "the ring")
	if err != nil {
		return err
	}
	d.ring, d.ringAddr = mem[:ringBytes:ringBytes], addr
	d.wb, d.wbAddr = mem[ringBytes:ringBytes+4:ringBytes+4], addr+uint64(ringBytes)
	if !wordAligned(d.wb) {
		return errors.New("the memory's CPU view is not 4-byte aligned")
	}
	if d.pool, d.poolAddr, err = allocRegion(cfg.Memory, &d.poolRegion, d.nbuf*d.stride, wbLine, "the buffers"); err != nil {
		return err
	}
	d.free = make([]int32, 0, d.nbuf)
	d.closing = make(chan struct{})
	return d.program()
}

// allocRegion allocates size bytes aligned to align and checks what the
// Memory returned: enough bytes, the alignment, no device range past 2^64.
func allocRegion(m Memory, into *Region, size, align int, what string) ([]byte, uint64, error) {
	r, err := m.Alloc(size, align)
	if err != nil {
		return nil, 0, fmt.Errorf("allocating %s: %w", what, err)
	}
	if r == nil {
		return nil, 0, fmt.Errorf("allocating %s: the Memory returned no region", what)
	}
	*into = r
	b, a := r.Bytes(), r.Addr()
	switch {
	case len(b) < size:
		return nil, 0, fmt.Errorf("allocating %s: %d bytes, want %d", what, len(b), size)
	case a%uint64(align) != 0:
		return nil, 0, fmt.Errorf("allocating %s: device address %#x is not %d-byte aligned", what, a, align)
	case a+uint64(size)-1 < a:
		return nil, 0, fmt.Errorf("allocating %s: %d bytes at device address %#x wrap past 2^64", what, size, a)
	}
	return b[:size:size], a, nil
}

// release frees the ring's DMA memory. The ring must be stopped.
func (d *descRing) release() error {
	var errs []error
	for _, r := range []*Region{&d.ringRegion, &d.poolRegion} {
		if *r != nil {
			errs = append(errs, (*r).Free())
			*r = nil
		}
	}
	d.ring, d.wb, d.pool = nil, nil, nil
	return errors.Join(errs...)
}

// checkOwner reads DMA[c].CFG: the channel must be enabled with this core
// as the ring's owner.
func (d *descRing) checkOwner() error {
	cfg := d.dma.CFG.Read()
	f := regmap.DMA_CFG
	owner, what := f.SRC.Get(cfg), "SRC"
	if d.side == regmap.DMA_STATUS_ERR_RING_RX {
		owner, what = f.DST.Get(cfg), "DST"
	}
	switch {
	case !f.EN.IsSet(cfg):
		return fmt.Errorf("DMA channel %d is disabled: %w", d.ch, os.ErrPermission)
	case int(owner) != d.self:
		return fmt.Errorf("DMA channel %d's %s is core %d, not core %d: %w", d.ch, what, owner, d.self, os.ErrPermission)
	}
	return nil
}

// program is docs/ipcu.md 11.8 steps 1 and 3 on a stopped ring: reset the
// indices, clear the write-back word, write BASE, SIZE and WB, and read
// them back (a torn 64-bit write or a refused access shows there). It
// clears the ring's stale completion and error events.
func (d *descRing) program() error {
	d.ctrl.Write(ctrlRst) // RUN = 0, RST = 1: stopped (9.8), PROD = CONS = 0
	clear(d.ring)
	storeWB(d.wb, 0) // the engine writes it only while the ring runs
	for _, r := range []struct {
		name string
		reg  interface {
			Write(uint64)
			Read() uint64
		}
		v uint64
	}{
		{"BASE", d.baseReg, d.ringAddr},
		{"SIZE", size64{d.sizeReg}, uint64(d.size)},
		{"WB", d.wbReg, d.wbAddr},
	} {
		// The typed 64-bit registers are written in one access, or low
		// half then high half on a 32-bit bus (docs/ipcu.md 3.4); a
		// dropped high half leaves the old value, so write again once.
		for try := 0; ; try++ {
			r.reg.Write(r.v)
			if got := r.reg.Read(); got == r.v {
				break
			} else if try > 0 {
				return fmt.Errorf("%v_%s reads %#x after writing %#x", d.side, r.name, got, r.v)
			}
		}
	}
	core := &d.blk.CORE[d.self]
	core.DMA_PEND.Write(d.pendBit)
	core.DMA_ERR_PEND.Write(1 << d.ch)
	return nil
}

// size64 adapts X_SIZE to the loop of program.
type size64 struct{ r regs.RW[uint32] }

func (s size64) Write(v uint64) { s.r.Write(uint32(v)) }
func (s size64) Read() uint64   { return uint64(s.r.Read()) }

// start is docs/ipcu.md 11.8 step 7: RUN | WB_EN.
func (d *descRing) start() { d.ctrl.Write(ctrlRun | ctrlWBEn) }

// stop clears RUN and keeps the indices: when the write completes, the
// channel has stopped (docs/ipcu.md 9.8) and CONS no longer moves.
func (d *descRing) stop() { d.ctrl.Write(ctrlWBEn) }

// bufAddr and bufMem return buffer b's device address and CPU bytes.
func (d *descRing) bufAddr(b int32) uint64 { return d.poolAddr + uint64(b)*uint64(d.stride) }
func (d *descRing) bufMem(b int32) []byte {
	off := int(b) * d.stride
	return d.pool[off : off+d.bufSize : off+d.bufSize]
}

// putDesc writes a whole descriptor into slot. The engine sees it once the
// PROD write that follows publishes it.
func (d *descRing) putDesc(slot uint32, addr uint64, n uint32, flags, id uint16) {
	b := d.ring[slot*DescriptorSize : slot*DescriptorSize+DescriptorSize]
	binary.LittleEndian.PutUint64(b, addr)
	binary.LittleEndian.PutUint32(b[descOffLen:], n)
	binary.LittleEndian.PutUint16(b[descOffFlags:], flags)
	binary.LittleEndian.PutUint16(b[descOffID:], id)
}

// publish writes X_PROD. Every descriptor and payload store before it is
// visible to the engine first (docs/ipcu.md 9.5, driver to engine): the
// write is an atomic store on a mapped Window, a release on every
// architecture Go supports, and a locked access on fakedev.
func (d *descRing) publish(prod uint32) { d.prodReg.Write(prod) }

// fail marks the ring broken, keeping the first reason, and returns the
// ring's error.
func (d *descRing) fail(format string, args ...any) error {
	if d.broken == nil {
		d.broken = fmt.Errorf("%s: %w: "+format, append([]any{d.name, ErrBroken}, args...)...)
	}
	return d.broken
}

// usable returns the error that stops every operation: closed or broken.
func (d *descRing) usable() error {
	if d.closed {
		return fmt.Errorf("%s: %w", d.name, os.ErrClosed)
	}
	return d.broken
}

// halt reads STATUS and returns the channel's halt, or nil.
func (d *descRing) halt() *ChannelError {
	st := d.dma.STATUS.Read()
	f := regmap.DMA_STATUS
	if !f.ERR.IsSet(st) {
		return nil
	}
	return &ChannelError{Channel: d.ch, Code: f.ERRCODE.Get(st), Ring: f.ERR_RING.Get(st), Slot: int(f.ERR_IDX.Get(st))}
}

// errLocked is Err with the lock held.
func (d *descRing) errLocked() error {
	if err := d.usable(); err != nil {
		return err
	}
	if h := d.halt(); h != nil {
		return h
	}
	return nil
}

// clearHalt is docs/ipcu.md 11.12 steps 1 and 4 for this ring's owner:
// acknowledge DMA_ERR_PEND and, if the halt is this ring's to recover
// (or any, with all), clear STATUS.ERR so that the channel resumes.
func (d *descRing) clearHalt(all bool) {
	d.blk.CORE[d.self].DMA_ERR_PEND.Write(1 << d.ch)
	if h := d.halt(); h != nil && (all || h.Owner() == d.side) {
		d.dma.STATUS.Write(regmap.DMA_STATUS.ERR.Mask())
	}
}

// republish writes X_PROD again if the block does not hold prod: a PROD
// write it refused while STATUS.ERR was already 1 leaves no trace in
// STATUS (docs/ipcu.md 9.3), and would leave the ring waiting for ever.
// Wait calls it on its slow path, where register reads are affordable.
func (d *descRing) republish(prod uint32) {
	if d.prodReg.Read() != prod {
		d.publish(prod)
	}
}

// closeRing stops the ring, resets its indices and frees its memory.
func (d *descRing) closeRing() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.closing)
	// RUN = 0, RST = 1: when the write completes the engine no longer
	// touches the ring or its buffers (docs/ipcu.md 9.8), so they can go.
	d.ctrl.Write(ctrlRst)
	if err := d.release(); err != nil {
		return fmt.Errorf("closing the %s: %w", d.name, err)
	}
	return nil
}

// A waiter is a ring Wait can wait on. ready, called with the lock held,
// reports whether the wait is over or why it failed; checkStatus asks it to
// read STATUS too (done only once the fast polls have found nothing, since
// a STATUS read is a register access).
type waiter interface {
	ready(checkStatus bool) (bool, error)
}

// spins is how many times Wait polls, yielding between, before it sleeps.
const spins = 64

// wait polls w: a few times yielding the processor, then sleeping with an
// interval that doubles up to d.poll, waking early on d.notify, Close or
// ctx.
func (d *descRing) wait(ctx context.Context, w waiter) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	delay := d.sleep0
	for i := 0; ; i++ {
		d.mu.Lock()
		ok, err := w.ready(i >= spins)
		d.mu.Unlock()
		if ok || err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctxErr(ctx)
		}
		if i < spins {
			runtime.Gosched()
			continue
		}
		delay = min(delay, d.poll)
		if timer == nil {
			timer = time.NewTimer(delay)
		} else {
			timer.Reset(delay)
		}
		select {
		case <-ctx.Done():
			return ctxErr(ctx)
		case <-d.closing:
			return fmt.Errorf("%s: %w", d.name, os.ErrClosed)
		case <-d.notify:
		case <-timer.C:
		}
		delay *= 2
	}
}

// ctxErr returns the error of a done context: one wrapping both
// os.ErrDeadlineExceeded and context.DeadlineExceeded for a passed deadline,
// ctx.Err() wrapped otherwise.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return waitDeadline{}
	}
	return fmt.Errorf("waiting on a DMA ring: %w", err)
}

// waitDeadline is both os.ErrDeadlineExceeded and context.DeadlineExceeded.
type waitDeadline struct{}

func (waitDeadline) Error() string   { return "waiting on a DMA ring: deadline exceeded" }
func (waitDeadline) Timeout() bool   { return true }
func (waitDeadline) Temporary() bool { return true }
func (waitDeadline) Is(target error) bool {
	return target == os.ErrDeadlineExceeded || target == context.DeadlineExceeded
}

// checkAdvance validates a consumer index read from memory or a register
// the device writes: the engine only moves it forward from last, by at most
// the inFlight descriptors published and not yet reclaimed (modulo 2^32,
// docs/ipcu.md 9.3). It returns how many descriptors completed.
func checkAdvance(last, cons, inFlight uint32) (uint32, bool) {
	n := cons - last
	return n, n <= inFlight
}

// rxCompletion is a completed RX descriptor, decoded and validated.
type rxCompletion struct {
	len uint32
	id  uint16
	eop bool
}

// decodeRXCompletion decodes an RX descriptor the engine completed, read
// once from the ring into d, for a slot whose buffer holds capacity bytes
// (from private memory). By docs/ipcu.md 9.2 the engine writes LEN = 1 to
// the capacity, FLAGS = IRQ | EOP and nothing else, and the ID, which is
// data. ADDR is the driver's and not read.
func decodeRXCompletion(d *[DescriptorSize]byte, capacity uint32) (rxCompletion, error) {
	n := binary.LittleEndian.Uint32(d[descOffLen:])
	flags := binary.LittleEndian.Uint16(d[descOffFlags:])
	c := rxCompletion{len: n, id: binary.LittleEndian.Uint16(d[descOffID:]), eop: flags&descEOP != 0}
	switch {
	case flags&descOwn != 0:
		return c, fmt.Errorf("completed descriptor still has OWN (FLAGS %#04x)", flags)
	case flags&(descErr|descECode) != 0:
		return c, fmt.Errorf("completed descriptor has ERR/ECODE (FLAGS %#04x)", flags)
	case flags&^(descEOP|descIRQ) != 0:
		return c, fmt.Errorf("completed descriptor has reserved FLAGS bits (%#04x)", flags)
	case n == 0 || n > capacity:
		return c, fmt.Errorf("completed descriptor has LEN %d, not 1 to the buffer's %d", n, capacity)
	}
	return c, nil
}
