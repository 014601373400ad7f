package vfio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/sys"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/pci"
	"github.com/ipcu/ipcu/regs"
)

// Open opens the PCI function at pciAddr (such as "0000:00:04.0"), which
// must be bound to vfio-pci, in a container of its own with the type1v2
// IOMMU. opts may be nil.
//
// Open checks, in order, with an *Error that says what to do: that the
// function exists, is bound to vfio-pci and has an IOMMU group; that every
// device of the group is bound to vfio-pci or to no driver (naming those
// that are not); that the group's node exists (a no-IOMMU group is refused
// unless opts.AllowNoIOMMU); that /dev/vfio/vfio opens, speaks
// VFIO_API_VERSION and offers the type1v2 IOMMU; and that the kernel finds
// the group viable.
func Open(pciAddr string, opts *Options) (*Device, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	fail := func(err error, hint string) (*Device, error) {
		var e *Error
		if errors.As(err, &e) && e.Device == "" {
			e.Device = pciAddr
			return nil, e
		}
		return nil, &Error{Op: "open", Device: pciAddr, Err: err, Hint: hint}
	}
	bus := &pci.Bus{Root: o.sysRoot()}
	info, err := bus.Lookup(pciAddr)
	if err != nil {
		return fail(err, "no such PCI function; lspci -D lists them")
	}
	if info.Driver != "vfio-pci" {
		drv := info.Driver
		if drv == "" {
			drv = "no driver"
		}
		return fail(fmt.Errorf("%w (bound to %s)", ErrNotBound, drv),
			"bind it to vfio-pci: ipcctl bind "+pciAddr+", or driverctl set-override "+pciAddr+" vfio-pci after modprobe vfio-pci")
	}
	group, err := IOMMUGroup(o.sysRoot(), pciAddr)
	if err != nil {
		return fail(err, "")
	}
	members, err := GroupMembers(o.sysRoot(), group)
	if err != nil {
		return fail(err, "")
	}
	if err := CheckViable(group, members); err != nil {
		return fail(err, "")
	}

	node := filepath.Join(o.devDir(), strconv.Itoa(group))
	noIOMMU := false
	if _, err := os.Stat(node); errors.Is(err, os.ErrNotExist) {
		alt := filepath.Join(o.devDir(), "noiommu-"+strconv.Itoa(group))
		if _, aerr := os.Stat(alt); aerr == nil {
			if !o.AllowNoIOMMU {
				return fail(fmt.Errorf("%w: group %d is in no-IOMMU mode (%s), where the device can reach all of memory", ErrNoIOMMU, group, alt),
					"enable the IOMMU, or set Options.AllowNoIOMMU to accept an unprotected device")
			}
			node, noIOMMU = alt, true
		} else {
			return fail(err, "vfio-pci made no group node: modprobe vfio-pci, and check "+o.devDir())
		}
	}

	d := &Device{addr: pciAddr, opts: o, container: -1, group: -1, fd: -1, irqIndex: -1,
		noIOMMU: noIOMMU, page: uint64(os.Getpagesize()), dma: map[*DMARegion]struct{}{}}
	if err := d.open(node, group); err != nil {
		d.release()
		return fail(err, "")
	}
	return d, nil
}

// openFile opens path read-write and close-on-exec, with a hint for the
// common failures.
func openFile(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	e := &Error{Op: "open " + path, Err: &os.PathError{Op: "open", Path: path, Err: err}}
	switch {
	case errors.Is(err, os.ErrNotExist):
		e.Hint = "load the module: modprobe vfio-pci"
	case errors.Is(err, os.ErrPermission):
		e.Hint = "run as root, or give the user the node (chown, or a udev rule for the vfio subsystem)"
	case err == unix.EBUSY:
		e.Hint = "another process holds the group"
	}
	return -1, e
}

