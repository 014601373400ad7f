package fakedev

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The access trace records every access with its initiator, offset, width,
// direction, value and outcome, and the internal events, in order.
func TestTrace(t *testing.T) {
	r := newRig(t, Config{})
	r.blk[1].ID.Read() // not traced: tracing is off
	r.d.SetTrace(true)
	r.blk[1].ID.Read()
	r.d.Core(2).Write32(0x1c, 5) // reserved
	r.d.Core(3).Write32(0x10, 1) // CTRL by core 3: denied
	r.d.Core(0).Write32(0x10, 2) // soft reset
	tr := r.d.Trace()
	require.Len(t, tr, 5)
	assert.Equal(t, TraceEntry{Core: 1, Offset: 0, Bits: 32, Value: 0x49504355, Outcome: Done}, tr[0])
	assert.Equal(t, TraceEntry{Core: 2, Offset: 0x1c, Bits: 32, Write: true, Value: 5, Outcome: RAZWI}, tr[1])
	assert.Equal(t, TraceEntry{Core: 3, Offset: 0x10, Bits: 32, Write: true, Value: 1, Outcome: Violation, Cause: CauseDenied}, tr[2])
	assert.Equal(t, "soft reset", tr[3].Event)
	assert.Equal(t, "core 0: write32 0x0010 = 0x2", tr[4].String())
	assert.Equal(t, "core 3: write32 0x0010 = 0x1 (violation DENIED)", tr[2].String())
	assert.Equal(t, "core -1: soft reset", tr[3].String())
	assert.Empty(t, r.d.Trace(), "Trace forgets what it returned")
	r.d.SetTrace(false)
	r.blk[1].ID.Read()
	assert.Empty(t, r.d.Trace())
}

// Sender and receiver on different goroutines, polled, under -race: every
// message arrives once and in order, and the accesses are serialised.
func TestConcurrentMailboxTraffic(t *testing.T) {
	r := newRig(t, Config{FIFODepth: 2})
	r.mailbox(0, 1, 2)
	const n = 2000
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		snd := r.blk[1].MBOX[0]
		for i := 0; i < n; {
			if snd.STATUS.Read()&(1<<9) != 0 { // FULL
				runtime.Gosched()
				continue
			}
			snd.TXDATA[0].Write(uint32(i))
			snd.COMMIT.Write(4)
			i++
		}
	}()
	got := make([]uint32, 0, n)
	go func() {
		defer wg.Done()
		rcv := r.blk[2].MBOX[0]
		for len(got) < n {
			if rcv.RXLEN.Read()>>31 == 0 {
				runtime.Gosched()
				continue
			}
			got = append(got, rcv.RXDATA[0].Read())
			rcv.POP.Write(1)
		}
	}()
	wg.Wait()
	for i, v := range got {
		require.Equal(t, uint32(i), v)
	}
	assert.Zero(t, r.blk[0].MBOX[0].STATUS.Read()&(1<<16), "no overflow: the sender checked FULL")
}

func TestCloseIsIdempotent(t *testing.T) {
	d, err := New(Config{})
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close())
	assert.Panics(t, func() { d.Core(0).Read32(0) }, "use after Close")
	var nilDev *Device
	assert.NoError(t, nilDev.Close())
}
