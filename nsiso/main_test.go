package nsiso_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/nsiso"
)

// TestMain runs the child roles of the tests when the binary is re-executed
// by nsiso.Reexec, and the tests, with the leak check, otherwise.
func TestMain(m *testing.M) {
	if role := nsiso.Role(); role != "" {
		if err := runChild(role, os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Whatever the harness passed down stays out of the children, so
	// that they can be checked for inheriting only what they are granted.
	if err := nsiso.MarkInherited(); err != nil && !errors.Is(err, nsiso.ErrNotSupported) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	leakcheck.Main(m)
}
