package dmaring

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file run for both kinds of ring, one goroutine.

func forKinds(t *testing.T, f func(t *testing.T, k ringKind)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

func TestRingFIFOFullEmpty(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		r, mem, whole := newRing(t, k, 8, 64)
		buf := make([]byte, 64)
		n, err := r.c.Dequeue(buf)
		assert.ErrorIs(t, err, ErrEmpty)
		assert.Zero(t, n)
		for i := range 8 {
			require.NoError(t, r.p.Enqueue(msgFor(buf, uint64(i), i)), "message %d", i)
		}
		assert.ErrorIs(t, r.p.Enqueue(nil), ErrFull)
		for i := range 8 {
			n, err := r.c.Dequeue(buf)
			require.NoError(t, err)
			require.Equal(t, i, n)
			require.NoError(t, checkMsg(buf[:n], uint64(i)))
		}
		_, err = r.c.Dequeue(buf)
		assert.ErrorIs(t, err, ErrEmpty)
		assert.NoError(t, r.err())
		checkGuards(t, mem, whole)
	})
}

func TestRingWrapAround(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		r, mem, whole := newRing(t, k, 4, 32)
		rng := rand.New(rand.NewPCG(1, 2))
		buf := make([]byte, r.maxMsg)
		var in, out uint64
		for out < 20000 { // 5000 laps
			for range rng.IntN(6) {
				err := r.p.Enqueue(msgFor(buf, in, int(in%uint64(r.maxMsg+1))))
				if in-out == 4 {
					require.ErrorIs(t, err, ErrFull)
					continue
				}
				require.NoError(t, err)
				in++
			}
			for range rng.IntN(6) {
				n, err := r.c.Dequeue(buf)
				if in == out {
					require.ErrorIs(t, err, ErrEmpty)
					continue
				}
				require.NoError(t, err)
				require.Equal(t, int(out%uint64(r.maxMsg+1)), n)
				require.NoError(t, checkMsg(buf[:n], out))
				out++
			}
		}
		checkGuards(t, mem, whole)
	})
}

func TestRingMessageSizes(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		r, _, _ := newRing(t, k, 4, 96)
		require.Equal(t, 96-SlotHeaderSize, r.maxMsg)
		msg := make([]byte, r.maxMsg+1)
		buf := make([]byte, r.maxMsg+1)
		for size := 0; size <= r.maxMsg; size++ {
			require.NoError(t, r.p.Enqueue(msgFor(msg, uint64(size), size)))
			n, err := r.c.Dequeue(buf)
			require.NoError(t, err)
			require.Equal(t, size, n)
			require.NoError(t, checkMsg(buf[:n], uint64(size)))
		}
		assert.ErrorIs(t, r.p.Enqueue(msg[:r.maxMsg+1]), ErrTooLarge)
		_, err := r.c.Dequeue(buf)
		assert.ErrorIs(t, err, ErrEmpty, "a message too large must not be enqueued")

		// A buffer too short leaves the message in the ring.
		require.NoError(t, r.p.Enqueue(msgFor(msg, 7, 40)))
		n, err := r.c.Dequeue(buf[:39])
		assert.ErrorIs(t, err, ErrShortBuffer)
		assert.Equal(t, 40, n)
		n, err = r.c.Dequeue(buf[:40])
		require.NoError(t, err)
		assert.Equal(t, 40, n)
		assert.NoError(t, checkMsg(buf[:n], 7))
	})
}

