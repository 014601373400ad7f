package sys

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/testenv"
)

// TestLayoutGCC compiles a C program against the installed <linux/vfio.h>
// that prints the size and field offsets of every structure of layouts and
// the value of every constant, and compares them with the Go values. It
// needs gcc and the kernel headers (linux-libc-dev).
func TestLayoutGCC(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err == nil {
		_, err = os.Stat("/usr/include/linux/vfio.h")
	}
	testenv.Require(t, "gcc and linux/vfio.h", err)
	if emu := testenv.Emulated(); emu != "" {
		// The host's gcc lays the structs out for the host's ABI. The VFIO
		// uapi declares every padding explicitly and aligns every __u64,
		// so a target whose layout agrees with the host's is right; the
		// per-target values are TestLayout's.
		t.Logf("under %s: compares GOARCH=%s's Go layout with the host gcc's C layout", emu, runtime.GOARCH)
	}

	var src strings.Builder
	src.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include <linux/vfio.h>\nint main(void) {\n")
	want := map[string]uint64{}
	for _, s := range layouts {
		fmt.Fprintf(&src, "\tprintf(\"%s %%zu\\n\", sizeof(struct %s));\n", s.name, s.name)
		want[s.name] = uint64(s.got)
		for _, f := range s.fields {
			key := s.name + "." + f.name
			fmt.Fprintf(&src, "\tprintf(\"%s %%zu\\n\", offsetof(struct %s, %s));\n", key, s.name, f.name)
			want[key] = uint64(f.got)
		}
	}
	cs := append([]cConst(nil), consts...)
	for _, c := range ioctls {
		cs = append(cs, c.cConst)
	}
	for _, c := range cs {
		fmt.Fprintf(&src, "\tprintf(\"%s %%llu\\n\", (unsigned long long)(%s));\n", c.name, c.name)
		want[c.name] = c.got
	}
	src.WriteString("\treturn 0;\n}\n")

	dir := t.TempDir()
	cfile, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	require.NoError(t, os.WriteFile(cfile, []byte(src.String()), 0o600))
	out, err := exec.Command(gcc, "-o", bin, cfile).CombinedOutput()
	require.NoError(t, err, "gcc: %s", out)
	out, err = exec.Command(bin).Output()
	require.NoError(t, err)

	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		require.True(t, ok, "line %q", sc.Text())
		n, err := strconv.ParseUint(val, 10, 64)
		require.NoError(t, err)
		w, ok := want[name]
		require.True(t, ok, "unexpected name %q", name)
		assert.Equal(t, n, w, "%s: C says %d, Go %d", name, n, w)
		seen++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, len(want), seen, "lines printed by the C program")
}
