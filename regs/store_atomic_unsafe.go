//go:build !amd64 || race

package regs

import "sync/atomic"

// The 32- and 64-bit stores of a Window: sync/atomic's, a release store on
// arm64 (STLR), which also orders the caller's earlier writes to normal
// memory (a DMA descriptor, say) before the register write. On amd64 a
// plain store does that, and sync/atomic's store is an XCHG, which reads
// the register too: store_amd64_unsafe.go. Under the race detector every
// architecture uses these, which it knows to be atomic.

func store32(mem []byte, off uintptr, v uint32) { atomic.StoreUint32((*uint32)(ptr(mem, off)), v) }
func store64(mem []byte, off uintptr, v uint64) { atomic.StoreUint64((*uint64)(ptr(mem, off)), v) }
