package uio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/regs"
)

// ErrNotSupported is wrapped by the error of Open on systems other than
// Linux. It is irq.ErrNotSupported.
var ErrNotSupported = irq.ErrNotSupported

// ErrNotPCI is wrapped by the errors of the PCI methods of a Device that is
// not a PCI function.
var ErrNotPCI = errors.New("not a PCI device")

// PCI configuration space: the command register and its interrupt-disable
// bit (PCI Local Bus Specification 3.0, section 6.2.2).
const (
	pciCommand            = 0x04
	pciCommandINTxDisable = 1 << 10
)

// A Device is an open UIO device: its memory maps, the PCI resources of a
// uio_pci_generic device, and its interrupt. Its methods are safe for
// concurrent use.
type Device struct {
	info Info
	f    *os.File // the device node, for mmap
	intr irq.Source

	mu      sync.Mutex
	closed  bool
	windows []*regs.Window
}

// Open opens the UIO device name: "uioN", N alone, or the name its driver
// gave it (see Find). opts may be nil. The device node is opened twice:
// once for the mmaps and once, non-blocking, for the interrupt, so that
// closing the interrupt leaves the maps usable.
//
// It needs read and write access to the device node (root, or a udev rule
// granting it) and, for the PCI methods, to the PCI function's sysfs files.
func Open(name string, opts *Options) (*Device, error) {
	if _, err := strconv.Atoi(name); err == nil {
		name = "uio" + name
	}
	info, err := Find(name, opts)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(info.Node, os.O_RDWR, 0)
	if err != nil {
		return nil, &Error{Op: "open", Device: info.Node, Err: err}
	}
	intr, err := openInterrupt(info)
	if err != nil {
		f.Close()
		return nil, err
	}
	d := &Device{info: info, f: f, intr: intr}
	if info.PCI != "" {
		setReenable(intr, d.EnableINTx)
	}
	return d, nil
}

// FD returns the descriptor of the device node that Map maps, owned by the
// Device, or -1 after Close. The interrupt has a descriptor of its own:
// IRQ().FD().
func (d *Device) FD() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return -1
	}
	return int(d.f.Fd())
}

// Info returns what sysfs said of the device when it was opened.
func (d *Device) Info() Info { return d.info }

// IRQ returns the device's interrupt, which the Device owns: Device.Close
// closes it. Wait reads /dev/uioN, parked in the Go runtime's netpoller: it
// returns when the kernel's event counter for the device has moved since
// the previous read, with the number of interrupts in between (more than
// one are counted as missed in Stats). Ack writes 1 to the node, which
// re-enables the interrupt through the driver's irqcontrol. A driver
// without irqcontrol fails the write with ENOSYS; uio_pci_generic is one
// (its handler masks INTx with the interrupt-disable bit of the PCI
// command register), and for a PCI function Ack then clears that bit
// through the function's config space in sysfs. Spurious, Stats, FD and
// Close are those of irq.Source.
func (d *Device) IRQ() irq.Source { return d.intr }

// Map maps the memory region index of the device (Info().Maps), which
// sits at index pages into the device node. The window starts at the page
// holding the region's address and covers whole pages: the region itself
// starts Info().Maps[i].Offset bytes into it. Device.Close unmaps the
// window if its owner has not closed it.
func (d *Device) Map(index int) (*regs.Window, error) {
	var m *Map
	for i := range d.info.Maps {
		if d.info.Maps[i].Index == index {
			m = &d.info.Maps[i]
		}
	}
	if m == nil {
		return nil, &Error{Op: "map", Device: d.info.Node, Err: fmt.Errorf("map %d: %w", index, os.ErrNotExist)}
	}
	page := uint64(os.Getpagesize())
	length := (m.Offset + m.Size + page - 1) / page * page
	if m.Size == 0 || length < m.Size || length > uint64(maxInt) || uint64(index) > uint64(maxInt)/page {
		return nil, &Error{Op: "map", Device: d.info.Node, Err: fmt.Errorf("map %d: size %#x: %w", index, m.Size, ErrRange)}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, &Error{Op: "map", Device: d.info.Node, Err: os.ErrClosed}
	}
	w, err := regs.Map(int(d.f.Fd()), int64(index)*int64(page), int(length), nil)
	if err != nil {
		return nil, &Error{Op: "map", Device: d.info.Node, Err: fmt.Errorf("map %d: %w", index, err)}
	}
	d.windows = append(d.windows, w)
	return w, nil
}

// maxInt is the largest int.
const maxInt = int(^uint(0) >> 1)

// pciFile returns the path of a file of the device's PCI function.
func (d *Device) pciFile(op, name string) (string, error) {
	if d.info.PCI == "" {
		return "", &Error{Op: op, Device: d.info.Node, Err: ErrNotPCI}
	}
	return filepath.Join(d.info.dir, "device", name), nil
}

