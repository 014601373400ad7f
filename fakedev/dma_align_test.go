package fakedev

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/dmaring"
)

// TestDMABuffersAligned checks what DMA layouts in a Buffer rely on for
// their 64-bit atomic words on every target (scripts/cross runs this on
// 32-bit ARM): a buffer's CPU address and its device address both start
// on a page, so a word at a multiple of 8 in it is 8-byte aligned for the
// CPU and for the block; Map refuses memory whose CPU address differs from
// the device address modulo 8; and a dmaring ring laid out in a buffer at
// an 8-byte aligned offset runs.
func TestDMABuffersAligned(t *testing.T) {
	r := newRig(t, Config{})
	for _, size := range []int{8, 100, pageSize, 3*pageSize + 8} {
		b, err := r.d.Core(1).Alloc(size, 0)
		require.NoError(t, err)
		assert.Zero(t, reflect.ValueOf(&b.Bytes()[0]).Pointer()%uintptr(pageSize), "CPU address of %d bytes", size)
		assert.Zero(t, b.Addr()%uint64(pageSize), "device address of %d bytes", size)
		require.NoError(t, b.Free())
	}

	b, err := r.d.Core(2).Alloc(2*pageSize, 0)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Free()) }()
	mem := b.Bytes()
	const far = IOVABase + 1<<30
	assert.ErrorContains(t, r.d.Map(far+4, mem[:64], PermRW), "modulo 8")
	require.NoError(t, r.d.Map(far+8, mem[8:72], PermRW))
	require.NoError(t, r.d.Unmap(far, 4096))

	size, err := dmaring.RingSize(8, 64)
	require.NoError(t, err)
	for _, off := range []int{0, 8, pageSize - 64} {
		ring, err := dmaring.InitMPMC(mem[off:off+size], 8, 64)
		require.NoError(t, err, "ring at offset %d", off)
		buf := make([]byte, ring.MaxMessage())
		for i := range 20 {
			require.NoError(t, ring.Enqueue([]byte{byte(i), byte(off)}))
			n, err := ring.Dequeue(buf)
			require.NoError(t, err)
			assert.Equal(t, []byte{byte(i), byte(off)}, buf[:n])
		}
	}
}
