package irq_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/regs/ipcu"
)

// mailboxRig is a fakedev block whose mailbox 0 carries messages from the
// firmware (core 1) to the host (core 0), with the host's MBOX_RX
// interrupt enabled, and the host's line as an irq.Source.
type mailboxRig struct {
	dev      *fakedev.Device
	host, fw *ipcu.IPCU
	src      *irq.Eventfd
}

func newMailboxRig(t *testing.T) *mailboxRig {
	t.Helper()
	requireEventfd(t)
	dev, err := fakedev.New(fakedev.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, dev.Close()) })
	r := &mailboxRig{dev: dev}
	r.host, err = ipcu.New(dev.Core(0), 0)
	require.NoError(t, err)
	r.fw, err = ipcu.New(dev.Core(1), 0)
	require.NoError(t, err)

	// As in fakedev's Example: core 0 configures the mailbox (11.1).
	cfg := ipcu.MBOX_CFG
	r.host.MBOX[0].CFG.Update(cfg.EN.Val(1), cfg.SENDER.Val(1), cfg.RECEIVER.Val(0))
	r.host.CTRL.Update(ipcu.CTRL.EN.Val(1))
	r.host.CORE[0].RX_EN.Write(1 << 0)
	r.host.CORE[0].IRQ_MASK.Update(ipcu.CORE_IRQ_MASK.MBOX_RX.Val(1))

	// The device owns the eventfd: the Source borrows it. Cleanups run
	// last-in first-out, so the Source closes before the device.
	r.src, err = irq.FromEventfd(dev.Core(0).EventFD(), false)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.src.Close()) })
	return r
}

// send is the firmware sending v (docs/ipcu.md 11.2), waiting for room.
//
// It yields a few times, then sleeps: a goroutine that only yields never
// lets its P poll the netpoller, where the handler's Wait or Loop parks,
// so with GOMAXPROCS=1 the handler would run only at the runtime's poll
// every 10ms.
func (r *mailboxRig) send(v uint32) {
	for i := 0; ipcu.MBOX_STATUS.FULL.Get(r.fw.MBOX[0].STATUS.Read()) == 1; i++ {
		if i < 10 {
			runtime.Gosched()
		} else {
			time.Sleep(10 * time.Microsecond)
		}
	}
	r.fw.MBOX[0].TXDATA[0].Write(v)
	r.fw.MBOX[0].COMMIT.Write(4)
}

// pop is the host taking the head message of mailbox 0, if there is one.
func (r *mailboxRig) pop() (uint32, bool) {
	if ipcu.MBOX_RXLEN.VALID.Get(r.host.MBOX[0].RXLEN.Read()) == 0 {
		return 0, false
	}
	v := r.host.MBOX[0].RXDATA[0].Read()
	r.host.MBOX[0].POP.Write(1)
	return v, true
}

// A message that arrives while the handler runs raises no notification of
// its own (docs/ipcu.md 6.3 rule 3): only re-arming with IRQ_EOI, or
// reading the status again, finds it.
func TestLostEdgeRecoveredByEOI(t *testing.T) {
	r := newMailboxRig(t)
	core := r.dev.Core(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	r.send(1)
	n, err := r.src.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)

	// The handler reads the status...
	st := r.host.CORE[0].IRQ_MSTATUS.Read()
	require.Equal(t, uint32(1), ipcu.CORE_IRQ_MSTATUS.MBOX_RX.Get(st))
	// ...message 2 arrives while the line is still high: no notification.
	notes := core.Notifications()
	r.send(2)
	assert.Equal(t, notes, core.Notifications())
	// ...and the handler takes the message it saw.
	v, ok := r.pop()
	require.True(t, ok)
	assert.Equal(t, uint32(1), v)

	// A driver that trusted the notification alone would now sleep with
	// message 2 pending: the line has nothing to deliver.
	n, err = r.src.TryWait()
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, uint32(1), r.host.CORE[0].RX_PEND.Read())

	// Step 4 of the pattern: EOI with the line still high notifies again.
	r.host.CORE[0].IRQ_EOI.Write(1)
	n, err = r.src.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)
	v, ok = r.pop()
	require.True(t, ok)
	assert.Equal(t, uint32(2), v)
	r.host.CORE[0].IRQ_EOI.Write(1)

	// Everything handled: EOI with the line low notifies nothing.
	n, err = r.src.TryWait()
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, irq.Stats{Wakeups: 2, Delivered: 2}, r.src.Stats())
}

// The handler pattern receives every message while the firmware sends as
// fast as it can, so that messages keep arriving during handling: with a
// handler that takes only one message per notification (the EOI
// re-notification brings it back for the rest), with one that drains the
// FIFO, from a Loop (sleeping or busy polling) or from Wait.
func TestHandlerPatternLosesNothing(t *testing.T) {
	const messages = 500
	for _, tc := range []struct {
		name     string
		drain    bool
		loop     bool
		busyPoll time.Duration
	}{
		{"loop/one-per-irq", false, true, 0},
		{"loop/drain", true, true, 0},
		{"busypoll/one-per-irq", false, true, 10 * time.Millisecond},
		{"wait/one-per-irq", false, false, 0},
		{"wait/drain", true, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newMailboxRig(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			var got []uint32
			handle := func(uint64) {
				st := r.host.CORE[0].IRQ_MSTATUS.Read() // 1. status
				if st == 0 {
					r.src.Spurious()
				}
				if ipcu.CORE_IRQ_MSTATUS.MBOX_RX.Get(st) == 1 { // 2. acknowledge (pop) and process
					for {
						v, ok := r.pop()
						if ok {
							got = append(got, v)
						}
						if !ok || !tc.drain {
							break
						}
					}
				}
				r.host.CORE[0].IRQ_EOI.Write(1) // 3. re-arm
				if len(got) == messages {
					cancel()
				}
			}

			go func() {
				for i := range uint32(messages) {
					r.send(i)
				}
			}()
			var err error
			if tc.loop {
				l := newLoop(t, &irq.LoopOptions{BusyPoll: tc.busyPoll})
				require.NoError(t, l.Add(r.src, handle))
				err = l.Run(ctx)
			} else {
				for err == nil {
					var n uint64
					if n, err = r.src.Wait(ctx); err == nil {
						handle(n)
					}
				}
			}
			require.ErrorIs(t, err, context.Canceled, "received %d of %d messages", len(got), messages)
			require.Len(t, got, messages)
			for i, v := range got {
				require.Equal(t, uint32(i), v, "message %d", i)
			}
			st := r.src.Stats()
			assert.Equal(t, st.Delivered, st.Wakeups+st.Missed)
			t.Logf("%d messages, %+v", messages, st)
		})
	}
}
