// Package mailboxtest is the conformance suite of mailbox.Channel: the
// behaviour every transport must have, tested the same way on each
// (the reference block on fakedev, and the real drivers and software
// transports as they come).
//
// A transport's test calls Run with a function that opens a fresh pair of
// connected endpoints:
//
//	func TestConformance(t *testing.T) {
//		mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
//			a, b := openMyTransport(t)
//			return mailboxtest.Pair{A: a, B: b}
//		})
//	}
//
// To run the suite across two processes, make B with StartRemote: the
// test binary runs again as a child that opens the other endpoint (its
// TestMain calls ServeRemote first) and serves it to a proxy, so that
// every assertion crosses a real process boundary.
package mailboxtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/mailbox"
)

// A Pair is two connected endpoints: what A sends, B receives. With
// Duplex, what B sends, A receives too.
type Pair struct {
	A, B   mailbox.Channel
	Duplex bool
}

// Options tune the suite for slow transports. The zero value is the
// default.
type Options struct {
	// Messages is how many messages the ordering and concurrency tests
	// send (default 500).
	Messages int
	// Wait bounds how long a test waits for something that must happen
	// (default 10s); short deadlines in the tests are 20ms.
	Wait time.Duration
}

// Run runs every conformance test as a subtest of t, opening a fresh Pair
// for each. It closes the endpoints when each subtest ends.
//
// Several tests send and then receive on one goroutine, so Send must
// return once the message is queued, not wait for the peer to consume it;
// transports with a "wait for TX done" mode run the suite without it.
func Run(t *testing.T, open func(t *testing.T) Pair) { RunOptions(t, open, Options{}) }

// RunOptions is Run with options.
func RunOptions(t *testing.T, open func(t *testing.T) Pair, o Options) {
	if o.Messages == 0 {
		o.Messages = 500
	}
	if o.Wait == 0 {
		o.Wait = 10 * time.Second
	}
	s := &suite{open: open, o: o}
	for _, tc := range []struct {
		name string
		f    func(*testing.T, Pair)
	}{
		{"OrderKept", s.orderKept},
		{"EveryMessageSize", s.everySize},
		{"OversizeRejected", s.oversize},
		{"ShortBuffer", s.shortBuffer},
		{"FullAndEmpty", s.fullAndEmpty},
		{"Deadlines", s.deadlines},
		{"Cancel", s.cancel},
		{"CloseWakesRecv", s.closeWakesRecv},
		{"CloseWakesSend", s.closeWakesSend},
		{"ConcurrentSenders", s.concurrentSenders},
		{"Duplex", s.duplex},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := open(t)
			t.Cleanup(func() {
				p.A.Close()
				p.B.Close()
			})
			tc.f(t, p)
		})
	}
}

type suite struct {
	open func(t *testing.T) Pair
	o    Options
}

func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.Wait)
	t.Cleanup(cancel)
	return ctx
}

// seqMsg is a message carrying a sender id and a sequence number, padded
// to n bytes with a pattern derived from both (cut to n when n < 8).
func seqMsg(id, seq uint32, n int) []byte {
	b := make([]byte, max(n, 8))
	binary.LittleEndian.PutUint32(b, id)
	binary.LittleEndian.PutUint32(b[4:], seq)
	for i := 8; i < n; i++ {
		b[i] = byte(id*31 + seq*7 + uint32(i))
	}
	return b[:n]
}

