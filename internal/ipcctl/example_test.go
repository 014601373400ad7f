package ipcctl_test

import (
	"context"
	"os"

	"github.com/ipcu/ipcu/internal/ipcctl"
)

// Run runs a command line, here on the built-in model of the reference
// block, and returns the exit status.
func ExampleRun() {
	code := ipcctl.Run(context.Background(), []string{"regs", "read", "fake", "ID", "CAPS.NCORES"},
		ipcctl.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	if code != ipcctl.ExitOK {
		os.Exit(code)
	}
	// Output:
	// ID           0x49504355 ID=0x49504355
	// CAPS.NCORES  NCORES=0x4
}
