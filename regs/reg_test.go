package regs

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A status/control register like many real ones:
//
//	[3:0]  MODE   RW
//	[7:4]  COUNT  RO
//	[8]    OVF    W1C (sticky)
//	[9]    GO     W1S (self-clearing command)
//	[10]   nEN    W0C (write 0 to clear)
//	[15:12] CMD   WO
//	[31:16] reserved
var testFields = []Field{
	{Name: "MODE", Offset: 0, Width: 4, Access: ReadWrite},
	{Name: "COUNT", Offset: 4, Width: 4, Access: ReadOnly},
	{Name: "OVF", Offset: 8, Width: 1, Access: ReadWrite, WriteEffect: OneToClear},
	{Name: "GO", Offset: 9, Width: 1, Access: ReadWrite, WriteEffect: OneToSet},
	{Name: "NEN", Offset: 10, Width: 1, Access: ReadWrite, WriteEffect: ZeroToClear},
	{Name: "CMD", Offset: 12, Width: 4, Access: WriteOnly},
}

var (
	fMode  = RWField[uint32]{Bits[uint32]{0, 4}}
	fCount = ROField[uint32]{Bits[uint32]{4, 4}}
	fOvf   = W1CField[uint32]{Bits[uint32]{8, 1}}
	fGo    = W1SField[uint32]{Bits[uint32]{9, 1}}
	fCmd   = WOField[uint32]{Bits[uint32]{12, 4}}
)

func TestLayoutOf(t *testing.T) {
	l := LayoutOf[uint32](testFields...)
	// Kept: MODE and the reserved bits 11 and 16..31.
	assert.Equal(t, uint32(0xffff080f), l.Keep, "keep %#x", l.Keep)
	// Idle: the W0C bit is 1, everything else 0.
	assert.Equal(t, uint32(1<<10), l.Idle)
}

func TestRWUpdateKeepsW1CBits(t *testing.T) {
	b := newTestBus(4)
	b.w1c = map[uintptr]uint64{0: 1 << 8}
	b.put(0, 32, 0xa000_0073|1<<8|1<<10) // reserved bits set, COUNT=7, MODE=3, OVF pending, NEN=1
	r := MakeRW[uint32](b, 0, LayoutOf[uint32](testFields...))
	require.Equal(t, uint32(7), fCount.Get(r.Read()))
	b.trace = nil

	r.Update(fMode.Val(5))
	v := uint32(b.get(0, 32))
	assert.Equal(t, uint32(5), fMode.Get(v))
	assert.True(t, fOvf.IsSet(v), "changing MODE must not clear the pending OVF flag")
	assert.Equal(t, uint32(0xa0000000), v&0xffff0000, "reserved bits preserved")
	w := b.trace[len(b.trace)-1]
	assert.Equal(t, "w", w.op)
	assert.Zero(t, w.val&(1<<8|1<<9), "W1C and W1S bits written as 0")
	assert.NotZero(t, w.val&(1<<10), "W0C bit written as 1")
	assert.Len(t, b.trace, 2, "one read and one write")

	// Clearing the flag deliberately clears it, and keeps MODE.
	r.Update(fOvf.Clear())
	v = uint32(b.get(0, 32))
	assert.False(t, fOvf.IsSet(v))
	assert.Equal(t, uint32(5), fMode.Get(v))

	// The naive read-modify-write that this package prevents clears the
	// flag: the model is not too kind to catch the bug.
	b.put(0, 32, uint64(v)|1<<8)
	r.Write(r.Read()&^fMode.Mask() | 2)
	assert.False(t, fOvf.IsSet(uint32(b.get(0, 32))), "naive RMW clears W1C bit: the test model is wrong")

	// Several changes in one write.
	b.trace = nil
	r.Update(fMode.Val(1), fGo.Set(), fCmd.Val(0xc))
	w = b.trace[1]
	assert.Equal(t, uint64(1|1<<9|0xc<<12), w.val&0xffff&^(1<<10))

	// Modify gets the value to keep.
	r.Modify(func(v uint32) uint32 {
		assert.Zero(t, v&(1<<8|1<<9))
		assert.Equal(t, uint32(1<<10), v&(1<<10))
		return v | 1<<9
	})
}

func TestWOUpdateNeverReads(t *testing.T) {
	b := newTestBus(4)
	r := MakeWO[uint32](b, 0, LayoutOf[uint32](testFields...))
	r.Update(fCmd.Val(3))
	require.Len(t, b.trace, 1)
	assert.Equal(t, access{"w", 0, 32, 3<<12 | 1<<10}, b.trace[0])
	r.Write(7)
	assert.Equal(t, uint64(7), b.trace[1].val)
}

