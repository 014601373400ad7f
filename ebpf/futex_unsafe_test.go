//go:build linux

package ebpf_test

import (
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	ipcebpf "github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/internal/futex"
)

// The reason the MmapArray flavour sleeps with a backoff instead of a
// futex (doc.go): the kernel refuses a shared futex on BPF map memory
// with EFAULT, for wait and wake alike, because the map's pages are
// vmalloc pages with no file mapping to key the futex on. Should a kernel
// accept it, this test fails, as the wake-ups should then move to a
// futex: each side would have to meet the other on the same page, across
// processes. The futex calls are internal/futex's, not private: the key is
// the page behind the address, so that processes mapping the same memory
// would meet on it.
func TestFutexOnMapMemory(t *testing.T) {
	dir := filepath.Join(bpffs(t), "ch")
	c, err := ipcebpf.Create(dir, &ipcebpf.Options{Flavour: ipcebpf.MmapArray, Depth: 2, MaxMessage: 8})
	require.NoError(t, err)
	defer c.Close()
	mem := mapPin(t, filepath.Join(dir, "a2b"))
	word := (*uint32)(unsafe.Pointer(&mem[16])) // a reserved word of the header, 0
	_, err = futex.Wake(word, 1)
	require.ErrorIs(t, err, unix.EFAULT, "FUTEX_WAKE on BPF map memory")
	ts := unix.NsecToTimespec(1e6)
	err = futex.Wait(word, 0, &ts)
	require.ErrorIs(t, err, unix.EFAULT, "FUTEX_WAIT on BPF map memory")

	// The same calls on a shared mapping of a memfd work: the failure is
	// the map memory's.
	fd, err := unix.MemfdCreate("futex", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.Ftruncate(fd, 4096))
	shm, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(shm)
	word = (*uint32)(unsafe.Pointer(&shm[0]))
	_, err = futex.Wake(word, 1)
	require.NoError(t, err)
	require.ErrorIs(t, futex.Wait(word, 0, &ts), unix.ETIMEDOUT)
}
