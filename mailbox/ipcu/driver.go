package ipcu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/regs"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// Config says what a Driver runs on. The three resources are the caller's:
// the Driver uses them and never closes them.
type Config struct {
	// Bus is the block's registers as this core sees them (a UIO or VFIO
	// window, or a fakedev core).
	Bus regs.Bus
	// Base is the block's offset on Bus.
	Base uintptr
	// IRQ is this core's interrupt line. Nil runs the driver by polling.
	IRQ irq.Source
	// PollInterval bounds how long a blocked call waits before it checks
	// the device again by itself: the fallback that delivers every message
	// even when interrupts are lost. Default 2ms with an IRQ, 100µs
	// without. Go's timers rarely wake sooner than about a millisecond on
	// an idle machine, which is why BusyPoll exists.
	PollInterval time.Duration
	// BusyPoll is how long a blocked call spins on the device registers
	// (yielding the processor between checks) before it sleeps: low
	// latency at the price of a core. Default 0 with an IRQ, 1ms without.
	BusyPoll time.Duration
}

// Interrupt sources the driver handles (docs/ipcu.md 6.1): all six.
const handled = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 // MBOX_RX, MBOX_TX, DB, DMA_DONE, DMA_ERR, ACCESS

// A Driver is the reference block's driver on one core: it owns the core's
// CORE[k] registers and interrupt line, and opens Channels over the
// mailboxes the access control gives the core.
type Driver struct {
	blk  *regmap.IPCU
	self int
	caps uint32
	irq  irq.Source
	poll time.Duration
	spin time.Duration

	mu     sync.Mutex // guards the fields below and CORE[self]'s enables
	rxEn   uint32     // the mailboxes whose RX interrupt is armed
	txEn   uint32     // the mailboxes whose TX-done interrupt is armed
	dbEn   uint32     // the doorbells whose interrupt is armed: the union of the waiters' masks
	rxSig  [regmapMailboxes]chan struct{}
	txSig  [regmapMailboxes]chan struct{}
	dbWake chan struct{}    // closed, and replaced, when a doorbell interrupt fires: wakes every waiter
	dmaSig [4]chan struct{} // DMA completion or error of channel c
	dmaEn  uint32
	open   [2][regmapMailboxes]bool // [0] TX, [1] RX
	access uint64                   // ACCESS interrupts seen

	stop   context.CancelFunc
	done   chan struct{}
	closed bool
}

const regmapMailboxes = 16

// Open starts the driver on the core Bus belongs to. It checks the block's
// identification, learns the core's id (CORE_ID), and, with an IRQ, arms
// the core's interrupt line and starts the goroutine that handles it.
func Open(cfg Config) (*Driver, error) {
	blk, err := regmap.New(cfg.Bus, cfg.Base)
	if err != nil {
		return nil, &mailbox.Error{Op: "open", Channel: "ipcu", Err: err}
	}
	if id := blk.ID.Read(); id != 0x49504355 {
		return nil, &mailbox.Error{Op: "open", Channel: "ipcu", Err: fmt.Errorf("ID reads %#x, not 0x49504355: %w", id, mailbox.ErrBroken)}
	}
	if v := blk.VERSION.Read(); regmap.VERSION.MAJOR.Get(v) != 1 {
		return nil, &mailbox.Error{Op: "open", Channel: "ipcu", Err: fmt.Errorf("version %#x is not 1.x: %w", v, mailbox.ErrBroken)}
	}
	caps := blk.CAPS.Read()
	self := int(regmap.CORE_ID.ID.Get(blk.CORE_ID.Read()))
	if err := checkCaps(caps, self); err != nil {
		return nil, &mailbox.Error{Op: "open", Channel: "ipcu", Err: err}
	}
	d := &Driver{
		blk:    blk,
		self:   self,
		caps:   caps,
		irq:    cfg.IRQ,
		poll:   cfg.PollInterval,
		spin:   cfg.BusyPoll,
		dbWake: make(chan struct{}),
		done:   make(chan struct{}),
	}
	for m := range d.rxSig {
		d.rxSig[m] = make(chan struct{}, 1)
		d.txSig[m] = make(chan struct{}, 1)
	}
	for c := range d.dmaSig {
		d.dmaSig[c] = make(chan struct{}, 1)
	}
	if d.poll == 0 {
		d.poll = 2 * time.Millisecond
		if d.irq == nil {
			d.poll = 100 * time.Microsecond
		}
	}
	if d.spin == 0 && d.irq == nil {
		d.spin = time.Millisecond
	}
	core := &blk.CORE[d.self]
	core.RX_EN.Write(0)
	core.DB_EN.Write(0)
	core.TX_EN.Write(0)
	core.DMA_EN.Write(0)
	if d.irq == nil {
		close(d.done)
		d.stop = func() {}
		return d, nil
	}
	core.IRQ_MASK.Write(handled)
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	go d.serve(ctx)
	core.IRQ_EOI.Write(1)
	return d, nil
}

