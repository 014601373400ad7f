package dmaring

import (
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
)

// Constants of the shared-memory layout documented on RingSize.
const (
	ringMagic   = 0x52435049 // "IPCR" read as a little-endian word
	ringVersion = 1

	kindSPSC = 1
	kindMPMC = 2

	// cacheLine is the padding unit that keeps the producers' index, the
	// consumers' index and the read-mostly header on separate cache lines,
	// so that a write to one does not invalidate the others in another
	// core's cache (false sharing, which costs a cache-line transfer per
	// operation). 64 bytes is the line of x86-64 and of most arm64 cores.
	// Some arm64 cores (Apple's M series) have 128-byte lines, Go's runtime
	// pads to 128 on arm64, and Intel's adjacent-line prefetcher fetches
	// 64-byte lines in pairs: there the two indices share a 128-byte unit
	// and pay some false sharing. The layout is fixed, not per-CPU, because
	// every process that maps the ring must agree on it.
	cacheLine = 64

	headerSize = cacheLine     // the header is one cache line
	offTail    = 1 * cacheLine // the producers' line
	offHead    = 2 * cacheLine // the consumers' line
	offSlots   = 3 * cacheLine // the first slot

	// SlotHeaderSize is the number of bytes at the start of each slot that
	// hold its stamp and the message length: a ring's largest message is
	// its slot size minus SlotHeaderSize.
	SlotHeaderSize = 16

	minSlots    = 2 // with one slot, "written" (p+1) and "free for p+1" are the same stamp
	maxSlots    = 1 << 30
	maxSlotSize = 1 << 30

	// maxRetries bounds how often an MPMC operation starts over after
	// losing a race to another producer or consumer. Each retry means
	// another participant made progress, so a correct peer never comes
	// near it; it keeps a hostile peer that moves an index forever from
	// holding the caller in a loop forever.
	maxRetries = 1 << 16
)

// ringHeader is the header line of the layout above. Its fields are only
// accessed through sync/atomic (see load32 and friends).
type ringHeader struct {
	Magic    uint32
	Version  uint32
	Kind     uint32
	Flags    uint32
	Slots    uint32
	SlotSize uint32
	Broken   uint32
	_        uint32
	Size     uint64
	_        [headerSize - 40]byte
}

// indexLine is the producers' or the consumers' cache line: one index and
// the padding that keeps the other index off its line.
type indexLine struct {
	Index uint64
	_     [cacheLine - 8]byte
}

// slotHeader is the start of every slot.
type slotHeader struct {
	Seq uint64
	Len uint32
	_   uint32
}

// le64 and le32 convert between the layout's little-endian words and the
// CPU's; they compile to nothing on little-endian CPUs.
func le64(v uint64) uint64 {
	if bigEndian {
		return bits.ReverseBytes64(v)
	}
	return v
}

func le32(v uint32) uint32 {
	if bigEndian {
		return bits.ReverseBytes32(v)
	}
	return v
}

// Every access to a word of the shared memory goes through these, except
// the copies of payloads and the SPSC producer's store of a length, which
// are plain and happen between a load and a store of the slot's stamp.
// sync/atomic's operations are sequentially consistent (the Go memory
// model, "Atomic Values"), which is the order the ring algorithms rely on: a
// stamp store releases the slot's payload and length to whoever loads that
// stamp, and an index CAS orders claims. They also keep the compiler from
// splitting, merging, repeating or eliding an access to memory a peer
// writes, so a value loaded once is the value checked and used. The one
// other accessor, storeRel64 (ring_release.go), is a release store without
// the store-load fence, for the SPSC ring's indices and batched stamps.
func load64(p *uint64) uint64     { return le64(atomic.LoadUint64(p)) }
func store64(p *uint64, v uint64) { atomic.StoreUint64(p, le64(v)) }
func cas64(p *uint64, old, next uint64) bool {
	return atomic.CompareAndSwapUint64(p, le64(old), le64(next))
}
func load32(p *uint32) uint32     { return le32(atomic.LoadUint32(p)) }
func store32(p *uint32, v uint32) { atomic.StoreUint32(p, le32(v)) }

func isPowerOfTwo(v uint64) bool { return v != 0 && v&(v-1) == 0 }