// open does the container, group and device steps of Open.
func (d *Device) open(node string, group int) error {
	var err error
	if d.container, err = openFile(filepath.Join(d.opts.devDir(), "vfio")); err != nil {
		return err
	}
	v, err := sys.GetAPIVersion(d.container)
	if err != nil {
		return err
	}
	if v != sys.VFIO_API_VERSION {
		return fmt.Errorf("VFIO API version %d, want %d: %w", v, sys.VFIO_API_VERSION, ErrNotSupported)
	}
	iommu := sys.VFIO_TYPE1v2_IOMMU
	if d.noIOMMU {
		iommu = sys.VFIO_NOIOMMU_IOMMU
	}
	if ok, err := sys.CheckExtension(d.container, iommu); err != nil {
		return err
	} else if !ok {
		return &Error{Op: "open", Err: fmt.Errorf("IOMMU type %d: %w", iommu, ErrNotSupported),
			Hint: "the kernel lacks the vfio_iommu_type1 module (modprobe vfio_iommu_type1)"}
	}
	if d.group, err = openFile(node); err != nil {
		return err
	}
	st, err := sys.GroupGetStatus(d.group)
	if err != nil {
		return err
	}
	if st.Flags&sys.VFIO_GROUP_FLAGS_VIABLE == 0 {
		return &Error{Op: "open group " + strconv.Itoa(group), Err: ErrNotViable,
			Hint: "a device of the group is bound to a host driver; bind every device of /sys/kernel/iommu_groups/" + strconv.Itoa(group) + "/devices to vfio-pci"}
	}
	if err := sys.GroupSetContainer(d.group, d.container); err != nil {
		return err
	}
	if err := sys.SetIOMMU(d.container, iommu); err != nil {
		return err
	}
	if !d.noIOMMU {
		ranges, err := iovaRanges(d.container)
		if err != nil {
			return err
		}
		d.iova = newIOVASpace(ranges, d.page)
	}
	if d.fd, err = sys.GroupGetDeviceFD(d.group, d.addr); err != nil {
		return err
	}
	info, err := sys.DeviceGetInfo(d.fd)
	if err != nil {
		return err
	}
	d.flags, d.regions, d.irqs = info.Flags, int(info.NumRegions), int(info.NumIRQs)
	return nil
}

// iovaRanges returns the IOVA ranges of the container's IOMMU, or nil when
// the kernel does not report them (all of the address space).
func iovaRanges(container int) ([]IOVARange, error) {
	info, caps, err := sys.IOMMUGetInfo(container)
	if err != nil {
		return nil, err
	}
	chain, err := sys.ParseCaps(caps, info.CapOffset)
	if err != nil {
		return nil, err
	}
	c, ok := sys.FindCap(chain, sys.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
	if !ok {
		return nil, nil
	}
	rs, err := sys.IOVARanges(c)
	if err != nil {
		return nil, err
	}
	out := make([]IOVARange, len(rs))
	for i, r := range rs {
		out[i] = IOVARange{Start: r.Start, End: r.End}
	}
	return out, nil
}

// lock takes the write lock of an open device, or returns os.ErrClosed.
func (d *Device) lock(op string) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return &Error{Op: op, Device: d.addr, Err: os.ErrClosed}
	}
	return nil
}

// rlock takes the read lock of an open device, or returns os.ErrClosed.
func (d *Device) rlock(op string) error {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return &Error{Op: op, Device: d.addr, Err: os.ErrClosed}
	}
	return nil
}

func (d *Device) wrap(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		if e.Device == "" {
			e.Device = d.addr
		}
		return e
	}
	return &Error{Op: op, Device: d.addr, Err: err}
}

// Region returns the information of region index, such as RegionBAR0.
func (d *Device) Region(index int) (RegionInfo, error) {
	if err := d.rlock("region info"); err != nil {
		return RegionInfo{}, err
	}
	defer d.mu.RUnlock()
	return d.region(index)
}

func (d *Device) region(index int) (RegionInfo, error) {
	op := "region info " + strconv.Itoa(index)
	if index < 0 || index >= d.regions {
		return RegionInfo{}, &Error{Op: op, Device: d.addr, Err: fmt.Errorf("the device has %d regions: %w", d.regions, os.ErrNotExist)}
	}
	ri, caps, err := sys.DeviceGetRegionInfo(d.fd, uint32(index))
	if err != nil {
		return RegionInfo{}, d.wrap(op, err)
	}
	r := RegionInfo{Index: index, Size: ri.Size, Offset: ri.Offset,
		Readable: ri.Flags&sys.VFIO_REGION_INFO_FLAG_READ != 0,
		Writable: ri.Flags&sys.VFIO_REGION_INFO_FLAG_WRITE != 0,
		Mappable: ri.Flags&sys.VFIO_REGION_INFO_FLAG_MMAP != 0,
	}
	if caps != nil {
		chain, err := sys.ParseCaps(caps, ri.CapOffset)
		if err != nil {
			return RegionInfo{}, d.wrap(op, err)
		}
		if c, ok := sys.FindCap(chain, sys.VFIO_REGION_INFO_CAP_SPARSE_MMAP); ok {
			areas, err := sys.SparseMmapAreas(c)
			if err != nil {
				return RegionInfo{}, d.wrap(op, err)
			}
			r.Sparse = make([]Area, 0, len(areas))
			for _, a := range areas {
				r.Sparse = append(r.Sparse, Area{Offset: a.Offset, Size: a.Size})
			}
		}
	}
	return r, nil
}