// checkCaps checks, once, the capabilities the driver indexes its register
// arrays with: every later bound comes from these values, so a block (or
// a bus) that reads outside the documented ranges is refused here rather
// than make an access panic.
func checkCaps(caps uint32, self int) error {
	c := regmap.CAPS
	ncores, ndma, words := int(c.NCORES.Get(caps)), int(c.NDMA.Get(caps)), int(c.MSG_WORDS.Get(caps))
	nmbox, depth := int(c.NMBOX.Get(caps)), int(c.FIFO_DEPTH.Get(caps))
	var blk regmap.IPCU // for the lengths of its register arrays
	switch {
	case ncores < 2 || ncores > len(blk.CORE),
		ndma < 1 || ndma > len(blk.DMA),
		words < 1 || words > len(blk.MBOX[0].TXDATA) || words > len(blk.MBOX[0].RXDATA),
		nmbox != len(blk.MBOX),
		depth < 1 || depth > 16:
		return fmt.Errorf("CAPS reads %#x (%d cores, %d DMA channels, %d mailboxes of %d messages of %d words), outside the documented ranges: %w",
			caps, ncores, ndma, nmbox, depth, words, mailbox.ErrBroken)
	case self >= ncores:
		return fmt.Errorf("CORE_ID reads core %d of %d: %w", self, ncores, mailbox.ErrBroken)
	}
	return nil
}

// Core returns the id of the core the driver runs on.
func (d *Driver) Core() int { return d.self }

// MaxMessage returns the largest message of the block's mailboxes, in
// bytes: 4 x CAPS.MSG_WORDS.
func (d *Driver) MaxMessage() int { return 4 * int(regmap.CAPS.MSG_WORDS.Get(d.caps)) }

// FIFODepth returns CAPS.FIFO_DEPTH.
func (d *Driver) FIFODepth() int { return int(regmap.CAPS.FIFO_DEPTH.Get(d.caps)) }

// Registers returns the block's register map, for what the driver does not
// wrap.
func (d *Driver) Registers() *regmap.IPCU { return d.blk }

// Close stops the interrupt goroutine and masks the core's line. Channels
// opened from d must be closed first. Close is idempotent, and safe on a
// nil *Driver.
func (d *Driver) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.stop()
	<-d.done
	d.blk.CORE[d.self].IRQ_MASK.Write(0)
	return nil
}

// serve handles the core's interrupts (docs/ipcu.md 6.3): read the masked
// status, acknowledge or disarm each source and wake its waiters, write
// IRQ_EOI so that anything still pending notifies again.
func (d *Driver) serve(ctx context.Context) {
	defer close(d.done)
	core := &d.blk.CORE[d.self]
	for {
		if _, err := d.irq.Wait(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return
			}
			// A closed or failing source: the waiters' poll fallback
			// carries on alone.
			return
		}
		d.handle(core)
	}
}

// handle is one pass of the interrupt handler.
func (d *Driver) handle(core *regmap.IPCU_CORE) {
	ms := core.IRQ_MSTATUS.Read()
	if ms == 0 {
		d.irq.Spurious()
	}
	if regmap.CORE_IRQ_MSTATUS.MBOX_RX.IsSet(ms) {
		// RX is a level: disarm the mailboxes that have a message until
		// their receiver has drained them, or the line would stay high.
		d.mu.Lock()
		pend := core.RX_PEND.Read() & d.rxEn
		d.rxEn &^= pend
		core.RX_EN.Write(d.rxEn)
		d.mu.Unlock()
		wake(d.rxSig[:], pend)
	}
	if regmap.CORE_IRQ_MSTATUS.MBOX_TX.IsSet(ms) {
		// Only senders waiting for space or TX done arm their mailbox;
		// disarm what fired, as for RX.
		d.mu.Lock()
		pend := core.TX_PEND.Read() & d.txEn
		core.TX_PEND.Write(pend)
		d.txEn &^= pend
		core.TX_EN.Write(d.txEn)
		d.mu.Unlock()
		wake(d.txSig[:], pend)
	}
	if regmap.CORE_IRQ_MSTATUS.DB.IsSet(ms) {
		d.mu.Lock()
		d.dbEn = 0
		core.DB_EN.Write(0)
		close(d.dbWake)
		d.dbWake = make(chan struct{})
		d.mu.Unlock()
	}
	if regmap.CORE_IRQ_MSTATUS.DMA_DONE.IsSet(ms) {
		// Acknowledge before the rings are read (docs/ipcu.md 11.10), so
		// a later completion starts a new coalescing window.
		pend := core.DMA_PEND.Read()
		core.DMA_PEND.Write(pend)
		wake(d.dmaSig[:], (pend|pend>>16)&0xf)
	}
	if regmap.CORE_IRQ_MSTATUS.DMA_ERR.IsSet(ms) {
		pend := core.DMA_ERR_PEND.Read()
		core.DMA_ERR_PEND.Write(pend)
		wake(d.dmaSig[:], pend&0xf)
	}
	if regmap.CORE_IRQ_MSTATUS.ACCESS.IsSet(ms) {
		core.IRQ_STATUS.Update(regmap.CORE_IRQ_STATUS.ACCESS.Clear())
		d.mu.Lock()
		d.access++
		d.mu.Unlock()
	}
	core.IRQ_EOI.Write(1)
	// The kernel masks a UIO or VFIO INTx line when it delivers the
	// interrupt: without this, every later interrupt would be lost and
	// the waiters left to their poll fallback (irq's handler pattern,
	// step 4). A no-op for eventfd and MSI sources.
	_ = d.irq.Ack()
}

