package dmaring

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestAtomic64FieldsAligned checks, by reflection, that every 64-bit field
// of the structs that view ring memory sits at a multiple of 8 in its
// struct and that each struct's size is a multiple of 8, so that where the
// struct starts 8-byte aligned, every field sync/atomic accesses with a
// 64-bit operation is aligned: 32-bit ARM panics on an unaligned one. It
// runs on every target (scripts/cross runs it under qemu-arm-static).
func TestAtomic64FieldsAligned(t *testing.T) {
	atomic64 := map[string][]string{ // the fields accessed with load64, store64, cas64
		"ringHeader": {"Size"},
		"indexLine":  {"Index"},
		"slotHeader": {"Seq"},
	}
	for _, typ := range []reflect.Type{
		reflect.TypeFor[ringHeader](),
		reflect.TypeFor[indexLine](),
		reflect.TypeFor[slotHeader](),
	} {
		assert.Zero(t, typ.Size()%8, "size of %s", typ.Name())
		listed := map[string]bool{}
		for _, name := range atomic64[typ.Name()] {
			f, ok := typ.FieldByName(name)
			require.True(t, ok, "%s.%s", typ.Name(), name)
			listed[name] = true
			assert.Zero(t, f.Offset%8, "%s.%s at offset %d", typ.Name(), name, f.Offset)
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if k := f.Type.Kind(); k == reflect.Uint64 || k == reflect.Int64 {
				assert.Zero(t, f.Offset%8, "64-bit field %s.%s at offset %d", typ.Name(), f.Name, f.Offset)
				assert.True(t, f.Name == "_" || listed[f.Name], "64-bit field %s.%s is not in the list", typ.Name(), f.Name)
			}
		}
	}
}

// TestRingInPageAlignedMemory makes rings in a page-aligned shared mapping,
// as a process or a DMA buffer gives them, at 8-byte aligned offsets inside
// it, checks the address of every 64-bit word the ring code accesses
// atomically, and runs messages through them: every load64, store64 and
// cas64 happens on 32-bit ARM too.
func TestRingInPageAlignedMemory(t *testing.T) {
	page := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 4*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, unix.Munmap(mem)) })
	require.Zero(t, addrOf(mem)%uintptr(page), "a mapping starts on a page")

	for _, c := range []struct{ off, slots, slotSize int }{
		{0, 4, 64},
		{8, 2, 24},    // 8-byte aligned, not cache-line aligned
		{page, 8, 40}, // a slot size that is not a power of two
		{page + 72, 16, 24},
	} {
		size, err := RingSize(c.slots, c.slotSize)
		require.NoError(t, err)
		m := mem[c.off : c.off+size]

		s, err := InitSPSC(m, c.slots, c.slotSize)
		require.NoError(t, err)
		words := []*uint64{&s.r.hdr.Size, s.r.tail, s.r.head}
		for i := range s.r.slots {
			words = append(words, &slotAt(m, s.r.slotOff(i)).Seq)
		}
		for _, w := range words {
			assert.Zero(t, reflect.ValueOf(w).Pointer()%8, "ring at %d of %v: 64-bit word at %p", c.off, c, w)
		}
		p, q := s.Producer(), s.Consumer()
		buf := make([]byte, s.MaxMessage())
		for i := range 3 * c.slots {
			require.NoError(t, p.Enqueue([]byte{byte(i)}))
			n, err := q.Dequeue(buf)
			require.NoError(t, err)
			require.Equal(t, []byte{byte(i)}, buf[:n])
		}

		mp, err := InitMPMC(m, c.slots, c.slotSize)
		require.NoError(t, err)
		for i := range 3 * c.slots {
			require.NoError(t, mp.Enqueue([]byte{byte(i)}))
			n, err := mp.Dequeue(buf)
			require.NoError(t, err)
			require.Equal(t, []byte{byte(i)}, buf[:n])
		}
	}
}

// TestMisalignedMemoryRefused checks that memory not 8-byte aligned is
// refused with ErrLayout before any atomic access, rather than panicking
// (32-bit ARM) or tearing on a peer's CPU.
func TestMisalignedMemoryRefused(t *testing.T) {
	size, err := RingSize(4, 32)
	require.NoError(t, err)
	mem, _ := alignedMem(size + 8)
	for off := 1; off < 8; off++ {
		_, err := InitSPSC(mem[off:off+size], 4, 32)
		assert.ErrorIs(t, err, ErrLayout, "offset %d", off)
		_, err = InitMPMC(mem[off:off+size], 4, 32)
		assert.ErrorIs(t, err, ErrLayout, "offset %d", off)
		_, err = AttachSPSC(mem[off : off+size])
		assert.ErrorIs(t, err, ErrLayout, "offset %d", off)
	}
}
