package vfio

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIOVASpace(t *testing.T) {
	const page = 0x1000
	// QEMU's intel-iommu: everything but the MSI window.
	s := newIOVASpace([]IOVARange{{0xfef00000, 0x7fffffffff}, {0, 0xfedfffff}}, page)
	a, err := s.alloc(page, page, limitOf(28))
	require.NoError(t, err)
	assert.EqualValues(t, page, a, "never IOVA 0")
	b, err := s.alloc(0x10000, 0x10000, limitOf(28))
	require.NoError(t, err)
	assert.EqualValues(t, 0x10000, b, "aligned past the first")
	c, err := s.alloc(page, page, limitOf(28))
	require.NoError(t, err)
	assert.EqualValues(t, 2*page, c, "first fit in the gap")

	_, err = s.alloc(1<<28, page, limitOf(28))
	assert.ErrorIs(t, err, ErrNoSpace, "larger than the limit")
	last, err := s.alloc(0x100000, page, limitOf(28))
	require.NoError(t, err)
	assert.LessOrEqual(t, last+0x100000-1, limitOf(28))

	// Without a limit, a range the MSI window splits: skipped to the next.
	big, err := s.alloc(0x10000000, 0x10000000, limitOf(0))
	require.NoError(t, err)
	assert.EqualValues(t, 0x10000000, big)
	huge, err := s.alloc(0x100000000, 0x1000, limitOf(0))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, huge, uint64(0xfef00000), "beyond the hole")

	s.free(b)
	again, err := s.alloc(0x10000, 0x10000, limitOf(28))
	require.NoError(t, err)
	assert.Equal(t, b, again, "freed space is reused")

	_, err = s.alloc(0, page, 0)
	assert.ErrorIs(t, err, ErrNoSpace)
	_, err = s.alloc(page, 3, 0)
	assert.ErrorIs(t, err, ErrNoSpace)
}

func TestIOVASpaceTop(t *testing.T) {
	s := newIOVASpace(nil, 0x1000)
	top, err := s.alloc(0x1000, 1<<63, limitOf(64))
	require.NoError(t, err)
	assert.EqualValues(t, uint64(1)<<63, top)
	_, err = s.alloc(1<<63, 1<<63, limitOf(64))
	assert.ErrorIs(t, err, ErrNoSpace, "no overflow past 2^64")
	assert.Equal(t, uint64(1<<28-1), limitOf(28))
	assert.Equal(t, ^uint64(0), limitOf(64))
}

func TestMemlock(t *testing.T) {
	const inf = ^uint64(0)
	assert.NoError(t, memlockState{limit: inf, infinity: inf}.check(1<<40))
	assert.NoError(t, memlockState{limit: 8 << 20, locked: 4 << 20, infinity: inf}.check(4<<20))
	assert.NoError(t, memlockState{limit: 64 << 10, capIPC: true, infinity: inf}.check(1<<30), "CAP_IPC_LOCK lifts it")
	err := memlockState{limit: 8 << 20, locked: 6 << 20, infinity: inf}.check(4 << 20)
	require.ErrorIs(t, err, ErrMemlock)
	for _, s := range []string{"ulimit -l", "LimitMEMLOCK=", "CAP_IPC_LOCK", "8192 KiB", "6144 KiB"} {
		assert.Contains(t, err.Error(), s)
	}
}

func TestParseStatus(t *testing.T) {
	locked, capIPC, err := parseStatus(stringsReader("Name:\tx\nVmLck:\t     128 kB\nCapEff:\t000001ffffffffff\n"))
	require.NoError(t, err)
	assert.EqualValues(t, 128<<10, locked)
	assert.True(t, capIPC)
	_, capIPC, err = parseStatus(stringsReader("CapEff:\t0000000000000000\n"))
	require.NoError(t, err)
	assert.False(t, capIPC)
	_, _, err = parseStatus(stringsReader("VmLck:\tlots kB\n"))
	assert.Error(t, err)
}
