package testenv

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// recorder is a testing.TB that records how Require stopped it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestRequire(t *testing.T) {
	t.Setenv(RequireAllVar, "")
	r := &recorder{TB: t}
	Require(r, "QEMU", nil)
	assert.Empty(t, r.skipped+r.failed, "a met need neither skips nor fails")

	Require(r, "QEMU", errors.New("qemu-system-x86_64 not found"))
	assert.Contains(t, r.skipped, "needs QEMU: qemu-system-x86_64 not found")
	assert.Empty(t, r.failed)

	t.Setenv(RequireAllVar, "1")
	r = &recorder{TB: t}
	Require(r, "QEMU", errors.New("qemu-system-x86_64 not found"))
	assert.Empty(t, r.skipped)
	assert.Contains(t, r.failed, "QEMU is required (IPCU_REQUIRE_ALL=1)")

	r = &recorder{TB: t}
	Unsupported(r, "user-mode emulation has no VFIO")
	assert.Contains(t, r.skipped, "user-mode emulation has no VFIO")
	assert.Empty(t, r.failed, "Unsupported never fails")
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	assert.NoError(t, err)
	assert.FileExists(t, root+"/go.mod")
}
