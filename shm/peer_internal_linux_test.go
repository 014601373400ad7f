//go:build linux

package shm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/internal/futex"
	"github.com/ipcu/ipcu/mailbox"
)

// The tests of this file step through what a peer, or the system, can do
// between two of an endpoint's steps, which the package's API alone
// cannot time.

// flakyWaker is a waker whose wait fails once, as an eventfd waiter's dup
// of the descriptor does at the fd limit, and then waits for signals.
type flakyWaker struct {
	failed atomic.Bool
	sig    chan struct{}
	done   chan struct{}
}

func (w *flakyWaker) wait() error {
	if !w.failed.Swap(true) {
		return unix.EMFILE
	}
	select {
	case <-w.sig:
		return nil
	case <-w.done:
		return os.ErrClosed
	}
}

func (w *flakyWaker) signal() error { w.sig <- struct{}{}; return nil }
func (w *flakyWaker) close() error  { close(w.done); return nil }

// TestPumpOutlivesAFailedWait: a wait that fails while the channel is
// open does not stop the pump, which would lose every later wake-up.
func TestPumpOutlivesAFailedWait(t *testing.T) {
	w := &flakyWaker{sig: make(chan struct{}), done: make(chan struct{})}
	c := &Channel{waker: w}
	c.start(Options{})
	for range 3 {
		ch := c.waitChan()
		select {
		case w.sig <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("the pump stopped waiting after a failed wait")
		}
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("a wake-up did not reach the sleepers")
		}
	}
	c.closed.Store(true)
	close(c.done)
	require.NoError(t, w.close())
	<-c.pumpDone
}

// TestPeerExitedAfterItsLastMessage: a message the peer sent just before
// it exited is received before ErrPeerExited, also when the exit is seen
// between the receive that found the ring empty and the check of the
// watch (here the watch's flag is set right after the send, as the pidfd
// callback sets it, while the receiver polls).
func TestPeerExitedAfterItsLastMessage(t *testing.T) {
	for i := range 300 {
		a, b, err := NewPair(&Options{Slots: 4, SlotSize: 64})
		require.NoError(t, err)
		go func() {
			_ = a.TrySend([]byte("last"))
			b.peerGone.Store(true)
		}()
		buf := make([]byte, 64)
		var got []string
		for {
			n, err := b.TryRecv(buf)
			if errors.Is(err, mailbox.ErrEmpty) {
				continue
			}
			if err != nil {
				require.ErrorIs(t, err, ErrPeerExited, "iteration %d", i)
				break
			}
			got = append(got, string(buf[:n]))
		}
		require.Equal(t, []string{"last"}, got, "iteration %d: the message sent before the exit", i)
		require.NoError(t, a.Close())
		require.NoError(t, b.Close())
	}
}

// TestRingShapeMustMatchHeader: the limits are checked against the
// channel header's shape; a creator that formats the rings with another
// shape (larger messages, here) is refused, not attached with the rings'.
func TestRingShapeMustMatchHeader(t *testing.T) {
	a, err := Create(&Options{Slots: 16, SlotSize: 64})
	require.NoError(t, err)
	defer a.Close()
	_, area, err := layoutSize(16, 64)
	require.NoError(t, err)
	big := (area - 192) / 2 &^ 7 // two slots filling the ring's area
	for _, off := range []int{ringAlign, ringAlign + area} {
		_, err := dmaring.InitSPSC(a.mem[off:off+area], 2, big)
		require.NoError(t, err)
	}
	files, err := a.Files()
	require.NoError(t, err)
	defer closeFiles(files)
	_, err = FromFiles(files, &Options{Limits: Limits{MaxMessage: 100}})
	require.ErrorIs(t, err, ErrLayout)
	assert.ErrorContains(t, err, "a ring of 2 slots")
}

