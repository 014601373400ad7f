//go:build linux

package ebpf_test

import (
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A POSIX message queue, for the benchmarks: x/sys/unix has no wrappers,
// so these call mq_open(2) and friends directly. The unsafe conversions
// are of Go pointers passed to the system calls.

type mqAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int64
	_                               [4]int64
}

type mqueue struct {
	fd   int
	name string
}

// mqOpen creates a new queue of maxMsg messages of msgSize bytes, opened
// read-write, and unlinks its name at once (the descriptor keeps it).
func mqOpen(tag string, maxMsg, msgSize int) (*mqueue, error) {
	// The system call takes the name without glibc's leading slash.
	name := "ipcu-ebpf-bench-" + strconv.Itoa(os.Getpid()) + "-" + tag
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return nil, err
	}
	attr := mqAttr{MaxMsg: int64(maxMsg), MsgSize: int64(msgSize)}
	fd, _, e := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)),
		unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600, uintptr(unsafe.Pointer(&attr)), 0, 0)
	if e != 0 {
		return nil, os.NewSyscallError("mq_open", e)
	}
	if _, _, e := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); e != 0 {
		unix.Close(int(fd))
		return nil, os.NewSyscallError("mq_unlink", e)
	}
	return &mqueue{fd: int(fd), name: name}, nil
}

func (q *mqueue) send(msg []byte) error {
	_, _, e := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(q.fd), uintptr(unsafe.Pointer(unsafe.SliceData(msg))), uintptr(len(msg)), 0, 0, 0)
	if e != 0 {
		return os.NewSyscallError("mq_timedsend", e)
	}
	return nil
}

func (q *mqueue) recv(buf []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(q.fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)), 0, 0, 0)
	if e != 0 {
		return 0, os.NewSyscallError("mq_timedreceive", e)
	}
	return int(n), nil
}

func (q *mqueue) close() error { return unix.Close(q.fd) }