// Map maps the whole of region index (a BAR) and returns it as a
// *regs.Window. It fails with ErrNotMappable when VFIO does not allow mmap
// on the region or only on parts of it (RegionInfo.Sparse: map those with
// MapRange; reach the rest with RegionBus). The Device owns the window:
// Close unmaps it, if its user has not closed it before.
func (d *Device) Map(index int) (*regs.Window, error) {
	r, err := d.Region(index)
	if err != nil {
		return nil, err
	}
	return d.MapRange(index, 0, r.Size)
}

// MapRange maps size bytes of region index from off, a multiple of the
// page size; the range must lie inside the region and, for a sparse
// region, inside one of its areas. Offsets in the window are relative to
// off.
func (d *Device) MapRange(index int, off, size uint64) (*regs.Window, error) {
	op := "map region " + strconv.Itoa(index)
	if err := d.lock(op); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	r, err := d.region(index)
	if err != nil {
		return nil, err
	}
	if size == 0 || !r.mappable(off, size) {
		why := fmt.Errorf("%#x bytes at %#x of a %#x-byte region (mappable %v, areas %+v): %w", size, off, r.Size, r.Mappable, r.Sparse, ErrNotMappable)
		return nil, &Error{Op: op, Device: d.addr, Err: why, Hint: "use RegionBus for what cannot be mapped"}
	}
	w, err := regs.Map(d.fd, int64(r.Offset+off), int(size), nil)
	if err != nil {
		return nil, &Error{Op: op, Device: d.addr, Err: err}
	}
	d.windows = append(d.windows, w)
	return w, nil
}

// RegionBus returns a regs.Bus over region index that reaches it with
// pread and pwrite, for regions that cannot be mapped: the configuration
// space (RegionConfig), I/O-port BARs. It is valid until the Device is
// closed.
func (d *Device) RegionBus(index int) (*RegionBus, error) {
	r, err := d.Region(index)
	if err != nil {
		return nil, err
	}
	if !r.Readable && !r.Writable {
		return nil, &Error{Op: "region bus " + strconv.Itoa(index), Device: d.addr, Err: fmt.Errorf("neither readable nor writable: %w", ErrNotSupported)}
	}
	return &RegionBus{dev: d, base: int64(r.Offset), size: uintptr(r.Size)}, nil
}

// configIO reads or writes len(buf) bytes of the configuration space at off.
func (d *Device) configIO(op string, write bool, off int, buf []byte) error {
	if err := d.rlock(op); err != nil {
		return err
	}
	defer d.mu.RUnlock()
	r, err := d.region(RegionConfig)
	if err != nil {
		return err
	}
	var n int
	if write {
		n, err = unix.Pwrite(d.fd, buf, int64(r.Offset)+int64(off))
	} else {
		n, err = unix.Pread(d.fd, buf, int64(r.Offset)+int64(off))
	}
	if err != nil {
		return &Error{Op: op, Device: d.addr, Err: os.NewSyscallError("pread/pwrite", err)}
	}
	if n != len(buf) {
		return &Error{Op: op, Device: d.addr, Err: fmt.Errorf("%d of %d bytes", n, len(buf))}
	}
	return nil
}

// ConfigRead16 reads the 16-bit configuration register at off.
func (d *Device) ConfigRead16(off int) (uint16, error) {
	var b [2]byte
	if err := d.configIO(fmt.Sprintf("config read16 %#x", off), false, off, b[:]); err != nil {
		return 0, err
	}
	return uint16(b[0]) | uint16(b[1])<<8, nil
}

