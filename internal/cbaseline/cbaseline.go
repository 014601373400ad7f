package cbaseline

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Source is csrc/ring.c, the program Build compiles. (It sits in a
// subdirectory because the go command refuses C files in a package that
// does not use cgo.)
//
//go:embed csrc/ring.c
var Source []byte

// ErrNotSupported: the baseline cannot be built here (no gcc, or not
// Linux).
var ErrNotSupported = errors.New("the C baseline is not supported")

// Compiler is the C compiler Build runs.
const Compiler = "gcc"

// Available returns nil if Build can work here: on Linux, with gcc in
// PATH. Otherwise its error wraps ErrNotSupported.
func Available() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: needs Linux, GOOS is %s", ErrNotSupported, runtime.GOOS)
	}
	if _, err := exec.LookPath(Compiler); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return nil
}

// Baseline is the compiled program.
type Baseline struct {
	path   string // the executable
	tmpDir string // the directory Build made, removed by Close
}

// Build compiles Source with gcc -O2 -pthread into dir and returns the
// program. With dir "" it makes a temporary directory, which Close
// removes. The error wraps ErrNotSupported when Available fails, and
// carries the compiler's output when it fails to compile.
func Build(dir string) (_ *Baseline, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	b := &Baseline{}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ipcu-cbaseline-"); err != nil {
			return nil, fmt.Errorf("building the C baseline: %w", err)
		}
		b.tmpDir = dir
		defer func() {
			if err != nil {
				os.RemoveAll(dir)
			}
		}()
	}
	src := filepath.Join(dir, "ring.c")
	if err := os.WriteFile(src, Source, 0o644); err != nil {
		return nil, fmt.Errorf("building the C baseline: %w", err)
	}
	b.path = filepath.Join(dir, "ring")
	cmd := exec.Command(Compiler, "-O2", "-pthread", "-o", b.path, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the C baseline: %s: %w\n%s", Compiler, err, out)
	}
	return b, nil
}

// Path returns the path of the executable.
func (b *Baseline) Path() string { return b.path }

// Close removes the directory Build made, if it made one. It is
// idempotent and safe on a nil *Baseline.
func (b *Baseline) Close() error {
	if b == nil || b.tmpDir == "" {
		return nil
	}
	dir := b.tmpDir
	b.tmpDir = ""
	return os.RemoveAll(dir)
}

// WindowSize is the number of round trips, or batches, in a window of the
// Best figures of Results.
const WindowSize = 1000

// Test names a measurement of Run.
type Test string

// The measurements; Params.Tests nil means all of them.
const (
	// Probe is the cache-line ping-pong: Results.ProbeRTT.
	Probe Test = "probe"
	// HeadTail is the head/tail ring's round trip: Results.HeadTailRTT.
	HeadTail Test = "headtail"
	// Stamp is the stamp ring's round trip: Results.StampRTT.
	Stamp Test = "stamp"
	// Throughput is the batched throughput of both rings:
	// Results.HeadTailThroughput and Results.StampThroughput.
	Throughput Test = "tput"
)

// Params describe a run. The zero value is the default.
type Params struct {
	// Iterations is the number of timed round trips, and of timed
	// batches for throughput (default 100000). Each test runs a tenth
	// more, untimed, first.
	Iterations int
	// MsgSize is the message size in bytes, 8 to 65536 (default 64).
	// The rings have 256 slots of MsgSize+16 bytes rounded up to 64.
	MsgSize int
	// Batch is how many messages a throughput batch holds, 1 to 256
	// (default 32).
	Batch int
	// CPUs are the two CPUs the two sides are pinned to, the measuring
	// side first. nil leaves them to the scheduler.
	CPUs []int
	// Processes runs the second side in a forked process sharing a
	// mapping, instead of a thread.
	Processes bool
	// Tests selects the measurements (default all).
	Tests []Test
}

