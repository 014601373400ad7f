package dmaring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/irq"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// Packets of 64 B, 4 KiB and the largest size, single- and multi-buffer,
// arrive whole, in order, with their IDs, in both engine modes; a packet
// larger than an RX buffer fills several (EOP on the last), which
// RecvPacket shows as segments.
func TestDMATransfer(t *testing.T) {
	forModes(t, func(t *testing.T, mode fakedev.EngineMode) {
		for _, tc := range []struct {
			name               string
			size, txBuf, rxBuf int
			segs               int
		}{
			{"64B", 64, 4096, 4096, 1},
			{"4KiB", 4096, 4096, 4096, 1},
			{"max", MaxDMAPacket, MaxDMAPacket, MaxDMAPacket, 1},
			{"max-multi", MaxDMAPacket, MaxDMAPacket, 4096, 16},
			{"multi-odd", 10000, 16384, 3000, 4},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newDMABed(t, mode)
				rxRing := 32
				tx, rx := b.open(t, 1, b.ringCfg(1, 1, 4, tc.txBuf), b.ringCfg(2, 1, rxRing, tc.rxBuf))
				buf := make([]byte, MaxDMAPacket)
				for i := 0; i < 3; i++ {
					p := dmaPayload(nil, i, tc.size)
					require.NoError(t, tx.SendID(p, uint16(100+i)))
					stepOrWait(b, mode)
					if i == 2 { // zero copy
						var pkt *RxPacket
						for {
							var err error
							if pkt, err = rx.RecvPacket(); !errors.Is(err, ErrEmpty) {
								require.NoError(t, err)
								break
							}
							require.NoError(t, rx.Wait(context.Background()))
						}
						assert.Equal(t, tc.size, pkt.Len())
						assert.Equal(t, uint16(102), pkt.ID())
						require.Equal(t, tc.segs, pkt.Segments())
						var got []byte
						for s := 0; s < pkt.Segments(); s++ {
							got = append(got, pkt.Segment(s)...)
						}
						assert.Nil(t, pkt.Segment(pkt.Segments()))
						assert.True(t, bytes.Equal(p, got), "packet %d", i)
						pkt.Release()
						pkt.Release()
						continue
					}
					n, id := recvWait(t, rx, buf)
					assert.Equal(t, uint16(100+i), id)
					assert.True(t, bytes.Equal(p, buf[:n]), "packet %d: %d bytes, want %d", i, n, tc.size)
				}
				for tx.InFlight() > 0 {
					_, err := tx.Reap()
					require.NoError(t, err)
					require.NoError(t, tx.Wait(context.Background()))
				}
				assert.NoError(t, tx.Err())
				assert.NoError(t, rx.Err())
			})
		}
	})
}

// SendBatch, and Post followed by Flush, publish many descriptors with one
// TX_PROD write (docs/ipcu.md 11.9 step 4), seen in the block's trace.
func TestDMABatchOnePRODWrite(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	const c = 2
	tx, rx := b.pair(t, c, 16, 256)
	prodWrites := func() int {
		n := 0
		for _, e := range b.dev.Trace() {
			if e.Write && e.Core == 1 && e.Offset == 0x1000+0x100*c+0x20 {
				n++
			}
		}
		return n
	}
	b.dev.SetTrace(true)
	ps := make([][]byte, 8)
	for i := range ps {
		ps[i] = dmaPayload(nil, i, 10+i)
	}
	n, err := tx.SendBatch(ps)
	require.NoError(t, err)
	assert.Equal(t, 8, n)
	assert.Equal(t, 1, prodWrites(), "one TX_PROD write for 8 descriptors")
	assert.Equal(t, uint32(8), b.regs[1].DMA[c].TX_PROD.Read())

	for i := 0; i < 4; i++ {
		buf, err := tx.Buffer()
		require.NoError(t, err)
		copy(buf.Bytes(), ps[i])
		require.NoError(t, tx.Post(buf, len(ps[i]), uint16(50+i)))
	}
	assert.Equal(t, 0, prodWrites(), "Post does not publish")
	require.NoError(t, tx.Flush())
	require.NoError(t, tx.Flush())
	assert.Equal(t, 1, prodWrites(), "one TX_PROD write for 4 posts; an empty Flush writes nothing")

	// A batch that does not fit: what fits is sent, with one write.
	big := make([][]byte, 10)
	for i := range big {
		big[i] = ps[0]
	}
	n, err = tx.SendBatch(big)
	assert.ErrorIs(t, err, ErrFull)
	assert.Equal(t, 4, n)
	assert.Equal(t, 1, prodWrites())
	b.dev.SetTrace(false)

	b.dev.RunEngine()
	buf := make([]byte, 256)
	for i := 0; i < 16; i++ {
		n, id, err := rx.Recv(buf)
		require.NoError(t, err)
		switch {
		case i < 8:
			assert.Equal(t, uint16(i), id)
			assert.Equal(t, ps[i], buf[:n])
		case i < 12:
			assert.Equal(t, uint16(50+i-8), id)
			assert.Equal(t, ps[i-8], buf[:n])
		default:
			assert.Equal(t, uint16(8+i-12), id, "Send's IDs go on counting")
		}
	}
	ids := make([]uint16, 32)
	n, err = tx.ReapIDs(ids)
	require.NoError(t, err)
	assert.Equal(t, []uint16{0, 1, 2, 3, 4, 5, 6, 7, 50, 51, 52, 53, 8, 9, 10, 11}, ids[:n])
}