// ConfigWrite16 writes the 16-bit configuration register at off.
func (d *Device) ConfigWrite16(off int, v uint16) error {
	return d.configIO(fmt.Sprintf("config write16 %#x", off), true, off, []byte{byte(v), byte(v >> 8)})
}

// pciCommand and pciCommandMaster are the command register and its bus
// master bit (PCI Local Bus Specification 3.0, section 6.2.2).
const (
	pciCommand       = 0x04
	pciCommandMaster = 1 << 2
)

// EnableBusMaster sets the bus master bit of the command register, without
// which the device can neither DMA nor send an MSI (a memory write).
func (d *Device) EnableBusMaster() error {
	cmd, err := d.ConfigRead16(pciCommand)
	if err != nil {
		return err
	}
	if cmd&pciCommandMaster != 0 {
		return nil
	}
	return d.ConfigWrite16(pciCommand, cmd|pciCommandMaster)
}

// quiesce clears the bus master bit; the caller holds the lock.
func (d *Device) quiesce() error {
	if len(d.dma) == 0 {
		return nil
	}
	r, err := d.region(RegionConfig)
	if err != nil {
		return err
	}
	var b [2]byte
	if _, err := unix.Pread(d.fd, b[:], int64(r.Offset)+pciCommand); err != nil {
		return &Error{Op: "quiesce", Device: d.addr, Err: os.NewSyscallError("pread", err)}
	}
	if b[0]&pciCommandMaster == 0 {
		return nil
	}
	b[0] &^= pciCommandMaster
	if _, err := unix.Pwrite(d.fd, b[:], int64(r.Offset)+pciCommand); err != nil {
		return &Error{Op: "quiesce", Device: d.addr, Err: os.NewSyscallError("pwrite", err)}
	}
	return nil
}

// Reset resets the device (VFIO_DEVICE_RESET): a function-level reset or
// what vfio-pci has instead. It fails with ErrNotSupported when the device
// cannot be reset.
func (d *Device) Reset() error {
	if err := d.rlock("reset"); err != nil {
		return err
	}
	defer d.mu.RUnlock()
	if d.flags&sys.VFIO_DEVICE_FLAGS_RESET == 0 {
		return &Error{Op: "reset", Device: d.addr, Err: ErrNotSupported}
	}
	if err := sys.DeviceReset(d.fd); err != nil {
		return d.wrap("reset", err)
	}
	return nil
}

// Close disables the interrupts and closes their sources (waking their
// waiters with os.ErrClosed), frees every DMA region (unmapping it from the
// IOMMU, then from the process), unmaps the windows of Map, detaches the
// group and closes the device, group and container descriptors. It is
// idempotent and safe on a nil Device; it returns the first error.
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
	return d.release()
}

// release frees everything; the caller holds the lock, or Open is
// failing.
func (d *Device) release() error {
	var errs []error
	if d.fd >= 0 {
		errs = append(errs, d.disableIRQs())
		// Stop the device mastering the bus before unmapping its DMA
		// memory: nothing can be in flight into memory about to go.
		errs = append(errs, d.quiesce())
	}
	for r := range d.dma {
		errs = append(errs, d.free(r))
	}
	for _, w := range d.windows {
		errs = append(errs, w.Close())
	}
	d.windows = nil
	if d.fd >= 0 {
		errs = append(errs, unix.Close(d.fd))
		d.fd = -1
	}
	if d.group >= 0 {
		// Closing the group detaches it too; an error here (no container
		// set yet, on a failed Open) is no leak.
		_ = sys.GroupUnsetContainer(d.group)
		errs = append(errs, unix.Close(d.group))
		d.group = -1
	}
	if d.container >= 0 {
		errs = append(errs, unix.Close(d.container))
		d.container = -1
	}
	if err := errors.Join(errs...); err != nil {
		return &Error{Op: "close", Device: d.addr, Err: err}
	}
	return nil
}

// Interrupt indices of vfio-pci (VFIO_PCI_*_IRQ_INDEX).
const (
	indexINTx = sys.VFIO_PCI_INTX_IRQ_INDEX
	indexMSI  = sys.VFIO_PCI_MSI_IRQ_INDEX
	indexMSIX = sys.VFIO_PCI_MSIX_IRQ_INDEX
)

var indexName = map[int]string{indexINTx: "intx", indexMSI: "msi", indexMSIX: "msix"}