// Results are the figures of a run; a figure of a test that did not run is
// zero.
type Results struct {
	// ProbeRTT is the round trip of the cache-line ping-pong: two
	// transfers of one line.
	ProbeRTT time.Duration
	// HeadTailRTT and StampRTT are the round trips of a message bounced
	// through two rings, one each way.
	HeadTailRTT, StampRTT time.Duration
	// HeadTailThroughput and StampThroughput are messages per second,
	// one way, in batches of Params.Batch.
	HeadTailThroughput, StampThroughput float64
	// The Best figures are those of the best window of WindowSize round
	// trips (or batches) of each measurement: the least round trip, the
	// highest rate. On a shared host, which now and then runs something
	// else on one of the two CPUs, they are much steadier than the means,
	// which absorb those stalls. With fewer iterations than a window they
	// are the means.
	ProbeRTTBest, HeadTailRTTBest, StampRTTBest time.Duration
	HeadTailThroughputBest, StampThroughputBest float64
	// Output is the program's output.
	Output string
}

// Args returns the program's command-line arguments for p.
func (p Params) Args() ([]string, error) {
	var args []string
	if p.Iterations < 0 || p.MsgSize < 0 || p.Batch < 0 {
		return nil, fmt.Errorf("negative parameter in %+v", p)
	}
	if p.Iterations > 0 {
		args = append(args, "-n", strconv.Itoa(p.Iterations))
	}
	if p.MsgSize > 0 {
		if p.MsgSize < 8 || p.MsgSize > 65536 {
			return nil, fmt.Errorf("message size %d: want 8 to 65536", p.MsgSize)
		}
		args = append(args, "-s", strconv.Itoa(p.MsgSize))
	}
	if p.Batch > 0 {
		if p.Batch > 256 {
			return nil, fmt.Errorf("batch %d: want 1 to 256", p.Batch)
		}
		args = append(args, "-b", strconv.Itoa(p.Batch))
	}
	if p.CPUs != nil {
		if len(p.CPUs) != 2 || p.CPUs[0] < 0 || p.CPUs[1] < 0 {
			return nil, fmt.Errorf("CPUs %v: want two CPU numbers", p.CPUs)
		}
		args = append(args, "-c", fmt.Sprintf("%d,%d", p.CPUs[0], p.CPUs[1]))
	}
	if p.Processes {
		args = append(args, "-p")
	}
	if len(p.Tests) > 0 {
		names := make([]string, len(p.Tests))
		for i, t := range p.Tests {
			switch t {
			case Probe, HeadTail, Stamp, Throughput:
			default:
				return nil, fmt.Errorf("unknown test %q", t)
			}
			names[i] = string(t)
		}
		args = append(args, "-t", strings.Join(names, ","))
	}
	return args, nil
}

// Run runs the program with p and returns its figures. Cancelling ctx
// kills it (and its second process).
func (b *Baseline) Run(ctx context.Context, p Params) (Results, error) {
	args, err := p.Args()
	if err != nil {
		return Results{}, fmt.Errorf("running the C baseline: %w", err)
	}
	cmd := exec.CommandContext(ctx, b.path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Results{}, fmt.Errorf("running the C baseline: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return Parse(out)
}

// Parse parses the program's output. Unknown keys are ignored; a known
// key with a bad value, or output that lacks the final "done" line, is an
// error.
func Parse(out []byte) (Results, error) {
	r := Results{Output: string(out)}
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		var dur *time.Duration
		var rate *float64
		switch key {
		case "done":
			done = true
			continue
		case "probe_rtt_ns":
			dur = &r.ProbeRTT
		case "headtail_rtt_ns":
			dur = &r.HeadTailRTT
		case "stamp_rtt_ns":
			dur = &r.StampRTT
		case "probe_rtt_best_ns":
			dur = &r.ProbeRTTBest
		case "headtail_rtt_best_ns":
			dur = &r.HeadTailRTTBest
		case "stamp_rtt_best_ns":
			dur = &r.StampRTTBest
		case "headtail_msgs_per_s":
			rate = &r.HeadTailThroughput
		case "stamp_msgs_per_s":
			rate = &r.StampThroughput
		case "headtail_msgs_per_s_best":
			rate = &r.HeadTailThroughputBest
		case "stamp_msgs_per_s_best":
			rate = &r.StampThroughputBest
		default:
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || v < 0 {
			return r, fmt.Errorf("parsing the C baseline's output: %s: bad value %q", key, val)
		}
		if dur != nil {
			*dur = time.Duration(v + 0.5)
		} else {
			*rate = v
		}
	}
	if !done {
		return r, errors.New("parsing the C baseline's output: no final \"done\" line")
	}
	return r, nil
}
