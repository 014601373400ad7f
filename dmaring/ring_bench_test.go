package dmaring

import (
	"errors"
	"runtime"
	"sync"
	"testing"
)

// benchRing is a ring of 256 slots of 128 bytes (64-byte messages fit with
// room to spare) on cache-line aligned memory.
func benchRing(b *testing.B, k ringKind) *testRing {
	b.Helper()
	r, _, _ := newRing(b, k, 256, 128)
	return r
}

// BenchmarkRingEnqueueDequeue is one Enqueue and one Dequeue of a 64-byte
// message from one goroutine: the cost of the operations themselves, with
// every cache line local.
func BenchmarkRingEnqueueDequeue(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			r := benchRing(b, k)
			msg, buf := make([]byte, 64), make([]byte, 64)
			b.SetBytes(64)
			b.ReportAllocs()
			for b.Loop() {
				if err := r.p.Enqueue(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := r.c.Dequeue(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRingBatch enqueues and dequeues batches of 32 64-byte messages
// from one goroutine; msgs/s counts messages.
func BenchmarkRingBatch(b *testing.B) {
	const batch = 32
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			r := benchRing(b, k)
			msgs, bufs, lens := make([][]byte, batch), make([][]byte, batch), make([]int, batch)
			for i := range msgs {
				msgs[i], bufs[i] = make([]byte, 64), make([]byte, 64)
			}
			b.SetBytes(64 * batch)
			b.ReportAllocs()
			for b.Loop() {
				if n, err := r.p.EnqueueBatch(msgs); n != batch {
					b.Fatal(n, err)
				}
				if n, err := r.c.DequeueBatch(bufs, lens); n != batch {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRingPingPong is the round trip of a 64-byte message between two
// goroutines busy-polling two rings, one each way: ns/op is ns per round
// trip, two hops. With GOMAXPROCS >= 2 the goroutines run on two cores and
// each hop costs the cache-line transfers of the slot.
func BenchmarkRingPingPong(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			ping, pong := benchRing(b, k), benchRing(b, k)
			// Yielding while polling lets the scheduler put both
			// goroutines on one P, where each round trip waits for a
			// yield; only yield when there is one P anyway.
			yield := runtime.GOMAXPROCS(0) == 1
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // the echo side
				defer wg.Done()
				buf := make([]byte, 64)
				for i := 0; ; i++ {
					n, err := ping.c.Dequeue(buf)
					if err == nil {
						for pong.p.Enqueue(buf[:n]) != nil {
						}
						continue
					}
					if !errors.Is(err, ErrEmpty) {
						panic(err)
					}
					if i%1024 == 0 {
						select {
						case <-stop:
							return
						default:
						}
						if yield {
							runtime.Gosched()
						}
					}
				}
			}()
			msg, buf := make([]byte, 64), make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if err := ping.p.Enqueue(msg); err != nil {
					b.Fatal(err)
				}
				for i := 1; ; i++ {
					_, err := pong.c.Dequeue(buf)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrEmpty) {
						b.Fatal(err)
					}
					if yield && i%1024 == 0 {
						runtime.Gosched()
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/roundtrip")
			close(stop)
			wg.Wait()
		})
	}
}

// BenchmarkRingStream streams 64-byte messages from a producer goroutine to
// a consumer goroutine in batches of 16: the throughput between two cores.
func BenchmarkRingStream(b *testing.B) {
	const batch = 16
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			r := benchRing(b, k)
			msgs := make([][]byte, batch)
			for i := range msgs {
				msgs[i] = make([]byte, 64)
			}
			b.SetBytes(64)
			b.ReportAllocs()
			var wg sync.WaitGroup
			wg.Add(1)
			total := b.N
			go func() {
				defer wg.Done()
				for sent, i := 0, 0; sent < total; i++ {
					n, _ := r.p.EnqueueBatch(msgs[:min(batch, total-sent)])
					sent += n
					if n == 0 && i%1024 == 0 {
						runtime.Gosched()
					}
				}
			}()
			bufs, lens := make([][]byte, batch), make([]int, batch)
			for i := range bufs {
				bufs[i] = make([]byte, 64)
			}
			b.ResetTimer()
			for got, i := 0, 0; got < total; i++ {
				n, err := r.c.DequeueBatch(bufs, lens)
				if err != nil && !errors.Is(err, ErrEmpty) {
					b.Fatal(err)
				}
				got += n
				if n == 0 && i%1024 == 0 {
					runtime.Gosched()
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
