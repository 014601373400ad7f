package ipcctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/mailbox"
	mbipcu "github.com/ipcu/ipcu/mailbox/ipcu"
	"github.com/ipcu/ipcu/regs"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// Check results.
const (
	resultPass = "PASS"
	resultFail = "FAIL"
	resultSkip = "SKIP"
)

// check is one line of the selftest report.
type check struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	Detail string `json:"detail"`
	// Latency is the interrupt delivery latency, in nanoseconds, of the
	// interrupt check.
	Latency *latency `json:"latency_ns,omitempty"`
}

// latency summarises measured durations.
type latency struct {
	Samples int   `json:"samples"`
	Min     int64 `json:"min"`
	P50     int64 `json:"p50"`
	P99     int64 `json:"p99"`
	Max     int64 `json:"max"`
}

func summarize(ds []time.Duration) *latency {
	if len(ds) == 0 {
		return nil
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) int64 { return int64(s[int(q*float64(len(s)-1))]) }
	return &latency{Samples: len(s), Min: int64(s[0]), P50: at(0.5), P99: at(0.99), Max: int64(s[len(s)-1])}
}

// jsonSelftest is the -json document of selftest.
type jsonSelftest struct {
	header
	Device string   `json:"device"`
	Map    string   `json:"map"`
	Faults []string `json:"faults"`
	Result string   `json:"result"`
	Checks []check  `json:"checks"`
}

// fault is an injectable fault of the fake device.
type fault struct {
	name, help, fails string
	plan              func(p *fakedev.FaultPlan)
}

// regOffset returns the offset of a register of the reference map.
func regOffset(name string) uintptr {
	r := regmap.Description.Peripherals[0].Register(name)
	if r == nil {
		panic("no register " + name)
	}
	return uintptr(r.Offset)
}

// faults are the faults -inject knows, with the check each one fails.
var faults = []fault{
	{"stuck-id", "ID reads 0 (a block that is not there)", "identification",
		func(p *fakedev.FaultPlan) {
			p.Stuck = append(p.Stuck, fakedev.StuckBits{Offset: regOffset("ID"), Mask: ^uint32(0)})
		}},
	{"stuck-reg", "CORE[3].COAL bit 0 stuck at 1", "reset values",
		func(p *fakedev.FaultPlan) {
			p.Stuck = append(p.Stuck, fakedev.StuckBits{Offset: regOffset("CORE[3].COAL"), Mask: 1, Value: 1})
		}},
	{"no-violation-log", "ERR_STATUS stuck at 0: violations are not logged", "access control",
		func(p *fakedev.FaultPlan) {
			p.Stuck = append(p.Stuck, fakedev.StuckBits{Offset: regOffset("ERR_STATUS"), Mask: ^uint32(0)})
		}},
	{"stuck-mbox", "MBOX[5].RXLEN.VALID stuck at 0: the receiver never sees a message", "mailbox 5",
		func(p *fakedev.FaultPlan) {
			p.Stuck = append(p.Stuck, fakedev.StuckBits{Offset: regOffset("MBOX[5].RXLEN"), Mask: 1 << 31})
		}},
	{"stuck-doorbell", "DB_STATUS of core 3 (and 0, for -loopback) stuck at 0: rung doorbells are not seen", "doorbells",
		func(p *fakedev.FaultPlan) {
			p.Stuck = append(p.Stuck, fakedev.StuckBits{Offset: regOffset("CORE[3].DB_STATUS"), Mask: ^uint32(0)},
				fakedev.StuckBits{Offset: regOffset("CORE[0].DB_STATUS"), Mask: ^uint32(0)})
		}},
	{"lost-irq", "every interrupt notification is lost", "interrupt delivery",
		func(p *fakedev.FaultPlan) { p.LoseNotification = 1 }},
	{"dup-irq", "every interrupt notification is delivered twice", "interrupt delivery",
		func(p *fakedev.FaultPlan) { p.DuplicateNotification = 1 }},
	{"spurious-irq", "notifications with nothing pending, after register accesses", "interrupt delivery",
		func(p *fakedev.FaultPlan) { p.SpuriousNotification = 0.5 }},
	{"dma-error", "DMA channel 1 halts with BUF_FAULT on its first packet", "dma channel 1",
		func(p *fakedev.FaultPlan) {
			p.DMAErrors = append(p.DMAErrors, fakedev.DMAError{Channel: 1, Packet: 1, Code: int(regmap.DMA_STATUS_ERRCODE_BUF_FAULT)})
		}},
	{"garbage-desc", "a peer overwrites every TX descriptor with random bytes", "dma channel 0",
		func(p *fakedev.FaultPlan) { p.GarbageDescriptor = 1 }},
}