// Many laps of small rings: the indices wrap the rings again and again,
// in both modes; the ring is full at RingSize descriptors (ErrFull) and
// Reap makes room.
func TestDMAWrapAround(t *testing.T) {
	forModes(t, func(t *testing.T, mode fakedev.EngineMode) {
		b := newDMABed(t, mode)
		tx, rx := b.open(t, 0, b.ringCfg(1, 0, 4, 512), b.ringCfg(2, 0, 2, 512))
		const packets = 2000
		var wg sync.WaitGroup
		wg.Add(1)
		recvErr := make(chan error, 1)
		go func() { // core 2
			defer wg.Done()
			buf := make([]byte, 1024)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for i := 0; i < packets; {
				n, id, err := rx.Recv(buf)
				switch {
				case errors.Is(err, ErrEmpty):
					if mode == fakedev.EngineStep {
						b.dev.RunEngine()
						runtime.Gosched()
						continue
					}
					if err := rx.Wait(ctx); err != nil {
						recvErr <- err
						return
					}
					continue
				case err != nil:
					recvErr <- err
					return
				case id != uint16(i) || !bytes.Equal(buf[:n], dmaPayload(nil, i, 1+i%500)):
					recvErr <- fmt.Errorf("packet %d: got id %d, %d bytes", i, id, n)
					return
				}
				i++
			}
			recvErr <- nil
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var p []byte
		full := 0
		for i := 0; i < packets; {
			p = dmaPayload(p, i, 1+i%500)
			err := tx.Send(p)
			if errors.Is(err, ErrFull) {
				full++
				assert.Equal(t, 4, tx.InFlight())
				n, err := tx.Reap()
				require.NoError(t, err)
				if n == 0 {
					if mode == fakedev.EngineStep {
						b.dev.RunEngine()
						runtime.Gosched()
					} else {
						require.NoError(t, tx.Wait(ctx))
					}
				}
				continue
			}
			require.NoError(t, err)
			i++
		}
		wg.Wait()
		require.NoError(t, <-recvErr)
		assert.Positive(t, full, "the ring filled up")
		assert.Equal(t, uint32(packets), b.regs[1].DMA[0].TX_CONS.Read(), "%d laps of the TX ring", packets/4)
		assert.Equal(t, uint32(packets), b.regs[2].DMA[0].RX_CONS.Read())
	})
}

// ErrFull when the ring is full or the pool empty; Reap frees both. Bad
// arguments are refused without side effects.
func TestDMAFullThenReap(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.pair(t, 0, 4, 64)
	p := []byte("packet")
	for i := 0; i < 4; i++ {
		require.NoError(t, tx.Send(p))
	}
	assert.ErrorIs(t, tx.Send(p), ErrFull)
	buf, err := tx.Buffer() // the pool has 4 buffers, all in flight
	assert.ErrorIs(t, err, ErrFull)
	assert.Nil(t, buf)
	n, err := tx.Reap()
	require.NoError(t, err)
	assert.Zero(t, n, "nothing moved yet")
	assert.Equal(t, 4, b.dev.RunEngine())
	n, err = tx.Reap()
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	assert.Zero(t, tx.InFlight())
	require.NoError(t, tx.Send(p))

	assert.ErrorIs(t, tx.Send(nil), os.ErrInvalid)
	assert.ErrorIs(t, tx.Send(make([]byte, 65)), ErrTooLarge)
	tb, err := tx.Buffer()
	require.NoError(t, err)
	assert.Len(t, tb.Bytes(), 64)
	assert.ErrorIs(t, tx.Post(tb, 0, 0), os.ErrInvalid)
	assert.ErrorIs(t, tx.Post(tb, 65, 0), ErrTooLarge)
	assert.ErrorIs(t, tx.Post(nil, 1, 0), os.ErrInvalid)
	tx.Discard(tb)
	assert.ErrorIs(t, tx.Post(tb, 1, 0), os.ErrInvalid, "discarded")
	tx.Discard(tb) // twice: nothing

	// A TX with fewer buffers than descriptors: the pool runs out first.
	b2 := newDMABed(t, fakedev.EngineStep)
	cfg := b2.ringCfg(1, 3, 8, 64)
	cfg.Buffers = 2
	tx2, _ := b2.open(t, 3, cfg, b2.ringCfg(2, 3, 8, 64))
	require.NoError(t, tx2.Send(p))
	tb, err = tx2.Buffer()
	require.NoError(t, err)
	assert.ErrorIs(t, tx2.Send(p), ErrFull)
	tx2.Discard(tb)
	require.NoError(t, tx2.Send(p))

	// RX: a short buffer leaves the packet in place.
	b.dev.RunEngine()
	small := make([]byte, 3)
	n, id, err := rx.Recv(small)
	assert.ErrorIs(t, err, io.ErrShortBuffer)
	assert.Equal(t, len(p), n)
	big := make([]byte, 64)
	for i := 0; i < 5; i++ {
		if i == 4 {
			assert.Equal(t, 1, b.dev.RunEngine(), "Recv posted buffers again")
		}
		n2, id2, err := rx.Recv(big)
		require.NoError(t, err)
		assert.Equal(t, p, big[:n2])
		if i == 0 {
			assert.Equal(t, id, id2)
		}
	}
	_, _, err = rx.Recv(big)
	assert.ErrorIs(t, err, ErrEmpty)
}

// Held zero-copy packets keep their buffers out of the ring: with as many
// buffers as descriptors the sender stalls (it never drops) until they are
// released; with more, the ring stays posted.
func TestDMAZeroCopyHold(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.open(t, 0, b.ringCfg(1, 0, 4, 64), b.ringCfg(2, 0, 2, 64))
	for i := 0; i < 4; i++ {
		require.NoError(t, tx.Send([]byte{byte(i)}))
	}
	b.dev.RunEngine()
	p0, err := rx.RecvPacket()
	require.NoError(t, err)
	p1, err := rx.RecvPacket()
	require.NoError(t, err)
	assert.Equal(t, []byte{0}, p0.Segment(0))
	assert.Equal(t, []byte{1}, p1.Segment(0))
	_, err = rx.RecvPacket()
	assert.ErrorIs(t, err, ErrEmpty)
	require.NoError(t, rx.Refill())
	b.dev.RunEngine()
	assert.Equal(t, uint32(1<<1|1), b.regs[2].DMA[0].STATUS.Read(), "ACTIVE and STALL: no RX buffer")
	p1.Release()
	b.dev.RunEngine()
	p2, err := rx.RecvPacket()
	require.NoError(t, err)
	assert.Equal(t, []byte{2}, p2.Segment(0))
	p0.Release()
	p2.Release()
	b.dev.RunEngine()
	buf := make([]byte, 8)
	n, id, err := rx.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, []byte{3}, buf[:n])
	assert.Equal(t, uint16(3), id)
}

