package ipcu_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/ipcu"
	"github.com/ipcu/ipcu/regs/regstest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// Facts read off docs/ipcu.md by hand, checked through the generated map:
// an independent check of the generator and the SVD together.
func TestMapMatchesDocument(t *testing.T) {
	bus := regstest.NewBus(0x2000)
	blk, err := ipcu.New(bus, 0)
	require.NoError(t, err)
	for _, tt := range []struct {
		reg  regs.Reg
		off  uintptr
		bits int
	}{
		{blk.ID, 0x0000, 32},
		{blk.CTRL, 0x0010, 32},
		{blk.ERR_COUNT, 0x0028, 32},
		{blk.CORE[0].IRQ_STATUS, 0x0400, 32},
		{blk.CORE[7].IRQ_MASK, 0x0400 + 7*0x80 + 0x04, 32},
		{blk.MBOX[0].CFG, 0x0800, 32},
		{blk.MBOX[15].STATUS, 0x0800 + 15*0x80 + 0x04, 32},
		{blk.MBOX[3].TXDATA[2], 0x0800 + 3*0x80 + 0x40 + 8, 32},
		{blk.MBOX[3].RXDATA[0], 0x0800 + 3*0x80 + 0x60, 32},
		{blk.DMA[1].TX_BASE, 0x1000 + 0x100 + 0x10, 64},
		{blk.DMA[3].RX_WB, 0x1000 + 3*0x100 + 0x48, 64},
	} {
		assert.Equal(t, tt.off, tt.reg.Offset())
		assert.Equal(t, tt.bits, tt.reg.Bits())
	}
	// Access kinds: what a driver may do with each register is in its type.
	var _ regs.RO[uint32] = blk.ID
	var _ regs.WO[uint32] = blk.MBOX[0].COMMIT
	var _ regs.RO[uint32] = blk.ERR_COUNT // read-to-clear: only an explicit Read
	var _ regs.RW[uint64] = blk.DMA[0].TX_BASE

	p := ipcu.Description.Peripheral("IPCU")
	require.NotNil(t, p)
	assert.Equal(t, uint64(0x49504355), p.Register("ID").Reset)
	assert.Equal(t, uint64(0x04041044), p.Register("CAPS").Reset)
	ovf := ipcu.MBOX_STATUS.OVF
	assert.Equal(t, uint32(1<<16), ovf.Mask())
	assert.Equal(t, "W1C", p.Register("MBOX[0].STATUS").Fields[indexOf(p.Register("MBOX[0].STATUS"), "OVF")].Kind())
	assert.Equal(t, "READ", ipcu.ERR_INFO.WRITE.Get(0).String())
}

func indexOf(r *regs.Register, field string) int {
	for i, f := range r.Fields {
		if f.Name == field {
			return i
		}
	}
	return -1
}

func TestNewRefusesASmallBus(t *testing.T) {
	_, err := ipcu.New(regstest.NewBus(0x100), 0)
	assert.ErrorIs(t, err, regs.ErrOutOfRange)
	_, err = ipcu.New(regstest.NewBus(ipcu.Size), 8)
	assert.ErrorIs(t, err, regs.ErrOutOfRange)
}

// Clearing a mailbox's sticky overflow flag writes only that flag: the
// other W1C flag of STATUS, read as 1, is written as 0 and stays set.
func Example() {
	bus := regstest.NewBus(ipcu.Size)
	blk, err := ipcu.New(bus, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	st := ipcu.MBOX_STATUS
	bus.Poke(blk.MBOX[2].STATUS.Offset(), 32, uint64(st.OVF.Mask()|st.LENERR.Mask()))

	blk.MBOX[2].STATUS.Update(st.OVF.Clear())
	for _, a := range bus.Trace() {
		fmt.Println(a)
	}
	// Output:
	// read32 0x904 = 0x50000
	// write32 0x904 = 0x10000
}
