package ebpf_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	ipcebpf "github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/mailbox"
)

// Offsets in an MmapArray map: the ring after the 64-byte header, and the
// ring's published indices (dmaring.RingSize).
const (
	ringOff = 64
	tailOff = ringOff + 64
	headOff = ringOff + 128
)

// mapPin maps the memory of an MmapArray pin, as a process killed while
// it used it left it.
func mapPin(t *testing.T, path string) []byte {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(path, nil)
	require.NoError(t, err)
	defer m.Close()
	mem, err := unix.Mmap(m.FD(), 0, int(m.MaxEntries()*m.ValueSize()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	return mem
}

// A consumer killed after it freed a slot but before it published its
// position left the published head one behind: the next consumer resumes
// after that message, neither receiving it twice nor taking the ring for
// broken. The same for a producer killed after it filled a slot.
func TestMmapResume(t *testing.T) {
	dir := filepath.Join(bpffs(t), "ch")
	a, err := ipcebpf.Create(dir, &ipcebpf.Options{Flavour: ipcebpf.MmapArray, Depth: 4, MaxMessage: 16, Persist: true})
	require.NoError(t, err)
	defer ipcebpfRemove(t, dir)
	for i := range 3 {
		require.NoError(t, a.TrySend(fmt.Appendf(nil, "m%d", i)))
	}
	b, err := ipcebpf.Open(dir, nil)
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := b.TryRecv(buf)
	require.NoError(t, err)
	require.Equal(t, "m0", string(buf[:n]))
	require.NoError(t, b.Close())
	require.NoError(t, a.Close())

	mem := mapPin(t, filepath.Join(dir, "a2b"))
	require.Equal(t, uint64(1), binary.LittleEndian.Uint64(mem[headOff:]))
	require.Equal(t, uint64(3), binary.LittleEndian.Uint64(mem[tailOff:]))
	binary.LittleEndian.PutUint64(mem[headOff:], 0) // the consumer died before publishing 1
	binary.LittleEndian.PutUint64(mem[tailOff:], 2) // the producer died before publishing 3

	a, err = ipcebpf.Open(dir, &ipcebpf.Options{Side: ipcebpf.Creator, Persist: true})
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.TrySend([]byte("m3")))
	b, err = ipcebpf.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	for _, want := range []string{"m1", "m2", "m3"} {
		n, err := b.TryRecv(buf)
		require.NoError(t, err)
		assert.Equal(t, want, string(buf[:n]))
	}
	_, err = b.TryRecv(buf)
	assert.ErrorIs(t, err, mailbox.ErrEmpty)
}

// ipcebpfRemove removes a persisted channel's pins by reopening it as the
// creator without Persist.
func ipcebpfRemove(t *testing.T, dir string) {
	c, err := ipcebpf.Open(dir, &ipcebpf.Options{Side: ipcebpf.Creator})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}