func TestRingBatch(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		r, _, _ := newRing(t, k, 8, 48)
		msgs := make([][]byte, 12)
		for i := range msgs {
			msgs[i] = msgFor(make([]byte, 32), uint64(i), i%33)
		}
		n, err := r.p.EnqueueBatch(msgs[:0])
		assert.NoError(t, err)
		assert.Zero(t, n)

		// Fills the ring part way: 8 of 12.
		n, err = r.p.EnqueueBatch(msgs)
		assert.ErrorIs(t, err, ErrFull)
		assert.Equal(t, 8, n)

		bufs := make([][]byte, 5)
		for i := range bufs {
			bufs[i] = make([]byte, 32)
		}
		lens := make([]int, 5)
		n, err = r.c.DequeueBatch(bufs, lens[:3]) // min(len(bufs), len(lens))
		require.NoError(t, err)
		require.Equal(t, 3, n)
		n2, err := r.c.DequeueBatch(bufs[3:], lens[3:])
		require.NoError(t, err)
		require.Equal(t, 2, n2)
		for i := range 5 {
			assert.Equal(t, i%33, lens[i])
			assert.NoError(t, checkMsg(bufs[i][:lens[i]], uint64(i)))
		}

		// A message too large stops the batch at it.
		big := make([]byte, r.maxMsg+1)
		n, err = r.p.EnqueueBatch([][]byte{msgs[8], big, msgs[9]})
		assert.ErrorIs(t, err, ErrTooLarge)
		assert.Equal(t, 1, n)

		// Drain: a short buffer stops the batch; alone, it is an error.
		bufs[1] = bufs[1][:2]
		n, err = r.c.DequeueBatch(bufs, lens)
		require.NoError(t, err)
		require.Equal(t, 1, n) // message 5 (5 bytes) does not fit bufs[1]
		n, err = r.c.DequeueBatch(bufs[1:], lens)
		assert.ErrorIs(t, err, ErrShortBuffer)
		assert.Zero(t, n)
		assert.Equal(t, 6%33, lens[0])
		n, err = r.c.DequeueBatch(bufs[2:], lens)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		for i, want := range []uint64{6, 7, 8} {
			assert.NoError(t, checkMsg(bufs[2+i][:lens[i]], want))
		}
		n, err = r.c.DequeueBatch(bufs, lens)
		assert.ErrorIs(t, err, ErrEmpty)
		assert.Zero(t, n)
		n, err = r.c.DequeueBatch(nil, lens)
		assert.NoError(t, err)
		assert.Zero(t, n)
	})
}

// TestRingBatchLaps runs random batches over many laps.
func TestRingBatchLaps(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		r, mem, whole := newRing(t, k, 16, 64)
		rng := rand.New(rand.NewPCG(3, 4))
		msgs := make([][]byte, 20)
		bufs := make([][]byte, 20)
		lens := make([]int, 20)
		for i := range bufs {
			bufs[i] = make([]byte, r.maxMsg)
		}
		var in, out uint64
		for out < 20000 {
			m := rng.IntN(20)
			for i := range m {
				msgs[i] = msgFor(make([]byte, r.maxMsg), in+uint64(i), int((in+uint64(i))%uint64(r.maxMsg)))
			}
			n, err := r.p.EnqueueBatch(msgs[:m])
			want := min(m, 16-int(in-out))
			require.Equal(t, want, n)
			if n < m {
				require.ErrorIs(t, err, ErrFull)
			} else {
				require.NoError(t, err)
			}
			in += uint64(n)
			m = rng.IntN(20)
			n, err = r.c.DequeueBatch(bufs[:m], lens)
			want = min(m, int(in-out))
			require.Equal(t, want, n)
			if n == 0 && m > 0 {
				require.ErrorIs(t, err, ErrEmpty)
			} else {
				require.NoError(t, err)
			}
			for i := range n {
				require.Equal(t, int(out%uint64(r.maxMsg)), lens[i])
				require.NoError(t, checkMsg(bufs[i][:lens[i]], out))
				out++
			}
		}
		checkGuards(t, mem, whole)
	})
}

func TestRingAttach(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		a, mem, _ := newRing(t, k, 8, 64)
		b, err := k.attach(mem)
		require.NoError(t, err)
		require.Equal(t, a.slots, b.slots)
		require.Equal(t, a.maxMsg, b.maxMsg)
		require.NoError(t, a.p.Enqueue([]byte("ping")))
		buf := make([]byte, 64)
		n, err := b.c.Dequeue(buf)
		require.NoError(t, err)
		assert.Equal(t, "ping", string(buf[:n]))
		if k.name == "MPMC" { // an SPSC ring goes one way
			require.NoError(t, b.p.Enqueue([]byte("pong")))
			n, err = a.c.Dequeue(buf)
			require.NoError(t, err)
			assert.Equal(t, "pong", string(buf[:n]))
		}
	})
}

