package regs

import (
	"errors"
	"fmt"
)

// A Bus gives exact-width access to the registers of a block at byte offsets
// from the block's start.
//
// Every call is one access of exactly the named width: an implementation
// never splits, merges, repeats or elides an access, because a device
// register may have side effects on read or write. Offsets must be in range
// (off+width <= Size()) and naturally aligned (off is a multiple of the
// width); a call that breaks this is a programming error and panics with an
// *AccessError. Use CheckAccess, or the checked functions ReadAt and WriteAt,
// when an offset comes from a user. Typed registers of generated maps are in
// range and aligned by construction.
//
// Registers are little-endian, as in every CMSIS-SVD description ipcu takes.
//
// A 64-bit access on a bus that cannot make one atomically (a 32-bit CPU, or
// a device that only takes 32-bit accesses) is made of two 32-bit accesses
// in the order documented by SplitRead64 and SplitWrite64.
//
// A Bus whose accesses can fail outside the caller's control (a pread-backed
// VFIO region, say) returns all ones for a failed read, as a PCIe read of a
// removed device does, and reports the failure through its own API.
//
// Window is the Bus over mapped memory; fake devices implement Bus too.
type Bus interface {
	Read8(off uintptr) uint8
	Read16(off uintptr) uint16
	Read32(off uintptr) uint32
	Read64(off uintptr) uint64
	Write8(off uintptr, v uint8)
	Write16(off uintptr, v uint16)
	Write32(off uintptr, v uint32)
	Write64(off uintptr, v uint64)
	// Size is the number of bytes addressable from offset 0.
	Size() uintptr
}

// Errors reported by CheckAccess, ReadAt and WriteAt, and carried by the
// *AccessError that a Bus panics with.
var (
	ErrOutOfRange = errors.New("access out of range")
	ErrMisaligned = errors.New("misaligned access")
	ErrBadWidth   = errors.New("access width must be 8, 16, 32 or 64 bits")
)

// An AccessError describes a register access that cannot be made.
type AccessError struct {
	Op     string  // "read" or "write"
	Offset uintptr // byte offset of the access
	Bits   int     // access width in bits
	Size   uintptr // size of the bus in bytes
	Err    error   // ErrOutOfRange, ErrMisaligned or ErrBadWidth
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("%s%d at offset %#x (bus size %#x): %v", e.Op, e.Bits, e.Offset, e.Size, e.Err)
}

// Unwrap returns the underlying sentinel error.
func (e *AccessError) Unwrap() error { return e.Err }

// CheckAccess reports whether an access of bits width at off fits a bus of
// size bytes and is naturally aligned. op is "read" or "write", for the error.
func CheckAccess(op string, off uintptr, bits int, size uintptr) error {
	var err error
	switch {
	case bits != 8 && bits != 16 && bits != 32 && bits != 64:
		err = ErrBadWidth
	case off > size || uintptr(bits/8) > size-off: // overflow-safe off+bits/8 > size
		err = ErrOutOfRange
	case off%uintptr(bits/8) != 0:
		err = ErrMisaligned
	default:
		return nil
	}
	return &AccessError{Op: op, Offset: off, Bits: bits, Size: size, Err: err}
}

// mustAccess panics with an *AccessError when CheckAccess fails. Bus
// implementations call it on every access.
func mustAccess(op string, off uintptr, bits int, size uintptr) {
	// The common case is inlined by the caller's bounds test; keep this
	// function small and the formatting in CheckAccess.
	if err := CheckAccess(op, off, bits, size); err != nil {
		panic(err)
	}
}

// MustCheck panics with an *AccessError when an access of bits width at off
// does not fit a bus of size bytes or is misaligned. Bus implementations
// outside this package call it so that every Bus fails alike.
func MustCheck(op string, off uintptr, bits int, size uintptr) { mustAccess(op, off, bits, size) }

// ReadAt reads a register of bits width (8, 16, 32 or 64) at off, checking
// the access first: a bad offset or width is an *AccessError, not a panic.
func ReadAt(b Bus, off uintptr, bits int) (uint64, error) {
	if err := CheckAccess("read", off, bits, b.Size()); err != nil {
		return 0, err
	}
	switch bits {
	case 8:
		return uint64(b.Read8(off)), nil
	case 16:
		return uint64(b.Read16(off)), nil
	case 32:
		return uint64(b.Read32(off)), nil
	default:
		return b.Read64(off), nil
	}
}

// WriteAt writes v to a register of bits width (8, 16, 32 or 64) at off,
// checking the access first. A value wider than the register is an error.
func WriteAt(b Bus, off uintptr, bits int, v uint64) error {
	if err := CheckAccess("write", off, bits, b.Size()); err != nil {
		return err
	}
	if bits < 64 && v>>uint(bits) != 0 {
		return fmt.Errorf("write%d at offset %#x: value %#x does not fit in %d bits", bits, off, v, bits)
	}
	switch bits {
	case 8:
		b.Write8(off, uint8(v))
	case 16:
		b.Write16(off, uint16(v))
	case 32:
		b.Write32(off, uint32(v))
	default:
		b.Write64(off, v)
	}
	return nil
}

// A Bus32 is the part of a Bus that 64-bit splitting needs.
type Bus32 interface {
	Read32(off uintptr) uint32
	Write32(off uintptr, v uint32)
}

// SplitRead64 reads a 64-bit register at off as two 32-bit accesses, for a
// bus that cannot read 64 bits atomically. The order is high, low, high: if
// the two reads of the high word differ, the low word wrapped in between
// (a running counter, say) and is read once more, so the result is a value
// the register held (provided the high word does not change twice between
// two accesses). The low word is at off, the high word at off+4.
func SplitRead64(b Bus32, off uintptr) uint64 {
	hi := b.Read32(off + 4)
	lo := b.Read32(off)
	if hi2 := b.Read32(off + 4); hi2 != hi {
		hi = hi2
		lo = b.Read32(off)
	}
	return uint64(hi)<<32 | uint64(lo)
}

// SplitWrite64 writes a 64-bit register at off as two 32-bit accesses, low
// word first, then high word. Devices that latch a split write commit it on
// the write of the high half (docs/ipcu.md; the same rule as most PCI
// devices with 64-bit address registers).
func SplitWrite64(b Bus32, off uintptr, v uint64) {
	b.Write32(off, uint32(v))
	b.Write32(off+4, uint32(v>>32))
}

// CheckExtent reports whether a block of size bytes at offset base fits on
// b. Generated maps check it once, so their registers need no check.
func CheckExtent(b Bus, base, size uintptr) error {
	if bs := b.Size(); base > bs || size > bs-base {
		return fmt.Errorf("a block of %#x bytes at offset %#x does not fit on a bus of %#x bytes: %w", size, base, bs, ErrOutOfRange)
	}
	return nil
}