// armRX enables the RX interrupt of mailbox m again.
func (d *Driver) armRX(m int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.irq == nil || d.rxEn&(1<<m) != 0 {
		return
	}
	d.rxEn |= 1 << m
	d.blk.CORE[d.self].RX_EN.Write(d.rxEn)
}

// DMANotify enables the completion and error interrupts of DMA channel c
// for this core and returns the channel they are signalled on, for a
// dmaring TX or RX ring's RingConfig.Notify. The driver owns the core's
// interrupt registers; the rings only wait.
func (d *Driver) DMANotify(c int) (<-chan struct{}, error) {
	if c < 0 || c >= int(regmap.CAPS.NDMA.Get(d.caps)) {
		return nil, &mailbox.Error{Op: "notify", Channel: "ipcu dma", Err: fmt.Errorf("channel %d does not exist", c)}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.irq != nil {
		d.dmaEn |= 1<<c | 1<<(16+c)
		d.blk.CORE[d.self].DMA_EN.Write(d.dmaEn)
	}
	return d.dmaSig[c], nil
}

// armTX enables the TX-done interrupt of mailbox m, for a sender about to
// wait; the caller checks the mailbox again afterwards.
func (d *Driver) armTX(m int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.irq == nil || d.txEn&(1<<m) != 0 {
		return
	}
	d.txEn |= 1 << m
	core := &d.blk.CORE[d.self]
	core.TX_PEND.Write(1 << m) // forget pops nobody waited for
	core.TX_EN.Write(d.txEn)
}

func wake(sigs []chan struct{}, bits uint32) {
	for m := range sigs {
		if bits&(1<<m) != 0 {
			signal(sigs[m])
		}
	}
}

// signal wakes one waiter of sig, or the next one to wait.
func signal(sig chan struct{}) {
	select {
	case sig <- struct{}{}:
	default:
	}
}

// claim marks mailbox m open in direction dir (0 TX, 1 RX).
func (d *Driver) claim(dir, m int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return mailbox.ErrClosed
	}
	if d.open[dir][m] {
		return fmt.Errorf("mailbox %d is already open for %s on core %d: %w", m, [2]string{"sending", "receiving"}[dir], d.self, os.ErrExist)
	}
	d.open[dir][m] = true
	return nil
}

func (d *Driver) release(dir, m int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.open[dir][m] = false
	if dir == 0 {
		d.txEn &^= 1 << m
		d.blk.CORE[d.self].TX_EN.Write(d.txEn)
	}
	if dir == 1 {
		d.rxEn &^= 1 << m
		d.blk.CORE[d.self].RX_EN.Write(d.rxEn)
	}
}

// partyError explains why the core is not the expected party of mailbox m
// (dir 0: sender, 1: receiver): the mailbox is disabled or given to
// another core.
func (d *Driver) partyError(dir, m int) error {
	cfg := d.blk.MBOX[m].CFG.Read()
	f := regmap.MBOX_CFG
	switch {
	case f.EN.Get(cfg) == 0:
		return fmt.Errorf("mailbox %d is disabled (MBOX[%d].CFG = %#x): %w", m, m, cfg, mailbox.ErrPermission)
	case dir == 0 && int(f.SENDER.Get(cfg)) != d.self:
		return fmt.Errorf("mailbox %d's sender is core %d, not core %d: %w", m, f.SENDER.Get(cfg), d.self, mailbox.ErrPermission)
	case dir == 1 && int(f.RECEIVER.Get(cfg)) != d.self:
		return fmt.Errorf("mailbox %d's receiver is core %d, not core %d: %w", m, f.RECEIVER.Get(cfg), d.self, mailbox.ErrPermission)
	}
	return nil
}
