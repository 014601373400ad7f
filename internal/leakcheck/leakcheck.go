// Package leakcheck fails a test binary that leaks file descriptors or
// memory mappings.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
//
// It records the open file descriptors (/proc/self/fd) and the shared or
// file-backed mappings (/proc/self/maps) before the tests, and compares after
// them. The Go runtime's own heap mappings are private and anonymous, so they
// are not counted; a shared anonymous mapping, a memfd, a device or a file
// mapping that was not unmapped is. On systems without /proc it does nothing.
//
// It works unchanged under user-mode emulation (qemu-user, which
// scripts/cross runs the arm64, arm and riscv64 test binaries under):
// qemu-user answers reads of /proc/self/maps with the guest's mappings only,
// and the descriptors it holds itself are the same in both snapshots, so
// they cancel out. A leak reported there names the emulator, in case it
// ever opens something of its own in between.
package leakcheck

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ipcu/ipcu/internal/testenv"
)

// Main runs the tests of m and exits: with m's code, or 1 if they leaked.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests of m and returns the exit code: m's, or 1 when they
// passed but leaked file descriptors or mappings, which it prints.
func Run(m interface{ Run() int }) int {
	warmUp()
	before, err := Take()
	if err != nil {
		// No /proc: nothing to compare.
		return m.Run()
	}
	code := m.Run()
	if code != 0 {
		return code
	}
	// Give goroutines that close on their way out a moment.
	var leaks []string
	for i := 0; i < 20; i++ {
		after, err := Take()
		if err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
			return 1
		}
		if leaks = before.Leaks(after); len(leaks) == 0 {
			return code
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "leakcheck: the tests leaked %d resources:\n", len(leaks))
	for _, l := range leaks {
		fmt.Fprintf(os.Stderr, "\t%s\n", l)
	}
	if emu := testenv.Emulated(); emu != "" {
		fmt.Fprintf(os.Stderr, "leakcheck: under %s: the snapshots are of the emulator's /proc/self/fd and /proc/self/maps\n", emu)
	}
	return 1
}

// warmUp makes the runtime open what it keeps open for the life of the
// process (the netpoller's epoll fd and wake-up eventfd) before the first
// snapshot.
func warmUp() {
	r, w, err := os.Pipe()
	if err == nil {
		_ = r.SetReadDeadline(time.Now())
		r.Close()
		w.Close()
	}
}

// A State is a snapshot of the open file descriptors and the mappings that
// count.
type State struct {
	FDs  map[string]string // fd number -> what it refers to
	Maps map[string]int    // mapping description -> count
}

// Take snapshots the current process.
func Take() (State, error) {
	s := State{FDs: map[string]string{}, Maps: map[string]int{}}
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return s, err
	}
	names, err := dir.Readdirnames(-1)
	self := fmt.Sprint(dir.Fd())
	dir.Close()
	if err != nil {
		return s, err
	}
	for _, n := range names {
		if n == self {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", n))
		if err != nil {
			continue // closed in between
		}
		s.FDs[n] = target
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if d, ok := counted(sc.Text()); ok {
			s.Maps[d]++
		}
	}
	return s, sc.Err()
}

// counted reports whether a /proc/self/maps line is a mapping a test could
// leak, and how to name it.
func counted(line string) (string, bool) {
	// address perms offset dev inode [path]
	f := strings.Fields(line)
	if len(f) < 5 {
		return "", false
	}
	perms := f[1]
	path := ""
	if len(f) >= 6 {
		path = strings.Join(f[5:], " ")
	}
	switch {
	case strings.HasPrefix(path, "["): // [heap], [stack], [vdso], ...
		return "", false
	case strings.Contains(perms, "s"): // shared: memfd, /dev/shm, device, shared anonymous
		return perms + " " + path, true
	case path != "":
		return perms + " " + path, true
	}
	return "", false
}

// Leaks lists what after has that s had not: file descriptors not open
// before, or opened anew to something else, and extra mappings.
func (s State) Leaks(after State) []string {
	var out []string
	for fd, target := range after.FDs {
		if s.FDs[fd] != target {
			out = append(out, fmt.Sprintf("fd %s -> %s", fd, target))
		}
	}
	for m, n := range after.Maps {
		if extra := n - s.Maps[m]; extra > 0 {
			out = append(out, fmt.Sprintf("%d mapping(s) of %s", extra, m))
		}
	}
	sort.Strings(out)
	return out
}