func faultHelp() string {
	var b strings.Builder
	b.WriteString("Faults for -inject (fake only; several separated by commas), and the check each fails:\n")
	for _, f := range faults {
		fmt.Fprintf(&b, "  %-17s %s (%s)\n", f.name, f.help, f.fails)
	}
	return b.String()
}

const selftestHelp = `The bring-up checklist of the reference IPC block, as a PASS/FAIL report:
identification and reset values, access control (a denied access dropped
and logged), every mailbox looped back, doorbells, interrupt delivery and
its latency, and every DMA channel looped back with the data compared.
On fake every check runs on a model of the block in this process, with its
cores playing the parts (or, with -loopback, core 0 alone), and the faults of
-inject. On a uio or vfio device of the reference block the tool is one
initiator, which must be the management core 0: every check loops back to
it, DMA through VFIO's IOMMU-mapped memory (UIO has none: skipped). On a
device of another map only identification and reset values run (run it
right after reset).
Exit status 1 when a check fails.

`

func cmdSelftest(ctx context.Context, args []string, env *Env) error {
	f := newFlags(env, "selftest", "selftest [flags] DEVICE", selftestHelp+faultHelp())
	df := f.devFlags()
	inject := f.String("inject", "", "inject `faults` into the fake device (comma-separated; see above)")
	seed := f.Int64("seed", 1, "seed of the injected faults' randomness")
	loopback := f.Bool("loopback", false, "on fake, run every check from core 0 alone, as on a board (always so on uio and vfio)")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	var plan fakedev.FaultPlan
	var injected []string
	if *inject != "" {
		plan.Seed = *seed
		for _, name := range strings.Split(*inject, ",") {
			i := slices.IndexFunc(faults, func(f fault) bool { return f.name == name })
			if i < 0 {
				return usageError(f.usage+"\n"+faultHelp(), "selftest: unknown fault %q", name)
			}
			faults[i].plan(&plan)
			injected = append(injected, name)
		}
	}
	if injected != nil && pos[0] != kindFake {
		return usageError(f.usage, "selftest: -inject works on fake only")
	}
	d, err := openDevice(pos[0], df)
	if err != nil {
		return err
	}
	defer d.Close()
	p := startProgress(env, "selftest "+d.Name.String())
	defer p.end() // on every path; the reports stop before the table
	var checks []check
	if d.Fake != nil {
		d.Fake.SetFaults(plan)
	}
	switch {
	case d.Map != "ipcu":
		checks = selftestGeneric(d, p)
	case d.Fake != nil && !*loopback:
		checks = selftestFake(ctx, d.Fake, p)
	default:
		line, err := d.IRQ()
		if err != nil {
			p.printf("ipcctl: %s: no interrupt line, its check is skipped: %v\n", d.Name, err)
			line = nil
		}
		mem, noDMA, err := d.DMA()
		if err != nil {
			return err
		}
		checks = selftestLoopback(ctx, d.Bus, d.Base, line, mem, noDMA, p)
	}
	p.end()
	result := resultPass
	for _, c := range checks {
		if c.Result == resultFail {
			result = resultFail
		}
	}
	if f.json {
		if injected == nil {
			injected = []string{}
		}
		if err := writeJSON(env.Stdout, jsonSelftest{header: newHeader("selftest"), Device: d.Name.String(), Map: d.Map,
			Faults: injected, Result: result, Checks: checks}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "selftest of %s (map %s)", d.Name, d.Map)
		if injected != nil {
			fmt.Fprintf(env.Stdout, ", faults injected: %s", strings.Join(injected, ", "))
		}
		fmt.Fprintf(env.Stdout, "\n\n")
		t := newTable(env.Stdout, "CHECK", "RESULT", "DETAIL")
		for _, c := range checks {
			t.row(c.Name, c.Result, c.Detail)
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\n%s\n", result)
	}
	if result == resultFail {
		return exitStatus(ExitFail)
	}
	return nil
}

// checkIdentification compares the identification registers (ID,
// VERSION, CAPS, ...) with their reset values.
func checkIdentification(bus regs.Bus, base uintptr, p *regs.Peripheral) check {
	c := check{Name: "identification", Result: resultPass}
	var got, bad []string
	for i := range p.Registers {
		r := &p.Registers[i]
		up := strings.ToUpper(r.Name)
		if !r.Readable() || !(up == "ID" || strings.HasPrefix(up, "VERSION") || strings.HasSuffix(up, "CAPS") || strings.HasSuffix(up, "_ID") && up != "CORE_ID") {
			continue
		}
		v, err := r.Read(bus, base)
		if err != nil {
			return check{Name: c.Name, Result: resultFail, Detail: err.Error()}
		}
		s := fmt.Sprintf("%s=%s", r.Name, hexBits(v, int(r.Bits)))
		got = append(got, s)
		if (v^r.Reset)&r.ResetMask != 0 {
			bad = append(bad, fmt.Sprintf("%s reads %s, expected %s", r.Name, hexBits(v, int(r.Bits)), hexBits(r.Reset, int(r.Bits))))
		}
	}
	switch {
	case len(got) == 0:
		c.Result, c.Detail = resultSkip, "the map has no identification register"
	case len(bad) > 0:
		c.Result, c.Detail = resultFail, strings.Join(bad, "; ")
	default:
		c.Detail = strings.Join(got, " ")
	}
	return c
}

// checkResetValues compares every register readable without side effect
// with its documented reset value. skip leaves registers out.
func checkResetValues(bus regs.Bus, base uintptr, p *regs.Peripheral, skip func(*regs.Register) bool) check {
	c := check{Name: "reset values", Result: resultPass}
	n := 0
	var bad []string
	for i := range p.Registers {
		r := &p.Registers[i]
		if !r.Readable() || r.ResetMask == 0 || skip != nil && skip(r) {
			continue
		}
		v, err := r.Read(bus, base)
		if err != nil {
			return check{Name: c.Name, Result: resultFail, Detail: err.Error()}
		}
		n++
		if (v^r.Reset)&r.ResetMask != 0 {
			bad = append(bad, fmt.Sprintf("%s reads %s, reset %s", r.Name, hexBits(v, int(r.Bits)), hexBits(r.Reset, int(r.Bits))))
		}
	}
	if nbad := len(bad); nbad > 0 {
		c.Result = resultFail
		if nbad > 3 {
			bad = append(bad[:3], fmt.Sprintf("and %d more", nbad-3))
		}
		c.Detail = fmt.Sprintf("%d of %d registers differ: %s", nbad, n, strings.Join(bad, "; "))
		return c
	}
	c.Detail = fmt.Sprintf("%d registers at their reset values", n)
	return c
}

// selftestGeneric is the checklist on a device of which the tool is one
// initiator.
func selftestGeneric(d *device, p *progress) []check {
	p.set("identification")
	checks := []check{checkIdentification(d.Bus, d.Base, d.Periph)}
	p.set("reset values")
	checks = append(checks, checkResetValues(d.Bus, d.Base, d.Periph, func(r *regs.Register) bool {
		return d.Map == "ipcu" && isMailboxData(r.Name)
	}))
	why := "needs the block's other cores: run selftest fake, or the firmware's loopback"
	if d.Map != "ipcu" {
		why = "the reference block's check; map " + d.Map + " is another device"
	}
	for _, name := range []string{"access control", "mailboxes", "doorbells", "interrupt delivery", "dma channels"} {
		checks = append(checks, check{Name: name, Result: resultSkip, Detail: why})
	}
	return checks
}

// isMailboxData reports whether a register of the reference map is on a
// mailbox's data path, which the management core may not read.
func isMailboxData(name string) bool {
	return strings.HasPrefix(name, "MBOX[") &&
		(strings.Contains(name, "TXDATA") || strings.Contains(name, "RXDATA") || strings.HasSuffix(name, "RXLEN"))
}

// bed is the block with the drivers selftest runs, and the cores that
// play each part. On fake (multi-core) core 0 manages, core 1 loops the
// mailboxes back and sends on the DMA channels, core 2 receives, core 3 owns
// the doorbells and interrupt line under test, rung by core 1, and core 2
// makes the refused accesses. In loopback, as on a board where the
// tool is one initiator, the management core plays every part.
type bed struct {
	bus      map[int]regs.Bus
	base     uintptr
	rm       map[int]*regmap.IPCU // each core's view
	adm      *mbipcu.Driver       // the management core's driver
	drv      *mbipcu.Driver       // core a's driver (adm in loopback)
	mgmt     int
	a, b     int // mailbox loopback and DMA source; DMA destination
	owner    int // doorbells and interrupt line under test
	ringer   int // rings owner's doorbells
	outsider int // makes refused accesses; -1 in loopback
	line     irq.Source
	mem      func(k int) dmaring.Memory // nil: no DMA memory
	noDMA    string                     // why, when mem is nil
	ndma     int
	closers  []func() error
}

func (b *bed) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

// selftestFake runs the checklist on the model with its cores.
func selftestFake(ctx context.Context, dev *fakedev.Device, p *progress) []check {
	cfg := dev.Config()
	b := &bed{bus: map[int]regs.Bus{}, rm: map[int]*regmap.IPCU{}, mgmt: 0, a: 1, b: 2, owner: 3, ringer: 1, outsider: 2, ndma: cfg.DMAChannels}
	defer b.close()
	for k := 0; k < cfg.Cores; k++ {
		b.bus[k] = dev.Core(k)
	}
	b.mem = func(k int) dmaring.Memory {
		return dmaring.MemoryFunc(func(n, a int) (dmaring.Region, error) { return dev.Core(k).Alloc(n, a) })
	}
	line, err := irq.FromEventfd(dev.Core(3).EventFD(), false)
	if err != nil {
		return []check{{Name: "open", Result: resultFail, Detail: err.Error()}}
	}
	b.closers = append(b.closers, line.Close)
	b.line = line
	return b.run(ctx, p, func() error {
		// Core 1 runs its mailboxes on its interrupt.
		l1, err := irq.FromEventfd(dev.Core(1).EventFD(), false)
		if err != nil {
			return err
		}
		b.closers = append(b.closers, l1.Close)
		b.drv, err = mbipcu.Open(mbipcu.Config{Bus: dev.Core(1), IRQ: l1})
		if err == nil {
			b.closers = append(b.closers, b.drv.Close)
		}
		return err
	})
}

// selftestLoopback runs the checklist from the one core the tool is, on
// bus at base, with its interrupt line and DMA memory (nil: none, for the
// reason noDMA).
func selftestLoopback(ctx context.Context, bus regs.Bus, base uintptr, line irq.Source, mem dmaring.Memory, noDMA string, p *progress) []check {
	rm, err := regmap.New(bus, base)
	if err != nil {
		return []check{{Name: "open", Result: resultFail, Detail: err.Error()}}
	}
	k := int(regmap.CORE_ID.ID.Get(rm.CORE_ID.Read()))
	b := &bed{bus: map[int]regs.Bus{k: bus}, base: base, rm: map[int]*regmap.IPCU{k: rm}, mgmt: k, a: k, b: k, owner: k, ringer: k, outsider: -1,
		line: line, noDMA: noDMA, ndma: int(regmap.CAPS.NDMA.Get(rm.CAPS.Read()))}
	if mem != nil {
		b.mem = func(int) dmaring.Memory { return mem }
	}
	if b.ndma > len(rm.DMA) {
		b.ndma = len(rm.DMA)
	}
	defer b.close()
	if k != 0 {
		desc := &regmap.Description.Peripherals[0]
		return []check{
			checkIdentification(bus, base, desc),
			checkResetValues(bus, base, desc, func(r *regs.Register) bool { return isMailboxData(r.Name) }),
			{Name: "checklist", Result: resultSkip, Detail: fmt.Sprintf("this CPU is core %d: the checklist configures the block, which only the management core 0 may do", k)},
		}
	}
	// The checklist configures every mailbox, doorbell and DMA channel:
	// start from the block's reset state (docs/ipcu.md 11.1), so that what
	// firmware or an earlier run set up does not fail the checks that
	// expect it (reset values, access control).
	rm.CTRL.Update(regmap.CTRL.SRST.Set())
	return b.run(ctx, p, func() error {
		b.drv = b.adm
		return nil
	})
}

// run runs the checks; openDrv opens b.drv once b.adm is open.
func (b *bed) run(ctx context.Context, p *progress, openDrv func() error) []check {
	for k := range b.bus {
		if b.rm[k] == nil {
			m, err := regmap.New(b.bus[k], b.base)
			if err != nil {
				return []check{{Name: "open", Result: resultFail, Detail: err.Error()}}
			}
			b.rm[k] = m
		}
	}
	mg := b.rm[b.mgmt]
	desc := &regmap.Description.Peripherals[0]
	p.set("identification")
	checks := []check{checkIdentification(b.bus[b.mgmt], b.base, desc)}
	p.set("reset values")
	checks = append(checks, checkResetValues(b.bus[b.mgmt], b.base, desc, func(r *regs.Register) bool { return isMailboxData(r.Name) }))

	// The management core's driver polls: the line under test is the
	// check's own.
	var err error
	if b.adm, err = mbipcu.Open(mbipcu.Config{Bus: b.bus[b.mgmt], Base: b.base}); err == nil {
		b.closers = append(b.closers, b.adm.Close)
		if err = b.adm.Enable(); err == nil {
			err = openDrv()
		}
	}
	if err != nil {
		return append(checks, check{Name: "drivers", Result: resultFail, Detail: "mailbox driver: " + err.Error()})
	}
	p.set("access control")
	checks = append(checks, b.checkAccess())
	nmbox := int(regmap.CAPS.NMBOX.Get(mg.CAPS.Read()))
	if nmbox == 0 || nmbox > len(mg.MBOX) {
		nmbox = len(mg.MBOX)
	}
	for m := 0; m < nmbox; m++ {
		p.set("mailbox %d", m)
		checks = append(checks, b.checkMailbox(ctx, m))
	}
	p.set("doorbells")
	checks = append(checks, b.checkDoorbells())
	p.set("interrupt delivery")
	checks = append(checks, b.checkInterrupts(ctx))
	for c := 0; c < b.ndma; c++ {
		p.set("dma channel %d", c)
		if b.mem == nil {
			checks = append(checks, check{Name: fmt.Sprintf("dma channel %d", c), Result: resultSkip, Detail: b.noDMA})
			continue
		}
		checks = append(checks, b.checkDMA(ctx, c))
	}
	return checks
}

// checkAccess makes refused accesses, a read of a disabled mailbox's data
// and a write of its staging area (and on fake a write of an
// access-control register by a core that is not the management core), and
// checks that each is dropped and logged with its initiator, offset and
// direction.
func (b *bed) checkAccess() check {
	c := check{Name: "access control", Result: resultPass}
	fail := func(format string, a ...any) check {
		c.Result, c.Detail = resultFail, fmt.Sprintf(format, a...)
		return c
	}
	b.adm.TakeViolation() // start from an empty log
	who := b.outsider
	if who < 0 {
		who = b.mgmt
	}
	expect := func(what string, write bool, reg string) (string, bool) {
		v, ok, err := b.adm.TakeViolation()
		switch {
		case err != nil:
			return "reading the violation log: " + err.Error(), false
		case !ok:
			return what + " was not logged", false
		case v.Initiator != who || uintptr(v.Offset) != regOffset(reg) || v.Write != write:
			return fmt.Sprintf("%s logged as %v", what, v), false
		}
		return v.String(), true
	}
	var logged []string
	what := fmt.Sprintf("core %d's read of MBOX[0].RXDATA[0] (mailbox disabled)", who)
	if v := b.rm[who].MBOX[0].RXDATA[0].Read(); v != 0 {
		return fail("%s returned %#x, not 0", what, v)
	}
	s, ok := expect(what, false, "MBOX[0].RXDATA[0]")
	if !ok {
		return fail("%s", s)
	}
	logged = append(logged, s)
	what = fmt.Sprintf("core %d's write of MBOX[0].TXDATA[0] (mailbox disabled)", who)
	b.rm[who].MBOX[0].TXDATA[0].Write(0x5a5a5a5a)
	if s, ok = expect(what, true, "MBOX[0].TXDATA[0]"); !ok {
		return fail("%s", s)
	}
	logged = append(logged, s)
	if b.outsider >= 0 {
		mg := b.rm[b.mgmt]
		before := mg.MBOX[1].CFG.Read()
		b.rm[who].MBOX[1].CFG.Write(0x1 | uint32(who)<<8 | uint32(who)<<4) // enable, to itself
		if after := mg.MBOX[1].CFG.Read(); after != before {
			return fail("core %d changed MBOX[1].CFG, the management core's: %#x -> %#x", who, before, after)
		}
		if s, ok = expect(fmt.Sprintf("core %d's write of MBOX[1].CFG", who), true, "MBOX[1].CFG"); !ok {
			return fail("%s", s)
		}
		logged = append(logged, s)
	}
	c.Detail = "refused and logged: " + strings.Join(logged, "; ")
	return c
}

// pattern fills n bytes that depend on seed.
func pattern(seed, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(seed*37 + i*11 + i>>8 + 1)
	}
	return p
}

