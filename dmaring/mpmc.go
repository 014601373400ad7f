package dmaring

// MPMC is a lock-free multi-producer multi-consumer ring of fixed-size
// slots in shared memory, after Dmitry Vyukov's bounded MPMC queue: any
// number of goroutines, in any number of processes that map the memory, may
// enqueue and dequeue at once. A producer claims a position by CAS on the
// shared tail and a consumer by CAS on the shared head; the claimed slot's
// sequence stamp then hands it from producer to consumer and back, and the
// payload is copied between a load and a store of that stamp (see SPSC for
// the memory ordering). The layout is RingSize's; one side formats the
// memory with InitMPMC, the others attach with AttachMPMC.
//
// # A misbehaving peer
//
// What SPSC guarantees holds here too: whatever a peer writes, an operation
// never panics, never reads or writes outside the ring's bytes or the
// caller's buffers, and never loops forever by itself.
//
// Detected (ErrBroken): a header that does not validate at attach time; a
// stamp not congruent to its slot position (a legal stamp is p or p+1
// modulo the slot count for a slot at position p); a stamp behind the
// window a correct ring can show at the position read from the shared
// index (older than the previous lap's claim); a stamp, or a failed CAS,
// that says the shared index moved on when a fresh read of it shows it did
// not (or moved backwards); a length longer than MaxMessage; the ring
// marked broken.
//
// Not detected: everything SPSC lists; moreover, with several
// participants, a participant that claims a position and then stops or
// dies leaves that slot unfinished, and every producer (or consumer) that
// reaches it sees the ring full (or empty) from then on; and a hostile
// participant can steal, duplicate or overwrite the messages of the
// others. An operation that keeps losing races to an index a peer moves
// without end gives up after many tries with ErrFull or ErrEmpty.
//
// All methods may be called from any number of goroutines at once.
type MPMC struct {
	r ring
}

// InitMPMC formats mem as an empty MPMC ring of slots slots of slotSize
// bytes each and returns it. The conditions on the arguments are
// InitSPSC's; an error wraps ErrLayout. No peer may use mem until InitMPMC
// returns.
func InitMPMC(mem []byte, slots, slotSize int) (*MPMC, error) {
	m := new(MPMC)
	if err := initRing(&m.r, mem, kindMPMC, slots, slotSize); err != nil {
		return nil, err
	}
	return m, nil
}

// AttachMPMC returns the MPMC ring another process (or InitMPMC) formatted
// in mem, after the checks of AttachSPSC.
func AttachMPMC(mem []byte) (*MPMC, error) {
	m := new(MPMC)
	if err := attachRing(&m.r, mem, kindMPMC); err != nil {
		return nil, err
	}
	return m, nil
}

// Slots returns the number of slots: the most messages the ring holds.
func (m *MPMC) Slots() int { return int(m.r.slots) }

// SlotSize returns the size of a slot in bytes.
func (m *MPMC) SlotSize() int { return m.r.slotSize }

// MaxMessage returns the longest message in bytes: SlotSize minus
// SlotHeaderSize.
func (m *MPMC) MaxMessage() int { return m.r.maxMsg }

// Size returns the number of bytes of shared memory the ring uses.
func (m *MPMC) Size() int { return len(m.r.mem) }

// Err returns nil, or the error (wrapping ErrBroken) that broke the ring.
func (m *MPMC) Err() error { return m.r.err() }

// MarkBroken marks the ring broken, in this process and in shared memory:
// every later operation here returns an error wrapping ErrBroken, and
// every peer's as soon as it finds the ring full or empty.
func (m *MPMC) MarkBroken() { m.r.markBroken() }

// putVerdict classifies the stamp seq of the slot of position pos for a
// producer that read pos from the shared tail: the slot is free for pos
// (0), or the ring is full at pos (-1), or the tail has moved on (1), or
// seq is one no correct ring shows (an error).
func (r *ring) putVerdict(pos, seq uint64) (int, error) {
	if (seq-pos)&r.mask > 1 {
		return 0, r.fail("producer at position %d: slot stamp %#x is not a stamp of that slot", pos, seq)
	}
	switch d := int64(seq - pos); {
	case d == 0:
		return 0, nil
	case d < 0:
		// A correct ring shows pos-slots (the previous lap's producer
		// claimed the slot and is writing it) or pos-slots+1 (its
		// message is waiting for a consumer): full.
		if d < -int64(r.slots) {
			return 0, r.fail("producer at position %d: slot stamp %#x is more than a lap behind", pos, seq)
		}
		return -1, nil
	default:
		return 1, nil // another producer took pos; re-read the tail
	}
}

