package sys

import (
	"errors"
	"os"
)

// vfioIO is _IO(VFIO_TYPE, VFIO_BASE) without the number: no direction and
// no size, as <asm-generic/ioctl.h> (and the 3-bit-direction variants of
// MIPS, PowerPC and SPARC) encode it. VFIO defines every ioctl with _IO,
// whatever data it passes.
const vfioIO = iocNone<<iocDirShift | VFIO_TYPE<<8 | VFIO_BASE

// VFIO's ioctl type and base, from <linux/vfio.h>.
const (
	VFIO_TYPE = ';'
	VFIO_BASE = 100
)

// The VFIO ioctl numbers, each _IO(VFIO_TYPE, VFIO_BASE + n) as in
// <linux/vfio.h>.
const (
	VFIO_GET_API_VERSION        = vfioIO + 0
	VFIO_CHECK_EXTENSION        = vfioIO + 1
	VFIO_SET_IOMMU              = vfioIO + 2
	VFIO_GROUP_GET_STATUS       = vfioIO + 3
	VFIO_GROUP_SET_CONTAINER    = vfioIO + 4
	VFIO_GROUP_UNSET_CONTAINER  = vfioIO + 5
	VFIO_GROUP_GET_DEVICE_FD    = vfioIO + 6
	VFIO_DEVICE_GET_INFO        = vfioIO + 7
	VFIO_DEVICE_GET_REGION_INFO = vfioIO + 8
	VFIO_DEVICE_GET_IRQ_INFO    = vfioIO + 9
	VFIO_DEVICE_SET_IRQS        = vfioIO + 10
	VFIO_DEVICE_RESET           = vfioIO + 11
	VFIO_IOMMU_GET_INFO         = vfioIO + 12
	VFIO_IOMMU_MAP_DMA          = vfioIO + 13
	VFIO_IOMMU_UNMAP_DMA        = vfioIO + 14
)

// The API version VFIO_GET_API_VERSION returns, and the extensions
// (IOMMU types and features) that VFIO_CHECK_EXTENSION and VFIO_SET_IOMMU
// take.
const (
	VFIO_API_VERSION         = 0
	VFIO_TYPE1_IOMMU         = 1
	VFIO_SPAPR_TCE_IOMMU     = 2
	VFIO_TYPE1v2_IOMMU       = 3
	VFIO_DMA_CC_IOMMU        = 4
	VFIO_EEH                 = 5
	VFIO_TYPE1_NESTING_IOMMU = 6
	VFIO_SPAPR_TCE_v2_IOMMU  = 7
	VFIO_NOIOMMU_IOMMU       = 8
	VFIO_UNMAP_ALL           = 9
	VFIO_UPDATE_VADDR        = 10
)

// Flags of GroupStatus.
const (
	VFIO_GROUP_FLAGS_VIABLE        = 1 << 0
	VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1
)

// Flags of DeviceInfo.
const (
	VFIO_DEVICE_FLAGS_RESET    = 1 << 0
	VFIO_DEVICE_FLAGS_PCI      = 1 << 1
	VFIO_DEVICE_FLAGS_PLATFORM = 1 << 2
	VFIO_DEVICE_FLAGS_AMBA     = 1 << 3
	VFIO_DEVICE_FLAGS_CCW      = 1 << 4
	VFIO_DEVICE_FLAGS_AP       = 1 << 5
	VFIO_DEVICE_FLAGS_FSL_MC   = 1 << 6
	VFIO_DEVICE_FLAGS_CAPS     = 1 << 7
)

// Flags of RegionInfo.
const (
	VFIO_REGION_INFO_FLAG_READ  = 1 << 0
	VFIO_REGION_INFO_FLAG_WRITE = 1 << 1
	VFIO_REGION_INFO_FLAG_MMAP  = 1 << 2
	VFIO_REGION_INFO_FLAG_CAPS  = 1 << 3
)

// Capability ids of the region info chain.
const (
	VFIO_REGION_INFO_CAP_SPARSE_MMAP    = 1
	VFIO_REGION_INFO_CAP_TYPE           = 2
	VFIO_REGION_INFO_CAP_MSIX_MAPPABLE  = 3
	VFIO_REGION_INFO_CAP_NVLINK2_SSATGT = 4
	VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD = 5
)

// Region indices of a vfio-pci device.
const (
	VFIO_PCI_BAR0_REGION_INDEX   = 0
	VFIO_PCI_BAR1_REGION_INDEX   = 1
	VFIO_PCI_BAR2_REGION_INDEX   = 2
	VFIO_PCI_BAR3_REGION_INDEX   = 3
	VFIO_PCI_BAR4_REGION_INDEX   = 4
	VFIO_PCI_BAR5_REGION_INDEX   = 5
	VFIO_PCI_ROM_REGION_INDEX    = 6
	VFIO_PCI_CONFIG_REGION_INDEX = 7
	VFIO_PCI_VGA_REGION_INDEX    = 8
	VFIO_PCI_NUM_REGIONS         = 9
)

// Interrupt indices of a vfio-pci device.
const (
	VFIO_PCI_INTX_IRQ_INDEX = 0
	VFIO_PCI_MSI_IRQ_INDEX  = 1
	VFIO_PCI_MSIX_IRQ_INDEX = 2
	VFIO_PCI_ERR_IRQ_INDEX  = 3
	VFIO_PCI_REQ_IRQ_INDEX  = 4
	VFIO_PCI_NUM_IRQS       = 5
)

