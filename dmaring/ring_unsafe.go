package dmaring

import "unsafe"

// The only unsafe code of the rings: typed views of the shared memory, so
// that its words can be passed to sync/atomic. Each view is made from a
// bounds-checked conversion of a subslice to an array pointer, so a view
// can never reach past mem even if an offset were wrong: the conversion
// panics instead (the ring code only makes offsets from a layout it
// validated, so it does not happen).

// Sizes of the views, as constants for the array conversions; the layout
// test checks them against unsafe.Sizeof.
const (
	ringHeaderBytes = headerSize
	indexLineBytes  = cacheLine
	slotHeaderBytes = SlotHeaderSize
)

// addrOf returns the address of mem's first byte, for alignment checks.
func addrOf(mem []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(mem))) }

// headerAt views mem's first bytes as the ring header.
func headerAt(mem []byte) *ringHeader {
	return (*ringHeader)(unsafe.Pointer((*[ringHeaderBytes]byte)(mem)))
}

// indexAt views the cache line at off as an index line and returns its
// index word.
func indexAt(mem []byte, off int) *uint64 {
	return &(*indexLine)(unsafe.Pointer((*[indexLineBytes]byte)(mem[off:]))).Index
}

// slotAt views the bytes at off as a slot header.
func slotAt(mem []byte, off int) *slotHeader {
	return (*slotHeader)(unsafe.Pointer((*[slotHeaderBytes]byte)(mem[off:])))
}