// getVerdict is putVerdict for a consumer that read pos from the shared
// head: the slot holds the message of pos (0), or the ring is empty at pos
// (-1), or the head has moved on (1), or an error.
func (r *ring) getVerdict(pos, seq uint64) (int, error) {
	if (seq-pos)&r.mask > 1 {
		return 0, r.fail("consumer at position %d: slot stamp %#x is not a stamp of that slot", pos, seq)
	}
	switch d := int64(seq - pos - 1); {
	case d == 0:
		return 0, nil
	case d < 0:
		// A correct ring shows pos (not written yet) or pos+1-slots
		// (the previous lap's consumer is copying the message out):
		// empty.
		if d < -int64(r.slots) {
			return 0, r.fail("consumer at position %d: slot stamp %#x is more than a lap behind", pos, seq)
		}
		return -1, nil
	default:
		return 1, nil // another consumer took pos; re-read the head
	}
}

// advance re-reads the shared index idx after evidence (a stamp past pos,
// a failed CAS) that another participant claimed pos, and returns the new
// position. A correct index has moved past pos: the claim came before the
// evidence, and the evidence before this read.
func (r *ring) advance(idx *uint64, pos uint64, who string) (uint64, error) {
	next := load64(idx)
	if int64(next-pos) <= 0 {
		return 0, r.fail("%s index at %d, but a slot stamp or a failed claim said it had moved past %d", who, next, pos)
	}
	return next, nil
}

// Enqueue copies msg into a free slot. It returns ErrTooLarge if msg is
// longer than MaxMessage, ErrFull if the ring has no free slot, and an
// error wrapping ErrBroken if the ring is or becomes broken.
func (m *MPMC) Enqueue(msg []byte) error {
	r := &m.r
	if err := r.err(); err != nil {
		return err
	}
	if len(msg) > r.maxMsg {
		return ErrTooLarge
	}
	pos := load64(r.tail)
	for range maxRetries {
		off := r.slotOff(pos)
		s := slotAt(r.mem, off)
		v, err := r.putVerdict(pos, load64(&s.Seq))
		switch {
		case err != nil:
			return err
		case v < 0:
			return r.idle(ErrFull)
		case v == 0 && cas64(r.tail, pos, pos+1):
			// Payload first, then the length and the stamp back to back,
			// so that a consumer polling the slot is less likely to take
			// its line away between them. The length is atomic, unlike
			// SPSC's, because consumers read it before they claim the
			// slot (see Dequeue), possibly while a producer of a later lap
			// writes it.
			copy(r.payload(off, len(msg)), msg)
			store32(&s.Len, uint32(len(msg)))
			store64(&s.Seq, pos+1) // publishes length and payload
			return nil
		}
		if pos, err = r.advance(r.tail, pos, "producer"); err != nil {
			return err
		}
	}
	return ErrFull
}