// Every message is delivered exactly once or reported failed. Channel 0
// halts on injected DMA errors (TX ring: BUF_FAULT, BAD_LEN; a TOO_BIG on
// the RX ring, which the sender recovers): the sender's Wait returns the
// typed error, Reset reports the packets in flight as not sent and runs
// the channel again. Channel 1, running at the same time, never notices.
func TestDMAErrorRecovery(t *testing.T) {
	b := newDMABed(t, fakedev.EngineFreeRunning)
	b.dev.SetFaults(fakedev.FaultPlan{DMAErrors: []fakedev.DMAError{
		{Channel: 0, Packet: 30, Code: int(regmap.DMA_STATUS_ERRCODE_BUF_FAULT)},
		{Channel: 0, Packet: 200, Code: int(regmap.DMA_STATUS_ERRCODE_BAD_LEN)},
		{Channel: 0, Packet: 400, Code: int(regmap.DMA_STATUS_ERRCODE_TOO_BIG)},
	}})
	tx0, rx0 := b.pair(t, 0, 16, 512)
	tx1, rx1 := b.open(t, 1, b.ringCfg(3, 1, 8, 512), b.ringCfg(2, 1, 8, 512))
	const packets = 600

	type result struct {
		got     map[uint16]int
		failed  []uint16
		halts   []*ChannelError
		sendErr error
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	send := func(tx *TX, res *result, failedCount chan<- int) {
		var p []byte
		ids := make([]uint16, 64)
		sent := 0
		defer func() { failedCount <- len(res.failed) }()
		reap := func() error {
			_, err := tx.ReapIDs(ids)
			return err
		}
		for sent < packets || tx.InFlight() > 0 {
			if sent < packets {
				p = dmaPayload(p, sent, 1+sent%400)
				err := tx.SendID(p, uint16(sent))
				if err == nil {
					sent++
					continue
				}
				if !errors.Is(err, ErrFull) {
					res.sendErr = err
					return
				}
			}
			if err := reap(); err != nil {
				res.sendErr = err
				return
			}
			err := tx.Wait(ctx)
			var ce *ChannelError
			if errors.As(err, &ce) {
				res.halts = append(res.halts, ce)
				failed, err := tx.Reset()
				if err != nil {
					res.sendErr = err
					return
				}
				res.failed = append(res.failed, failed...)
				continue
			}
			if err != nil {
				res.sendErr = err
				return
			}
		}
	}
	recv := func(rx *RX, res *result, failedCount <-chan int) error {
		buf := make([]byte, 512)
		want := -1
		for {
			if want < 0 {
				select {
				case n := <-failedCount:
					want = packets - n
				default:
				}
			}
			if want >= 0 && len(res.got) >= want {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("received %d packets: %w", len(res.got), err)
			}
			n, id, err := rx.Recv(buf)
			if errors.Is(err, ErrEmpty) {
				wctx, wcancel := context.WithTimeout(ctx, 20*time.Millisecond)
				err = rx.Wait(wctx)
				wcancel()
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(buf[:n], dmaPayload(nil, int(id), 1+int(id)%400)) {
				return fmt.Errorf("packet %d corrupted", id)
			}
			res.got[id]++
		}
	}

	var res0, res1 result
	res0.got, res1.got = map[uint16]int{}, map[uint16]int{}
	f0, f1 := make(chan int, 1), make(chan int, 1)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(4)
	go func() { defer wg.Done(); send(tx0, &res0, f0) }()
	go func() { defer wg.Done(); send(tx1, &res1, f1) }()
	go func() { defer wg.Done(); errs[0] = recv(rx0, &res0, f0) }()
	go func() { defer wg.Done(); errs[1] = recv(rx1, &res1, f1) }()
	wg.Wait()
	require.NoError(t, res0.sendErr)
	require.NoError(t, res1.sendErr)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])

	// Channel 0: three halts, each typed, each recovered.
	require.Len(t, res0.halts, 3)
	for i, code := range []regmap.DMA_STATUS_ERRCODE{regmap.DMA_STATUS_ERRCODE_BUF_FAULT,
		regmap.DMA_STATUS_ERRCODE_BAD_LEN, regmap.DMA_STATUS_ERRCODE_TOO_BIG} {
		h := res0.halts[i]
		assert.Equal(t, 0, h.Channel)
		assert.Equal(t, code, h.Code)
		assert.ErrorIs(t, h, ErrHalted)
		assert.Equal(t, regmap.DMA_STATUS_ERR_RING_TX, h.Owner())
	}
	assert.Equal(t, regmap.DMA_STATUS_ERR_RING_RX, res0.halts[2].Ring, "TOO_BIG is detected on the RX ring")
	assert.NotEmpty(t, res0.failed)
	for _, id := range res0.failed {
		assert.Zero(t, res0.got[id], "packet %d reported failed and delivered", id)
	}
	for id, n := range res0.got {
		assert.Equal(t, 1, n, "packet %d delivered %d times", id, n)
	}
	assert.Equal(t, packets, len(res0.got)+len(res0.failed), "delivered + failed = sent")
	t.Logf("channel 0: %d delivered, %d failed, halts %v", len(res0.got), len(res0.failed), res0.halts)

	// Channel 1: everything, once.
	assert.Empty(t, res1.halts)
	assert.Empty(t, res1.failed)
	assert.Len(t, res1.got, packets)
	assert.NoError(t, tx0.Err())
	assert.NoError(t, tx1.Err())
}

