package regs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Map maps length bytes of the file descriptor fd at offset, shared and
// read-write, and returns a Window that owns the mapping: Close unmaps it.
// offset must be a multiple of the page size. fd stays the caller's; it may
// be closed once Map returns.
//
// This is how UIO maps (/dev/uioN at N*pagesize), VFIO regions (the device
// fd at the region's offset) and PCI resource files are mapped.
func Map(fd int, offset int64, length int, opts *WindowOptions) (*Window, error) {
	if length <= 0 {
		return nil, fmt.Errorf("map: length %d", length)
	}
	if offset < 0 || offset%int64(os.Getpagesize()) != 0 {
		return nil, fmt.Errorf("map: offset %#x is not a multiple of the page size", offset)
	}
	mem, err := unix.Mmap(fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map: %w", os.NewSyscallError("mmap", err))
	}
	w, err := NewWindow(mem, opts)
	if err != nil {
		_ = unix.Munmap(mem)
		return nil, err
	}
	w.unmap = unix.Munmap
	return w, nil
}