// checkMailbox loops mailbox m back on core a: it fills the FIFO with
// messages of the largest size, checks that one more is refused, and
// receives them in order.
func (b *bed) checkMailbox(ctx context.Context, m int) check {
	c := check{Name: fmt.Sprintf("mailbox %d", m), Result: resultPass}
	fail := func(format string, a ...any) check {
		c.Result, c.Detail = resultFail, fmt.Sprintf(format, a...)
		return c
	}
	if err := b.adm.ConfigureMailbox(m, b.a, b.a); err != nil {
		return fail("configuring it (core %d to core %d): %v", b.a, b.a, err)
	}
	ch, err := b.drv.Channel(mbipcu.ChannelConfig{TX: m, RX: m})
	if err != nil {
		return fail("opening it on core %d: %v", b.a, err)
	}
	defer ch.Close()
	depth, size := b.drv.FIFODepth(), ch.MaxMessage()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for i := 0; i < depth; i++ {
		if err := ch.Send(ctx, pattern(m*100+i, size)); err != nil {
			return fail("message %d of %d not sent: %v", i+1, depth, err)
		}
	}
	if err := ch.TrySend([]byte{1}); !errors.Is(err, mailbox.ErrFull) {
		return fail("a message beyond the FIFO's depth %d: %v, want a full FIFO", depth, err)
	}
	buf := make([]byte, size)
	for i := 0; i < depth; i++ {
		n, err := ch.Recv(ctx, buf)
		if err != nil {
			return fail("message %d of %d not received: %v", i+1, depth, err)
		}
		if want := pattern(m*100+i, size); !bytes.Equal(buf[:n], want) {
			return fail("message %d of %d: got % x, sent % x", i+1, depth, buf[:n], want)
		}
	}
	c.Detail = fmt.Sprintf("%d messages of %d bytes looped back on core %d, in order; full FIFO refused", depth, size, b.a)
	return c
}

