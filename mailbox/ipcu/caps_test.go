package ipcu_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/mailbox/ipcu"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
	"github.com/ipcu/ipcu/regs/regstest"
)

// capsBus is a block whose identification checks out, with caps and
// coreID as given.
func capsBus(caps, coreID uint32) *regstest.Bus {
	b := regstest.NewBus(regmap.Size)
	b.Poke(0x0, 32, 0x49504355) // ID
	b.Poke(0x4, 32, 0x01010000) // VERSION 1.1
	b.Poke(0x8, 32, uint64(caps))
	b.Poke(0x18, 32, uint64(coreID))
	return b
}

// caps builds a CAPS value.
func caps(ncores, ndma, nmbox, depth, words uint32) uint32 {
	return ncores | ndma<<4 | nmbox<<8 | depth<<16 | words<<24
}

// TestOpenChecksCaps: the driver indexes its register arrays with what
// CAPS and CORE_ID read, so values outside the documented ranges (a later
// revision, a broken block, a bus returning garbage) are refused by Open
// with ErrBroken, rather than make a later access panic.
func TestOpenChecksCaps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caps   uint32
		coreID uint32
		ok     bool
	}{
		{"defaults", caps(4, 4, 16, 4, 4), 0, true},
		{"smallest", caps(2, 1, 16, 1, 1), 1, true},
		{"reserved CORE_ID bits", caps(4, 4, 16, 4, 4), 0x100 | 2, true},
		{"9 cores", caps(9, 4, 16, 4, 4), 0, false},
		{"15 cores", caps(15, 4, 16, 4, 4), 0, false},
		{"1 core", caps(1, 4, 16, 4, 4), 0, false},
		{"5 DMA channels", caps(4, 5, 16, 4, 4), 0, false},
		{"no DMA channel", caps(4, 0, 16, 4, 4), 0, false},
		{"8-word messages", caps(4, 4, 16, 4, 8), 0, false},
		{"0-word messages", caps(4, 4, 16, 4, 0), 0, false},
		{"17 mailboxes", caps(4, 4, 17, 4, 4), 0, false},
		{"empty FIFOs", caps(4, 4, 16, 0, 4), 0, false},
		{"32-deep FIFOs", caps(4, 4, 16, 31, 4) | 1<<20, 0, false},
		{"core beyond NCORES", caps(4, 4, 16, 4, 4), 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ipcu.Open(ipcu.Config{Bus: capsBus(tc.caps, tc.coreID)})
			if !tc.ok {
				require.ErrorIs(t, err, mailbox.ErrBroken)
				return
			}
			require.NoError(t, err)
			defer d.Close()
			assert.Equal(t, int(tc.coreID&7), d.Core(), "CORE_ID's ID field")
		})
	}
}

// maskingSource models a UIO or VFIO INTx line: the kernel masks the line
// when it delivers an interrupt, and only Ack unmasks it.
type maskingSource struct {
	irq.Source
	unmasked chan struct{}
}

func (m *maskingSource) Wait(ctx context.Context) (uint64, error) {
	select {
	case <-m.unmasked:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return m.Source.Wait(ctx)
}

func (m *maskingSource) Ack() error {
	select {
	case m.unmasked <- struct{}{}:
	default:
	}
	return nil
}

// irqOnlyDrivers opens drivers for cores 0 to 2 of a fresh fakedev, core
// 2's with its interrupt line (through wrap, if not nil) and no poll
// fallback to speak of (an hour), so that only interrupts wake its waiters.
func irqOnlyDrivers(t *testing.T, wrap func(irq.Source) irq.Source) [3]*ipcu.Driver {
	t.Helper()
	dev, err := fakedev.New(fakedev.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { dev.Close() })
	var drv [3]*ipcu.Driver
	for k := range drv {
		cfg := ipcu.Config{Bus: dev.Core(k)}
		if k == 2 {
			src, err := irq.FromEventfd(dev.Core(k).EventFD(), false)
			require.NoError(t, err)
			t.Cleanup(func() { src.Close() })
			cfg.IRQ, cfg.PollInterval = src, time.Hour
			if wrap != nil {
				cfg.IRQ = wrap(src)
			}
		}
		drv[k], err = ipcu.Open(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { drv[k].Close() })
	}
	return drv
}

// TestHandlerAcksLine: the driver's interrupt handler re-enables a line
// the kernel masks on delivery, so the second interrupt is delivered too
// (the poll fallback is an hour here).
func TestHandlerAcksLine(t *testing.T) {
	drv := irqOnlyDrivers(t, func(src irq.Source) irq.Source {
		m := &maskingSource{Source: src, unmasked: make(chan struct{}, 1)}
		m.unmasked <- struct{}{} // unmasked at start
		return m
	})
	require.NoError(t, drv[0].ConfigureMailbox(0, 1, 2))
	require.NoError(t, drv[0].Enable())
	tx, err := drv[1].Channel(ipcu.ChannelConfig{TX: 0, RX: -1})
	require.NoError(t, err)
	defer tx.Close()
	rx, err := drv[2].Channel(ipcu.ChannelConfig{TX: -1, RX: 0})
	require.NoError(t, err)
	defer rx.Close()
	buf := make([]byte, 16)
	for i := range 3 {
		go func() { time.Sleep(20 * time.Millisecond); _ = tx.TrySend([]byte{byte(i)}) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := rx.Recv(ctx, buf)
		cancel()
		require.NoError(t, err, "message %d: the line was not unmasked (no irq.Source.Ack)", i)
	}
}

// TestWaitDoorbellsConcurrent: two goroutines wait on different doorbells
// of one core, with no poll fallback (an hour): the interrupt is armed for
// both, and each is woken by its own doorbell.
func TestWaitDoorbellsConcurrent(t *testing.T) {
	drv := irqOnlyDrivers(t, nil)
	require.NoError(t, drv[0].AllowDoorbells(2, 1<<1))
	require.NoError(t, drv[0].Enable())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := [2]chan uint32{make(chan uint32, 1), make(chan uint32, 1)}
	for i := range got {
		go func() {
			v, err := drv[2].WaitDoorbells(ctx, 1<<i)
			assert.NoError(t, err, "waiter %d", i)
			got[i] <- v
		}()
	}
	time.Sleep(20 * time.Millisecond) // both armed
	for i := range got {
		require.NoError(t, drv[1].Ring(2, 1<<i))
		select {
		case v := <-got[i]:
			assert.Equal(t, uint32(1<<i), v)
		case <-ctx.Done():
			t.Fatalf("the waiter on doorbell %d was not woken", i)
		}
	}
}
