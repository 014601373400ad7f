package dmaring

import (
	"fmt"
	"sync/atomic"
)

// ring is what the SPSC and MPMC rings share: the validated shape, kept in
// private memory, and views of the shared memory. Nothing here is ever read
// back from the shared header after Init or Attach, except the broken word.
type ring struct {
	mem      []byte      // the ring's bytes, mem[:size:size] of the caller's memory
	hdr      *ringHeader // mem's header line
	tail     *uint64     // the producers' index
	head     *uint64     // the consumers' index
	slots    uint64      // a power of two
	mask     uint64      // slots - 1
	slotSize int
	maxMsg   int // slotSize - SlotHeaderSize

	// brokenErr is nil until the ring is found broken, then the first
	// error that said why (wrapping ErrBroken), returned by every later
	// operation.
	brokenErr atomic.Pointer[error]
}

// checkMem checks what Init and Attach need of the memory itself.
func checkMem(mem []byte, size uint64) error {
	if a := addrOf(mem); a%8 != 0 {
		return fmt.Errorf("%w: memory at %#x is not 8-byte aligned", ErrLayout, a)
	}
	if uint64(len(mem)) < size {
		return fmt.Errorf("%w: the ring needs %d bytes, the memory has %d", ErrLayout, size, len(mem))
	}
	return nil
}

// initRing formats mem as an empty ring of the given kind and shape. No peer
// may use mem while it runs. It clears the ring's bytes (so nothing that
// was in the memory before shows to a peer), writes the stamps and the
// header, and stores the magic last, so a peer attaching concurrently finds
// either no magic or a complete ring.
func initRing(r *ring, mem []byte, kind uint32, slots, slotSize int) error {
	if slots < 0 || slotSize < 0 {
		return fmt.Errorf("%w: negative shape (%d slots of %d bytes)", ErrLayout, slots, slotSize)
	}
	size, err := ringSize(uint64(slots), uint64(slotSize))
	if err != nil {
		return err
	}
	if err := checkMem(mem, size); err != nil {
		return err
	}
	r.setShape(mem, size, uint64(slots), uint64(slotSize))
	store32(&r.hdr.Magic, 0)
	clear(r.mem)
	for i := uint64(0); i < r.slots; i++ {
		store64(&slotAt(r.mem, r.slotOff(i)).Seq, i)
	}
	h := r.hdr
	store32(&h.Version, ringVersion)
	store32(&h.Kind, kind)
	store32(&h.Flags, 0)
	store32(&h.Slots, uint32(slots))
	store32(&h.SlotSize, uint32(slotSize))
	store32(&h.Broken, 0)
	store64(&h.Size, size)
	store64(r.tail, 0)
	store64(r.head, 0)
	store32(&h.Magic, ringMagic)
	return nil
}

// attachRing validates the header in mem, reading each field once into
// private memory, and sets r up from what it read.
func attachRing(r *ring, mem []byte, kind uint32) error {
	if err := checkMem(mem, headerSize); err != nil {
		return err
	}
	h := headerAt(mem)
	magic, version, gotKind, flags := load32(&h.Magic), load32(&h.Version), load32(&h.Kind), load32(&h.Flags)
	slots, slotSize, broken, size := uint64(load32(&h.Slots)), uint64(load32(&h.SlotSize)), load32(&h.Broken), load64(&h.Size)
	switch {
	case magic != ringMagic:
		return fmt.Errorf("%w: magic %#08x, want %#08x", ErrLayout, magic, ringMagic)
	case version != ringVersion:
		return fmt.Errorf("%w: version %d, want %d", ErrLayout, version, ringVersion)
	case gotKind != kind:
		return fmt.Errorf("%w: an %s ring, want %s", ErrLayout, kindName(gotKind), kindName(kind))
	case flags != 0:
		return fmt.Errorf("%w: unknown flags %#x", ErrLayout, flags)
	}
	want, err := ringSize(slots, slotSize)
	if err != nil {
		return err
	}
	if size != want {
		return fmt.Errorf("%w: header size %d, want %d for %d slots of %d bytes", ErrLayout, size, want, slots, slotSize)
	}
	if err := checkMem(mem, size); err != nil {
		return err
	}
	r.setShape(mem, size, slots, slotSize)
	if broken != 0 {
		return fmt.Errorf("attach: %w: marked broken by a peer", ErrBroken)
	}
	return nil
}

// setShape records a validated shape: size <= len(mem), and every offset
// the ring computes from slots and slotSize lies inside mem[:size].
func (r *ring) setShape(mem []byte, size, slots, slotSize uint64) {
	r.mem = mem[:size:size]
	r.hdr = headerAt(r.mem)
	r.tail = indexAt(r.mem, offTail)
	r.head = indexAt(r.mem, offHead)
	r.slots = slots
	r.mask = slots - 1
	r.slotSize = int(slotSize)
	r.maxMsg = int(slotSize) - SlotHeaderSize
}

// slotOff returns the offset of the slot of position pos.
func (r *ring) slotOff(pos uint64) int { return offSlots + int(pos&r.mask)*r.slotSize }

// payload returns the first n payload bytes of the slot at off; n is at
// most maxMsg.
func (r *ring) payload(off, n int) []byte {
	off += SlotHeaderSize
	return r.mem[off : off+n : off+n]
}

// err returns nil, or the error of a broken ring.
func (r *ring) err() error {
	if p := r.brokenErr.Load(); p != nil {
		return *p
	}
	return nil
}

// fail marks the ring broken, here and in the shared header (so a peer
// stops too), and returns the ring's broken error: the first reason found.
func (r *ring) fail(format string, args ...any) error {
	err := fmt.Errorf("%w: "+format, append([]any{ErrBroken}, args...)...)
	r.brokenErr.CompareAndSwap(nil, &err)
	store32(&r.hdr.Broken, 1)
	return r.err()
}

// idle is called when an operation cannot proceed (full or empty): the
// only time the shared broken word is read, since a peer that marks the
// ring broken stops, and so sooner or later leaves this side full or empty.
// It returns the broken error if a peer marked the ring, else idleErr.
func (r *ring) idle(idleErr error) error {
	if load32(&r.hdr.Broken) != 0 {
		return r.fail("marked broken by a peer")
	}
	return idleErr
}

// markBroken marks the ring broken on purpose.
func (r *ring) markBroken() { _ = r.fail("marked broken by this process") }
