package ipcctl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The human output and the JSON document of every command, with its exit
// status and its diagnostics, against testdata/*.golden.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree string // "" for none
		args []string
		code int
	}{
		{"help", "", []string{"help"}, ExitOK},
		{"usage-none", "", nil, ExitUsage},
		{"usage-unknown", "", []string{"frob"}, ExitUsage},
		{"usage-flag", "", []string{"list", "-bogus"}, ExitUsage},
		{"usage-regs", "", []string{"regs"}, ExitUsage},
		{"usage-device", "", []string{"regs", "dump", "nvme0"}, ExitUsage},
		{"usage-vfio-addr", "", []string{"regs", "dump", "vfio:3"}, ExitUsage},

		{"regs-map", "", []string{"regs", "map"}, ExitOK},
		{"regs-map-json", "", []string{"regs", "map", "-json"}, ExitOK},
		{"regs-dump-fake", "", []string{"regs", "dump", "fake"}, ExitOK},
		{"regs-dump-fake-json", "", []string{"regs", "dump", "--json", "fake"}, ExitOK},
		{"regs-dump-fake-side-effects", "", []string{"regs", "dump", "-no-fields", "-side-effects", "fake"}, ExitOK},
		{"regs-read-fake", "", []string{"regs", "read", "fake", "ID", "CAPS", "CTRL.EN", "0x18", "DMA[1].TX_BASE"}, ExitOK},
		{"regs-read-fake-json", "", []string{"-json", "regs", "read", "fake", "VERSION", "CTRL.EN"}, ExitOK},
		{"regs-read-rc", "", []string{"regs", "read", "fake", "ERR_COUNT"}, ExitFail},
		{"regs-read-rc-allowed", "", []string{"regs", "read", "-side-effects", "fake", "ERR_COUNT"}, ExitOK},
		{"regs-read-unknown", "", []string{"regs", "read", "fake", "NOPE"}, ExitUsage},
		{"regs-read-other-core", "", []string{"regs", "read", "-core", "2", "fake", "CORE_ID"}, ExitOK},
		{"regs-write-fake", "", []string{"regs", "write", "fake", "CTRL.EN=1", "CORE[0].IRQ_MASK=0x3f", "ACL_LOCK=0"}, ExitOK},
		{"regs-write-fake-json", "", []string{"regs", "write", "-json", "fake", "CTRL.EN=1"}, ExitOK},
		{"regs-write-too-big", "", []string{"regs", "write", "fake", "CTRL.EN=2"}, ExitUsage},
		{"regs-write-syntax", "", []string{"regs", "write", "fake", "CTRL"}, ExitUsage},

		{"selftest-fake", "", []string{"selftest", "fake"}, ExitOK},
		{"selftest-fake-json", "", []string{"selftest", "-json", "fake"}, ExitOK},
		{"selftest-loopback", "", []string{"selftest", "-loopback", "fake"}, ExitOK},
		{"selftest-dma-error", "", []string{"selftest", "-inject", "dma-error", "fake"}, ExitFail},
		{"selftest-unknown-fault", "", []string{"selftest", "-inject", "gremlins", "fake"}, ExitUsage},
		{"selftest-fault-not-fake", "", []string{"selftest", "-inject", "lost-irq", "uio:uio0"}, ExitUsage},

		{"list-board", "board", []string{"list"}, ExitOK},
		{"list-board-json", "board", []string{"list", "-json"}, ExitOK},
		{"list-laptop", "laptop", []string{"list"}, ExitOK},
		{"doctor-board", "board", []string{"doctor"}, ExitFail},
		{"doctor-board-json", "board", []string{"doctor", "-json"}, ExitFail},
		{"doctor-laptop", "laptop", []string{"doctor"}, ExitFail},

		{"bind-no-driver", "laptop", []string{"bind", "0000:00:03.0"}, ExitFail},
		{"bind-not-found", "board", []string{"bind", "0000:00:09.0", "uio"}, ExitNotFound},
		{"bind-already", "board", []string{"bind", "vfio:0000:00:03.0", "vfio"}, ExitOK},
		{"bind-bad-addr", "board", []string{"bind", "03.0"}, ExitUsage},

		{"open-uio-not-found", "board", []string{"regs", "dump", "uio:uio9"}, ExitNotFound},
		{"open-vfio-not-found", "board", []string{"regs", "dump", "vfio:0000:00:09.0"}, ExitNotFound},
		{"open-vfio-not-bound", "board", []string{"regs", "dump", "vfio:0000:00:02.0"}, ExitFail},
		{"open-vfio-not-viable", "board", []string{"regs", "dump", "vfio:0000:00:05.0"}, ExitFail},

		{"irq-watch-fake", "", []string{"irq", "watch", "-duration", "1m", "-count", "5", "-raise", "1ms", "-interval", "0", "fake"}, ExitOK},
		{"irq-watch-fake-json", "", []string{"irq", "watch", "-json", "-duration", "1m", "-count", "3", "-raise", "1ms", "fake"}, ExitOK},
		{"irq-watch-no-limit", "", []string{"irq", "watch", "fake"}, ExitUsage},

		{"mbox-send-fake", "", []string{"mbox", "send", "fake", "3", "hello"}, ExitOK},
		{"mbox-send-fake-json", "", []string{"mbox", "send", "-json", "-hex", "fake", "3", "00ff"}, ExitOK},
		{"mbox-recv-fake", "", []string{"mbox", "recv", "-count", "2", "fake", "4"}, ExitOK},
		{"mbox-recv-fake-json", "", []string{"mbox", "recv", "-json", "-message", "hi", "fake", "4"}, ExitOK},
		{"mbox-ping-fake-json", "", []string{"mbox", "ping", "-json", "-count", "3", "fake"}, ExitOK},
		{"mbox-ping-fake", "", []string{"mbox", "ping", "-count", "3", "-size", "4", "fake"}, ExitOK},
		{"mbox-bad-mailbox", "", []string{"mbox", "send", "fake", "16", "x"}, ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{}
			root := ""
			if tc.tree != "" {
				root = buildTree(t, tc.tree)
				env = fakeEnv(root)
			}
			code, out, errOut := run(t, env, tc.args...)
			assert.Equal(t, tc.code, code, "exit status; stderr:\n%s", errOut)
			if strings.Contains(strings.Join(tc.args, " "), "json") && tc.code != ExitUsage && out != "" {
				var doc map[string]any
				require.NoError(t, json.Unmarshal([]byte(out), &doc), "valid JSON")
				assert.EqualValues(t, SchemaVersion, doc["schema_version"])
				assert.NotEmpty(t, doc["command"])
			}
			golden(t, tc.name, normalize(fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out, errOut), root))
		})
	}
}

