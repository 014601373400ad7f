package main

import (
	"os"
	"testing"

	"github.com/ipcu/ipcu/internal/leakcheck"
)

func TestMain(m *testing.M) {
	// The shm-proc transport re-executes the binary as its peer.
	if code, ok := childMain(); ok {
		os.Exit(code)
	}
	leakcheck.Main(m)
}
