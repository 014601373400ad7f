package dmaring

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ringGuard is the number of bytes around a test ring that must never change.
const ringGuard = 256

// ringGuardByte is what the guard bytes hold.
const ringGuardByte = 0xA5

// alignedMem returns n bytes of Go memory starting on a cache line (so that
// the ring's lines are the CPU's, and the race detector sees every access),
// surrounded by guard bytes checked by checkGuards.
func alignedMem(n int) (ring, whole []byte) {
	whole = make([]byte, n+2*ringGuard+cacheLine)
	start := ringGuard + int((cacheLine-addrOf(whole[ringGuard:])%cacheLine)%cacheLine)
	for i := range whole {
		whole[i] = ringGuardByte
	}
	return whole[start : start+n : start+n], whole
}

// checkGuards fails tb if any byte of whole outside ring changed.
func checkGuards(tb testing.TB, ring, whole []byte) {
	tb.Helper()
	start := int(addrOf(ring) - addrOf(whole))
	for i, b := range whole {
		if (i < start || i >= start+len(ring)) && b != ringGuardByte {
			tb.Fatalf("byte %d outside the ring (which is [%d,%d)) changed to %#x", i, start, start+len(ring), b)
		}
	}
}

// A producer and a consumer: SPSC's handles or an MPMC ring.
type ringProducer interface {
	Enqueue(msg []byte) error
	EnqueueBatch(msgs [][]byte) (int, error)
}

type ringConsumer interface {
	Dequeue(buf []byte) (int, error)
	DequeueBatch(bufs [][]byte, lens []int) (int, error)
}

// testRing is either kind of ring, seen through one interface.
type testRing struct {
	p      ringProducer
	c      ringConsumer
	slots  int
	maxMsg int
	err    func() error
}

// ringKind makes and attaches rings of one kind.
type ringKind struct {
	name   string
	init   func(mem []byte, slots, slotSize int) (*testRing, error)
	attach func(mem []byte) (*testRing, error)
}

func spscRing(s *SPSC, err error) (*testRing, error) {
	if err != nil {
		return nil, err
	}
	return &testRing{p: s.Producer(), c: s.Consumer(), slots: s.Slots(), maxMsg: s.MaxMessage(), err: s.Err}, nil
}

func mpmcRing(m *MPMC, err error) (*testRing, error) {
	if err != nil {
		return nil, err
	}
	return &testRing{p: m, c: m, slots: m.Slots(), maxMsg: m.MaxMessage(), err: m.Err}, nil
}

var kinds = []ringKind{
	{
		name:   "SPSC",
		init:   func(mem []byte, n, size int) (*testRing, error) { return spscRing(InitSPSC(mem, n, size)) },
		attach: func(mem []byte) (*testRing, error) { return spscRing(AttachSPSC(mem)) },
	},
	{
		name:   "MPMC",
		init:   func(mem []byte, n, size int) (*testRing, error) { return mpmcRing(InitMPMC(mem, n, size)) },
		attach: func(mem []byte) (*testRing, error) { return mpmcRing(AttachMPMC(mem)) },
	},
}

// newRing formats a guarded ring of k's kind and returns it with its
// memory.
func newRing(tb testing.TB, k ringKind, slots, slotSize int) (*testRing, []byte, []byte) {
	tb.Helper()
	size, err := RingSize(slots, slotSize)
	require.NoError(tb, err)
	mem, whole := alignedMem(size)
	r, err := k.init(mem, slots, slotSize)
	require.NoError(tb, err)
	return r, mem, whole
}

// msgFor returns the test message number i, of length n, into buf.
func msgFor(buf []byte, i uint64, n int) []byte {
	buf = buf[:n]
	for j := range buf {
		buf[j] = byte(i>>(8*(j%8))) ^ byte(j*7)
	}
	return buf
}

// checkMsg reports whether got is message i of some length.
func checkMsg(got []byte, i uint64) error {
	for j, b := range got {
		if want := byte(i>>(8*(j%8))) ^ byte(j*7); b != want {
			return fmt.Errorf("message %d byte %d is %#x, want %#x", i, j, b, want)
		}
	}
	return nil
}

// ringErrAllowed reports whether err is one an operation may return under a
// hostile peer.
func ringErrAllowed(err error) bool {
	return err == nil || errors.Is(err, ErrFull) || errors.Is(err, ErrEmpty) ||
		errors.Is(err, ErrBroken) || errors.Is(err, ErrShortBuffer) || errors.Is(err, ErrTooLarge)
}

// ringSpin calls f until it returns something other than ErrFull or ErrEmpty,
// yielding meanwhile, and fails tb after a generous deadline.
func ringSpin(tb testing.TB, deadline time.Time, f func() error) error {
	for i := 0; ; i++ {
		err := f()
		if !errors.Is(err, ErrFull) && !errors.Is(err, ErrEmpty) {
			return err
		}
		if i%64 == 63 {
			if time.Now().After(deadline) {
				return fmt.Errorf("still %w at the deadline", err)
			}
			runtime.Gosched()
		}
	}
}
