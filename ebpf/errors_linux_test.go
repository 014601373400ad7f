package ebpf_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	ipcebpf "github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/mailbox"
)

// A directory outside bpffs is ErrNotSupported, saying so.
func TestNotBPFFS(t *testing.T) {
	dir := t.TempDir() // tmpfs or ext4, not bpffs
	_, err := ipcebpf.Create(filepath.Join(dir, "ch"), nil)
	require.ErrorIs(t, err, ipcebpf.ErrNotSupported)
	assert.Contains(t, err.Error(), "not on a bpffs")
	var e *ipcebpf.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "create", e.Op)

	_, err = ipcebpf.Open(dir, nil)
	require.ErrorIs(t, err, ipcebpf.ErrNotSupported)
	_, err = ipcebpf.Open(filepath.Join(dir, "missing", "ch"), nil)
	require.ErrorIs(t, err, ipcebpf.ErrNotSupported)
}

func TestBadOptions(t *testing.T) {
	root := bpffs(t)
	for _, o := range []ipcebpf.Options{
		{Depth: -1},
		{MaxMessage: -1},
		{Flavour: 7},
		{Flavour: ipcebpf.MmapArray, Depth: 3},
		{Mode: os.ModeDir | 0o600},
	} {
		_, err := ipcebpf.Create(filepath.Join(root, "ch"), &o)
		assert.Error(t, err, "%+v", o)
	}
	_, err := ipcebpf.Open(root, &ipcebpf.Options{Side: 5})
	assert.Error(t, err)
}

func TestCreateExisting(t *testing.T) {
	root := bpffs(t)
	dir := filepath.Join(root, "ch")
	a, err := ipcebpf.Create(dir, nil)
	require.NoError(t, err)
	defer a.Close()
	_, err = ipcebpf.Create(dir, nil)
	require.ErrorIs(t, err, os.ErrExist)
	// The failed Create removed nothing of the first channel's.
	b, err := ipcebpf.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.TrySend([]byte("x")))
	_, err = b.TryRecv(make([]byte, 8))
	require.NoError(t, err)
}

func TestOpenMissing(t *testing.T) {
	root := bpffs(t)
	require.NoError(t, os.Mkdir(filepath.Join(root, "empty"), 0o700))
	defer os.Remove(filepath.Join(root, "empty"))
	_, err := ipcebpf.Open(filepath.Join(root, "empty"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// Open refuses a channel beyond the caller's limits.
func TestOpenLimits(t *testing.T) {
	for _, tc := range flavours {
		if tc.opts.BusyPoll != 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(bpffs(t), "ch")
			a, err := ipcebpf.Create(dir, &tc.opts) // depth 8, messages of 48 bytes
			require.NoError(t, err)
			defer a.Close()
			for _, lim := range []struct {
				name string
				l    ipcebpf.Limits
			}{
				{"queued messages", ipcebpf.Limits{Depth: 4}},
				{"message size", ipcebpf.Limits{Message: 47}},
				{"memory", ipcebpf.Limits{Memory: 100}},
			} {
				_, err := ipcebpf.Open(dir, &ipcebpf.Options{Limits: lim.l})
				require.ErrorIs(t, err, mailbox.ErrLimit, lim.name)
				var le *mailbox.LimitError
				require.ErrorAs(t, err, &le)
				assert.Equal(t, lim.name, le.Limit)
			}
			b, err := ipcebpf.Open(dir, &ipcebpf.Options{Limits: ipcebpf.Limits{Depth: 8, Message: 48, Memory: 1 << 20}})
			require.NoError(t, err)
			require.NoError(t, b.Close())
		})
	}
}

// Maps that are not a channel's are refused with ErrLayout.
func TestOpenForeignMaps(t *testing.T) {
	root := bpffs(t)
	dir := filepath.Join(root, "foreign")
	require.NoError(t, os.Mkdir(dir, 0o700))
	defer os.RemoveAll(dir)
	for _, name := range []string{"a2b", "b2a"} {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
		require.NoError(t, err)
		require.NoError(t, m.Pin(filepath.Join(dir, name)))
		m.Close()
	}
	_, err := ipcebpf.Open(dir, nil)
	require.ErrorIs(t, err, ipcebpf.ErrLayout)

	// Mmapable arrays without the header.
	dir2 := filepath.Join(root, "noheader")
	require.NoError(t, os.Mkdir(dir2, 0o700))
	defer os.RemoveAll(dir2)
	for _, name := range []string{"a2b", "b2a"} {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 512, Flags: unix.BPF_F_MMAPABLE})
		require.NoError(t, err)
		require.NoError(t, m.Pin(filepath.Join(dir2, name)))
		m.Close()
	}
	_, err = ipcebpf.Open(dir2, nil)
	require.ErrorIs(t, err, ipcebpf.ErrLayout)
}

