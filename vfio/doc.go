// Package vfio drives a PCI function from userspace through Linux's VFIO
// framework (drivers/vfio): the kernel's vfio-pci driver hands the
// process the device's regions, interrupts and an IOMMU domain, so that
// the device can DMA only into memory the process mapped for it.
//
// Open takes a PCI address, finds its IOMMU group, checks that the group
// is viable (every device in it bound to vfio-pci or to no driver, naming
// those that are not), opens the container /dev/vfio/vfio and the group
// /dev/vfio/N, selects the type1v2 IOMMU and gets the device's file
// descriptor. The returned Device gives:
//
//   - regions: Region describes one; Map and MapRange mmap a BAR as a
//     *regs.Window (sparse areas respected); RegionBus reaches any region
//     with pread/pwrite of exactly the access width, for the configuration
//     space and what cannot be mapped; EnableBusMaster and
//     ConfigRead16/ConfigWrite16 cover the configuration registers;
//   - interrupts: MSI, MSIX and INTx return irq.Source values over
//     eventfds that VFIO signals; the INTx source's Ack unmasks the line,
//     which vfio-pci masks at each interrupt;
//   - DMA: DMA returns a DMAMemory, a dmaring.Memory whose Alloc maps
//     pinned, page-aligned anonymous memory in the IOMMU at an IOVA below
//     the device's address limit (Options.DMALimitBits) inside the IOVA
//     ranges the kernel reports; Free unmaps it from the IOMMU, then from
//     the process;
//   - Reset, and Close, which releases everything above.
//
// # Requirements
//
// Linux with an IOMMU (intel_iommu=on or amd_iommu=on) and the vfio-pci
// module, the device bound to vfio-pci (pci.Bind), and read-write access
// to /dev/vfio/vfio and /dev/vfio/N (root, or a udev rule). DMA memory is
// pinned and counts against RLIMIT_MEMLOCK unless the process has
// CAP_IPC_LOCK; Alloc checks the limit and says how to raise it. VFIO's
// no-IOMMU mode (vfio.enable_unsafe_noiommu_mode=1) is refused unless
// Options.AllowNoIOMMU is set, and has no DMA. Errors are *Error values
// that wrap the errno (errors.Is(err, os.ErrPermission) works) or a
// sentinel of this package, and name the remedy. On other systems Open
// fails with ErrNotSupported.
//
// # Tests
//
// The group viability check runs on a fake sysfs tree, the IOVA allocator
// on made-up ranges and limits, RegionBus on a regular file and the
// locked-memory check on made-up limits, so they run anywhere. The tests
// against the real vfio-pci driver are in package guest (guest/vfio_test.go)
// and run in the QEMU VM of tools/vmtest with QEMU's edu device:
// identification through Map, MSI, INTx with unmasking, edu's DMA engine
// copying through IOMMU-mapped memory, and an allocation beyond edu's 28-bit
// DMA limit refused; and with ivshmem-plain, whose BAR2 is mapped.
package vfio
