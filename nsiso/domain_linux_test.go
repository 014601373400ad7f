package nsiso_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/nsiso"
)

// requireNS gates a test on this process being able to make domains.
func requireNS(t *testing.T) {
	t.Helper()
	testenv.Require(t, "namespaces", nsiso.Supported())
}

// newDomain makes a domain closed at the end of the test.
func newDomain(t *testing.T, opts *nsiso.Options) *nsiso.Domain {
	t.Helper()
	d, err := nsiso.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	return d
}

// in runs f in d and returns its error.
func in(d *nsiso.Domain, f func() error) error {
	return d.Run(context.Background(), f)
}

// testKey returns a SysV IPC key for this test run: fixed for the run, and
// different between concurrent runs.
func testKey(n int) int {
	return 0x1bc00000 | (os.Getpid()&0xffff)<<4 | n
}

// sysv makes (create) or looks up a SysV shared-memory segment and a
// message queue with key and returns their ids.
func sysv(key int, create bool) (shmID, msgID int, err error) {
	flags := 0
	if create {
		flags = unix.IPC_CREAT | unix.IPC_EXCL | 0o600
	}
	shmID, err = unix.SysvShmGet(key, 4096, flags)
	if err != nil {
		return -1, -1, fmt.Errorf("shmget: %w", err)
	}
	id, _, errno := unix.Syscall(unix.SYS_MSGGET, uintptr(key), uintptr(flags), 0)
	if errno != 0 {
		if create {
			_, _ = unix.SysvShmCtl(shmID, unix.IPC_RMID, nil)
		}
		return -1, -1, fmt.Errorf("msgget: %w", errno)
	}
	return shmID, int(id), nil
}

// removeSysv removes what sysv made.
func removeSysv(shmID, msgID int) error {
	_, err := unix.SysvShmCtl(shmID, unix.IPC_RMID, nil)
	if _, _, errno := unix.Syscall(unix.SYS_MSGCTL, uintptr(msgID), unix.IPC_RMID, 0); errno != 0 && err == nil {
		err = errno
	}
	return err
}

func TestSysVIsolated(t *testing.T) {
	requireNS(t)
	a := newDomain(t, nil)
	b := newDomain(t, nil)
	keyA, keyHost := testKey(1), testKey(2)

	var shmA, msgA int
	require.NoError(t, in(a, func() (err error) {
		shmA, msgA, err = sysv(keyA, true)
		return err
	}))
	// Found where it was made: the lookups below can find an object.
	require.NoError(t, in(a, func() error { _, _, err := sysv(keyA, false); return err }))
	err := in(b, func() error { _, _, err := sysv(keyA, false); return err })
	assert.ErrorIs(t, err, unix.ENOENT, "domain A's objects seen from domain B")
	_, _, err = sysv(keyA, false)
	assert.ErrorIs(t, err, unix.ENOENT, "domain A's objects seen from the host")
	assert.NoError(t, in(a, func() error { return removeSysv(shmA, msgA) }))

	shmH, msgH, err := sysv(keyHost, true)
	require.NoError(t, err)
	defer func() { assert.NoError(t, removeSysv(shmH, msgH)) }()
	_, _, err = sysv(keyHost, false)
	require.NoError(t, err)
	err = in(a, func() error { _, _, err := sysv(keyHost, false); return err })
	assert.ErrorIs(t, err, unix.ENOENT, "the host's objects seen from domain A")
}

func TestPOSIXMqueueIsolated(t *testing.T) {
	requireNS(t)
	a := newDomain(t, nil)
	b := newDomain(t, nil)
	name := fmt.Sprintf("ipcu-nsiso-%d", os.Getpid())

	require.NoError(t, in(a, func() error {
		fd, err := mqOpen(name, true)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	}))
	defer func() { assert.NoError(t, in(a, func() error { return mqUnlink(name) })) }()
	lookup := func() error {
		fd, err := mqOpen(name, false)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	}
	require.NoError(t, in(a, lookup))
	assert.ErrorIs(t, in(b, lookup), unix.ENOENT, "domain A's queue seen from domain B")
	assert.ErrorIs(t, lookup(), unix.ENOENT, "domain A's queue seen from the host")
}

