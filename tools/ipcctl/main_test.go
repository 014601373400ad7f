package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/internal/testenv"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestRegsMapBuiltin(t *testing.T) {
	code, out, errOut := runCLI("regs", "map")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(out, "\n")
	assert.True(t, strings.HasPrefix(lines[0], "IPCU: Inter-processor communication unit."), lines[0])
	assert.Regexp(t, `(?m)^0x0000  ID +RO +0x49504355 `, out)
	assert.Regexp(t, `(?m)^0x0010  CTRL +RW +0x00000000 `, out)
	assert.Regexp(t, `(?m)^ +\[1\] SRST +W1S +0 `, out)
	assert.Regexp(t, `(?m)^0x0028  ERR_COUNT +RO/read clear `, out)
	assert.Regexp(t, `(?m)^0x0800  MBOX\[0\]\.CFG `, out)
	assert.Regexp(t, `(?m)^0x1010  DMA\[0\]\.TX_BASE +RW +0x0000000000000000 `, out)

	code, out2, _ := runCLI("regs", "map", "IPCU")
	assert.Equal(t, 0, code)
	assert.Equal(t, out, out2)
}

func TestUsageAndErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "usage: ipcctl"},
		{[]string{"frob"}, 2, `unknown command "frob"`},
		{[]string{"regs"}, 2, "regs needs a subcommand"},
		{[]string{"regs", "frob"}, 2, `unknown regs subcommand "frob"`},
		{[]string{"regs", "map", "-bogus"}, 2, "flag provided but not defined"},
		{[]string{"regs", "map", "NOPE"}, 1, `no peripheral "NOPE"`},
		{[]string{"selftest", "-inject", "lost-irq", "fake"}, 1, ""},
		{[]string{"regs", "dump", "vfio:nope"}, 2, "not a PCI address"},
		{[]string{"regs", "map", "-svd", "missing.svd"}, 1, "missing.svd"},
	} {
		code, _, errOut := runCLI(tt.args...)
		assert.Equal(t, tt.code, code, "%q", tt.args)
		assert.Contains(t, errOut, tt.msg, "%q", tt.args)
	}
	code, out, _ := runCLI("help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "regs map")
	code, _, errOut := runCLI("regs", "map", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "usage: ipcctl regs map")
}

func TestRegsMapSVD(t *testing.T) {
	dir := testenv.SharedDir(t, "svd")
	code, out, errOut := runCLI("regs", "map", "-svd", filepath.Join(dir, "STM32WB55_CM4.svd"), "IPCC")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^0x0000  C1CR +RW `, out)
	assert.Regexp(t, `(?m)^ +\[0\] RXOIE +RW `, out)

	// The repository's own SVD gives the same map as the built-in one.
	_, builtin, _ := runCLI("regs", "map")
	code, fromSVD, errOut := runCLI("regs", "map", "-svd", "../../regs/ipcu/ipcu.svd")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, builtin, fromSVD)
	_, err := os.Stat("../../regs/ipcu/ipcu.svd")
	require.NoError(t, err)
}
