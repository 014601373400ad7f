package dmaring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMPMCConcurrent runs 4 producers and 4 consumers, each on its own view
// of the ring as separate processes would have it, single and batched, and
// checks every message is delivered exactly once, intact, and in order per
// producer as each consumer sees it.
func TestMPMCConcurrent(t *testing.T) {
	const (
		producers = 4
		consumers = 4
		each      = 5000
	)
	size, err := RingSize(32, 64)
	require.NoError(t, err)
	mem, whole := alignedMem(size)
	_, err = InitMPMC(mem, 32, 64)
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)

	// A message: producer id (1 byte), sequence (4 bytes), then filler
	// derived from both, of a length that varies.
	encode := func(buf []byte, id int, seq uint32) []byte {
		n := 5 + int(seq%40)
		buf = buf[:n]
		buf[0] = byte(id)
		binary.LittleEndian.PutUint32(buf[1:], seq)
		for j := 5; j < n; j++ {
			buf[j] = byte(id*31) ^ byte(seq) ^ byte(j)
		}
		return buf
	}
	decode := func(msg []byte) (int, uint32, error) {
		if len(msg) < 5 {
			return 0, 0, fmt.Errorf("message of %d bytes", len(msg))
		}
		id, seq := int(msg[0]), binary.LittleEndian.Uint32(msg[1:])
		if id >= producers || seq >= each || len(msg) != 5+int(seq%40) {
			return 0, 0, fmt.Errorf("bad message id %d seq %d length %d", id, seq, len(msg))
		}
		for j := 5; j < len(msg); j++ {
			if msg[j] != byte(id*31)^byte(seq)^byte(j) {
				return 0, 0, fmt.Errorf("message %d/%d corrupt at byte %d", id, seq, j)
			}
		}
		return id, seq, nil
	}

	var wg sync.WaitGroup
	errs := make(chan error, producers+consumers)
	for id := range producers {
		m, err := AttachMPMC(mem)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, m.MaxMessage())
			batch := [][]byte{make([]byte, 48), make([]byte, 48), make([]byte, 48)}
			for seq := uint32(0); seq < each; {
				if id%2 == 1 && seq+3 <= each { // odd producers batch
					for j := range batch {
						batch[j] = encode(batch[j][:cap(batch[j])], id, seq+uint32(j))
					}
					done := 0
					err := ringSpin(t, deadline, func() error {
						n, err := m.EnqueueBatch(batch[done:])
						if done += n; done == len(batch) {
							return nil
						}
						if n > 0 {
							return ErrFull
						}
						return err
					})
					if err != nil {
						errs <- fmt.Errorf("producer %d: %w", id, err)
						return
					}
					seq += 3
					continue
				}
				msg := encode(buf, id, seq)
				if err := ringSpin(t, deadline, func() error { return m.Enqueue(msg) }); err != nil {
					errs <- fmt.Errorf("producer %d: %w", id, err)
					return
				}
				seq++
			}
		}()
	}

	var mu sync.Mutex
	seen := make([][]int, producers)
	for i := range seen {
		seen[i] = make([]int, each)
	}
	var received sync.WaitGroup
	received.Add(producers * each)
	stop := make(chan struct{})
	for id := range consumers {
		m, err := AttachMPMC(mem)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := make([]int64, producers) // per producer, the last sequence this consumer saw
			for i := range last {
				last[i] = -1
			}
			take := func(msg []byte) error {
				pid, seq, err := decode(msg)
				if err != nil {
					return err
				}
				if int64(seq) <= last[pid] {
					return fmt.Errorf("consumer %d: producer %d's message %d after %d", id, pid, seq, last[pid])
				}
				last[pid] = int64(seq)
				mu.Lock()
				seen[pid][seq]++
				mu.Unlock()
				received.Done()
				return nil
			}
			buf := make([]byte, m.MaxMessage())
			bufs := [][]byte{make([]byte, 48), make([]byte, 48), make([]byte, 48), make([]byte, 48)}
			lens := make([]int, len(bufs))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if id%2 == 1 { // odd consumers batch
					var n int
					n, err = m.DequeueBatch(bufs, lens)
					for j := range n {
						if err := take(bufs[j][:lens[j]]); err != nil {
							errs <- err
							return
						}
					}
				} else {
					var n int
					if n, err = m.Dequeue(buf); err == nil {
						err = take(buf[:n])
					}
				}
				switch {
				case err == nil:
				case errors.Is(err, ErrEmpty):
					if i%64 == 0 {
						if time.Now().After(deadline) {
							errs <- fmt.Errorf("consumer %d: still empty at the deadline", id)
							return
						}
						runtime.Gosched()
					}
				default:
					errs <- fmt.Errorf("consumer %d: %w", id, err)
					return
				}
			}
		}()
	}

	done := make(chan struct{})
	go func() { received.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-errs:
		close(stop)
		wg.Wait()
		t.Fatal(err)
	case <-time.After(time.Until(deadline) + time.Second):
		close(stop)
		wg.Wait()
		t.Fatal("timed out")
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	for pid := range seen {
		for seq, n := range seen[pid] {
			if n != 1 {
				t.Fatalf("producer %d's message %d delivered %d times", pid, seq, n)
			}
		}
	}
	m, err := AttachMPMC(mem)
	require.NoError(t, err)
	_, err = m.Dequeue(make([]byte, 64))
	assert.ErrorIs(t, err, ErrEmpty)
	checkGuards(t, mem, whole)
}

