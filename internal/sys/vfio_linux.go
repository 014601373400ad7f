package sys

import (
	"encoding/binary"
	"fmt"
)

// GetAPIVersion returns the API version of the container fd (an open
// /dev/vfio/vfio): VFIO_API_VERSION on every kernel so far.
func GetAPIVersion(container int) (int, error) {
	v, err := ioctl(container, VFIO_GET_API_VERSION, 0)
	if err != nil {
		return 0, errno("VFIO_GET_API_VERSION", err)
	}
	return v, nil
}

// CheckExtension reports whether the container supports ext, such as
// VFIO_TYPE1v2_IOMMU or VFIO_NOIOMMU_IOMMU.
func CheckExtension(container int, ext int) (bool, error) {
	v, err := ioctl(container, VFIO_CHECK_EXTENSION, uintptr(ext))
	if err != nil {
		return false, errno("VFIO_CHECK_EXTENSION", err)
	}
	return v > 0, nil
}

// SetIOMMU sets the IOMMU model of the container, which needs at least one
// group attached.
func SetIOMMU(container int, typ int) error {
	if _, err := ioctl(container, VFIO_SET_IOMMU, uintptr(typ)); err != nil {
		return errno("VFIO_SET_IOMMU", err)
	}
	return nil
}

// GroupGetStatus returns the status of the group fd (an open
// /dev/vfio/N or /dev/vfio/noiommu-N).
func GroupGetStatus(group int) (GroupStatus, error) {
	s := GroupStatus{Argsz: uint32(binary.Size(GroupStatus{}))}
	if _, err := ioctlPtr(group, VFIO_GROUP_GET_STATUS, &s); err != nil {
		return GroupStatus{}, errno("VFIO_GROUP_GET_STATUS", err)
	}
	return s, nil
}

// GroupSetContainer attaches the group to the container.
func GroupSetContainer(group, container int) error {
	fd := int32(container)
	if _, err := ioctlPtr(group, VFIO_GROUP_SET_CONTAINER, &fd); err != nil {
		return errno("VFIO_GROUP_SET_CONTAINER", err)
	}
	return nil
}

// GroupUnsetContainer detaches the group from its container.
func GroupUnsetContainer(group int) error {
	if _, err := ioctl(group, VFIO_GROUP_UNSET_CONTAINER, 0); err != nil {
		return errno("VFIO_GROUP_UNSET_CONTAINER", err)
	}
	return nil
}

// GroupGetDeviceFD returns a new file descriptor, close-on-exec, for the
// device name (a PCI address such as "0000:00:04.0") of the group. The
// caller owns it.
func GroupGetDeviceFD(group int, name string) (int, error) {
	fd, err := ioctlString(group, VFIO_GROUP_GET_DEVICE_FD, name)
	if err != nil {
		return -1, errno("VFIO_GROUP_GET_DEVICE_FD", err)
	}
	return fd, nil
}

// DeviceGetInfo returns the information of the device fd.
func DeviceGetInfo(dev int) (DeviceInfo, error) {
	d := DeviceInfo{Argsz: uint32(binary.Size(DeviceInfo{}))}
	if _, err := ioctlPtr(dev, VFIO_DEVICE_GET_INFO, &d); err != nil {
		return DeviceInfo{}, errno("VFIO_DEVICE_GET_INFO", err)
	}
	return d, nil
}

// DeviceGetIRQInfo returns the information of the interrupt index of the
// device fd.
func DeviceGetIRQInfo(dev int, index uint32) (IRQInfo, error) {
	i := IRQInfo{Argsz: uint32(binary.Size(IRQInfo{})), Index: index}
	if _, err := ioctlPtr(dev, VFIO_DEVICE_GET_IRQ_INFO, &i); err != nil {
		return IRQInfo{}, errno("VFIO_DEVICE_GET_IRQ_INFO", err)
	}
	return i, nil
}

// DeviceReset resets the device fd (when DeviceInfo has
// VFIO_DEVICE_FLAGS_RESET).
func DeviceReset(dev int) error {
	if _, err := ioctl(dev, VFIO_DEVICE_RESET, 0); err != nil {
		return errno("VFIO_DEVICE_RESET", err)
	}
	return nil
}

