package edu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/edu/eduregs"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/regs"
)

// edu's PCI identity and fixed parameters (QEMU docs/specs/edu.rst).
const (
	VendorID = 0x1234 // PCI vendor ID
	DeviceID = 0x11e8 // PCI device ID

	// BAR0Size is the size of BAR0 in bytes.
	BAR0Size = 1 << 20

	// Ident is the identification register of version 1.0.
	Ident = 0x010000ed
	// Major is the major version this driver supports.
	Major = 1

	// BufferAddr is the device address of edu's DMA buffer.
	BufferAddr = 0x40000
	// BufferSize is the size of edu's DMA buffer in bytes.
	BufferSize = 4096

	// DefaultDMABits is the width of edu's device addresses unless QEMU's
	// dma_mask property changes it.
	DefaultDMABits = 28
)

// Interrupt status bits (INTR_STATUS) that edu raises itself. Other bits
// are only raised through Raise.
const (
	IRQFactorial uint32 = 0x1   // the factorial is done (with STATUS.IRQ_ENABLE)
	IRQDMA       uint32 = 0x100 // a DMA with DMA_CMD.IRQ is done
)

// Errors wrapped by the *Error of an operation.
var (
	// ErrNotEdu means the identification register is not edu's.
	ErrNotEdu = errors.New("not an edu device")
	// ErrVersion means edu's major version is not one this driver knows.
	ErrVersion = errors.New("unsupported edu version")
	// ErrLiveness means the liveness register did not read back the
	// inverse of the value written.
	ErrLiveness = errors.New("liveness check failed")
	// ErrBusy means the factorial unit or the DMA engine is still running
	// an earlier request (one whose wait was abandoned, say).
	ErrBusy = errors.New("device busy")
	// ErrAddressLimit means a device address lies beyond edu's DMA mask:
	// edu would clamp it and transfer to the wrong memory.
	ErrAddressLimit = errors.New("device address beyond the DMA mask")
	// ErrBufferRange means a range does not fit in edu's 4096-byte buffer
	// or in the DMA region given (QEMU aborts on a buffer overrun).
	ErrBufferRange = errors.New("range outside the buffer")
	// ErrNoDMA means the Device has no DMA memory (a UIO transport).
	ErrNoDMA = errors.New("no DMA memory")
)

// An Error is the failure of an operation on edu.
type Error struct {
	Op  string // "open", "factorial", "to device"...
	Err error  // a sentinel of this package, or the cause
}