func TestInitErrors(t *testing.T) {
	mem, _ := alignedMem(1 << 16)
	twoTo31 := uint64(1) << 31 // negative as a 32-bit int: rejected either way
	for _, c := range []struct {
		name            string
		mem             []byte
		slots, slotSize int
	}{
		{"one slot", mem, 1, 64},
		{"zero slots", mem, 0, 64},
		{"negative slots", mem, -4, 64},
		{"slots not a power of two", mem, 6, 64},
		{"too many slots", mem, int(twoTo31), 64},
		{"slot smaller than its header", mem, 4, 8},
		{"slot size not a multiple of 8", mem, 4, 60},
		{"negative slot size", mem, 4, -64},
		{"slot too large", mem, 4, 1<<30 + 8},
		{"memory too short", mem[:192+4*64-1], 4, 64},
		{"memory misaligned", mem[4:], 4, 64},
		{"no memory", nil, 4, 64},
	} {
		for _, k := range kinds {
			_, err := k.init(c.mem, c.slots, c.slotSize)
			assert.ErrorIs(t, err, ErrLayout, "%s %s", k.name, c.name)
		}
		_, err := RingSize(c.slots, c.slotSize)
		if len(c.mem) == len(mem) {
			assert.ErrorIs(t, err, ErrLayout, "RingSize: %s", c.name)
		}
	}
	size, err := RingSize(1<<30, 1<<30)
	if err == nil { // 64-bit: 2^60 bytes is a valid shape, if not a likely one
		assert.Equal(t, uint64(192+1<<60), uint64(size))
	}
}

func TestAttachValidation(t *testing.T) {
	type header struct {
		off   int
		value uint64
		width int
	}
	for _, c := range []struct {
		name string
		set  []header
		cut  int // bytes to cut off the memory's end
		want error
	}{
		{"bad magic", []header{{0, 0x52435048, 4}}, 0, ErrLayout},
		{"version 2", []header{{4, 2, 4}}, 0, ErrLayout},
		{"version 0", []header{{4, 0, 4}}, 0, ErrLayout},
		{"unknown kind", []header{{8, 3, 4}}, 0, ErrLayout},
		{"unknown flags", []header{{12, 1, 4}}, 0, ErrLayout},
		{"slots not a power of two", []header{{16, 6, 4}}, 0, ErrLayout},
		{"one slot", []header{{16, 1, 4}, {32, 192 + 64, 8}}, 0, ErrLayout},
		{"zero slots", []header{{16, 0, 4}, {32, 192, 8}}, 0, ErrLayout},
		{"slots past 2^30", []header{{16, 1 << 31, 4}}, 0, ErrLayout},
		{"slot size not a multiple of 8", []header{{20, 60, 4}}, 0, ErrLayout},
		{"slot size below its header", []header{{20, 8, 4}, {32, 192 + 8*8, 8}}, 0, ErrLayout},
		{"sizes overflowing the memory", []header{{16, 1 << 30, 4}, {20, 1 << 30, 4}, {32, 192 + 1<<60, 8}}, 0, ErrLayout},
		{"sizes whose product wraps 64 bits", []header{{16, 1 << 30, 4}, {20, 0xFFFFFFF8, 4}, {32, 192, 8}}, 0, ErrLayout},
		{"size field not the shape's", []header{{32, 192 + 8*64 - 8, 8}}, 0, ErrLayout},
		{"more slots than the memory holds", []header{{16, 16, 4}, {32, 192 + 16*64, 8}}, 0, ErrLayout},
		{"memory cut short", nil, 1, ErrLayout},
		{"memory shorter than a header", nil, 192 + 8*64 - 63, ErrLayout},
		{"marked broken", []header{{24, 1, 4}}, 0, ErrBroken},
		{"valid", nil, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			forKinds(t, func(t *testing.T, k ringKind) {
				_, mem, _ := newRing(t, k, 8, 64)
				for _, h := range c.set {
					for i := range h.width {
						mem[h.off+i] = byte(h.value >> (8 * i))
					}
				}
				_, err := k.attach(mem[:len(mem)-c.cut])
				if c.want == nil {
					assert.NoError(t, err, c.name)
				} else {
					assert.ErrorIs(t, err, c.want, c.name)
				}
			})
		})
	}

	// The other kind, and memory that is not aligned.
	_, mem, _ := newRing(t, kinds[0], 8, 64)
	_, err := AttachMPMC(mem)
	assert.ErrorIs(t, err, ErrLayout)
	assert.ErrorContains(t, err, "SPSC")
	_, err = AttachSPSC(mem[4:])
	assert.ErrorIs(t, err, ErrLayout)
	_, err = AttachSPSC(nil)
	assert.ErrorIs(t, err, ErrLayout)
}

