package fakedev

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/regs/ipcu"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// rig is a device with the generated register map seen from every core.
type rig struct {
	t   *testing.T
	d   *Device
	blk [MaxCores]*ipcu.IPCU
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	r := &rig{t: t, d: d}
	for i := range r.blk {
		r.blk[i], err = ipcu.New(d.Core(i), 0)
		require.NoError(t, err)
	}
	return r
}

// notes drains core k's eventfd and returns the count read, 0 if none.
func (r *rig) notes(k int) uint64 {
	r.t.Helper()
	var buf [8]byte
	n, err := unix.Read(r.d.Core(k).EventFD(), buf[:])
	if errors.Is(err, unix.EAGAIN) {
		return 0
	}
	require.NoError(r.t, err)
	require.Equal(r.t, 8, n)
	return binary.NativeEndian.Uint64(buf[:])
}

// errLog returns ERR_STATUS, ERR_INFO and ERR_COUNT (clearing the count),
// read by core 0.
func (r *rig) errLog() (status, info, count uint32) {
	b := r.blk[0]
	return b.ERR_STATUS.Read(), b.ERR_INFO.Read(), b.ERR_COUNT.Read()
}

// clearLog clears the violation log and counter and core 0's ACCESS flag.
func (r *rig) clearLog() {
	b := r.blk[0]
	b.ERR_COUNT.Read()
	b.ERR_STATUS.Write(3)
	b.CORE[0].IRQ_STATUS.Write(irqAccess)
}

// info builds an ERR_INFO value.
func info(cause Cause, bits, write, initiator int, off uintptr) uint32 {
	size := map[int]uint32{8: 0, 16: 1, 32: 2, 64: 3}[bits]
	return uint32(cause)<<28 | size<<24 | uint32(write)<<20 | uint32(initiator)<<16 | uint32(off)
}

// mailbox configures MBOX[m] from sender to receiver (core 0 writes CFG).
func (r *rig) mailbox(m, sender, receiver int) {
	r.blk[0].MBOX[m].CFG.Write(uint32(1 | sender<<4 | receiver<<8))
}

// send stages data in MBOX[m] from core s and commits n bytes.
func (r *rig) send(s, m int, n uint32, words ...uint32) {
	for i, w := range words {
		r.blk[s].MBOX[m].TXDATA[i].Write(w)
	}
	r.blk[s].MBOX[m].COMMIT.Write(n)
}
