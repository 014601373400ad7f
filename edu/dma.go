package edu

import (
	"context"
	"fmt"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/edu/eduregs"
)

// MaxEnd is the end (exclusive) of the part of edu's buffer a transfer
// may use: one byte short of BufferSize, because QEMU's range check
// (edu_check_range, QEMU 7.2) wants a transfer's end strictly inside the
// buffer and stops the whole machine (hw_error) for one that ends on the
// buffer's last byte.
const MaxEnd = BufferSize - 1

// checkBuffer checks that n bytes at devOff fit in [0, MaxEnd) of edu's
// buffer. QEMU aborts the machine on a DMA outside it, so this is checked
// before anything is programmed.
func checkBuffer(devOff, n int) error {
	if devOff < 0 || n < 0 || devOff > MaxEnd || n > MaxEnd-devOff {
		return fmt.Errorf("%d bytes at buffer offset %#x, usable buffer [%#x, %#x): %w",
			n, devOff, BufferAddr, BufferAddr+MaxEnd, ErrBufferRange)
	}
	return nil
}

// checkAddr checks that n bytes at off in r fit in r, and that their device
// addresses lie below the DMA mask; it returns the device address.
func (d *Device) checkAddr(r dmaring.Region, off, n int) (uint64, error) {
	if size := len(r.Bytes()); off < 0 || n < 0 || off > size || n > size-off {
		return 0, fmt.Errorf("%d bytes at offset %#x of a %d-byte region: %w", n, off, size, ErrBufferRange)
	}
	addr := r.Addr() + uint64(off)
	if addr < r.Addr() || addr > d.lim || uint64(n) > d.lim-addr {
		return 0, fmt.Errorf("%d bytes at device address %#x, limit %#x: %w", n, addr, d.lim, ErrAddressLimit)
	}
	return addr, nil
}

// ToDevice copies n bytes at offset off of src into edu's buffer at devOff,
// by DMA from memory to the device, and waits until the transfer is done.
//
// Before programming anything it checks that the range lies in src, in the
// buffer, and below the DMA mask (ErrBufferRange, ErrAddressLimit). The
// transfer is programmed with 8-byte accesses (source, destination, count,
// then command); completion is interrupt IRQDMA when the Device has a line,
// DMA_CMD.START clearing otherwise. If ctx is done first, the transfer
// still runs in the device: src must not be freed until it is over (a
// later DMA then fails with ErrBusy). A region that tracks transfers in
// flight (vfio's DMARegion: Hold, Release) stays held in that case, so that
// its Free is refused rather than unmapping memory under the device.
func (d *Device) ToDevice(ctx context.Context, src dmaring.Region, off, devOff, n int) error {
	const op = "to device"
	addr, err := d.checkAddr(src, off, n)
	if err == nil {
		err = checkBuffer(devOff, n)
	}
	if err != nil {
		return &Error{op, err}
	}
	return d.transfer(ctx, op, src, addr, BufferAddr+uint64(devOff), n, eduregs.DMA_CMD_DIR_TO_DEVICE)
}

// FromDevice copies n bytes of edu's buffer at devOff to offset off of dst,
// by DMA from the device to memory, and waits until the transfer is done.
// It checks and waits as ToDevice does; read dst once the call returns
// without error.
func (d *Device) FromDevice(ctx context.Context, dst dmaring.Region, off, devOff, n int) error {
	const op = "from device"
	addr, err := d.checkAddr(dst, off, n)
	if err == nil {
		err = checkBuffer(devOff, n)
	}
	if err != nil {
		return &Error{op, err}
	}
	return d.transfer(ctx, op, dst, BufferAddr+uint64(devOff), addr, n, eduregs.DMA_CMD_DIR_FROM_DEVICE)
}

// holder is a Region that tracks the transfers in flight into or out of
// it, such as vfio.DMARegion: its Free is refused while it is held.
type holder interface {
	Hold()
	Release()
}