// In step mode, the halt is exact: the typed error names the channel,
// code, ring and slot; errors.Is finds ErrHalted. Retry resumes after a
// cause that went away and the packet goes through; Reset keeps the
// completions before the halt for Reap, and reports the others failed.
func TestDMAHaltRetryReset(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.pair(t, 2, 8, 64)
	b.dev.SetFaults(fakedev.FaultPlan{DMAErrors: []fakedev.DMAError{
		{Channel: 2, Packet: 3, Code: int(regmap.DMA_STATUS_ERRCODE_BUF_FAULT)},
		{Channel: 2, Packet: 6, Code: int(regmap.DMA_STATUS_ERRCODE_NOT_OWNED)},
	}})
	for i := 0; i < 5; i++ {
		require.NoError(t, tx.Send([]byte{byte(i)}))
	}
	assert.Equal(t, 3, b.dev.RunEngine(), "two packets, then the halt")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := tx.Wait(ctx)
	assert.NoError(t, err, "completions to reap come first")
	n, err := tx.Reap()
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	err = tx.Wait(ctx)
	var ce *ChannelError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, ErrHalted)
	assert.Equal(t, &ChannelError{Channel: 2, Code: regmap.DMA_STATUS_ERRCODE_BUF_FAULT, Ring: regmap.DMA_STATUS_ERR_RING_TX, Slot: 2}, ce)
	assert.Equal(t, "DMA channel 2 halted: BUF_FAULT on the TX ring, slot 2", ce.Error())
	assert.Equal(t, ce, tx.Err())
	assert.Equal(t, ce, rx.Err(), "both parties see the halt")
	got := make([]byte, 64)
	for i := 0; i < 2; i++ {
		_, id, err := rx.Recv(got)
		require.NoError(t, err)
		assert.Equal(t, uint16(i), id)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Millisecond)
	assert.ErrorIs(t, rx.Wait(wctx), os.ErrDeadlineExceeded, "not the RX's to recover: its Wait only waits")
	wcancel()

	// Retry: the injected fault is gone, the packet goes through.
	require.NoError(t, tx.Retry())
	assert.NoError(t, tx.Err())
	assert.Equal(t, 3, b.dev.RunEngine(), "packet 3 retried, 4, then the NOT_OWNED halt on 5")
	require.ErrorAs(t, tx.Err(), &ce)
	assert.Equal(t, regmap.DMA_STATUS_ERRCODE_NOT_OWNED, ce.Code)

	// Reset: 2 and 3 completed (not yet reaped), 4 failed; a staged, never
	// published packet fails too.
	buf, err := tx.Buffer()
	require.NoError(t, err)
	require.NoError(t, tx.Post(buf, 1, 99))
	failed, err := tx.Reset()
	require.NoError(t, err)
	assert.Equal(t, []uint16{4, 99}, failed)
	assert.NoError(t, tx.Err(), "ERR cleared")
	ids := make([]uint16, 8)
	n, err = tx.ReapIDs(ids)
	require.NoError(t, err)
	assert.Equal(t, []uint16{2, 3}, ids[:n])
	assert.Zero(t, tx.InFlight())
	assert.Equal(t, uint32(0), b.regs[1].DMA[2].TX_PROD.Read(), "indices reset")

	// The channel runs again.
	require.NoError(t, tx.SendID([]byte("after"), 7))
	assert.Equal(t, 1, b.dev.RunEngine())
	var ids2 []uint16
	for {
		n, id, err := rx.Recv(got)
		if errors.Is(err, ErrEmpty) {
			break
		}
		require.NoError(t, err)
		ids2 = append(ids2, id)
		if id == 7 {
			assert.Equal(t, []byte("after"), got[:n])
		}
	}
	assert.Equal(t, []uint16{2, 3, 7}, ids2)
}

