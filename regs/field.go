package regs

import "fmt"

// Bits is the position of a field inside a register of type T: Width bits
// from bit Shift up. Every field kind embeds it.
type Bits[T Value] struct {
	Shift uint8
	Width uint8
}

// Mask returns the field's bits in place.
func (b Bits[T]) Mask() T {
	if int(b.Width) >= bitsOf[T]() {
		return ^T(0)
	}
	return (T(1)<<b.Width - 1) << b.Shift
}

// Get extracts the field from a register value v, shifted down.
func (b Bits[T]) Get(v T) T { return v & b.Mask() >> b.Shift }

// IsSet reports whether any bit of the field is set in v.
func (b Bits[T]) IsSet(v T) bool { return v&b.Mask() != 0 }

// val returns the Change that writes x into the field. A value wider than the
// field is a programming error: it panics rather than write a neighbour.
func (b Bits[T]) val(x T) Change[T] {
	m := b.Mask()
	if x > m>>b.Shift {
		panic(fmt.Sprintf("regs: value %#x does not fit in a %d-bit field", uint64(x), b.Width))
	}
	return Change[T]{Mask: m, Bits: x << b.Shift}
}

// ROField is a read-only field.
type ROField[T Value] struct{ Bits[T] }

// RWField is a read-write field (or a write-once one: the hardware ignores
// later writes).
type RWField[T Value] struct{ Bits[T] }

// Val returns the Change that writes x into the field. It panics if x does
// not fit in the field.
func (f RWField[T]) Val(x T) Change[T] { return f.val(x) }

// WOField is a write-only field: reads of it return no meaningful value.
type WOField[T Value] struct{ Bits[T] }

// Val returns the Change that writes x into the field. It panics if x does
// not fit in the field.
func (f WOField[T]) Val(x T) Change[T] { return f.val(x) }

// W1CField is a write-1-to-clear field, typically a sticky status flag.
type W1CField[T Value] struct{ Bits[T] }

// Clear returns the Change that clears the field (writes ones to it).
func (f W1CField[T]) Clear() Change[T] { m := f.Mask(); return Change[T]{Mask: m, Bits: m} }

// W1SField is a write-1-to-set field, such as a doorbell or a self-clearing
// command bit.
type W1SField[T Value] struct{ Bits[T] }

// Set returns the Change that sets the field (writes ones to it).
func (f W1SField[T]) Set() Change[T] { m := f.Mask(); return Change[T]{Mask: m, Bits: m} }

// RCField is a read-to-clear field: reading the register clears it, so its
// value is taken from a value already read. It cannot be written.
type RCField[T Value] struct{ Bits[T] }
