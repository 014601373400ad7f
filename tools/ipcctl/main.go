// Command ipcctl is the bring-up tool for IPC blocks: it finds the device,
// binds it to a userspace driver, reads and writes its registers with every
// field decoded, sends and receives mailbox messages, watches its interrupts,
// runs the bring-up checklist and says what the machine lacks. It works on a
// board over a serial console and, against the built-in model of the
// reference block, on any Linux laptop.
//
// Usage:
//
//	ipcctl [-json] COMMAND [ARGS]
//
//	ipcctl list                                  UIO, VFIO and PCI devices: driver, IOMMU group, regions, interrupts
//	ipcctl bind ADDR [vfio-pci|uio_pci_generic]  bind a PCI function through driver_override (default vfio-pci)
//	ipcctl unbind ADDR                           give it back to the driver it had before bind
//	ipcctl regs map [-svd FILE] [PERIPH...]      print a register map as a datasheet table
//	ipcctl regs dump DEVICE                      read every register, decode its fields, mark values off reset
//	ipcctl regs read DEVICE REG...               read registers: NAME, NAME.FIELD or an offset
//	ipcctl regs write DEVICE REG[.FIELD]=VALUE...
//	                                             write registers, or one field by read-modify-write
//	ipcctl mbox send DEVICE MBOX MESSAGE         send a message on a mailbox
//	ipcctl mbox recv DEVICE MBOX                 receive messages from a mailbox
//	ipcctl mbox ping DEVICE                      round trips through another core's echo
//	ipcctl irq watch DEVICE                      count interrupts (rate, missed, spurious) until
//	                                             -count, -duration or SIGINT; -raise makes test interrupts
//	ipcctl selftest [-inject FAULT] DEVICE       the bring-up checklist: identification and reset values,
//	                                             access control, every mailbox, doorbells, interrupt delivery
//	                                             and latency, every DMA channel; a PASS/FAIL table (on fake
//	                                             with the model's cores, or -loopback from core 0 alone as
//	                                             on a board)
//	ipcctl doctor                                IOMMU, group viability, memlock, huge pages, device node
//	                                             permissions, modules: what is wrong and how to fix it
//
// Devices are named fake (a model of the reference block, in the process),
// uio:NAME or uio:uioN, and vfio:0000:00:03.0. Register descriptions: the
// reference block's (regs/ipcu) by default, edu's for QEMU's edu device
// (PCI ID 1234:11e8) or with -map edu, any CMSIS-SVD file with -svd FILE
// [-peripheral NAME]. Faults for selftest -inject on fake: stuck-id,
// stuck-reg, no-violation-log, stuck-mbox, stuck-doorbell, lost-irq,
// dup-irq, spurious-irq, dma-error, garbage-desc (ipcctl selftest -h says
// which check each one fails).
//
// Output is a table for people on stdout, or with -json (--json) a JSON
// document whose schema (with its schema_version) docs/ipcctl.md
// describes; diagnostics and progress go to stderr. -root DIR (list, bind,
// unbind, doctor and the device commands) reads sys, proc, dev and run
// under DIR instead of /.
//
// Exit status: 0 success; 1 failure, or a failed check of selftest or
// doctor; 2 bad usage; 3 device not found; 4 permission denied.
//
// The commands are implemented in internal/ipcctl, which the QEMU guest
// tests (guest/ipcctl_test.go) run against QEMU's edu device.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ipcu/ipcu/internal/ipcctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return ipcctl.Run(ctx, args, ipcctl.Env{Stdout: stdout, Stderr: stderr})
}
