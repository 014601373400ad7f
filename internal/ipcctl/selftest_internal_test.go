package ipcctl

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/fakedev"
)

// TestSelftestLoopbackTwice: the loopback checklist, as on a board, run
// twice on one block: the second run finds the first's configuration,
// and passes all the same (the checklist starts from a soft reset).
func TestSelftestLoopbackTwice(t *testing.T) {
	dev, err := fakedev.New(fakedev.Config{})
	require.NoError(t, err)
	defer dev.Close()
	for run := 1; run <= 2; run++ {
		p := startProgress(&Env{Stderr: io.Discard}, "selftest")
		checks := selftestLoopback(context.Background(), dev.Core(0), 0, nil, nil, "no DMA memory here", p)
		p.end()
		for _, c := range checks {
			if c.Result == resultFail {
				t.Errorf("run %d: %s FAIL: %s", run, c.Name, c.Detail)
			}
		}
	}
}
