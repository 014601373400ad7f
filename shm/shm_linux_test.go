package shm_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/mailbox/mailboxtest"
	"github.com/ipcu/ipcu/shm"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts shm.Options
	}{
		{"Sleep", shm.Options{Slots: 8, SlotSize: 64}},
		{"BusyPoll", shm.Options{Slots: 8, SlotSize: 64, BusyPoll: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
				a, b, err := shm.NewPair(&tc.opts)
				require.NoError(t, err)
				return mailboxtest.Pair{A: a, B: b, Duplex: true}
			})
		})
	}
}

// The conformance suite across two processes: B is the attacher's
// endpoint in a child process, reached through a proxy.
func TestConformanceCrossProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts shm.Options
	}{
		{"Sleep", shm.Options{Slots: 8, SlotSize: 64}},
		{"BusyPoll", shm.Options{Slots: 8, SlotSize: 64, BusyPoll: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mailboxtest.RunOptions(t, func(t *testing.T) mailboxtest.Pair {
				return remotePair(t, &tc.opts)
			}, mailboxtest.Options{Messages: 200})
		})
	}
}

// remotePair makes a channel and serves its attacher's endpoint from a
// child process (mailboxtest.StartRemote). Nothing is left open when
// StartRemote skips the test (under emulation) or fails it.
func remotePair(t *testing.T, opts *shm.Options) mailboxtest.Pair {
	t.Helper()
	a, err := shm.Create(opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	files, err := a.Files()
	require.NoError(t, err)
	defer func() { // also when StartRemote ends the test
		for _, f := range files {
			f.Close()
		}
	}()
	b := mailboxtest.StartRemote(t, fmt.Sprintf("busypoll=%d", opts.BusyPoll), files)
	return mailboxtest.Pair{A: a, B: b, Duplex: true}
}

func TestMaxMessage(t *testing.T) {
	a, b, err := shm.NewPair(&shm.Options{Slots: 4, SlotSize: 128})
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	assert.Equal(t, 128-16, a.MaxMessage())
	assert.Equal(t, 128-16, b.MaxMessage())
}

func TestFromFilesRejects(t *testing.T) {
	_, err := shm.FromFiles(nil, nil)
	assert.ErrorIs(t, err, shm.ErrLayout)

	// An unsealed file is refused.
	f, err := os.CreateTemp(t.TempDir(), "shm")
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(1<<16))
	_, err = shm.FromFiles([]*os.File{f, f, f}, nil)
	assert.ErrorIs(t, err, shm.ErrLayout)
}

func TestBadOptions(t *testing.T) {
	_, err := shm.Create(&shm.Options{Slots: 3})
	assert.Error(t, err)
}

func TestCloseNil(t *testing.T) {
	var c *shm.Channel
	assert.NoError(t, c.Close())
}

// startChild re-executes the test binary as an echo peer of a new channel
// and returns the parent's endpoint, watching the child.
func startChild(t *testing.T, opts *shm.Options) (*shm.Channel, *exec.Cmd) {
	t.Helper()
	testenv.RequireSelfExec(t)
	c, err := shm.Create(opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	files, err := c.Files()
	require.NoError(t, err)
	cmd := testenv.SelfCommand("-test.run=^$")
	cmd.Env = append(cmd.Env, childVar+"=echo")
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	for _, f := range files {
		f.Close()
	}
	require.NoError(t, err)
	require.NoError(t, c.WatchProcess(cmd.Process))
	return c, cmd
}

func seq(i int) []byte {
	b := make([]byte, 8+i%32)
	binary.LittleEndian.PutUint64(b, uint64(i))
	for j := 8; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

func TestCrossProcess(t *testing.T) {
	c, cmd := startChild(t, &shm.Options{Slots: 16, SlotSize: 64})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 1000
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := c.Send(ctx, seq(i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- c.Send(ctx, nil) // tells the child to exit
	}()
	buf := make([]byte, c.MaxMessage())
	for i := 0; i < n; i++ {
		m, err := c.Recv(ctx, buf)
		require.NoError(t, err, "echo %d", i)
		require.Equal(t, seq(i), buf[:m], "echo %d", i)
	}
	require.NoError(t, <-errc)
	require.NoError(t, cmd.Wait())
	// The child closed its endpoint, then exited: an empty ring now
	// reports the close.
	_, err := c.Recv(ctx, buf)
	assert.ErrorIs(t, err, shm.ErrPeerClosed)
}

// Killing the peer mid-stream wakes a blocked Recv with ErrPeerExited;
// every echo received is one sent, in order, none twice.
func TestPeerKilled(t *testing.T) {
	c, cmd := startChild(t, &shm.Options{Slots: 16, SlotSize: 64})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent := 0
	sendErr := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if err := c.Send(ctx, seq(i)); err != nil {
				sendErr <- err
				return
			}
			sent = i + 1
		}
	}()
	buf := make([]byte, c.MaxMessage())
	got := 0
	for ; ; got++ {
		if got == 200 {
			require.NoError(t, cmd.Process.Kill())
		}
		m, err := c.Recv(ctx, buf)
		if err != nil {
			require.ErrorIs(t, err, shm.ErrPeerExited, "after %d echoes", got)
			break
		}
		require.Equal(t, seq(got), buf[:m], "echo %d", got)
	}
	err := <-sendErr
	assert.ErrorIs(t, err, shm.ErrPeerExited)
	assert.GreaterOrEqual(t, got, 200)
	assert.LessOrEqual(t, got, sent)
	t.Logf("sent %d, echoed %d before SIGKILL took effect", sent, got)
	var ee *exec.ExitError
	require.True(t, errors.As(cmd.Wait(), &ee))
}

// A peer that writes an impossible slot stamp breaks the channel.
func TestBrokenRing(t *testing.T) {
	a, b, err := shm.NewPair(&shm.Options{Slots: 4, SlotSize: 64})
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	files, err := a.Files()
	require.NoError(t, err)
	mem, err := syscall.Mmap(int(files[0].Fd()), 0, 4096*3, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	for _, f := range files {
		f.Close()
	}
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	// Ring 0 (a to b) starts at 4096; its first slot's stamp at 4096+192.
	binary.LittleEndian.PutUint64(mem[4096+192:], 0xdead)
	_, err = b.TryRecv(make([]byte, 64))
	assert.ErrorIs(t, err, mailbox.ErrBroken)
	_, err = b.Recv(context.Background(), make([]byte, 64))
	assert.ErrorIs(t, err, mailbox.ErrBroken, "a broken ring stays broken")
	var me *mailbox.Error
	if assert.ErrorAs(t, err, &me) {
		assert.Equal(t, "recv", me.Op)
	}
}