// checkDoorbells rings each of the owner's doorbells from the ringer,
// checks that the owner sees it and clears it, and that a core that is not
// a setter cannot ring them.
func (b *bed) checkDoorbells() check {
	c := check{Name: "doorbells", Result: resultPass}
	fail := func(format string, a ...any) check {
		c.Result, c.Detail = resultFail, fmt.Sprintf(format, a...)
		return c
	}
	if err := b.adm.AllowDoorbells(b.owner, 1<<b.ringer); err != nil {
		return fail("letting core %d ring core %d: %v", b.ringer, b.owner, err)
	}
	own := &b.rm[b.owner].CORE[b.owner]
	for n := 0; n < 32; n++ {
		b.rm[b.ringer].CORE[b.owner].DB_SET.Write(1 << n)
		if st := own.DB_STATUS.Read(); st != 1<<n {
			return fail("core %d rang doorbell %d of core %d: DB_STATUS reads %#08x, want %#08x", b.ringer, n, b.owner, st, uint32(1)<<n)
		}
		own.DB_STATUS.Write(1 << n)
		if st := own.DB_STATUS.Read(); st != 0 {
			return fail("core %d cleared doorbell %d: DB_STATUS reads %#08x", b.owner, n, st)
		}
	}
	// A core that is not a setter: the outsider, or in loopback the
	// ringer once taken out of the setters.
	who := b.outsider
	if who < 0 {
		who = b.ringer
		if err := b.adm.AllowDoorbells(b.owner, 0); err != nil {
			return fail("taking core %d out of core %d's setters: %v", who, b.owner, err)
		}
		defer b.adm.AllowDoorbells(b.owner, 1<<b.ringer)
	}
	b.rm[who].CORE[b.owner].DB_SET.Write(1)
	if st := own.DB_STATUS.Read(); st != 0 {
		own.DB_STATUS.Write(st)
		return fail("core %d, not a setter, rang core %d's doorbells: DB_STATUS reads %#08x", who, b.owner, st)
	}
	b.adm.TakeViolation()
	c.Detail = fmt.Sprintf("32 doorbells of core %d rung by core %d and cleared; core %d's ring refused when not a setter", b.owner, b.ringer, who)
	return c
}

