package dmaring

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The descriptor rings' fuzz targets feed the driver what the engine, or a
// peer scribbling over DMA memory, could write (descriptors, write-back
// indices) and check its promises: no panic, no access outside the ring or
// a buffer, only the documented errors, no packet longer than the buffer or
// MaxPacket, every buffer accounted for, and a broken ring stays broken
// until Reset. They run the real TX and RX on descRegs, a register file
// with no engine: the target plays the engine by writing ring memory. Their
// seed corpora are in testdata/fuzz, made by descSeeds and written by
// TestDescFuzzCorpus with -update-desc-corpus.

var updateDescCorpus = flag.Bool("update-desc-corpus", false, "rewrite the DMA ring fuzz seed corpora in testdata/fuzz")

// descRegs is a regs.Bus of plain registers holding the block's
// identification and one enabled channel: reads return what was written.
type descRegs struct{ w [0x2000 / 4]uint32 }

func newDescRegs(c, src, dst, self int) *descRegs {
	r := &descRegs{}
	r.w[0], r.w[1], r.w[2], r.w[3] = 0x49504355, 0x01000000, 0x04041044, 0x0040100C
	r.w[0x18/4] = uint32(self)
	r.w[(0x1000+0x100*c)/4] = uint32(1 | src<<4 | dst<<8)
	return r
}

func (r *descRegs) Read8(off uintptr) uint8       { return uint8(r.w[off/4] >> (8 * (off % 4))) }
func (r *descRegs) Read16(off uintptr) uint16     { return uint16(r.w[off/4] >> (8 * (off % 4))) }
func (r *descRegs) Read32(off uintptr) uint32     { return r.w[off/4] }
func (r *descRegs) Read64(off uintptr) uint64     { return uint64(r.w[off/4]) | uint64(r.w[off/4+1])<<32 }
func (r *descRegs) Write8(uintptr, uint8)         {}
func (r *descRegs) Write16(uintptr, uint16)       {}
func (r *descRegs) Write32(off uintptr, v uint32) { r.w[off/4] = v }
func (r *descRegs) Write64(off uintptr, v uint64) {
	r.w[off/4], r.w[off/4+1] = uint32(v), uint32(v>>32)
}
func (r *descRegs) Size() uintptr { return 0x2000 }

// heapMemory is a Memory of Go heap slices at made-up device addresses,
// counting the regions not yet freed.
type heapMemory struct {
	next uint64
	live int
}

type heapRegion struct {
	m    *heapMemory
	b    []byte
	addr uint64
}

func (m *heapMemory) Alloc(size, align int) (Region, error) {
	if m.next == 0 {
		m.next = 0x1000_0000
	}
	a := (m.next + uint64(align) - 1) &^ (uint64(align) - 1)
	m.next = a + uint64(size) + 4096
	m.live++
	return &heapRegion{m: m, b: make([]byte, size), addr: a}, nil
}

func (r *heapRegion) Bytes() []byte { return r.b }
func (r *heapRegion) Addr() uint64  { return r.addr }
func (r *heapRegion) Free() error {
	if r.b != nil {
		r.b = nil
		r.m.live--
	}
	return nil
}

// FuzzRXCompletion feeds decodeRXCompletion arbitrary descriptors and
// capacities: it accepts exactly the completions docs/ipcu.md 9.2 allows,
// and what it accepts encodes back to itself.
func FuzzRXCompletion(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte, capacity uint32) {
		var d [DescriptorSize]byte
		copy(d[:], raw)
		c, err := decodeRXCompletion(&d, capacity)
		n := binary.LittleEndian.Uint32(d[descOffLen:])
		flags := binary.LittleEndian.Uint16(d[descOffFlags:])
		valid := flags&^(descEOP|descIRQ) == 0 && n >= 1 && n <= capacity
		if valid != (err == nil) {
			t.Fatalf("LEN %d FLAGS %#x capacity %d: error %v", n, flags, capacity, err)
		}
		if err != nil {
			if errors.Is(err, ErrBroken) {
				t.Fatalf("the decoder's error wraps ErrBroken by itself: %v", err)
			}
			return
		}
		if c.len != n || c.len < 1 || c.len > capacity || c.eop != (flags&descEOP != 0) ||
			c.id != binary.LittleEndian.Uint16(d[descOffID:]) {
			t.Fatalf("decoded %+v from %x", c, d)
		}
		var e [DescriptorSize]byte
		copy(e[:8], d[:8])
		binary.LittleEndian.PutUint32(e[descOffLen:], c.len)
		fl := flags & descIRQ
		if c.eop {
			fl |= descEOP
		}
		binary.LittleEndian.PutUint16(e[descOffFlags:], fl)
		binary.LittleEndian.PutUint16(e[descOffID:], c.id)
		if e != d {
			t.Fatalf("%x decodes to %+v, which encodes to %x", d, c, e)
		}
	})
}

