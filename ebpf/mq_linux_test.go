package ebpf_test

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/mq"
)

// A POSIX message queue, for the benchmarks, through internal/mq.
type mqueue struct {
	fd   int
	name string
}

// mqOpen creates a new queue of maxMsg messages of msgSize bytes, opened
// read-write, and unlinks its name at once (the descriptor keeps it).
func mqOpen(tag string, maxMsg, msgSize int) (*mqueue, error) {
	name := "ipcu-ebpf-bench-" + strconv.Itoa(os.Getpid()) + "-" + tag
	fd, err := mq.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, &mq.Attr{MaxMsg: maxMsg, MsgSize: msgSize})
	if err != nil {
		return nil, err
	}
	if err := mq.Unlink(name); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &mqueue{fd: fd, name: name}, nil
}

func (q *mqueue) send(msg []byte) error { return mq.Send(q.fd, msg, 0) }

func (q *mqueue) recv(buf []byte) (int, error) {
	n, _, err := mq.Receive(q.fd, buf)
	return n, err
}

func (q *mqueue) close() error { return unix.Close(q.fd) }
