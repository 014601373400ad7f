package dmaring

// SPSC is a lock-free single-producer single-consumer ring of fixed-size
// slots in shared memory: a memfd or /dev/shm mapping two processes share,
// or any 8-byte aligned []byte. One side formats the memory with InitSPSC,
// the other attaches with AttachSPSC; either side may produce and the other
// consume. Messages are copied in by Enqueue and out by Dequeue, so the
// caller's buffers never live in shared memory. RingSize documents the
// layout of the shared bytes, and ErrBroken what a broken ring does.
//
// Each slot carries a sequence stamp: the consumer polls the stamp of the
// slot it reads next, the producer the stamp of the slot it writes next,
// and each keeps its own position in private memory, so in steady state no
// side reads an index the other writes. The payload and length are written
// and read between a load and a store of the slot's stamp; as these are
// sync/atomic operations the copies are ordered by the Go memory model's
// synchronizes-before edges, which is also what keeps the race detector
// quiet in tests where both sides are goroutines.
//
// What a message costs: Enqueue and Dequeue each make one sequentially
// consistent store, the stamp's (a locked instruction on amd64, which
// drains the store buffer), so that a caller's later load (of a peer's
// sleeper count, say) comes after the slot changed hands; the position
// index is published with a release store (storeRel64: a plain store on
// amd64, STLR on arm64), since no peer reads it in steady state. A batch
// makes release stores of its stamps and one sequentially consistent
// store, of the index, at its end. Under the race detector, and on the
// architectures other than amd64 and arm64, every store is sync/atomic's.
//
// # A misbehaving peer
//
// The peer may be buggy or hostile and write anything, at any time, to the
// shared memory. Every word read from it (a stamp, a length, an index, a
// header field) is read once into private memory and checked before use,
// with arithmetic that cannot overflow; the addresses, lengths and buffers
// the ring works with are its own (the validated shape, the caller's
// slices). Whatever the peer does, an operation never panics, never reads
// or writes outside the ring's bytes (mem[:RingSize]) or the caller's
// buffer, and never copies more than the caller's buffer holds or more
// than MaxMessage: a hostile peer can deny service, and can feed garbage
// payloads, but cannot crash this process, corrupt its memory, or make it
// leak data into another ring or read data from one.
//
// Detected, making the ring broken (ErrBroken): a header that does not
// validate at attach time; a stamp that is not one of the two legal values
// for the slot at this side's position (the SPSC check is exact: the
// producer at position p accepts p, free, or p+1-slots, still full; the
// consumer accepts p+1, written, or p, empty); a length longer than
// MaxMessage; the peer marking the ring broken (the header's broken word,
// checked whenever an operation finds the ring full or empty).
//
// Not detected, because a correct peer could have written the same bytes:
// a stamp that is legal but a lie (the peer publishing a slot it never
// wrote, replaying or dropping messages), garbage payloads of a legal
// length, a peer rewriting payloads while they are copied (the copy then
// holds a mix), header fields rewritten after attach (never read again, so
// harmless), and a peer that stops or dies: the ring then looks full or
// empty forever, and only a timeout or a liveness check outside the ring
// (a pidfd, for instance) can tell.
//
// A producer handle and a consumer handle may be used from two goroutines
// (or processes) at once; each handle is for one goroutine at a time.
type SPSC struct {
	r ring
}

// InitSPSC formats mem as an empty SPSC ring of slots slots of slotSize
// bytes each and returns it. slots must be a power of two from 2 to 2^30,
// slotSize a multiple of 8 from SlotHeaderSize to 2^30 (a multiple of 64
// keeps slots on their own cache lines), mem 8-byte aligned (a page-aligned
// mapping is best) and at least RingSize(slots, slotSize) bytes long;
// otherwise the error wraps ErrLayout. The ring uses only the first
// RingSize bytes of mem. No peer may use mem until InitSPSC returns.
func InitSPSC(mem []byte, slots, slotSize int) (*SPSC, error) {
	s := new(SPSC)
	if err := initRing(&s.r, mem, kindSPSC, slots, slotSize); err != nil {
		return nil, err
	}
	return s, nil
}

// AttachSPSC returns the SPSC ring another process (or InitSPSC) formatted
// in mem. It reads the header once and checks it: the magic, the version,
// the kind, that the shape is valid and fits len(mem), and that the ring is
// not marked broken. A header that does not check out is an error wrapping
// ErrLayout (or ErrBroken).
func AttachSPSC(mem []byte) (*SPSC, error) {
	s := new(SPSC)
	if err := attachRing(&s.r, mem, kindSPSC); err != nil {
		return nil, err
	}
	return s, nil
}

