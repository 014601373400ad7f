package vm

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd get SIGKILL when this process dies, even if it
// is killed (a test binary's -timeout panic, a cancelled CI job) before it
// can kill QEMU. (The kernel sends it when the thread that forked exits;
// the Go runtime ends a thread only under a goroutine that exits locked to
// it, which boot's callers do not do.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
