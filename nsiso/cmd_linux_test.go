package nsiso_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/nsiso"
	"github.com/ipcu/ipcu/shm"
)

// runReport runs the report child with a, granting it files, and returns
// its report.
func runReport(t *testing.T, a childArgs, files ...*os.File) *childReport {
	t.Helper()
	arg, err := json.Marshal(a)
	require.NoError(t, err)
	cmd := nsiso.Reexec(roleReport, string(arg))
	cmd.Env = testenv.ChildEnv()
	cmd.Grant(files...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run())
	var r childReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), "child's output: %q", stdout.String())
	return &r
}

// identity returns what f refers to, as fdIdentity names it.
func identity(t *testing.T, f *os.File) string {
	t.Helper()
	id, err := fdIdentity(int(f.Fd()))
	require.NoError(t, err)
	return id
}

// TestChildReachesOnlyGranted grants a child one shared-memory channel and
// keeps another from it, and looks at what the child can reach.
func TestChildReachesOnlyGranted(t *testing.T) {
	requireNS(t)
	granted, err := shm.Create(nil)
	require.NoError(t, err)
	defer granted.Close()
	gfiles, err := granted.Files()
	require.NoError(t, err)
	defer closeAll(gfiles)
	hidden, err := shm.Create(nil)
	require.NoError(t, err)
	defer hidden.Close()
	hfiles, err := hidden.Files()
	require.NoError(t, err)
	defer closeAll(hfiles)

	base := fmt.Sprintf("ipcu-nsiso-%d", os.Getpid())
	hostShm := filepath.Join("/dev/shm", base+"-host")
	require.NoError(t, os.WriteFile(hostShm, nil, 0o600))
	defer os.Remove(hostShm)
	shmID, msgID, err := sysv(testKey(3), true)
	require.NoError(t, err)
	defer func() { assert.NoError(t, removeSysv(shmID, msgID)) }()
	childShm := filepath.Join("/dev/shm", base+"-child")

	hostNS, err := namespaces("/proc/self")
	require.NoError(t, err)
	r := runReport(t, childArgs{
		ParentPID: os.Getpid(),
		HiddenFD:  int(hfiles[0].Fd()),
		HostShm:   hostShm,
		SysvKey:   testKey(3),
		ChildShm:  childShm,
	}, gfiles...)

	// What exec delivered: 0, 1, 2 and the granted three, and no other
	// descriptor that is not the child's own (close-on-exec: the Go
	// runtime's cgroup files and poller).
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, r.InheritedBefore, "descriptors inherited: %v", r.FDsBefore)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, r.InheritedAfter, "descriptors inherited, after Init: %v", r.FDsAfter)
	for fd, f := range map[int]*os.File{3: gfiles[0], 4: gfiles[1], 5: gfiles[2]} {
		assert.Equal(t, identity(t, f), r.FDsAfter[fd].ID, "fd %d is not the granted %s", fd, f.Name())
	}
	for _, f := range hfiles {
		id := identity(t, f)
		for fd, info := range r.FDsAfter {
			assert.NotEqual(t, id, info.ID, "the child's fd %d is the ungranted %s", fd, f.Name())
		}
	}
	// Before Init the host's /proc and /dev/shm were still there (the
	// probes can succeed); Init hid them.
	assert.Empty(t, r.HiddenBefore, "opening the parent's descriptor by path before Init")
	assert.Contains(t, r.HiddenAfter, "no such file or directory", "opening the parent's descriptor by path after Init")
	assert.Empty(t, r.HostShmBefore)
	assert.Contains(t, r.HostShmAfter, "no such file or directory", "the host's /dev/shm file seen from the child")
	assert.Contains(t, r.SysvAfter, "no such file or directory", "the host's SysV segment seen from the child")
	assert.Empty(t, r.ChildShm, "making a /dev/shm file in the child")
	assert.ErrorIs(t, statErr(childShm), os.ErrNotExist, "the child's /dev/shm file seen from the host")
	assert.Equal(t, 1, r.PID, "the child's PID in its namespace")
	assert.Equal(t, []iface{{Name: "lo", Up: false}}, r.Interfaces)
	for _, typ := range []string{"ipc", "mnt", "net", "pid", "uts"} {
		assert.NotEqual(t, hostNS[typ], r.NS[typ], "%s namespace", typ)
	}
}

// TestInitClosesInherited gives the child a descriptor without
// FD_CLOEXEC, which exec passes on, and checks that Init closes it.
func TestInitClosesInherited(t *testing.T) {
	requireNS(t)
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], 0)) // inheritable on purpose
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	r := runReport(t, childArgs{ParentPID: os.Getpid(), HiddenFD: p[0]})
	assert.Equal(t, []int{0, 1, 2, p[0], p[1]}, r.InheritedBefore, "the pipe was not inherited: the test proves nothing")
	assert.Equal(t, []int{0, 1, 2}, r.InheritedAfter, "descriptors after Init: %v", r.FDsAfter)
}

// TestChildEcho runs an echo peer in a child in namespaces of its own over
// a granted shared-memory channel.
func TestChildEcho(t *testing.T) {
	requireNS(t)
	c, err := shm.Create(&shm.Options{Slots: 16, SlotSize: 64})
	require.NoError(t, err)
	defer c.Close()
	files, err := c.Files()
	require.NoError(t, err)
	cmd := nsiso.Reexec(roleEcho)
	cmd.Env = testenv.ChildEnv()
	cmd.Grant(files...)
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	closeAll(files)
	require.NoError(t, err)
	require.NoError(t, c.WatchProcess(cmd.Process))

	// The deadline bounds a hang; it does not time anything.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	buf := make([]byte, c.MaxMessage())
	for i := 0; i < 200; i++ {
		msg := make([]byte, 8+i%32)
		binary.LittleEndian.PutUint64(msg, uint64(i))
		require.NoError(t, c.Send(ctx, msg))
		n, err := c.Recv(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, msg, buf[:n], "message %d", i)
	}
	require.NoError(t, c.Send(ctx, nil)) // ends the echo
	require.NoError(t, cmd.Wait())
	assert.True(t, cmd.ProcessState.Success())
}

// TestCommand runs another program in the namespaces; without Init it
// shares the host's mounts, which the package comment says.
func TestCommand(t *testing.T) {
	requireNS(t)
	var out bytes.Buffer
	cmd := nsiso.Command("sh", "-c", "echo $$; ls /proc/self/fd")
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run())
	// MarkInherited in TestMain keeps what the harness passed down out.
	assert.Equal(t, "1\n0\n1\n2\n3\n", out.String(), "the shell's PID, and its descriptors (3: the one ls reads through)")
}

// TestChildMountsStayInside: a child that mounts without calling Init
// (a shell here) does so in its own mount namespace only, even under a
// mount that is shared in this process's namespace, whose mounts would
// otherwise propagate back.
func TestChildMountsStayInside(t *testing.T) {
	requireNS(t)
	dir := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) }) // and anything under it
	require.NoError(t, unix.Mount("", dir, "", unix.MS_SHARED, ""))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))

	cmd := nsiso.Command("sh", "-c", "mount -t tmpfs child "+sub+" && grep -c ' "+sub+" ' /proc/self/mountinfo")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run())
	require.Equal(t, "1\n", out.String(), "the child sees its mount")

	info, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.NotContains(t, string(info), " "+sub+" ", "the child's mount propagated to this process's namespace")
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