// selftest fake passes, with every check there, and its report says so.
func TestSelftestFakePasses(t *testing.T) {
	code, out, errOut := run(t, Env{}, "selftest", "fake")
	require.Equal(t, ExitOK, code, "%s\n%s", out, errOut)
	for _, name := range []string{"identification", "reset values", "access control", "mailbox 0", "mailbox 15",
		"doorbells", "interrupt delivery", "dma channel 0", "dma channel 3"} {
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(name)+` +PASS `, out)
	}
	assert.NotContains(t, out, "FAIL")
	assert.Regexp(t, `latency min \S+, p50 \S+, p99 \S+, max \S+`, out)
	assert.True(t, strings.HasSuffix(out, "\nPASS\n"))
}

// Each injectable fault fails its own check, with exit status 1, with the
// model's cores and in loopback.
func TestSelftestFaults(t *testing.T) {
	require.Len(t, faultNames(), len(faults))
	for _, f := range faults {
		t.Run(f.name+"/loopback", func(t *testing.T) {
			code, out, errOut := run(t, Env{}, "selftest", "-loopback", "-inject", f.name, "fake")
			assert.Equal(t, ExitFail, code, "%s\n%s", out, errOut)
			assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(f.fails)+` +FAIL `, out)
		})
		t.Run(f.name, func(t *testing.T) {
			code, out, errOut := run(t, Env{}, "selftest", "-inject", f.name, "fake")
			assert.Equal(t, ExitFail, code, "%s\n%s", out, errOut)
			assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(f.fails)+` +FAIL `, out)
			assert.True(t, strings.HasSuffix(out, "\nFAIL\n"), out)

			code, out, _ = run(t, Env{}, "selftest", "-json", "-inject", f.name, "fake")
			assert.Equal(t, ExitFail, code)
			var doc jsonSelftest
			require.NoError(t, json.Unmarshal([]byte(out), &doc))
			assert.Equal(t, resultFail, doc.Result)
			assert.Equal(t, []string{f.name}, doc.Faults)
			found := false
			for _, c := range doc.Checks {
				if c.Name == f.fails {
					found = true
					assert.Equal(t, resultFail, c.Result, c.Detail)
				}
			}
			assert.True(t, found, "a %q check", f.fails)
		})
	}
	// The help lists every fault.
	code, _, errOut := run(t, Env{}, "selftest", "-h")
	assert.Equal(t, ExitOK, code)
	for _, f := range faults {
		assert.Contains(t, errOut, f.name)
	}
}

