// Package guest holds integration tests that run as root inside a QEMU
// virtual machine, against a real kernel and emulated PCI devices: QEMU's
// edu device (1234:11e8) and an ivshmem-plain device (1af4:1110) whose
// memory is a file on the host.
//
// The tests carry the ipcu_guest build tag, so that go test and go vet on
// the host do not build them. tools/vmtest compiles them statically
// (CGO_ENABLED=0 go test -c -tags ipcu_guest), puts them in an initramfs
// with busybox and the uio and vfio modules, boots it and reports their
// output:
//
//	go run ./tools/vmtest                      # boot and run them
//	go test ./tools/vmtest/ -run TestGuest -v  # the same, as a host test
//
// The guest's /init mounts proc, sysfs, devtmpfs and a tmpfs on /tmp, loads
// the modules and runs the test binary with IPCU_REQUIRE_ALL=1.
//
// The ivshmem test is the guest half of the shared-memory check described in
// tools/vmtest/vm (Pattern): it reads the host's pattern through BAR2 and
// writes its own for the host to check.
package guest