// RX.Reset keeps the packets delivered before it for Recv, re-posts the
// ring and recovers an RX-ring halt; a halt of the sender's ring is not
// cleared by it.
func TestDMARXReset(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.pair(t, 0, 4, 64)
	for i := 0; i < 3; i++ {
		require.NoError(t, tx.Send([]byte{byte(i)}))
	}
	b.dev.RunEngine()
	require.NoError(t, rx.Reset())
	buf := make([]byte, 8)
	for i := 0; i < 3; i++ {
		n, id, err := rx.Recv(buf)
		require.NoError(t, err)
		assert.Equal(t, []byte{byte(i)}, buf[:n])
		assert.Equal(t, uint16(i), id)
	}
	_, _, err := rx.Recv(buf)
	assert.ErrorIs(t, err, ErrEmpty)
	assert.Equal(t, uint32(4), b.regs[2].DMA[0].RX_PROD.Read(), "fully posted again")

	// An RX-ring halt: a posted descriptor whose OWN the peer cleared.
	ring := rx.d.ring
	ring[(rx.hw&rx.d.mask)*DescriptorSize+descOffFlags] &^= byte(descOwn)
	require.NoError(t, tx.Send([]byte("x")))
	b.dev.RunEngine()
	var ce *ChannelError
	require.ErrorAs(t, rx.Wait(context.Background()), &ce)
	assert.Equal(t, regmap.DMA_STATUS_ERRCODE_NOT_OWNED, ce.Code)
	assert.Equal(t, regmap.DMA_STATUS_ERR_RING_RX, ce.Owner())
	failed, err := tx.Reset()
	require.NoError(t, err)
	assert.Equal(t, []uint16{3}, failed)
	assert.ErrorAs(t, tx.Err(), &ce, "the sender's Reset leaves the RX's halt alone")
	require.NoError(t, rx.Reset())
	assert.NoError(t, rx.Err())
	require.NoError(t, tx.Send([]byte("y")))
	b.dev.RunEngine()
	n, _, err := rx.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, []byte("y"), buf[:n])
}

// What the engine wrote is validated: a write-back word that jumps, a
// completed descriptor with a bad LEN or FLAGS, a packet longer than the
// maximum, or IDs that change inside a packet break the ring (ErrBroken),
// which stays broken until Reset; no panic, no read out of bounds.
func TestDMAGarbageFromDevice(t *testing.T) {
	type setup struct {
		b      *dmaBed
		tx     *TX
		rx     *RX
		slot   []byte // the RX descriptor of the first packet
		second []byte // the RX descriptor after it
	}
	for _, tc := range []struct {
		name    string
		corrupt func(s *setup)
		msg     string
	}{
		{"wb-jump", func(s *setup) { storeWB(s.rx.d.wb, loadWB(s.rx.d.wb)+100) }, "write-back index"},
		{"wb-back", func(s *setup) { storeWB(s.rx.d.wb, loadWB(s.rx.d.wb)-2) }, "write-back index"},
		{"len-zero", func(s *setup) { putLE32(s.slot[descOffLen:], 0) }, "LEN 0"},
		{"len-over-capacity", func(s *setup) { putLE32(s.slot[descOffLen:], 257) }, "LEN 257"},
		{"len-huge", func(s *setup) { putLE32(s.slot[descOffLen:], 0xffffffff) }, "LEN 4294967295"},
		{"own", func(s *setup) { s.slot[descOffFlags] |= byte(descOwn) }, "OWN"},
		{"err", func(s *setup) { s.slot[descOffFlags] |= byte(descErr) }, "ERR/ECODE"},
		{"ecode", func(s *setup) { s.slot[descOffFlags+1] = 5 }, "ERR/ECODE"},
		{"reserved", func(s *setup) { s.slot[descOffFlags] |= 0x40 }, "reserved"},
		{"no-eop-short", func(s *setup) { s.slot[descOffFlags] &^= byte(descEOP) }, "before the end of the packet"},
		{"id-changes", func(s *setup) {
			// Two full buffers of one packet: the second claims another ID.
			s.second[descOffID] ^= 1
		}, "inside a packet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newDMABed(t, fakedev.EngineStep)
			tx, rx := b.open(t, 0, b.ringCfg(1, 0, 4, 1024), b.ringCfg(2, 0, 4, 256))
			s := &setup{b: b, tx: tx, rx: rx, slot: rx.d.ring[0:DescriptorSize], second: rx.d.ring[DescriptorSize : 2*DescriptorSize]}
			size := 100
			if tc.name == "id-changes" {
				size = 400
			}
			require.NoError(t, tx.Send(make([]byte, size)))
			b.dev.RunEngine()
			tc.corrupt(s)
			buf := make([]byte, 1024)
			_, _, err := rx.Recv(buf)
			require.ErrorIs(t, err, ErrBroken)
			assert.ErrorContains(t, err, tc.msg)
			_, _, err2 := rx.Recv(buf)
			assert.Equal(t, err, err2, "the ring stays broken")
			_, err2 = rx.RecvPacket()
			assert.Equal(t, err, err2)
			assert.Equal(t, err, rx.Wait(context.Background()))
			assert.Equal(t, err, rx.Err())

			// Reset makes it usable again.
			require.NoError(t, rx.Reset())
			require.NoError(t, tx.Send([]byte("fresh")))
			b.dev.RunEngine()
			n, _, err := rx.Recv(buf)
			require.NoError(t, err)
			assert.Equal(t, []byte("fresh"), buf[:n])
		})
	}

	// A packet over MaxPacket, and a TX write-back word that jumps.
	b := newDMABed(t, fakedev.EngineStep)
	rxCfg := b.ringCfg(2, 0, 4, 256)
	rxCfg.MaxPacket = 300
	tx, rx := b.open(t, 0, b.ringCfg(1, 0, 4, 1024), rxCfg)
	require.NoError(t, tx.Send(make([]byte, 301)))
	b.dev.RunEngine()
	_, _, err := rx.Recv(make([]byte, 1024))
	assert.ErrorIs(t, err, ErrBroken)
	assert.ErrorContains(t, err, "more than 300 bytes")

	storeWB(tx.d.wb, 2) // one in flight
	_, err = tx.Reap()
	assert.ErrorIs(t, err, ErrBroken)
	assert.ErrorIs(t, tx.Send([]byte{1}), ErrBroken)
	_, err = tx.Buffer()
	assert.ErrorIs(t, err, ErrBroken)
	assert.ErrorIs(t, tx.Wait(context.Background()), ErrBroken)
	failed, err := tx.Reset()
	require.NoError(t, err)
	assert.Empty(t, failed, "TX_CONS, read from the block, says the packet completed")
	n, err := tx.Reap()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// A peer that scribbles over descriptors as the engine fetches them, and
