package dmaring

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLayout checks the structs and offsets against the table documented
// on RingSize, and that every field accessed with a 64-bit atomic is 8-byte
// aligned whatever the slot shape (32-bit ARM faults otherwise).
func TestLayout(t *testing.T) {
	var h ringHeader
	var l indexLine
	var sh slotHeader
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof header", unsafe.Sizeof(h), 64},
		{"header view", ringHeaderBytes, unsafe.Sizeof(h)},
		{"magic", unsafe.Offsetof(h.Magic), 0},
		{"version", unsafe.Offsetof(h.Version), 4},
		{"kind", unsafe.Offsetof(h.Kind), 8},
		{"flags", unsafe.Offsetof(h.Flags), 12},
		{"slots", unsafe.Offsetof(h.Slots), 16},
		{"slot size", unsafe.Offsetof(h.SlotSize), 20},
		{"broken", unsafe.Offsetof(h.Broken), 24},
		{"size", unsafe.Offsetof(h.Size), 32},
		{"sizeof index line", unsafe.Sizeof(l), 64},
		{"index line view", indexLineBytes, unsafe.Sizeof(l)},
		{"index", unsafe.Offsetof(l.Index), 0},
		{"tail", offTail, 64},
		{"head", offHead, 128},
		{"first slot", offSlots, 192},
		{"sizeof slot header", unsafe.Sizeof(sh), SlotHeaderSize},
		{"slot header view", slotHeaderBytes, unsafe.Sizeof(sh)},
		{"slot header size", SlotHeaderSize, 16},
		{"stamp", unsafe.Offsetof(sh.Seq), 0},
		{"length", unsafe.Offsetof(sh.Len), 8},
	} {
		assert.Equal(t, c.want, c.got, c.name)
	}

	// The 64-bit atomic fields, at every slot of rings of several shapes.
	atomic64 := []uintptr{unsafe.Offsetof(h.Size), offTail + unsafe.Offsetof(l.Index), offHead + unsafe.Offsetof(l.Index)}
	for _, shape := range [][2]int{{2, 16}, {4, 24}, {8, 40}, {16, 64}, {1024, 136}} {
		size, err := RingSize(shape[0], shape[1])
		require.NoError(t, err)
		mem, _ := alignedMem(size)
		s, err := InitSPSC(mem, shape[0], shape[1])
		require.NoError(t, err)
		offs := append([]uintptr(nil), atomic64...)
		for i := range s.r.slots {
			offs = append(offs, uintptr(s.r.slotOff(i))+unsafe.Offsetof(sh.Seq))
		}
		for _, off := range offs {
			assert.Zero(t, off%8, "shape %v: 64-bit field at offset %d", shape, off)
			assert.Less(t, int(off)+8, size+1)
		}
		assert.Zero(t, uintptr(unsafe.Pointer(s.r.tail))%8)
		assert.Zero(t, uintptr(unsafe.Pointer(s.r.head))%8)
		assert.Zero(t, uintptr(unsafe.Pointer(&s.r.hdr.Size))%8)
	}
}

// TestLayoutBytes checks the bytes of a ring, field by field, as a peer in
// another language would read them: little-endian at the documented
// offsets.
func TestLayoutBytes(t *testing.T) {
	mem, _ := alignedMem(192 + 4*32)
	s, err := InitSPSC(mem, 4, 32)
	require.NoError(t, err)
	require.NoError(t, s.Producer().Enqueue([]byte("hello")))
	le := binary.LittleEndian
	assert.Equal(t, "IPCR", string(mem[0:4]))
	assert.Equal(t, uint32(1), le.Uint32(mem[4:]), "version")
	assert.Equal(t, uint32(1), le.Uint32(mem[8:]), "kind")
	assert.Equal(t, uint32(0), le.Uint32(mem[12:]), "flags")
	assert.Equal(t, uint32(4), le.Uint32(mem[16:]), "slots")
	assert.Equal(t, uint32(32), le.Uint32(mem[20:]), "slot size")
	assert.Equal(t, uint32(0), le.Uint32(mem[24:]), "broken")
	assert.Equal(t, uint64(192+4*32), le.Uint64(mem[32:]), "size")
	assert.Equal(t, uint64(1), le.Uint64(mem[64:]), "tail")
	assert.Equal(t, uint64(0), le.Uint64(mem[128:]), "head")
	for i := range 4 {
		slot := mem[192+32*i:]
		want := uint64(i)
		if i == 0 {
			want = 1 // written
			assert.Equal(t, uint32(5), le.Uint32(slot[8:]), "length")
			assert.Equal(t, "hello", string(slot[16:21]))
		}
		assert.Equal(t, want, le.Uint64(slot), "stamp of slot %d", i)
	}
	m, err := InitMPMC(mem, 4, 32)
	require.NoError(t, err)
	assert.Equal(t, uint32(2), le.Uint32(mem[8:]), "kind")
	assert.Equal(t, 192+4*32, m.Size())
}

// TestSPSCHandlesPadded checks the handles keep their position, written on
// every operation, a cache line away from neighbouring heap objects.
func TestSPSCHandlesPadded(t *testing.T) {
	var p SPSCProducer
	var c SPSCConsumer
	for _, h := range []struct{ off, size uintptr }{
		{unsafe.Offsetof(p.pos), unsafe.Sizeof(p)},
		{unsafe.Offsetof(c.pos), unsafe.Sizeof(c)},
	} {
		assert.GreaterOrEqual(t, h.off, uintptr(cacheLine))
		assert.GreaterOrEqual(t, h.size-h.off-8, uintptr(cacheLine))
	}
}
