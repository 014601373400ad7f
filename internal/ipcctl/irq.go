package ipcctl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ipcu/ipcu/edu/eduregs"
	"github.com/ipcu/ipcu/irq"
	mbipcu "github.com/ipcu/ipcu/mailbox/ipcu"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// jsonIRQWatch is the -json document of irq watch.
type jsonIRQWatch struct {
	header
	Device string `json:"device"`
	Line   string `json:"line"`
	// Interrupts is what the kernel counted; Wakeups the Waits that
	// returned; Missed the interrupts merged into another; Spurious the
	// wake-ups that found nothing pending in the device.
	Interrupts uint64  `json:"interrupts"`
	Wakeups    uint64  `json:"wakeups"`
	Missed     uint64  `json:"missed"`
	Spurious   uint64  `json:"spurious"`
	Raised     uint64  `json:"raised"`
	DurationNS int64   `json:"duration_ns"`
	RatePerS   float64 `json:"rate_per_s"`
	// Stopped is why the watch ended: count, duration or interrupted.
	Stopped string `json:"stopped"`
}

const irqWatchHelp = `Waits for the device's interrupts and counts them: delivered, missed (merged
before userspace saw them), spurious (nothing pending in the device), and the
rate, printed every -interval, until -count interrupts, -duration, or SIGINT.
Each interrupt is acknowledged in the device the way its map says: for the
reference block the core's pending sources (doorbells, TX done, DMA, access;
a mailbox's RX interrupt is disarmed), then IRQ_EOI; for edu INTR_ACK; for
another map only the line is re-armed.
-raise makes the device interrupt itself every period, to test the path:
edu through INTR_RAISE, fake through a doorbell rung by another core.
On fake the line is core 2's unless -core says otherwise.`

func cmdIRQWatch(ctx context.Context, args []string, env *Env) error {
	f := newFlags(env, "irq watch", "irq watch [flags] DEVICE", irqWatchHelp)
	df := f.devFlags()
	count := f.Uint64("count", 0, "stop after `n` interrupts (0: no limit)")
	duration := f.Duration("duration", 0, "stop after this long (0: until SIGINT or -count)")
	interval := f.Duration("interval", time.Second, "print the counters this often (0: only at the end)")
	raise := f.Duration("raise", 0, "raise a test interrupt in the device every `period` (edu, fake)")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if !f.isSet("core") {
		df.core = 2
	}
	d, err := openDevice(pos[0], df)
	if err != nil {
		return err
	}
	defer d.Close()
	line, err := d.IRQ()
	if err != nil {
		return err
	}
	handle, raiseOnce, err := irqHandler(d)
	if err != nil {
		return err
	}
	if d.Map != "ipcu" && d.Map != "edu" {
		fmt.Fprintf(env.Stderr, "ipcctl: %s: map %s: interrupts are not acknowledged in the device, only the line is re-armed\n", d.Name, d.Map)
	}
	if *raise > 0 && raiseOnce == nil {
		return fmt.Errorf("%s: -raise: map %s has no way to raise an interrupt (edu and fake do)", d.Name, d.Map)
	}
	if *count == 0 && *duration == 0 && ctx.Done() == nil {
		return usageError(f.usage, "irq watch: give -count or -duration")
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *duration > 0 {
		wctx, cancel = context.WithTimeout(wctx, *duration)
		defer cancel()
	}
	// Drop what was pending before we looked.
	if n, _ := line.TryWait(); n > 0 {
		handle(line)
		line.Ack()
	}
	base := line.Stats()
	var raised uint64
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the raiser stops before the device closes
	defer cancel()
	// handled tells the raiser the previous interrupt was acknowledged in
	// the device, so that the next raise makes a new interrupt rather than
	// merging into a pending one.
	handled := make(chan struct{}, 1)
	if *raise > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for *count == 0 || raised < *count {
				raiseOnce()
				raised++
				select { // handled, or lost: raise again after a while
				case <-wctx.Done():
					return
				case <-handled:
				case <-time.After(max(*raise, time.Second)):
				}
				select {
				case <-wctx.Done():
					return
				case <-time.After(*raise):
				}
			}
		}()
	}
	if !f.json {
		fmt.Fprintf(env.Stdout, "watching %s (%s, map %s)\n", d.Name, d.IRQName(), d.Map)
	}
	start := time.Now()
	lastPrint := start
	periodic := !f.json && *interval > 0
	const rowFormat = "%10s %12v %10v %8v %8v\n"
	if periodic {
		fmt.Fprintf(env.Stdout, rowFormat, "TIME", "INTERRUPTS", "RATE/S", "MISSED", "SPURIOUS")
	}
	stopped := "interrupted"
	var st irq.Stats
	for {
		st = sub(line.Stats(), base)
		if *count > 0 && st.Delivered >= *count {
			stopped = "count"
			break
		}
		pctx, pcancel := wctx, context.CancelFunc(func() {})
		if periodic {
			pctx, pcancel = context.WithDeadline(wctx, lastPrint.Add(*interval))
		}
		_, err := line.Wait(pctx)
		pcancel()
		if err == nil {
			handle(line)
			if err := line.Ack(); err != nil {
				return fmt.Errorf("%s: re-arming the interrupt: %w", d.Name, err)
			}
			select {
			case handled <- struct{}{}:
			default:
			}
		}
		if periodic && time.Since(lastPrint) >= *interval {
			lastPrint = time.Now()
			s := sub(line.Stats(), base)
			el := time.Since(start)
			fmt.Fprintf(env.Stdout, rowFormat, el.Round(time.Millisecond), s.Delivered, fmt.Sprintf("%.1f", float64(s.Delivered)/el.Seconds()), s.Missed, s.Spurious)
		}
		if err != nil {
			if wctx.Err() != nil {
				if ctx.Err() == nil {
					stopped = "duration"
				}
				break
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("%s: waiting for an interrupt: %w", d.Name, err)
			}
		}
	}
	cancel()
	wg.Wait()
	st = sub(line.Stats(), base)
	el := time.Since(start)
	doc := jsonIRQWatch{header: newHeader("irq watch"), Device: d.Name.String(), Line: d.IRQName(), Interrupts: st.Delivered,
		Wakeups: st.Wakeups, Missed: st.Missed, Spurious: st.Spurious, Raised: raised, DurationNS: int64(el),
		RatePerS: float64(st.Delivered) / el.Seconds(), Stopped: stopped}
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	fmt.Fprintf(env.Stdout, "%d interrupts in %v (%.1f/s): %d wake-ups, %d missed, %d spurious", st.Delivered,
		el.Round(time.Millisecond), doc.RatePerS, st.Wakeups, st.Missed, st.Spurious)
	if *raise > 0 {
		fmt.Fprintf(env.Stdout, ", %d raised", raised)
	}
	fmt.Fprintf(env.Stdout, " (stopped: %s)\n", stopped)
	return nil
}

