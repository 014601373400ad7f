package regs

import (
	"os"
	"sync/atomic"
	"testing"
)

// The benchmarks compare a typed field read-modify-write through a Window
// (an interface call per access, the layout masks and the field insert) with
// the raw sync/atomic load and store it boils down to, on the same mapped
// memory. Both must report 0 allocs/op.

func BenchmarkFieldUpdateWindow(b *testing.B) {
	w, _ := mapMemfd(b, os.Getpagesize(), nil)
	r := MakeRW[uint32](w, 0x40, LayoutOf[uint32](testFields...))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Update(fMode.Val(uint32(i) & 0xf))
	}
}

func BenchmarkFieldUpdateRawAtomic(b *testing.B) {
	w, _ := mapMemfd(b, os.Getpagesize(), nil)
	p := rawPtr32(w, 0x40)
	l := LayoutOf[uint32](testFields...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := atomic.LoadUint32(p)&l.Keep | l.Idle
		atomic.StoreUint32(p, v&^0xf|uint32(i)&0xf)
	}
}

func BenchmarkRead32Window(b *testing.B) {
	w, _ := mapMemfd(b, os.Getpagesize(), nil)
	var bus Bus = w
	b.ReportAllocs()
	var sink uint32
	for i := 0; i < b.N; i++ {
		sink += bus.Read32(0x40)
	}
	_ = sink
}

func BenchmarkRead64Window(b *testing.B) {
	for _, split := range []bool{false, true} {
		name := "native"
		if split {
			name = "split"
		}
		b.Run(name, func(b *testing.B) {
			w, _ := mapMemfd(b, os.Getpagesize(), &WindowOptions{Split64: split})
			r := MakeRO[uint64](w, 0x40)
			b.ReportAllocs()
			var sink uint64
			for i := 0; i < b.N; i++ {
				sink += r.Read()
			}
			_ = sink
		})
	}
}
