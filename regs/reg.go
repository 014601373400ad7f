package regs

// Value is the type of a register's contents: an unsigned integer of the
// register's width.
type Value interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

// bitsOf returns the width of T in bits. It is a constant for each
// instantiation, so the switches on it below compile to one access.
func bitsOf[T Value]() int {
	switch uint64(^T(0)) {
	case 0xff:
		return 8
	case 0xffff:
		return 16
	case 0xffffffff:
		return 32
	}
	return 64
}

func read[T Value](b Bus, off uintptr) T {
	switch bitsOf[T]() {
	case 8:
		return T(b.Read8(off))
	case 16:
		return T(b.Read16(off))
	case 32:
		return T(b.Read32(off))
	}
	return T(b.Read64(off))
}

func write[T Value](b Bus, off uintptr, v T) {
	switch bitsOf[T]() {
	case 8:
		b.Write8(off, uint8(v))
	case 16:
		b.Write16(off, uint16(v))
	case 32:
		b.Write32(off, uint32(v))
	default:
		b.Write64(off, uint64(v))
	}
}

// A Reg is what every typed register has: where it is and how wide.
// Tests and tools walk a generated map through it.
type Reg interface {
	Offset() uintptr
	Bits() int
	// Access is the register's access from the CPU's point of view.
	Access() Access
}

// reg is the location part of every typed register.
type reg struct {
	bus Bus
	off uintptr
}

// Offset returns the register's byte offset on its Bus.
func (r reg) Offset() uintptr { return r.off }

// Bus returns the Bus the register is accessed through.
func (r reg) Bus() Bus { return r.bus }

// Layout gives the write semantics of a register's bits, which a
// read-modify-write needs. Generated maps compute it from the fields'
// access and modifiedWriteValues.
type Layout[T Value] struct {
	// Keep are the bits a read-modify-write writes back as read: plain
	// read-write fields, and bits no field describes (reserved bits are
	// preserved).
	Keep T
	// Idle are the values that leave the other bits unchanged when written:
	// 0 for write-1-to-clear/set/toggle bits, 1 for write-0-to-clear/set/
	// toggle bits, 0 for read-only and write-only bits.
	Idle T
}

// LayoutOf returns the Layout of a register whose fields are fields, all of
// the register type T. Bits outside every field are kept.
func LayoutOf[T Value](fields ...Field) Layout[T] {
	keep := ^T(0)
	var idle T
	for _, f := range fields {
		m := T(f.mask())
		if f.WriteEffect == WriteNormal && f.Access.Readable() && f.Access != ReadOnly {
			continue // a plain read-write field is written back as read
		}
		keep &^= m
		if bit, ok := f.WriteEffect.IdleBit(); ok && bit == 1 {
			idle |= m
		}
	}
	return Layout[T]{Keep: keep, Idle: idle}
}

// RegisterLayout returns the Layout of register r, of type T. Bits no field
// covers (all of them when r has no fields) take the register's own access
// and write effect: they are kept when the register is plain read-write, so
// reserved bits are preserved, and written at their no-effect value when
// the register is, say, write-1-to-clear as a whole.
func RegisterLayout[T Value](r *Register) Layout[T] {
	l := LayoutOf[T](r.Fields...)
	var covered T
	for _, f := range r.Fields {
		covered |= T(f.mask())
	}
	width := ^T(0)
	if r.Bits > 0 && r.Bits < 64 {
		width = T(uint64(1)<<r.Bits - 1)
	}
	rest := ^covered & width
	if r.WriteEffect != WriteNormal || r.Access == ReadOnly || r.Access == WriteOnly || r.Access == WriteOnce {
		l.Keep &^= rest
		if bit, ok := r.WriteEffect.IdleBit(); ok && bit == 1 {
			l.Idle |= rest
		}
	}
	l.Keep &= width
	l.Idle &= width
	return l
}

func (f Field) mask() uint64 {
	if f.Width >= 64 {
		return ^uint64(0)
	}
	return (uint64(1)<<f.Width - 1) << f.Offset
}

// A Change is a field value to write: the bits of Mask take the value Bits.
// Writable field kinds make Changes; RO and read-to-clear fields cannot.
type Change[T Value] struct {
	Mask T
	Bits T
}

func apply[T Value](v T, changes []Change[T]) T {
	for _, c := range changes {
		v = v&^c.Mask | c.Bits&c.Mask
	}
	return v
}

