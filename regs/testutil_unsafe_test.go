package regs

import "unsafe"

// unsafeBytes returns the memory of s as bytes, 8-byte aligned.
func unsafeBytes(s []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*8)
}

// rawPtr32 returns the address of the 32-bit word at off of w's memory.
func rawPtr32(w *Window, off uintptr) *uint32 { return (*uint32)(ptr(w.mem, off)) }
