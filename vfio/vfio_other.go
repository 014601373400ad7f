//go:build !linux

package vfio

import (
	"fmt"
	"runtime"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/regs"
)

// errOther is the error of op off Linux.
func errOther(op string) error {
	return &Error{Op: op, Err: fmt.Errorf("%w on %s: VFIO is a Linux interface", ErrNotSupported, runtime.GOOS)}
}

// Open fails with ErrNotSupported: VFIO is a Linux interface.
func Open(pciAddr string, opts *Options) (*Device, error) { return nil, errOther("open") }

// Region fails with ErrNotSupported.
func (d *Device) Region(index int) (RegionInfo, error) { return RegionInfo{}, errOther("region info") }

// Map fails with ErrNotSupported.
func (d *Device) Map(index int) (*regs.Window, error) { return nil, errOther("map") }

// MapRange fails with ErrNotSupported.
func (d *Device) MapRange(index int, off, size uint64) (*regs.Window, error) {
	return nil, errOther("map")
}

// RegionBus fails with ErrNotSupported.
func (d *Device) RegionBus(index int) (*RegionBus, error) { return nil, errOther("region bus") }

// ConfigRead16 fails with ErrNotSupported.
func (d *Device) ConfigRead16(off int) (uint16, error) { return 0, errOther("config read16") }

// ConfigWrite16 fails with ErrNotSupported.
func (d *Device) ConfigWrite16(off int, v uint16) error { return errOther("config write16") }

// EnableBusMaster fails with ErrNotSupported.
func (d *Device) EnableBusMaster() error { return errOther("enable bus master") }

// Reset fails with ErrNotSupported.
func (d *Device) Reset() error { return errOther("reset") }

// Close does nothing.
func (d *Device) Close() error { return nil }

// MSI fails with ErrNotSupported.
func (d *Device) MSI(n int) ([]irq.Source, error) { return nil, errOther("msi") }

// MSIX fails with ErrNotSupported.
func (d *Device) MSIX(n int) ([]irq.Source, error) { return nil, errOther("msix") }

// INTx fails with ErrNotSupported.
func (d *Device) INTx() (irq.Source, error) { return nil, errOther("intx") }

// DisableInterrupts fails with ErrNotSupported.
func (d *Device) DisableInterrupts() error { return errOther("disable interrupts") }

// DMA fails with ErrNotSupported.
func (d *Device) DMA(opts *DMAOptions) (*DMAMemory, error) { return nil, errOther("dma") }

// Alloc fails with ErrNotSupported.
func (m *DMAMemory) Alloc(size, align int) (dmaring.Region, error) { return nil, errOther("dma alloc") }

// Close does nothing.
func (m *DMAMemory) Close() error { return nil }

// Free does nothing.
func (r *DMARegion) Free() error { return nil }
