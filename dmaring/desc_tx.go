package dmaring

import (
	"context"
	"fmt"
	"os"

	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// A TX is the transmit ring of a DMA channel, run by the channel's SRC core
// (docs/ipcu.md 11.8, 11.9): each packet is one descriptor pointing at a
// DMA buffer of the TX's pool.
//
// Send copies a packet into a free buffer and publishes it; Buffer and Post
// let the caller fill the buffer in place; SendBatch and Post+Flush publish
// many descriptors with one TX_PROD write. Reap reclaims the descriptors
// the engine completed, from the write-back word, and ReapIDs reports their
// IDs: each packet sent is reported once, by Reap as sent or by Reset as
// failed.
//
// The methods are safe for concurrent use; Wait sleeps without holding the
// TX. In steady state Send, Post, Flush, Reap and ReapIDs allocate nothing.
type TX struct {
	d descRing

	// Private shadows of the ring, by slot: what is in flight there.
	slotBuf []int32 // the buffer, -1 for none
	slotID  []uint16

	bufs []TxBuf // the pool's buffers, by index

	prod uint32 // index of the next descriptor to fill
	pub  uint32 // the last value written to TX_PROD
	cons uint32 // index of the next descriptor to reclaim
	seq  uint16 // the next ID Send gives

	// Completions Reset found: reported by the next Reap, done[doneHead:].
	done     []uint16
	doneHead int
}

// A TxBuf is a DMA buffer of a TX's pool, taken with Buffer to be filled in
// place and then given to Post or Discard.
type TxBuf struct {
	tx  *TX
	b   []byte
	idx int32
	out bool // taken with Buffer, not yet posted or discarded
}

// Bytes returns the buffer's BufSize bytes of DMA memory. Write the packet
// at its start. The slice must not be used after the buffer is posted or
// discarded, nor after the TX is closed.
func (b *TxBuf) Bytes() []byte { return b.b }

var (
	errEmptyPacket = fmt.Errorf("empty packet (a descriptor's LEN is 1 to %d): %w", MaxDMAPacket, os.ErrInvalid)
	errNotTaken    = fmt.Errorf("buffer not taken from this TX's Buffer: %w", os.ErrInvalid)
)

// OpenTX sets up the TX ring of cfg.Channel on the core cfg.Bus belongs
// to, which must be the channel's SRC (docs/ipcu.md 11.8): it stops and
// resets the ring, allocates the descriptors, the write-back word and
// cfg.Buffers buffers of cfg.BufSize bytes from cfg.Memory, programs
// TX_BASE, TX_SIZE and TX_WB and sets RUN | WB_EN. Close releases it all.
func OpenTX(cfg RingConfig) (*TX, error) {
	t := &TX{}
	d := &t.d
	if err := d.open(&cfg, regmap.DMA_STATUS_ERR_RING_TX); err != nil {
		return nil, fmt.Errorf("opening the TX ring of DMA channel %d: %w", cfg.Channel, err)
	}
	t.slotBuf = make([]int32, d.size)
	for i := range t.slotBuf {
		t.slotBuf[i] = -1
	}
	t.slotID = make([]uint16, d.size)
	t.bufs = make([]TxBuf, d.nbuf)
	for i := range t.bufs {
		t.bufs[i] = TxBuf{tx: t, b: d.bufMem(int32(i)), idx: int32(i)}
	}
	for i := d.nbuf - 1; i >= 0; i-- {
		d.free = append(d.free, int32(i))
	}
	t.done = make([]uint16, 0, d.size)
	d.start()
	return t, nil
}

// Channel returns the DMA channel.
func (t *TX) Channel() int { return t.d.ch }

// RingSize returns the number of descriptors.
func (t *TX) RingSize() int { return int(t.d.size) }

// BufSize returns the size of each buffer: the largest packet.
func (t *TX) BufSize() int { return t.d.bufSize }

// InFlight returns the number of descriptors posted and not yet reclaimed
// by Reap.
func (t *TX) InFlight() int {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	return int(t.prod - t.cons)
}

// Send copies p into a free buffer, posts it in the next descriptor and
// publishes it (one TX_PROD write). Its ID is a sequence number, counting
// every packet Send and SendBatch gave to this TX. Send returns ErrFull if
// the ring or the pool is full (Reap, or Wait, then try again),
// ErrTooLarge if p is longer than BufSize, an error wrapping os.ErrInvalid
// if p is empty, and the ring's error if it is broken or closed.
func (t *TX) Send(p []byte) error {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if err := t.d.usable(); err != nil {
		return err
	}
	if err := t.stage(p, t.seq); err != nil {
		return err
	}
	t.seq++
	t.flush()
	return nil
}

// SendID is Send with the descriptor ID given: the receiver gets it with
// the packet, and ReapIDs and Reset report it.
func (t *TX) SendID(p []byte, id uint16) error {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if err := t.d.usable(); err != nil {
		return err
	}
	if err := t.stage(p, id); err != nil {
		return err
	}
	t.flush()
	return nil
}

// SendBatch sends ps in order, as Send does, until one cannot be sent, and
// publishes all it posted with one TX_PROD write. It returns how many it
// sent and, if fewer than len(ps), why ps[n] was not (ErrFull,
// ErrTooLarge, ...).
func (t *TX) SendBatch(ps [][]byte) (int, error) {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if err := t.d.usable(); err != nil {
		return 0, err
	}
	n := 0
	var err error
	for _, p := range ps {
		if err = t.stage(p, t.seq); err != nil {
			break
		}
		t.seq++
		n++
	}
	t.flush()
	return n, err
}

// Buffer takes a free buffer from the pool, for the caller to fill and
// give to Post (or Discard). It returns ErrFull if none is free.
func (t *TX) Buffer() (*TxBuf, error) {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if err := t.d.usable(); err != nil {
		return nil, err
	}
	f := t.d.free
	if len(f) == 0 {
		return nil, ErrFull
	}
	b := &t.bufs[f[len(f)-1]]
	t.d.free = f[:len(f)-1]
	b.out = true
	return b, nil
}

// Post posts the first n bytes of b, taken with Buffer, as a packet with
// descriptor ID id, in the next descriptor. It does not publish it: Flush
// does, for every descriptor posted since the last TX_PROD write. On error
// (ErrFull: no free descriptor; a bad n) b stays the caller's.
func (t *TX) Post(b *TxBuf, n int, id uint16) error {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if err := t.d.usable(); err != nil {
		return err
	}
	switch {
	case b == nil || b.tx != t || !b.out:
		return errNotTaken
	case n < 1:
		return errEmptyPacket
	case n > t.d.bufSize:
		return ErrTooLarge
	case t.prod-t.cons == t.d.size:
		return ErrFull
	}
	b.out = false
	t.post(b.idx, uint32(n), id)
	return nil
}

// Discard gives b, taken with Buffer and not posted, back to the pool.
func (t *TX) Discard(b *TxBuf) {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if b == nil || b.tx != t || !b.out || t.d.closed {
		return
	}
	b.out = false
	t.d.free = append(t.d.free, b.idx)
}

// Flush publishes the descriptors posted since the last TX_PROD write,
// with one TX_PROD write (none if there are none).
func (t *TX) Flush() error {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if err := t.d.usable(); err != nil {
		return err
	}
	t.flush()
	return nil
}

// stage copies p into a free buffer and posts it.
func (t *TX) stage(p []byte, id uint16) error {
	switch {
	case len(p) == 0:
		return errEmptyPacket
	case len(p) > t.d.bufSize:
		return ErrTooLarge
	case t.prod-t.cons == t.d.size || len(t.d.free) == 0:
		return ErrFull
	}
	f := t.d.free
	b := f[len(f)-1]
	t.d.free = f[:len(f)-1]
	copy(t.d.bufMem(b), p)
	t.post(b, uint32(len(p)), id)
	return nil
}

// post fills the descriptor at prod (docs/ipcu.md 11.9 step 3) and records
// what is in flight there in the private shadows.
func (t *TX) post(b int32, n uint32, id uint16) {
	slot := t.prod & t.d.mask
	t.slotBuf[slot], t.slotID[slot] = b, id
	t.d.putDesc(slot, t.d.bufAddr(b), n, descOwn|descEOP|t.d.descFlag, id)
	t.prod++
}

// flush is docs/ipcu.md 11.9 step 4.
func (t *TX) flush() {
	if t.prod != t.pub {
		t.d.publish(t.prod)
		t.pub = t.prod
	}
}

// Reap reclaims the descriptors the engine completed, and their buffers,
// and returns how many (docs/ipcu.md 11.9 step 1). It reads the write-back
// word once: an index that moved back, or further than the descriptors in
// flight, breaks the ring (an error wrapping ErrBroken, until Reset).
func (t *TX) Reap() (int, error) { return t.reap(nil, false) }

// ReapIDs is Reap that reclaims at most len(ids) descriptors and stores
// their IDs, in the order the packets were posted, in ids.
func (t *TX) ReapIDs(ids []uint16) (int, error) { return t.reap(ids, true) }

func (t *TX) reap(ids []uint16, limit bool) (int, error) {
	d := &t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return 0, err
	}
	n := 0
	for ; t.doneHead < len(t.done) && (!limit || n < len(ids)); n++ {
		if limit {
			ids[n] = t.done[t.doneHead]
		}
		t.doneHead++
	}
	if t.doneHead == len(t.done) {
		t.done, t.doneHead = t.done[:0], 0
	}
	wb := loadWB(d.wb)
	k, ok := checkAdvance(t.cons, wb, t.pub-t.cons)
	if !ok {
		return n, d.fail("write-back index %d is %d descriptors past the last reclaimed %d, with %d in flight",
			wb, k, t.cons, t.pub-t.cons)
	}
	if limit {
		k = min(k, uint32(len(ids)-n))
		t.reclaim(k, ids[n:])
	} else {
		t.reclaim(k, nil)
	}
	return n + int(k), nil
}

