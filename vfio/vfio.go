package vfio

import (
	"errors"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/regs"
)

// Sentinel errors, matched with errors.Is through an *Error.
var (
	// ErrNotSupported reports a system without VFIO, or a feature the
	// device or the kernel lacks (reset, DMA in no-IOMMU mode).
	ErrNotSupported = errors.New("not supported")
	// ErrNotBound reports a device that is not bound to vfio-pci.
	ErrNotBound = errors.New("device not bound to vfio-pci")
	// ErrNotViable reports an IOMMU group with a device bound to a host
	// driver: VFIO hands out a group only when no kernel driver can DMA
	// from any of its devices.
	ErrNotViable = errors.New("IOMMU group not viable")
	// ErrNoIOMMU reports a device without an IOMMU group, or one in
	// VFIO's no-IOMMU mode when Options.AllowNoIOMMU is not set.
	ErrNoIOMMU = errors.New("no IOMMU protection")
	// ErrNotMappable reports a region, or a part of one, that VFIO does
	// not let the process mmap; RegionBus reaches it with pread/pwrite.
	ErrNotMappable = errors.New("region not mappable")
	// ErrNoSpace reports a DMA allocation that fits nowhere in the IOVA
	// ranges of the IOMMU below the device's address limit.
	ErrNoSpace = errors.New("no IOVA space")
	// ErrMemlock reports a DMA allocation beyond RLIMIT_MEMLOCK: VFIO pins
	// the memory it maps and charges it to the process's locked memory.
	ErrMemlock = errors.New("locked-memory limit reached")
	// ErrInFlight reports a Free of a DMA region the device may still be
	// using (it is held, see DMARegion.Hold).
	ErrInFlight = errors.New("DMA in flight")
)

// Error is the error of an operation on a device: Op names the operation
// ("open", "map region 0", "msi", "dma alloc", ...), Device is the PCI
// address, Err is the cause and Hint says what to do about it, when there
// is something to do. Err is a sentinel of this package, os.ErrClosed, or
// an error holding the errno of the failed system call, so that
// errors.Is(err, os.ErrPermission) and errors.Is(err, os.ErrNotExist)
// work.
type Error struct {
	// Op is the operation that failed.
	Op string
	// Device is the PCI address, such as "0000:00:04.0"; may be empty.
	Device string
	// Err is the cause.
	Err error
	// Hint is the remedy, such as "bind it to vfio-pci"; may be empty.
	Hint string
}

// Error returns "vfio: <op> <device>: <cause> (<hint>)".
func (e *Error) Error() string {
	s := "vfio: " + e.Op
	if e.Device != "" {
		s += " " + e.Device
	}
	s += ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Options configure Open. The zero value (or nil) is the default.
type Options struct {
	// SysRoot is the sysfs mount point; "" means /sys.
	SysRoot string
	// DevDir is VFIO's device directory; "" means /dev/vfio.
	DevDir string
	// AllowNoIOMMU accepts a group in VFIO's no-IOMMU mode
	// (/dev/vfio/noiommu-N, module parameter
	// vfio.enable_unsafe_noiommu_mode=1): the device can then reach all
	// of memory, and DMA is refused because there is no IOMMU to map it.
	AllowNoIOMMU bool
	// DMALimitBits is the width of the device's DMA addresses: every IOVA
	// DMA hands out is below 1<<DMALimitBits. 0 means 64 (no limit beyond
	// the IOMMU's ranges). QEMU's edu device has 28.
	DMALimitBits int
}

func (o *Options) sysRoot() string {
	if o == nil || o.SysRoot == "" {
		return "/sys"
	}
	return o.SysRoot
}

func (o *Options) devDir() string {
	if o == nil || o.DevDir == "" {
		return "/dev/vfio"
	}
	return o.DevDir
}

// Region indices of a vfio-pci device (VFIO_PCI_*_REGION_INDEX).
const (
	RegionBAR0   = 0
	RegionBAR1   = 1
	RegionBAR2   = 2
	RegionBAR3   = 3
	RegionBAR4   = 4
	RegionBAR5   = 5
	RegionROM    = 6
	RegionConfig = 7
	RegionVGA    = 8
)

// RegionInfo describes one region of the device: where it lies in the
// device file and how the process may reach it.
type RegionInfo struct {
	// Index is the region's index, such as RegionBAR0.
	Index int
	// Size is its size in bytes; 0 for a region the device lacks.
	Size uint64
	// Offset is where the region starts in the device file descriptor.
	Offset uint64
	// Readable and Writable tell whether pread and pwrite work.
	Readable, Writable bool
	// Mappable tells whether mmap works (Map, MapRange).
	Mappable bool
	// Sparse lists the parts of a mappable region that may be mapped,
	// relative to its start; nil when the whole region may be. vfio-pci
	// leaves out the MSI-X table of a BAR, for instance.
	Sparse []Area
}

// An Area is a part of a region: Size bytes from Offset.
type Area struct {
	Offset, Size uint64
}

// mappable reports whether [off, off+size) of the region may be mapped.
func (r RegionInfo) mappable(off, size uint64) bool {
	if !r.Mappable || off > r.Size || size > r.Size-off {
		return false
	}
	if r.Sparse == nil {
		return true
	}
	for _, a := range r.Sparse {
		if off >= a.Offset && off-a.Offset <= a.Size && size <= a.Size-(off-a.Offset) {
			return true
		}
	}
	return false
}

// DMAOptions configure a DMAMemory. The zero value (or nil) is the
// default.
type DMAOptions struct {
	// LimitBits lowers the device's address limit (Options.DMALimitBits)
	// for this memory; 0 keeps it.
	LimitBits int
	// Hugepages backs allocations of 2 MiB and more with huge pages when
	// the system has some free (vm.nr_hugepages), rounding them up to
	// 2 MiB; it falls back to ordinary pages otherwise.
	Hugepages bool
}

// interface checks.
var (
	_ dmaring.Memory = (*DMAMemory)(nil)
	_ dmaring.Region = (*DMARegion)(nil)
	_ regs.Bus       = (*RegionBus)(nil)
)
