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
