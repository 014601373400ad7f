package mq

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
)

// requireMqueue stops t if err, mq_open's error, says that message queues
// are not there: ENOSYS from a kernel without CONFIG_POSIX_MQUEUE, or any
// failure under an emulator.
func requireMqueue(t *testing.T, err error) {
	t.Helper()
	if err != nil && testenv.Emulated() != "" {
		testenv.UnsupportedEmulated(t, fmt.Sprintf("mq_open fails under the emulator: %v", err))
	}
	if errors.Is(err, unix.ENOSYS) {
		testenv.Require(t, "POSIX message queues (CONFIG_POSIX_MQUEUE)", err)
	}
}

var seq atomic.Int64

// newName returns a queue name unique to this process and call.
func newName() string {
	return fmt.Sprintf("ipcu-mq-test-%d-%d", os.Getpid(), seq.Add(1))
}

// create makes a new queue of maxMsg messages of msgSize bytes, opened
// read-write, and returns its name and descriptor; the test's cleanup
// closes and unlinks it. It stops the test when message queues are not
// there: a kernel without CONFIG_POSIX_MQUEUE, or an emulator whose
// mq_open fails.
func create(t *testing.T, maxMsg, msgSize int) (string, int) {
	t.Helper()
	name := newName()
	fd, err := Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, &Attr{MaxMsg: maxMsg, MsgSize: msgSize})
	requireMqueue(t, err)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, unix.Close(fd))
		if err := Unlink(name); !errors.Is(err, unix.ENOENT) {
			assert.NoError(t, err)
		}
	})
	return name, fd
}

func TestSendReceive(t *testing.T) {
	_, fd := create(t, 4, 64)
	require.NoError(t, Send(fd, []byte("low"), 1))
	require.NoError(t, Send(fd, []byte("high"), 7))
	require.NoError(t, Send(fd, nil, 1))
	buf := make([]byte, 64)
	for _, want := range []struct {
		msg  string
		prio uint
	}{{"high", 7}, {"low", 1}, {"", 1}} {
		n, prio, err := Receive(fd, buf)
		require.NoError(t, err)
		assert.Equal(t, want.msg, string(buf[:n]))
		assert.Equal(t, want.prio, prio)
	}
}

// Send's message and Receive's buffer are checked against MsgSize.
func TestMessageSize(t *testing.T) {
	_, fd := create(t, 4, 16)
	err := Send(fd, make([]byte, 17), 0)
	require.ErrorIs(t, err, unix.EMSGSIZE)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "mq_timedsend", se.Syscall)

	require.NoError(t, Send(fd, make([]byte, 16), 0))
	_, _, err = Receive(fd, make([]byte, 15))
	require.ErrorIs(t, err, unix.EMSGSIZE)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "mq_timedreceive", se.Syscall)
	n, _, err := Receive(fd, make([]byte, 16))
	require.NoError(t, err)
	assert.Equal(t, 16, n)
}

// A nonblocking descriptor reports an empty or full queue with EAGAIN
// instead of blocking.
func TestNonblocking(t *testing.T) {
	_, fd := create(t, 1, 8)
	require.NoError(t, unix.SetNonblock(fd, true))
	_, _, err := Receive(fd, make([]byte, 8))
	assert.ErrorIs(t, err, unix.EAGAIN, "receive from an empty queue")
	require.NoError(t, Send(fd, []byte("x"), 0))
	assert.ErrorIs(t, Send(fd, []byte("y"), 0), unix.EAGAIN, "send to a full queue")
}

// A blocked Receive returns when another goroutine sends.
func TestBlockingReceive(t *testing.T) {
	_, fd := create(t, 1, 8)
	type result struct {
		msg string
		err error
	}
	got := make(chan result, 1)
	go func() {
		buf := make([]byte, 8)
		n, _, err := Receive(fd, buf)
		got <- result{string(buf[:n]), err}
	}()
	require.NoError(t, Send(fd, []byte("wake"), 0))
	r := <-got
	require.NoError(t, r.err)
	assert.Equal(t, "wake", r.msg)
}

func TestOpenErrors(t *testing.T) {
	name, _ := create(t, 1, 8)

	_, err := Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, nil)
	require.ErrorIs(t, err, unix.EEXIST, "O_EXCL on an existing queue")
	assert.ErrorIs(t, err, os.ErrExist)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "mq_open", se.Syscall)

	// Without O_CREAT, the existing queue opens, with its own attributes.
	fd, err := Open(name, unix.O_WRONLY, 0, nil)
	require.NoError(t, err)
	assert.ErrorIs(t, Send(fd, make([]byte, 9), 0), unix.EMSGSIZE)
	require.NoError(t, unix.Close(fd))

	require.NoError(t, Unlink(name))
	_, err = Open(name, unix.O_RDWR, 0, nil)
	assert.ErrorIs(t, err, unix.ENOENT, "open after unlink")
	assert.ErrorIs(t, err, os.ErrNotExist)
	err = Unlink(name)
	assert.ErrorIs(t, err, unix.ENOENT, "second unlink")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "mq_unlink", se.Syscall)

	_, err = Open("a\x00b", unix.O_RDWR, 0, nil)
	assert.ErrorIs(t, err, unix.EINVAL, "a name with a NUL")
}

// A queue created with a nil Attr takes the defaults, and O_CLOEXEC is
// set whatever the flags.
func TestOpenDefaults(t *testing.T) {
	name := newName()
	fd, err := Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, nil)
	requireMqueue(t, err)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, Unlink(name))
	fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.Equal(t, unix.FD_CLOEXEC, fdFlags&unix.FD_CLOEXEC, "FD_CLOEXEC")
	require.NoError(t, Send(fd, []byte("default"), 0))
	n, _, err := Receive(fd, make([]byte, 1<<16))
	require.NoError(t, err)
	assert.Equal(t, 7, n)
}
