package dmaring

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fuzz targets feed the rings memory a hostile peer controls and check
// the rings' promises: no panic, no access outside the ring (guard bytes),
// only the documented errors, no length past the buffer or MaxMessage, and
// a broken ring stays broken. Their seed corpora are in testdata/fuzz,
// made by attachSeeds and corruptSeeds and written by TestFuzzCorpus with
// -update-corpus.

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the fuzz seed corpora in testdata/fuzz")

// exercise runs the operations that ops selects, two bits each, on r and
// checks every result.
func exercise(t *testing.T, r *testRing, ops uint64, count int) {
	t.Helper()
	msg := make([]byte, r.maxMsg+1)
	for i := range msg {
		msg[i] = byte(i)
	}
	buf := make([]byte, r.maxMsg)
	bufs := [][]byte{make([]byte, r.maxMsg), make([]byte, 3), make([]byte, r.maxMsg)}
	lens := make([]int, 3)
	broken := false
	for i := range count {
		var n, limit int
		var err error
		switch op := ops >> (2 * (i % 32)) & 3; op {
		case 0:
			n, err = r.c.Dequeue(buf)
			limit = r.maxMsg
		case 1:
			n, err = r.c.DequeueBatch(bufs, lens)
			limit = len(bufs)
			for j := range n {
				if lens[j] < 0 || lens[j] > len(bufs[j]) {
					t.Fatalf("DequeueBatch length %d for a buffer of %d", lens[j], len(bufs[j]))
				}
			}
		case 2:
			err = r.p.Enqueue(msg[:i%(r.maxMsg+2)])
		case 3:
			n, err = r.p.EnqueueBatch([][]byte{msg[:1], msg[:r.maxMsg]})
			limit = 2
		}
		if !ringErrAllowed(err) {
			t.Fatalf("operation %d: unexpected error %v", i, err)
		}
		if n < 0 || n > limit {
			t.Fatalf("operation %d returned %d, limit %d", i, n, limit)
		}
		if broken && !errors.Is(err, ErrBroken) {
			t.Fatalf("operation %d on a broken ring returned %v", i, err)
		}
		broken = broken || errors.Is(err, ErrBroken)
	}
	if broken {
		require.ErrorIs(t, r.err(), ErrBroken)
	}
}

// FuzzAttach attaches both kinds of ring to arbitrary memory and, where
// that succeeds, runs a few operations.
func FuzzAttach(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range kinds {
			mem, whole := alignedMem(len(data))
			copy(mem, data)
			r, err := k.attach(mem)
			if err != nil {
				if !errors.Is(err, ErrLayout) && !errors.Is(err, ErrBroken) {
					t.Fatalf("%s: attach: unexpected error %v", k.name, err)
				}
				continue
			}
			exercise(t, r, 0xC6A4_E21B_9D35_7F08, 2*min(r.slots, 64)+8)
			checkGuards(t, mem, whole)
		}
	})
}

// FuzzDequeueCorrupt writes data over a ring with messages in flight, at
// offset at (modulo the ring's size), and runs the operations ops selects.
func FuzzDequeueCorrupt(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, at uint16, mpmc bool, ops uint64) {
		k := kinds[0]
		if mpmc {
			k = kinds[1]
		}
		r, mem, whole := inFlight(t, k)
		off := int(at) % len(mem)
		copy(mem[off:], data)
		exercise(t, r, ops, 40)
		checkGuards(t, mem, whole)
	})
}

// inFlight returns a ring of 8 slots of 48 bytes in its second lap, with
// positions 0 to 11 written and 0 to 8 consumed: the messages of 9, 10 and
// 11 are in flight.
func inFlight(tb testing.TB, k ringKind) (*testRing, []byte, []byte) {
	r, mem, whole := newRing(tb, k, 8, 48)
	buf := make([]byte, 48)
	for i := range 12 {
		require.NoError(tb, r.p.Enqueue(msgFor(buf, uint64(i), i*3%33)))
		if i < 6 || i%2 == 0 {
			_, err := r.c.Dequeue(buf)
			require.NoError(tb, err)
		}
	}
	return r, mem, whole
}