// one that writes garbage PROD values: every failure is a typed halt or
// ErrBroken, each recovered by Reset or Retry, and every packet is
// delivered intact at most once, or reported failed.
func TestDMAGarbageFaults(t *testing.T) {
	for _, plan := range []fakedev.FaultPlan{
		{Seed: 1, GarbageDescriptor: 0.05},
		{Seed: 2, GarbageDescriptor: 0.2},
		{Seed: 3, GarbageProd: 0.1},
	} {
		t.Run(fmt.Sprintf("seed%d", plan.Seed), func(t *testing.T) {
			b := newDMABed(t, fakedev.EngineStep)
			tx, rx := b.pair(t, 1, 8, 128)
			b.dev.SetFaults(plan)
			const packets = 500
			got := map[uint16]int{}
			var failed []uint16
			halts := map[regmap.DMA_STATUS_ERRCODE]int{}
			buf := make([]byte, 128)
			var p []byte
			sent := 0
			ids := make([]uint16, 8)
			for round := 0; sent < packets || tx.InFlight() > 0; round++ {
				require.Less(t, round, 100000)
				for sent < packets {
					p = dmaPayload(p, sent, 1+sent%128)
					err := tx.SendID(p, uint16(sent))
					if err != nil {
						require.ErrorIs(t, err, ErrFull)
						break
					}
					sent++
				}
				b.dev.RunEngine()
				for {
					n, id, err := rx.Recv(buf)
					if errors.Is(err, ErrEmpty) {
						break
					}
					require.NoError(t, err)
					require.Equal(t, dmaPayload(nil, int(id), 1+int(id)%128), buf[:n], "packet %d", id)
					got[id]++
				}
				reaped, err := tx.ReapIDs(ids)
				require.NoError(t, err)
				var ce *ChannelError
				if !errors.As(tx.Err(), &ce) {
					if reaped == 0 {
						// Stuck: Wait's slow path finds a PROD write the
						// block dropped while halted, and writes it again.
						ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
						for _, w := range []interface{ Wait(context.Context) error }{tx, rx} {
							if err := w.Wait(ctx); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
								require.ErrorIs(t, err, ErrHalted)
							}
						}
						cancel()
					}
					continue
				}
				halts[ce.Code]++
				if ce.Owner() == regmap.DMA_STATUS_ERR_RING_RX {
					require.NoError(t, rx.Reset())
				} else if ce.Code == regmap.DMA_STATUS_ERRCODE_BAD_INDEX {
					require.NoError(t, tx.Retry())
				} else {
					f, err := tx.Reset()
					require.NoError(t, err)
					failed = append(failed, f...)
				}
			}
			for _, id := range failed {
				assert.Zero(t, got[id], "packet %d failed and delivered", id)
			}
			for id, n := range got {
				assert.Equal(t, 1, n, "packet %d delivered %d times", id, n)
			}
			assert.Equal(t, packets, len(got)+len(failed))
			assert.NotEmpty(t, halts)
			t.Logf("%d delivered, %d failed, halts %v", len(got), len(failed), halts)
		})
	}
}

