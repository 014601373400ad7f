package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/internal/cbaseline"
)

func main() {
	if code, ok := childMain(); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// transport is one mechanism ipcbench measures.
type transport struct {
	name, desc string
	maxMsg     int    // the largest message
	maxWhy     string // what sets maxMsg, if not the transport itself
	locked     bool   // the sides run on locked OS threads, pinned with -cpus
	noStream   string
	open       func(e *env, size int) (*pair, error)
}

// skipError makes a transport skipped rather than failed: what it needs
// is missing here.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func skip(reason string) error { return &skipError{reason} }

// transports returns the registry, in the table's order.
func transports() []transport {
	mqMax, mqWhy := mqMaxMessage()
	return []transport{
		{name: "pipe", desc: "two pipes, blocking read and write", maxMsg: maxSize, locked: true, open: openPipe},
		{name: "mqueue", desc: "two POSIX message queues, 10 deep (mq_timedsend, mq_timedreceive)", maxMsg: mqMax, maxWhy: mqWhy, locked: true, open: openMQ},
		{name: "unix", desc: "a UNIX SOCK_SEQPACKET socket pair, blocking send and receive", maxMsg: maxSize, locked: true, open: openUnix},
		{name: "eventfd", desc: "eventfd ping-pong, the payload copied through a buffer shared by two threads", maxMsg: maxSize, locked: true,
			noStream: "a doorbell without a queue", open: openEventfd},
		{name: "mutex", desc: "shared memory with a futex mutex (pthread-like, process-shared ops) and a polled full flag; two threads of one process", maxMsg: maxSize, locked: true, open: openMutex},
		{name: "shm-poll", desc: "ipcu shm channel (memfd, SPSC rings), busy-polling", maxMsg: maxSize, open: shmOpener(busyPoll)},
		{name: "shm-sleep", desc: "ipcu shm channel, sleeping at once (eventfd wake-ups)", maxMsg: maxSize, open: shmOpener(0)},
		{name: "shm-proc", desc: "ipcu shm channel to a peer process (ipcbench re-executed, shm.FromFiles), busy-polling", maxMsg: maxSize, open: shmProcOpener(busyPoll)},
		{name: "ebpf-queue", desc: "ipcu eBPF channel, BPF queue maps (a bpf(2) call per message), busy-polling", maxMsg: maxSize, open: ebpfOpener(ebpf.Queue)},
		{name: "ebpf-mmap", desc: "ipcu eBPF channel, mmapable BPF arrays holding SPSC rings, busy-polling", maxMsg: maxSize, open: ebpfOpener(ebpf.MmapArray)},
		{name: "mbox-poll", desc: "ipcu mailboxes on fakedev (16-byte messages), polling the registers", maxMsg: mailboxMax, open: mailboxOpener(false)},
		{name: "mbox-irq", desc: "ipcu mailboxes on fakedev, sleeping on the interrupt eventfds", maxMsg: mailboxMax, open: mailboxOpener(true)},
		{name: "dma", desc: "ipcu DMA descriptor rings on fakedev (free-running engine), busy-polling", maxMsg: maxSize, open: openDMA},
	}
}

func names(ts []transport) []string {
	var ns []string
	for _, t := range ts {
		ns = append(ns, t.name)
	}
	return ns
}

// run is the command: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	all := transports()
	o, err := parseOptions(args, names(all), stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	allowed := allowedCPUs()
	if o.autoCPUs && len(allowed) >= 2 {
		o.cpus = allowed[:2]
	}
	for _, c := range o.cpus {
		if !slices.Contains(allowed, c) {
			fmt.Fprintf(stderr, "ipcbench: -cpus: CPU %d is not one this process may run on (%v)\n", c, allowed)
			return exitUsage
		}
	}

	r := &Report{
		SchemaVersion: SchemaVersion,
		Tool:          "ipcbench",
		Started:       time.Now().UTC().Truncate(time.Second),
		Machine:       machine(len(allowed)),
		Params: Params{Iterations: o.iterations, Warmup: o.warmup, DurationNS: o.duration.Nanoseconds(),
			Sizes: o.sizes, CPUs: o.cpus},
	}
	var sel []transport
	for _, t := range all {
		if slices.Contains(o.transports, t.name) {
			sel = append(sel, t)
		}
	}
	prog := &progress{w: stderr, start: time.Now()}
	m := &measure{cpus: o.cpus, warmup: o.warmup, n: o.iterations, duration: o.duration}
	e := &env{}
	failed := false

	// The sizes each transport measures: the requested ones it carries,
	// or, if it carries none of them, its largest message.
	plans := make([][]int, len(sel))
	total := 0
	cSizes := []int{}
	for i, t := range sel {
		for _, s := range o.sizes {
			if s <= t.maxMsg {
				plans[i] = append(plans[i], s)
			}
		}
		if len(plans[i]) == 0 {
			plans[i] = []int{t.maxMsg}
		}
		total += len(plans[i])
		for _, s := range plans[i] {
			if !slices.Contains(cSizes, s) {
				cSizes = append(cSizes, s)
			}
		}
	}
	slices.Sort(cSizes)

	trs := make([]Transport, len(sel))
	for i, t := range sel {
		trs[i] = Transport{Name: t.name, Description: t.desc, MaxMessage: t.maxMsg, Pinned: t.locked && o.cpus != nil,
			Results: []Result{}}
	}
	// Size by size: the C baseline, then every transport, so that the
	// figures compared are measured close together.
	cr := newCRunner(o, prog)
	for _, size := range cSizes {
		if ctx.Err() != nil {
			break
		}
		cr.run(ctx, m, size)
		for i, t := range sel {
			tr := &trs[i]
			if ctx.Err() != nil || tr.Skipped != "" || !slices.Contains(plans[i], size) {
				continue
			}
			prog.step(fmt.Sprintf("%s, %s-byte messages", t.name, formatSize(size)), total)
			res, skipped := measureOne(m, e, t, size)
			if skipped != "" {
				tr.Skipped, tr.Results = skipped, []Result{}
				continue
			}
			if res.Error != "" {
				failed = true
			}
			if c := cr.stamp(size); c > 0 && res.Latency != nil {
				res.XCStamp = float64(res.Latency.P50NS) / c
			}
			tr.Results = append(tr.Results, res)
		}
	}
	r.CBaseline = cr.close()
	if r.CBaseline.Error != "" {
		failed = true
	}
	for i, t := range sel {
		tr := trs[i]
		if tr.Skipped == "" {
			for _, s := range o.sizes {
				if s > t.maxMsg {
					na := fmt.Sprintf("larger than its largest message, %d bytes", t.maxMsg)
					if t.maxWhy != "" {
						na += " (" + t.maxWhy + ")"
					}
					tr.Results = append(tr.Results, Result{Size: s, NA: na})
				}
			}
		}
		r.Transports = append(r.Transports, tr)
	}
	if err := e.close(); err != nil {
		fmt.Fprintf(stderr, "ipcbench: cleaning up: %v\n", err)
		failed = true
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "ipcbench: interrupted\n")
		return exitFailure
	}
	prog.done()

	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	} else {
		err = writeTable(stdout, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ipcbench: writing the results: %v\n", err)
		return exitFailure
	}
	if o.plot != "" {
		if err := writePlot(o.plot, r); err != nil {
			fmt.Fprintf(stderr, "ipcbench: %v\n", err)
			return exitFailure
		}
	}
	if failed {
		return exitFailure
	}
	return exitOK
}

