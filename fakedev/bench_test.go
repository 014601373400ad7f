package fakedev_test

import (
	"testing"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/regs/ipcu"
)

// BenchmarkMailbox sends 16-byte messages from core 1 to core 2 through
// the model and receives them, polled (docs/ipcu.md 11.3, 11.5): stage four
// words, commit, read RXLEN and four words, pop. It reports messages/s.
func BenchmarkMailbox(b *testing.B) {
	dev, err := fakedev.New(fakedev.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	host, _ := ipcu.New(dev.Core(0), 0)
	snd, _ := ipcu.New(dev.Core(1), 0)
	rcv, _ := ipcu.New(dev.Core(2), 0)
	host.MBOX[0].CFG.Write(1 | 1<<4 | 2<<8)
	tx, rx := &snd.MBOX[0], &rcv.MBOX[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for w := range tx.TXDATA {
			tx.TXDATA[w].Write(uint32(i))
		}
		tx.COMMIT.Write(16)
		if rx.RXLEN.Read() != 1<<31|16 {
			b.Fatal("no message")
		}
		for w := range rx.RXDATA {
			_ = rx.RXDATA[w].Read()
		}
		rx.POP.Write(1)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
