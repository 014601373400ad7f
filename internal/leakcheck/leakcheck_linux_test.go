package leakcheck

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestDetectsFDAndMappingLeaks(t *testing.T) {
	before, err := Take()
	require.NoError(t, err)
	assert.Empty(t, before.Leaks(before))

	fd, err := unix.MemfdCreate("leakcheck-probe", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	require.NoError(t, unix.Ftruncate(fd, 4096))
	mem, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	anon, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	require.NoError(t, err)

	during, err := Take()
	require.NoError(t, err)
	leaks := before.Leaks(during)
	require.Len(t, leaks, 3, "%q", leaks)
	all := strings.Join(leaks, "\n")
	assert.Regexp(t, `fd \d+ -> /memfd:leakcheck-probe`, all)
	assert.Contains(t, all, "1 mapping(s) of r--s /memfd:leakcheck-probe")
	assert.Contains(t, all, "1 mapping(s) of rw-s /dev/zero")

	require.NoError(t, unix.Munmap(mem))
	require.NoError(t, unix.Munmap(anon))
	require.NoError(t, unix.Close(fd))
	after, err := Take()
	require.NoError(t, err)
	assert.Empty(t, before.Leaks(after))
}

type fakeM struct{ run func() int }

func (m fakeM) Run() int { return m.run() }

func TestRunFailsOnLeak(t *testing.T) {
	var f *os.File
	code := Run(fakeM{func() int {
		var err error
		f, err = os.Open("/proc/self/status")
		require.NoError(t, err)
		return 0
	}})
	assert.Equal(t, 1, code, "a leaked file must fail the run")
	f.Close()
	assert.Equal(t, 0, Run(fakeM{func() int { return 0 }}))
	assert.Equal(t, 3, Run(fakeM{func() int { return 3 }}), "a failing run keeps its code")
}