// Messages arrive in the order sent, each once, none lost, while the
// receiver runs concurrently with the sender.
func (s *suite) orderKept(t *testing.T, p Pair) {
	ctx := s.ctx(t)
	n := min(p.A.MaxMessage(), 16)
	if n < 8 {
		t.Skipf("messages of %d bytes cannot carry a sequence number", n)
	}
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < s.o.Messages; i++ {
			if err := p.A.Send(ctx, seqMsg(1, uint32(i), n)); err != nil {
				errc <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, p.B.MaxMessage())
	for i := 0; i < s.o.Messages; i++ {
		m, err := p.B.Recv(ctx, buf)
		require.NoError(t, err, "recv %d", i)
		require.Equal(t, seqMsg(1, uint32(i), n), buf[:m], "message %d", i)
	}
	require.NoError(t, <-errc)
	_, err := p.B.TryRecv(buf)
	assert.ErrorIs(t, err, mailbox.ErrEmpty, "no message more than sent")
}

// Every size from 0 to MaxMessage round-trips byte for byte.
func (s *suite) everySize(t *testing.T, p Pair) {
	ctx := s.ctx(t)
	buf := make([]byte, p.B.MaxMessage()+8)
	for size := 0; size <= p.A.MaxMessage(); size++ {
		msg := bytes.Repeat([]byte{byte(0xa0 + size)}, size)
		for i := range msg {
			msg[i] ^= byte(i)
		}
		require.NoError(t, p.A.Send(ctx, msg), "size %d", size)
		n, err := p.B.Recv(ctx, buf)
		require.NoError(t, err, "size %d", size)
		require.Equal(t, msg, buf[:n], "size %d", size)
	}
}

// A message longer than MaxMessage is refused with ErrTooLarge and nothing
// is sent.
func (s *suite) oversize(t *testing.T, p Pair) {
	max := p.A.MaxMessage()
	err := p.A.TrySend(make([]byte, max+1))
	assert.ErrorIs(t, err, mailbox.ErrTooLarge)
	err = p.A.Send(s.ctx(t), make([]byte, max+1))
	assert.ErrorIs(t, err, mailbox.ErrTooLarge)
	_, err = p.B.TryRecv(make([]byte, max))
	assert.ErrorIs(t, err, mailbox.ErrEmpty, "nothing was sent")
}

// A receive buffer shorter than the message leaves it queued.
func (s *suite) shortBuffer(t *testing.T, p Pair) {
	if p.A.MaxMessage() < 2 {
		t.Skip("messages too small")
	}
	ctx := s.ctx(t)
	msg := []byte{1, 2}
	require.NoError(t, p.A.Send(ctx, msg))
	_, err := p.B.Recv(ctx, make([]byte, 1))
	assert.ErrorIs(t, err, mailbox.ErrShortBuffer)
	buf := make([]byte, 2)
	n, err := p.B.Recv(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, msg, buf[:n], "the message stayed queued")
}

// TrySend fills the channel until ErrFull; TryRecv empties it, in order,
// until ErrEmpty; a full channel takes a message again once one is taken.
func (s *suite) fullAndEmpty(t *testing.T, p Pair) {
	buf := make([]byte, p.B.MaxMessage())
	_, err := p.B.TryRecv(buf)
	require.ErrorIs(t, err, mailbox.ErrEmpty)
	n := min(p.A.MaxMessage(), 8)
	sent := 0
	for ; sent < 1<<20; sent++ {
		err := p.A.TrySend(seqMsg(2, uint32(sent), n))
		if errors.Is(err, mailbox.ErrFull) {
			break
		}
		require.NoError(t, err)
	}
	require.NotZero(t, sent, "an empty channel takes at least one message")
	require.Less(t, sent, 1<<20, "TrySend never reported ErrFull")
	for i := 0; i < sent; i++ {
		m, err := p.B.TryRecv(buf)
		require.NoError(t, err, "message %d of %d", i, sent)
		require.Equal(t, seqMsg(2, uint32(i), n), buf[:m])
		if i == 0 {
			// One slot free: the sender may send again (it may need to
			// wait for the transport to see the space).
			require.NoError(t, p.A.Send(s.ctx(t), seqMsg(2, uint32(sent), n)))
		}
	}
	m, err := p.B.Recv(s.ctx(t), buf)
	require.NoError(t, err)
	require.Equal(t, seqMsg(2, uint32(sent), n), buf[:m])
	_, err = p.B.TryRecv(buf)
	require.ErrorIs(t, err, mailbox.ErrEmpty)
}

// A deadline that passes gives an error wrapping os.ErrDeadlineExceeded,
// for Recv on an empty channel and Send on a full one.
func (s *suite) deadlines(t *testing.T, p Pair) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.B.Recv(ctx, make([]byte, p.B.MaxMessage()))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Less(t, time.Since(start), s.o.Wait, "Recv returned at its deadline")

	for i := 0; ; i++ {
		require.Less(t, i, 1<<20)
		if err := p.A.TrySend(nil); errors.Is(err, mailbox.ErrFull) {
			break
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = p.A.Send(ctx, nil)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var te interface{ Timeout() bool }
	if assert.ErrorAs(t, err, &te) {
		assert.True(t, te.Timeout())
	}
}

// Cancelling the context wakes a blocked Recv with context.Canceled.
func (s *suite) cancel(t *testing.T, p Pair) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.B.Recv(ctx, make([]byte, p.B.MaxMessage()))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(s.o.Wait):
		t.Fatal("Recv did not return after cancel")
	}
}

