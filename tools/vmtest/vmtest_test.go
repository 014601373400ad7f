package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/tools/vmtest/vm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGuest boots the guest tests under QEMU with an ivshmem file shared
// with this process, and checks both directions of the shared memory: the
// guest checks the host's pattern, this test checks the guest's.
func TestGuest(t *testing.T) {
	_, err := vm.Find(vm.Config{})
	testenv.Require(t, "QEMU and a Debian kernel", err)

	shm := filepath.Join(t.TempDir(), "ivshmem")
	c := vm.Config{
		SharedMem: shm,
		Timeout:   3 * time.Minute,
		KVM:       testenvKVM(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := vm.Run(ctx, c)
	if res != nil {
		t.Logf("guest output:\n%s", res.Output)
		t.Logf("VM ran %v; build and boot took %v", res.Boot.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	require.NoError(t, err)
	for _, name := range []string{"TestEnvironment", "TestEduUIO", "TestEduVFIOBind", "TestIVSHMEM"} {
		assert.Contains(t, res.Output, "--- PASS: "+name)
	}
	assert.NoError(t, vm.CheckGuestPattern(shm, res.Seed))
}

func TestFindReportsMissing(t *testing.T) {
	_, err := vm.Find(vm.Config{QEMU: "/bin/true", Kernel: filepath.Join(t.TempDir(), "vmlinuz-none")})
	assert.True(t, errors.Is(err, vm.ErrMissing), "got %v", err)
}

// testenvKVM reports whether IPCU_VMTEST_KVM=1 asks for KVM.
func testenvKVM() bool { return os.Getenv("IPCU_VMTEST_KVM") == "1" }
