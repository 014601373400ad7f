package regs

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// mapMemfd returns a Window over a fresh memfd of size bytes and the fd.
func mapMemfd(t testing.TB, size int, opts *WindowOptions) (*Window, int) {
	t.Helper()
	fd, err := unix.MemfdCreate("regs-test", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Ftruncate(fd, int64(size)))
	w, err := Map(fd, 0, size, opts)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w, fd
}

func TestWindowAccesses(t *testing.T) {
	for _, split := range []bool{false, true} {
		w, fd := mapMemfd(t, os.Getpagesize(), &WindowOptions{Split64: split})
		assert.Equal(t, split || !native64, w.Split64())
		w.Write64(0x10, 0x1122334455667788)
		w.Write32(0x20, 0xdeadbeef)
		w.Write16(0x24, 0xcafe)
		w.Write8(0x26, 0x5a)
		assert.Equal(t, uint64(0x1122334455667788), w.Read64(0x10))
		assert.Equal(t, uint32(0x55667788), w.Read32(0x10))
		assert.Equal(t, uint16(0x1122), w.Read16(0x16))
		assert.Equal(t, uint8(0x77), w.Read8(0x11))
		assert.Equal(t, uint32(0xdeadbeef), w.Read32(0x20))
		assert.Equal(t, uint16(0xcafe), w.Read16(0x24))
		assert.Equal(t, uint8(0x5a), w.Read8(0x26))
		assert.Equal(t, uint8(0), w.Read8(0x27), "a narrow store must not touch its neighbour")

		// The memory is shared: another mapping of the file sees the stores.
		other, err := Map(fd, 0, os.Getpagesize(), nil)
		require.NoError(t, err)
		assert.Equal(t, uint32(0xdeadbeef), other.Read32(0x20))
		require.NoError(t, other.Close())
	}
}

func TestWindowPanicsOnBadAccess(t *testing.T) {
	w, _ := mapMemfd(t, os.Getpagesize(), nil)
	size := w.Size()
	expect := func(target error, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			require.NotNil(t, r, "no panic")
			err, ok := r.(error)
			require.True(t, ok, "panic value %v is not an error", r)
			var ae *AccessError
			require.True(t, errors.As(err, &ae))
			assert.ErrorIs(t, err, target)
		}()
		f()
	}
	expect(ErrOutOfRange, func() { w.Read32(size) })
	expect(ErrOutOfRange, func() { w.Write64(size-4, 0) })
	expect(ErrOutOfRange, func() { w.Read8(^uintptr(0)) })
	expect(ErrMisaligned, func() { w.Read32(2) })
	expect(ErrMisaligned, func() { w.Write16(1, 0) })
	expect(ErrMisaligned, func() { w.Read64(4) })

	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close is idempotent")
	assert.Zero(t, w.Size())
	expect(ErrClosed, func() { w.Read32(0) })
	var nilw *Window
	assert.NoError(t, nilw.Close())
}

func TestNewWindowErrors(t *testing.T) {
	_, err := NewWindow(nil, nil)
	assert.Error(t, err)
	buf := make([]uint64, 2)
	mem := unsafeBytes(buf)
	_, err = NewWindow(mem[1:9], nil)
	assert.ErrorContains(t, err, "not 8-byte aligned")
	w, err := NewWindow(mem, nil)
	require.NoError(t, err)
	assert.Equal(t, uintptr(16), w.Size())
	require.NoError(t, w.Close(), "closing a window over memory it does not own")

	_, err = Map(-1, 0, 4096, nil)
	assert.Error(t, err)
	_, err = Map(0, 1, 4096, nil)
	assert.ErrorContains(t, err, "page size")
	_, err = Map(0, 0, 0, nil)
	assert.Error(t, err)
}
