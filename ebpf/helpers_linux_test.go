package ebpf_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/internal/testenv"
)

// bpffs gates t on BPF (Probe) and mounts a bpffs of its own on a
// temporary directory, which it returns. At the end of the test it checks
// that no pin is left in it and unmounts it.
func bpffs(t testing.TB) string {
	t.Helper()
	testenv.Require(t, "BPF", ebpf.Probe())
	dir := t.TempDir()
	require.NoError(t, unix.Mount("bpf", dir, "bpf", 0, "mode=0755"), "mount -t bpf")
	before := map[string]bool{} // the kernel's own entries (maps.debug, progs.debug)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		before[e.Name()] = true
	}
	t.Cleanup(func() {
		left, err := os.ReadDir(dir)
		assert.NoError(t, err)
		for _, e := range left {
			if before[e.Name()] {
				continue
			}
			t.Errorf("pin left in bpffs: %s", e.Name())
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
		assert.NoError(t, unix.Unmount(dir, 0))
	})
	return dir
}

// pair creates a channel in a fresh bpffs and opens its other endpoint in
// this process.
func pair(t testing.TB, opts *ebpf.Options) (a, b *ebpf.Channel) {
	t.Helper()
	dir := filepath.Join(bpffs(t), "ch")
	a, err := ebpf.Create(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	b, err = ebpf.Open(dir, &ebpf.Options{BusyPoll: optsBusyPoll(opts)})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return a, b
}

func optsBusyPoll(o *ebpf.Options) int {
	if o == nil {
		return 0
	}
	return o.BusyPoll
}
