package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaVersion is the version of the JSON output's schema. It changes only
// when a field is removed or changes meaning; new fields may appear without
// a change.
const SchemaVersion = 1

// Report is the JSON output (-json). Every duration is in nanoseconds.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Tool          string    `json:"tool"` // "ipcbench"
	Started       time.Time `json:"started"`
	Machine       Machine   `json:"machine"`
	Params        Params    `json:"params"`
	// Transports are the selected transports, in the order of the table.
	Transports []Transport `json:"transports"`
	// CBaseline is the C baseline's figures, or why it did not run.
	CBaseline CBaseline `json:"c_baseline"`
}

// Machine describes where the figures were measured.
type Machine struct {
	CPUModel  string `json:"cpu_model"` // /proc/cpuinfo's "model name"
	Kernel    string `json:"kernel"`    // uname -r
	CPUs      int    `json:"cpus"`      // CPUs this process may run on
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	GoVersion string `json:"go_version"`
}

// Params are the run's parameters.
type Params struct {
	Iterations int   `json:"iterations"`  // -n
	Warmup     int   `json:"warmup"`      // -warmup
	DurationNS int64 `json:"duration_ns"` // -duration (0: no cap)
	Sizes      []int `json:"sizes"`       // -sizes, in bytes
	// CPUs are the CPUs the two sides of pinned transports run on; null
	// when not pinned.
	CPUs []int `json:"cpus"`
}

// Transport is one transport's results.
type Transport struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// MaxMessage is the largest message it carries, in bytes.
	MaxMessage int `json:"max_message"`
	// Pinned says whether its two sides ran on locked OS threads pinned
	// to Params.CPUs (false: ordinary goroutines, or no -cpus).
	Pinned bool `json:"pinned"`
	// Skipped, when not empty, says why the transport did not run (no
	// root, no BPF); Results is then empty.
	Skipped string   `json:"skipped,omitempty"`
	Results []Result `json:"results"`
}

// Result is a transport's figures at one message size.
type Result struct {
	Size int `json:"size"`
	// NA, when not empty, says why this size was not measured (larger
	// than the transport's largest message); Latency and Throughput are
	// then null.
	NA string `json:"na,omitempty"`
	// Error, when not empty, is why the measurement failed.
	Error   string   `json:"error,omitempty"`
	Latency *Latency `json:"latency"`
	// Throughput is null for a transport that cannot stream (ThroughputNA
	// says why).
	Throughput   *Throughput `json:"throughput"`
	ThroughputNA string      `json:"throughput_na,omitempty"`
	// ProbeRTTNS is the mean round trip of a cache-line ping-pong between
	// the two CPUs, measured right before this result: the floor of any
	// shared-memory round trip at that moment.
	ProbeRTTNS float64 `json:"probe_rtt_ns"`
	// XProbe is Latency.P50NS / ProbeRTTNS. The median, not the mean,
	// so that a rare stall of the shared host (milliseconds) does not
	// swamp it.
	XProbe float64 `json:"x_probe"`
	// XCStamp is Latency.P50NS over the C baseline's stamp-ring round
	// trip at the same size, when the C baseline ran (else 0).
	XCStamp float64 `json:"x_c_stamp,omitempty"`
}

// Latency is the round-trip latency distribution, from an HDR histogram
// (3 significant digits).
type Latency struct {
	Count  int64   `json:"count"` // timed round trips
	MinNS  int64   `json:"min_ns"`
	MeanNS float64 `json:"mean_ns"`
	P50NS  int64   `json:"p50_ns"`
	P99NS  int64   `json:"p99_ns"`
	P999NS int64   `json:"p99_9_ns"`
	MaxNS  int64   `json:"max_ns"`

	hist *hdrhistogram.Histogram // for the plot
}

// Throughput is one-way streaming throughput.
type Throughput struct {
	Messages   int64   `json:"messages"` // timed messages
	Batch      int     `json:"batch"`    // messages per send call (1: no batching)
	MsgsPerSec float64 `json:"msgs_per_s"`
	MiBPerSec  float64 `json:"mib_per_s"`
}

// CBaseline is the C baseline (internal/cbaseline): the same shared-memory
// rings in C, on the same CPUs, per size.
type CBaseline struct {
	Skipped string    `json:"skipped,omitempty"`
	Error   string    `json:"error,omitempty"`
	Results []CResult `json:"results"`
}

// CResult is the C baseline at one size.
type CResult struct {
	Size             int     `json:"size"`
	ProbeRTTNS       float64 `json:"probe_rtt_ns"`
	HeadTailRTTNS    float64 `json:"headtail_rtt_ns"`
	StampRTTNS       float64 `json:"stamp_rtt_ns"`
	HeadTailMsgsPerS float64 `json:"headtail_msgs_per_s"`
	StampMsgsPerS    float64 `json:"stamp_msgs_per_s"`
	Batch            int     `json:"batch"`
	// Runs is how many runs these figures are the best of (the least
	// round trips, the most messages per second).
	Runs int `json:"runs"`
}

