package dmaring

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRingHostilePeer runs exchanges over a ring while a "hostile peer"
// scribbles over its shared memory at random points: random bytes anywhere,
// or plausible-looking stamps, lengths and indices where they hurt most.
// The scribbling is done from the test goroutine between operations, so
// the race detector has nothing to say about it. Whatever happens, no
// operation may panic, return an error other than the documented ones,
// return a length longer than the buffer or MaxMessage, or touch memory
// outside the ring (the guard bytes, and a neighbouring ring in the same
// buffer that must go on working); and a ring once broken stays broken.
func TestRingHostilePeer(t *testing.T) {
	forKinds(t, func(t *testing.T, k ringKind) {
		broken := 0
		const seeds = 100
		for seed := range uint64(seeds) {
			if hostileRun(t, k, seed) {
				broken++
			}
		}
		t.Logf("%d of %d runs ended with the ring broken", broken, seeds)
	})
}

// hostileRun runs one exchange and reports whether the ring ended broken.
func hostileRun(t *testing.T, k ringKind, seed uint64) bool {
	t.Helper()
	const slots, slotSize = 8, 64
	size, err := RingSize(slots, slotSize)
	require.NoError(t, err)
	both, whole := alignedMem(2 * size)
	mem, next := both[:size:size], both[size:]
	r, err := k.init(mem, slots, slotSize)
	require.NoError(t, err)
	nb, err := k.init(next, slots, slotSize)
	require.NoError(t, err)

	rng := rand.New(rand.NewPCG(seed, 99))
	msg := make([]byte, r.maxMsg+8)
	buf := make([]byte, r.maxMsg)
	bufs := [][]byte{make([]byte, r.maxMsg), make([]byte, 10), make([]byte, r.maxMsg)}
	lens := make([]int, 3)
	batch := [][]byte{msg[:3], msg[:r.maxMsg], msg[:0]}
	wasBroken := false
	brokenAt := -1
	rate := []int{1, 3, 10, 30}[seed%4] // scribbles per thousand operations

	check := func(op string, n int, limit int, err error) {
		t.Helper()
		if !ringErrAllowed(err) {
			t.Fatalf("seed %d: %s: unexpected error %v", seed, op, err)
		}
		if n < 0 || n > limit {
			t.Fatalf("seed %d: %s returned %d, limit %d", seed, op, n, limit)
		}
		if wasBroken && !errors.Is(err, ErrBroken) {
			t.Fatalf("seed %d: %s on a broken ring returned %v", seed, op, err)
		}
		if errors.Is(err, ErrBroken) {
			wasBroken = true
		}
	}

	for step := range 3000 {
		if wasBroken && brokenAt < 0 {
			brokenAt = step
		}
		if brokenAt >= 0 && step > brokenAt+200 {
			break
		}
		if rng.IntN(1000) < rate {
			scribble(rng, mem, slots, slotSize)
		}
		switch a := rng.IntN(100); {
		case a < 30:
			err := r.p.Enqueue(msgFor(msg, uint64(step), rng.IntN(r.maxMsg+1)))
			check("Enqueue", 0, 0, err)
		case a < 40:
			n, err := r.p.EnqueueBatch(batch)
			check("EnqueueBatch", n, len(batch), err)
		case a < 70:
			n, err := r.c.Dequeue(buf[:rng.IntN(len(buf)+1)])
			limit := r.maxMsg
			if err == nil {
				limit = len(buf)
			}
			check("Dequeue", n, limit, err)
		default:
			n, err := r.c.DequeueBatch(bufs, lens)
			check("DequeueBatch", n, len(bufs), err)
			for i := range n {
				if lens[i] < 0 || lens[i] > len(bufs[i]) {
					t.Fatalf("seed %d: DequeueBatch length %d for a buffer of %d", seed, lens[i], len(bufs[i]))
				}
			}
		}
		// The neighbouring ring is not affected.
		want := msgFor(msg, uint64(step), step%nb.maxMsg)
		require.NoError(t, nb.p.Enqueue(want), "seed %d: neighbour", seed)
		n, err := nb.c.Dequeue(buf)
		require.NoError(t, err, "seed %d: neighbour", seed)
		require.NoError(t, checkMsg(buf[:n], uint64(step)))
		require.Equal(t, len(want), n)
	}
	checkGuards(t, both, whole)
	return wasBroken
}

// scribble is the hostile peer: one write somewhere in the ring.
func scribble(rng *rand.Rand, mem []byte, slots, slotSize int) {
	word := func(off int, v uint64, width int) {
		for i := range width {
			mem[off+i] = byte(v >> (8 * i))
		}
	}
	slot := offSlots + rng.IntN(slots)*slotSize
	near := func(off int) uint64 { // a value close to what is there
		v := uint64(0)
		for i := range 8 {
			v |= uint64(mem[off+i]) << (8 * i)
		}
		return v + uint64(rng.IntN(2*slots+3)) - uint64(slots+1)
	}
	switch rng.IntN(8) {
	case 0: // random bytes anywhere
		off := rng.IntN(len(mem))
		n := min(1+rng.IntN(16), len(mem)-off)
		for i := range n {
			mem[off+i] = byte(rng.Uint32())
		}
	case 1: // a stamp near its value
		word(slot, near(slot), 8)
	case 2: // a random stamp
		word(slot, rng.Uint64(), 8)
	case 3: // a length
		word(slot+8, uint64(rng.IntN(2*slotSize)), 4)
	case 4: // the tail or the head near its value
		off := []int{offTail, offHead}[rng.IntN(2)]
		word(off, near(off), 8)
	case 5: // the tail or the head anywhere
		word([]int{offTail, offHead}[rng.IntN(2)], rng.Uint64(), 8)
	case 6: // a header field
		word(4*rng.IntN(headerSize/4), uint64(rng.Uint32()), 4)
	case 7: // a payload
		word(slot+SlotHeaderSize+rng.IntN(slotSize-SlotHeaderSize-8), rng.Uint64(), 8)
	}
}

// TestMPMCHostileNoSpin checks that stamps claiming the indices moved on,
// when they did not, break the ring instead of looping.
func TestMPMCHostileNoSpin(t *testing.T) {
	for _, c := range []struct {
		name string
		seq  uint64 // stamp of slot 0 when both indices are at 0
		op   string
	}{
		{"written a lap ahead", 1 + 8, "get"},
		{"free two laps ahead", 16, "put"},
		{"consumed", 8, "get"},
		{"written", 1, "put"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, mem, _ := newRing(t, kinds[1], 8, 32)
			m, err := AttachMPMC(mem)
			require.NoError(t, err)
			fillWord(mem[offSlots:], c.seq)
			if c.op == "put" {
				err = m.Enqueue(nil)
			} else {
				_, err = m.Dequeue(nil)
			}
			require.ErrorIs(t, err, ErrBroken)
			require.ErrorContains(t, err, "moved past")
		})
	}
	// An index moving backwards.
	_, mem, _ := newRing(t, kinds[1], 8, 32)
	m, err := AttachMPMC(mem)
	require.NoError(t, err)
	require.NoError(t, m.Enqueue(nil))
	fillWord(mem[offSlots+32:], 2+8)    // slot 1: "consumed", a lap on
	fillWord(mem[offTail:], ^uint64(0)) // and the tail at -1
	err = m.Enqueue(nil)
	require.ErrorIs(t, err, ErrBroken, "%v", err)
}