// FuzzIndexAdvance checks the write-back index validation, alone and in a
// TX whose indices start anywhere (so that they wrap 2^32): an index that
// moved back or past the descriptors in flight breaks the ring, for good;
// any other reclaims exactly the descriptors it passed, and their buffers.
func FuzzIndexAdvance(f *testing.F) {
	f.Fuzz(func(t *testing.T, start uint32, sent uint8, wb uint32) {
		// The arithmetic alone.
		inFlight := uint32(sent)
		n, ok := checkAdvance(start, wb, inFlight)
		if n != wb-start || ok != (wb-start <= inFlight) {
			t.Fatalf("checkAdvance(%d, %d, %d) = %d, %t", start, wb, inFlight, n, ok)
		}

		// A TX on a register file, its indices moved to start.
		mem := &heapMemory{}
		tx, err := OpenTX(RingConfig{Bus: newDescRegs(0, 1, 2, 1), Memory: mem, RingSize: 16, BufSize: 8})
		require.NoError(t, err)
		defer func() {
			require.NoError(t, tx.Close())
			require.Zero(t, mem.live, "regions leaked")
		}()
		tx.prod, tx.pub, tx.cons = start, start, start
		posted := 0
		for i := 0; i < int(sent); i++ {
			if err := tx.SendID([]byte{byte(i)}, uint16(i)); err != nil {
				require.ErrorIs(t, err, ErrFull)
				break
			}
			posted++
		}
		require.LessOrEqual(t, posted, 16)
		storeWB(tx.d.wb, wb)
		ids := make([]uint16, 32)
		got, err := tx.ReapIDs(ids)
		if adv := wb - start; adv > uint32(posted) {
			require.ErrorIs(t, err, ErrBroken)
			require.Zero(t, got)
			_, err2 := tx.Reap()
			require.Equal(t, err, err2, "stays broken")
			require.Equal(t, err, tx.Send([]byte{1}))
			return
		}
		require.NoError(t, err)
		require.Equal(t, int(wb-start), got)
		for i := 0; i < got; i++ {
			require.Equal(t, uint16(i), ids[i])
		}
		require.Equal(t, posted-got, tx.InFlight())
		require.Len(t, tx.d.free, 16-(posted-got))
		again, err := tx.Reap()
		require.NoError(t, err)
		require.Zero(t, again)
	})
}

