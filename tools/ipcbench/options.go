package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Exit codes.
const (
	exitOK      = 0 // every selected measurement ran (or was skipped with a reason)
	exitFailure = 1 // a measurement failed, or the results could not be written
	exitUsage   = 2 // bad command line
)

// maxSize is the largest message ipcbench measures.
const maxSize = 64 << 10

// options are the parsed command line.
type options struct {
	iterations int           // -n: timed round trips, and messages streamed, per measurement
	duration   time.Duration // -duration: cap on each measurement's timed part (0: none)
	warmup     int           // -warmup: untimed round trips (and messages) first
	sizes      []int         // -sizes
	transports []string      // -transports: names, in the order of the registry
	cpus       []int         // -cpus: the two sides' CPUs; nil: not pinned
	autoCPUs   bool          // -cpus auto (the default): the first two CPUs of the affinity mask
	json       bool          // -json
	plot       string        // -plot FILE (.svg or .png)
	noC        bool          // -no-c: do not build and run the C baseline
}

// errHelp is returned by parseOptions for -h: usage was printed, exit 0.
var errHelp = flag.ErrHelp

// parseOptions parses args. names are the transports that exist, in order.
// The error is errHelp for -h, or a usage error already printed to stderr.
func parseOptions(args []string, names []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("ipcbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.iterations, "n", 10000, "timed round trips per measurement, and messages per throughput run")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "cap on the timed part of each measurement (0: no cap)")
	fs.IntVar(&o.warmup, "warmup", 1000, "untimed round trips (and messages) before each measurement")
	sizes := fs.String("sizes", "64,1K,16K,64K", "message sizes in bytes, comma-separated, 16 to 64K (K = 1024)")
	transports := fs.String("transports", "all", "transports to measure, comma-separated, or \"all\"")
	cpus := fs.String("cpus", "auto", "CPUs of the two sides, \"A,B\"; \"auto\": the first two CPUs this process may use; \"none\": no pinning")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON (schema in the command's documentation) instead of a table")
	fs.StringVar(&o.plot, "plot", "", "write the latency distribution to `FILE` (.svg or .png)")
	fs.BoolVar(&o.noC, "no-c", false, "do not build and run the C baseline even when gcc is present")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ipcbench [flags]\n\n"+
			"Measures the round-trip latency and one-way throughput of the classic IPC\n"+
			"mechanisms beside ipcu's transports, on this machine, in one run.\n\n"+
			"Transports: %s\n\nFlags:\n", strings.Join(names, ", "))
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nExit status: 0 on success, 1 if a measurement failed, 2 on a usage error.\n")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	usage := func(format string, a ...any) (*options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintf(stderr, "ipcbench: %v\nRun 'ipcbench -h' for usage.\n", err)
		return nil, err
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if o.iterations < 1 {
		return usage("-n %d: want at least 1", o.iterations)
	}
	if o.warmup < 0 {
		return usage("-warmup %d: want 0 or more", o.warmup)
	}
	if o.duration < 0 {
		return usage("-duration %v: want 0 or more", o.duration)
	}
	var err error
	if o.sizes, err = parseSizes(*sizes); err != nil {
		return usage("-sizes: %v", err)
	}
	if o.transports, err = parseTransports(*transports, names); err != nil {
		return usage("-transports: %v", err)
	}
	switch *cpus {
	case "auto":
		o.autoCPUs = true
	case "none":
	default:
		if o.cpus, err = parseCPUs(*cpus); err != nil {
			return usage("-cpus: %v", err)
		}
	}
	if o.plot != "" {
		switch strings.ToLower(filepath.Ext(o.plot)) {
		case ".svg", ".png":
		default:
			return usage("-plot %s: the file name must end in .svg or .png", o.plot)
		}
	}
	return o, nil
}

// parseSize parses a size: a number of bytes with an optional K (KiB)
// suffix.
func parseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	if t, ok := strings.CutSuffix(strings.ToUpper(s), "K"); ok {
		s, mult = t, 1024
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := parseSize(f)
		if err != nil {
			return nil, err
		}
		if n < 16 || n > maxSize {
			return nil, fmt.Errorf("size %d: want 16 to %d", n, maxSize)
		}
		if !slices.Contains(sizes, n) {
			sizes = append(sizes, n)
		}
	}
	slices.Sort(sizes)
	return sizes, nil
}

func parseTransports(s string, names []string) ([]string, error) {
	if s == "all" {
		return names, nil
	}
	want := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(names, f) {
			return nil, fmt.Errorf("unknown transport %q (have %s)", f, strings.Join(names, ", "))
		}
		want[f] = true
	}
	var out []string
	for _, n := range names {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

func parseCPUs(s string) ([]int, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return nil, errors.New("want two CPU numbers, \"A,B\"")
	}
	var cpus []int
	for _, f := range []string{a, b} {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad CPU number %q", f)
		}
		cpus = append(cpus, n)
	}
	return cpus, nil
}

// formatSize formats a size as the -sizes flag takes it: 64, 1K, 64K.
func formatSize(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + "K"
	}
	return strconv.Itoa(n)
}
