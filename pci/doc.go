// Package pci discovers PCI functions and moves them between kernel drivers
// through sysfs, so that a userspace driver can take a device from its
// kernel driver (binding it to uio_pci_generic or vfio-pci) and give it back.
//
// A Bus names the sysfs root it works on; the zero Bus, and the package-level
// functions, use /sys. Tests point a Bus at a fake tree.
//
//	restore, err := pci.Bind("0000:00:03.0", "uio_pci_generic")
//	if err != nil { ... }
//	defer restore()
//
// Bind uses driver_override, so that only the named driver may claim the
// device, then unbinds the current driver and asks the bus to probe again
// (drivers_probe, or the driver's bind file). The function it returns gives
// the device back to the driver it had before and clears driver_override.
//
// # Kernel and privileges
//
// Discovery reads world-readable sysfs files and needs no privilege. Bind and
// Unbind write sysfs files owned by root (CAP_SYS_ADMIN) and need a kernel
// with driver_override (3.16 or later) and the target driver loaded.
//
// # Errors
//
// Failures are *Error values that name the operation, the device and the
// file involved; errors.Is sees through them to the errno (os.ErrNotExist,
// os.ErrPermission) and to ErrMalformed for sysfs text that does not parse,
// ErrNoDriver when the target driver is not loaded and ErrNotBound when the
// driver did not claim the device. An address that is not a PCI function's
// (CheckAddress) is refused with ErrAddress before any file is touched.
//
// # Testing
//
// Discovery and parsing are tested on a fake sysfs tree everywhere; binding
// is tested against a real kernel in the guest tests (guest/, run by
// tools/vmtest under QEMU).
package pci