// FuzzRXRing runs an RX against an engine the fuzzer drives: ops complete
// well-formed packets, write raw descriptors, move the write-back word
// anywhere, receive with buffers of any size, hold and release packets,
// and reset. After every operation the RX's promises hold: only the
// documented errors, packets within their buffer and MaxPacket, a broken
// ring stays broken until Reset, and every buffer is free, posted, in a
// packet being read, queued or held, exactly once.
func FuzzRXRing(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		size := 1 << (next() % 4)
		bufSize := 1 + int(next()%64)
		regs := newDescRegs(1, 1, 2, 2)
		mem := &heapMemory{}
		cfg := RingConfig{Bus: regs, Channel: 1, Memory: mem, RingSize: size, BufSize: bufSize, Buffers: size + int(next()%4)}
		if m := int(next()); m%2 == 1 {
			cfg.MaxPacket = 1 + m%(size*bufSize)
		}
		rx, err := OpenRX(cfg)
		require.NoError(t, err)
		defer func() {
			require.NoError(t, rx.Close())
			require.Zero(t, mem.live, "regions leaked")
		}()
		var held []*RxPacket
		var engineCons uint32 // the index the simulated engine completes next
		var broken error
		buf := make([]byte, 4096)
		prodReg := (0x1000 + 0x100*1 + 0x40) / 4
		for op := 0; len(data) > 0 && op < 200; op++ {
			var err error
			called := true // the op called the RX
			switch next() % 8 {
			case 0, 1: // a well-formed packet of n bytes, as the engine writes it
				n := int(next())<<8 | int(next())
				n = 1 + n%(size*bufSize)
				id := uint16(next())
				posted := regs.w[prodReg] - engineCons
				k := uint32(0)
				for left := n; left > 0 && k < posted; k++ {
					d := rx.d.ring[((engineCons+k)&rx.d.mask)*DescriptorSize:]
					m := min(left, bufSize)
					left -= m
					flags := binary.LittleEndian.Uint16(d[descOffFlags:]) & descIRQ
					if left == 0 {
						flags |= descEOP
					}
					binary.LittleEndian.PutUint32(d[descOffLen:], uint32(m))
					binary.LittleEndian.PutUint16(d[descOffFlags:], flags)
					binary.LittleEndian.PutUint16(d[descOffID:], id)
				}
				engineCons += k
				storeWB(rx.d.wb, engineCons)
				called = false
			case 2: // a raw completion
				d := rx.d.ring[(engineCons&rx.d.mask)*DescriptorSize:]
				for i := 8; i < DescriptorSize; i++ {
					d[i] = next()
				}
				engineCons++
				storeWB(rx.d.wb, engineCons)
				called = false
			case 3: // the write-back word anywhere
				v := uint32(next()) | uint32(next())<<8 | uint32(next())<<16 | uint32(next())<<24
				if v%4 != 0 {
					v = engineCons + v%8 - 4
				}
				storeWB(rx.d.wb, v)
				called = false
			case 4, 5:
				var n int
				var id uint16
				b := buf[:int(next())*16]
				n, id, err = rx.Recv(b)
				_ = id
				if err == nil && (n < 1 || n > len(b) || n > rx.MaxPacket()) {
					t.Fatalf("Recv: %d bytes into %d, maximum %d", n, len(b), rx.MaxPacket())
				}
				if errors.Is(err, ErrShortBuffer) && n <= len(b) {
					t.Fatalf("Recv: short buffer of %d for %d bytes", len(b), n)
				}
			case 6:
				var p *RxPacket
				if p, err = rx.RecvPacket(); err == nil {
					total := 0
					for s := 0; s < p.Segments(); s++ {
						total += len(p.Segment(s))
					}
					if total != p.Len() || p.Len() < 1 || p.Len() > rx.MaxPacket() {
						t.Fatalf("RecvPacket: %d bytes in segments, Len %d", total, p.Len())
					}
					held = append(held, p)
				}
			case 7:
				if next()%2 == 0 && len(held) > 0 {
					held[0].Release()
					held = held[1:]
					continue
				}
				regs.w[(0x1000+0x100*1+0x44)/4] = engineCons // RX_CONS
				err = rx.Reset()
				require.NoError(t, err)
				engineCons, broken = 0, nil
			}
			switch {
			case !called:
			case err == nil, errors.Is(err, ErrEmpty), errors.Is(err, ErrShortBuffer):
				if broken != nil {
					t.Fatalf("broken ring worked again: %v", err)
				}
			case errors.Is(err, ErrBroken):
				if broken != nil && err != broken {
					t.Fatalf("broken again differently: %v, then %v", broken, err)
				}
				broken = err
			default:
				t.Fatalf("unexpected error %v", err)
			}
			checkRXBuffers(t, rx, held)
		}
	})
}

// checkRXBuffers checks that each of rx's buffers is in exactly one place:
// free, posted, in the packet being read, queued in a complete packet, or
// held by the caller.
func checkRXBuffers(t *testing.T, rx *RX, held []*RxPacket) {
	t.Helper()
	where := make([]string, rx.d.nbuf)
	put := func(b int32, what string) {
		if b < 0 || int(b) >= len(where) {
			t.Fatalf("buffer %d (%s) out of range", b, what)
		}
		if where[b] != "" {
			t.Fatalf("buffer %d is %s and %s", b, where[b], what)
		}
		where[b] = what
	}
	chain := func(b int32, what string) int {
		n := 0
		for ; b >= 0; b = rx.bufs[b].next {
			put(b, what)
			n++
		}
		return n
	}
	for _, b := range rx.d.free {
		put(b, "free")
	}
	for i := rx.hw; i != rx.prod; i++ {
		put(rx.slotBuf[i&rx.d.mask], "posted")
	}
	if rx.cur >= 0 {
		chain(rx.cur, "being read")
	}
	for i := rx.qHead; i != rx.qTail; i++ {
		first := rx.pktQ[i&uint32(len(rx.pktQ)-1)]
		if n := chain(first, "queued"); n != int(rx.bufs[first].segs) {
			t.Fatalf("a packet of %d buffers has %d", rx.bufs[first].segs, n)
		}
	}
	for _, p := range held {
		if n := chain(p.first, "held"); n != p.Segments() {
			t.Fatalf("a held packet of %d buffers has %d", p.Segments(), n)
		}
	}
	for b, w := range where {
		if w == "" {
			t.Fatalf("buffer %d is lost", b)
		}
	}
}

// descSeed* are the seed corpora's entries.
type (
	completionSeed struct {
		desc     []byte
		capacity uint32
	}
	advanceSeed struct {
		start uint32
		sent  uint8
		wb    uint32
	}
	descSeedSet struct {
		completion map[string]completionSeed
		advance    map[string]advanceSeed
		rxRing     map[string][]byte
	}
)

