package dmaring

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// The write-back word is the only memory of the descriptor rings that the
// driver and the engine access as a word: the engine stores the 32-bit
// little-endian CONS there atomically after the descriptors it completed
// (docs/ipcu.md 9.5, 12.21), and the driver loads it atomically, so that
// the load is never split, merged or elided and orders the descriptor and
// payload reads that follow it (sync/atomic is sequentially consistent:
// the Go memory model, "Atomic Values"). The view is made from a
// bounds-checked conversion to an array pointer, so it can never reach past
// the 4 bytes it was given.

// wbWord views the first 4 bytes of b, 4-byte aligned, as a word.
func wbWord(b []byte) *uint32 { return (*uint32)(unsafe.Pointer((*[4]byte)(b))) }

// loadWB atomically loads the little-endian word at b[0:4].
func loadWB(b []byte) uint32 {
	var w [4]byte
	binary.NativeEndian.PutUint32(w[:], atomic.LoadUint32(wbWord(b)))
	return binary.LittleEndian.Uint32(w[:])
}

// storeWB atomically stores v little-endian at b[0:4].
func storeWB(b []byte, v uint32) {
	var w [4]byte
	binary.LittleEndian.PutUint32(w[:], v)
	atomic.StoreUint32(wbWord(b), binary.NativeEndian.Uint32(w[:]))
}

// wordAligned reports whether b starts on a 4-byte boundary of the CPU's
// address space, as atomic word accesses need.
func wordAligned(b []byte) bool { return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 == 0 }