// reclaim releases the k descriptors from cons, storing their IDs in ids
// unless it is nil.
func (t *TX) reclaim(k uint32, ids []uint16) {
	for i := uint32(0); i < k; i++ {
		slot := (t.cons + i) & t.d.mask
		if ids != nil {
			ids[i] = t.slotID[slot]
		}
		t.d.free = append(t.d.free, t.slotBuf[slot])
		t.slotBuf[slot] = -1
	}
	t.cons += k
}

// Wait publishes what was posted (Flush), then waits until Reap has
// something to reclaim or nothing is in flight. It polls the write-back
// word, yielding at first, then sleeping up to PollInterval between polls,
// and wakes on RingConfig.Notify. It returns a *ChannelError (wrapping
// ErrHalted) when the channel halted on an error this TX must recover from
// (ChannelError.Owner), an error wrapping os.ErrDeadlineExceeded when ctx's
// deadline passes, ctx's error when it is canceled, and one wrapping
// os.ErrClosed when the TX is closed.
func (t *TX) Wait(ctx context.Context) error {
	t.d.mu.Lock()
	if t.d.usable() == nil {
		t.flush()
	}
	t.d.mu.Unlock()
	return t.d.wait(ctx, t)
}

// ready implements waiter.
func (t *TX) ready(checkStatus bool) (bool, error) {
	d := &t.d
	if err := d.usable(); err != nil {
		return false, err
	}
	if t.doneHead < len(t.done) || t.pub == t.cons || loadWB(d.wb) != t.cons {
		return true, nil
	}
	if checkStatus {
		if h := d.halt(); h != nil && h.Owner() == regmap.DMA_STATUS_ERR_RING_TX {
			return false, h
		}
		d.republish(t.pub)
	}
	return false, nil
}

