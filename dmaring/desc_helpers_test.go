package dmaring

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/mailbox/ipcu"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// dmaBed is a fakedev block whose management core (0) enables DMA
// channels with the mailbox driver's admin helpers, as a system's boot
// code would (docs/ipcu.md 11.1).
type dmaBed struct {
	dev  *fakedev.Device
	adm  *ipcu.Driver
	regs [4]*regmap.IPCU // each core's view, for checks
}

func newDMABed(tb testing.TB, mode fakedev.EngineMode) *dmaBed {
	tb.Helper()
	dev, err := fakedev.New(fakedev.Config{Engine: mode})
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, dev.Close()) })
	adm, err := ipcu.Open(ipcu.Config{Bus: dev.Core(0)})
	require.NoError(tb, err)
	tb.Cleanup(func() { adm.Close() })
	require.NoError(tb, adm.Enable())
	b := &dmaBed{dev: dev, adm: adm}
	for k := range b.regs {
		b.regs[k], err = regmap.New(dev.Core(k), 0)
		require.NoError(tb, err)
	}
	return b
}

// mem is core k's DMA memory.
func (b *dmaBed) mem(k int) Memory {
	return MemoryFunc(func(size, align int) (Region, error) { return b.dev.Core(k).Alloc(size, align) })
}

// ringCfg is a RingConfig for core k on channel c.
func (b *dmaBed) ringCfg(k, c, ring, bufSize int) RingConfig {
	return RingConfig{Bus: b.dev.Core(k), Channel: c, Memory: b.mem(k), RingSize: ring, BufSize: bufSize}
}

// open enables channel c from src to dst and opens its RX, then its TX,
// both closed when the test ends (before the device).
func (b *dmaBed) open(tb testing.TB, c int, txCfg, rxCfg RingConfig) (*TX, *RX) {
	tb.Helper()
	src, dst := txCfg.Bus.(*fakedev.Core).ID(), rxCfg.Bus.(*fakedev.Core).ID()
	require.NoError(tb, b.adm.ConfigureDMA(c, src, dst, regmap.DMA_CFG_PRIO_LOW))
	rx, err := OpenRX(rxCfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, rx.Close()) })
	tx, err := OpenTX(txCfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, tx.Close()) })
	return tx, rx
}

// pair opens channel c from core 1 to core 2 with rings of n descriptors
// and buffers of size bytes on both sides.
func (b *dmaBed) pair(tb testing.TB, c, n, size int) (*TX, *RX) {
	return b.open(tb, c, b.ringCfg(1, c, n, size), b.ringCfg(2, c, n, size))
}

// dmaPayload returns the payload of packet i, n bytes that depend on i,
// written into p's first n bytes (p grown if need be).
func dmaPayload(p []byte, i, n int) []byte {
	if cap(p) < n {
		p = make([]byte, n)
	}
	p = p[:n]
	for j := range p {
		p[j] = byte(i*31 + j*7 + j>>8)
	}
	return p
}

// stepOrWait moves the engine in step mode; in free-running mode the
// engine moves by itself.
func stepOrWait(b *dmaBed, mode fakedev.EngineMode) {
	if mode == fakedev.EngineStep {
		b.dev.RunEngine()
	} else {
		runtime.Gosched()
	}
}

// recvWait receives one packet into buf, waiting up to 5s.
func recvWait(tb testing.TB, rx *RX, buf []byte) (int, uint16) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		n, id, err := rx.Recv(buf)
		if !errors.Is(err, ErrEmpty) {
			require.NoError(tb, err)
			return n, id
		}
		require.NoError(tb, rx.Wait(ctx))
	}
}

var dmaModes = []fakedev.EngineMode{fakedev.EngineStep, fakedev.EngineFreeRunning}

// forModes runs f in step and in free-running mode.
func forModes(t *testing.T, f func(t *testing.T, mode fakedev.EngineMode)) {
	for _, m := range dmaModes {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}
