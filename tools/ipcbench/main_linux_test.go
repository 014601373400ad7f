package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/internal/cbaseline"
	"github.com/ipcu/ipcu/internal/testenv"
)

// runCmd runs ipcbench with args and returns its exit code, stdout and
// stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestEndToEnd runs every transport with a small iteration count and
// checks the JSON and the SVG plot.
func TestEndToEnd(t *testing.T) {
	const n = 200
	// Under a user-mode emulator the peer-process transports are left
	// out: the kernel cannot run the binary again without a binfmt_misc
	// handler, and qemu-user's emulated fork can hang when the exec fails
	// (seen with qemu-arm-static: the parent stuck in wait4).
	var all []transport
	var names []string
	for _, tr := range transports() {
		if emu := testenv.Emulated(); emu != "" && strings.HasPrefix(tr.name, "shm-proc") {
			t.Logf("under %s: %s left out: it runs the binary again as its peer", emu, tr.name)
			continue
		}
		all, names = append(all, tr), append(names, tr.name)
	}
	svg := filepath.Join(t.TempDir(), "lat.svg")
	code, out, stderr := runCmd(t, "-n", "200", "-warmup", "50", "-duration", "0", "-sizes", "64,4096", "-json", "-plot", svg,
		"-transports", strings.Join(names, ","))
	require.Equal(t, exitOK, code, "stderr:\n%s", stderr)

	var r Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&r), "the output is one JSON object of the documented schema")
	assert.Equal(t, 1, r.SchemaVersion)
	assert.Equal(t, "ipcbench", r.Tool)
	assert.NotEmpty(t, r.Machine.Kernel)
	assert.Positive(t, r.Machine.CPUs)
	assert.Equal(t, n, r.Params.Iterations)
	assert.Equal(t, []int{64, 4096}, r.Params.Sizes)

	// Every transport of the registry is there, in order, measured or
	// skipped with a reason.
	require.Len(t, r.Transports, len(all))
	for i, tr := range r.Transports {
		assert.Equal(t, all[i].name, tr.Name)
		if tr.Skipped != "" {
			assert.Empty(t, tr.Results, "%s: skipped, no results", tr.Name)
			continue
		}
		checkResults(t, tr, n)
	}

	// The unprivileged mechanisms always run.
	for _, tr := range r.Transports {
		if !strings.HasPrefix(tr.Name, "ebpf-") {
			assert.Empty(t, tr.Skipped, tr.Name)
		}
	}

	t.Run("eBPF", func(t *testing.T) {
		testenv.UnsupportedEmulated(t, "bpf(2) is not translated by user-mode emulators")
		testenv.RequireRoot(t)
		testenv.Require(t, "BPF", ebpf.Probe())
		for _, tr := range r.Transports {
			if strings.HasPrefix(tr.Name, "ebpf-") {
				assert.Empty(t, tr.Skipped, tr.Name)
				assert.Len(t, tr.Results, 2, tr.Name)
			}
		}
	})

	t.Run("CBaseline", func(t *testing.T) {
		testenv.Require(t, "gcc", cbaseline.Available())
		require.Empty(t, r.CBaseline.Skipped)
		require.Empty(t, r.CBaseline.Error)
		var sizes []int
		for _, c := range r.CBaseline.Results {
			sizes = append(sizes, c.Size)
			assert.Positive(t, c.ProbeRTTNS)
			assert.Positive(t, c.StampRTTNS)
			assert.Positive(t, c.HeadTailMsgsPerS)
		}
		assert.Equal(t, []int{16, 64, 4096}, sizes, "the sizes measured, the mailboxes' 16 included")
		for _, tr := range r.Transports {
			for _, res := range tr.Results {
				if res.Latency != nil {
					assert.Positive(t, res.XCStamp, "%s %d", tr.Name, res.Size)
				}
			}
		}
	})

	t.Run("Plot", func(t *testing.T) {
		f, err := os.Open(svg)
		require.NoError(t, err)
		defer f.Close()
		d := xml.NewDecoder(f)
		var root string
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, "the SVG is well-formed XML")
			if se, ok := tok.(xml.StartElement); ok && root == "" {
				root = se.Name.Local
			}
		}
		assert.Equal(t, "svg", root)
	})
}