// Flags of IRQInfo.
const (
	VFIO_IRQ_INFO_EVENTFD    = 1 << 0
	VFIO_IRQ_INFO_MASKABLE   = 1 << 1
	VFIO_IRQ_INFO_AUTOMASKED = 1 << 2
	VFIO_IRQ_INFO_NORESIZE   = 1 << 3
)

// Flags of IRQSet: one data type and one action.
const (
	VFIO_IRQ_SET_DATA_NONE        = 1 << 0
	VFIO_IRQ_SET_DATA_BOOL        = 1 << 1
	VFIO_IRQ_SET_DATA_EVENTFD     = 1 << 2
	VFIO_IRQ_SET_ACTION_MASK      = 1 << 3
	VFIO_IRQ_SET_ACTION_UNMASK    = 1 << 4
	VFIO_IRQ_SET_ACTION_TRIGGER   = 1 << 5
	VFIO_IRQ_SET_DATA_TYPE_MASK   = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD
	VFIO_IRQ_SET_ACTION_TYPE_MASK = VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER
)

// Flags of IOMMUType1Info, and the capability ids of its chain.
const (
	VFIO_IOMMU_INFO_PGSIZES              = 1 << 0
	VFIO_IOMMU_INFO_CAPS                 = 1 << 1
	VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1
	VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION  = 2
	VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL      = 3
)

// Flags of IOMMUType1DMAMap and IOMMUType1DMAUnmap.
const (
	VFIO_DMA_MAP_FLAG_READ               = 1 << 0
	VFIO_DMA_MAP_FLAG_WRITE              = 1 << 1
	VFIO_DMA_MAP_FLAG_VADDR              = 1 << 2
	VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0
	VFIO_DMA_UNMAP_FLAG_ALL              = 1 << 1
	VFIO_DMA_UNMAP_FLAG_VADDR            = 1 << 2
)

// GroupStatus is struct vfio_group_status.
type GroupStatus struct {
	Argsz uint32
	Flags uint32
}

// DeviceInfo is struct vfio_device_info.
type DeviceInfo struct {
	Argsz      uint32
	Flags      uint32
	NumRegions uint32
	NumIRQs    uint32
	CapOffset  uint32
}

// RegionInfo is struct vfio_region_info.
type RegionInfo struct {
	Argsz     uint32
	Flags     uint32
	Index     uint32
	CapOffset uint32
	Size      uint64
	Offset    uint64
}

// InfoCapHeader is struct vfio_info_cap_header, the header of every
// capability in an info chain. Next is the offset of the next capability
// from the start of the info structure, 0 for the last one.
type InfoCapHeader struct {
	ID      uint16
	Version uint16
	Next    uint32
}

// RegionSparseMmapArea is struct vfio_region_sparse_mmap_area.
type RegionSparseMmapArea struct {
	Offset uint64
	Size   uint64
}

// RegionInfoCapSparseMmap is the fixed part of struct
// vfio_region_info_cap_sparse_mmap; NrAreas RegionSparseMmapArea follow it.
type RegionInfoCapSparseMmap struct {
	Header   InfoCapHeader
	NrAreas  uint32
	Reserved uint32
}

// IRQInfo is struct vfio_irq_info.
type IRQInfo struct {
	Argsz uint32
	Flags uint32
	Index uint32
	Count uint32
}

// IRQSet is the fixed part of struct vfio_irq_set; its data follows it.
type IRQSet struct {
	Argsz uint32
	Flags uint32
	Index uint32
	Start uint32
	Count uint32
}

// IOMMUType1Info is struct vfio_iommu_type1_info.
type IOMMUType1Info struct {
	Argsz       uint32
	Flags       uint32
	IOVAPgsizes uint64
	CapOffset   uint32
	// C pads the structure to a multiple of its 8-byte alignment; Go on
	// 32-bit ARM aligns uint64 to 4 and would not.
	_ uint32
}

// IOVARange is struct vfio_iova_range: an inclusive range of usable IOVAs.
type IOVARange struct {
	Start uint64
	End   uint64
}

// IOMMUType1InfoCapIOVARange is the fixed part of struct
// vfio_iommu_type1_info_cap_iova_range; NrIOVAs IOVARange follow it.
type IOMMUType1InfoCapIOVARange struct {
	Header   InfoCapHeader
	NrIOVAs  uint32
	Reserved uint32
}

// IOMMUType1DMAMap is struct vfio_iommu_type1_dma_map.
type IOMMUType1DMAMap struct {
	Argsz uint32
	Flags uint32
	Vaddr uint64
	IOVA  uint64
	Size  uint64
}

// IOMMUType1DMAUnmap is the fixed part of struct vfio_iommu_type1_dma_unmap.
type IOMMUType1DMAUnmap struct {
	Argsz uint32
	Flags uint32
	IOVA  uint64
	Size  uint64
}

// ErrNotSupported is wrapped by the errors of the ioctl wrappers on systems
// other than Linux.
var ErrNotSupported = errors.New("not supported")

// Error is the error of a wrapper: Op names the ioctl or the operation and
// Err is the cause, usually an *os.SyscallError holding the errno.
type Error struct {
	// Op is the operation that failed, such as "VFIO_GROUP_GET_STATUS".
	Op string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return "vfio: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// errno returns the *Error of ioctl op failing with err.
func errno(op string, err error) error {
	return &Error{Op: op, Err: os.NewSyscallError("ioctl", err)}
}