// Wait honours its context's deadline and cancellation, and Close: a
// closed ring's operations and waiters get os.ErrClosed. Close is
// idempotent and nil-safe.
func TestDMAWaitAndClose(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.pair(t, 0, 4, 64)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := rx.Wait(ctx)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	assert.ErrorIs(t, rx.Wait(cctx), context.Canceled)
	assert.NoError(t, tx.Wait(context.Background()), "nothing in flight")

	require.NoError(t, tx.Send([]byte("x")))
	done := make(chan error, 2)
	go func() { done <- rx.Wait(context.Background()) }()
	go func() { done <- tx.Wait(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
	for i := 0; i < 2; i++ {
		select {
		case err := <-done:
			assert.ErrorIs(t, err, os.ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake Wait")
		}
	}
	assert.NoError(t, rx.Close())
	assert.NoError(t, tx.Close())
	assert.NoError(t, (*TX)(nil).Close())
	assert.NoError(t, (*RX)(nil).Close())
	assert.ErrorIs(t, tx.Send([]byte("x")), os.ErrClosed)
	_, err = tx.Reap()
	assert.ErrorIs(t, err, os.ErrClosed)
	_, err = tx.Reset()
	assert.ErrorIs(t, err, os.ErrClosed)
	_, _, err = rx.Recv(nil)
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.ErrorIs(t, rx.Reset(), os.ErrClosed)
	assert.ErrorIs(t, rx.Err(), os.ErrClosed)
	assert.Equal(t, uint32(0), b.regs[1].DMA[0].TX_CTRL.Read(), "stopped")
	assert.Equal(t, uint32(0), b.regs[2].DMA[0].RX_CTRL.Read())
}

// With IRQ set, each completion is an event on the core's interrupt line;
// a handler acknowledges DMA_PEND and signals Notify, which wakes Wait
// long before its poll interval.
func TestDMANotify(t *testing.T) {
	b := newDMABed(t, fakedev.EngineFreeRunning)
	notify := make(chan struct{}, 1)
	rxCfg := b.ringCfg(2, 0, 8, 256)
	rxCfg.IRQ, rxCfg.Notify, rxCfg.PollInterval = true, notify, time.Hour
	tx, rx := b.open(t, 0, b.ringCfg(1, 0, 8, 256), rxCfg)
	rx.d.sleep0 = time.Hour // Wait only polls, then sleeps until notified

	// Core 2's interrupt handler (docs/ipcu.md 11.10 steps 1 and 5).
	core := &b.regs[2].CORE[2]
	core.DMA_EN.Write(1 << 16)
	core.IRQ_MASK.Update(regmap.CORE_IRQ_MASK.DMA_DONE.Val(1))
	line, err := irq.FromEventfd(b.dev.Core(2).EventFD(), false)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	handler := make(chan struct{})
	defer func() { // before the device closes
		cancel()
		<-handler
		line.Close()
	}()
	go func() {
		defer close(handler)
		for {
			if _, err := line.Wait(ctx); err != nil {
				return
			}
			core.DMA_PEND.Write(core.DMA_PEND.Read())
			select {
			case notify <- struct{}{}:
			default:
			}
			core.IRQ_EOI.Write(1)
		}
	}()
	core.IRQ_EOI.Write(1)

	buf := make([]byte, 256)
	for i := 0; i < 20; i++ {
		waited := make(chan error, 1)
		go func() { waited <- rx.Wait(ctx) }()
		time.Sleep(time.Millisecond) // past the polling phase, asleep
		require.NoError(t, tx.Send([]byte{byte(i)}))
		require.NoError(t, <-waited)
		_, err := tx.Reap()
		require.NoError(t, err)
		n, id, err := rx.Recv(buf)
		require.NoError(t, err)
		assert.Equal(t, []byte{byte(i)}, buf[:n])
		assert.Equal(t, uint16(i), id)
	}
}

// Open checks the block, the configuration, the channel's access control
// and the memory it gets, and leaves nothing allocated when it fails.
func TestDMAOpenErrors(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	require.NoError(t, b.adm.ConfigureDMA(0, 1, 2, regmap.DMA_CFG_PRIO_HIGH))
	ok := b.ringCfg(1, 0, 8, 64)
	for _, tc := range []struct {
		name  string
		rx    bool
		edit  func(c *RingConfig)
		match string
		is    error
	}{
		{"not SRC", false, func(c *RingConfig) { c.Bus = b.dev.Core(2) }, "SRC is core 1, not core 2", os.ErrPermission},
		{"not DST", true, func(c *RingConfig) {}, "DST is core 2, not core 1", os.ErrPermission},
		{"disabled", false, func(c *RingConfig) { c.Channel = 3 }, "disabled", os.ErrPermission},
		{"channel", false, func(c *RingConfig) { c.Channel = 4 }, "channel 4 is not 0 to 3", nil},
		{"no bus", false, func(c *RingConfig) { c.Bus = nil }, "required", nil},
		{"ring 3", false, func(c *RingConfig) { c.RingSize = 3 }, "ring size 3", nil},
		{"ring 8192", false, func(c *RingConfig) { c.RingSize = 8192 }, "ring size 8192", nil},
		{"ring 0", false, func(c *RingConfig) { c.RingSize = 0 }, "ring size 0", nil},
		{"buf 0", false, func(c *RingConfig) { c.BufSize = 0 }, "buffer size 0", nil},
		{"buf big", false, func(c *RingConfig) { c.BufSize = MaxDMAPacket + 1 }, "buffer size 65537", nil},
		{"rx buffers", true, func(c *RingConfig) { c.Bus, c.Memory, c.Buffers = b.dev.Core(2), b.mem(2), 4 }, "4 buffers cannot fill a ring of 8", nil},
		{"rx max packet", true, func(c *RingConfig) { c.Bus, c.Memory, c.MaxPacket = b.dev.Core(2), b.mem(2), 513 }, "maximum packet 513", nil},
		{"alloc fails", false, func(c *RingConfig) {
			c.Memory = MemoryFunc(func(int, int) (Region, error) { return nil, errors.New("no memory") })
		}, "allocating the ring: no memory", nil},
		{"pool fails", false, func(c *RingConfig) {
			n := 0
			c.Memory = MemoryFunc(func(size, align int) (Region, error) {
				if n++; n == 2 {
					return nil, errors.New("no memory")
				}
				return b.dev.Core(1).Alloc(size, align)
			})
		}, "allocating the buffers: no memory", nil},
		{"short region", false, func(c *RingConfig) {
			c.Memory = MemoryFunc(func(size, align int) (Region, error) { return b.dev.Core(1).Alloc(size/2, align) })
		}, "allocating the ring: 96 bytes, want 192", nil},
		{"misaligned region", false, func(c *RingConfig) {
			c.Memory = MemoryFunc(func(size, align int) (Region, error) {
				r, err := b.dev.Core(1).Alloc(size, align)
				return offsetRegion{r, 16}, err
			})
		}, "not 64-byte aligned", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			var err error
			if tc.rx {
				_, err = OpenRX(cfg)
			} else {
				_, err = OpenTX(cfg)
			}
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.match)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

// offsetRegion is a Region whose device address is off bytes further than
// the one it wraps: a Memory that breaks its alignment promise.
type offsetRegion struct {
	Region
	off uint64
}

func (r offsetRegion) Addr() uint64 { return r.Region.Addr() + r.off }

// A channel reset by the management core (CFG rewritten) returns every
// ring register to reset; Reset on both sides programs the rings again
// and the channel runs.
func TestDMAChannelReset(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.pair(t, 0, 4, 64)
	require.NoError(t, tx.Send([]byte("lost")))
	require.NoError(t, b.adm.ConfigureDMA(0, 1, 3, regmap.DMA_CFG_PRIO_LOW))
	require.NoError(t, b.adm.ConfigureDMA(0, 1, 2, regmap.DMA_CFG_PRIO_LOW))
	assert.Zero(t, b.dev.RunEngine())
	failed, err := tx.Reset()
	require.NoError(t, err)
	assert.Equal(t, []uint16{0}, failed)
	require.NoError(t, rx.Reset())
	require.NoError(t, tx.Send([]byte("again")))
	assert.Equal(t, 1, b.dev.RunEngine())
	buf := make([]byte, 64)
	n, id, err := rx.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, []byte("again"), buf[:n])
	assert.Equal(t, uint16(1), id)

	// Given to other cores, the rings cannot be reset here.
	require.NoError(t, b.adm.ConfigureDMA(0, 3, 3, regmap.DMA_CFG_PRIO_LOW))
	_, err = tx.Reset()
	assert.ErrorIs(t, err, os.ErrPermission)
	assert.ErrorIs(t, rx.Reset(), os.ErrPermission)
}

// Send, Reap and Recv allocate nothing in steady state.
func TestDMAAllocs(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.pair(t, 0, 8, 256)
	p := make([]byte, 200)
	buf := make([]byte, 256)
	ids := make([]uint16, 8)
	batch := [][]byte{p, p, p}
	var sendErr, recvErr error
	allocs := testing.AllocsPerRun(200, func() {
		if err := tx.Send(p); err != nil {
			sendErr = err
		}
		if _, err := tx.SendBatch(batch); err != nil {
			sendErr = err
		}
		b.dev.RunEngine()
		if _, err := tx.Reap(); err != nil {
			sendErr = err
		}
		for i := 0; i < 4; i++ {
			if _, _, err := rx.Recv(buf); err != nil {
				recvErr = err
			}
		}
		_, _ = tx.ReapIDs(ids)
	})
	require.NoError(t, sendErr)
	require.NoError(t, recvErr)
	assert.Zero(t, allocs)

	allocs = testing.AllocsPerRun(200, func() {
		tb, err := tx.Buffer()
		if err == nil {
			err = tx.Post(tb, 10, 1)
		}
		if err == nil {
			err = tx.Flush()
		}
		b.dev.RunEngine()
		if _, err2 := tx.Reap(); err == nil {
			err = err2
		}
		pkt, err2 := rx.RecvPacket()
		if err == nil {
			err = err2
		}
		if pkt != nil {
			pkt.Release()
		}
		sendErr = err
	})
	require.NoError(t, sendErr)
	assert.Zero(t, allocs)
}

// TestResetFirstLapAfterChannelReset: a packet delivered before a channel
// reset, on the ring's first lap, where the reset register's 0 also reads
// as "no progress": the write-back words say it was delivered, so TX.Reset
// does not report it failed (the caller would send it twice) and RX.Reset
// keeps it for Recv.
func TestResetFirstLapAfterChannelReset(t *testing.T) {
	b := newDMABed(t, fakedev.EngineStep)
	tx, rx := b.pair(t, 0, 4, 64)
	require.NoError(t, tx.Send([]byte("delivered")))
	require.Equal(t, 1, b.dev.RunEngine())
	require.Equal(t, uint32(1), loadWB(tx.d.wb))
	require.Equal(t, uint32(1), loadWB(rx.d.wb))
	// Configuring the channel again resets it: TX_CONS and RX_CONS read 0.
	require.NoError(t, b.adm.ConfigureDMA(0, 1, 3, regmap.DMA_CFG_PRIO_LOW))
	require.NoError(t, b.adm.ConfigureDMA(0, 1, 2, regmap.DMA_CFG_PRIO_LOW))
	failed, err := tx.Reset()
	require.NoError(t, err)
	assert.Empty(t, failed, "the packet was delivered (TX write-back 1)")
	require.NoError(t, rx.Reset())
	buf := make([]byte, 64)
	n, _, err := rx.Recv(buf)
	require.NoError(t, err, "RX write-back 1: a packet was delivered before the reset")
	assert.Equal(t, "delivered", string(buf[:n]))
}
