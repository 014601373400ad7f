package ipcu_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/mailbox/ipcu"
	"github.com/ipcu/ipcu/mailbox/mailboxtest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// testbed is a fakedev block with drivers on cores 0 (management), 1 and 2,
// mailbox 0 from core 1 to core 2 and mailbox 1 back.
type testbed struct {
	dev *fakedev.Device
	drv [3]*ipcu.Driver
}

func newTestbed(t *testing.T, cfg fakedev.Config, withIRQ bool) *testbed {
	t.Helper()
	return newTestbedTB(t, cfg, withIRQ)
}

func newTestbedTB(t testing.TB, cfg fakedev.Config, withIRQ bool) *testbed {
	t.Helper()
	dev, err := fakedev.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, dev.Close()) })
	tb := &testbed{dev: dev}
	for k := range tb.drv {
		c := ipcu.Config{Bus: dev.Core(k)}
		if withIRQ {
			src, err := irq.FromEventfd(dev.Core(k).EventFD(), false)
			require.NoError(t, err)
			t.Cleanup(func() { src.Close() })
			c.IRQ = src
		}
		tb.drv[k], err = ipcu.Open(c)
		require.NoError(t, err)
		t.Cleanup(func() { tb.drv[k].Close() })
	}
	admin := tb.drv[0]
	require.NoError(t, admin.ConfigureMailbox(0, 1, 2))
	require.NoError(t, admin.ConfigureMailbox(1, 2, 1))
	require.NoError(t, admin.Enable())
	return tb
}

// pair opens the duplex pair: core 1 sends on 0 and receives on 1, core 2
// the other way.
func (tb *testbed) pair(t testing.TB, mode ipcu.TxDone) mailboxtest.Pair {
	t.Helper()
	a, err := tb.drv[1].Channel(ipcu.ChannelConfig{TX: 0, RX: 1, TxDone: mode})
	require.NoError(t, err)
	b, err := tb.drv[2].Channel(ipcu.ChannelConfig{TX: 1, RX: 0, TxDone: mode})
	require.NoError(t, err)
	return mailboxtest.Pair{A: a, B: b, Duplex: true}
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		irq  bool
		mode ipcu.TxDone
	}{
		{"IRQ", true, ipcu.TxDoneQueued},
		{"Polled", false, ipcu.TxDoneQueued},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
				return newTestbed(t, fakedev.Config{}, tc.irq).pair(t, tc.mode)
			})
		})
	}
}

// The conformance suite with a one-word, one-deep mailbox: the smallest
// configuration.
func TestConformanceSmallest(t *testing.T) {
	mailboxtest.RunOptions(t, func(t *testing.T) mailboxtest.Pair {
		return newTestbed(t, fakedev.Config{FIFODepth: 1, MsgWords: 1}, true).pair(t, ipcu.TxDoneQueued)
	}, mailboxtest.Options{Messages: 100})
}

func TestOpenChecksAccessControl(t *testing.T) {
	tb := newTestbed(t, fakedev.Config{}, false)
	_, err := tb.drv[2].Channel(ipcu.ChannelConfig{TX: 0, RX: -1})
	assert.ErrorIs(t, err, mailbox.ErrPermission)
	assert.ErrorContains(t, err, "mailbox 0's sender is core 1, not core 2")
	_, err = tb.drv[1].Channel(ipcu.ChannelConfig{TX: -1, RX: 5})
	assert.ErrorIs(t, err, mailbox.ErrPermission)
	assert.ErrorContains(t, err, "mailbox 5 is disabled")
	_, err = tb.drv[1].Channel(ipcu.ChannelConfig{TX: -1, RX: -1})
	assert.Error(t, err)

	ch, err := tb.drv[1].Channel(ipcu.ChannelConfig{TX: 0, RX: -1})
	require.NoError(t, err)
	_, err = tb.drv[1].Channel(ipcu.ChannelConfig{TX: 0, RX: -1})
	assert.ErrorContains(t, err, "already open")
	assert.ErrorIs(t, err, os.ErrExist)
	_, err = ch.Recv(context.Background(), nil)
	assert.ErrorContains(t, err, "no RX mailbox")
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.NoError(t, (*ipcu.Channel)(nil).Close())
	assert.NoError(t, (*ipcu.Driver)(nil).Close())
	require.NoError(t, ch.Close())
	ch, err = tb.drv[1].Channel(ipcu.ChannelConfig{TX: 0, RX: -1})
	require.NoError(t, err, "Close released the mailbox")
	ch.Close()
}

// Reconfiguring a mailbox under an open channel resets it: ErrReset.
func TestReconfigurationResets(t *testing.T) {
	tb := newTestbed(t, fakedev.Config{}, true)
	p := tb.pair(t, ipcu.TxDoneQueued)
	defer p.A.Close()
	defer p.B.Close()
	require.NoError(t, p.A.Send(context.Background(), []byte{1}))
	require.NoError(t, tb.drv[0].ConfigureMailbox(0, 1, 3))
	_, err := p.B.TryRecv(make([]byte, 16))
	assert.ErrorIs(t, err, mailbox.ErrReset)
	assert.ErrorIs(t, p.A.TrySend([]byte{2}), mailbox.ErrReset)
}