// DeviceSetIRQs issues VFIO_DEVICE_SET_IRQS on the device fd for the
// interrupts [start, start+count) of index, with flags one
// VFIO_IRQ_SET_DATA_* and one VFIO_IRQ_SET_ACTION_*. data is what follows
// the header: nothing for DATA_NONE, count bytes for DATA_BOOL, count
// native-endian int32 for DATA_EVENTFD; DeviceSetIRQs checks its length.
// DeviceSetIRQEventfds and DeviceDisableIRQs cover the common cases.
func DeviceSetIRQs(dev int, index, start, count, flags uint32, data []byte) error {
	var per uint64
	switch flags & VFIO_IRQ_SET_DATA_TYPE_MASK {
	case VFIO_IRQ_SET_DATA_NONE:
	case VFIO_IRQ_SET_DATA_BOOL:
		per = 1
	case VFIO_IRQ_SET_DATA_EVENTFD:
		per = 4
	default:
		return &Error{Op: "VFIO_DEVICE_SET_IRQS", Err: fmt.Errorf("flags %#x: not exactly one data type", flags)}
	}
	if uint64(len(data)) != per*uint64(count) {
		return &Error{Op: "VFIO_DEVICE_SET_IRQS", Err: fmt.Errorf("%d bytes of data for %d interrupts of %d bytes", len(data), count, per)}
	}
	hdr := IRQSet{Flags: flags, Index: index, Start: start, Count: count}
	hsize := binary.Size(hdr)
	buf := make([]byte, hsize+len(data))
	hdr.Argsz = uint32(len(buf))
	if _, err := binary.Encode(buf, binary.NativeEndian, hdr); err != nil {
		return &Error{Op: "VFIO_DEVICE_SET_IRQS", Err: err}
	}
	copy(buf[hsize:], data)
	if _, err := ioctlBuf(dev, VFIO_DEVICE_SET_IRQS, buf); err != nil {
		return errno("VFIO_DEVICE_SET_IRQS", err)
	}
	return nil
}

// DeviceSetIRQEventfds makes the interrupts [start, start+len(eventfds))
// of index signal the eventfds (ACTION_TRIGGER); -1 de-assigns one.
func DeviceSetIRQEventfds(dev int, index, start uint32, eventfds []int32) error {
	data := make([]byte, 4*len(eventfds))
	for i, fd := range eventfds {
		binary.NativeEndian.PutUint32(data[4*i:], uint32(fd))
	}
	return DeviceSetIRQs(dev, index, start, uint32(len(eventfds)), VFIO_IRQ_SET_DATA_EVENTFD|VFIO_IRQ_SET_ACTION_TRIGGER, data)
}

// DeviceDisableIRQs disables every interrupt of index (DATA_NONE,
// ACTION_TRIGGER, count 0).
func DeviceDisableIRQs(dev int, index uint32) error {
	return DeviceSetIRQs(dev, index, 0, 0, VFIO_IRQ_SET_DATA_NONE|VFIO_IRQ_SET_ACTION_TRIGGER, nil)
}

// DeviceUnmaskIRQ unmasks the interrupt (index, sub), as an automasked
// INTx needs after each delivery.
func DeviceUnmaskIRQ(dev int, index, sub uint32) error {
	return DeviceSetIRQs(dev, index, sub, 1, VFIO_IRQ_SET_DATA_NONE|VFIO_IRQ_SET_ACTION_UNMASK, nil)
}

// maxInfo bounds the buffer that the argsz protocol may ask for.
const maxInfo = 1 << 20