func sub(a, b irq.Stats) irq.Stats {
	return irq.Stats{Wakeups: a.Wakeups - b.Wakeups, Delivered: a.Delivered - b.Delivered, Missed: a.Missed - b.Missed, Spurious: a.Spurious - b.Spurious}
}

// irqHandler returns the device's interrupt handler (read what is
// pending, acknowledge it in the device, re-arm) and, when the device can
// interrupt itself, a function that raises one interrupt.
func irqHandler(d *device) (handle func(irq.Source), raise func(), err error) {
	switch d.Map {
	case "edu":
		blk, err := eduregs.New(d.Bus, d.Base)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		handle = func(src irq.Source) {
			st := blk.INTR_STATUS.Read()
			if st == 0 {
				src.Spurious()
				return
			}
			blk.INTR_ACK.Write(st)
		}
		return handle, func() { blk.INTR_RAISE.Write(1) }, nil
	case "ipcu":
		blk, err := regmap.New(d.Bus, d.Base)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		k := int(blk.CORE_ID.Read())
		if k >= len(blk.CORE) {
			return nil, nil, fmt.Errorf("%s: CORE_ID reads %d", d.Name, k)
		}
		c := &blk.CORE[k]
		handle = func(src irq.Source) {
			st := c.IRQ_MSTATUS.Read()
			if st == 0 {
				src.Spurious()
			}
			if v := c.DB_STATUS.Read(); v != 0 {
				c.DB_STATUS.Write(v)
			}
			if v := c.TX_PEND.Read(); v != 0 {
				c.TX_PEND.Write(v)
			}
			if v := c.DMA_PEND.Read(); v != 0 {
				c.DMA_PEND.Write(v)
			}
			if v := c.DMA_ERR_PEND.Read(); v != 0 {
				c.DMA_ERR_PEND.Write(v)
			}
			if regmap.CORE_IRQ_STATUS.ACCESS.IsSet(st) {
				c.IRQ_STATUS.Update(regmap.CORE_IRQ_STATUS.ACCESS.Clear())
			}
			if v := c.RX_PEND.Read(); v != 0 {
				c.RX_EN.Write(c.RX_EN.Read() &^ v) // a level: disarm, as the driver does until it drains
			}
			c.IRQ_EOI.Write(1)
		}
		if d.Fake == nil {
			return handle, nil, nil
		}
		// On fake, the management core lets another core ring this
		// core's doorbell 0, which interrupts it.
		cfg := d.Fake.Config()
		ringer := (k + 1) % cfg.Cores
		if ringer == 0 {
			ringer = 1
		}
		adm, err := mbipcu.Open(mbipcu.Config{Bus: d.Fake.Core(0)})
		if err != nil {
			return nil, nil, err
		}
		defer adm.Close()
		if err := errors.Join(adm.AllowDoorbells(k, 1<<ringer), adm.Enable()); err != nil {
			return nil, nil, err
		}
		c.DB_EN.Write(1)
		c.IRQ_MASK.Update(regmap.CORE_IRQ_MASK.DB.Val(1))
		other, err := regmap.New(d.Fake.Core(ringer), 0)
		if err != nil {
			return nil, nil, err
		}
		return handle, func() { other.CORE[k].DB_SET.Write(1) }, nil
	}
	return func(irq.Source) {}, nil, nil
}
