package vm

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type cpioEntry struct {
	name         string
	mode         uint32
	rmajor, rmin uint32
	data         string
}

// readCPIO parses a newc archive up to its trailer.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	field := func(h []byte, i int) uint32 {
		v, err := strconv.ParseUint(string(h[6+8*i:6+8*i+8]), 16, 32)
		require.NoError(t, err)
		return uint32(v)
	}
	for off := 0; ; {
		require.LessOrEqual(t, off+110, len(b))
		h := b[off : off+110]
		require.Equal(t, "070701", string(h[:6]))
		size, nsize := int(field(h, 6)), int(field(h, 11))
		name := string(b[off+110 : off+110+nsize-1])
		require.Equal(t, byte(0), b[off+110+nsize-1])
		off = (off + 110 + nsize + 3) &^ 3
		if name == "TRAILER!!!" {
			require.Zero(t, off%4)
			return out
		}
		out = append(out, cpioEntry{name, field(h, 1), field(h, 9), field(h, 10), string(b[off : off+size])})
		off = (off + size + 3) &^ 3
	}
}

func TestInitramfs(t *testing.T) {
	var buf bytes.Buffer
	a := NewInitramfs(&buf)
	require.NoError(t, a.File("/bin/busybox", 0o755, []byte("abcde")))
	require.NoError(t, a.Symlink("bin/sh", "busybox"))
	require.NoError(t, a.CharDev("dev/console", 0o600, 5, 1))
	require.NoError(t, a.Dir("dev", 0o755))
	require.NoError(t, a.File("init", 0o755, []byte("#!/bin/sh\n")))
	require.NoError(t, a.Close())
	assert.Zero(t, buf.Len()%4)
	assert.Equal(t, []cpioEntry{
		{"bin", modeDir | 0o755, 0, 0, ""},
		{"bin/busybox", modeFile | 0o755, 0, 0, "abcde"},
		{"bin/sh", modeSymlink | 0o777, 0, 0, "busybox"},
		{"dev", modeDir | 0o755, 0, 0, ""},
		{"dev/console", modeChar | 0o600, 5, 1, ""},
		{"init", modeFile | 0o755, 0, 0, "#!/bin/sh\n"},
	}, readCPIO(t, buf.Bytes()))
}
