package fakedev

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/ipcu"
)

// Device is a modelled IPC block. Its state changes only under one lock, so
// every register access, timer expiry and reset is atomic and ordered
// (docs/ipcu.md 3.3 rule 4). Use Core to get a core's view.
type Device struct {
	cfg   Config
	table map[uintptr]*slot // by 4-aligned offset

	mu      sync.Mutex
	closed  bool
	ctrlEN  bool
	errSt   uint32 // ERR_STATUS: VALID, OVERRUN
	errInf  uint32
	errCnt  uint32
	cores   [MaxCores]coreState
	mbox    [NumMailboxes]mboxState
	dma     [4]dmaState
	views   [MaxCores]*Core
	tracing bool
	trace   []TraceEntry
	faults  faultState
	eng     engine // engine.go
	iommu   iommu  // memory.go
}

// New returns a block in its hardware-reset state, its DMA engine running
// as cfg.Engine says. Close releases its interrupt eventfds, its DMA memory
// and the engine's goroutine.
func New(cfg Config) (*Device, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Device{cfg: cfg}
	if d.table, err = buildTable(&cfg); err != nil {
		return nil, err
	}
	for i := range d.cores {
		d.cores[i].efd = -1
	}
	for k := 0; k < cfg.Cores; k++ {
		fd, err := newEventfd()
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("fakedev: interrupt line of core %d: %w", k, err)
		}
		d.cores[k].efd = fd
	}
	for i := range d.views {
		d.views[i] = &Core{d: d, id: i}
	}
	d.mu.Lock()
	d.hardReset()
	d.mu.Unlock()
	d.startEngine()
	return d, nil
}

// Config returns the configuration of d, with defaults filled in.
func (d *Device) Config() Config { return d.cfg }

// Core returns the view of the block from initiator id, 0 to 7. Ids of
// CAPS.NCORES and above exist, for tests of what the block does with them:
// every access of theirs to a register is a BAD_CORE violation.
func (d *Device) Core(id int) *Core {
	if id < 0 || id >= MaxCores {
		panic(fmt.Sprintf("fakedev: core id %d outside 0 to %d", id, MaxCores-1))
	}
	return d.views[id]
}

// Close stops the DMA engine, closes the interrupt eventfds, stops the
// coalescing timers and frees the DMA memory (every Buffer not yet freed).
// The device must not be used afterwards. Close is idempotent.
func (d *Device) Close() error {
	if d == nil {
		return nil
	}
	d.stopEngine()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for k := range d.cores {
		c := &d.cores[k]
		c.stopTimer()
		if c.efd >= 0 {
			if err := unix.Close(c.efd); err != nil {
				errs = append(errs, os.NewSyscallError("close", err))
			}
			c.efd = -1
		}
	}
	errs = append(errs, d.iommu.release())
	return errors.Join(errs...)
}

// HardReset performs the block's hardware reset (docs/ipcu.md 10.1):
// every register, lock and internal state returns to reset, and every IRQ
// line goes low without a notification.
func (d *Device) HardReset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hardReset()
	d.event(-1, "hard reset")
}

func (d *Device) hardReset() {
	for m := range d.mbox {
		d.mbox[m] = mboxState{}
	}
	for c := range d.dma {
		d.dma[c] = dmaState{}
	}
	for k := range d.cores {
		d.cores[k].dbACL = 0
	}
	d.softReset()
}

// softReset is docs/ipcu.md 10.2: everything but locked access-control
// registers returns to reset; no notification.
func (d *Device) softReset() {
	d.resetEngine()
	d.ctrlEN = false
	d.errSt, d.errInf, d.errCnt = 0, 0, 0
	for k := range d.cores {
		c := &d.cores[k]
		c.stopTimer()
		acl := c.dbACL
		// The timer generation survives too: a timer whose Stop came
		// too late still runs its callback, which must find its
		// generation stale, not equal to a new timer's.
		efd, notes, gen := c.efd, c.notes, c.timerGen
		*c = coreState{efd: efd, notes: notes, timerGen: gen}
		if acl&lockBit != 0 {
			c.dbACL = acl
		}
	}
	for m := range d.mbox {
		cfg := d.mbox[m].cfg
		d.mbox[m] = mboxState{}
		if cfg&lockBit != 0 {
			d.mbox[m].cfg = cfg
		}
	}
	for c := range d.dma {
		cfg := d.dma[c].cfg
		d.dma[c] = dmaState{}
		if cfg&lockBit != 0 {
			d.dma[c].cfg = cfg
		}
	}
	// Lines are low (EN = 0); record that without notifying.
	for k := range d.cores {
		d.cores[k].line = false
	}
}

// slot is one 32-bit word of an implemented register.
type slot struct {
	def  *regDef
	name string  // the register's name, "MBOX[3].STATUS"
	off  uintptr // offset of the register (of its low half)
	i    int     // instance: k, m or c; 0 for global registers
	n    int     // word of TXDATA/RXDATA
	high bool    // the high half of a 64-bit register
}

var indexRE = regexp.MustCompile(`\[(\d+)\]`)

// buildTable decodes the block's registers from the generated description,
// the same one the driver uses, keeping the instances the configuration
// implements. A register without modelled behaviour is an error, so the
// model and the map cannot drift apart.
func buildTable(cfg *Config) (map[uintptr]*slot, error) {
	p := ipcu.Description.Peripheral("IPCU")
	if p == nil {
		return nil, errors.New("fakedev: no IPCU peripheral in the register description")
	}
	table := make(map[uintptr]*slot, len(p.Registers)+16)
	for i := range p.Registers {
		r := &p.Registers[i]
		shape := indexRE.ReplaceAllString(r.Name, "[]")
		def := regDefs[shape]
		if def == nil {
			return nil, fmt.Errorf("fakedev: register %s (%s) has no modelled behaviour", r.Name, shape)
		}
		if def.bits != int(r.Bits) {
			return nil, fmt.Errorf("fakedev: register %s is %d bits in the description, %d in the model", r.Name, r.Bits, def.bits)
		}
		var idx []int
		for _, m := range indexRE.FindAllStringSubmatch(r.Name, -1) {
			v, _ := strconv.Atoi(m[1])
			idx = append(idx, v)
		}
		s := &slot{def: def, name: r.Name, off: uintptr(r.Offset)}
		if len(idx) > 0 {
			s.i = idx[0]
		}
		if len(idx) > 1 {
			s.n = idx[1]
		}
		if !implemented(cfg, shape, s) {
			continue
		}
		table[s.off] = s
		if def.bits == 64 {
			h := *s
			h.high = true
			table[s.off+4] = &h
		}
	}
	return table, nil
}

// implemented reports whether an instance exists in the configuration
// (docs/ipcu.md 3.3 rule 2).
func implemented(cfg *Config, shape string, s *slot) bool {
	switch {
	case len(shape) > 5 && shape[:5] == "CORE[":
		return s.i < cfg.Cores
	case len(shape) > 4 && shape[:4] == "DMA[":
		return s.i < cfg.DMAChannels
	case shape == "MBOX[].TXDATA[]" || shape == "MBOX[].RXDATA[]":
		return s.n < cfg.MsgWords
	}
	return true
}

// Registers returns the shapes of every register the model implements
// ("CORE[].IRQ_STATUS"), for tests that check the model covers the map.
func Registers() []string {
	out := make([]string, 0, len(regDefs))
	for name := range regDefs {
		out = append(out, name)
	}
	return out
}

var _ regs.Bus = (*Core)(nil)