// Close wakes a Recv blocked on the closed endpoint with os.ErrClosed, and
// every later call fails the same way.
func (s *suite) closeWakesRecv(t *testing.T, p Pair) {
	errc := make(chan error, 1)
	go func() {
		_, err := p.B.Recv(s.ctx(t), make([]byte, p.B.MaxMessage()))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, p.B.Close())
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, os.ErrClosed)
	case <-time.After(s.o.Wait):
		t.Fatal("Close did not wake Recv")
	}
	_, err := p.B.TryRecv(make([]byte, 8))
	assert.ErrorIs(t, err, os.ErrClosed)
	_, err = p.B.Recv(s.ctx(t), make([]byte, 8))
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.NoError(t, p.B.Close(), "Close is idempotent")
}

// Close wakes a Send blocked on a full channel with os.ErrClosed.
func (s *suite) closeWakesSend(t *testing.T, p Pair) {
	for i := 0; ; i++ {
		require.Less(t, i, 1<<20)
		if err := p.A.TrySend(nil); errors.Is(err, mailbox.ErrFull) {
			break
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- p.A.Send(s.ctx(t), nil) }()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, p.A.Close())
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, os.ErrClosed)
	case <-time.After(s.o.Wait):
		t.Fatal("Close did not wake Send")
	}
	assert.ErrorIs(t, p.A.TrySend(nil), os.ErrClosed)
}

// Several goroutines send at once: every message arrives exactly once, and
// each sender's messages arrive in its order.
func (s *suite) concurrentSenders(t *testing.T, p Pair) {
	n := min(p.A.MaxMessage(), 12)
	if n < 8 {
		t.Skip("messages too small")
	}
	ctx := s.ctx(t)
	const senders = 4
	per := s.o.Messages / senders
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for id := 0; id < senders; id++ {
		wg.Add(1)
		go func(id uint32) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if err := p.A.Send(ctx, seqMsg(id, uint32(i), n)); err != nil {
					errc <- err
					return
				}
			}
		}(uint32(id))
	}
	next := make([]uint32, senders)
	buf := make([]byte, p.B.MaxMessage())
	for got := 0; got < senders*per; got++ {
		m, err := p.B.Recv(ctx, buf)
		require.NoError(t, err, "after %d messages", got)
		require.Equal(t, n, m)
		id := binary.LittleEndian.Uint32(buf)
		require.Less(t, id, uint32(senders))
		seq := binary.LittleEndian.Uint32(buf[4:])
		require.Equal(t, next[id], seq, "sender %d: out of order or duplicated", id)
		require.Equal(t, seqMsg(id, seq, n), buf[:m])
		next[id]++
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		require.NoError(t, err)
	}
	_, err := p.B.TryRecv(buf)
	assert.ErrorIs(t, err, mailbox.ErrEmpty)
}

// A duplex pair carries messages both ways at once.
func (s *suite) duplex(t *testing.T, p Pair) {
	if !p.Duplex {
		t.Skip("the pair is one-way")
	}
	ctx := s.ctx(t)
	n := min(p.A.MaxMessage(), p.B.MaxMessage(), 8)
	var wg sync.WaitGroup
	for _, dir := range []struct{ from, to mailbox.Channel }{{p.A, p.B}, {p.B, p.A}} {
		wg.Add(2)
		go func(from mailbox.Channel) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				assert.NoError(t, from.Send(ctx, seqMsg(3, uint32(i), n)))
			}
		}(dir.from)
		go func(to mailbox.Channel) {
			defer wg.Done()
			buf := make([]byte, to.MaxMessage())
			for i := 0; i < 100; i++ {
				m, err := to.Recv(ctx, buf)
				if !assert.NoError(t, err) {
					return
				}
				if n >= 8 {
					assert.Equal(t, seqMsg(3, uint32(i), n), buf[:m])
				} else {
					assert.Equal(t, n, m)
				}
			}
		}(dir.to)
	}
	wg.Wait()
}