// MSI enables n MSI vectors and returns one irq.Source per vector, each an
// eventfd VFIO signals. vfio-pci has one kind of interrupt enabled at a
// time: enabling MSI disables INTx or MSI-X and closes their sources. The
// Device owns the sources (Close closes them). Enable bus mastering first
// (EnableBusMaster): an MSI is a memory write by the device.
func (d *Device) MSI(n int) ([]irq.Source, error) { return d.enable(indexMSI, n) }

// MSIX enables n MSI-X vectors, as MSI does.
func (d *Device) MSIX(n int) ([]irq.Source, error) { return d.enable(indexMSIX, n) }

// INTx enables the legacy interrupt line and returns its source. vfio-pci
// masks the line at each interrupt: the handler clears the cause in the
// device, then calls the source's Ack, which unmasks it
// (VFIO_IRQ_SET_ACTION_UNMASK).
func (d *Device) INTx() (irq.Source, error) {
	srcs, err := d.enable(indexINTx, 1)
	if err != nil {
		return nil, err
	}
	return srcs[0], nil
}

// DisableInterrupts disables the enabled interrupts and closes their
// sources.
func (d *Device) DisableInterrupts() error {
	if err := d.lock("disable interrupts"); err != nil {
		return err
	}
	defer d.mu.Unlock()
	return d.disableIRQs()
}

func (d *Device) disableIRQs() error {
	if d.irqIndex < 0 {
		return nil
	}
	errs := []error{sys.DeviceDisableIRQs(d.fd, uint32(d.irqIndex))}
	for _, s := range d.irqSrcs {
		errs = append(errs, s.Close())
	}
	d.irqIndex, d.irqSrcs = -1, nil
	return errors.Join(errs...)
}

func (d *Device) enable(index, n int) ([]irq.Source, error) {
	op := indexName[index]
	if err := d.lock(op); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	if index >= d.irqs {
		return nil, &Error{Op: op, Device: d.addr, Err: fmt.Errorf("the device has %d interrupt indices: %w", d.irqs, ErrNotSupported)}
	}
	info, err := sys.DeviceGetIRQInfo(d.fd, uint32(index))
	if err != nil {
		return nil, d.wrap(op, err)
	}
	if n < 1 || uint32(n) > info.Count || info.Flags&sys.VFIO_IRQ_INFO_EVENTFD == 0 {
		return nil, &Error{Op: op, Device: d.addr, Err: fmt.Errorf("%d vectors asked, the device has %d (flags %#x): %w", n, info.Count, info.Flags, ErrNotSupported)}
	}
	if err := d.disableIRQs(); err != nil {
		return nil, d.wrap(op, err)
	}
	srcs := make([]irq.Source, 0, n)
	fds := make([]int32, 0, n)
	closeAll := func() {
		for _, s := range srcs {
			_ = s.Close()
		}
	}
	for range n {
		e, err := irq.NewEventfd()
		if err != nil {
			closeAll()
			return nil, d.wrap(op, err)
		}
		fds = append(fds, int32(e.FD()))
		if index == indexINTx {
			srcs = append(srcs, &intx{Eventfd: e, dev: d})
		} else {
			srcs = append(srcs, e)
		}
	}
	if err := sys.DeviceSetIRQEventfds(d.fd, uint32(index), 0, fds); err != nil {
		closeAll()
		return nil, d.wrap(op, err)
	}
	d.irqIndex, d.irqSrcs = index, srcs
	return append([]irq.Source(nil), srcs...), nil
}

// intx is the INTx source: an eventfd whose Ack unmasks the line.
type intx struct {
	*irq.Eventfd
	dev *Device
}

// Ack unmasks the INTx line, which vfio-pci masked when it fired. A
// source that interrupts were switched away from (DisableInterrupts, MSI)
// fails with os.ErrClosed: it must not unmask a line enabled since.
func (i *intx) Ack() error {
	if err := i.dev.rlock("intx ack"); err != nil {
		return err
	}
	defer i.dev.mu.RUnlock()
	if i.FD() < 0 || i.dev.irqIndex != indexINTx {
		return i.dev.wrap("intx ack", os.ErrClosed)
	}
	if err := sys.DeviceUnmaskIRQ(i.dev.fd, indexINTx, 0); err != nil {
		return i.dev.wrap("intx ack", err)
	}
	return nil
}
