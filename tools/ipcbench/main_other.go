//go:build !linux

package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "ipcbench: not supported on %s: it measures Linux IPC mechanisms\n", runtime.GOOS)
	os.Exit(exitFailure)
}

// childMain is the peer process of the shm-proc transport, on Linux only.
func childMain() (int, bool) { return 0, false }
