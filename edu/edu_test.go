package edu

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/edu/eduregs"
	"github.com/ipcu/ipcu/regs"
)

// open returns a Device on m, with m's line when withLine.
func open(t *testing.T, m *model, withLine bool, opts *Options) *Device {
	t.Helper()
	var d *Device
	var err error
	if withLine {
		d, err = New(m, m.line, m.mem, opts)
	} else {
		d, err = New(m, nil, m.mem, opts)
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		m.wg.Wait()
		assert.Empty(t, m.Bad(), "accesses edu refuses")
	})
	return d
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// Every register below 0x80 is 32 bits wide and every one from 0x80 on is
// 64 bits wide: edu's access rule holds by construction.
func TestRegisterWidths(t *testing.T) {
	m := newModel()
	r, err := eduregs.New(m, 0)
	require.NoError(t, err)
	all := []regs.Reg{r.ID, r.LIVENESS, r.FACTORIAL, r.STATUS, r.INTR_STATUS, r.INTR_RAISE, r.INTR_ACK,
		r.DMA_SRC, r.DMA_DST, r.DMA_COUNT, r.DMA_CMD}
	for _, reg := range all {
		if reg.Offset() < 0x80 {
			assert.Equal(t, 32, reg.Bits(), "register at %#x", reg.Offset())
		} else {
			assert.Equal(t, 64, reg.Bits(), "register at %#x", reg.Offset())
		}
	}
}

// The model flags what edu would refuse, so that an empty list means
// something.
func TestModelFlagsWrongWidth(t *testing.T) {
	m := newModel()
	m.Write8(0x04, 1)
	m.Write64(0x00, 1)
	_ = m.Read16(0x20)
	m.Write32(0x98, 0) // allowed: 4 bytes from 0x80 on
	assert.Len(t, m.Bad(), 3)
	assert.Equal(t, uint32(0xffffffff), m.Read32(0x04), "the refused write was ignored")
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   uint32
		want error
	}{
		{"v1.0", Ident, nil},
		{"v1.3", 0x010300ed, nil},
		{"not edu", 0x49504355, ErrNotEdu},
		{"v2.0", 0x020000ed, ErrVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel()
			m.id = tc.id
			d, err := New(m, nil, nil, nil)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				var e *Error
				assert.ErrorAs(t, err, &e)
				return
			}
			require.NoError(t, err)
			major, minor := d.Ident()
			assert.Equal(t, int(tc.id>>24), major)
			assert.Equal(t, int(tc.id>>16&0xff), minor)
		})
	}
	_, err := New(newModel(), nil, nil, &Options{DMABits: 4})
	assert.Error(t, err, "DMABits out of range")
}

func TestNewClearsStaleInterrupt(t *testing.T) {
	m := newModel()
	m.Write32(0x60, 0x8)
	d := open(t, m, true, nil)
	st, pending := d.Status()
	assert.Zero(t, st)
	assert.Zero(t, pending)
	_, err := m.line.TryWait()
	require.NoError(t, err)
	n, err := m.line.TryWait()
	require.NoError(t, err)
	assert.Zero(t, n, "no interrupt left on the line")
}

func TestLiveness(t *testing.T) {
	m := newModel()
	d := open(t, m, false, nil)
	for _, v := range []uint32{0, 0xffffffff, 0x12345678} {
		got, err := d.Liveness(v)
		require.NoError(t, err)
		assert.Equal(t, ^v, got)
	}
	m.invert = false
	_, err := d.Liveness(0x0f0f0f0f)
	assert.ErrorIs(t, err, ErrLiveness)
}

func TestFactorial(t *testing.T) {
	want := []uint32{1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800, 39916800, 479001600, 1932053504}
	for _, withLine := range []bool{true, false} {
		name := map[bool]string{true: "interrupt", false: "poll"}[withLine]
		t.Run(name, func(t *testing.T) {
			m := newModel()
			d := open(t, m, withLine, nil)
			for n, w := range want {
				got, err := d.Factorial(ctx(t), uint32(n))
				require.NoError(t, err, "%d!", n)
				assert.Equal(t, w, got, "%d!", n)
			}
			st, pending := d.Status()
			assert.Zero(t, st, "every interrupt acknowledged")
			assert.Zero(t, pending)
			assert.Equal(t, withLine, m.Read32(0x20)&0x80 != 0, "completion interrupt enabled only with a line")
			if withLine {
				assert.EqualValues(t, len(want), m.line.Stats().Delivered, "one interrupt per factorial")
				assert.Zero(t, m.line.Stats().Spurious)
			}
		})
	}
}

func TestFactorialDeadline(t *testing.T) {
	for _, withLine := range []bool{true, false} {
		m := newModel()
		d := open(t, m, withLine, nil)
		m.hang = true
		c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := d.Factorial(c, 5)
		cancel()
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.True(t, e.Timeout())
		_, err = d.Factorial(ctx(t), 5)
		assert.ErrorIs(t, err, ErrBusy, "the unit still computes")
	}
}

func TestClosedLine(t *testing.T) {
	m := newModel()
	d := open(t, m, true, nil)
	m.hang = true
	go func() {
		time.Sleep(10 * time.Millisecond)
		m.line.Close()
	}()
	_, err := d.Factorial(ctx(t), 3)
	assert.ErrorIs(t, err, os.ErrClosed)
}

