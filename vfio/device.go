package vfio

import (
	"sync"
	"sync/atomic"

	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/regs"
)

// A Device is a PCI function opened through VFIO, with a container of its
// own: its regions, its interrupts and the IOMMU mappings of its DMA
// memory.
//
// The Device owns three file descriptors (the container /dev/vfio/vfio,
// the group /dev/vfio/N and the device), the windows Map returns, the
// interrupt sources of MSI, MSIX and INTx, and the DMA memory of its
// DMAMemory values: Close releases all of them. Its methods may be called
// from several goroutines.
type Device struct {
	addr string
	opts Options

	mu        sync.RWMutex
	closed    bool
	container int
	group     int
	fd        int
	flags     uint32 // sys.DeviceInfo.Flags
	regions   int
	irqs      int
	noIOMMU   bool
	iova      *iovaSpace
	page      uint64
	windows   []*regs.Window
	irqIndex  int // the interrupt index with sources, or -1
	irqSrcs   []irq.Source
	dma       map[*DMARegion]struct{}
}

// Address returns the PCI address the device was opened with.
func (d *Device) Address() string { return d.addr }

// FD returns the VFIO device file descriptor, or -1 after Close. It stays
// owned by the Device: do not close it.
func (d *Device) FD() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return -1
	}
	return d.fd
}

// NoIOMMU reports whether the device was opened in VFIO's no-IOMMU mode.
func (d *Device) NoIOMMU() bool { return d.noIOMMU }

// A DMAMemory allocates DMA memory for one Device: pinned, page-aligned
// memory mapped in the device's IOMMU at IOVAs below the device's address
// limit. It implements dmaring.Memory.
type DMAMemory struct {
	dev   *Device
	limit uint64 // last usable IOVA
	huge  bool
}

// A DMARegion is one allocation of a DMAMemory. It implements
// dmaring.Region.
type DMARegion struct {
	mem   *DMAMemory
	buf   []byte // what Bytes returns
	whole []byte // the mapping to munmap
	iova  uint64
	size  uint64 // mapped in the IOMMU
	held  atomic.Int32
}

// Hold marks the region as handed to the device: a DMA into or out of it
// may be in flight. Free refuses a held region (ErrInFlight) until every
// Hold is matched by a Release, so that memory is never unmapped under a
// transfer. Drivers hold a region from programming the device until the
// transfer's completion.
func (r *DMARegion) Hold() { r.held.Add(1) }

// Release ends a Hold.
func (r *DMARegion) Release() { r.held.Add(-1) }

// Bytes returns the CPU view of the region, or nil once it is freed.
func (r *DMARegion) Bytes() []byte {
	r.mem.dev.mu.RLock()
	defer r.mem.dev.mu.RUnlock()
	return r.buf
}

// Addr returns the IOVA of Bytes()[0]: the address the device uses.
func (r *DMARegion) Addr() uint64 { return r.iova }
