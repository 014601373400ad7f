package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConsole(t *testing.T) {
	const m = "IPCU-VMTEST-0123"
	for _, tc := range []struct {
		console, out string
		rc           int
	}{
		{"boot\n" + m + "-BEGIN\n=== RUN x\nPASS\n" + m + "-END rc=0\nreboot\n", "=== RUN x\nPASS\n", 0},
		{m + "-BEGIN\nFAIL\n" + m + "-END rc=1\n", "FAIL\n", 1},
		{m + "-BEGIN\npanic: boom\n", "panic: boom\n", -1},
		{"Kernel panic\n", "", -1},
		{m + "-BEGIN\n" + m + "-END rc=x\n", "", -1},
	} {
		out, rc := parseConsole(tc.console, m)
		assert.Equal(t, tc.out, out)
		assert.Equal(t, tc.rc, rc)
	}
}

func TestVersionLess(t *testing.T) {
	assert.True(t, versionLess("/boot/vmlinuz-6.1.0-9-amd64", "/boot/vmlinuz-6.1.0-10-amd64"))
	assert.False(t, versionLess("/boot/vmlinuz-6.10.0-1-amd64", "/boot/vmlinuz-6.9.0-1-amd64"))
}

func TestPatternMismatch(t *testing.T) {
	a, b := Pattern("host", "1"), Pattern("guest", "1")
	assert.Len(t, a, PatternLen)
	assert.Empty(t, Mismatch(a, Pattern("host", "1")))
	assert.NotEmpty(t, Mismatch(a, b))
	assert.Contains(t, Mismatch(a[:10], a), "only 10")
}

// TestTimeout boots a kernel that never reports, with a short timeout, and
// checks that Run kills QEMU and says so.
func TestTimeout(t *testing.T) {
	c, err := Find(Config{})
	testenv.Require(t, "QEMU and a Debian kernel", err)
	c.Timeout = 2 * time.Second
	c.SharedMem = filepath.Join(t.TempDir(), "shm")
	c.SharedMemSize = 1 << 20
	require.NoError(t, sizeFile(c.SharedMem, c.SharedMemSize))
	initrd := filepath.Join(t.TempDir(), "empty.gz")
	require.NoError(t, os.WriteFile(initrd, nil, 0o600))
	start := time.Now()
	_, err = boot(context.Background(), c, initrd, c.SharedMem, "NEVER")
	var ve *Error
	require.ErrorAs(t, err, &ve)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 10*time.Second)
	// No QEMU of ours is left: its process was reaped by Run.
	out, _ := exec.Command("pgrep", "-f", c.SharedMem).Output()
	assert.Empty(t, strings.TrimSpace(string(out)), "qemu still running")
}

// TestShellQuote: a test argument reaches the guest's test binary whole,
// whatever shell characters it holds (a -run pattern "A|B" made a pipeline
// whose status the init script reported).
func TestShellQuote(t *testing.T) {
	for _, arg := range []string{"-test.run=EDU|VFIO", "X|cat", "a b", "it's", "$(false)", "(A)*", ""} {
		out, err := exec.Command("sh", "-c", "printf '%s' "+shellQuote(arg)).Output()
		if err != nil {
			t.Fatalf("%q: %v", arg, err)
		}
		if string(out) != arg {
			t.Errorf("%q reached sh as %q", arg, out)
		}
	}
}