// TestLastOpenerLeavingRefusesJoiner: an opener of a named MPMC channel
// that checked the header while the last other opener was leaving cannot
// count itself in once that one told the creator the openers are gone.
func TestLastOpenerLeavingRefusesJoiner(t *testing.T) {
	dir := t.TempDir()
	name := "mpmc"
	a, err := CreateNamed(name, &Options{Dir: dir, MPMC: true})
	require.NoError(t, err)
	defer a.Close()
	leaver, err := OpenNamed(name, &Options{Dir: dir})
	require.NoError(t, err)

	// A joiner, stepped: open and attach (as OpenNamed does), ...
	fd, err := unix.Open(filepath.Join(dir, name), unix.O_RDWR|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	j := &Channel{}
	j.memfd, j.side, j.named = fd, 1, true
	defer j.abort()
	_, err = j.attach(Options{})
	require.NoError(t, err)
	// ... the last opener leaves, telling the creator, ...
	require.NoError(t, leaver.Close())
	require.ErrorIs(t, a.TrySend([]byte("x")), ErrPeerClosed)
	// ... and the joiner's claim comes too late.
	require.ErrorIs(t, j.claim(true), ErrInUse)
}

// TestCloseLowersItsSleepers: an opener that closes while one of its
// callers sleeps takes back what that caller added to the sleeper count
// the openers share, which the creator reads at every message.
func TestCloseLowersItsSleepers(t *testing.T) {
	dir := t.TempDir()
	a, err := CreateNamed("mpmc", &Options{Dir: dir, MPMC: true})
	require.NoError(t, err)
	defer a.Close()
	b1, err := OpenNamed("mpmc", &Options{Dir: dir})
	require.NoError(t, err)
	b2, err := OpenNamed("mpmc", &Options{Dir: dir})
	require.NoError(t, err)
	defer b2.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := b1.Recv(context.Background(), make([]byte, 64))
		assert.ErrorIs(t, err, os.ErrClosed)
	}()
	sleepers := a.peer.sleepers // side 1's, which the openers share
	require.Eventually(t, func() bool { return atomic.LoadUint32(sleepers) == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, b1.Close())
	wg.Wait()
	assert.Zero(t, atomic.LoadUint32(sleepers), "sleeper count left raised by a closed opener")
}

// TestFutexCloseWithHostilePeer: the pump's wait ends after Close
// although the peer, which can write this endpoint's wake word, put back
// the value the wait compares with between Close's increment of the word
// and the wait's sleep (stepped here: Close and the peer's write come
// after the wait's checks, before its futex sleep).
func TestFutexCloseWithHostilePeer(t *testing.T) {
	var words [2]uint32
	w := newFutexWaker(sideWords{wake: &words[0]}, sideWords{wake: &words[1]})
	w.beforeSleep = func() {
		w.beforeSleep = nil
		require.NoError(t, w.close())         // closed, the word incremented, no sleeper to wake yet
		atomic.StoreUint32(&words[0], w.last) // the peer writes the old value back
	}
	done := make(chan error, 1)
	go func() { done <- w.wait() }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrClosed)
	case <-time.After(10 * time.Second):
		atomic.AddUint32(&words[0], 1) // end the wait, for the leak check
		_, _ = futex.Wake(&words[0], 1)
		t.Fatal("the wait slept on after close")
	}
}

// TestOpenNamedRefusesHardLink: a second name for an object (a hard link,
// which anyone may make to a file they can see where
// fs.protected_hardlinks is 0) is not the object CreateNamed made.
func TestOpenNamedRefusesHardLink(t *testing.T) {
	dir := t.TempDir()
	a, err := CreateNamed("ch", &Options{Dir: dir})
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, os.Link(filepath.Join(dir, "ch"), filepath.Join(dir, "other")))
	defer os.Remove(filepath.Join(dir, "other"))
	_, err = OpenNamed("other", &Options{Dir: dir})
	require.ErrorIs(t, err, ErrUntrusted)
	_, err = OpenNamed("ch", &Options{Dir: dir})
	require.ErrorIs(t, err, ErrUntrusted, "either name: the object has two")
}

// TestCloseLeavesAReplacedName: Close removes the object CreateNamed made
// only if the name still refers to it.
func TestCloseLeavesAReplacedName(t *testing.T) {
	dir := t.TempDir()
	a, err := CreateNamed("ch", &Options{Dir: dir})
	require.NoError(t, err)
	path := filepath.Join(dir, "ch")
	require.NoError(t, os.Rename(path, filepath.Join(dir, "moved")))
	require.NoError(t, os.WriteFile(path, []byte("someone else's"), 0o600))
	require.NoError(t, a.Close())
	got, err := os.ReadFile(path)
	require.NoError(t, err, "another object at the name is left alone")
	assert.Equal(t, "someone else's", string(got))
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