// Producer returns a producer handle starting at the position the ring's
// producer last published (0 on a new ring). The ring has one producer at a
// time across all the processes that share it: a second handle is only for
// taking over from a producer that has stopped for good.
//
// A producer that stopped between filling a slot and publishing its
// position left stamps ahead of the published position; the handle skips
// the slots whose stamps say they were filled (and perhaps consumed
// since), at most one lap, so that it resumes after the last message
// written rather than taking the ring for broken.
func (s *SPSC) Producer() *SPSCProducer {
	r := &s.r
	pos := load64(r.tail)
	for range r.slots {
		d := load64(&slotAt(r.mem, r.slotOff(pos)).Seq) - pos
		if d != 1 && d != r.slots {
			break
		}
		pos++
	}
	return &SPSCProducer{r: r, pos: pos}
}

// Consumer returns a consumer handle starting at the position the ring's
// consumer last published (0 on a new ring). The ring has one consumer at a
// time across all the processes that share it: a second handle is only for
// taking over from a consumer that has stopped for good.
//
// A consumer that stopped between freeing a slot and publishing its
// position left freed slots ahead of the published position; the handle
// skips those (freed, and perhaps refilled for the next lap since), at
// most one lap, so that no message is received twice.
func (s *SPSC) Consumer() *SPSCConsumer {
	r := &s.r
	pos := load64(r.head)
	for range r.slots {
		d := load64(&slotAt(r.mem, r.slotOff(pos)).Seq) - pos
		if d != r.slots && d != r.slots+1 {
			break
		}
		pos++
	}
	return &SPSCConsumer{r: r, pos: pos}
}

// Slots returns the number of slots: the most messages the ring holds.
func (s *SPSC) Slots() int { return int(s.r.slots) }

// SlotSize returns the size of a slot in bytes.
func (s *SPSC) SlotSize() int { return s.r.slotSize }

// MaxMessage returns the longest message in bytes: SlotSize minus
// SlotHeaderSize.
func (s *SPSC) MaxMessage() int { return s.r.maxMsg }

// Size returns the number of bytes of shared memory the ring uses.
func (s *SPSC) Size() int { return len(s.r.mem) }

// Err returns nil, or the error (wrapping ErrBroken) that broke the ring.
func (s *SPSC) Err() error { return s.r.err() }

// MarkBroken marks the ring broken, in this process and in shared memory:
// every later operation on either side returns an error wrapping
// ErrBroken, the peer's as soon as it finds the ring full or empty. Use it
// to stop the peer when this side gives up on the ring.
func (s *SPSC) MarkBroken() { s.r.markBroken() }

// SPSCProducer is the producer side of an SPSC ring. Its methods are for
// one goroutine at a time.
type SPSCProducer struct {
	// The paddings keep pos, written on every operation, off the cache
	// lines of the heap objects allocated next to the handle, such as the
	// consumer handle, whose position another goroutine writes (false
	// sharing in private memory).
	_   [cacheLine]byte
	r   *ring
	pos uint64 // the position of the next message; private
	_   [cacheLine]byte
}

// Enqueue copies msg into the next slot. It returns ErrTooLarge if msg is
// longer than MaxMessage, ErrFull if the ring has no free slot, and an
// error wrapping ErrBroken if the ring is or becomes broken.
func (p *SPSCProducer) Enqueue(msg []byte) error {
	r := p.r
	if err := r.err(); err != nil {
		return err
	}
	if len(msg) > r.maxMsg {
		return ErrTooLarge
	}
	if err := p.put(msg, true); err != nil {
		return err
	}
	storeRel64(r.tail, p.pos) // no one reads it in steady state: no fence
	return nil
}

// EnqueueBatch enqueues msgs in order until one does not fit and returns
// how many it enqueued, publishing its position once for the batch. When
// that is fewer than len(msgs) the error says why msgs[n] was not: ErrFull,
// ErrTooLarge, or an error wrapping ErrBroken.
func (p *SPSCProducer) EnqueueBatch(msgs [][]byte) (int, error) {
	r := p.r
	if err := r.err(); err != nil {
		return 0, err
	}
	n := 0
	var err error
	for _, msg := range msgs {
		if len(msg) > r.maxMsg {
			err = ErrTooLarge
			break
		}
		if err = p.put(msg, false); err != nil {
			break
		}
		n++
	}
	if n > 0 {
		// Sequentially consistent, unlike the stamps' release stores:
		// it fences them, so that the batch's stamps are visible before
		// any later load, as a single Enqueue's stamp store is.
		store64(r.tail, p.pos)
	}
	return n, err
}

