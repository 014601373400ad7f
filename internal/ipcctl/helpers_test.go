package ipcctl

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/pci"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files with the current output")

func TestMain(m *testing.M) { leakcheck.Main(m) }

// run runs a command line with env's root and returns the exit code and
// both outputs.
func run(t *testing.T, env Env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	env.Stdout, env.Stderr = &o, &e
	code = Run(context.Background(), args, env)
	return code, o.String(), e.String()
}

// Run-to-run variation: measured times and rates.
var (
	reDuration = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`)
	reRate     = regexp.MustCompile(`\(\d+(\.\d+)?/s\)`)
	reJSONNum  = regexp.MustCompile(`"(min|p50|p99|max|duration_ns|rate_per_s)": [0-9.e+-]+`)
)

// normalize replaces what varies from run to run.
func normalize(s, root string) string {
	if root != "" {
		s = strings.ReplaceAll(s, root, "<root>")
	}
	s = reJSONNum.ReplaceAllString(s, `"$1": 0`)
	s = reRate.ReplaceAllString(s, "(<rate>/s)")
	return reDuration.ReplaceAllString(s, "<dur>")
}

// golden compares got with testdata/name.golden, or rewrites it under
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got, "%s differs (go test -update rewrites it)", path)
}

// buildTree makes the fake system tree of testdata/trees/name.txtar in a
// temporary directory and returns its root. Each "-- PATH --" line starts
// a file, "-- PATH -> TARGET --" is a symlink and "-- DIR/ --" a
// directory; lines before the first header are a comment.
func buildTree(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "trees", name+".txtar"))
	require.NoError(t, err)
	defer f.Close()
	root := t.TempDir()
	var cur *os.File
	closeCur := func() {
		if cur != nil {
			require.NoError(t, cur.Close())
			cur = nil
		}
	}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if hdr, ok := strings.CutPrefix(line, "-- "); ok && strings.HasSuffix(hdr, " --") {
			closeCur()
			hdr = strings.TrimSuffix(hdr, " --")
			path, target, link := strings.Cut(hdr, " -> ")
			full := filepath.Join(root, path)
			require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
			switch {
			case link:
				require.NoError(t, os.Symlink(target, full))
			case strings.HasSuffix(path, "/"):
				require.NoError(t, os.MkdirAll(full, 0o755))
			default:
				cur, err = os.Create(full)
				require.NoError(t, err)
			}
			continue
		}
		if cur != nil {
			_, err := cur.WriteString(line + "\n")
			require.NoError(t, err)
		}
	}
	closeCur()
	require.NoError(t, s.Err())
	return root
}

// fakeKernel binds and unbinds on a fake sysfs tree as the kernel would:
// writing driver_override and moving the driver link.
type fakeKernel struct{ pci.Bus }

func (k *fakeKernel) Bind(addr, driver string) (func() error, error) {
	if _, err := os.Stat(filepath.Join(k.Root, "bus/pci/drivers", driver)); err != nil {
		return k.Bus.Bind(addr, driver) // the real error: ErrNoDriver
	}
	dir := k.DeviceDir(addr)
	if err := os.WriteFile(filepath.Join(dir, "driver_override"), []byte(driver+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := k.Unbind(addr); err != nil {
		return nil, err
	}
	return func() error { return nil }, os.Symlink("../../../bus/pci/drivers/"+driver, filepath.Join(dir, "driver"))
}

func (k *fakeKernel) Unbind(addr string) error {
	err := os.Remove(filepath.Join(k.DeviceDir(addr), "driver"))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// fakeEnv is an Env on a fake tree with the fake kernel.
func fakeEnv(root string) Env {
	return Env{Root: root, binder: func(sysRoot string) pciBinder { return &fakeKernel{pci.Bus{Root: sysRoot}} }}
}
