package ipcu_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/fakedev"
)

// The driver owns each core's interrupt line and wakes the DMA rings
// through DMANotify: an RX ring sleeps in Wait until its completion
// interrupt, handled by the driver, arrives.
func TestDMANotify(t *testing.T) {
	tb := newTestbed(t, fakedev.Config{}, true)
	require.NoError(t, tb.drv[0].ConfigureDMA(0, 1, 2, 0))
	mem := func(k int) dmaring.Memory {
		return dmaring.MemoryFunc(func(n, a int) (dmaring.Region, error) { return tb.dev.Core(k).Alloc(n, a) })
	}
	n1, err := tb.drv[1].DMANotify(0)
	require.NoError(t, err)
	n2, err := tb.drv[2].DMANotify(0)
	require.NoError(t, err)
	_, err = tb.drv[1].DMANotify(9)
	assert.Error(t, err)

	rx, err := dmaring.OpenRX(dmaring.RingConfig{Bus: tb.dev.Core(2), Channel: 0, Memory: mem(2),
		RingSize: 8, BufSize: 256, IRQ: true, Notify: n2, PollInterval: time.Hour})
	require.NoError(t, err)
	defer rx.Close()
	tx, err := dmaring.OpenTX(dmaring.RingConfig{Bus: tb.dev.Core(1), Channel: 0, Memory: mem(1),
		RingSize: 8, BufSize: 256, IRQ: true, Notify: n1, PollInterval: time.Hour})
	require.NoError(t, err)
	defer tx.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 256)
		for {
			n, _, err := rx.Recv(buf)
			if err == nil {
				got <- string(buf[:n])
				return
			}
			// PollInterval is an hour: only the interrupt can wake this.
			if err := rx.Wait(ctx); err != nil {
				got <- err.Error()
				return
			}
		}
	}()
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, tx.Send([]byte("over DMA")))
	assert.Equal(t, "over DMA", <-got)
	require.NoError(t, tx.Wait(ctx), "the TX completion interrupt wakes the sender too")
	n, err := tx.Reap()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}
