package regs

import (
	"sync/atomic"
	"unsafe"
)

// native64 is true where a 64-bit sync/atomic access is one single-copy
// atomic load or store instruction. On 32-bit CPUs the runtime implements it
// with exclusive pairs or a lock, which device memory does not support.
const native64 = unsafe.Sizeof(uintptr(0)) == 8

func addrOf(mem []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(mem))) }

// ptr returns the address of byte off of mem. The caller has checked that
// off plus the access width lies inside mem.
func ptr(mem []byte, off uintptr) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(mem)), off)
}

func load32(mem []byte, off uintptr) uint32 { return atomic.LoadUint32((*uint32)(ptr(mem, off))) }
func load64(mem []byte, off uintptr) uint64 { return atomic.LoadUint64((*uint64)(ptr(mem, off))) }

// sync/atomic has no 8- or 16-bit operations. These accesses are plain loads
// and stores of exactly one byte or halfword, each in a function the
// compiler may not inline: a call is opaque to the caller's SSA, so the
// access can be neither combined with a neighbouring one (the compiler merges
// adjacent narrow stores inside one function), nor elided, nor moved across
// another register access, all of which are calls too. Inside the function
// there is exactly one memory operation of the stated width. The CPU orders
// accesses to device memory (mapped uncached by UIO and VFIO) in program
// order, as it does for the atomic accesses.

//go:noinline
func load8(mem []byte, off uintptr) uint8 { return *(*uint8)(ptr(mem, off)) }

//go:noinline
func load16(mem []byte, off uintptr) uint16 { return *(*uint16)(ptr(mem, off)) }

//go:noinline
func store8(mem []byte, off uintptr, v uint8) { *(*uint8)(ptr(mem, off)) = v }

//go:noinline
func store16(mem []byte, off uintptr, v uint16) { *(*uint16)(ptr(mem, off)) = v }