// bind records the previous driver; unbind gives the function back to it
// and clears driver_override; without a record unbind lets the kernel
// choose.
func TestBindUnbind(t *testing.T) {
	root := buildTree(t, "board")
	env := fakeEnv(root)
	const addr = "0000:00:02.0"
	dev := filepath.Join(root, "sys/devices/pci0000:00", addr)
	driver := func() string {
		target, err := os.Readlink(filepath.Join(dev, "driver"))
		if err != nil {
			return ""
		}
		return filepath.Base(target)
	}

	code, out, errOut := run(t, env, "bind", addr, "uio")
	require.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, addr+": e1000 -> uio_pci_generic\n", out)
	assert.Equal(t, "uio_pci_generic", driver())
	state, err := os.ReadFile(filepath.Join(root, "run/ipcctl/bind", addr))
	require.NoError(t, err)
	assert.Equal(t, "e1000\n", string(state))

	// A second bind keeps the first driver as the one to restore.
	code, out, _ = run(t, env, "bind", "-json", addr)
	require.Equal(t, ExitOK, code)
	golden(t, "bind-json", out)
	assert.Equal(t, "vfio-pci", driver())
	state, err = os.ReadFile(filepath.Join(root, "run/ipcctl/bind", addr))
	require.NoError(t, err)
	assert.Equal(t, "e1000\n", string(state))

	code, out, errOut = run(t, env, "unbind", addr)
	require.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, addr+": vfio-pci -> e1000 (restored)\n", out)
	assert.Equal(t, "e1000", driver())
	override, err := os.ReadFile(filepath.Join(dev, "driver_override"))
	require.NoError(t, err)
	assert.Equal(t, "\n", string(override), "driver_override cleared")
	_, err = os.Stat(filepath.Join(root, "run/ipcctl/bind", addr))
	assert.True(t, os.IsNotExist(err), "the record is gone")

	// Without a record: unbound, override cleared, the bus asked to probe.
	code, out, errOut = run(t, env, "unbind", "-json", addr)
	require.Equal(t, ExitOK, code, errOut)
	golden(t, "unbind-json", out)
	probe, err := os.ReadFile(filepath.Join(root, "sys/bus/pci/drivers_probe"))
	require.NoError(t, err)
	assert.Equal(t, addr, string(probe))

	// A function that had no driver goes back to none.
	const edu = "0000:00:03.0"
	laptop := buildTree(t, "laptop")
	lenv := fakeEnv(laptop)
	require.NoError(t, os.MkdirAll(filepath.Join(laptop, "sys/bus/pci/drivers/vfio-pci"), 0o755))
	code, out, _ = run(t, lenv, "bind", edu)
	require.Equal(t, ExitOK, code)
	assert.Equal(t, edu+": (none) -> vfio-pci (ipcctl device vfio:"+edu+")\n", out)
	code, out, _ = run(t, lenv, "unbind", edu)
	require.Equal(t, ExitOK, code)
	assert.Equal(t, edu+": vfio-pci -> (none) (restored)\n", out)
}

