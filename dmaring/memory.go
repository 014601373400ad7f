package dmaring

// Memory hands out DMA memory: bytes the CPU reads and writes, at a device
// address the block uses. A UIO or VFIO provider pins and maps the pages
// (VFIO through the IOMMU); fakedev maps them in its simulated IOMMU.
type Memory interface {
	// Alloc returns at least size bytes aligned to align (a power of two)
	// in both the CPU and the device address space, mapped read-write for
	// the device.
	Alloc(size, align int) (Region, error)
}

// A Region is one allocation of DMA memory.
type Region interface {
	// Bytes returns the CPU view. The device may write it at any time the
	// driver has handed it over: read what the device wrote once, into
	// private memory, and validate it there.
	Bytes() []byte
	// Addr returns the device address of Bytes()[0].
	Addr() uint64
	// Free unmaps and releases the region. The device must no longer use
	// it.
	Free() error
}

// MemoryFunc adapts a function to Memory, e.g. a fakedev core's Alloc:
//
//	mem := dmaring.MemoryFunc(func(size, align int) (dmaring.Region, error) {
//		return dev.Core(1).Alloc(size, align)
//	})
type MemoryFunc func(size, align int) (Region, error)

// Alloc calls f.
func (f MemoryFunc) Alloc(size, align int) (Region, error) { return f(size, align) }
