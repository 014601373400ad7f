package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenReport is a report with made-up figures, for the table's shape.
func goldenReport() *Report {
	lat := func(base int64) *Latency {
		return &Latency{Count: 200, MinNS: base / 2, MeanNS: float64(base) * 1.2, P50NS: base, P99NS: 3 * base, P999NS: 9 * base, MaxNS: 20 * base}
	}
	tp := func(rate float64, size, batch int) *Throughput {
		return &Throughput{Messages: 200, Batch: batch, MsgsPerSec: rate, MiBPerSec: rate * float64(size) / (1 << 20)}
	}
	return &Report{
		SchemaVersion: SchemaVersion,
		Tool:          "ipcbench",
		Started:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Machine:       Machine{CPUModel: "Test CPU", Kernel: "6.1.0", CPUs: 2, GOOS: "linux", GOARCH: "amd64", GoVersion: "go1.26.0"},
		Params:        Params{Iterations: 200, Warmup: 50, Sizes: []int{64, 4096}, CPUs: []int{0, 1}},
		Transports: []Transport{
			{Name: "pipe", MaxMessage: maxSize, Pinned: true, Results: []Result{
				{Size: 64, Latency: lat(45000), Throughput: tp(4e5, 64, 1), ProbeRTTNS: 300, XProbe: 180, XCStamp: 60},
				{Size: 4096, Latency: lat(47000), Throughput: tp(2.5e5, 4096, 1), ProbeRTTNS: 310, XProbe: 182, XCStamp: 9.5},
			}},
			{Name: "eventfd", MaxMessage: maxSize, Pinned: true, Results: []Result{
				{Size: 64, Latency: lat(40000), ThroughputNA: "a doorbell without a queue", ProbeRTTNS: 300, XProbe: 160, XCStamp: 50},
				{Size: 4096, Error: "echo: receiving: read: bad file descriptor"},
			}},
			{Name: "ebpf-queue", Skipped: "needs root"},
			{Name: "mbox-poll", MaxMessage: 16, Results: []Result{
				{Size: 16, Latency: lat(3300), Throughput: tp(7.5e5, 16, 1), ProbeRTTNS: 150, XProbe: 26},
				{Size: 64, NA: "larger than its largest message, 16 bytes"},
				{Size: 4096, NA: "larger than its largest message, 16 bytes"},
			}},
			{Name: "dma", MaxMessage: maxSize, Results: []Result{
				{Size: 64, Latency: lat(2700), Throughput: tp(2.5e6, 64, 16), ProbeRTTNS: 290, XProbe: 11, XCStamp: 3.8},
			}},
		},
		CBaseline: CBaseline{Results: []CResult{
			{Size: 16, ProbeRTTNS: 300, HeadTailRTTNS: 900, StampRTTNS: 700, HeadTailMsgsPerS: 3e7, StampMsgsPerS: 7e7, Batch: 32, Runs: 3},
			{Size: 64, ProbeRTTNS: 340, HeadTailRTTNS: 830, StampRTTNS: 850, HeadTailMsgsPerS: 1.1e7, StampMsgsPerS: 5.5e6, Batch: 32, Runs: 3},
		}},
	}
}

// TestTableGolden checks the human table's shape (columns, headers, the
// rows of a skipped, failed and n/a transport, the C section and the
// notes) against testdata/table.golden; -update rewrites it.
func TestTableGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writeTable(&buf, goldenReport()))
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), buf.String(), "(-want +got); run go test -update to accept")
}

// tableHeaderLine returns the header row of a table written by
// writeTable, with its spacing collapsed.
func tableHeaderLine(t *testing.T, out string) []string {
	t.Helper()
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "TRANSPORT" {
			return f
		}
	}
	t.Fatalf("no header row in:\n%s", out)
	return nil
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "-"}, {999, "999ns"}, {1234, "1.23µs"}, {45678, "45.7µs"}, {456789, "457µs"}, {4.5e6, "4.5ms"}, {2.5e9, "2.50s"}} {
		assert.Equal(t, tc.want, ns(tc.v), "%v", tc.v)
	}
	assert.Equal(t, "1.50M", rate(1.5e6))
	assert.Equal(t, "2.5k", rate(2500))
	assert.Equal(t, "64K", formatSize(65536))
	assert.Equal(t, "100", formatSize(100))
}
