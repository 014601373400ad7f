//go:build linux

package mq

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The unsafe conversions of this file are of Go pointers passed to the
// system calls, which do not keep them.

// Attr is struct mq_attr of <linux/mqueue.h>: four C longs and four
// reserved ones. A C long is a Go int on every Linux architecture Go
// supports (see the package documentation).
type Attr struct {
	Flags   int // O_NONBLOCK or 0; ignored by Open
	MaxMsg  int // the most messages the queue holds
	MsgSize int // the largest message, in bytes
	CurMsgs int // messages in the queue now; ignored by Open
	_       [4]int
}

// Open opens the message queue name (without a leading slash) with flags
// (unix.O_RDONLY, O_WRONLY or O_RDWR, and O_CREAT, O_EXCL, O_NONBLOCK) and
// returns its descriptor, which the caller closes with unix.Close. O_CLOEXEC
// is always added, as the os package does. When O_CREAT creates the queue,
// mode gives its permissions (less the umask) and attr its MaxMsg and
// MsgSize; a nil attr takes the defaults of /proc/sys/fs/mqueue
// (msg_default and msgsize_default).
func Open(name string, flags int, mode uint32, attr *Attr) (int, error) {
	p, err := namePtr(name)
	if err != nil {
		return -1, os.NewSyscallError("mq_open", err)
	}
	fd, _, e := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), uintptr(flags|unix.O_CLOEXEC),
		uintptr(mode), uintptr(unsafe.Pointer(attr)), 0, 0)
	if e != 0 {
		return -1, os.NewSyscallError("mq_open", e)
	}
	return int(fd), nil
}

// Unlink removes the message queue name (without a leading slash). Open
// descriptors keep the queue until they are closed.
func Unlink(name string) error {
	p, err := namePtr(name)
	if err != nil {
		return os.NewSyscallError("mq_unlink", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); e != 0 {
		return os.NewSyscallError("mq_unlink", e)
	}
	return nil
}

// namePtr returns name as a NUL-terminated string preceded in memory by a
// slash, as glibc passes it (see the package documentation): the system
// call reads from the pointer, qemu-user from the byte before it.
func namePtr(name string) (*byte, error) {
	b, err := unix.ByteSliceFromString("/" + name)
	if err != nil {
		return nil, err // EINVAL: a NUL in name
	}
	return &b[1], nil
}

// Send queues msg with priority prio (below 32768, MQ_PRIO_MAX). It blocks
// while the queue is full, unless the descriptor is nonblocking (O_NONBLOCK,
// from Open or fcntl), where it fails with EAGAIN. A message longer than the
// queue's MsgSize fails with EMSGSIZE. An interrupted call is retried.
func Send(fd int, msg []byte, prio uint) error {
	for {
		_, _, e := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(msg))),
			uintptr(len(msg)), uintptr(prio), 0, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("mq_timedsend", e)
	}
}

// Receive takes the oldest message of the highest priority from the queue
// into buf and returns its length and priority. It blocks while the queue
// is empty, unless the descriptor is nonblocking, where it fails with
// EAGAIN. buf must hold the queue's MsgSize bytes, whatever the message's
// length, or the call fails with EMSGSIZE. An interrupted call is retried.
func Receive(fd int, buf []byte) (n int, prio uint, err error) {
	var p uint32 // unsigned int *msg_prio
	for {
		r, _, e := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))),
			uintptr(len(buf)), uintptr(unsafe.Pointer(&p)), 0, 0)
		switch e {
		case 0:
			return int(r), uint(p), nil
		case unix.EINTR:
			continue
		}
		return 0, 0, os.NewSyscallError("mq_timedreceive", e)
	}
}