// descSeeds returns the named seeds of the three targets.
func descSeeds() descSeedSet {
	desc := func(n uint32, flags, id uint16) []byte {
		d := make([]byte, DescriptorSize)
		binary.LittleEndian.PutUint64(d, 0x1000_0000)
		binary.LittleEndian.PutUint32(d[descOffLen:], n)
		binary.LittleEndian.PutUint16(d[descOffFlags:], flags)
		binary.LittleEndian.PutUint16(d[descOffID:], id)
		return d
	}
	return descSeedSet{
		completion: map[string]completionSeed{
			"valid-eop":        {desc(100, descEOP|descIRQ, 7), 2048},
			"valid-full":       {desc(2048, 0, 7), 2048},
			"valid-one":        {desc(1, descEOP, 0xffff), 1},
			"own":              {desc(64, descOwn|descEOP, 1), 2048},
			"err-marked":       {desc(64, descOwn|descErr|5<<8, 1), 2048},
			"ecode-only":       {desc(64, descEOP|2<<8, 1), 2048},
			"reserved":         {desc(64, descEOP|0x8000, 1), 2048},
			"len-zero":         {desc(0, descEOP, 1), 2048},
			"len-over":         {desc(2049, descEOP, 1), 2048},
			"len-max":          {desc(0xffffffff, descEOP, 1), 0xffffffff},
			"capacity-zero":    {desc(1, descEOP, 1), 0},
			"short":            {[]byte{1, 2, 3}, 64},
			"all-ones":         {[]byte(strings.Repeat("\xff", 16)), 65536},
			"posted-unchanged": {desc(2048, descOwn|descIRQ, 0), 2048},
		},
		advance: map[string]advanceSeed{
			"none":          {0, 0, 0},
			"all":           {0, 16, 16},
			"some":          {0, 5, 3},
			"one-too-many":  {0, 5, 6},
			"back":          {100, 5, 99},
			"wrap":          {0xfffffffe, 8, 3},
			"wrap-too-far":  {0xfffffffe, 8, 7},
			"wrap-back":     {2, 8, 0xffffffff},
			"more-than-fit": {0, 255, 16},
			"huge":          {7, 3, 0x80000007},
		},
		rxRing: map[string][]byte{
			"nothing":    {},
			"one-packet": {2, 15, 0, 0, 0, 0, 40, 7, 4, 255},
			"multi":      {2, 15, 0, 0, 0, 0, 50, 7, 4, 255, 0, 0, 1, 8, 6, 4, 0, 7, 0},
			"hold":       {3, 31, 1, 0, 0, 0, 20, 1, 0, 0, 10, 2, 6, 6, 4, 255, 7, 0, 7, 0},
			"garbage":    {2, 15, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0x03, 0, 1, 0, 4, 255},
			"wb-jump":    {2, 15, 0, 3, 0, 1, 0, 0, 4, 255, 7, 1, 4, 255},
			"wb-near":    {2, 15, 0, 3, 5, 0, 0, 0, 4, 255},
			"reset":      {1, 7, 2, 0, 0, 0, 20, 1, 7, 1, 4, 255, 0, 0, 5, 2, 4, 255},
			"too-long":   {2, 3, 5, 0, 0, 0, 15, 9, 4, 255},
			"short-buf":  {2, 31, 0, 0, 0, 0, 60, 3, 4, 1, 4, 255},
		},
	}
}

// TestDescFuzzCorpus checks the committed seed corpora are descSeeds'
// (rewriting them with -update-desc-corpus).
func TestDescFuzzCorpus(t *testing.T) {
	seeds := descSeeds()
	files := map[string]string{}
	for name, s := range seeds.completion {
		files[filepath.Join("FuzzRXCompletion", "seed-"+name)] = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\n", s.desc, s.capacity)
	}
	for name, s := range seeds.advance {
		files[filepath.Join("FuzzIndexAdvance", "seed-"+name)] = fmt.Sprintf("go test fuzz v1\nuint32(%d)\nbyte(%q)\nuint32(%d)\n", s.start, s.sent, s.wb)
	}
	for name, s := range seeds.rxRing {
		files[filepath.Join("FuzzRXRing", "seed-"+name)] = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
	}
	for name, want := range files {
		path := filepath.Join("testdata", "fuzz", name)
		if *updateDescCorpus {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run go test -run TestDescFuzzCorpus -update-desc-corpus ./dmaring/")
		require.Equal(t, want, string(got), "%s is stale: run go test -run TestDescFuzzCorpus -update-desc-corpus ./dmaring/", path)
	}
}
