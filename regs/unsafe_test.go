package regs

import "unsafe"

// unsafeBytes returns the memory of s as bytes, 8-byte aligned.
func unsafeBytes(s []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*8)
}
