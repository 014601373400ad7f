// Package ipcctl implements the commands of the ipcctl bring-up tool
// (tools/ipcctl): list, bind, unbind, regs map|dump|read|write,
// mbox send|recv|ping, irq watch, selftest and doctor. Run takes a command
// line and an Env (output streams, the root of /sys, /proc, /dev and /run)
// and returns the exit status, so that the tool's tests and the QEMU guest
// tests run the commands in process. docs/ipcctl.md documents the commands,
// the exit statuses and the JSON schema (SchemaVersion).
//
// # Kernel and privileges
//
// fake, the model of the reference block (fakedev), needs Linux eventfds
// and no privilege. list and doctor read sysfs and procfs as any user.
// bind and unbind write sysfs files owned by root. The device commands on
// uio and vfio devices need read-write access to /dev/uioN or
// /dev/vfio/N (root, or a udev rule) and, for VFIO, an IOMMU; doctor says
// what is missing.
//
// # Tests
//
// Golden files (testdata/*.golden, rewritten by go test -update) hold the
// human output, JSON, diagnostics and exit status of every command on fake
// and on fake system trees (testdata/trees/*.txtar); selftest runs with each
// injectable fault; bind and unbind run on a fake kernel over a fake sysfs
// tree. The guest tests (guest/ipcctl_test.go, run by tools/vmtest under
// QEMU) run list, bind, unbind, regs and irq watch against QEMU's edu device
// through vfio-pci and uio_pci_generic.
package ipcctl
