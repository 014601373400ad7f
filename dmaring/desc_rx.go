package dmaring

import (
	"context"
	"fmt"

	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// An RX is the receive ring of a DMA channel, run by the channel's DST core
// (docs/ipcu.md 11.8, 11.10). It keeps the ring posted with buffers of its
// pool; the engine places each packet in one or more of them, in order,
// EOP on the last.
//
// Recv copies the next packet out and gives its buffers back to the ring;
// RecvPacket lends them to the caller instead, until RxPacket.Release.
// Everything read from the ring is validated first: the write-back index
// may only advance over posted buffers; each completed descriptor is read
// once into private memory and must have OWN, ERR and ECODE clear, a LEN of
// 1 to the capacity recorded privately for its slot (the whole capacity
// unless it ends the packet) and, within a packet, one ID; a packet may not
// exceed MaxPacket. Anything else breaks the ring (ErrBroken), until Reset.
// The ID is the sender's, passed through as data.
//
// The methods are safe for concurrent use; Wait sleeps without holding the
// RX. In steady state Recv, RecvPacket and Release allocate nothing.
type RX struct {
	d descRing

	maxPkt uint32

	// Private shadows of the ring, by slot: the buffer posted there and
	// the capacity the descriptor was given.
	slotBuf []int32 // -1 for none
	slotCap []uint32

	bufs []rxBuf    // by buffer index
	pkts []RxPacket // by first buffer index: packets lent by RecvPacket

	// Complete packets, by first buffer, waiting for Recv: pktQ[qHead:qTail]
	// modulo len(pktQ), a power of two of at least the buffer count.
	pktQ         []int32
	qHead, qTail uint32

	prod uint32 // the last value written to RX_PROD
	hw   uint32 // index of the next descriptor to read

	// The packet being read: its first and last buffers (cur < 0 for
	// none), bytes, buffers and ID.
	cur, last int32
	curLen    uint32
	curSegs   uint32
	curID     uint16
}

// rxBuf is what the RX knows of a buffer that holds received bytes.
type rxBuf struct {
	next   int32  // the packet's next buffer, -1 for the last
	len    uint32 // bytes in this buffer
	pktLen uint32 // first buffer only: the packet's length
	segs   uint32 // first buffer only: its buffers
	id     uint16 // first buffer only: its ID
}

// An RxPacket is a received packet left in the RX's DMA buffers
// (RecvPacket), until Release gives them back to the ring.
type RxPacket struct {
	rx    *RX
	first int32
	n     int
	segs  int
	id    uint16
	held  bool
}

// Len returns the packet's length in bytes.
func (p *RxPacket) Len() int { return p.n }

// ID returns the ID of the sender's TX descriptor.
func (p *RxPacket) ID() uint16 { return p.id }

// Segments returns the number of buffers the packet fills.
func (p *RxPacket) Segments() int { return p.segs }

// Segment returns the bytes of the packet in its ith buffer, 0 <= i <
// Segments: DMA memory, valid until Release.
func (p *RxPacket) Segment(i int) []byte {
	r := p.rx
	b := p.first
	for ; i > 0 && b >= 0; i-- {
		b = r.bufs[b].next
	}
	if i != 0 || b < 0 {
		return nil
	}
	return r.d.bufMem(b)[:r.bufs[b].len]
}

// Release gives the packet's buffers back to the ring, which posts them
// again. The packet must not be used afterwards, nor released again: the
// handle is the ring's, not allocated per packet, and a later packet
// starting in the same buffer gets it back from RecvPacket, so a second
// Release could release that packet. (A second Release before any later
// RecvPacket does nothing.)
func (p *RxPacket) Release() {
	r := p.rx
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if !p.held {
		return
	}
	p.held = false
	if d.closed {
		return
	}
	r.freeChain(p.first)
	if d.usable() == nil {
		r.refill()
	}
}

// OpenRX sets up the RX ring of cfg.Channel on the core cfg.Bus belongs
// to, which must be the channel's DST (docs/ipcu.md 11.8): it stops and
// resets the ring, allocates the descriptors, the write-back word and
// cfg.Buffers buffers (at least RingSize) of cfg.BufSize bytes from
// cfg.Memory, programs RX_BASE, RX_SIZE and RX_WB, posts a buffer in every
// descriptor, writes RX_PROD and sets RUN | WB_EN. Open the RX before the
// TX, so that no packet stalls. Close releases it all.
func OpenRX(cfg RingConfig) (*RX, error) {
	r := &RX{cur: -1, last: -1}
	d := &r.d
	if err := d.open(&cfg, regmap.DMA_STATUS_ERR_RING_RX); err != nil {
		return nil, fmt.Errorf("opening the RX ring of DMA channel %d: %w", cfg.Channel, err)
	}
	limit := min(uint64(MaxDMAPacket), uint64(d.size)*uint64(d.bufSize))
	var err error
	switch {
	case d.nbuf < int(d.size):
		err = fmt.Errorf("%d buffers cannot fill a ring of %d", d.nbuf, d.size)
	case cfg.MaxPacket < 0 || uint64(cfg.MaxPacket) > limit:
		err = fmt.Errorf("maximum packet %d is not 1 to %d (the ring's capacity)", cfg.MaxPacket, limit)
	}
	if err != nil {
		d.closeRing()
		return nil, fmt.Errorf("opening the RX ring of DMA channel %d: %w", cfg.Channel, err)
	}
	r.maxPkt = uint32(limit)
	if cfg.MaxPacket > 0 {
		r.maxPkt = uint32(cfg.MaxPacket)
	}
	r.slotBuf = make([]int32, d.size)
	for i := range r.slotBuf {
		r.slotBuf[i] = -1
	}
	r.slotCap = make([]uint32, d.size)
	r.bufs = make([]rxBuf, d.nbuf)
	r.pkts = make([]RxPacket, d.nbuf)
	q := 1
	for q < d.nbuf {
		q <<= 1
	}
	r.pktQ = make([]int32, q)
	for i := d.nbuf - 1; i >= 0; i-- {
		d.free = append(d.free, int32(i))
	}
	r.refill()
	d.start()
	return r, nil
}

// Channel returns the DMA channel.
func (r *RX) Channel() int { return r.d.ch }

// RingSize returns the number of descriptors.
func (r *RX) RingSize() int { return int(r.d.size) }

// BufSize returns the capacity of each buffer.
func (r *RX) BufSize() int { return r.d.bufSize }

// MaxPacket returns the largest packet the RX accepts.
func (r *RX) MaxPacket() int { return int(r.maxPkt) }

// refill posts free buffers in the free descriptors (docs/ipcu.md 11.10
// step 4) and publishes them with one RX_PROD write; a stalled channel
// resumes.
func (r *RX) refill() {
	d := &r.d
	n := 0
	for r.prod-r.hw < d.size && len(d.free) > 0 {
		b := d.free[len(d.free)-1]
		d.free = d.free[:len(d.free)-1]
		slot := r.prod & d.mask
		r.slotBuf[slot], r.slotCap[slot] = b, uint32(d.bufSize)
		d.putDesc(slot, d.bufAddr(b), uint32(d.bufSize), descOwn|d.descFlag, 0)
		r.prod++
		n++
	}
	if n > 0 {
		d.publish(r.prod)
	}
}

// Refill posts the free buffers of the pool, if any, with one RX_PROD
// write. Recv, Release and Wait do it by themselves.
func (r *RX) Refill() error {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if err := r.d.usable(); err != nil {
		return err
	}
	r.refill()
	return nil
}

// poll reads the write-back word once (docs/ipcu.md 11.10 step 2) and
// takes the descriptors completed since the last poll.
func (r *RX) poll() error {
	d := &r.d
	wb := loadWB(d.wb)
	k, ok := checkAdvance(r.hw, wb, r.prod-r.hw)
	if !ok {
		return d.fail("write-back index %d is %d descriptors past the last read %d, with %d buffers posted",
			wb, k, r.hw, r.prod-r.hw)
	}
	for ; k > 0; k-- {
		if err := r.take(); err != nil {
			return err
		}
	}
	return nil
}

// take reads the descriptor at hw, which the engine completed, once into
// private memory, validates it and appends its buffer to the packet being
// read; a buffer with EOP completes the packet, which joins pktQ.
func (r *RX) take() error {
	d := &r.d
	i := r.hw
	slot := i & d.mask
	var raw [DescriptorSize]byte
	copy(raw[:], d.ring[slot*DescriptorSize:])
	b, capacity := r.slotBuf[slot], r.slotCap[slot]
	r.slotBuf[slot] = -1
	r.hw++
	if b < 0 { // cannot happen: checkAdvance keeps hw below prod
		return d.fail("index %d: slot %d holds no buffer", i, slot)
	}
	st := &r.bufs[b]
	st.next = -1
	if r.cur < 0 {
		r.cur, r.curLen, r.curSegs = b, 0, 0
	} else {
		r.bufs[r.last].next = b
	}
	r.last = b // part of the packet now, for Reset to free
	c, err := decodeRXCompletion(&raw, capacity)
	if err != nil {
		return d.fail("index %d (slot %d): %v", i, slot, err)
	}
	if r.curSegs == 0 {
		r.curID = c.id
	} else if c.id != r.curID {
		return d.fail("index %d (slot %d): ID %#04x inside a packet of ID %#04x", i, slot, c.id, r.curID)
	}
	st.len = c.len
	r.curLen += c.len
	r.curSegs++
	switch {
	case r.curLen > r.maxPkt:
		return d.fail("index %d (slot %d): a packet of more than %d bytes, the maximum", i, slot, r.maxPkt)
	case !c.eop && c.len != capacity:
		// The engine fills each buffer to its capacity before the next
		// (docs/ipcu.md 9.4 step 6).
		return d.fail("index %d (slot %d): %d bytes in a buffer of %d before the end of the packet", i, slot, c.len, capacity)
	case !c.eop:
		return nil
	}
	f := &r.bufs[r.cur]
	f.pktLen, f.segs, f.id = r.curLen, r.curSegs, r.curID
	r.pktQ[r.qTail&uint32(len(r.pktQ)-1)] = r.cur
	r.qTail++
	r.cur, r.last = -1, -1
	return nil
}

// head returns the first buffer of the next complete packet, polling the
// ring if there is none yet.
func (r *RX) head() (int32, error) {
	d := &r.d
	if err := d.usable(); err != nil {
		return -1, err
	}
	if r.qHead == r.qTail {
		if err := r.poll(); err != nil {
			return -1, err
		}
		if r.qHead == r.qTail {
			return -1, ErrEmpty
		}
	}
	return r.pktQ[r.qHead&uint32(len(r.pktQ)-1)], nil
}

// freeChain gives the buffers of a packet from b back to the pool.
func (r *RX) freeChain(b int32) {
	for b >= 0 {
		next := r.bufs[b].next
		r.d.free = append(r.d.free, b)
		b = next
	}
}

// Recv copies the next packet into buf and returns its length and the ID
// of the sender's descriptor, then posts its buffers again. It returns
// ErrEmpty if no packet is complete, and an error wrapping ErrBroken if
// the ring is broken. If buf is shorter than the packet, Recv returns the
// packet's length and ID with ErrShortBuffer (io.ErrShortBuffer), and the
// packet stays.
func (r *RX) Recv(buf []byte) (int, uint16, error) {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	first, err := r.head()
	if err != nil {
		return 0, 0, err
	}
	f := &r.bufs[first]
	if int(f.pktLen) > len(buf) {
		return int(f.pktLen), f.id, ErrShortBuffer
	}
	n := 0
	for b := first; b >= 0; b = r.bufs[b].next {
		n += copy(buf[n:], d.bufMem(b)[:r.bufs[b].len])
	}
	r.qHead++
	r.freeChain(first)
	r.refill()
	return n, f.id, nil
}

// RecvPacket returns the next packet without copying it: its bytes stay in
// the RX's DMA buffers until Release, which the caller must call. It
// returns ErrEmpty if no packet is complete, and an error wrapping
// ErrBroken if the ring is broken. While packets are held the ring has
// fewer buffers to post (unless Buffers exceeds RingSize): the sender
// stalls rather than lose packets.
func (r *RX) RecvPacket() (*RxPacket, error) {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	first, err := r.head()
	if err != nil {
		return nil, err
	}
	f := &r.bufs[first]
	r.qHead++
	p := &r.pkts[first]
	*p = RxPacket{rx: r, first: first, n: int(f.pktLen), segs: int(f.segs), id: f.id, held: true}
	return p, nil
}

// Wait posts the free buffers (Refill), then waits until a packet is
// complete. It polls the write-back word, yielding at first, then sleeping
// up to PollInterval between polls, and wakes on RingConfig.Notify. It
// returns an error wrapping ErrBroken if what it read breaks the ring, a
// *ChannelError (wrapping ErrHalted) when the channel halted on an error
// this RX must recover from (ChannelError.Owner; a halt of the sender's
// ring only delays packets), an error wrapping os.ErrDeadlineExceeded when
// ctx's deadline passes, ctx's error when it is canceled, and one wrapping
// os.ErrClosed when the RX is closed.
func (r *RX) Wait(ctx context.Context) error {
	r.d.mu.Lock()
	if r.d.usable() == nil {
		r.refill()
	}
	r.d.mu.Unlock()
	return r.d.wait(ctx, r)
}

// ready implements waiter.
func (r *RX) ready(checkStatus bool) (bool, error) {
	d := &r.d
	if err := d.usable(); err != nil {
		return false, err
	}
	if r.qHead != r.qTail {
		return true, nil
	}
	if loadWB(d.wb) != r.hw {
		if err := r.poll(); err != nil {
			return false, err
		}
		if r.qHead != r.qTail {
			return true, nil
		}
	}
	if checkStatus {
		if h := d.halt(); h != nil && h.Owner() == regmap.DMA_STATUS_ERR_RING_RX {
			return false, h
		}
		d.republish(r.prod)
	}
	return false, nil
}

// Err returns the RX's state as an error: nil while it runs, an error
// wrapping os.ErrClosed or ErrBroken, or, read from STATUS, the channel's
// halt as a *ChannelError, whichever ring caused it.
func (r *RX) Err() error {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	return r.d.errLocked()
}

// Retry acknowledges a halt and resumes the channel where it stopped,
// retrying the failed step (docs/ipcu.md 9.6, 11.12 step 4): for a cause
// that went away, or a BAD_INDEX, after which it writes RX_PROD again.
func (r *RX) Retry() error {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if err := r.d.usable(); err != nil {
		return err
	}
	r.d.clearHalt(true)
	r.d.publish(r.prod)
	return nil
}

// Reset restarts the ring (docs/ipcu.md 11.12, "give up on the ring", and
// 11.8): it stops the ring and keeps the packets the engine delivered up
// to the stop, for Recv (unless the ring was broken: what it holds cannot
// be trusted then, and those packets are lost); gives every posted buffer
// back to the pool; resets the indices, programs the ring again, posts the
// buffers, sets RUN and, if the channel halted on an error this RX
// recovers from (ChannelError.Owner), clears it, so that the channel runs
// again. A broken ring is usable again after Reset. Packets held from
// RecvPacket stay the caller's.
func (r *RX) Reset() error {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.usable()
	}
	if err := d.checkOwner(); err != nil {
		return fmt.Errorf("resetting the %s: %w", d.name, err)
	}
	d.stop()
	if d.broken == nil {
		// RX_CONS says what was delivered before the stop; after a
		// channel reset it reads 0 and the write-back word says it.
		// The further of the two, as in TX.Reset.
		posted := r.prod - r.hw
		k, ok := checkAdvance(r.hw, d.consReg.Read(), posted)
		if kw, okw := checkAdvance(r.hw, loadWB(d.wb), posted); okw && (!ok || kw > k) {
			k, ok = kw, true
		}
		for ; ok && k > 0 && d.broken == nil; k-- {
			_ = r.take() // a failure breaks the ring; what it held is freed below
		}
	}
	for ; r.hw != r.prod; r.hw++ {
		slot := r.hw & d.mask
		if b := r.slotBuf[slot]; b >= 0 {
			d.free = append(d.free, b)
			r.slotBuf[slot] = -1
		}
	}
	if r.cur >= 0 { // a packet never completed
		r.freeChain(r.cur)
		r.cur, r.last = -1, -1
	}
	r.hw, r.prod = 0, 0
	d.broken = nil
	if err := d.program(); err != nil {
		return d.fail("resetting: %v", err)
	}
	// Clear the halt before writing RX_PROD: a bad PROD write while ERR
	// is 1 would be dropped without a trace (docs/ipcu.md 9.3).
	d.clearHalt(false)
	r.refill()
	d.start()
	return nil
}

// Close stops the ring and frees its DMA memory. Packets not yet received
// are lost; packets held from RecvPacket must not be used any more. A Wait
// in progress returns an error wrapping os.ErrClosed. Close is idempotent.
func (r *RX) Close() error {
	if r == nil {
		return nil
	}
	return r.d.closeRing()
}