// RO is a read-only register. Reading a register with a read side effect
// (read-to-clear, FIFO pop) is always explicit: there is no other way to
// read it.
type RO[T Value] struct{ reg }

// MakeRO returns the read-only register of type T at off on b. It does not
// check the offset: generated maps check their extent once, in New.
func MakeRO[T Value](b Bus, off uintptr) RO[T] { return RO[T]{reg{b, off}} }

// Read reads the register once.
func (r RO[T]) Read() T { return read[T](r.bus, r.off) }

// Bits returns the register width in bits.
func (r RO[T]) Bits() int { return bitsOf[T]() }

// Access returns ReadOnly.
func (r RO[T]) Access() Access { return ReadOnly }

// WO is a write-only register. Update writes the register's idle value with
// the given changes applied: it never reads.
type WO[T Value] struct {
	reg
	idle T
}

// MakeWO returns the write-only register of type T at off on b, whose
// no-effect value is l.Idle.
func MakeWO[T Value](b Bus, off uintptr, l Layout[T]) WO[T] { return WO[T]{reg{b, off}, l.Idle} }

// Write writes v to the register.
func (r WO[T]) Write(v T) { write(r.bus, r.off, v) }

// Update writes the register's idle value with changes applied in order.
func (r WO[T]) Update(changes ...Change[T]) { write(r.bus, r.off, apply(r.idle, changes)) }

// Bits returns the register width in bits.
func (r WO[T]) Bits() int { return bitsOf[T]() }

// Access returns WriteOnly.
func (r WO[T]) Access() Access { return WriteOnly }

// RW is a readable and writable register whose read has no side effect, so
// that it can be read, modified and written back.
//
// A read-modify-write (Update, Modify) writes back only the bits that the
// Layout keeps; write-1-to-clear and write-1-to-set bits are written as
// their no-effect value unless a Change names them. Changing one field
// therefore never clears a pending W1C status bit read as 1, the bug of
// naive read-modify-write code.
type RW[T Value] struct {
	reg
	l Layout[T]
}

// MakeRW returns the read-write register of type T at off on b with layout l.
func MakeRW[T Value](b Bus, off uintptr, l Layout[T]) RW[T] {
	return RW[T]{reg{b, off}, l}
}

// Read reads the register once.
func (r RW[T]) Read() T { return read[T](r.bus, r.off) }

// Write writes v to the register as it is: every W1C bit set in v clears.
func (r RW[T]) Write(v T) { write(r.bus, r.off, v) }

// Update reads the register once, applies changes to the bits it keeps and
// writes it once.
func (r RW[T]) Update(changes ...Change[T]) {
	v := r.Read()&r.l.Keep | r.l.Idle
	write(r.bus, r.off, apply(v, changes))
}

// Modify reads the register once and writes back f of the value to keep:
// the bits the layout keeps as read, the others at their no-effect value.
// f may set W1C or W1S bits to act on them.
func (r RW[T]) Modify(f func(T) T) {
	v := r.Read()&r.l.Keep | r.l.Idle
	write(r.bus, r.off, f(v))
}

// Layout returns the register's write semantics.
func (r RW[T]) Layout() Layout[T] { return r.l }

// Bits returns the register width in bits.
func (r RW[T]) Bits() int { return bitsOf[T]() }

// Access returns ReadWrite.
func (r RW[T]) Access() Access { return ReadWrite }

// RC is a readable and writable register whose read has a side effect
// (read-to-clear fields, say). It has no read-modify-write: reading it to
// change one field would trigger the side effect.
type RC[T Value] struct {
	reg
	idle T
}

// MakeRC returns the read-with-side-effect register of type T at off on b.
func MakeRC[T Value](b Bus, off uintptr, l Layout[T]) RC[T] { return RC[T]{reg{b, off}, l.Idle} }

// Read reads the register once, with its side effect.
func (r RC[T]) Read() T { return read[T](r.bus, r.off) }

// Write writes v to the register.
func (r RC[T]) Write(v T) { write(r.bus, r.off, v) }

// Update writes the register's idle value with changes applied, without
// reading it: fields not named are written as zero or their no-effect value.
func (r RC[T]) Update(changes ...Change[T]) { write(r.bus, r.off, apply(r.idle, changes)) }

// Bits returns the register width in bits.
func (r RC[T]) Bits() int { return bitsOf[T]() }

// Access returns ReadWrite.
func (r RC[T]) Access() Access { return ReadWrite }