// put writes msg, which fits a slot, at p.pos and advances it. With fence,
// the stamp's store is sequentially consistent (store64); without, it is a
// release store (storeRel64) and the caller fences it.
func (p *SPSCProducer) put(msg []byte, fence bool) error {
	r := p.r
	off := r.slotOff(p.pos)
	s := slotAt(r.mem, off)
	if seq := load64(&s.Seq); seq != p.pos {
		if seq == p.pos-r.slots+1 { // the message of the previous lap is still there
			return r.idle(ErrFull)
		}
		return r.fail("producer at position %d: slot stamp %#x, want %#x (free) or %#x (full)",
			p.pos, seq, p.pos, p.pos-r.slots+1)
	}
	// The payload and the length are plain stores, made visible with the
	// stamp's store, which orders them before the consumer's load of that
	// stamp (the consumer reads the length once, atomically). A message
	// then costs at most one locked instruction and, while the consumer
	// polls the slot, one transfer of its line. Ping-pong round trips on
	// the 2-core test machine: 1.3 us with an atomic length store before
	// the copy (the polling consumer takes the line back between the two
	// locked stores), 0.22 us with it after the copy, 0.18 us with a
	// plain one.
	copy(r.payload(off, len(msg)), msg)
	s.Len = le32(uint32(len(msg)))
	// Either store publishes length and payload to the consumer.
	if fence {
		store64(&s.Seq, p.pos+1)
	} else {
		storeRel64(&s.Seq, p.pos+1)
	}
	p.pos++
	return nil
}

// SPSCConsumer is the consumer side of an SPSC ring. Its methods are for
// one goroutine at a time.
type SPSCConsumer struct {
	_   [cacheLine]byte // padding, as in SPSCProducer
	r   *ring
	pos uint64 // the position of the next message; private
	_   [cacheLine]byte
}

// Dequeue copies the next message into buf and returns its length. It
// returns ErrEmpty if there is none, and an error wrapping ErrBroken if the
// ring is or becomes broken. If buf is shorter than the message, Dequeue
// returns the message's length and ErrShortBuffer (io.ErrShortBuffer), and
// the message stays in the ring.
func (c *SPSCConsumer) Dequeue(buf []byte) (int, error) {
	r := c.r
	if err := r.err(); err != nil {
		return 0, err
	}
	n, err := c.get(buf, true)
	if err != nil {
		return n, err
	}
	storeRel64(r.head, c.pos) // no one reads it in steady state: no fence
	return n, nil
}

// DequeueBatch dequeues up to min(len(bufs), len(lens)) messages, the ith
// into bufs[i] with its length in lens[i], and returns how many it
// dequeued, publishing its position once for the batch. It stops early
// when the ring is empty or the next message is longer than its buffer. It
// returns an error only when it dequeued nothing: ErrEmpty; ErrShortBuffer,
// with the length of the message, which stays in the ring, in lens[0]; or
// an error wrapping ErrBroken. A condition met after some messages (the
// ring found broken, for instance) is reported by the next call.
func (c *SPSCConsumer) DequeueBatch(bufs [][]byte, lens []int) (int, error) {
	r := c.r
	if err := r.err(); err != nil {
		return 0, err
	}
	k := min(len(bufs), len(lens))
	n := 0
	for ; n < k; n++ {
		l, err := c.get(bufs[n], false)
		if err != nil {
			if n == 0 {
				lens[0] = l
				return 0, err
			}
			break
		}
		lens[n] = l
	}
	if n > 0 {
		store64(r.head, c.pos) // fences the stamps, as in EnqueueBatch
	}
	return n, nil
}

// get copies the message at c.pos into buf and advances c.pos; fence as
// in put.
func (c *SPSCConsumer) get(buf []byte, fence bool) (int, error) {
	r := c.r
	off := r.slotOff(c.pos)
	s := slotAt(r.mem, off)
	if seq := load64(&s.Seq); seq != c.pos+1 {
		if seq == c.pos { // not written yet
			return 0, r.idle(ErrEmpty)
		}
		return 0, r.fail("consumer at position %d: slot stamp %#x, want %#x (written) or %#x (empty)",
			c.pos, seq, c.pos+1, c.pos)
	}
	n := load32(&s.Len) // read once
	if n > uint32(r.maxMsg) {
		return 0, r.fail("consumer at position %d: message length %d, longer than a slot's %d", c.pos, n, r.maxMsg)
	}
	if int(n) > len(buf) {
		return int(n), ErrShortBuffer
	}
	p := r.payload(off, int(n))
	copy(buf, p)
	clear(p) // a free slot holds nothing of an earlier message
	// Frees the slot for the producer's next lap.
	if fence {
		store64(&s.Seq, c.pos+r.slots)
	} else {
		storeRel64(&s.Seq, c.pos+r.slots)
	}
	c.pos++
	return int(n), nil
}