// checkInterrupts rings a doorbell of the owner and times its interrupt
// notification on the owner's line, many times: each must arrive, once,
// with the doorbell pending, and none may come after the handler
// acknowledged it.
func (b *bed) checkInterrupts(ctx context.Context) check {
	const rounds = 200
	c := check{Name: "interrupt delivery", Result: resultPass}
	fail := func(format string, a ...any) check {
		c.Result, c.Detail = resultFail, fmt.Sprintf(format, a...)
		return c
	}
	if b.line == nil {
		c.Result, c.Detail = resultSkip, "no interrupt line"
		return c
	}
	line := b.line
	own := &b.rm[b.owner].CORE[b.owner]
	own.DB_EN.Write(1)
	own.IRQ_MASK.Update(regmap.CORE_IRQ_MASK.DB.Val(1))
	defer own.IRQ_MASK.Write(0)
	if _, err := line.TryWait(); err != nil {
		return fail("core %d's line: %v", b.owner, err)
	}
	var lat []time.Duration
	for i := 0; i < rounds; i++ {
		start := time.Now()
		b.rm[b.ringer].CORE[b.owner].DB_SET.Write(1)
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		n, err := line.Wait(wctx)
		cancel()
		took := time.Since(start)
		if err != nil {
			c.Latency = summarize(lat)
			return fail("doorbell %d of %d: no notification within 1s (%v); %d delivered", i+1, rounds, err, i)
		}
		lat = append(lat, took)
		st := own.IRQ_MSTATUS.Read()
		if !regmap.CORE_IRQ_MSTATUS.DB.IsSet(st) {
			return fail("doorbell %d: notified with IRQ_MSTATUS %#x, the doorbell not pending", i+1, st)
		}
		own.DB_STATUS.Write(1)
		own.IRQ_EOI.Write(1)
		if err := line.Ack(); err != nil {
			return fail("doorbell %d: re-arming the line: %v", i+1, err)
		}
		if n != 1 {
			return fail("doorbell %d: %d notifications for one interrupt", i+1, n)
		}
		if extra, err := line.TryWait(); err != nil || extra != 0 {
			return fail("doorbell %d: %d more notifications after the handler acknowledged it (%v)", i+1, extra, err)
		}
	}
	c.Latency = summarize(lat)
	c.Detail = fmt.Sprintf("%d of %d doorbell interrupts on core %d delivered once each; latency min %v, p50 %v, p99 %v, max %v",
		len(lat), rounds, b.owner, time.Duration(c.Latency.Min), time.Duration(c.Latency.P50), time.Duration(c.Latency.P99), time.Duration(c.Latency.Max))
	return c
}

