package vfio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/regs"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func TestRegionBusFile(t *testing.T) {
	skipOther(t)
	path := filepath.Join(t.TempDir(), "region")
	data := make([]byte, 0x40)
	for i := range data {
		data[i] = byte(i)
	}
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	// The region starts at 0x10 of the file and is 0x20 bytes long.
	b := &RegionBus{fd: int(f.Fd()), base: 0x10, size: 0x20}
	assert.Equal(t, uint8(0x11), b.Read8(1))
	assert.Equal(t, uint16(0x1312), b.Read16(2), "little-endian")
	assert.Equal(t, uint32(0x17161514), b.Read32(4))
	assert.Equal(t, uint64(0x1f1e1d1c1b1a1918), b.Read64(8))
	b.Write32(0x10, 0xdeadbeef)
	b.Write64(0x18, 0x0102030405060708)
	b.Write16(0x0, 0xaabb)
	b.Write8(0x2, 0xcc)
	require.NoError(t, b.Err())
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xbb, 0xaa, 0xcc}, got[0x10:0x13])
	assert.Equal(t, []byte{0xef, 0xbe, 0xad, 0xde}, got[0x20:0x24])
	assert.Equal(t, []byte{8, 7, 6, 5, 4, 3, 2, 1}, got[0x28:0x30])
	assert.Equal(t, uintptr(0x20), b.Size())

	assert.Panics(t, func() { b.Read32(0x1e) }, "beyond the region")
	assert.Panics(t, func() { b.Read32(0x2) }, "misaligned")
	var ae *regs.AccessError
	func() {
		defer func() { ae, _ = recover().(*regs.AccessError) }()
		b.Read64(0x20)
	}()
	require.NotNil(t, ae)
	assert.ErrorIs(t, ae, regs.ErrOutOfRange)

	// A short read (past the end of the file) is all ones and recorded.
	short := &RegionBus{fd: int(f.Fd()), base: 0x3c, size: 0x10}
	assert.Equal(t, ^uint64(0), short.Read64(0))
	assert.Error(t, short.Err())
	assert.NoError(t, short.Err(), "Err clears")

	ro, err := os.Open(path)
	require.NoError(t, err)
	defer ro.Close()
	rb := &RegionBus{fd: int(ro.Fd()), size: 0x10}
	rb.Write32(0, 1)
	err = rb.Err()
	require.Error(t, err, "write to a read-only descriptor")
	assert.Contains(t, err.Error(), "pwrite")
}