// Long work reports progress on stderr, not stdout.
func TestProgress(t *testing.T) {
	env := Env{progressEvery: 1}
	code, out, errOut := run(t, env, "selftest", "fake")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, errOut, "ipcctl: selftest fake: ")
	assert.NotContains(t, out, "ipcctl: selftest")
}

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want devName
		ok   bool
	}{
		{"fake", devName{Kind: kindFake}, true},
		{"uio:uio0", devName{Kind: kindUIO, ID: "uio0"}, true},
		{"uio:ipcu", devName{Kind: kindUIO, ID: "ipcu"}, true},
		{"vfio:0000:00:03.0", devName{Kind: kindVFIO, ID: "0000:00:03.0"}, true},
		{"vfio:00:03.0", devName{}, false},
		{"uio:", devName{}, false},
		{"pci:0000:00:03.0", devName{}, false},
		{"", devName{}, false},
	} {
		got, err := parseDevice(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.in, got.String())
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[uint64]string{0: "0B", 100: "100B", 4096: "4K", 1 << 20: "1M", 3 << 30: "3G", 1536: "1536B"} {
		assert.Equal(t, want, sizeString(n))
	}
}

// -svd decodes with any SVD file: the reference block's own SVD gives the
// built-in map's dump; edu's SVD reads as edu's map.
func TestRegsSVD(t *testing.T) {
	code, builtin, errOut := run(t, Env{}, "regs", "dump", "fake")
	require.Equal(t, ExitOK, code, errOut)
	code, fromSVD, errOut := run(t, Env{}, "regs", "dump", "-svd", "../../regs/ipcu/ipcu.svd", "-peripheral", "ipcu", "fake")
	require.Equal(t, ExitOK, code, errOut)
	_, b, _ := strings.Cut(builtin, "\n")
	first, s, _ := strings.Cut(fromSVD, "\n")
	assert.Equal(t, b, s)
	assert.Equal(t, "fake: IPCU (map ../../regs/ipcu/ipcu.svd:IPCU)", first)

	code, _, errOut = run(t, Env{}, "regs", "dump", "-svd", "../../regs/ipcu/ipcu.svd", "-peripheral", "NOPE", "fake")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `no peripheral "NOPE" (it has IPCU)`)
	code, _, errOut = run(t, Env{}, "regs", "dump", "-peripheral", "IPCU", "fake")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "-peripheral needs -svd")

	code, out, errOut := run(t, Env{}, "regs", "map", "-svd", "../../edu/eduregs/edu.svd")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "INTR_RAISE")
}

// TestRegsBadInput: a width, an offset or a BAR out of range is a usage
// error (exit 2), never a crash or an access somewhere else: an offset
// past the block would wrap, on a 32-bit board, to a register of it.
func TestRegsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"regs", "write", "-width", "-8", "fake", "0x1234=1"},
		{"regs", "read", "-width", "12", "fake", "0x10"},
		{"regs", "read", "fake", "0x100000000"},
		{"regs", "write", "fake", "0x100000010=2"},
		{"regs", "read", "fake", "0xffffffffffffffff"},
		{"regs", "read", "-bar", "7", "fake", "ID"},
		{"regs", "write", "-bar", "-1", "fake", "CTRL=0"},
	} {
		code, _, stderr := run(t, Env{}, args...)
		assert.Equal(t, ExitUsage, code, "%q: %s", args, stderr)
	}
}