// checkDMA loops DMA channel ch from core a to core b with packets of
// several sizes and compares the data.
func (b *bed) checkDMA(ctx context.Context, ch int) check {
	c := check{Name: fmt.Sprintf("dma channel %d", ch), Result: resultPass}
	fail := func(format string, a ...any) check {
		c.Result, c.Detail = resultFail, fmt.Sprintf(format, a...)
		return c
	}
	if err := b.adm.ConfigureDMA(ch, b.a, b.b, regmap.DMA_CFG_PRIO(ch%4)); err != nil {
		return fail("configuring it (core %d to core %d): %v", b.a, b.b, err)
	}
	const bufSize = 4096
	rx, err := dmaring.OpenRX(dmaring.RingConfig{Bus: b.bus[b.b], Base: b.base, Channel: ch, Memory: b.mem(b.b), RingSize: 8, BufSize: bufSize, PollInterval: 100 * time.Microsecond})
	if err != nil {
		return fail("opening the RX ring on core %d: %v", b.b, err)
	}
	defer rx.Close()
	tx, err := dmaring.OpenTX(dmaring.RingConfig{Bus: b.bus[b.a], Base: b.base, Channel: ch, Memory: b.mem(b.a), RingSize: 8, BufSize: bufSize, PollInterval: 100 * time.Microsecond})
	if err != nil {
		return fail("opening the TX ring on core %d: %v", b.a, err)
	}
	defer tx.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	sizes := []int{1, 64, 1500, bufSize}
	total := 0
	buf := make([]byte, bufSize)
	for i, n := range sizes {
		want := pattern(ch*10+i, n)
		if err := tx.SendID(want, uint16(i)); err != nil {
			return fail("packet %d (%d bytes) not sent: %v", i+1, n, err)
		}
		for {
			got, id, err := rx.Recv(buf)
			if err == nil {
				if id != uint16(i) || !bytes.Equal(buf[:got], want) {
					return fail("packet %d: received %d bytes with id %d, sent %d bytes with id %d; data differ", i+1, got, id, n, i)
				}
				break
			}
			if !errors.Is(err, dmaring.ErrEmpty) {
				return fail("packet %d: receive: %v", i+1, err)
			}
			// A halt, seen by the ring or in STATUS: reported from STATUS
			// either way, so that the report does not depend on which
			// saw it first.
			if st := b.rm[b.a].DMA[ch].STATUS.Read(); regmap.DMA_STATUS.ERR.IsSet(st) {
				return fail("packet %d (%d bytes): the channel halted with %s on the %s ring, slot %d", i+1, n,
					regmap.DMA_STATUS.ERRCODE.Get(st), regmap.DMA_STATUS.ERR_RING.Get(st), regmap.DMA_STATUS.ERR_IDX.Get(st))
			}
			if err := tx.Err(); err != nil {
				return fail("packet %d (%d bytes): the channel halted: %v", i+1, n, err)
			}
			if ctx.Err() != nil {
				return fail("packet %d (%d bytes) not received within 2s", i+1, n)
			}
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Millisecond)
			err = rx.Wait(wctx)
			wcancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return fail("packet %d: waiting: %v", i+1, err)
			}
		}
		total += n
	}
	for tx.InFlight() > 0 {
		if _, err := tx.Reap(); err != nil {
			return fail("reaping TX completions: %v", err)
		}
		if tx.InFlight() == 0 {
			break
		}
		if err := tx.Wait(ctx); err != nil {
			return fail("TX completions: %v", err)
		}
	}
	if err := errors.Join(tx.Err(), rx.Err()); err != nil {
		return fail("%v", err)
	}
	c.Detail = fmt.Sprintf("%d packets (%d bytes) core %d -> core %d, data compared", len(sizes), total, b.a, b.b)
	return c
}

// faultNames returns the names of faults, for tests.
func faultNames() []string {
	var s []string
	for _, f := range faults {
		s = append(s, f.name)
	}
	sort.Strings(s)
	return s
}