// measureOne measures t at one size: a probe, the round trips and the
// throughput. A non-empty skipped says t cannot run here at all.
func measureOne(m *measure, e *env, t transport, size int) (res Result, skipped string) {
	res = Result{Size: size}
	fail := func(err error) (Result, string) {
		var se *skipError
		if errors.As(err, &se) {
			return res, se.reason
		}
		res.Error = err.Error()
		return res, ""
	}
	p, err := probe(m)
	if err != nil {
		return fail(fmt.Errorf("probe: %w", err))
	}
	res.ProbeRTTNS = p
	// One pair for the round trips and another for the throughput, so
	// that neither inherits the other's state.
	pr, err := t.open(e, size)
	if err != nil {
		return fail(err)
	}
	h, err := roundTrips(m, pr, size, t.locked)
	if errors.Is(err, errStuck) {
		return fail(err) // the pair is left as it is
	}
	if err = errors.Join(err, pr.close()); err != nil {
		return fail(fmt.Errorf("round trips: %w", err))
	}
	res.Latency = newLatency(h)
	res.XProbe = float64(res.Latency.P50NS) / res.ProbeRTTNS
	if t.noStream != "" {
		res.ThroughputNA = t.noStream
		return res, ""
	}
	ps, err := t.open(e, size)
	if err != nil {
		return fail(err)
	}
	var tp *Throughput
	if ps.stream != nil {
		tp, err = ps.stream(m, size)
	} else {
		tp, err = stream(m, ps, size, t.locked)
	}
	if errors.Is(err, errStuck) {
		return fail(err)
	}
	if err = errors.Join(err, ps.close()); err != nil {
		return fail(fmt.Errorf("throughput: %w", err))
	}
	res.Throughput = tp
	return res, ""
}