func (e *Error) Error() string { return "edu: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the operation missed its deadline.
func (e *Error) Timeout() bool { return errors.Is(e.Err, os.ErrDeadlineExceeded) }

// Options tune a Device. The zero value (or nil) is edu's defaults.
type Options struct {
	// DMABits is the width of the device's DMA addresses, as set by QEMU's
	// dma_mask property: addresses must lie below 1<<DMABits. 0 means
	// DefaultDMABits.
	DMABits int
	// PollInterval is the pause between two status reads when New was
	// given no interrupt line. 0 means 20µs.
	PollInterval time.Duration
}

// A Device is an edu device driven from userspace.
//
// Operations are serialized: edu has one factorial unit, one DMA engine and
// one interrupt line, so a Device runs one operation at a time, and a
// caller waiting for its turn gives up when its context is done. A Device
// is safe for concurrent use.
type Device struct {
	r    *eduregs.EDU
	line irq.Source
	mem  dmaring.Memory
	lim  uint64 // device addresses must be < lim
	poll time.Duration

	turn    chan struct{} // a token: held while an operation runs
	pending uint32        // interrupt bits acknowledged but not yet claimed; guarded by turn
}

// New returns the driver of the edu device whose BAR0 is bus.
//
// line is edu's interrupt line, nil to poll instead; mem gives DMA memory,
// nil for a transport without DMA (UIO). Over VFIO pass the BAR0 region,
// the INTx or MSI eventfd source and the container's DMA memory; over UIO
// the device's PCIResource(0) and IRQ(), and a nil mem.
//
// New checks the identification register (0xRRrr00ed, major version 1),
// acknowledges any interrupt left pending by an earlier user and re-arms
// the line. It makes no access that edu would refuse: every register of
// the map is of the width edu takes at its offset.
func New(bus regs.Bus, line irq.Source, mem dmaring.Memory, opts *Options) (*Device, error) {
	if opts == nil {
		opts = new(Options)
	}
	bits := opts.DMABits
	if bits == 0 {
		bits = DefaultDMABits
	}
	if bits < 12 || bits > 64 {
		return nil, &Error{"open", fmt.Errorf("DMABits %d out of range [12, 64]", bits)}
	}
	r, err := eduregs.New(bus, 0)
	if err != nil {
		return nil, &Error{"open", err}
	}
	id := r.ID.Read()
	if id&0xffff != Ident&0xffff {
		return nil, &Error{"open", fmt.Errorf("identification %#08x: %w", id, ErrNotEdu)}
	}
	if m := eduregs.ID.MAJOR.Get(id); m != Major {
		return nil, &Error{"open", fmt.Errorf("identification %#08x, version %d.%d: %w", id, m, eduregs.ID.MINOR.Get(id), ErrVersion)}
	}
	d := &Device{
		r:    r,
		line: line,
		mem:  mem,
		lim:  ^uint64(0),
		poll: opts.PollInterval,
		turn: make(chan struct{}, 1),
	}
	if bits < 64 {
		d.lim = 1 << bits
	}
	if d.poll <= 0 {
		d.poll = 20 * time.Microsecond
	}
	// Start clean: a status left by an earlier user would be taken for
	// ours. Acknowledge it in the device, then drop the kernel's count of
	// it and re-arm the line (a UIO INTx line may be masked).
	if st := r.INTR_STATUS.Read(); st != 0 {
		r.INTR_ACK.Write(st)
	}
	if line != nil {
		if _, err := line.TryWait(); err != nil {
			return nil, &Error{"open", fmt.Errorf("draining the interrupt line: %w", err)}
		}
		if err := line.Ack(); err != nil {
			return nil, &Error{"open", fmt.Errorf("arming the interrupt line: %w", err)}
		}
	}
	return d, nil
}

// Regs returns the register map, for diagnostics and for what the driver
// does not cover. Accesses through it bypass the driver's serialization.
func (d *Device) Regs() *eduregs.EDU { return d.r }

// Ident returns edu's version from its identification register.
func (d *Device) Ident() (major, minor int) {
	id := d.r.ID.Read()
	return int(eduregs.ID.MAJOR.Get(id)), int(eduregs.ID.MINOR.Get(id))
}

// DMALimit returns the first device address beyond edu's DMA mask.
func (d *Device) DMALimit() uint64 { return d.lim }

// acquire takes the device for one operation, or fails when ctx is done
// first.
func (d *Device) acquire(ctx context.Context, op string) error {
	select {
	case d.turn <- struct{}{}:
		return nil
	default:
	}
	select {
	case d.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &Error{op, ctxErr(ctx)}
	}
}

func (d *Device) release() { <-d.turn }

// ctxErr is the error for a done context: one wrapping both
// os.ErrDeadlineExceeded and context.DeadlineExceeded for a missed
// deadline, ctx.Err() otherwise.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", os.ErrDeadlineExceeded, err)
	}
	return err
}

// Liveness writes v to the liveness register and returns what it reads
// back, which must be ^v; otherwise the error wraps ErrLiveness.
func (d *Device) Liveness(v uint32) (uint32, error) {
	d.turn <- struct{}{}
	defer d.release()
	d.r.LIVENESS.Write(v)
	got := d.r.LIVENESS.Read()
	if got != ^v {
		return got, &Error{"liveness", fmt.Errorf("wrote %#08x, read %#08x, want %#08x: %w", v, got, ^v, ErrLiveness)}
	}
	return got, nil
}

// Factorial computes n! on the device, modulo 2^32 (edu computes in 32
// bits, so 13! and above wrap).
//
// With a line, it enables the completion interrupt (STATUS.IRQ_ENABLE),
// starts the computation and waits for interrupt IRQFactorial, which it
// acknowledges; without one, it disables the interrupt and polls
// STATUS.COMPUTING. Other interrupt bits seen meanwhile are acknowledged
// and kept for WaitInterrupt. If ctx is done first, the computation goes on
// in the device, and a later Factorial may fail with ErrBusy until it ends.
func (d *Device) Factorial(ctx context.Context, n uint32) (uint32, error) {
	const op = "factorial"
	if err := d.acquire(ctx, op); err != nil {
		return 0, err
	}
	defer d.release()
	// edu ignores a write to FACTORIAL while it computes.
	if eduregs.STATUS.COMPUTING.Get(d.r.STATUS.Read()) != 0 {
		return 0, &Error{op, fmt.Errorf("a factorial is in progress: %w", ErrBusy)}
	}
	enable := uint32(0)
	if d.line != nil {
		enable = 1
	}
	d.r.STATUS.Update(eduregs.STATUS.IRQ_ENABLE.Val(enable))
	d.forget(IRQFactorial)
	d.r.FACTORIAL.Write(n)
	idle := func() bool { return eduregs.STATUS.COMPUTING.Get(d.r.STATUS.Read()) == 0 }
	if _, err := d.await(ctx, IRQFactorial, idle); err != nil {
		return 0, &Error{op, err}
	}
	// edu clears COMPUTING before it raises the interrupt, so the result
	// is there once the interrupt is seen.
	return d.r.FACTORIAL.Read(), nil
}

