package fakedev

import "github.com/ipcu/ipcu/regs"

// A Core is the block seen from one initiator: a regs.Bus whose every access
// carries the core's id, so that access control applies, and the core's
// interrupt line.
type Core struct {
	d  *Device
	id int
}

// ID returns the core's initiator id.
func (c *Core) ID() int { return c.id }

// Size returns BlockSize: the window covers the block's whole decode.
func (c *Core) Size() uintptr { return BlockSize }

// EventFD returns the eventfd that receives the core's interrupt
// notifications (docs/ipcu.md 6.3): each notification adds 1. The Device
// owns it and closes it in Close; do not close it. It is -1 for ids of
// CAPS.NCORES and above, which have no interrupt line.
func (c *Core) EventFD() int {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	return c.d.cores[c.id].efd
}

// Notifications returns how many notifications the core's line has
// produced since the device was created.
func (c *Core) Notifications() uint64 {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	return c.d.cores[c.id].notes
}

// Line reports whether the core's IRQ line is high.
func (c *Core) Line() bool {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	return c.d.cores[c.id].line
}

func (c *Core) read(off uintptr, bits int) uint64 {
	regs.MustCheck("read", off, bits, BlockSize)
	return c.d.access(c.id, off, bits, false, 0)
}

func (c *Core) write(off uintptr, bits int, v uint64) {
	regs.MustCheck("write", off, bits, BlockSize)
	c.d.access(c.id, off, bits, true, v)
}

// Read8 implements regs.Bus. Every register of the block is 32 or 64 bits:
// an 8-bit access to one is a BAD_SIZE violation.
func (c *Core) Read8(off uintptr) uint8 { return uint8(c.read(off, 8)) }

// Read16 implements regs.Bus (a BAD_SIZE violation on a register).
func (c *Core) Read16(off uintptr) uint16 { return uint16(c.read(off, 16)) }

// Read32 implements regs.Bus.
func (c *Core) Read32(off uintptr) uint32 { return uint32(c.read(off, 32)) }

// Read64 implements regs.Bus: one atomic access, valid on the 64-bit
// registers.
func (c *Core) Read64(off uintptr) uint64 { return c.read(off, 64) }

// Write8 implements regs.Bus (a BAD_SIZE violation on a register).
func (c *Core) Write8(off uintptr, v uint8) { c.write(off, 8, uint64(v)) }

// Write16 implements regs.Bus (a BAD_SIZE violation on a register).
func (c *Core) Write16(off uintptr, v uint16) { c.write(off, 16, uint64(v)) }

// Write32 implements regs.Bus.
func (c *Core) Write32(off uintptr, v uint32) { c.write(off, 32, uint64(v)) }

// Write64 implements regs.Bus.
func (c *Core) Write64(off uintptr, v uint64) { c.write(off, 64, v) }
