package dmaring_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/fakedev"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// memoryOf is core k's DMA memory on the model.
func memoryOf(dev *fakedev.Device, k int) dmaring.Memory {
	return dmaring.MemoryFunc(func(size, align int) (dmaring.Region, error) {
		return dev.Core(k).Alloc(size, align)
	})
}

// Core 1 sends packets to core 2 over DMA channel 0 of the modelled block.
// The engine runs step by step here, so that the output is the same every
// time; on hardware, or with fakedev's free-running engine, it moves
// packets by itself and Wait waits for them.
func ExampleTX() {
	dev, err := fakedev.New(fakedev.Config{Engine: fakedev.EngineStep})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()

	// The management core gives the channel to cores 1 and 2 (docs/ipcu.md
	// 11.1).
	adm, _ := regmap.New(dev.Core(0), 0)
	cfg := regmap.DMA_CFG
	adm.DMA[0].CFG.Update(cfg.EN.Val(1), cfg.SRC.Val(1), cfg.DST.Val(2))
	adm.CTRL.Update(regmap.CTRL.EN.Val(1))

	// The receiver first, so that its ring is posted when packets come.
	rx, err := dmaring.OpenRX(dmaring.RingConfig{
		Bus: dev.Core(2), Channel: 0, Memory: memoryOf(dev, 2), RingSize: 16, BufSize: 1024,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rx.Close()
	tx, err := dmaring.OpenTX(dmaring.RingConfig{
		Bus: dev.Core(1), Channel: 0, Memory: memoryOf(dev, 1), RingSize: 16, BufSize: 4096,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tx.Close()

	if err := tx.SendID([]byte("hello"), 100); err != nil {
		fmt.Println(err)
		return
	}
	big := make([]byte, 3000) // three RX buffers
	n, err := tx.SendBatch([][]byte{[]byte("batched"), big})
	if err != nil {
		fmt.Println(n, err)
		return
	}
	dev.RunEngine()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	buf := make([]byte, 4096)
	for i := 0; i < 3; i++ {
		if err := rx.Wait(ctx); err != nil {
			fmt.Println(err)
			return
		}
		n, id, err := rx.Recv(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		if n > 16 {
			fmt.Printf("packet %d: %d bytes\n", id, n)
		} else {
			fmt.Printf("packet %d: %q\n", id, buf[:n])
		}
	}
	_, _, err = rx.Recv(buf)
	fmt.Println(errors.Is(err, dmaring.ErrEmpty))

	reaped, err := tx.Reap()
	fmt.Println("reaped", reaped, err)
	// Output:
	// packet 100: "hello"
	// packet 0: "batched"
	// packet 1: 3000 bytes
	// true
	// reaped 3 <nil>
}
