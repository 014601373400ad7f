package shm

import "unsafe"

// word views the 4 bytes of mem at off as a uint32 for sync/atomic. The
// conversion to an array pointer is bounds-checked, so a wrong offset
// panics instead of reaching past mem; off must be 4-byte aligned in a
// page-aligned mapping.
func word(mem []byte, off int) *uint32 {
	return (*uint32)(unsafe.Pointer((*[4]byte)(mem[off:])))
}