// A queue value whose length word is longer than the channel's messages
// breaks the channel (mailbox.ErrBroken), and it stays broken.
func TestQueueBadLength(t *testing.T) {
	dir := filepath.Join(bpffs(t), "ch")
	a, err := ipcebpf.Create(dir, &ipcebpf.Options{Depth: 4, MaxMessage: 16})
	require.NoError(t, err)
	defer a.Close()
	m, err := ebpf.LoadPinnedMap(filepath.Join(dir, "a2b"), nil)
	require.NoError(t, err)
	defer m.Close()
	v := make([]byte, 4+16)
	v[0] = 17
	require.NoError(t, m.Update(nil, v, ebpf.UpdateAny))
	b, err := ipcebpf.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.TryRecv(make([]byte, 64))
	require.ErrorIs(t, err, mailbox.ErrBroken)
	_, err = b.TryRecv(make([]byte, 64))
	require.ErrorIs(t, err, mailbox.ErrBroken)
}

// A length in an MmapArray slot that the slot has room for (slots are
// multiples of 8 bytes) but that is longer than the channel's messages
// breaks the channel, whatever the buffer: it is not left queued as a
// message too long for the buffer, forever.
func TestMmapBadLengthInPadding(t *testing.T) {
	dir := filepath.Join(bpffs(t), "ch")
	const maxMsg = 241 // slots of 264 bytes: room for 248
	a, err := ipcebpf.Create(dir, &ipcebpf.Options{Flavour: ipcebpf.MmapArray, Depth: 4, MaxMessage: maxMsg})
	require.NoError(t, err)
	defer a.Close()
	mem := mapPin(t, filepath.Join(dir, "a2b"))
	slot := mem[ringOff+192:]
	binary.LittleEndian.PutUint32(slot[8:], maxMsg+7) // the length, before the stamp
	binary.LittleEndian.PutUint64(slot[0:], 1)        // written, for position 0
	b, err := ipcebpf.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	for range 2 {
		_, err = b.TryRecv(make([]byte, maxMsg))
		require.ErrorIs(t, err, mailbox.ErrBroken)
	}
}

// A peer holding the pins (with CAP_BPF) can freeze a queue map, after
// which the kernel refuses every push and pop with EPERM: the channel is
// broken, not a permission problem of this process.
func TestQueueFrozen(t *testing.T) {
	dir := filepath.Join(bpffs(t), "ch")
	a, err := ipcebpf.Create(dir, &ipcebpf.Options{Depth: 4, MaxMessage: 16})
	require.NoError(t, err)
	defer a.Close()
	b, err := ipcebpf.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.TrySend([]byte("before")))
	for _, name := range []string{"a2b", "b2a"} {
		m, err := ebpf.LoadPinnedMap(filepath.Join(dir, name), nil)
		require.NoError(t, err)
		require.NoError(t, m.Freeze())
		require.NoError(t, m.Close())
	}
	err = b.TrySend([]byte("x"))
	require.ErrorIs(t, err, mailbox.ErrBroken)
	assert.NotErrorIs(t, err, os.ErrPermission)
	_, err = b.TryRecv(make([]byte, 16))
	require.ErrorIs(t, err, mailbox.ErrBroken)
	_, err = a.TryRecv(make([]byte, 16))
	require.ErrorIs(t, err, mailbox.ErrBroken)
}

// A creator killed between making its temporary directory and renaming
// it leaves that directory behind; a later Create of the same channel, by
// a process of the same PID (PID 1 of a restarted container, say), is not
// blocked by it.
func TestCreateAfterStaleTemp(t *testing.T) {
	root := bpffs(t)
	dir := filepath.Join(root, "ch")
	stale := dir + "-creating-" + strconv.Itoa(os.Getpid())
	require.NoError(t, os.Mkdir(stale, 0o700))
	defer os.Remove(stale)
	a, err := ipcebpf.Create(dir, nil)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() != filepath.Base(stale) {
			assert.NotContains(t, e.Name(), "-creating-", "a temporary directory left by Create")
		}
	}
}