// TestMPMCLostRaceIsNotBroken plays, in one goroutine, the interleavings in
// which an operation finds a slot already taken by another producer or
// consumer, and checks they are retried, not reported broken.
func TestMPMCLostRaceIsNotBroken(t *testing.T) {
	size, err := RingSize(4, 32)
	require.NoError(t, err)
	mem, _ := alignedMem(size)
	m, err := InitMPMC(mem, 4, 32)
	require.NoError(t, err)
	r := &m.r
	buf := make([]byte, 16)

	// Another producer claimed position 0 but has not written it yet.
	require.True(t, cas64(r.tail, 0, 1))
	require.NoError(t, m.Enqueue([]byte("x"))) // goes to position 1
	_, err = m.Dequeue(buf)
	assert.ErrorIs(t, err, ErrEmpty, "position 0 is claimed, not written")
	// It finishes.
	store64(&slotAt(r.mem, r.slotOff(0)).Seq, 1)
	n, err := m.Dequeue(buf)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	n, err = m.Dequeue(buf)
	require.NoError(t, err)
	assert.Equal(t, "x", string(buf[:n]))

	// A stale view of the tail: the verdicts, given an old position, say
	// "moved on" and the index has.
	v, err := r.putVerdict(0, load64(&slotAt(r.mem, r.slotOff(0)).Seq))
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	v, err = r.getVerdict(0, load64(&slotAt(r.mem, r.slotOff(0)).Seq))
	require.NoError(t, err)
	assert.Equal(t, 1, v)

	// Tail and head are at 2. Another producer claims position 2 and has
	// not written it when the others lap round to it: full, not broken.
	require.True(t, cas64(r.tail, 2, 3))
	for range 3 {
		require.NoError(t, m.Enqueue(nil))
	}
	assert.ErrorIs(t, m.Enqueue(nil), ErrFull) // stamp pos-slots
	_, err = m.Dequeue(buf)
	assert.ErrorIs(t, err, ErrEmpty) // stamp pos
	store64(&slotAt(r.mem, r.slotOff(2)).Seq, 3)
	// Another consumer claims position 2 and has not copied it out when
	// a producer laps round to it: full; a consumer finds the rest.
	require.True(t, cas64(r.head, 2, 3))
	assert.ErrorIs(t, m.Enqueue(nil), ErrFull) // stamp pos-slots+1
	for range 3 {
		_, err = m.Dequeue(buf)
		require.NoError(t, err)
	}
	_, err = m.Dequeue(buf)
	assert.ErrorIs(t, err, ErrEmpty) // stamp pos+1-slots: the slow consumer's
	store64(&slotAt(r.mem, r.slotOff(2)).Seq, 2+4)
	require.NoError(t, m.Enqueue([]byte("y")))
	n, err = m.Dequeue(buf)
	require.NoError(t, err)
	assert.Equal(t, "y", string(buf[:n]))
	require.NoError(t, m.Err())
}
