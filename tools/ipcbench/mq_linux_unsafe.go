//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// POSIX message queues: golang.org/x/sys/unix has no wrappers, so these
// call mq_open(2) and friends directly, as ebpf's benchmarks do. The
// unsafe conversions are of Go pointers passed to the system calls.

// mqAttr is struct mq_attr of linux/mqueue.h (four longs and four
// reserved longs; 64-bit on 64-bit kernels, 32-bit on 32-bit ones).
type mqAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int
	_                               [4]int
}

// mqDepth is the queue's depth: the default of /proc/sys/fs/mqueue/msg_max,
// which an unprivileged process may not exceed.
const mqDepth = 10

var mqSeq atomic.Int64

// mqOpen creates a queue of mqDepth messages of msgSize bytes, opened
// read-write, and unlinks its name at once (the descriptor keeps it).
func mqOpen(msgSize int) (int, error) {
	// The system call takes the name without glibc's leading slash.
	name := "ipcbench-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(mqSeq.Add(1), 10)
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	attr := mqAttr{MaxMsg: mqDepth, MsgSize: msgSize}
	fd, _, e := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)),
		unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600, uintptr(unsafe.Pointer(&attr)), 0, 0)
	if e != 0 {
		return -1, os.NewSyscallError("mq_open", e)
	}
	if _, _, e := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); e != 0 {
		unix.Close(int(fd))
		return -1, os.NewSyscallError("mq_unlink", e)
	}
	return int(fd), nil
}

// mqMaxMessage returns the largest message of the two queues ipcbench
// makes, and what limits it: maxSize if two such queues can be made (with
// CAP_SYS_RESOURCE, and a RLIMIT_MSGQUEUE that holds them), else
// /proc/sys/fs/mqueue/msgsize_max.
func mqMaxMessage() (int, string) {
	if mqFits(maxSize) {
		return maxSize, ""
	}
	n := 8192 // the kernel's default
	if b, err := os.ReadFile("/proc/sys/fs/mqueue/msgsize_max"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 {
			n = min(v, maxSize)
		}
	}
	return n, "/proc/sys/fs/mqueue/msgsize_max, without CAP_SYS_RESOURCE"
}

// mqFits reports whether two queues of size-byte messages can be made.
func mqFits(size int) bool {
	a, err := mqOpen(size)
	if err != nil {
		return false
	}
	defer unix.Close(a)
	b, err := mqOpen(size)
	if err != nil {
		return false
	}
	unix.Close(b)
	return true
}

// mqEnd sends on one queue and receives from the other.
type mqEnd struct{ out, in int }

func (e *mqEnd) send(msg []byte) error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(e.out), uintptr(unsafe.Pointer(unsafe.SliceData(msg))), uintptr(len(msg)), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return os.NewSyscallError("mq_timedsend", errno)
		}
		return nil
	}
}

func (e *mqEnd) recv(buf []byte) (int, error) {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(e.in), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, os.NewSyscallError("mq_timedreceive", errno)
		}
		return int(n), nil
	}
}

// openMQ is two POSIX message queues, one each way.
func openMQ(_ *env, size int) (*pair, error) {
	ab, err := mqOpen(size)
	if err != nil {
		return nil, fmt.Errorf("%d-byte messages: %w", size, err)
	}
	ba, err := mqOpen(size)
	if err != nil {
		closeFDs(ab)
		return nil, fmt.Errorf("%d-byte messages: %w", size, err)
	}
	return &pair{
		a: &mqEnd{out: ab, in: ba},
		b: &mqEnd{out: ba, in: ab},
		// A stop message each way wakes a blocked receiver.
		abort: func() {
			stop := []byte{markStop}
			for _, fd := range []int{ab, ba} {
				_ = unix.SetNonblock(fd, true) // mqueue honours O_NONBLOCK set by fcntl
				_ = (&mqEnd{out: fd}).send(stop)
			}
		},
		close: func() error { return closeFDs(ab, ba) },
	}, nil
}