// TestRingBrokenStays corrupts a stamp and a length and checks the ring
// stays broken, on this side and, through the header, on the peer's.
func TestRingBrokenStays(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		for _, c := range []struct {
			name    string
			corrupt func(mem []byte)
		}{
			{"stamp", func(mem []byte) { mem[192+64] = 0x77 }},                         // slot 1's stamp
			{"length", func(mem []byte) { mem[192+64+8], mem[192+64+9] = 0xFF, 0xFF }}, // slot 1's length
			{"stamp high bits", func(mem []byte) { mem[192+64+7] = 0x80 }},             // far behind
			{"stamp a lap ahead", func(mem []byte) { mem[192+64] = 2 + 8 }},            // written, a lap on
			{"stamp two laps behind", func(mem []byte) { fillWord(mem[192+64:], ^uint64(8*2-2)) }},
		} {
			t.Run(c.name, func(t *testing.T) {
				r, mem, whole := newRing(t, k, 8, 64)
				peer, err := k.attach(mem)
				require.NoError(t, err)
				// peer produces, r consumes: two processes' views.
				buf := make([]byte, 64)
				require.NoError(t, peer.p.Enqueue([]byte("a")))
				require.NoError(t, peer.p.Enqueue([]byte("b")))
				n, err := r.c.Dequeue(buf)
				require.NoError(t, err)
				require.Equal(t, "a", string(buf[:n]))
				c.corrupt(mem)
				_, err = r.c.Dequeue(buf)
				require.ErrorIs(t, err, ErrBroken)
				t.Log(err)
				require.ErrorIs(t, r.err(), ErrBroken)
				for range 3 {
					_, err = r.c.Dequeue(buf)
					assert.ErrorIs(t, err, ErrBroken)
					assert.ErrorIs(t, r.p.Enqueue(nil), ErrBroken)
					_, err = r.p.EnqueueBatch([][]byte{nil})
					assert.ErrorIs(t, err, ErrBroken)
					_, err = r.c.DequeueBatch([][]byte{buf}, []int{0})
					assert.ErrorIs(t, err, ErrBroken)
				}
				// The peer finds out at the latest when the ring fills up.
				for i := 0; !errors.Is(err, ErrBroken); i++ {
					require.Less(t, i, 100, "the peer never saw the ring broken")
					err = peer.p.Enqueue(nil)
					require.True(t, err == nil || errors.Is(err, ErrBroken), "%v", err)
				}
				_, err = k.attach(mem)
				assert.ErrorIs(t, err, ErrBroken)
				checkGuards(t, mem, whole)
			})
		}
	})
}

func fillWord(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func TestMarkBroken(t *testing.T) {
	size, err := RingSize(4, 32)
	require.NoError(t, err)
	mem, _ := alignedMem(2 * size)
	s, err := InitSPSC(mem[:size], 4, 32)
	require.NoError(t, err)
	m, err := InitMPMC(mem[size:], 4, 32)
	require.NoError(t, err)
	s2, err := AttachSPSC(mem[:size])
	require.NoError(t, err)
	m2, err := AttachMPMC(mem[size:])
	require.NoError(t, err)

	s.MarkBroken()
	m.MarkBroken()
	assert.ErrorIs(t, s.Err(), ErrBroken)
	assert.ErrorIs(t, m.Err(), ErrBroken)
	assert.ErrorIs(t, s.Producer().Enqueue(nil), ErrBroken)
	assert.ErrorIs(t, m.Enqueue(nil), ErrBroken)
	_, err = s2.Consumer().Dequeue(nil)
	assert.ErrorIs(t, err, ErrBroken)
	assert.ErrorContains(t, err, "peer")
	_, err = m2.Dequeue(nil)
	assert.ErrorIs(t, err, ErrBroken)
}

// TestFreedSlotsZeroed checks that a dequeued message leaves nothing of
// itself in the ring's memory, single and batched, so a slot handed back
// to a producer (or a ring's memory handed to another peer) holds no
// earlier message.
func TestFreedSlotsZeroed(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			r, mem, _ := newRing(t, k, 4, 64)
			secret := bytes.Repeat([]byte{0xa5}, r.maxMsg)
			require.NoError(t, r.p.Enqueue(secret))
			require.NoError(t, r.p.Enqueue(secret[:7]))
			require.Positive(t, bytes.Count(mem, []byte{0xa5}))
			buf := make([]byte, r.maxMsg)
			n, err := r.c.Dequeue(buf)
			require.NoError(t, err)
			require.Equal(t, secret, buf[:n])
			bufs := [][]byte{make([]byte, r.maxMsg), make([]byte, r.maxMsg)}
			lens := make([]int, 2)
			got, err := r.c.DequeueBatch(bufs, lens)
			require.NoError(t, err)
			require.Equal(t, 1, got)
			require.Equal(t, 7, lens[0])
			assert.Zero(t, bytes.Count(mem, []byte{0xa5}), "message bytes left in the ring")
		})
	}
}
