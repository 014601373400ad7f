package vfio

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// capIPCLock is CAP_IPC_LOCK's bit in the capability sets.
const capIPCLock = 14

// memlockState is what decides whether the kernel will pin more memory for
// the process: RLIMIT_MEMLOCK's soft limit, the bytes already locked
// (VmLck, mm->locked_vm, which VFIO's type1 IOMMU charges), and whether the
// process has CAP_IPC_LOCK, which lifts the limit.
type memlockState struct {
	limit    uint64 // bytes; ^0 is unlimited
	locked   uint64 // bytes
	capIPC   bool
	infinity uint64 // RLIM_INFINITY
}

// check returns an error wrapping ErrMemlock when pinning size more bytes
// would pass the limit, saying how to raise it.
func (m memlockState) check(size uint64) error {
	if m.capIPC || m.limit == m.infinity || (m.locked <= m.limit && size <= m.limit-m.locked) {
		return nil
	}
	return &Error{Op: "dma alloc",
		Err: fmt.Errorf("pinning %d KiB more would pass RLIMIT_MEMLOCK (%d KiB, %d KiB locked already): %w",
			size>>10, m.limit>>10, m.locked>>10, ErrMemlock),
		Hint: "raise the limit: ulimit -l unlimited in the shell, LimitMEMLOCK=infinity in the systemd unit, " +
			"memlock in /etc/security/limits.conf, or give the process CAP_IPC_LOCK"}
}

// parseStatus reads VmLck (in bytes) and whether CAP_IPC_LOCK is in the
// effective set from /proc/self/status text. Missing fields read as 0 and
// false.
func parseStatus(r io.Reader) (locked uint64, capIPC bool, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "VmLck":
			n, perr := strconv.ParseUint(strings.TrimSuffix(v, " kB"), 10, 64)
			if perr != nil {
				return 0, false, fmt.Errorf("VmLck %q: %w", v, perr)
			}
			locked = n << 10
		case "CapEff":
			n, perr := strconv.ParseUint(v, 16, 64)
			if perr != nil {
				return 0, false, fmt.Errorf("CapEff %q: %w", v, perr)
			}
			capIPC = n&(1<<capIPCLock) != 0
		}
	}
	return locked, capIPC, sc.Err()
}
