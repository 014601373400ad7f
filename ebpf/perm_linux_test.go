package ebpf_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/internal/testenv"
)

// Capabilities given to the unprivileged child, so that bpf(2) itself is
// allowed and only the pins' mode can refuse it.
const (
	capPerfmon = 38
	capBPF     = 39
)

const nobody = 65534

// asNobody returns the test binary, copied where uid nobody can run it,
// re-executed as uid and gid nobody with CAP_BPF and CAP_PERFMON ambient,
// in the "open" child mode on dir.
func asNobody(t *testing.T, dir string) *exec.Cmd {
	return asNobodyMode(t, "open", dir, capBPF, capPerfmon)
}

func asNobodyMode(t *testing.T, mode, dir string, caps ...uintptr) *exec.Cmd {
	t.Helper()
	testenv.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "ebpf.test")
	require.NoError(t, os.Chmod(filepath.Dir(bin), 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(filepath.Dir(bin)), 0o755))
	src, err := os.Open(os.Args[0])
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, errors.Join(err, dst.Close()))

	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(testenv.ChildEnv(), childVar+"="+mode, dirVar+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: nobody, Gid: nobody},
		AmbientCaps: caps,
	}
	return cmd
}

// bpffsReachable is bpffs whose mount point nobody can reach: the temporary
// directories above it are made searchable.
func bpffsReachable(t *testing.T) string {
	root := bpffs(t)
	for d := filepath.Dir(root); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	return root
}

// Another uid cannot open a channel whose pins have the default mode 0600,
// even with CAP_BPF: Open fails with an error wrapping os.ErrPermission.
// The same child opens a channel whose pins are 0666, so the mode is what
// decides. Both pin directories are made searchable by everyone (0711),
// so that only the pins' mode differs.
func TestOtherUser(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     os.FileMode
		wantCode int
	}{
		{"Mode0600", 0o600, exitPermission},
		{"Mode0666", 0o666, exitOpened},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, fl := range []ebpf.Flavour{ebpf.Queue, ebpf.MmapArray} {
				t.Run(fl.String(), func(t *testing.T) {
					root := bpffsReachable(t)
					dir := filepath.Join(root, "ch")
					c, err := ebpf.Create(dir, &ebpf.Options{Flavour: fl, Depth: 4, MaxMessage: 32, Mode: tc.mode})
					require.NoError(t, err)
					defer c.Close()
					for _, pin := range []string{"a2b", "b2a"} {
						st, err := os.Stat(filepath.Join(dir, pin))
						require.NoError(t, err)
						assert.Equal(t, tc.mode, st.Mode().Perm(), pin)
					}
					require.NoError(t, os.Chmod(dir, 0o711))

					cmd := asNobody(t, dir)
					out, err := cmd.CombinedOutput()
					t.Logf("child: %s", strings.TrimSpace(string(out)))
					code := 0
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						code = ee.ExitCode()
					} else {
						require.NoError(t, err)
					}
					require.Equal(t, tc.wantCode, code)
					if tc.wantCode == exitOpened {
						buf := make([]byte, c.MaxMessage())
						n, err := c.TryRecv(buf)
						require.NoError(t, err)
						assert.Equal(t, "from uid 65534", string(buf[:n]))
					}
				})
			}
		})
	}
}

// Without CAP_BPF, Probe says the system cannot make channels, and why.
func TestProbeUnprivileged(t *testing.T) {
	testenv.Require(t, "BPF", ebpf.Probe())
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled"); err == nil && strings.TrimSpace(string(b)) == "0" {
		testenv.Unsupported(t, "unprivileged BPF is enabled (kernel.unprivileged_bpf_disabled=0): any uid may create maps")
	}
	out, err := asNobodyMode(t, "probe", "").CombinedOutput()
	t.Logf("child: %s", strings.TrimSpace(string(out)))
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, exitPermission, ee.ExitCode())
}
