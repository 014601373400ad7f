package main

import (
	"errors"
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The classic mechanisms. Each side makes plain blocking system calls on a
// locked OS thread (pinned with -cpus), as a C program would: no Go
// netpoller in the path.

// fdEnd is an endpoint over two descriptors: it writes to w and reads
// from r. stream says whether r carries a byte stream (a pipe), whose
// messages are read back to their full size.
type fdEnd struct {
	r, w   int
	stream bool
}

func (e *fdEnd) send(msg []byte) error {
	for len(msg) > 0 {
		n, err := unix.Write(e.w, msg)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write", err)
		}
		msg = msg[n:]
	}
	return nil
}

func (e *fdEnd) recv(buf []byte) (int, error) {
	got := 0
	for {
		n, err := unix.Read(e.r, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return got, os.NewSyscallError("read", err)
		}
		if n == 0 {
			return got, io.ErrUnexpectedEOF
		}
		got += n
		if !e.stream || got == len(buf) {
			return got, nil
		}
	}
}

// abortFDs writes a stop message of size bytes to each descriptor,
// without waiting: a side blocked reading the other end wakes.
func abortFDs(size int, fds ...int) {
	msg := make([]byte, size)
	msg[0] = markStop
	for _, fd := range fds {
		_ = unix.SetNonblock(fd, true)
		_, _ = unix.Write(fd, msg)
	}
}

func closeFDs(fds ...int) error {
	var errs []error
	for _, fd := range fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, os.NewSyscallError("close", err))
		}
	}
	return errors.Join(errs...)
}

// openPipe is two pipes, one each way.
func openPipe(_ *env, size int) (*pair, error) {
	var ab, ba [2]int
	if err := unix.Pipe2(ab[:], unix.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	if err := unix.Pipe2(ba[:], unix.O_CLOEXEC); err != nil {
		closeFDs(ab[0], ab[1])
		return nil, os.NewSyscallError("pipe2", err)
	}
	return &pair{
		a:     &fdEnd{r: ba[0], w: ab[1], stream: true},
		b:     &fdEnd{r: ab[0], w: ba[1], stream: true},
		abort: func() { abortFDs(size, ab[1], ba[1]) },
		close: func() error { return closeFDs(ab[1], ba[1], ab[0], ba[0]) },
	}, nil
}

// openUnix is a UNIX SOCK_SEQPACKET socket pair: message boundaries kept.
func openUnix(_ *env, size int) (*pair, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	// Room for a few messages of the largest size each way.
	for _, fd := range fds {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 8*size+64<<10)
	}
	return &pair{
		a: &fdEnd{r: fds[0], w: fds[0]},
		b: &fdEnd{r: fds[1], w: fds[1]},
		abort: func() {
			_ = unix.Shutdown(fds[0], unix.SHUT_RDWR)
			_ = unix.Shutdown(fds[1], unix.SHUT_RDWR)
		},
		close: func() error { return closeFDs(fds[0], fds[1]) },
	}, nil
}

// eventfdEnd is one side of the eventfd ping-pong: the payload is copied
// through a buffer shared by the two threads, and an eventfd per direction
// is the doorbell (write 1 after copying in; a blocking read before
// copying out). There is no queue: a buffer is free again only once the
// peer answered, so it carries a strict ping-pong and cannot stream.
type eventfdEnd struct {
	out, in       int    // doorbells: the peer's, and ours
	outBuf, inBuf []byte // the shared buffers, each direction's
	outLen, inLen *atomic.Int64
}

var eventfdOne = []byte{1, 0, 0, 0, 0, 0, 0, 0} // 1, in host order on little-endian CPUs

func (e *eventfdEnd) send(msg []byte) error {
	e.outLen.Store(int64(copy(e.outBuf, msg)))
	if _, err := unix.Write(e.out, eventfdOne); err != nil {
		return os.NewSyscallError("write", err)
	}
	return nil
}

func (e *eventfdEnd) recv(buf []byte) (int, error) {
	var v [8]byte
	for {
		_, err := unix.Read(e.in, v[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("read", err)
		}
		break
	}
	// The kernel's wake-up orders the copies already; the length's
	// atomic store and load tell the race detector so too (it does not
	// see the eventfd).
	return copy(buf, e.inBuf[:e.inLen.Load()]), nil
}

// openEventfd is the eventfd ping-pong.
func openEventfd(_ *env, size int) (*pair, error) {
	var fds [2]int
	for i := range fds {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			if i == 1 {
				closeFDs(fds[0])
			}
			return nil, os.NewSyscallError("eventfd", err)
		}
		fds[i] = fd
	}
	ab, ba := make([]byte, size), make([]byte, size)
	var abLen, baLen atomic.Int64
	return &pair{
		a: &eventfdEnd{out: fds[0], in: fds[1], outBuf: ab, inBuf: ba, outLen: &abLen, inLen: &baLen},
		b: &eventfdEnd{out: fds[1], in: fds[0], outBuf: ba, inBuf: ab, outLen: &baLen, inLen: &abLen},
		// Ring both doorbells: a blocked reader sees a stale message.
		abort: func() {
			_, _ = unix.Write(fds[0], eventfdOne)
			_, _ = unix.Write(fds[1], eventfdOne)
		},
		close: func() error { return closeFDs(fds[0], fds[1]) },
	}, nil
}