// Raise raises the interrupt bits in the device (INTR_RAISE), which ORs
// them into its interrupt status and asserts the line.
func (d *Device) Raise(bits uint32) {
	d.turn <- struct{}{}
	defer d.release()
	d.r.INTR_RAISE.Write(bits)
}

// Status returns the interrupt status register and the bits the driver has
// acknowledged but no WaitInterrupt has returned yet.
func (d *Device) Status() (status, pending uint32) {
	d.turn <- struct{}{}
	defer d.release()
	return d.r.INTR_STATUS.Read(), d.pending
}

// WaitInterrupt waits until an interrupt is pending, acknowledges it in the
// device (INTR_ACK), re-arms the line and returns the bits that were
// pending, including those another operation acknowledged and did not
// claim. Without a line it polls the status register.
func (d *Device) WaitInterrupt(ctx context.Context) (uint32, error) {
	const op = "wait interrupt"
	if err := d.acquire(ctx, op); err != nil {
		return 0, err
	}
	defer d.release()
	st, err := d.await(ctx, ^uint32(0), nil)
	if err != nil {
		return 0, &Error{op, err}
	}
	return st, nil
}

// collect reads the interrupt status and acknowledges every bit of it in
// the device, so that edu deasserts its level-triggered line; the bits are
// kept in d.pending until an operation claims them.
func (d *Device) collect() uint32 {
	st := d.r.INTR_STATUS.Read()
	if st != 0 {
		d.r.INTR_ACK.Write(st)
		d.pending |= st
	}
	return st
}

// forget drops the interrupt bits want that are pending, in the device or
// collected: those of an earlier operation given up on (its context done
// before the device finished), or raised by a caller, which must not end
// the wait of the operation about to start. Called with the turn held.
func (d *Device) forget(want uint32) {
	d.collect()
	d.pending &^= want
}

// await waits until one of the interrupt bits want is pending, and claims
// them (and, with done, until done reports true). Without a line it polls instead, and also returns when done
// reports true (done may be nil).
//
// The handler pattern (package irq): after a wake-up, acknowledge in the
// device first, then re-arm the line, then read the status again, so that
// an interrupt raised between the read and the re-arm is seen either in the
// status or as a new edge; never re-arm while the device still asserts.
func (d *Device) await(ctx context.Context, want uint32, done func() bool) (uint32, error) {
	woke := false
	for {
		st := d.collect()
		if d.line != nil && (st != 0 || woke) {
			if st == 0 {
				d.line.Spurious()
			} else if _, err := d.line.TryWait(); err != nil {
				// The kernel's count of what was just handled.
				return 0, fmt.Errorf("draining the interrupt line: %w", err)
			}
			if err := d.line.Ack(); err != nil {
				return 0, fmt.Errorf("re-arming the interrupt line: %w", err)
			}
			woke = false
			if st != 0 {
				continue // re-check the status after re-arming
			}
		}
		// The bit alone is not enough: a caller's Raise of the same bit
		// would end the wait before the device is done.
		if got := d.pending & want; got != 0 && (done == nil || done()) {
			d.pending &^= got
			return got, nil
		}
		if d.line == nil {
			if done != nil && done() {
				return 0, nil
			}
			if err := d.sleep(ctx); err != nil {
				return 0, err
			}
			continue
		}
		if _, err := d.line.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return 0, ctxErr(ctx)
			}
			return 0, fmt.Errorf("waiting for the interrupt: %w", err)
		}
		woke = true
	}
}

// sleep pauses for the poll interval or until ctx is done.
func (d *Device) sleep(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return ctxErr(ctx)
	}
	t := time.NewTimer(d.poll)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx)
	}
}
