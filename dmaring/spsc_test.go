package dmaring

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSPSCConcurrent runs a producer and a consumer goroutine, with single
// and batched operations, and checks every message arrives once, in order,
// intact. Under -race it also checks the payload copies are ordered by the
// stamps.
func TestSPSCConcurrent(t *testing.T) {
	const total = 20000
	size, err := RingSize(16, 64)
	require.NoError(t, err)
	mem, whole := alignedMem(size)
	s, err := InitSPSC(mem, 16, 64)
	require.NoError(t, err)
	peer, err := AttachSPSC(mem) // the consumer's view, as another process would have it
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)

	var wg sync.WaitGroup
	var prodErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := s.Producer()
		buf := make([]byte, s.MaxMessage())
		batch := make([][]byte, 5)
		for i := range batch {
			batch[i] = make([]byte, s.MaxMessage())
		}
		for i := uint64(0); i < total; {
			if i%3 == 0 && i+5 <= total { // a batch of 5
				for j := range batch {
					batch[j] = msgFor(batch[j][:cap(batch[j])], i+uint64(j), int((i+uint64(j))%49))
				}
				done := 0
				if prodErr = ringSpin(t, deadline, func() error {
					n, err := p.EnqueueBatch(batch[done:])
					done += n
					if err == nil || (done < len(batch) && n > 0) {
						if done == len(batch) {
							return nil
						}
						return ErrFull
					}
					return err
				}); prodErr != nil {
					return
				}
				i += 5
				continue
			}
			msg := msgFor(buf, i, int(i%49))
			if prodErr = ringSpin(t, deadline, func() error { return p.Enqueue(msg) }); prodErr != nil {
				return
			}
			i++
		}
	}()

	c := peer.Consumer()
	buf := make([]byte, s.MaxMessage())
	bufs := [][]byte{make([]byte, 48), make([]byte, 48), make([]byte, 48)}
	lens := make([]int, 3)
	for i := uint64(0); i < total; {
		if i%2 == 0 {
			var n int
			require.NoError(t, ringSpin(t, deadline, func() (err error) { n, err = c.DequeueBatch(bufs, lens); return err }))
			for j := range n {
				require.Equal(t, int(i%49), lens[j], "length of message %d", i)
				require.NoError(t, checkMsg(bufs[j][:lens[j]], i))
				i++
			}
			continue
		}
		var n int
		require.NoError(t, ringSpin(t, deadline, func() (err error) { n, err = c.Dequeue(buf); return err }))
		require.Equal(t, int(i%49), n, "length of message %d", i)
		require.NoError(t, checkMsg(buf[:n], i))
		i++
	}
	wg.Wait()
	require.NoError(t, prodErr)
	_, err = c.Dequeue(buf)
	assert.ErrorIs(t, err, ErrEmpty)
	checkGuards(t, mem, whole)
}

// TestSPSCTakeOver checks a new handle resumes where the last one of its
// side stopped, from the position it published.
func TestSPSCTakeOver(t *testing.T) {
	size, err := RingSize(4, 32)
	require.NoError(t, err)
	mem, _ := alignedMem(size)
	s, err := InitSPSC(mem, 4, 32)
	require.NoError(t, err)
	p, c := s.Producer(), s.Consumer()
	buf := make([]byte, 16)
	for i := range 10 { // two and a half laps
		require.NoError(t, p.Enqueue([]byte{byte(i)}))
		_, err := c.Dequeue(buf)
		require.NoError(t, err)
	}
	require.NoError(t, p.Enqueue([]byte{10}))
	n, err := p.EnqueueBatch([][]byte{{11}, {12}})
	require.NoError(t, err)
	require.Equal(t, 2, n)

	// Both sides restart, in another process.
	s2, err := AttachSPSC(mem)
	require.NoError(t, err)
	p2, c2 := s2.Producer(), s2.Consumer()
	require.NoError(t, p2.Enqueue([]byte{13}))
	assert.ErrorIs(t, p2.Enqueue([]byte{14}), ErrFull)
	for want := byte(10); want < 14; want++ {
		n, err := c2.Dequeue(buf)
		require.NoError(t, err)
		require.Equal(t, []byte{want}, buf[:n])
	}
	_, err = c2.Dequeue(buf)
	assert.ErrorIs(t, err, ErrEmpty)
}

func TestSPSCAccessors(t *testing.T) {
	size, err := RingSize(8, 128)
	require.NoError(t, err)
	assert.Equal(t, 192+8*128, size)
	mem, _ := alignedMem(size + 100)
	s, err := InitSPSC(mem, 8, 128)
	require.NoError(t, err)
	assert.Equal(t, 8, s.Slots())
	assert.Equal(t, 128, s.SlotSize())
	assert.Equal(t, 112, s.MaxMessage())
	assert.Equal(t, size, s.Size())
	assert.NoError(t, s.Err())
	_, err = RingSize(-1, 64)
	assert.True(t, errors.Is(err, ErrLayout))
}