func TestRCHasNoReadModifyWrite(t *testing.T) {
	_, ok := reflect.TypeOf(RC[uint32]{}).MethodByName("Modify")
	assert.False(t, ok)
	_, ok = reflect.TypeOf(RO[uint32]{}).MethodByName("Write")
	assert.False(t, ok)
	_, ok = reflect.TypeOf(WO[uint32]{}).MethodByName("Read")
	assert.False(t, ok)

	b := newTestBus(4)
	b.put(0, 32, 0x55)
	b.onRead = map[uintptr]func(uint64) uint64{0: func(uint64) uint64 { return 0 }} // read-to-clear
	r := MakeRC[uint32](b, 0, Layout[uint32]{})
	r.Update(RWField[uint32]{Bits[uint32]{8, 8}}.Val(1))
	assert.Equal(t, uint64(0x100), b.trace[0].val, "Update of an RC register writes without reading")
	assert.Equal(t, uint32(0x100), r.Read())
	assert.Equal(t, uint32(0), r.Read(), "read cleared it")
}

func TestRegisterWidths(t *testing.T) {
	b := newTestBus(16)
	MakeRW[uint8](b, 1, Layout[uint8]{Keep: 0xff}).Write(0xab)
	MakeRW[uint16](b, 2, Layout[uint16]{Keep: 0xffff}).Write(0xcdef)
	MakeWO[uint64](b, 8, Layout[uint64]{}).Write(0x0102030405060708)
	assert.Equal(t, []access{{"w", 1, 8, 0xab}, {"w", 2, 16, 0xcdef}, {"w", 8, 64, 0x0102030405060708}}, b.trace)
	assert.Equal(t, uint8(0xab), MakeRO[uint8](b, 1).Read())
	assert.Equal(t, uint16(0xcdef), MakeRO[uint16](b, 2).Read())
	assert.Equal(t, uint64(0x0102030405060708), MakeRO[uint64](b, 8).Read())

	var regs = []Reg{MakeRO[uint8](b, 1), MakeWO[uint16](b, 2, Layout[uint16]{}), MakeRW[uint32](b, 4, Layout[uint32]{}), MakeRC[uint64](b, 8, Layout[uint64]{})}
	for i, want := range []int{8, 16, 32, 64} {
		assert.Equal(t, want, regs[i].Bits())
	}
	assert.Equal(t, uintptr(4), regs[2].Offset())
	assert.Equal(t, []Access{ReadOnly, WriteOnly, ReadWrite, ReadWrite}, []Access{regs[0].Access(), regs[1].Access(), regs[2].Access(), regs[3].Access()})
}

func TestFieldBits(t *testing.T) {
	f := Bits[uint32]{Shift: 28, Width: 4}
	assert.Equal(t, uint32(0xf0000000), f.Mask())
	assert.Equal(t, uint32(0xa), f.Get(0xa1234567))
	full := Bits[uint64]{Shift: 0, Width: 64}
	assert.Equal(t, ^uint64(0), full.Mask())
	assert.Equal(t, uint8(0x80), Bits[uint8]{7, 1}.Mask())

	assert.Equal(t, Change[uint32]{Mask: 0xf000, Bits: 0x3000}, fCmd.Val(3))
	assert.PanicsWithValue(t, "regs: value 0x10 does not fit in a 4-bit field", func() { fMode.Val(16) })
	assert.Equal(t, Change[uint32]{Mask: 0x100, Bits: 0x100}, fOvf.Clear())
}

// Bits no field covers take the register's own access and write effect.
func TestRegisterLayout(t *testing.T) {
	w1c := Field{Name: "ERR", Offset: 8, Width: 1, Access: ReadWrite, WriteEffect: OneToClear}
	for _, tt := range []struct {
		name string
		r    Register
		want Layout[uint32]
	}{
		{"plain, no fields", Register{Bits: 32, Access: ReadWrite}, Layout[uint32]{Keep: 0xffffffff}},
		{"W1C, no fields", Register{Bits: 32, Access: ReadWrite, WriteEffect: OneToClear}, Layout[uint32]{}},
		{"W0C, no fields", Register{Bits: 32, Access: ReadWrite, WriteEffect: ZeroToClear}, Layout[uint32]{Idle: 0xffffffff}},
		{"plain, a W1C field", Register{Bits: 32, Access: ReadWrite, Fields: []Field{w1c}}, Layout[uint32]{Keep: 0xfffffeff}},
		{"W1C, a plain field", Register{Bits: 32, Access: ReadWrite, WriteEffect: OneToClear,
			Fields: []Field{{Name: "EN", Width: 1, Access: ReadWrite}}}, Layout[uint32]{Keep: 0x1}},
		{"16 bits, W0S", Register{Bits: 16, Access: ReadWrite, WriteEffect: ZeroToSet}, Layout[uint32]{Idle: 0xffff}},
		{"write-only", Register{Bits: 32, Access: WriteOnly}, Layout[uint32]{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, RegisterLayout[uint32](&tt.r))
		})
	}
}