// attachSeeds are rings of both kinds in several states, and broken
// variants of them.
func attachSeeds() map[string][]byte {
	seeds := map[string][]byte{}
	for _, k := range kinds {
		name := strings.ToLower(k.name)
		r, mem := seedRing(k, 4, 32)
		seeds[name+"-empty"] = slices.Clone(mem)
		for i := range 6 {
			_ = r.p.Enqueue([]byte(fmt.Sprint("message ", i)))
			if i%2 == 0 {
				_, _ = r.c.Dequeue(make([]byte, 32))
			}
		}
		good := slices.Clone(mem)
		seeds[name+"-in-flight"] = good
		seeds[name+"-header-only"] = good[:headerSize]
		seeds[name+"-cut"] = good[:len(good)-1]
		for _, c := range []struct {
			name string
			off  int
			val  byte
		}{
			{"huge-slots", 19, 0x40}, // 2^30 slots
			{"bad-length", offSlots + 3*32 + 8, 0xFF},
			{"stamp-ahead", offSlots + 3*32, 0x2F},
			{"tail-back", offTail + 7, 0xFF},
			{"broken", 24, 1},
		} {
			bad := slices.Clone(good)
			bad[c.off] = c.val
			seeds[name+"-"+c.name] = bad
		}
		big, bigMem := seedRing(k, 64, 16)
		for i := range 70 {
			_ = big.p.Enqueue(nil)
			if i > 10 {
				_, _ = big.c.Dequeue(nil)
			}
		}
		seeds[name+"-64-slots"] = slices.Clone(bigMem)
	}
	seeds["nothing"] = nil
	return seeds
}

// seedRing makes a ring for a seed.
func seedRing(k ringKind, slots, slotSize int) (*testRing, []byte) {
	size, err := RingSize(slots, slotSize)
	if err != nil {
		panic(err)
	}
	mem, _ := alignedMem(size)
	r, err := k.init(mem, slots, slotSize)
	if err != nil {
		panic(err)
	}
	return r, mem
}

type corruptSeed struct {
	data []byte
	at   uint16
	mpmc bool
	ops  uint64
}

// corruptSeeds write stamps, lengths and indices, legal and not, over the
// in-flight ring.
func corruptSeeds() map[string]corruptSeed {
	le := func(v uint64, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		return b
	}
	slot := func(i int) uint16 { return uint16(offSlots + i*48) }
	// Slot 0 holds position 8 (consumed: 16), slot 1 position 9... the
	// consumer is at 9 (slot 1, written: 10), the producer at 12 (slot 4,
	// consumed at 4: free stamp 12).
	const dequeues, enqueues, mixed = 0x0000_0000_0000_0000, 0xAAAA_AAAA_AAAA_AAAA, 0x1B1B_E4E4_6C6C_9393
	seeds := map[string]corruptSeed{}
	for _, mpmc := range []bool{false, true} {
		kind := "spsc"
		if mpmc {
			kind = "mpmc"
		}
		for name, s := range map[string]corruptSeed{
			"stamp-garbage":    {le(0xDEADBEEF, 8), slot(1), mpmc, dequeues},
			"stamp-legal-lie":  {le(10, 8), slot(1), mpmc, dequeues},
			"stamp-lap-ahead":  {le(18, 8), slot(1), mpmc, dequeues},
			"stamp-behind":     {le(2, 8), slot(1), mpmc, dequeues},
			"free-stamp-ahead": {le(20, 8), slot(4), mpmc, enqueues},
			"free-stamp-lie":   {le(13, 8), slot(4), mpmc, enqueues},
			"length-max":       {le(32, 4), slot(1) + 8, mpmc, dequeues},
			"length-over":      {le(33, 4), slot(1) + 8, mpmc, dequeues},
			"length-huge":      {le(0xFFFFFFFF, 4), slot(2) + 8, mpmc, mixed},
			"tail-ahead":       {le(1<<40, 8), offTail, mpmc, mixed},
			"head-back":        {le(3, 8), offHead, mpmc, mixed},
			"header-magic":     {[]byte("XXXX"), 0, mpmc, mixed},
			"broken-word":      {le(1, 4), 24, mpmc, enqueues},
			"all-slots-zero":   {make([]byte, 8*48), slot(0), mpmc, mixed},
			"all-slots-ff":     {slices.Repeat([]byte{0xFF}, 8*48), slot(0), mpmc, mixed},
			"wraps-the-end":    {slices.Repeat([]byte{0x11}, 100), uint16(offSlots + 8*48 - 20), mpmc, mixed},
			"nothing":          {nil, 0, mpmc, mixed},
		} {
			seeds[kind+"-"+name] = s
		}
	}
	return seeds
}

// TestFuzzCorpus checks the committed seed corpora are the ones the seed
// functions make (rewriting them with -update-corpus).
func TestFuzzCorpus(t *testing.T) {
	files := map[string]string{}
	for name, data := range attachSeeds() {
		files[filepath.Join("FuzzAttach", "seed-"+name)] = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	}
	for name, s := range corruptSeeds() {
		files[filepath.Join("FuzzDequeueCorrupt", "seed-"+name)] = fmt.Sprintf(
			"go test fuzz v1\n[]byte(%q)\nuint16(%d)\nbool(%t)\nuint64(%d)\n", s.data, s.at, s.mpmc, s.ops)
	}
	for name, want := range files {
		path := filepath.Join("testdata", "fuzz", name)
		if *updateCorpus {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run go test -run TestFuzzCorpus -update-corpus ./dmaring/")
		require.Equal(t, want, string(got), "%s is stale: run go test -run TestFuzzCorpus -update-corpus ./dmaring/", path)
	}
}
