//go:build linux

package ebpf_test

import (
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	ipcebpf "github.com/ipcu/ipcu/ebpf"
)

const (
	futexWait = 0
	futexWake = 1
)

// futex calls futex(2), not private: the key is the page behind addr, so
// that processes mapping the same memory would meet on it.
func futex(word *uint32, op int, val uint32, ts *unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), uintptr(op), uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// The reason the MmapArray flavour sleeps with a backoff instead of a
// futex (doc.go): the kernel refuses a shared futex on BPF map memory
// with EFAULT, for wait and wake alike, because the map's pages are
// vmalloc pages with no file mapping to key the futex on. Should a kernel
// accept it, this test fails, as the wake-ups should then move to a
// futex: each side would have to meet the other on the same page, across
// processes.
func TestFutexOnMapMemory(t *testing.T) {
	dir := filepath.Join(bpffs(t), "ch")
	c, err := ipcebpf.Create(dir, &ipcebpf.Options{Flavour: ipcebpf.MmapArray, Depth: 2, MaxMessage: 8})
	require.NoError(t, err)
	defer c.Close()
	mem := mapPin(t, filepath.Join(dir, "a2b"))
	word := (*uint32)(unsafe.Pointer(&mem[16])) // a reserved word of the header, 0
	err = futex(word, futexWake, 1, nil)
	require.ErrorIs(t, err, unix.EFAULT, "FUTEX_WAKE on BPF map memory")
	ts := unix.NsecToTimespec(1e6)
	err = futex(word, futexWait, 0, &ts)
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
	require.NoError(t, futex(word, futexWake, 1, nil))
	require.ErrorIs(t, futex(word, futexWait, 0, &ts), unix.ETIMEDOUT)
}
