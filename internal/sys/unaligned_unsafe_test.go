package sys

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/testenv"
)

// TestUnalignedAtomic64Panics shows what the alignment rule protects
// against, and that the 32-bit run catches its violation: on 32-bit ARM a
// 64-bit sync/atomic operation on a word that is not 8-byte aligned panics
// (the runtime checks; the CPU's exclusive pairs need the alignment). A
// uint64 after a uint32 in a struct is such a word there, since uint64 is
// only 4-byte aligned on 32-bit platforms.
func TestUnalignedAtomic64Panics(t *testing.T) {
	var s struct {
		a uint32
		b uint64
	}
	if runtime.GOARCH != "arm" {
		testenv.Unsupported(t, fmt.Sprintf("GOARCH=%s does not check the alignment of 64-bit atomics (32-bit ARM does; scripts/cross runs this under qemu-arm-static)", runtime.GOARCH))
	}
	require.Equal(t, uintptr(4), unsafe.Offsetof(s.b), "a uint64 is 4-byte aligned on 32-bit ARM")

	words := make([]uint64, 2) // 8-byte aligned: an allocation of 64-bit words is
	aligned := &words[0]
	assert.NotPanics(t, func() { atomic.AddUint64(aligned, 1) })
	unaligned := (*uint64)(unsafe.Add(unsafe.Pointer(aligned), 4))
	assert.Equal(t, "unaligned 64-bit atomic operation", panicOf(func() { atomic.AddUint64(unaligned, 1) }))
	assert.Equal(t, "unaligned 64-bit atomic operation", panicOf(func() { atomic.LoadUint64(unaligned) }))

	// atomic.Uint64 is aligned by the compiler, wherever it sits.
	var fixed struct {
		a uint32
		b atomic.Uint64
	}
	assert.Equal(t, uintptr(8), unsafe.Offsetof(fixed.b))
	assert.NotPanics(t, func() { fixed.b.Add(1) })
}

// panicOf returns what f panicked with, printed, or "" if it returned.
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}
