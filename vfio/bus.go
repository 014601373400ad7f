package vfio

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/regs"
)

// A RegionBus is a regs.Bus over a region of the device file that is
// reached with pread and pwrite instead of mmap: the configuration space,
// an I/O-port BAR, or a BAR VFIO does not let the process map. Each access
// is one pread or pwrite of exactly the access's width at its offset,
// which vfio-pci turns into one device access of that width. Registers are
// little-endian, as VFIO presents them.
//
// A failed read returns all ones, as a PCIe read of a removed device does,
// and a failed write is dropped; both record the error, which Err returns.
// Offsets outside the region or misaligned panic with a *regs.AccessError,
// as with every Bus. After the Device is closed every access fails with
// os.ErrClosed.
type RegionBus struct {
	dev  *Device // nil for a bus over a plain descriptor (tests)
	fd   int     // the descriptor when dev is nil
	base int64
	size uintptr

	mu  sync.Mutex
	err error
}

// Err returns the first error of an access since the last call, and
// clears it.
func (b *RegionBus) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.err
	b.err = nil
	return err
}

// Size returns the size of the region.
func (b *RegionBus) Size() uintptr { return b.size }

func (b *RegionBus) record(op string, off uintptr, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = &Error{Op: fmt.Sprintf("%s at region offset %#x", op, off), Err: err}
	}
}

// io runs one pread or pwrite of buf at off.
func (b *RegionBus) io(write bool, off uintptr, buf []byte) {
	op := "read"
	if write {
		op = "write"
	}
	regs.MustCheck(op, off, 8*len(buf), b.size)
	fd := b.fd
	if b.dev != nil {
		b.dev.mu.RLock()
		defer b.dev.mu.RUnlock()
		if b.dev.closed {
			b.record(op, off, os.ErrClosed)
			b.fail(write, buf)
			return
		}
		fd = b.dev.fd
	}
	var n int
	var err error
	for {
		if write {
			n, err = unix.Pwrite(fd, buf, b.base+int64(off))
		} else {
			n, err = unix.Pread(fd, buf, b.base+int64(off))
		}
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		name := "pread"
		if write {
			name = "pwrite"
		}
		b.record(op, off, os.NewSyscallError(name, err))
	case n != len(buf):
		b.record(op, off, fmt.Errorf("%d of %d bytes", n, len(buf)))
	default:
		return
	}
	b.fail(write, buf)
}

// fail makes a failed read return all ones.
func (b *RegionBus) fail(write bool, buf []byte) {
	if !write {
		for i := range buf {
			buf[i] = 0xff
		}
	}
}

// Read8 reads the 8-bit register at off.
func (b *RegionBus) Read8(off uintptr) uint8 {
	var v [1]byte
	b.io(false, off, v[:])
	return v[0]
}

// Read16 reads the 16-bit register at off.
func (b *RegionBus) Read16(off uintptr) uint16 {
	var v [2]byte
	b.io(false, off, v[:])
	return binary.LittleEndian.Uint16(v[:])
}

// Read32 reads the 32-bit register at off.
func (b *RegionBus) Read32(off uintptr) uint32 {
	var v [4]byte
	b.io(false, off, v[:])
	return binary.LittleEndian.Uint32(v[:])
}

// Read64 reads the 64-bit register at off.
func (b *RegionBus) Read64(off uintptr) uint64 {
	var v [8]byte
	b.io(false, off, v[:])
	return binary.LittleEndian.Uint64(v[:])
}

// Write8 writes the 8-bit register at off.
func (b *RegionBus) Write8(off uintptr, v uint8) { b.io(true, off, []byte{v}) }

// Write16 writes the 16-bit register at off.
func (b *RegionBus) Write16(off uintptr, v uint16) {
	b.io(true, off, binary.LittleEndian.AppendUint16(nil, v))
}

// Write32 writes the 32-bit register at off.
func (b *RegionBus) Write32(off uintptr, v uint32) {
	b.io(true, off, binary.LittleEndian.AppendUint32(nil, v))
}

// Write64 writes the 64-bit register at off.
func (b *RegionBus) Write64(off uintptr, v uint64) {
	b.io(true, off, binary.LittleEndian.AppendUint64(nil, v))
}