func TestDevShmIsolated(t *testing.T) {
	requireNS(t)
	a := newDomain(t, &nsiso.Options{Tmp: true, ShmSize: 1 << 20})
	b := newDomain(t, nil)
	base := fmt.Sprintf("ipcu-nsiso-%d", os.Getpid())
	inA := []string{filepath.Join("/dev/shm", base+"-a"), filepath.Join("/tmp", base+"-a")}

	require.NoError(t, in(a, func() error {
		for _, p := range inA {
			if err := os.WriteFile(p, []byte("a"), 0o600); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, p := range inA {
		require.NoError(t, in(a, func() error { return statErr(p) }))
		assert.ErrorIs(t, statErr(p), os.ErrNotExist, "%s of domain A seen from the host", p)
	}
	assert.ErrorIs(t, in(b, func() error { return statErr(inA[0]) }), os.ErrNotExist, "domain A's /dev/shm file seen from domain B")
	// B did not ask for its own /tmp: it shares the host's.
	onHost := filepath.Join("/tmp", base+"-host")
	require.NoError(t, os.WriteFile(onHost, nil, 0o600))
	defer os.Remove(onHost)
	assert.NoError(t, in(b, func() error { return statErr(onHost) }))
	assert.ErrorIs(t, in(a, func() error { return statErr(onHost) }), os.ErrNotExist)

	hostShm := filepath.Join("/dev/shm", base+"-host")
	require.NoError(t, os.WriteFile(hostShm, nil, 0o600))
	defer os.Remove(hostShm)
	assert.ErrorIs(t, in(a, func() error { return statErr(hostShm) }), os.ErrNotExist, "the host's /dev/shm file seen from domain A")

	// The tmpfs has the size asked for.
	require.NoError(t, in(a, func() error {
		var st unix.Statfs_t
		if err := unix.Statfs("/dev/shm", &st); err != nil {
			return err
		}
		if got := int64(st.Blocks) * int64(st.Bsize); got != 1<<20 {
			return fmt.Errorf("/dev/shm holds %d bytes, want %d", got, 1<<20)
		}
		return nil
	}))
}

func TestNetworkFresh(t *testing.T) {
	requireNS(t)
	host, err := namespaces("/proc/thread-self")
	require.NoError(t, err)
	var ifs []net.Interface
	var ns map[string]string
	require.NoError(t, nsiso.Do(context.Background(), nil, func() (err error) {
		if ns, err = namespaces("/proc/thread-self"); err != nil {
			return err
		}
		ifs, err = net.Interfaces()
		return err
	}))
	require.Len(t, ifs, 1, "interfaces: %v", ifs)
	assert.Equal(t, "lo", ifs[0].Name)
	assert.Zero(t, ifs[0].Flags&net.FlagUp, "lo is up")
	for _, typ := range []string{"ipc", "mnt", "net"} {
		assert.NotEqual(t, host[typ], ns[typ], "%s namespace", typ)
	}
	for _, typ := range []string{"pid", "uts"} {
		assert.Equal(t, host[typ], ns[typ], "%s namespace", typ)
	}
}

// TestThreadNotReused checks that once a domain is closed no thread of the
// process is left in its namespaces, and that goroutines meanwhile ran in
// the host's.
func TestThreadNotReused(t *testing.T) {
	requireNS(t)
	host, err := namespaces("/proc/self")
	require.NoError(t, err)
	var doms []map[string]string
	for i := 0; i < 4; i++ {
		require.NoError(t, nsiso.Do(context.Background(), nil, func() error {
			ns, err := namespaces("/proc/thread-self")
			doms = append(doms, ns)
			return err
		}))
	}
	// Goroutines locked to threads, as many as there may be threads,
	// check where they are.
	errc := make(chan error, 32)
	for i := 0; i < cap(errc); i++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ns, err := namespaces("/proc/thread-self")
			if err == nil && (ns["net"] != host["net"] || ns["mnt"] != host["mnt"] || ns["ipc"] != host["ipc"]) {
				err = fmt.Errorf("a goroutine ran in namespaces %v, not the host's %v", ns, host)
			}
			errc <- err
		}()
	}
	for i := 0; i < cap(errc); i++ {
		assert.NoError(t, <-errc)
	}
	// The runtime terminates a thread after its goroutine returned, so
	// wait for the threads to go (this bounds a hang, it does not time
	// anything).
	deadline := time.Now().Add(20 * time.Second)
	for {
		left, err := threadsIn(doms)
		require.NoError(t, err)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads still in closed domains: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// threadsIn lists the threads of this process in one of the namespaces.
func threadsIn(doms []map[string]string) ([]string, error) {
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		return nil, err
	}
	var left []string
	for _, task := range tasks {
		ns, err := namespaces(task)
		if errors.Is(err, os.ErrNotExist) {
			continue // exited in between
		}
		if err != nil {
			return nil, err
		}
		for _, d := range doms {
			if ns["net"] == d["net"] || ns["mnt"] == d["mnt"] || ns["ipc"] == d["ipc"] {
				left = append(left, task)
			}
		}
	}
	return left, nil
}

func TestRun(t *testing.T) {
	requireNS(t)
	d, err := nsiso.New(nil)
	require.NoError(t, err)
	defer d.Close()

	sentinel := errors.New("f failed")
	assert.Same(t, sentinel, d.Run(context.Background(), func() error { return sentinel }), "f's error as it is")
	assert.PanicsWithValue(t, "boom", func() {
		_ = d.Run(context.Background(), func() error { panic("boom") })
	})
	assert.NoError(t, d.Run(context.Background(), func() error { return nil }), "the domain survives a panic")

	// A function that holds the thread makes a Run with a done context
	// give up waiting.
	hold, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = d.Run(context.Background(), func() error { close(hold); <-release; return nil })
	}()
	<-hold
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = d.Run(ctx, func() error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
	close(release)

	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "Close again")
	assert.ErrorIs(t, d.Run(context.Background(), func() error { return nil }), os.ErrClosed)
	var nilD *nsiso.Domain
	assert.NoError(t, nilD.Close())
}

func TestRunGoexit(t *testing.T) {
	requireNS(t)
	d := newDomain(t, nil)
	err := d.Run(context.Background(), func() error { runtime.Goexit(); return nil })
	assert.Error(t, err)
	assert.ErrorIs(t, d.Run(context.Background(), func() error { return nil }), os.ErrClosed, "Run after the thread died")
}

// TestCwdPrivate shows that a domain's thread has its own working directory
// (unshare(CLONE_NEWNS) implies CLONE_FS).
func TestCwdPrivate(t *testing.T) {
	requireNS(t)
	d := newDomain(t, nil)
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, in(d, func() error { return unix.Chdir("/") }))
	got, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, wd, got, "the process's working directory moved with the domain's")
	require.NoError(t, in(d, func() error {
		wd, err := unix.Getwd()
		if err == nil && wd != "/" {
			err = fmt.Errorf("domain's directory is %s, want /", wd)
		}
		return err
	}))
}
