package regs

import (
	"encoding/binary"
	"fmt"
)

// access is one access seen by testBus.
type access struct {
	op   string // "r" or "w"
	off  uintptr
	bits int
	val  uint64
}

func (a access) String() string { return fmt.Sprintf("%s%d@%#x=%#x", a.op, a.bits, a.off, a.val) }

// testBus is a Bus over plain memory that records accesses and can model
// write-1-to-clear bits (w1c) and hooks on reads.
type testBus struct {
	mem    []byte
	trace  []access
	w1c    map[uintptr]uint64                // offset -> bits that clear when written with 1
	onRead map[uintptr]func(v uint64) uint64 // value to store after a read (side effects)
}

func newTestBus(size int) *testBus { return &testBus{mem: make([]byte, size)} }

func (b *testBus) Size() uintptr { return uintptr(len(b.mem)) }

func (b *testBus) get(off uintptr, bits int) uint64 {
	MustCheck("read", off, bits, b.Size())
	var buf [8]byte
	copy(buf[:], b.mem[off:off+uintptr(bits/8)])
	return binary.LittleEndian.Uint64(buf[:])
}

func (b *testBus) put(off uintptr, bits int, v uint64) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	copy(b.mem[off:off+uintptr(bits/8)], buf[:bits/8])
}

func (b *testBus) read(off uintptr, bits int) uint64 {
	v := b.get(off, bits)
	b.trace = append(b.trace, access{"r", off, bits, v})
	if f := b.onRead[off]; f != nil {
		b.put(off, bits, f(v))
	}
	return v
}

func (b *testBus) write(off uintptr, bits int, v uint64) {
	MustCheck("write", off, bits, b.Size())
	b.trace = append(b.trace, access{"w", off, bits, v})
	if m, ok := b.w1c[off]; ok {
		old := b.get(off, bits)
		v = v&^m | old&m&^v // W1C bits: 1 clears, 0 keeps
	}
	b.put(off, bits, v)
}

func (b *testBus) Read8(off uintptr) uint8       { return uint8(b.read(off, 8)) }
func (b *testBus) Read16(off uintptr) uint16     { return uint16(b.read(off, 16)) }
func (b *testBus) Read32(off uintptr) uint32     { return uint32(b.read(off, 32)) }
func (b *testBus) Read64(off uintptr) uint64     { return b.read(off, 64) }
func (b *testBus) Write8(off uintptr, v uint8)   { b.write(off, 8, uint64(v)) }
func (b *testBus) Write16(off uintptr, v uint16) { b.write(off, 16, uint64(v)) }
func (b *testBus) Write32(off uintptr, v uint32) { b.write(off, 32, uint64(v)) }
func (b *testBus) Write64(off uintptr, v uint64) { b.write(off, 64, v) }
