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
// of the word size in a page-aligned mapping.

func word32(mem []byte, off int) *uint32 {
	return (*uint32)(unsafe.Pointer((*[4]byte)(mem[off:])))
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
