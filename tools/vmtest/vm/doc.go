// Package vm boots a Linux kernel under QEMU with a Go test binary as its
// workload and reports the tests' result: the harness behind tools/vmtest.
//
// Run builds the guest tests (CGO_ENABLED=0 go test -c -tags ipcu_guest),
// writes a gzip'd cpio initramfs in Go (Initramfs) holding a static busybox,
// the uio and vfio modules of the installed kernel (Modules), an /init script
// and the test binary, then boots it:
//
//	qemu-system-x86_64 -accel tcg -M q35,kernel-irqchip=split -cpu max \
//	  -device intel-iommu,intremap=on,caching-mode=on -device edu \
//	  -object memory-backend-file,...,share=on,mem-path=<Config.SharedMem> \
//	  -device ivshmem-plain,memdev=hostmem ...
//
// The guest prints unique marker lines around the tests' output and their
// exit status; Run extracts them from the console. A run is bounded by
// Config.Timeout, after which QEMU is killed; temporary files are removed.
//
// Run also seeds a shared-memory check (Pattern, CheckGuestPattern): the
// host writes a pattern into the ivshmem file that the guest reads through
// BAR2, and the guest writes one that the host reads after the VM exits.
//
// # Requirements
//
// qemu-system-x86_64, a kernel image in /boot with its modules in
// /lib/modules (Debian: qemu-system-x86, linux-image-amd64) and a static
// busybox (busybox-static). Find reports what is missing with ErrMissing.
// No root is needed on the host. KVM is opt-in (Config.KVM) and falls back
// to TCG; software emulation boots and runs the tests in a few seconds.
package vm