func TestRaiseWaitInterrupt(t *testing.T) {
	for _, withLine := range []bool{true, false} {
		m := newModel()
		d := open(t, m, withLine, nil)
		d.Raise(0x5)
		st, err := d.WaitInterrupt(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, uint32(0x5), st)
		got, pending := d.Status()
		assert.Zero(t, got, "acknowledged")
		assert.Zero(t, pending)
		if withLine {
			assert.EqualValues(t, 1, m.line.Stats().Delivered, "one interrupt")
			n, err := m.line.TryWait()
			require.NoError(t, err)
			assert.Zero(t, n, "the line is re-armed and quiet")
		}
		c, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, err = d.WaitInterrupt(c)
		cancel()
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing pending")
	}
}

// A bit raised while a factorial runs is acknowledged by the factorial's
// handler and kept for WaitInterrupt, not lost.
func TestPendingKept(t *testing.T) {
	m := newModel()
	d := open(t, m, true, nil)
	d.Raise(0x40)
	got, err := d.Factorial(ctx(t), 4)
	require.NoError(t, err)
	assert.Equal(t, uint32(24), got)
	st, err := d.WaitInterrupt(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, uint32(0x40), st)
}

func TestConcurrent(t *testing.T) {
	m := newModel()
	m.delay = 100 * time.Microsecond
	d := open(t, m, true, nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				n := uint32((g + i) % 10)
				got, err := d.Factorial(ctx(t), n)
				if assert.NoError(t, err) {
					want := uint32(1)
					for k := uint32(2); k <= n; k++ {
						want *= k
					}
					assert.Equal(t, want, got)
				}
				_, err = d.Liveness(uint32(i))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
}

func TestRoundTrip(t *testing.T) {
	for _, withLine := range []bool{true, false} {
		m := newModel()
		d := open(t, m, withLine, nil)
		for _, tc := range []struct{ off, n int }{{0, BufferSize}, {0x800, BufferSize}, {0x10, 100}, {MaxEnd - 1, 1}, {0, MaxEnd}, {0x800, 0x7ff}} {
			data := make([]byte, tc.n)
			for i := range data {
				data[i] = byte(i*7 + tc.off)
			}
			got, err := d.RoundTrip(ctx(t), data, tc.off)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got), "data at offset %#x", tc.off)
			if tc.off+tc.n <= MaxEnd {
				assert.Equal(t, data, m.buf[tc.off:tc.off+tc.n], "the device buffer holds the data")
			}
		}
		assert.Empty(t, m.mem.regions, "regions freed")
		if withLine {
			assert.EqualValues(t, 2*(2+3+1+1+1+1), m.line.Stats().Delivered, "one interrupt per transfer")
		}
	}
}

func TestAddressLimit(t *testing.T) {
	m := newModel()
	d := open(t, m, true, nil)
	assert.Equal(t, uint64(1<<28), d.DMALimit())

	m.mem.base = 1<<28 - BufferSize // the last page below the limit
	r, err := m.mem.Alloc(BufferSize, 4096)
	require.NoError(t, err)
	require.NoError(t, d.ToDevice(ctx(t), r, 1, 0, MaxEnd))
	require.NoError(t, d.FromDevice(ctx(t), r, 1, 0, MaxEnd))

	progs := m.dmaProgs
	high, err := m.mem.Alloc(BufferSize, 4096) // at 1<<28
	require.NoError(t, err)
	assert.ErrorIs(t, d.ToDevice(ctx(t), high, 0, 0, 16), ErrAddressLimit)
	assert.ErrorIs(t, d.FromDevice(ctx(t), high, 0, 0, 16), ErrAddressLimit)
	assert.ErrorIs(t, d.ToDevice(ctx(t), r, 8, 0, BufferSize), ErrBufferRange, "beyond the region")
	assert.Equal(t, progs, m.dmaProgs, "nothing programmed for a refused transfer")

	// A wider mask accepts the address.
	m2 := newModel()
	m2.mask = 1<<32 - 1
	d2 := open(t, m2, false, &Options{DMABits: 32})
	m2.mem.base = 1 << 28
	got, err := d2.RoundTrip(ctx(t), []byte("above 256 MiB"), 0)
	require.NoError(t, err)
	assert.Equal(t, "above 256 MiB", string(got))
}

func TestBufferRange(t *testing.T) {
	m := newModel()
	d := open(t, m, true, nil)
	r, err := m.mem.Alloc(2*BufferSize, 4096)
	require.NoError(t, err)
	for _, tc := range []struct{ devOff, n int }{{4000, 200}, {-1, 1}, {0, BufferSize + 1}, {BufferSize, 1}, {0, BufferSize}, {BufferSize - 1, 1}} {
		assert.ErrorIs(t, d.ToDevice(ctx(t), r, 0, tc.devOff, tc.n), ErrBufferRange, "%+v", tc)
		assert.ErrorIs(t, d.FromDevice(ctx(t), r, 0, tc.devOff, tc.n), ErrBufferRange, "%+v", tc)
	}
	_, err = d.RoundTrip(ctx(t), make([]byte, 16), MaxEnd)
	assert.ErrorIs(t, err, ErrBufferRange)
	assert.Zero(t, m.dmaProgs)
}

func TestNoDMA(t *testing.T) {
	m := newModel()
	d, err := New(m, m.line, nil, nil)
	require.NoError(t, err)
	_, err = d.RoundTrip(ctx(t), []byte{1}, 0)
	assert.ErrorIs(t, err, ErrNoDMA)
	assert.True(t, errors.Is(err, ErrNoDMA))
}

func TestDMADeadline(t *testing.T) {
	m := newModel()
	d := open(t, m, true, nil)
	m.hang = true
	c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := d.RoundTrip(c, make([]byte, 64), 0)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Len(t, m.mem.regions, 2, "regions the device may still use are not freed")
	r, err := m.mem.Alloc(64, 64)
	require.NoError(t, err)
	assert.ErrorIs(t, d.ToDevice(ctx(t), r, 0, 0, 64), ErrBusy)
}
