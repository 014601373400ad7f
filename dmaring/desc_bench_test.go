package dmaring

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/ipcu/ipcu/fakedev"
)

// BenchmarkDMARing moves packets from core 1 to core 2 through fakedev's
// free-running engine and 64-descriptor rings: one goroutine sends (Send,
// or SendBatch of 16 with one TX_PROD write), reaps and receives (Recv,
// copying out), polling the write-back words. It reports the model's
// throughput in MiB/s; the driver allocates nothing.
func BenchmarkDMARing(b *testing.B) {
	for _, size := range []int{64, 4096} {
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("size=%d/batch=%d", size, batch), func(b *testing.B) {
				benchDMARing(b, size, batch)
			})
		}
	}
}

func benchDMARing(b *testing.B, size, batch int) {
	const ring = 64
	bed := newDMABed(b, fakedev.EngineFreeRunning)
	tx, rx := bed.pair(b, 0, ring, size)
	p := dmaPayload(nil, 1, size)
	ps := make([][]byte, batch)
	for i := range ps {
		ps[i] = p
	}
	buf := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	sent, got := 0, 0
	for got < b.N {
		progress := false
		for sent < b.N {
			var n int
			var err error
			if batch == 1 {
				if err = tx.Send(p); err == nil {
					n = 1
				}
			} else {
				n, err = tx.SendBatch(ps[:min(batch, b.N-sent)])
			}
			sent += n
			progress = progress || n > 0
			if err != nil {
				if !errors.Is(err, ErrFull) {
					b.Fatal(err)
				}
				break
			}
		}
		if n, err := tx.Reap(); err != nil {
			b.Fatal(err)
		} else if n > 0 {
			progress = true
		}
		for {
			n, _, err := rx.Recv(buf)
			if errors.Is(err, ErrEmpty) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if n != size {
				b.Fatalf("received %d bytes, want %d", n, size)
			}
			got++
			progress = true
		}
		if !progress {
			runtime.Gosched()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*float64(size)/(1<<20)/b.Elapsed().Seconds(), "MiB/s")
	if !bytes.Equal(buf, p) {
		b.Fatal("payload mismatch")
	}
}