// Err returns the TX's state as an error: nil while it runs, an error
// wrapping os.ErrClosed or ErrBroken, or, read from STATUS, the channel's
// halt as a *ChannelError, whichever ring caused it.
func (t *TX) Err() error {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	return t.d.errLocked()
}

// Retry acknowledges a halt and resumes the channel where it stopped,
// retrying the failed step (docs/ipcu.md 9.6, 11.12 step 4): for a cause
// that went away (memory mapped again, an injected fault), or a BAD_INDEX,
// after which it writes TX_PROD again.
func (t *TX) Retry() error {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if err := t.d.usable(); err != nil {
		return err
	}
	t.d.clearHalt(true)
	t.d.publish(t.pub)
	return nil
}

// Reset gives up on what is in flight and restarts the ring (docs/ipcu.md
// 11.12, "give up on the ring", and 11.8): it stops the ring, keeps for
// the next Reap the descriptors the engine completed up to the stop (their
// packets were delivered), releases every other descriptor posted and
// returns their IDs, in order: those packets were not sent. It then resets
// the indices, programs the ring again, sets RUN and, if the channel
// halted on an error this TX recovers from (ChannelError.Owner), clears
// it, so that the channel runs again. A broken ring is usable again after
// Reset. Buffers taken with Buffer stay the caller's.
func (t *TX) Reset() ([]uint16, error) {
	d := &t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, d.usable()
	}
	if err := d.checkOwner(); err != nil {
		return nil, fmt.Errorf("resetting the %s: %w", d.name, err)
	}
	d.stop()
	// TX_CONS says what completed before the stop; after a channel reset
	// it reads 0 and the write-back word, if still trusted, says it. Both
	// are checked, and the further of the two wins: a register reset to
	// 0 also passes the check, as no progress, on the ring's first lap.
	inFlight := t.pub - t.cons
	k, ok := checkAdvance(t.cons, d.consReg.Read(), inFlight)
	if d.broken == nil {
		if kw, okw := checkAdvance(t.cons, loadWB(d.wb), inFlight); okw && (!ok || kw > k) {
			k, ok = kw, true
		}
	}
	if ok {
		for i := uint32(0); i < k; i++ {
			t.done = append(t.done, t.slotID[(t.cons+i)&d.mask])
		}
		t.reclaim(k, nil)
	}
	failed := make([]uint16, 0, t.prod-t.cons)
	for ; t.cons != t.prod; t.cons++ {
		slot := t.cons & d.mask
		failed = append(failed, t.slotID[slot])
		d.free = append(d.free, t.slotBuf[slot])
		t.slotBuf[slot] = -1
	}
	t.prod, t.pub, t.cons = 0, 0, 0
	d.broken = nil
	if err := d.program(); err != nil {
		return failed, d.fail("resetting: %v", err)
	}
	d.start()
	d.clearHalt(false)
	return failed, nil
}

// Close stops the ring and frees its DMA memory. Descriptors in flight are
// abandoned; buffers taken with Buffer must not be used any more. A Wait
// in progress returns an error wrapping os.ErrClosed. Close is idempotent.
func (t *TX) Close() error {
	if t == nil {
		return nil
	}
	return t.d.closeRing()
}
