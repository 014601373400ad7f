package ipcu_test

import (
	"context"
	"testing"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/mailbox/ipcu"
)

// BenchmarkRoundTrip measures a request and its answer through the
// reference block's mailboxes on fakedev: core 1 sends a 16-byte message
// (the largest) on mailbox 0, a goroutine on core 2 echoes it on mailbox
// 1. With IRQ, both sides sleep on their interrupt eventfds between
// messages; Polled, they spin on the registers.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name string
		irq  bool
	}{{"IRQ", true}, {"Polled", false}} {
		b.Run(bc.name, func(b *testing.B) {
			tb := newBenchbed(b, bc.irq)
			p := tb.pair(b, ipcu.TxDoneQueued)
			defer p.A.Close()
			defer p.B.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go echo(ctx, p.B)
			msg := make([]byte, 16)
			buf := make([]byte, 16)
			b.ReportAllocs()
			b.SetBytes(16)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				msg[0] = byte(i)
				if err := p.A.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := p.A.Recv(ctx, buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/roundtrip")
		})
	}
}

func echo(ctx context.Context, ch mailbox.Channel) {
	buf := make([]byte, ch.MaxMessage())
	for {
		n, err := ch.Recv(ctx, buf)
		if err != nil {
			return
		}
		if ch.Send(ctx, buf[:n]) != nil {
			return
		}
	}
}

// newBenchbed is newTestbed for benchmarks.
func newBenchbed(b *testing.B, withIRQ bool) *testbed {
	return newTestbedTB(b, fakedev.Config{}, withIRQ)
}
