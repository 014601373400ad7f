package dmaring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
)

// ringMemfd returns a memfd of size bytes, closed at the end of the test.
func ringMemfd(t *testing.T, size int) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("dmaring-test", unix.MFD_CLOEXEC)
	testenv.Require(t, "memfd_create", err)
	f := os.NewFile(uintptr(fd), "memfd")
	t.Cleanup(func() { f.Close() })
	require.NoError(t, f.Truncate(int64(size)))
	return f
}

// ringMapShared maps size bytes of f, unmapped at the end of the test.
func ringMapShared(t *testing.T, f *os.File, size int) []byte {
	t.Helper()
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, unix.Munmap(mem)) })
	return mem
}

// TestRingTwoMappings formats a ring through one mapping of a memfd and
// uses it through another, at a different address, as two processes would.
func TestRingTwoMappings(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		size, err := RingSize(16, 128)
		require.NoError(t, err)
		f := ringMemfd(t, size)
		a, b := ringMapShared(t, f, size), ringMapShared(t, f, size)
		require.NotEqual(t, addrOf(a), addrOf(b))
		ra, err := k.init(a, 16, 128)
		require.NoError(t, err)
		rb, err := k.attach(b)
		require.NoError(t, err)
		buf := make([]byte, rb.maxMsg)
		for i := range 100 {
			require.NoError(t, ra.p.Enqueue(msgFor(buf, uint64(i), i%(ra.maxMsg+1))))
			n, err := rb.c.Dequeue(buf)
			require.NoError(t, err)
			require.Equal(t, i%(ra.maxMsg+1), n)
			require.NoError(t, checkMsg(buf[:n], uint64(i)))
		}
	})
}

// peerEnv names the memfd's size when the test binary runs as the peer
// process of TestSPSCCrossProcess.
const peerEnv = "DMARING_TEST_PEER_SIZE"

// TestSPSCCrossProcess echoes messages through a child process: this
// process sends on one SPSC ring in a memfd and the child, which maps the
// memfd it inherits, sends each message back on another.
func TestSPSCCrossProcess(t *testing.T) {
	if os.Getenv(peerEnv) != "" {
		crossProcessPeer(t)
		return
	}
	testenv.RequireSelfExec(t)
	const slots, slotSize, count = 8, 64, 2000
	size, err := RingSize(slots, slotSize)
	require.NoError(t, err)
	f := ringMemfd(t, 2*size)
	mem := ringMapShared(t, f, 2*size)
	req, err := InitSPSC(mem[:size], slots, slotSize)
	require.NoError(t, err)
	resp, err := InitSPSC(mem[size:], slots, slotSize)
	require.NoError(t, err)

	cmd := testenv.SelfCommand("-test.run=^TestSPSCCrossProcess$", "-test.count=1")
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", peerEnv, 2*size))
	cmd.ExtraFiles = []*os.File{f} // fd 3 in the child
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	p, c := req.Producer(), resp.Consumer()
	msg, buf := make([]byte, req.MaxMessage()), make([]byte, req.MaxMessage())
	deadline := time.Now().Add(20 * time.Second)
	sent, got := 0, 0
	for got < count {
		if sent < count && sent-got < slots {
			err := p.Enqueue(msgFor(msg, uint64(sent), 1+sent%req.MaxMessage()))
			if err == nil {
				sent++
			} else if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
		}
		n, err := c.Dequeue(buf)
		switch {
		case err == nil:
			require.Equal(t, 1+got%req.MaxMessage(), n)
			require.NoError(t, checkMsg(buf[:n], uint64(got)))
			got++
		case !errors.Is(err, ErrEmpty):
			t.Fatal(err)
		case time.Now().After(deadline):
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("timed out after %d of %d echoes; peer output:\n%s", got, count, out.String())
		}
	}
	require.NoError(t, p.Enqueue(nil)) // the empty message tells the peer to stop
	select {
	case err := <-exited:
		require.NoError(t, err, "peer output:\n%s", out.String())
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("the peer did not exit; its output:\n%s", out.String())
	}
}

// crossProcessPeer is the child's side: attach both rings and echo until
// the empty message.
func crossProcessPeer(t *testing.T) {
	var size int
	_, err := fmt.Sscan(os.Getenv(peerEnv), &size)
	require.NoError(t, err)
	f := os.NewFile(3, "memfd")
	defer f.Close()
	mem := ringMapShared(t, f, size)
	req, err := AttachSPSC(mem[:size/2])
	require.NoError(t, err)
	resp, err := AttachSPSC(mem[size/2:])
	require.NoError(t, err)
	c, p := req.Consumer(), resp.Producer()
	buf := make([]byte, req.MaxMessage())
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := c.Dequeue(buf)
		if errors.Is(err, ErrEmpty) {
			continue
		}
		require.NoError(t, err)
		if n == 0 {
			return
		}
		for {
			err := p.Enqueue(buf[:n])
			if !errors.Is(err, ErrFull) {
				require.NoError(t, err)
				break
			}
		}
	}
	t.Fatal("peer timed out")
}