// transfer runs one checked DMA into or out of mem.
func (d *Device) transfer(ctx context.Context, op string, mem dmaring.Region, src, dst uint64, n int, dir eduregs.DMA_CMD_DIR) error {
	if n == 0 {
		return nil
	}
	if err := d.acquire(ctx, op); err != nil {
		return err
	}
	defer d.release()
	// edu ignores writes to the DMA registers while a transfer runs.
	if eduregs.DMA_CMD.START.Get(d.r.DMA_CMD.Read()) != 0 {
		return &Error{op, fmt.Errorf("a DMA is in progress: %w", ErrBusy)}
	}
	irqBit := uint64(0)
	if d.line != nil {
		irqBit = 1
	}
	d.r.DMA_SRC.Write(src)
	d.r.DMA_DST.Write(dst)
	d.r.DMA_COUNT.Write(uint64(n))
	// The command comes last: edu starts on the write of START, with the
	// addresses and count programmed before it (MMIO writes to one device
	// are not reordered, PCI ordering rules).
	cmd := eduregs.DMA_CMD.START.Val(1).Bits |
		eduregs.DMA_CMD.DIR.Val(dir).Bits |
		eduregs.DMA_CMD.IRQ.Val(irqBit).Bits
	h, tracks := mem.(holder)
	if tracks {
		h.Hold()
	}
	d.forget(IRQDMA)
	d.r.DMA_CMD.Write(cmd)
	idle := func() bool { return eduregs.DMA_CMD.START.Get(d.r.DMA_CMD.Read()) == 0 }
	if _, err := d.await(ctx, IRQDMA, idle); err != nil {
		// The transfer may still run: mem stays held.
		return &Error{op, err}
	}
	if tracks {
		h.Release()
	}
	return nil
}

// RoundTrip sends data into edu's buffer at devOffset by DMA and reads it
// back by DMA into a second region, returning what came back. Data longer
// than the room from devOffset to MaxEnd goes in chunks of that room, each
// through the buffer at devOffset. It needs the
// Device's Memory (ErrNoDMA without one) and allocates and frees both
// regions; a region the device may still write after a missed deadline is
// not freed (it is leaked rather than handed back while in use).
func (d *Device) RoundTrip(ctx context.Context, data []byte, devOffset int) (_ []byte, err error) {
	const op = "round trip"
	if d.mem == nil {
		return nil, &Error{op, ErrNoDMA}
	}
	if devOffset < 0 || devOffset >= MaxEnd {
		return nil, &Error{op, checkBuffer(devOffset, 1)}
	}
	if len(data) == 0 {
		return []byte{}, nil
	}
	src, err := d.mem.Alloc(len(data), 4096)
	if err != nil {
		return nil, &Error{op, fmt.Errorf("allocating the source: %w", err)}
	}
	defer d.free(op, src, &err)
	dst, err := d.mem.Alloc(len(data), 4096)
	if err != nil {
		return nil, &Error{op, fmt.Errorf("allocating the destination: %w", err)}
	}
	defer d.free(op, dst, &err)
	copy(src.Bytes(), data)
	clear(dst.Bytes()[:len(data)])
	room := MaxEnd - devOffset
	for off := 0; off < len(data); off += room {
		n := min(room, len(data)-off)
		if err := d.ToDevice(ctx, src, off, devOffset, n); err != nil {
			return nil, err
		}
		if err := d.FromDevice(ctx, dst, off, devOffset, n); err != nil {
			return nil, err
		}
	}
	out := make([]byte, len(data))
	copy(out, dst.Bytes())
	return out, nil
}

// free frees r unless a DMA is still running, and reports a failure to
// free in *err unless it already holds an error.
func (d *Device) free(op string, r dmaring.Region, err *error) {
	d.turn <- struct{}{}
	busy := eduregs.DMA_CMD.START.Get(d.r.DMA_CMD.Read()) != 0
	d.release()
	if busy {
		return
	}
	if ferr := r.Free(); ferr != nil && *err == nil {
		*err = &Error{op, fmt.Errorf("freeing a region: %w", ferr)}
	}
}