func TestAdminHelpers(t *testing.T) {
	tb := newTestbed(t, fakedev.Config{}, false)
	admin := tb.drv[0]
	require.NoError(t, admin.LockAll())
	err := admin.ConfigureMailbox(3, 1, 2)
	assert.ErrorIs(t, err, mailbox.ErrPermission)
	assert.ErrorContains(t, err, "LOCKED")
	assert.ErrorIs(t, tb.drv[1].ConfigureMailbox(4, 1, 2), mailbox.ErrPermission, "only core 0 configures")
	assert.ErrorIs(t, tb.drv[1].Enable(), mailbox.ErrPermission)

	tb.dev.Core(3).Write32(0x10, 1) // core 3 writes CTRL: denied
	v, ok, err := admin.TakeViolation()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ipcu.Violation{Offset: 0x10, Initiator: 3, Write: true, Bits: 32, Cause: 1, Count: 1}, v)
	assert.Equal(t, "write by core 3 of 32 bits at 0x10 refused (DENIED)", v.String())
	_, ok, _ = admin.TakeViolation()
	assert.False(t, ok, "the log was cleared")
}

func TestDoorbells(t *testing.T) {
	tb := newTestbed(t, fakedev.Config{}, true)
	require.NoError(t, tb.drv[0].AllowDoorbells(2, 1<<1))
	assert.ErrorIs(t, tb.drv[0].Ring(2, 1), mailbox.ErrPermission, "core 0 is not a setter")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan uint32, 1)
	go func() {
		v, err := tb.drv[2].WaitDoorbells(ctx, 0xf0)
		assert.NoError(t, err)
		got <- v
	}()
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, tb.drv[1].Ring(2, 1<<0)) // not in the mask
	require.NoError(t, tb.drv[1].Ring(2, 1<<5))
	assert.Equal(t, uint32(1<<5), <-got)
	assert.Equal(t, uint32(1<<0|1<<5), tb.drv[2].Doorbells())
	tb.drv[2].ClearDoorbells(1 << 5)
	assert.Equal(t, uint32(1<<0), tb.drv[2].Doorbells())

	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	_, err := tb.drv[2].WaitDoorbells(short, 1<<9)
	assert.ErrorIs(t, err, mailbox.ErrTimeout)
}

// With TxDoneIRQ and TxDonePoll, Send returns only once the receiver has
// popped the message.
func TestTxDoneWaitsForThePeer(t *testing.T) {
	for _, mode := range []ipcu.TxDone{ipcu.TxDoneIRQ, ipcu.TxDonePoll} {
		tb := newTestbed(t, fakedev.Config{}, true)
		p := tb.pair(t, mode)
		sent := make(chan error, 1)
		go func() { sent <- p.A.Send(context.Background(), []byte("x")) }()
		select {
		case err := <-sent:
			t.Fatalf("mode %d: Send returned (%v) before the receiver popped", mode, err)
		case <-time.After(20 * time.Millisecond):
		}
		buf := make([]byte, 16)
		_, err := p.B.Recv(context.Background(), buf)
		require.NoError(t, err)
		select {
		case err := <-sent:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("mode %d: Send did not return after the pop", mode)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		err = p.A.Send(ctx, []byte("y"))
		cancel()
		assert.ErrorIs(t, err, mailbox.ErrTimeout, "nobody receives: TX done never comes")
		p.A.Close()
		p.B.Close()
	}
}

func TestTxDoneAck(t *testing.T) {
	tb := newTestbed(t, fakedev.Config{}, true)
	p := tb.pair(t, ipcu.TxDoneAck)
	defer p.A.Close()
	defer p.B.Close()
	a := p.A.(*ipcu.Channel)
	require.NoError(t, a.TrySend([]byte("one")))
	assert.ErrorIs(t, a.TrySend([]byte("two")), mailbox.ErrFull, "waits for the acknowledgement")
	a.Ack()
	require.NoError(t, a.TrySend([]byte("two")))
	buf := make([]byte, 16)
	for _, want := range []string{"one", "two"} {
		n, err := p.B.Recv(context.Background(), buf)
		require.NoError(t, err)
		assert.Equal(t, want, string(buf[:n]))
	}
}

// With fakedev's faults: lost notifications still deliver every message
// within a bounded time (the poll fallback); duplicated and spurious ones
// never duplicate a message. The test counts: each message exactly once.
func TestFaultsNeverLoseOrDuplicate(t *testing.T) {
	for _, plan := range []fakedev.FaultPlan{
		{Seed: 1, LoseNotification: 0.5},
		{Seed: 2, LoseNotification: 1},
		{Seed: 3, DuplicateNotification: 0.5, SpuriousNotification: 0.05},
	} {
		tb := newTestbed(t, fakedev.Config{}, true)
		tb.dev.SetFaults(plan)
		p := tb.pair(t, ipcu.TxDoneIRQ)
		const n = 300
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		errc := make(chan error, 1)
		go func() {
			for i := 0; i < n; i++ {
				if err := p.A.Send(ctx, []byte{byte(i), byte(i >> 8)}); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		buf := make([]byte, 16)
		for i := 0; i < n; i++ {
			m, err := p.B.Recv(ctx, buf)
			require.NoError(t, err, "%+v: message %d", plan, i)
			require.Equal(t, []byte{byte(i), byte(i >> 8)}, buf[:m], "%+v", plan)
		}
		require.NoError(t, <-errc)
		_, err := p.B.TryRecv(buf)
		assert.True(t, errors.Is(err, mailbox.ErrEmpty), "%+v: no duplicate", plan)
		cancel()
		p.A.Close()
		p.B.Close()
	}
}
