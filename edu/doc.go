// Package edu is a userspace driver for QEMU's edu PCI device (PCI ID
// 1234:11e8, "-device edu"), the kit's worked example on a real device.
//
// # The device
//
// edu is QEMU's educational device (hw/misc/edu.c, specified in QEMU's
// docs/specs/edu.rst). BAR0 is 1 MiB of MMIO whose first 0x100 bytes hold
// the registers of package eduregs: an identification register (0x010000ed
// for version 1.0), a liveness register that reads back the inverse of what
// was written, a factorial unit that computes n! in the background and can
// interrupt when done, an interrupt status register with raise and
// acknowledge registers, and a DMA engine that copies between memory and a
// 4096-byte buffer inside the device (at device address 0x40000). edu only
// takes 4-byte accesses below 0x80 and 4- or 8-byte accesses from 0x80 on,
// and silently drops any other; its device addresses are 28 bits wide by
// default ("-device edu,dma_mask=..." changes it) and it clamps, rather
// than refuses, an address beyond them. Its interrupt is INTx by default,
// MSI when enabled; either way it stays pending until the acknowledge
// register clears it.
//
// # The worked example
//
// The driver is built from the kit's parts the way every driver of the kit
// is, and takes each of them explicitly in New:
//
//   - a regs.Bus for BAR0, on which the generated register map
//     (eduregs, from edu.svd by tools/regsgen) gives typed 32- and 64-bit
//     registers, so the 4-byte rule holds by construction;
//   - an irq.Source for the interrupt line, used with the handler pattern of
//     package irq: read the status, acknowledge it in the device, re-arm the
//     line (Ack), then re-check the status so that nothing raised meanwhile
//     is lost;
//   - a dmaring.Memory for DMA buffers, whose device addresses the driver
//     checks against edu's address limit before it programs a transfer.
//
// Which transport provides what:
//
//   - VFIO (vfio-pci) gives all three: BAR0 mapped from the device fd, INTx
//     or MSI on an eventfd, and IOMMU-mapped DMA memory.
//   - UIO (uio_pci_generic) gives the bus (uio.Device.PCIResource(0)) and
//     the INTx line (uio.Device.IRQ(), whose Ack re-enables INTx), but no
//     IOMMU and so no DMA memory: pass a nil Memory and the DMA operations
//     return ErrNoDMA.
//   - A nil line is allowed too: the driver then polls the device's status
//     registers instead of waiting for interrupts.
//
// # Errors and deadlines
//
// Every error is an *Error naming the operation, wrapping one of the
// package's sentinels (ErrNotEdu, ErrVersion, ErrLiveness, ErrBusy,
// ErrAddressLimit, ErrBufferRange, ErrNoDMA) or the cause. A context whose
// deadline passes gives an error wrapping os.ErrDeadlineExceeded.
//
// # Tests
//
// The host tests run the driver against a software model of edu's register
// semantics (inversion, factorial, interrupt raise and acknowledge, DMA with
// a fake Memory) that also fails any access of the wrong width. The guest
// tests (package guest, built with -tags ipcu_guest and run in a QEMU VM by
// tools/vmtest) run it against the real device through uio_pci_generic,
// and through vfio-pci with DMA and MSI.
package edu
