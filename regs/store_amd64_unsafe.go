//go:build amd64 && !race

package regs

// The 32- and 64-bit stores of a Window on amd64: plain stores, each in a
// function the compiler may not inline (as store8 and store16). sync/atomic's
// stores compile to XCHG, a locked read-then-write: on a device register
// mapped uncached the device sees a read before every write, which clears
// a read-to-clear register, and costs a bus round trip. A plain aligned MOV
// of 4 or 8 bytes is single-copy atomic, and x86 does not reorder a store
// with earlier stores (TSO): the caller's writes to normal memory (a DMA
// descriptor) reach memory before the register write, as they do with
// arm64's STLR. Under the race detector the sync/atomic versions are used
// (store_atomic_unsafe.go), so that tests sharing a Window over Go memory
// are not reported as racing.

//go:noinline
func store32(mem []byte, off uintptr, v uint32) { *(*uint32)(ptr(mem, off)) = v }

//go:noinline
func store64(mem []byte, off uintptr, v uint64) { *(*uint64)(ptr(mem, off)) = v }