// PCIResource maps BAR bar of the device's PCI function through its sysfs
// file resourceN, whole: this is how the BARs of a uio_pci_generic device
// are reached, as its maps directory is empty. An I/O port BAR cannot be
// mapped. Device.Close unmaps the window if its owner has not closed it.
func (d *Device) PCIResource(bar int) (*regs.Window, error) {
	if bar < 0 || bar > 5 {
		return nil, &Error{Op: "map resource", Device: d.info.Node, Err: fmt.Errorf("BAR %d: %w", bar, ErrRange)}
	}
	path, err := d.pciFile("map resource", "resource"+strconv.Itoa(bar))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, &Error{Op: "map resource", Device: d.info.Node, Err: os.ErrClosed}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_SYNC, 0)
	if err != nil {
		return nil, &Error{Op: "map resource", Device: d.info.Node, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Op: "map resource", Device: d.info.Node, Err: err}
	}
	if st.Size() <= 0 || st.Size() > int64(maxInt) {
		return nil, &Error{Op: "map resource", Device: d.info.Node, Err: fmt.Errorf("%s: size %d: %w", path, st.Size(), ErrRange)}
	}
	w, err := regs.Map(int(f.Fd()), 0, int(st.Size()), nil)
	if err != nil {
		return nil, &Error{Op: "map resource", Device: d.info.Node, Err: fmt.Errorf("%s: %w", path, err)}
	}
	d.windows = append(d.windows, w)
	return w, nil
}

// EnableINTx clears the interrupt-disable bit (bit 10) of the PCI command
// register of the device's PCI function, through its sysfs config file,
// letting the function assert INTx. DisableINTx sets it. uio_pci_generic
// does the same: its handler sets the bit when the function interrupts,
// and writing 1 to the device node (the IRQ's Ack) clears it.
//
// The read-modify-write through sysfs is not atomic with the kernel's
// handler: while the interrupt is in use, re-enable it with Ack, and keep
// these two for masking it around setup, reset or teardown.
func (d *Device) EnableINTx() error { return d.setINTxDisable("enable INTx", false) }

// DisableINTx sets the interrupt-disable bit of the PCI command register:
// see EnableINTx.
func (d *Device) DisableINTx() error { return d.setINTxDisable("disable INTx", true) }

// INTxDisabled reports whether the interrupt-disable bit of the PCI command
// register is set.
func (d *Device) INTxDisabled() (bool, error) {
	cmd, err := d.command("read command")
	return cmd&pciCommandINTxDisable != 0, err
}

// command reads the PCI command register.
func (d *Device) command(op string) (uint16, error) {
	path, err := d.pciFile(op, "config")
	if err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, &Error{Op: op, Device: d.info.Node, Err: err}
	}
	defer f.Close()
	var b [2]byte
	if _, err := f.ReadAt(b[:], pciCommand); err != nil {
		return 0, &Error{Op: op, Device: d.info.Node, Err: err}
	}
	// Configuration space is little-endian (PCI 3.0, section 6.1).
	return binary.LittleEndian.Uint16(b[:]), nil
}

// setINTxDisable sets or clears the interrupt-disable bit.
func (d *Device) setINTxDisable(op string, disable bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return &Error{Op: op, Device: d.info.Node, Err: os.ErrClosed}
	}
	path, err := d.pciFile(op, "config")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return &Error{Op: op, Device: d.info.Node, Err: err}
	}
	defer f.Close()
	var b [2]byte
	if _, err := f.ReadAt(b[:], pciCommand); err != nil {
		return &Error{Op: op, Device: d.info.Node, Err: err}
	}
	cmd := binary.LittleEndian.Uint16(b[:])
	next := cmd &^ pciCommandINTxDisable
	if disable {
		next |= pciCommandINTxDisable
	}
	if next == cmd {
		return nil
	}
	binary.LittleEndian.PutUint16(b[:], next)
	if _, err := f.WriteAt(b[:], pciCommand); err != nil {
		return &Error{Op: op, Device: d.info.Node, Err: err}
	}
	return nil
}

// Close closes the interrupt (waking its waiters with os.ErrClosed),
// unmaps the windows of Map and PCIResource that are still mapped, and
// closes the device node. Do not use those windows after it. Close is
// idempotent and safe on a nil *Device.
func (d *Device) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	errs := []error{d.intr.Close()}
	for _, w := range d.windows {
		errs = append(errs, w.Close())
	}
	d.windows = nil
	errs = append(errs, d.f.Close())
	if err := errors.Join(errs...); err != nil {
		return &Error{Op: "close", Device: d.info.Node, Err: err}
	}
	return nil
}

// ctxDone returns ctx.Err(), or context.DeadlineExceeded when ctx's
// deadline has passed but its timer has not fired yet.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !dl.After(time.Now()) {
		return context.DeadlineExceeded
	}
	return nil
}
