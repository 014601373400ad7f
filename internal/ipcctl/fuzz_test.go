package ipcctl

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseResource(t *testing.T) {
	got := parseResource("0x00000000fea00000 0x00000000feafffff 0x0000000000040200\n" +
		"0x0000000000000000 0x0000000000000000 0x0000000000000000\n" +
		"0x000000000000c000 0x000000000000c03f 0x0000000000040101\n" +
		"junk\n0x1 0x2\n0x0 0x0 0x0\n0x00000000fe000000 0x00000000fe03ffff 0x0000000000046200\n")
	assert.Equal(t, []listRegion{
		{Name: "BAR0", Addr: 0xfea00000, Size: 1 << 20},
		{Name: "BAR2", Addr: 0xc000, Size: 64, IO: true},
		{Name: "ROM", Addr: 0xfe000000, Size: 256 << 10},
	}, got)
	assert.Empty(t, parseResource(""))
	assert.Empty(t, parseResource("0x0 0xffffffffffffffff 0x200"), "a size that overflows")
}

// FuzzParseResource: sysfs text never panics the parser, and every region
// it returns is a real one.
func FuzzParseResource(f *testing.F) {
	f.Add("0x00000000fea00000 0x00000000feafffff 0x0000000000040200\n")
	f.Add("0x0 0x0 0x0\n0x000000000000c000 0x000000000000c03f 0x0000000000040101\n")
	f.Add("0 18446744073709551615 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range parseResource(s) {
			if r.Size == 0 || r.Addr+r.Size-1 < r.Addr {
				t.Fatalf("region %+v from %q", r, s)
			}
		}
	})
}

func TestMemlockLimit(t *testing.T) {
	for _, tc := range []struct {
		file string
		want uint64
		ok   bool
	}{
		{"Max locked memory         8388608              8388608              bytes\n", 8 << 20, true},
		{"Max locked memory         unlimited            unlimited            bytes\n", ^uint64(0), true},
		{"Max open files 1024 1024 files\n", 0, false},
		{"Max locked memory\n", 0, false},
	} {
		p := filepath.Join(t.TempDir(), "limits")
		require.NoError(t, os.WriteFile(p, []byte(tc.file), 0o644))
		got, ok := memlockLimit(p)
		assert.Equal(t, tc.ok, ok, tc.file)
		assert.Equal(t, tc.want, got, tc.file)
	}
}

func TestExitCode(t *testing.T) {
	assert.Equal(t, ExitNotFound, exitCode(fmt.Errorf("uio:uio9: %w", errNotFound)))
	assert.Equal(t, ExitPermission, exitCode(fmt.Errorf("vfio:0000:00:03.0: open: %w", os.ErrPermission)))
	assert.Equal(t, ExitFail, exitCode(assert.AnError))
	assert.Equal(t, ExitUsage, exitCode(usageError("", "x")))
}