// getInfo runs the argsz protocol of the VFIO info ioctls: it issues req
// with a buffer of the fixed size, prepared by fill, and when the kernel
// answers with a larger argsz (capabilities that did not fit), again with a
// buffer that large. It returns the buffer, cut to what the kernel filled.
func getInfo(fd int, req uint, op string, size int, fill func([]byte)) ([]byte, error) {
	n := size
	for range 3 {
		buf := make([]byte, n)
		fill(buf)
		binary.NativeEndian.PutUint32(buf, uint32(n))
		if _, err := ioctlBuf(fd, req, buf); err != nil {
			return nil, errno(op, err)
		}
		want := int(binary.NativeEndian.Uint32(buf))
		switch {
		case want <= n:
			return buf[:max(want, size)], nil
		case want > maxInfo:
			return nil, &Error{Op: op, Err: fmt.Errorf("argsz %d beyond %d: %w", want, maxInfo, ErrBadCaps)}
		}
		n = want
	}
	return nil, &Error{Op: op, Err: fmt.Errorf("argsz keeps growing: %w", ErrBadCaps)}
}

// DeviceGetRegionInfo returns the information of the region index of the
// device fd, and the whole info buffer when it holds a capability chain
// (ParseCaps(caps, info.CapOffset) walks it); caps is nil otherwise.
func DeviceGetRegionInfo(dev int, index uint32) (RegionInfo, []byte, error) {
	const op = "VFIO_DEVICE_GET_REGION_INFO"
	var ri RegionInfo
	buf, err := getInfo(dev, VFIO_DEVICE_GET_REGION_INFO, op, binary.Size(ri), func(b []byte) {
		binary.NativeEndian.PutUint32(b[8:], index)
	})
	if err != nil {
		return RegionInfo{}, nil, err
	}
	if _, err := binary.Decode(buf, binary.NativeEndian, &ri); err != nil {
		return RegionInfo{}, nil, &Error{Op: op, Err: err}
	}
	if ri.Flags&VFIO_REGION_INFO_FLAG_CAPS == 0 || ri.CapOffset == 0 {
		return ri, nil, nil
	}
	return ri, buf, nil
}

// IOMMUGetInfo returns the type1 IOMMU information of the container, and
// the whole info buffer when it holds a capability chain
// (ParseCaps(caps, info.CapOffset)); caps is nil otherwise.
func IOMMUGetInfo(container int) (IOMMUType1Info, []byte, error) {
	const op = "VFIO_IOMMU_GET_INFO"
	var ii IOMMUType1Info
	buf, err := getInfo(container, VFIO_IOMMU_GET_INFO, op, binary.Size(ii), func([]byte) {})
	if err != nil {
		return IOMMUType1Info{}, nil, err
	}
	if _, err := binary.Decode(buf, binary.NativeEndian, &ii); err != nil {
		return IOMMUType1Info{}, nil, &Error{Op: op, Err: err}
	}
	if ii.Flags&VFIO_IOMMU_INFO_CAPS == 0 || ii.CapOffset == 0 {
		return ii, nil, nil
	}
	return ii, buf, nil
}

// IOMMUMapDMA maps size bytes of the process's memory at vaddr to iova in
// the container's IOMMU, with flags VFIO_DMA_MAP_FLAG_READ and/or _WRITE.
// The memory must stay allocated until it is unmapped.
func IOMMUMapDMA(container int, vaddr, iova, size uint64, flags uint32) error {
	m := IOMMUType1DMAMap{Flags: flags, Vaddr: vaddr, IOVA: iova, Size: size}
	m.Argsz = uint32(binary.Size(m))
	if _, err := ioctlPtr(container, VFIO_IOMMU_MAP_DMA, &m); err != nil {
		return errno("VFIO_IOMMU_MAP_DMA", err)
	}
	return nil
}

// IOMMUUnmapDMA unmaps [iova, iova+size) from the container's IOMMU and
// returns how many bytes the kernel unmapped.
func IOMMUUnmapDMA(container int, iova, size uint64, flags uint32) (uint64, error) {
	u := IOMMUType1DMAUnmap{Flags: flags, IOVA: iova, Size: size}
	u.Argsz = uint32(binary.Size(u))
	if _, err := ioctlPtr(container, VFIO_IOMMU_UNMAP_DMA, &u); err != nil {
		return 0, errno("VFIO_IOMMU_UNMAP_DMA", err)
	}
	return u.Size, nil
}
