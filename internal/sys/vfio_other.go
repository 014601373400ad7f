//go:build !linux

package sys

import (
	"fmt"
	"runtime"
)

// unsupported is the error of every wrapper off Linux.
func unsupported(op string) error {
	return &Error{Op: op, Err: fmt.Errorf("VFIO on %s: %w", runtime.GOOS, ErrNotSupported)}
}

// GetAPIVersion needs Linux.
func GetAPIVersion(container int) (int, error) { return 0, unsupported("VFIO_GET_API_VERSION") }

// CheckExtension needs Linux.
func CheckExtension(container int, ext int) (bool, error) {
	return false, unsupported("VFIO_CHECK_EXTENSION")
}

// SetIOMMU needs Linux.
func SetIOMMU(container int, typ int) error { return unsupported("VFIO_SET_IOMMU") }

// GroupGetStatus needs Linux.
func GroupGetStatus(group int) (GroupStatus, error) {
	return GroupStatus{}, unsupported("VFIO_GROUP_GET_STATUS")
}

// GroupSetContainer needs Linux.
func GroupSetContainer(group, container int) error { return unsupported("VFIO_GROUP_SET_CONTAINER") }

// GroupUnsetContainer needs Linux.
func GroupUnsetContainer(group int) error { return unsupported("VFIO_GROUP_UNSET_CONTAINER") }

// GroupGetDeviceFD needs Linux.
func GroupGetDeviceFD(group int, name string) (int, error) {
	return -1, unsupported("VFIO_GROUP_GET_DEVICE_FD")
}

// DeviceGetInfo needs Linux.
func DeviceGetInfo(dev int) (DeviceInfo, error) {
	return DeviceInfo{}, unsupported("VFIO_DEVICE_GET_INFO")
}

// DeviceGetIRQInfo needs Linux.
func DeviceGetIRQInfo(dev int, index uint32) (IRQInfo, error) {
	return IRQInfo{}, unsupported("VFIO_DEVICE_GET_IRQ_INFO")
}

// DeviceReset needs Linux.
func DeviceReset(dev int) error { return unsupported("VFIO_DEVICE_RESET") }

// DeviceSetIRQs needs Linux.
func DeviceSetIRQs(dev int, index, start, count, flags uint32, data []byte) error {
	return unsupported("VFIO_DEVICE_SET_IRQS")
}

// DeviceSetIRQEventfds needs Linux.
func DeviceSetIRQEventfds(dev int, index, start uint32, eventfds []int32) error {
	return unsupported("VFIO_DEVICE_SET_IRQS")
}

// DeviceDisableIRQs needs Linux.
func DeviceDisableIRQs(dev int, index uint32) error { return unsupported("VFIO_DEVICE_SET_IRQS") }

// DeviceUnmaskIRQ needs Linux.
func DeviceUnmaskIRQ(dev int, index, sub uint32) error { return unsupported("VFIO_DEVICE_SET_IRQS") }

// DeviceGetRegionInfo needs Linux.
func DeviceGetRegionInfo(dev int, index uint32) (RegionInfo, []byte, error) {
	return RegionInfo{}, nil, unsupported("VFIO_DEVICE_GET_REGION_INFO")
}

// IOMMUGetInfo needs Linux.
func IOMMUGetInfo(container int) (IOMMUType1Info, []byte, error) {
	return IOMMUType1Info{}, nil, unsupported("VFIO_IOMMU_GET_INFO")
}

// IOMMUMapDMA needs Linux.
func IOMMUMapDMA(container int, vaddr, iova, size uint64, flags uint32) error {
	return unsupported("VFIO_IOMMU_MAP_DMA")
}

// IOMMUUnmapDMA needs Linux.
func IOMMUUnmapDMA(container int, iova, size uint64, flags uint32) (uint64, error) {
	return 0, unsupported("VFIO_IOMMU_UNMAP_DMA")
}