// newLatency summarizes h.
func newLatency(h *hdrhistogram.Histogram) *Latency {
	return &Latency{
		Count:  h.TotalCount(),
		MinNS:  h.Min(),
		MeanNS: h.Mean(),
		P50NS:  h.ValueAtQuantile(50),
		P99NS:  h.ValueAtQuantile(99),
		P999NS: h.ValueAtQuantile(99.9),
		MaxNS:  h.Max(),
		hist:   h,
	}
}

// newHistogram returns a histogram of round trips from 1 ns to 100 s, at
// 3 significant digits.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(100*time.Second), 3)
}

// tableHeader is the human table's header row.
var tableHeader = []string{"TRANSPORT", "SIZE", "P50", "P99", "P99.9", "MAX", "MSGS/S", "MIB/S", "PROBE", "/PROBE", "/C"}

// writeTable writes the human-readable report.
func writeTable(w io.Writer, r *Report) error {
	bw := &errWriter{w: w}
	m := r.Machine
	fmt.Fprintf(bw, "ipcbench: %s, %d CPUs, Linux %s, %s\n", m.CPUModel, m.CPUs, m.Kernel, m.GoVersion)
	pin := "not pinned"
	if r.Params.CPUs != nil {
		pin = fmt.Sprintf("CPUs %d,%d", r.Params.CPUs[0], r.Params.CPUs[1])
	}
	fmt.Fprintf(bw, "%d round trips (and messages) per measurement after %d warm-up, %s; round-trip latency, one-way throughput\n\n",
		r.Params.Iterations, r.Params.Warmup, pin)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(tableHeader, "\t")+"\t")
	var notes []string
	for _, t := range r.Transports {
		if t.Skipped != "" {
			notes = append(notes, fmt.Sprintf("%s: skipped: %s", t.Name, t.Skipped))
			continue
		}
		var na []string
		var naReason string
		for _, res := range t.Results {
			cells := []string{t.Name, formatSize(res.Size)}
			switch {
			case res.Error != "":
				cells = append(cells, "error", "", "", "", "", "", "", "", "")
				notes = append(notes, fmt.Sprintf("%s %s: error: %s", t.Name, formatSize(res.Size), res.Error))
			case res.NA != "":
				na = append(na, formatSize(res.Size))
				naReason = res.NA
				continue
			default:
				l := res.Latency
				cells = append(cells, ns(float64(l.P50NS)), ns(float64(l.P99NS)), ns(float64(l.P999NS)), ns(float64(l.MaxNS)))
				if tp := res.Throughput; tp != nil {
					cells = append(cells, rate(tp.MsgsPerSec), fmt.Sprintf("%.0f", tp.MiBPerSec))
				} else {
					cells = append(cells, "n/a", "n/a")
				}
				cells = append(cells, ns(res.ProbeRTTNS), ratio(res.XProbe), ratio(res.XCStamp))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		if len(na) > 0 {
			notes = append(notes, fmt.Sprintf("%s: n/a at %s bytes: %s", t.Name, strings.Join(na, ", "), naReason))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "P50..MAX: round trip (send, receive the echo); MSGS/S, MIB/S: one way, streaming;")
	fmt.Fprintln(bw, "PROBE: cache-line ping-pong between the same CPUs just before; /PROBE, /C: P50 over the probe")
	fmt.Fprintln(bw, "and over the C stamp ring's (mean) round trip at the same size, measured in the same run.")
	cb := r.CBaseline
	switch {
	case cb.Skipped != "":
		fmt.Fprintf(bw, "\nC baseline: skipped: %s\n", cb.Skipped)
	case cb.Error != "":
		fmt.Fprintf(bw, "\nC baseline: error: %s\n", cb.Error)
	case len(cb.Results) > 0:
		fmt.Fprintf(bw, "\nC baseline (internal/cbaseline, gcc -O2, same CPUs; mean round trips, best of %d runs):\n", cb.Results[0].Runs)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "SIZE\tPROBE\tHEADTAIL RTT\tSTAMP RTT\tHEADTAIL MSGS/S\tSTAMP MSGS/S\tBATCH\t")
		for _, c := range cb.Results {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", formatSize(c.Size), ns(c.ProbeRTTNS), ns(c.HeadTailRTTNS),
				ns(c.StampRTTNS), rate(c.HeadTailMsgsPerS), rate(c.StampMsgsPerS), c.Batch)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range notes {
			fmt.Fprintln(bw, n)
		}
	}
	return bw.err
}

// ns formats nanoseconds with a unit and three significant digits.
func ns(v float64) string {
	switch {
	case v <= 0:
		return "-"
	case v < 1e3:
		return fmt.Sprintf("%.0fns", v)
	case v < 1e4:
		return fmt.Sprintf("%.2fµs", v/1e3)
	case v < 1e5:
		return fmt.Sprintf("%.1fµs", v/1e3)
	case v < 1e6:
		return fmt.Sprintf("%.0fµs", v/1e3)
	case v < 1e9:
		return fmt.Sprintf("%.1fms", v/1e6)
	}
	return fmt.Sprintf("%.2fs", v/1e9)
}

// rate formats a rate per second.
func rate(v float64) string {
	switch {
	case v <= 0:
		return "-"
	case v < 1e3:
		return fmt.Sprintf("%.0f", v)
	case v < 1e6:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.2fM", v/1e6)
}

func ratio(v float64) string {
	if v <= 0 {
		return "-"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
