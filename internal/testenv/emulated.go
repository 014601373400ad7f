package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// EmulatedVar is the environment variable with which a runner declares that
// the test binaries run under a user-mode emulator, and which one:
// scripts/cross sets IPCU_EMULATED=qemu-user when it runs a linux/arm,
// linux/arm64 or linux/riscv64 test binary under qemu-user-static.
const EmulatedVar = "IPCU_EMULATED"

// Emulated returns the user-mode emulator the test binary runs under, as the
// runner declares it in IPCU_EMULATED, or "" when it runs natively.
//
// User-mode emulation translates the program's instructions and forwards
// its system calls to the host kernel. Most work; what does not is what the
// emulator does not translate (ioctls it has no table for, bpf(2), some
// clone flags) and exec of the program itself, which the host kernel cannot
// run unless a binfmt_misc handler is registered.
func Emulated() string { return os.Getenv(EmulatedVar) }

// UnsupportedEmulated skips tb under emulation, through Unsupported, with
// reason: what the emulator lacks that the test needs. It does nothing when
// the test runs natively.
func UnsupportedEmulated(tb testing.TB, reason string) {
	tb.Helper()
	if emu := Emulated(); emu != "" {
		Unsupported(tb, fmt.Sprintf("under %s (%s): %s", emu, runtime.GOARCH, reason))
	}
}

// RequireSelfExec gates a test that runs its own binary (os.Args[0]) again
// as a child process. Natively that always works. Under emulation the child
// is an exec of a foreign binary by the host kernel, which fails with
// ENOEXEC unless a binfmt_misc handler for the emulator is registered:
// RequireSelfExec tries it once per process, and skips the test through
// Unsupported when the kernel refuses the format. Any other failure goes
// through Require.
func RequireSelfExec(tb testing.TB) {
	tb.Helper()
	emu := Emulated()
	if emu == "" {
		return
	}
	selfExecOnce.Do(func() { selfExecErr = trySelfExec() })
	switch {
	case errors.Is(selfExecErr, syscall.ENOEXEC):
		Unsupported(tb, fmt.Sprintf("under %s (%s): the test runs its binary again as a child process, and the host kernel cannot exec a binary for GOARCH=%s without a binfmt_misc handler (%v)",
			emu, runtime.GOARCH, runtime.GOARCH, selfExecErr))
	case selfExecErr != nil:
		Require(tb, "running the test binary again", selfExecErr)
	}
}

var (
	selfExecOnce sync.Once
	selfExecErr  error
)

// trySelfExec starts os.Args[0] running no test and stops it: exec reports
// a refused format synchronously, from Start. Under emulation with no
// binfmt_misc handler registered at all it does not try, and returns
// ENOEXEC: qemu-user's emulated fork can hang when the exec fails (seen
// with qemu-arm-static, the parent stuck in wait4 for a child that never
// exits).
func trySelfExec() error {
	if Emulated() != "" && !binfmtHandlers(binfmtDir) {
		return fmt.Errorf("no binfmt_misc handler in %s: %w", binfmtDir, syscall.ENOEXEC)
	}
	cmd := SelfCommand("-test.run=^$", "-test.count=1")
	if err := cmd.Start(); err != nil {
		return err
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil
}

// SelfCommand returns a command that runs the test binary (os.Args[0])
// again with args, in ChildEnv (cmd.Env: add to it).
func SelfCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = ChildEnv()
	return cmd
}

// ChildEnv returns the environment for a child process a test starts from
// its own binary: the test's, with the race detector's sleep at exit
// turned off unless GORACE sets it. A race-enabled binary sleeps a second
// at exit by default, so that racing goroutines get reported
// (atexit_sleep_ms), and the test that started the child waits for it: a
// second a child, for nothing.
func ChildEnv() []string {
	env := os.Environ()
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		env = append(env, "GORACE="+strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	return env
}

// binfmtDir is where binfmt_misc lists its handlers, one file each beside
// "register" and "status".
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// binfmtHandlers reports whether dir lists any binfmt_misc handler.
func binfmtHandlers(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if n := e.Name(); n != "register" && n != "status" {
			return true
		}
	}
	return false
}
