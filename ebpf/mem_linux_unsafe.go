//go:build linux

package ebpf

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// The only unsafe code of the package: views of words of map memory for
// sync/atomic, which is how every word of memory a peer shares is read
// and written (the rings' own words are dmaring's). Each view comes from
// a bounds-checked conversion of a subslice to an array pointer, so a
// wrong offset panics instead of reaching past mem. Offsets are multiples
// of the word size in a page-aligned mapping, so 64-bit words are 8-byte
// aligned, as sync/atomic needs on 32-bit platforms.

func word32(mem []byte, off int) *uint32 {
	return (*uint32)(unsafe.Pointer((*[4]byte)(mem[off:])))
}

func word64(mem []byte, off int) *uint64 {
	return (*uint64)(unsafe.Pointer((*[8]byte)(mem[off:])))
}

// The layout's words are little-endian; these convert on big-endian CPUs.

func le32(mem []byte, off int) uint32 {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], atomic.LoadUint32(word32(mem, off)))
	return binary.LittleEndian.Uint32(b[:])
}

func putLE32(mem []byte, off int, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	atomic.StoreUint32(word32(mem, off), binary.NativeEndian.Uint32(b[:]))
}

func loadLE64(mem []byte, off int) uint64 {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], atomic.LoadUint64(word64(mem, off)))
	return binary.LittleEndian.Uint64(b[:])
}

func storeLE64(mem []byte, off int, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	atomic.StoreUint64(word64(mem, off), binary.NativeEndian.Uint64(b[:]))
}
