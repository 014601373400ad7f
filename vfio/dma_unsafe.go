package vfio

import "unsafe"

// addrOf returns the address of mem's first byte, the vaddr that
// VFIO_IOMMU_MAP_DMA takes. mem is an mmap'd region that the garbage
// collector never moves.
func addrOf(mem []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(mem)))) }
