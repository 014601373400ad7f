package cbaseline_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/cbaseline"
	"github.com/ipcu/ipcu/internal/testenv"
)

func build(t *testing.T) *cbaseline.Baseline {
	t.Helper()
	testenv.Require(t, "gcc", cbaseline.Available())
	b, err := cbaseline.Build("")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	return b
}

func TestRun(t *testing.T) {
	b := build(t)
	for _, procs := range []bool{false, true} {
		r, err := b.Run(context.Background(), cbaseline.Params{Iterations: 2000, Processes: procs})
		require.NoError(t, err, "processes %v", procs)
		t.Logf("processes %v:\n%s", procs, r.Output)
		for name, d := range map[string]time.Duration{
			"probe": r.ProbeRTT, "headtail": r.HeadTailRTT, "stamp": r.StampRTT,
			"probe best": r.ProbeRTTBest, "headtail best": r.HeadTailRTTBest, "stamp best": r.StampRTTBest,
		} {
			assert.Positive(t, d, name)
		}
		assert.Positive(t, r.HeadTailThroughput)
		assert.Positive(t, r.StampThroughput)
		assert.Positive(t, r.HeadTailThroughputBest)
		assert.Positive(t, r.StampThroughputBest)
	}
}

func TestRunSelected(t *testing.T) {
	b := build(t)
	r, err := b.Run(context.Background(), cbaseline.Params{
		Iterations: 1000, MsgSize: 200, Batch: 8, CPUs: []int{0, 0},
		Tests: []cbaseline.Test{cbaseline.Stamp},
	})
	require.NoError(t, err)
	assert.Positive(t, r.StampRTT)
	assert.Zero(t, r.ProbeRTT)
	assert.Zero(t, r.HeadTailRTT)
	assert.Zero(t, r.HeadTailThroughput)
}

func TestBuildDir(t *testing.T) {
	testenv.Require(t, "gcc", cbaseline.Available())
	dir := t.TempDir()
	b, err := cbaseline.Build(dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "ring"), b.Path())
	require.NoError(t, b.Close())
	_, err = os.Stat(b.Path())
	assert.NoError(t, err, "Close removes only a directory Build made")
	require.NoError(t, b.Close())
	require.NoError(t, (*cbaseline.Baseline)(nil).Close())
}

func TestRunCancelled(t *testing.T) {
	b := build(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Run(ctx, cbaseline.Params{Iterations: 1000})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestParams(t *testing.T) {
	tests := []struct {
		name string
		p    cbaseline.Params
		want []string
		bad  bool
	}{
		{"zero", cbaseline.Params{}, nil, false},
		{"all", cbaseline.Params{Iterations: 5, MsgSize: 64, Batch: 32, CPUs: []int{1, 0}, Processes: true,
			Tests: []cbaseline.Test{cbaseline.Probe, cbaseline.Throughput}},
			[]string{"-n", "5", "-s", "64", "-b", "32", "-c", "1,0", "-p", "-t", "probe,tput"}, false},
		{"small message", cbaseline.Params{MsgSize: 4}, nil, true},
		{"big batch", cbaseline.Params{Batch: 257}, nil, true},
		{"one CPU", cbaseline.Params{CPUs: []int{0}}, nil, true},
		{"negative", cbaseline.Params{Iterations: -1}, nil, true},
		{"unknown test", cbaseline.Params{Tests: []cbaseline.Test{"x"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Args()
			if tt.bad {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParse(t *testing.T) {
	r, err := cbaseline.Parse([]byte("mode threads\nprobe_rtt_ns 121.4\nheadtail_rtt_ns 236\nstamp_rtt_ns 180.6\n" +
		"headtail_msgs_per_s 97000000\nstamp_msgs_per_s 5e7\nfuture_key x\n" +
		"probe_rtt_best_ns 100\nheadtail_rtt_best_ns 200\nstamp_rtt_best_ns 150\n" +
		"headtail_msgs_per_s_best 1e8\nstamp_msgs_per_s_best 6e7\ndone\n"))
	require.NoError(t, err)
	assert.Equal(t, 121*time.Nanosecond, r.ProbeRTT)
	assert.Equal(t, 236*time.Nanosecond, r.HeadTailRTT)
	assert.Equal(t, 181*time.Nanosecond, r.StampRTT)
	assert.Equal(t, 97e6, r.HeadTailThroughput)
	assert.Equal(t, 5e7, r.StampThroughput)
	assert.Equal(t, 100*time.Nanosecond, r.ProbeRTTBest)
	assert.Equal(t, 200*time.Nanosecond, r.HeadTailRTTBest)
	assert.Equal(t, 150*time.Nanosecond, r.StampRTTBest)
	assert.Equal(t, 1e8, r.HeadTailThroughputBest)
	assert.Equal(t, 6e7, r.StampThroughputBest)

	_, err = cbaseline.Parse([]byte("probe_rtt_ns 1\n"))
	assert.Error(t, err, "no done line")
	_, err = cbaseline.Parse([]byte("probe_rtt_ns fast\ndone\n"))
	assert.Error(t, err, "bad value")
}

// TestProcessPeerDiesEarly: with Processes, a second process that ends
// before its part (here it cannot pin itself to CPU 1000) makes Run fail;
// the first process, spinning for it, used to spin forever.
func TestProcessPeerDiesEarly(t *testing.T) {
	b := build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := b.Run(ctx, cbaseline.Params{Iterations: 1000, CPUs: []int{0, 1000}, Processes: true, Tests: []cbaseline.Test{cbaseline.Probe}})
	require.NoError(t, ctx.Err(), "Run spun until the deadline")
	require.Error(t, err, "Run succeeded with an impossible CPU")
}