func kindName(kind uint32) string {
	switch kind {
	case kindSPSC:
		return "SPSC"
	case kindMPMC:
		return "MPMC"
	}
	return fmt.Sprintf("kind %d", kind)
}

// ringSize validates a ring's shape and returns its size in bytes. The
// arithmetic cannot overflow: slots and slotSize are each checked to be at
// most 2^30 before they are multiplied in 64 bits.
func ringSize(slots, slotSize uint64) (uint64, error) {
	switch {
	case slots < minSlots || slots > maxSlots || !isPowerOfTwo(slots):
		return 0, fmt.Errorf("%w: %d slots: want a power of two from %d to %d", ErrLayout, slots, minSlots, maxSlots)
	case slotSize < SlotHeaderSize || slotSize > maxSlotSize || slotSize%8 != 0:
		return 0, fmt.Errorf("%w: slot size %d: want a multiple of 8 from %d to %d", ErrLayout, slotSize, SlotHeaderSize, maxSlotSize)
	}
	size := offSlots + slots*slotSize // at most 192 + 2^60
	if size > math.MaxInt {
		return 0, fmt.Errorf("%w: %d slots of %d bytes need %d bytes, more than an int holds", ErrLayout, slots, slotSize, size)
	}
	return size, nil
}

// RingSize returns the number of bytes an SPSC or MPMC ring of slots slots
// of slotSize bytes each needs, or an error wrapping ErrLayout when the shape
// is not valid: slots must be a power of two from 2 to 2^30, slotSize a
// multiple of 8 from SlotHeaderSize to 2^30, and the total must fit an int.
//
// The layout, version 1, is the same for both kinds. Every field is
// little-endian; offsets are from the start of the memory given to Init and
// Attach, which must be 8-byte aligned (a page-aligned mapping is best: then
// the cache lines below are the CPU's), so every 64-bit field is 8-byte
// aligned by construction, as 32-bit ARM needs for a 64-bit atomic access.
// The header and the two index lines take one 64-byte cache line each.
//
//	offset  size  field
//	     0     4  magic      "IPCR" (0x52435049)
//	     4     4  version    1
//	     8     4  kind       1 = SPSC, 2 = MPMC
//	    12     4  flags      0 (no flags are defined; Attach rejects others)
//	    16     4  slots      number of slots, a power of two, 2 to 2^30
//	    20     4  slot size  bytes per slot, a multiple of 8, 16 to 2^30
//	    24     4  broken     0, or not 0 once either side marked the ring broken
//	    28     4  reserved   0
//	    32     8  size       bytes of the whole ring: 192 + slots * slot size
//	    40    24  reserved   0
//	    64     8  tail       producers' index: the position the next message goes to
//	    72    56  padding    (tail's cache line to itself)
//	   128     8  head       consumers' index: the position the next message comes from
//	   136    56  padding    (head's cache line to itself)
//	   192        slots      slot i at 192 + i * slot size
//
// A slot:
//
//	offset  size  field
//	     0     8  stamp      sequence stamp (below)
//	     8     4  length     bytes of payload in use, at most slot size - 16
//	    12     4  reserved   0
//	    16        payload    slot size - 16 bytes
//
// Positions are 64-bit counters that never wrap in practice; position p
// lives in slot p mod slots. The stamp of that slot (after Vyukov's bounded
// MPMC queue) says whose turn it is: p when the slot is free for the
// producer of position p, p+1 once that producer wrote the message, and
// p+slots once the consumer of position p has copied the message out (which
// is the free stamp of position p+slots). A new ring has stamp i in slot i.
// A consumer therefore polls the slot it reads next rather than the
// producer's index, so a message costs one cache-line transfer per hop (the
// slot's) instead of two (an index, then the slot).
//
// For the SPSC ring, tail and head are published by their owner for a handle
// that takes over (Producer, Consumer) and never read in steady state: each
// side keeps its position in private memory. For the MPMC ring they are the
// shared counters producers and consumers claim positions from by CAS.
func RingSize(slots, slotSize int) (int, error) {
	if slots < 0 || slotSize < 0 {
		return 0, fmt.Errorf("%w: negative shape (%d slots of %d bytes)", ErrLayout, slots, slotSize)
	}
	size, err := ringSize(uint64(slots), uint64(slotSize))
	return int(size), err
}
