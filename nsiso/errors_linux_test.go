package nsiso

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/internal/testenv"
)

func TestNSError(t *testing.T) {
	for _, tc := range []struct {
		errno        unix.Errno
		notSupported bool
		permission   bool
		says         string
	}{
		{unix.EPERM, true, true, "CAP_SYS_ADMIN"},
		{unix.EINVAL, true, false, "CONFIG_NET_NS"},
		{unix.ENOSYS, true, false, "no unshare"},
		{unix.ENOSPC, false, false, "max_*_namespaces"},
		{unix.ENOMEM, false, false, "cannot allocate memory"},
	} {
		err := nsError("unshare", tc.errno)
		var e *Error
		if assert.True(t, errors.As(err, &e), "%v", tc.errno) {
			assert.Equal(t, "unshare", e.Op)
		}
		assert.ErrorIs(t, err, tc.errno)
		assert.Equal(t, tc.notSupported, errors.Is(err, ErrNotSupported), "%v", err)
		assert.Equal(t, tc.permission, errors.Is(err, os.ErrPermission), "%v", err)
		assert.Contains(t, err.Error(), tc.says)
	}
}

// TestInitRefusesOutsideCmd: Init, with its variable set in a process that
// Cmd did not start, must not mount over the host's directories.
func TestInitRefusesOutsideCmd(t *testing.T) {
	t.Setenv(envInit, "0")
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	err = Init()
	var e *Error
	assert.ErrorAs(t, err, &e)
	assert.ErrorContains(t, err, "not the first of a new PID namespace")
	after, err := os.ReadFile("/proc/self/mountinfo")
	assert.NoError(t, err)
	assert.Equal(t, string(before), string(after), "Init changed the mounts")
	_, set := os.LookupEnv(envInit)
	assert.False(t, set, "Init left %s in the environment", envInit)
}

func TestChildEnv(t *testing.T) {
	c := Reexec("worker", "-x")
	c.Env = []string{"A=1", envInit + "=7", envRole + "=old", envInit + "X=kept"}
	c.Grant(os.Stdin, os.Stdout)
	assert.Equal(t, []string{"A=1", envInit + "X=kept", envInit + "=2", envRole + "=worker"}, c.childEnv())
	assert.Equal(t, []string{os.Args[0], "-x"}, c.Args)
	assert.Equal(t, "/proc/self/exe", c.Path)
}

// TestNewFailureReleases: a New that fails after the network namespace
// exists (here, at the mount of a directory that is not there) closes its
// handle on it, the namespace's last reference.
func TestNewFailureReleases(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.Require(t, "namespaces", Supported())
	before, err := leakcheck.Take()
	require.NoError(t, err)
	shmDir = filepath.Join(t.TempDir(), "missing")
	defer func() { shmDir = "/dev/shm" }()
	for range 3 {
		d, err := New(nil)
		require.Error(t, err)
		assert.Nil(t, d)
		assert.ErrorIs(t, err, unix.ENOENT)
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "mount tmpfs on "+shmDir, e.Op)
		assert.NotContains(t, err.Error(), e.Op+": "+e.Op, "the step is named once")
	}
	after, err := leakcheck.Take()
	require.NoError(t, err)
	assert.Empty(t, before.Leaks(after), "descriptors left by the failed New calls")
}
