// Command vmtest boots the guest integration tests (package guest) in a
// QEMU virtual machine with QEMU's edu and ivshmem-plain PCI devices, and
// prints their output. It exits with status 1 when the tests fail.
//
// Usage:
//
//	go run ./tools/vmtest [-run regexp] [-kvm] [-timeout 3m] [-console] [-kernel /boot/vmlinuz-...]
//
// The host side of the shared-memory check lives in this directory's
// TestGuest, which runs the same VM from go test and is gated by
// internal/testenv: it skips when QEMU, a kernel or busybox is missing and
// fails under IPCU_REQUIRE_ALL=1. The harness itself is package
// tools/vmtest/vm.
package main
