// Package testenv decides whether a test that needs something outside the Go
// toolchain runs: root, a kernel feature, QEMU, a data folder.
//
// There is one rule, in one place. When the need is not met, the test is
// skipped on a developer's machine and fails when the environment variable
// IPCU_REQUIRE_ALL is set to 1, as CI sets it, so that a missing package or
// a broken probe cannot pass as a skip.
//
// Probe a feature by trying it and pass the error to Require; do not compare
// version strings.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireAllVar is the environment variable that turns skips into failures.
const RequireAllVar = "IPCU_REQUIRE_ALL"

// RequireAll reports whether every gated test must run (IPCU_REQUIRE_ALL=1).
func RequireAll() bool { return os.Getenv(RequireAllVar) == "1" }

// Require stops tb when err is not nil: it skips the test, or fails it under
// IPCU_REQUIRE_ALL=1. what names the need, e.g. "root" or "QEMU".
func Require(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if RequireAll() {
		tb.Fatalf("%s is required (%s=1): %v", what, RequireAllVar, err)
		return
	}
	tb.Skipf("needs %s: %v (set %s=1 to make this a failure)", what, err, RequireAllVar)
}

// Unsupported skips tb for a stated reason that holds everywhere it applies,
// such as a test that cannot run under user-mode emulation. It never fails:
// use it only where running is impossible by construction, and say why.
func Unsupported(tb testing.TB, reason string) {
	tb.Helper()
	tb.Skipf("unsupported here: %s", reason)
}

// RequireRoot requires an effective uid of 0.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	var err error
	if os.Geteuid() != 0 {
		err = fmt.Errorf("running as uid %d", os.Geteuid())
	}
	Require(tb, "root", err)
}

// RequireLinux requires GOOS=linux.
func RequireLinux(tb testing.TB) {
	tb.Helper()
	var err error
	if runtime.GOOS != "linux" {
		err = fmt.Errorf("GOOS is %s", runtime.GOOS)
	}
	Require(tb, "Linux", err)
}

// SharedDir returns the directory of optional shared test data, which sits
// beside the repository as ../shared, or at $IPCU_SHARED_DIR. sub is joined
// to it. The test is gated through Require when the directory is absent.
func SharedDir(tb testing.TB, sub string) string {
	tb.Helper()
	dir := os.Getenv("IPCU_SHARED_DIR")
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			Require(tb, "the shared data folder", err)
			return ""
		}
		dir = filepath.Join(root, "..", "shared")
	}
	dir = filepath.Join(dir, sub)
	_, err := os.Stat(dir)
	Require(tb, "the shared data folder "+dir, err)
	return dir
}

// RepoRoot returns the repository's top directory: the nearest parent of the
// working directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