// cBatch is the batch of the C baseline's throughput runs.
const cBatch = 32

// cRuns is how many times the C baseline runs at each size. It reports
// only means, which one stall of a shared host inflates, so ipcbench keeps
// the best of a few runs: the least of each round trip, the most of each
// rate.
const cRuns = 3

// cRunner builds the C baseline and runs it size by size.
type cRunner struct {
	o    *options
	prog *progress
	b    *cbaseline.Baseline // nil when skipped or failed
	cb   CBaseline
}

// newCRunner builds the C baseline, unless -no-c or there is no gcc.
func newCRunner(o *options, prog *progress) *cRunner {
	cr := &cRunner{o: o, prog: prog, cb: CBaseline{Results: []CResult{}}}
	if o.noC {
		cr.cb.Skipped = "-no-c"
		return cr
	}
	if err := cbaseline.Available(); err != nil {
		cr.cb.Skipped = err.Error()
		return cr
	}
	prog.step("building the C baseline", 0)
	b, err := cbaseline.Build("")
	if err != nil {
		cr.cb.Error = err.Error()
		return cr
	}
	cr.b = b
	return cr
}

// run runs the C baseline at one size; a failure ends the C runs.
func (cr *cRunner) run(ctx context.Context, m *measure, size int) {
	if cr.b == nil || size < 8 {
		return
	}
	cr.prog.step(fmt.Sprintf("C baseline, %s-byte messages", formatSize(size)), 0)
	// As many round trips and batches as ours, capped so that the
	// batches move at most about 1 GiB (one count drives both: doc.go).
	iters := max(100, min(cr.o.iterations, (1<<30)/(size*cBatch)))
	var best CResult
	for k := range cRuns {
		c, err := cr.b.Run(ctx, cbaseline.Params{Iterations: iters, MsgSize: size, Batch: cBatch, CPUs: m.cpus})
		if err != nil {
			if ctx.Err() == nil {
				cr.cb.Error = err.Error()
			}
			cr.b.Close()
			cr.b = nil
			return
		}
		r := CResult{Size: size, ProbeRTTNS: float64(c.ProbeRTT), HeadTailRTTNS: float64(c.HeadTailRTT),
			StampRTTNS: float64(c.StampRTT), HeadTailMsgsPerS: c.HeadTailThroughput, StampMsgsPerS: c.StampThroughput,
			Batch: cBatch, Runs: cRuns}
		if k == 0 {
			best = r
			continue
		}
		best.ProbeRTTNS = min(best.ProbeRTTNS, r.ProbeRTTNS)
		best.HeadTailRTTNS = min(best.HeadTailRTTNS, r.HeadTailRTTNS)
		best.StampRTTNS = min(best.StampRTTNS, r.StampRTTNS)
		best.HeadTailMsgsPerS = max(best.HeadTailMsgsPerS, r.HeadTailMsgsPerS)
		best.StampMsgsPerS = max(best.StampMsgsPerS, r.StampMsgsPerS)
	}
	cr.cb.Results = append(cr.cb.Results, best)
}

// stamp returns the C stamp ring's round trip at size, or 0.
func (cr *cRunner) stamp(size int) float64 {
	for _, c := range cr.cb.Results {
		if c.Size == size {
			return c.StampRTTNS
		}
	}
	return 0
}

// close removes the C baseline and returns its figures.
func (cr *cRunner) close() CBaseline {
	if cr.b != nil {
		cr.b.Close()
		cr.b = nil
	}
	return cr.cb
}

// allowedCPUs returns the CPUs this process may run on.
func allowedCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	var cpus []int
	for i := 0; i < 1024 && len(cpus) < set.Count(); i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// machine describes this machine.
func machine(cpus int) Machine {
	m := Machine{CPUs: cpus, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if m.CPUModel == "" {
		m.CPUModel = "unknown CPU"
	}
	return m
}

// progress reports on stderr what runs, once the run has taken more than
// a second.
type progress struct {
	w       io.Writer
	start   time.Time
	i       int
	printed bool
}

// step reports the start of a step; total is the number of counted steps
// (0: not counted).
func (p *progress) step(what string, total int) {
	if total > 0 {
		p.i++
	}
	if time.Since(p.start) < time.Second {
		return
	}
	p.printed = true
	if total > 0 {
		fmt.Fprintf(p.w, "ipcbench: [%d/%d] %s\n", p.i, total, what)
	} else {
		fmt.Fprintf(p.w, "ipcbench: %s\n", what)
	}
}

func (p *progress) done() {
	if p.printed {
		fmt.Fprintf(p.w, "ipcbench: done in %.1fs\n", time.Since(p.start).Seconds())
	}
}