// EnqueueBatch enqueues msgs in order until one does not fit and returns
// how many it enqueued, claiming their slots with one CAS where it can. When
// that is fewer than len(msgs) the error says why msgs[n] was not: ErrFull,
// ErrTooLarge, or an error wrapping ErrBroken. Other producers' messages
// may come between the batch's when the ring has fewer consecutive free
// slots than the batch has messages.
func (m *MPMC) EnqueueBatch(msgs [][]byte) (int, error) {
	r := &m.r
	if err := r.err(); err != nil {
		return 0, err
	}
	done := 0
	for done < len(msgs) {
		n, err := m.enqueueRun(msgs[done:])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// enqueueRun claims the longest run of free slots at the tail that msgs
// fill, up to len(msgs), with one CAS, and fills them.
func (m *MPMC) enqueueRun(msgs [][]byte) (int, error) {
	r := &m.r
	k := min(len(msgs), int(r.slots))
	for i, msg := range msgs[:k] {
		if len(msg) > r.maxMsg {
			if i == 0 {
				return 0, ErrTooLarge
			}
			k = i
			break
		}
	}
	pos := load64(r.tail)
	for range maxRetries {
		v, err := r.putVerdict(pos, load64(&slotAt(r.mem, r.slotOff(pos)).Seq))
		switch {
		case err != nil:
			return 0, err
		case v < 0:
			return 0, r.idle(ErrFull)
		case v == 0:
			// Slots pos+1... are free for this lap if their stamps say
			// so; none can change before the tail passes pos, which makes
			// the CAS fail.
			n := 1
			for n < k && load64(&slotAt(r.mem, r.slotOff(pos+uint64(n))).Seq) == pos+uint64(n) {
				n++
			}
			if cas64(r.tail, pos, pos+uint64(n)) {
				for i, msg := range msgs[:n] {
					off := r.slotOff(pos + uint64(i))
					s := slotAt(r.mem, off)
					copy(r.payload(off, len(msg)), msg)
					store32(&s.Len, uint32(len(msg)))
					store64(&s.Seq, pos+uint64(i)+1)
				}
				return n, nil
			}
		}
		if pos, err = r.advance(r.tail, pos, "producer"); err != nil {
			return 0, err
		}
	}
	return 0, ErrFull
}

// Dequeue copies the next message into buf and returns its length. It
// returns ErrEmpty if there is none, and an error wrapping ErrBroken if the
// ring is or becomes broken. If buf is shorter than the message, Dequeue
// returns the message's length and ErrShortBuffer (io.ErrShortBuffer), and
// the message stays in the ring.
func (m *MPMC) Dequeue(buf []byte) (int, error) {
	r := &m.r
	if err := r.err(); err != nil {
		return 0, err
	}
	pos := load64(r.head)
	for range maxRetries {
		off := r.slotOff(pos)
		s := slotAt(r.mem, off)
		v, err := r.getVerdict(pos, load64(&s.Seq))
		switch {
		case err != nil:
			return 0, err
		case v < 0:
			return 0, r.idle(ErrEmpty)
		case v == 0:
			// Read the length before the claim (read once: this is the
			// value used): until the head passes pos nobody else frees
			// the slot, so a correct producer cannot change it, and if
			// the head does pass pos the CAS below fails.
			n := load32(&s.Len)
			if n > uint32(r.maxMsg) {
				return 0, r.fail("consumer at position %d: message length %d, longer than a slot's %d", pos, n, r.maxMsg)
			}
			if int(n) > len(buf) {
				if load64(r.head) == pos {
					return int(n), ErrShortBuffer
				}
				break // someone else took it: re-read the head
			}
			if cas64(r.head, pos, pos+1) {
				p := r.payload(off, int(n))
				copy(buf, p)
				clear(p)                     // a free slot holds nothing of an earlier message
				store64(&s.Seq, pos+r.slots) // frees the slot for the next lap
				return int(n), nil
			}
		}
		if pos, err = r.advance(r.head, pos, "consumer"); err != nil {
			return 0, err
		}
	}
	return 0, ErrEmpty
}

// DequeueBatch dequeues up to min(len(bufs), len(lens)) messages, the ith
// into bufs[i] with its length in lens[i], claiming consecutive messages
// with one CAS where it can, and returns how many it dequeued. It stops
// early when the ring is empty or the next message is longer than its
// buffer. It returns an error only when it dequeued nothing: ErrEmpty;
// ErrShortBuffer, with the length of the message, which stays in the ring,
// in lens[0]; or an error wrapping ErrBroken.
func (m *MPMC) DequeueBatch(bufs [][]byte, lens []int) (int, error) {
	r := &m.r
	if err := r.err(); err != nil {
		return 0, err
	}
	k := min(len(bufs), len(lens), int(r.slots))
	if k == 0 {
		return 0, nil
	}
	pos := load64(r.head)
	for range maxRetries {
		v, err := r.getVerdict(pos, load64(&slotAt(r.mem, r.slotOff(pos)).Seq))
		switch {
		case err != nil:
			return 0, err
		case v < 0:
			return 0, r.idle(ErrEmpty)
		case v == 0:
			// As in Dequeue, the lengths are read (once, into lens)
			// before the claim; no slot of the run can change before
			// the head passes pos.
			n := 0
			for n < k {
				s := slotAt(r.mem, r.slotOff(pos+uint64(n)))
				if n > 0 && load64(&s.Seq) != pos+uint64(n)+1 {
					break
				}
				l := load32(&s.Len)
				if l > uint32(r.maxMsg) {
					return 0, r.fail("consumer at position %d: message length %d, longer than a slot's %d", pos+uint64(n), l, r.maxMsg)
				}
				if int(l) > len(bufs[n]) {
					if n == 0 && load64(r.head) == pos {
						lens[0] = int(l)
						return 0, ErrShortBuffer
					}
					break
				}
				lens[n] = int(l)
				n++
			}
			if n > 0 && cas64(r.head, pos, pos+uint64(n)) {
				for i := range n {
					off := r.slotOff(pos + uint64(i))
					p := r.payload(off, lens[i])
					copy(bufs[i], p)
					clear(p)
					store64(&slotAt(r.mem, off).Seq, pos+uint64(i)+r.slots)
				}
				return n, nil
			}
		}
		if pos, err = r.advance(r.head, pos, "consumer"); err != nil {
			return 0, err
		}
	}
	return 0, ErrEmpty
}
