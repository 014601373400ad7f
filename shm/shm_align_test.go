//go:build linux

package shm

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestRingsAligned checks the memfd layout keeps the rings' 64-bit atomic
// words 8-byte aligned on every target: the header's words are 32-bit at
// multiples of 4, the mapping starts on a page, and both rings start at
// multiples of ringAlign, itself a multiple of 8, for every shape (dmaring
// checks the words inside a ring from an 8-byte aligned start). It then
// makes a channel of each kind, checks the mapping's and the rings' start
// addresses and runs a message each way, so the 64-bit atomics of both
// rings run on 32-bit ARM too (scripts/cross runs this under
// qemu-arm-static).
func TestRingsAligned(t *testing.T) {
	assert.Zero(t, ringAlign%8)
	assert.Zero(t, ringAlign%unix.Getpagesize(), "ringAlign is a multiple of the page size")
	for _, off := range []int{offMagic, offVersion, offSlots, offSlotSize, offFlags, offAttached, offSleepers, offWake, offClosed, offSleepers + 64, offWake + 64, offClosed + 64} {
		assert.Zero(t, off%4, "32-bit header word at %d", off)
		assert.Less(t, off+4, ringAlign+1, "header word at %d overlaps ring 0", off)
	}
	for _, shape := range [][2]int{{2, 16}, {2, 24}, {4, 40}, {64, 256}, {1024, 4104}} {
		total, area, err := layoutSize(shape[0], shape[1])
		require.NoError(t, err)
		assert.Zero(t, area%ringAlign, "shape %v: ring area %d", shape, area)
		assert.Equal(t, ringAlign+2*area, total)
	}

	for _, mpmc := range []bool{false, true} {
		a, err := Create(&Options{Slots: 4, SlotSize: 40, MPMC: mpmc})
		require.NoError(t, err)
		files, err := a.Files()
		require.NoError(t, err)
		b, err := FromFiles(files, nil)
		for _, f := range files {
			f.Close()
		}
		require.NoError(t, err)

		for _, c := range []*Channel{a, b} {
			base := reflect.ValueOf(&c.mem[0]).Pointer()
			assert.Zero(t, base%uintptr(unix.Getpagesize()), "mpmc=%v: the mapping starts on a page", mpmc)
			assert.Zero(t, reflect.ValueOf(&c.mem[ringAlign]).Pointer()%8, "ring 0")
			_, area, err := layoutSize(4, 40)
			require.NoError(t, err)
			assert.Zero(t, reflect.ValueOf(&c.mem[ringAlign+area]).Pointer()%8, "ring 1")
		}
		require.NoError(t, a.Send(t.Context(), []byte("to b")))
		buf := make([]byte, 64)
		n, err := b.Recv(t.Context(), buf)
		require.NoError(t, err)
		assert.Equal(t, "to b", string(buf[:n]))
		require.NoError(t, b.Send(t.Context(), []byte("to a")))
		n, err = a.Recv(t.Context(), buf)
		require.NoError(t, err)
		assert.Equal(t, "to a", string(buf[:n]))
		require.NoError(t, a.Close())
		require.NoError(t, b.Close())
	}
}
