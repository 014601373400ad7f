package regs

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckAccess(t *testing.T) {
	const size = 0x100
	tests := []struct {
		name string
		off  uintptr
		bits int
		want error
	}{
		{"first byte", 0, 8, nil},
		{"last byte", size - 1, 8, nil},
		{"last word", size - 4, 32, nil},
		{"last dword", size - 8, 64, nil},
		{"past end", size, 8, ErrOutOfRange},
		{"straddles end", size - 4, 64, ErrOutOfRange},
		{"huge offset", ^uintptr(0), 8, ErrOutOfRange},
		{"wraps around", ^uintptr(0) - 2, 32, ErrOutOfRange},
		{"misaligned 16", 1, 16, ErrMisaligned},
		{"misaligned 32", 2, 32, ErrMisaligned},
		{"misaligned 64", 4, 64, ErrMisaligned},
		{"bad width 24", 0, 24, ErrBadWidth},
		{"bad width 0", 0, 0, ErrBadWidth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAccess("read", tt.off, tt.bits, size)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			var ae *AccessError
			require.True(t, errors.As(err, &ae))
			assert.Equal(t, tt.off, ae.Offset)
			assert.Equal(t, tt.bits, ae.Bits)
			assert.Contains(t, err.Error(), "read")
		})
	}
}

func TestReadWriteAt(t *testing.T) {
	b := newTestBus(16)
	require.NoError(t, WriteAt(b, 8, 64, 0x1122334455667788))
	v, err := ReadAt(b, 8, 32)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x55667788), v)
	v, err = ReadAt(b, 14, 16)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x1122), v)
	v, err = ReadAt(b, 9, 8)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x77), v)

	_, err = ReadAt(b, 16, 8)
	assert.ErrorIs(t, err, ErrOutOfRange)
	assert.ErrorIs(t, WriteAt(b, 2, 32, 0), ErrMisaligned)
	assert.ErrorContains(t, WriteAt(b, 0, 8, 0x100), "does not fit in 8 bits")
	n := len(b.trace)
	assert.Error(t, WriteAt(b, 0, 16, 1<<16))
	assert.Len(t, b.trace, n, "a rejected write must not reach the bus")
}

func TestSplitRead64(t *testing.T) {
	b := newTestBus(16)
	b.put(0, 64, 0xaaaa_bbbb_cccc_dddd)
	assert.Equal(t, uint64(0xaaaa_bbbb_cccc_dddd), SplitRead64(b, 0))
	assert.Equal(t, []access{
		{"r", 4, 32, 0xaaaabbbb},
		{"r", 0, 32, 0xccccdddd},
		{"r", 4, 32, 0xaaaabbbb},
	}, b.trace, "order is high, low, high")

	// A counter carries into the high word between the first two reads:
	// the low word is read again.
	b = newTestBus(16)
	b.put(0, 64, 0x1_ffff_ffff)
	b.onRead = map[uintptr]func(uint64) uint64{
		4: func(v uint64) uint64 {
			if v == 1 {
				b.put(0, 32, 0x5) // low wrapped
				return 2
			}
			return v
		},
	}
	assert.Equal(t, uint64(0x2_0000_0005), SplitRead64(b, 0))
	assert.Len(t, b.trace, 4)
}

func TestSplitWrite64(t *testing.T) {
	b := newTestBus(8)
	SplitWrite64(b, 0, 0x0102030405060708)
	assert.Equal(t, []access{{"w", 0, 32, 0x05060708}, {"w", 4, 32, 0x01020304}}, b.trace, "low first, high last")
}
