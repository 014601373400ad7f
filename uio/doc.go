// Package uio drives devices through Linux's userspace I/O framework (UIO,
// drivers/uio): a small kernel driver exports a device's memory regions
// and interrupt as /dev/uioN, and the driver proper runs in the process.
//
// List and Find read the devices from sysfs (/sys/class/uio/uioN: name,
// version, maps/mapM and portio/portM), without opening anything. Open
// returns a Device: Map maps one of its memory regions as a *regs.Window,
// IRQ returns its interrupt as an irq.Source (a blocked Wait parks in the
// Go netpoller; Close wakes it with os.ErrClosed). For a PCI function bound
// to uio_pci_generic, whose maps directory is empty, PCIResource maps a BAR
// through sysfs resourceN, and EnableINTx and DisableINTx toggle the
// interrupt-disable bit of the PCI command register through sysfs config.
//
// # Requirements
//
// Linux with a UIO driver bound to the device: uio_pci_generic for a PCI
// function (echo the vendor and device ids to
// /sys/bus/pci/drivers/uio_pci_generic/new_id), uio_pdrv_genirq or
// uio_dmem_genirq for a platform device described in the device tree
// (compatible = "generic-uio" with uio_pdrv_genirq.of_id=generic-uio), or a
// driver of its own. The process needs read and write access to /dev/uioN
// (root, or a udev rule) and, for the PCI methods, to the function's sysfs
// resource and config files, which only root can open for writing by
// default. On other systems List and Find work on a given sysfs tree and
// Open fails with ErrNotSupported.
//
// # Interrupts
//
// A read of /dev/uioN returns the device's 32-bit interrupt total once it
// has changed since the reader's previous read: Wait turns it into the
// number of interrupts since the previous Wait, and counts those beyond
// the first as missed. The kernel handler of a level-triggered line masks
// it (uio_pci_generic sets the PCI interrupt-disable bit); the driver
// clears the cause in the device, then calls Ack, which writes 1 to the
// node so that the kernel driver's irqcontrol unmasks it, or, for a
// driver without irqcontrol (uio_pci_generic has none: the write fails
// with ENOSYS), clears the interrupt-disable bit through the PCI
// function's config space.
//
// # Tests
//
// Discovery, every parsing error and the PCI configuration accesses are
// tested on a fake sysfs tree under a temporary directory, and the
// interrupt's waiting, deadlines and closing on a FIFO that stands in for
// the device node, so they run anywhere. The tests that need a real UIO
// device go through testenv.Require: they skip on a developer's machine and
// run in the QEMU guest, where IPCU_REQUIRE_ALL=1 makes a missing device a
// failure. FuzzParseHex fuzzes the sysfs number parser.
package uio
