package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/mq"
)

// POSIX message queues, through internal/mq.

// mqDepth is the queue's depth: the default of /proc/sys/fs/mqueue/msg_max,
// which an unprivileged process may not exceed.
const mqDepth = 10

var mqSeq atomic.Int64

// mqOpen creates a queue of mqDepth messages of msgSize bytes, opened
// read-write, and unlinks its name at once (the descriptor keeps it).
func mqOpen(msgSize int) (int, error) {
	name := "ipcbench-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(mqSeq.Add(1), 10)
	fd, err := mq.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, &mq.Attr{MaxMsg: mqDepth, MsgSize: msgSize})
	if err != nil {
		return -1, err
	}
	if err := mq.Unlink(name); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
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

func (e *mqEnd) send(msg []byte) error { return mq.Send(e.out, msg, 0) }

func (e *mqEnd) recv(buf []byte) (int, error) {
	n, _, err := mq.Receive(e.in, buf)
	return n, err
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