// checkResults checks one measured transport's results.
func checkResults(t *testing.T, tr Transport, n int) {
	t.Helper()
	require.NotEmpty(t, tr.Results, tr.Name)
	measured := 0
	for _, res := range tr.Results {
		name := tr.Name + " " + formatSize(res.Size)
		assert.Empty(t, res.Error, name)
		if res.NA != "" {
			assert.Greater(t, res.Size, tr.MaxMessage, name)
			assert.Nil(t, res.Latency, name)
			continue
		}
		measured++
		assert.LessOrEqual(t, res.Size, tr.MaxMessage, name)
		l := res.Latency
		require.NotNil(t, l, name)
		assert.Equal(t, int64(n), l.Count, name)
		assert.Positive(t, l.MinNS, name)
		assert.LessOrEqual(t, l.MinNS, l.P50NS, name)
		assert.LessOrEqual(t, l.P50NS, l.P99NS, name)
		assert.LessOrEqual(t, l.P99NS, l.P999NS, name)
		assert.LessOrEqual(t, l.P999NS, l.MaxNS, name)
		assert.Positive(t, res.ProbeRTTNS, name)
		assert.Positive(t, res.XProbe, name)
		if res.ThroughputNA != "" {
			assert.Nil(t, res.Throughput, name)
			continue
		}
		tp := res.Throughput
		require.NotNil(t, tp, name)
		assert.Equal(t, int64(n), tp.Messages, name)
		assert.Positive(t, tp.Batch, name)
		assert.Positive(t, tp.MsgsPerSec, name)
		assert.Positive(t, tp.MiBPerSec, name)
	}
	assert.Positive(t, measured, tr.Name)
}

// TestTable runs a few transports and checks the human table's header
// against the golden file's, and a PNG plot.
func TestTable(t *testing.T) {
	pngFile := filepath.Join(t.TempDir(), "lat.png")
	code, out, stderr := runCmd(t, "-n", "50", "-warmup", "10", "-sizes", "64", "-transports", "pipe,mbox-poll,shm-poll",
		"-no-c", "-plot", pngFile)
	require.Equal(t, exitOK, code, "stderr:\n%s", stderr)
	golden, err := os.ReadFile(filepath.Join("testdata", "table.golden"))
	require.NoError(t, err)
	assert.Equal(t, tableHeaderLine(t, string(golden)), tableHeaderLine(t, out))
	for _, row := range []string{"pipe", "mbox-poll", "shm-poll"} {
		assert.Regexp(t, `(?m)^\s*`+row+`\s+\d`, out)
	}
	assert.Contains(t, out, "mbox-poll: n/a at 64 bytes")
	assert.Contains(t, out, "C baseline: skipped: -no-c")

	f, err := os.Open(pngFile)
	require.NoError(t, err)
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	require.NoError(t, err, "the plot is a PNG")
	assert.Positive(t, cfg.Width)
	assert.Positive(t, cfg.Height)
}

func TestExitCodes(t *testing.T) {
	code, _, stderr := runCmd(t, "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "Usage: ipcbench")
	code, _, stderr = runCmd(t, "-sizes", "3")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "-sizes")
	code, _, _ = runCmd(t, "-transports", "smoke-signals")
	assert.Equal(t, exitUsage, code)
	code, _, stderr = runCmd(t, "-cpus", "0,4096")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "CPU 4096")

	// A plot that cannot be written fails the run, after the table.
	code, out, stderr := runCmd(t, "-n", "10", "-warmup", "0", "-sizes", "64", "-transports", "pipe", "-no-c",
		"-plot", filepath.Join(t.TempDir(), "no", "such", "dir.svg"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, out, "TRANSPORT")
	assert.Contains(t, stderr, "plot")
}
