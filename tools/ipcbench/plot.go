package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// writePlot writes the latency distribution of r to file: one panel per
// message size, one line per transport, the round trip (log scale) against
// the percentile on HdrHistogram's usual axis, where 90%, 99%, 99.9% and
// 99.99% are evenly spaced. The format follows the extension: .svg or
// .png.
func writePlot(file string, r *Report) error {
	var rows [][]*plot.Plot
	for _, size := range r.Params.Sizes {
		p, err := sizePlot(r, size)
		if err != nil {
			return err
		}
		if p != nil {
			rows = append(rows, []*plot.Plot{p})
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("writing %s: no latency was measured", file)
	}
	w, h := 9*vg.Inch, vg.Length(len(rows))*4.5*vg.Inch
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	default:
		c = vgsvg.New(w, h)
	}
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadTop: vg.Points(10), PadBottom: vg.Points(10),
		PadLeft: vg.Points(10), PadRight: vg.Points(10), PadY: vg.Points(20)}
	canvases := plot.Align(rows, tiles, draw.New(c))
	for i := range rows {
		rows[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("writing the plot: %w", err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("writing the plot %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the plot %s: %w", file, err)
	}
	return nil
}

// sizePlot returns the panel of one size, or nil if nothing was measured
// at that size.
func sizePlot(r *Report, size int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Round-trip latency, %s-byte messages", formatSize(size))
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "round trip (µs)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Tick.Marker = percentileTicks{}
	// The legend goes top right, beyond the last percentile, where no
	// line is drawn.
	p.Legend.Top = true
	var lines []any
	maxX := 1.0
	for _, t := range r.Transports {
		for _, res := range t.Results {
			if res.Size != size || res.Latency == nil || res.Latency.hist == nil {
				continue
			}
			xys := distribution(res.Latency)
			if len(xys) == 0 {
				continue
			}
			maxX = math.Max(maxX, xys[len(xys)-1].X)
			lines = append(lines, t.Name, xys)
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return nil, fmt.Errorf("plotting %s-byte messages: %w", formatSize(size), err)
	}
	p.X.Min, p.X.Max = 0, math.Ceil(maxX)+1.6
	return p, nil
}

// distribution returns the points (x, µs) of l's histogram, x being
// -log10(1-q): 0 at the 0th percentile, 1 at the 90th, 2 at the 99th. The
// last point, the maximum, is placed one count beyond the last
// percentile.
func distribution(l *Latency) plotter.XYs {
	var xys plotter.XYs
	count := float64(l.hist.TotalCount())
	if count == 0 {
		return nil
	}
	limit := math.Log10(count) // where 1 - q = 1/count: the last value
	for _, b := range l.hist.CumulativeDistribution() {
		q := b.Quantile / 100
		x := limit
		if q < 1 {
			x = math.Min(-math.Log10(1-q), limit)
		}
		y := float64(b.ValueAt) / 1e3
		if y <= 0 {
			y = 1e-3
		}
		xys = append(xys, plotter.XY{X: x, Y: y})
		if q >= 1 {
			break
		}
	}
	return xys
}

// percentileTicks labels the percentile axis: 0%, 90%, 99%, 99.9%...
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%"}
	var ticks []plot.Tick
	for i := math.Ceil(lo); i <= hi-1.6 && int(i) < len(labels); i++ {
		ticks = append(ticks, plot.Tick{Value: i, Label: labels[int(i)]})
	}
	return ticks
}
