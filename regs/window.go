package regs

import (
	"errors"
	"fmt"
)

// ErrClosed is the error of a Window accessed after Close (it panics with an
// *AccessError wrapping it; the window has size 0).
var ErrClosed = errors.New("window closed")

// A Window is a Bus over mapped memory: a device's registers mapped with
// mmap (UIO, VFIO), or shared memory. Every access is a single load or store
// of exactly the requested width, made through sync/atomic for 32 and 64
// bits, so that the compiler can neither split, merge, reorder across
// another access, nor elide it (a plain slice access guarantees none of
// this). See the package documentation for 8- and 16-bit accesses.
//
// On a CPU without single-copy-atomic 64-bit accesses (32-bit ARM, 386,
// 32-bit MIPS) and on a Window made with WindowOptions.Split64, a 64-bit
// access is two 32-bit accesses in the order of SplitRead64 and
// SplitWrite64.
//
// The methods of a Window may be called from several goroutines at once.
// Close must not run concurrently with accesses.
type Window struct {
	mem     []byte
	size    uintptr
	split64 bool
	unmap   func([]byte) error
}

// WindowOptions configure a Window. The zero value is the default.
type WindowOptions struct {
	// Split64 makes every 64-bit access two 32-bit accesses, for devices
	// whose registers only take 32-bit accesses.
	Split64 bool
}

// NewWindow returns a Window over mem, which the caller keeps mapped for the
// life of the Window. mem must start at an 8-byte aligned address, so that
// every naturally aligned offset is an aligned address. opts may be nil.
func NewWindow(mem []byte, opts *WindowOptions) (*Window, error) {
	if len(mem) == 0 {
		return nil, errors.New("new window: empty memory")
	}
	if a := addrOf(mem); a%8 != 0 {
		return nil, fmt.Errorf("new window: memory at %#x is not 8-byte aligned", a)
	}
	w := &Window{mem: mem, size: uintptr(len(mem)), split64: !native64}
	if opts != nil && opts.Split64 {
		w.split64 = true
	}
	return w, nil
}

// Size returns the number of bytes the window covers, or 0 after Close.
func (w *Window) Size() uintptr { return w.size }

// Split64 reports whether 64-bit accesses are made as two 32-bit ones.
func (w *Window) Split64() bool { return w.split64 }

// Close unmaps the memory when the Window owns its mapping (Map), and makes
// every later access panic. Close is idempotent and safe on a nil Window.
// If the unmap fails, the Window keeps the mapping, and a later Close tries
// again.
func (w *Window) Close() error {
	if w == nil || w.mem == nil {
		return nil
	}
	if w.unmap != nil {
		if err := w.unmap(w.mem); err != nil {
			return fmt.Errorf("unmapping window: %w", err)
		}
	}
	w.mem, w.size, w.unmap = nil, 0, nil
	return nil
}

func (w *Window) check(op string, off uintptr, bits int) {
	// off+bits/8 <= size without overflow, and alignment; the slow path
	// builds the error.
	n := uintptr(bits / 8)
	if off < w.size && n <= w.size-off && off&(n-1) == 0 {
		return
	}
	if w.mem == nil {
		panic(&AccessError{Op: op, Offset: off, Bits: bits, Err: ErrClosed})
	}
	mustAccess(op, off, bits, w.size)
}

// Read8 reads the 8-bit register at off.
func (w *Window) Read8(off uintptr) uint8 {
	w.check("read", off, 8)
	return load8(w.mem, off)
}

// Read16 reads the 16-bit register at off.
func (w *Window) Read16(off uintptr) uint16 {
	w.check("read", off, 16)
	return load16(w.mem, off)
}

// Read32 reads the 32-bit register at off.
func (w *Window) Read32(off uintptr) uint32 {
	w.check("read", off, 32)
	return load32(w.mem, off)
}

// Read64 reads the 64-bit register at off.
func (w *Window) Read64(off uintptr) uint64 {
	w.check("read", off, 64)
	if w.split64 {
		return SplitRead64(w, off)
	}
	return load64(w.mem, off)
}

// Write8 writes the 8-bit register at off.
func (w *Window) Write8(off uintptr, v uint8) {
	w.check("write", off, 8)
	store8(w.mem, off, v)
}

// Write16 writes the 16-bit register at off.
func (w *Window) Write16(off uintptr, v uint16) {
	w.check("write", off, 16)
	store16(w.mem, off, v)
}

// Write32 writes the 32-bit register at off.
func (w *Window) Write32(off uintptr, v uint32) {
	w.check("write", off, 32)
	store32(w.mem, off, v)
}

// Write64 writes the 64-bit register at off.
func (w *Window) Write64(off uintptr, v uint64) {
	w.check("write", off, 64)
	if w.split64 {
		SplitWrite64(w, off, v)
		return
	}
	store64(w.mem, off, v)
}
