package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records how Require stopped it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestRequire(t *testing.T) {
	t.Setenv(RequireAllVar, "")
	r := &recorder{TB: t}
	Require(r, "QEMU", nil)
	assert.Empty(t, r.skipped+r.failed, "a met need neither skips nor fails")

	Require(r, "QEMU", errors.New("qemu-system-x86_64 not found"))
	assert.Contains(t, r.skipped, "needs QEMU: qemu-system-x86_64 not found")
	assert.Empty(t, r.failed)

	t.Setenv(RequireAllVar, "1")
	r = &recorder{TB: t}
	Require(r, "QEMU", errors.New("qemu-system-x86_64 not found"))
	assert.Empty(t, r.skipped)
	assert.Contains(t, r.failed, "QEMU is required (IPCU_REQUIRE_ALL=1)")

	r = &recorder{TB: t}
	Unsupported(r, "user-mode emulation has no VFIO")
	assert.Contains(t, r.skipped, "user-mode emulation has no VFIO")
	assert.Empty(t, r.failed, "Unsupported never fails")
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	assert.NoError(t, err)
	assert.FileExists(t, root+"/go.mod")
}

func TestUnsupportedEmulated(t *testing.T) {
	t.Setenv(EmulatedVar, "")
	r := &recorder{TB: t}
	UnsupportedEmulated(r, "no VFIO ioctls")
	assert.Empty(t, r.skipped+r.failed, "natively the test runs")
	assert.Empty(t, Emulated())

	t.Setenv(EmulatedVar, "qemu-user")
	t.Setenv(RequireAllVar, "1")
	assert.Equal(t, "qemu-user", Emulated())
	UnsupportedEmulated(r, "no VFIO ioctls")
	assert.Contains(t, r.skipped, "under qemu-user")
	assert.Contains(t, r.skipped, "no VFIO ioctls")
	assert.Empty(t, r.failed, "a stated limit of emulation is not a failure, even under IPCU_REQUIRE_ALL=1")
}

func TestRequireSelfExec(t *testing.T) {
	probe := trySelfExec()
	r := &recorder{TB: t}
	RequireSelfExec(r)
	assert.Empty(t, r.failed)
	switch {
	case Emulated() == "":
		require.NoError(t, probe, "natively a test binary can always run itself")
		assert.Empty(t, r.skipped)
	case probe == nil: // binfmt_misc runs the foreign binary
		assert.Empty(t, r.skipped)
	default:
		require.ErrorIs(t, probe, syscall.ENOEXEC)
		assert.Contains(t, r.skipped, "binfmt_misc")
		assert.Contains(t, r.skipped, "exec format error")
	}
}

func TestSelfCommand(t *testing.T) {
	last := func(env []string, key string) string {
		v := ""
		for _, kv := range env {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val
			}
		}
		return v
	}
	for _, tt := range []struct{ gorace, want string }{
		{"", "atexit_sleep_ms=0"},
		{"halt_on_error=1", "halt_on_error=1 atexit_sleep_ms=0"},
		{"atexit_sleep_ms=500", "atexit_sleep_ms=500"}, // the user's choice stands
	} {
		t.Setenv("GORACE", tt.gorace)
		cmd := SelfCommand("-test.run=^$", "-x")
		assert.Equal(t, []string{os.Args[0], "-test.run=^$", "-x"}, cmd.Args)
		assert.Equal(t, tt.want, last(cmd.Env, "GORACE"), "GORACE=%q", tt.gorace)
		assert.Equal(t, os.Getenv("PATH"), last(cmd.Env, "PATH"), "the test's environment is kept")
	}
}

func TestBinfmtHandlers(t *testing.T) {
	dir := t.TempDir()
	assert.False(t, binfmtHandlers(filepath.Join(dir, "missing")), "not mounted")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "register"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "status"), []byte("enabled\n"), 0o600))
	assert.False(t, binfmtHandlers(dir), "mounted, no handler")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "qemu-aarch64"), []byte("enabled\n"), 0o600))
	assert.True(t, binfmtHandlers(dir))
}
