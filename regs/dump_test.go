package regs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testPeriph = Peripheral{
	Name: "DEMO",
	Size: 0x10,
	Registers: []Register{
		{Name: "ID", Offset: 0x0, Bits: 32, Access: ReadOnly, Reset: 0x49504355, ResetMask: 0xffffffff,
			Fields: []Field{{Name: "ID", Offset: 0, Width: 32, Access: ReadOnly}}},
		{Name: "CTRL", Offset: 0x4, Bits: 32, Access: ReadWrite, Reset: 0, ResetMask: 0xffffffff, Fields: []Field{
			{Name: "EN", Offset: 0, Width: 1, Access: ReadWrite},
			{Name: "MODE", Offset: 1, Width: 2, Access: ReadWrite, Enums: []EnumValue{
				{Name: "SLOW", Value: 0}, {Name: "FAST", Value: 1}, {Name: "OTHER", Default: true}}},
			{Name: "OVF", Offset: 8, Width: 1, Access: ReadWrite, WriteEffect: OneToClear},
		}},
		{Name: "FIFO", Offset: 0x8, Bits: 16, Access: ReadOnly, ReadAction: ReadModifyExternal},
		{Name: "CMD", Offset: 0xa, Bits: 8, Access: WriteOnly},
		{Name: "CNT", Offset: 0xc, Bits: 32, Access: ReadOnly, ResetMask: 0xffffffff, Fields: []Field{
			{Name: "N", Offset: 0, Width: 8, Access: ReadOnly, ReadAction: ReadClear}}},
	},
}

func TestDecode(t *testing.T) {
	r := testPeriph.Register("ctrl")
	require.NotNil(t, r)
	assert.Equal(t, "0x00000103 EN=1 MODE=0x1(FAST) OVF=1", r.Format(0x103))
	assert.Equal(t, "0x00000004 EN=0 MODE=0x2(OTHER) OVF=0", r.Format(0x4))
	fv := r.Decode(0x103)
	require.Len(t, fv, 3)
	assert.Equal(t, uint64(1), fv[1].Value)
	assert.Equal(t, "FAST", fv[1].Enum.Name)
	assert.Equal(t, "W1C", r.Fields[2].Kind())
	assert.Equal(t, "RC", testPeriph.Registers[4].Fields[0].Kind())
	assert.Nil(t, testPeriph.Register("nope"))
	assert.Equal(t, "FIFO", testPeriph.RegisterAt(8).Name)
	assert.Nil(t, testPeriph.RegisterAt(3))
	d := Description{Peripherals: []Peripheral{testPeriph}}
	assert.Same(t, &d.Peripherals[0], d.Peripheral("demo"))
	assert.Nil(t, d.Peripheral("x"))
}

func TestDump(t *testing.T) {
	b := newTestBus(0x10)
	b.put(0, 32, 0x49504355)
	b.put(4, 32, 0x103)
	b.put(0xc, 32, 0x2a)
	var out bytes.Buffer
	require.NoError(t, Dump(&out, b, &testPeriph, nil))
	want := `DEMO
OFFSET  REGISTER      ACCESS  VALUE                            RESET
0x0000  ID            RO      0x49504355                       0x49504355
          [31:0] ID   RO      0x49504355
0x0004  CTRL          RW      0x00000103 *                     0x00000000
          [0] EN      RW      1
          [2:1] MODE  RW      0x1(FAST)
          [8] OVF     W1C     1
0x0008  FIFO          RO      (not read: read modifyExternal)  0x0000
0x000a  CMD           WO      (write-only)                     0x00
0x000c  CNT           RO      0x0000002a *                     0x00000000
          [7:0] N     RC      0x2a
`
	assert.Equal(t, want, out.String())
	for _, a := range b.trace {
		assert.NotEqual(t, uintptr(8), a.off, "a dump read the FIFO")
		assert.Equal(t, "r", a.op, "a dump wrote")
	}

	out.Reset()
	b.trace = nil
	require.NoError(t, Dump(&out, b, &testPeriph, &DumpOptions{SideEffects: true, NoFields: true}))
	assert.Regexp(t, `0x0008  FIFO +RO +0x0000 +0x0000\n`, out.String())
	assert.NotContains(t, out.String(), "[0] EN")

	// A description larger than the bus is an error, not a panic.
	small := newTestBus(8)
	err := Dump(&out, small, &testPeriph, &DumpOptions{SideEffects: true})
	assert.ErrorIs(t, err, ErrOutOfRange)
	assert.ErrorContains(t, err, "DEMO.FIFO")
}

func TestWriteMap(t *testing.T) {
	var out bytes.Buffer
	p := testPeriph
	p.Description = "A demo\n  block"
	p.Registers = append([]Register(nil), p.Registers...)
	p.Registers[1].Description = "Control"
	p.Registers[1].Fields[0].Description = "Enable"
	require.NoError(t, WriteMap(&out, &p))
	want := `DEMO: A demo block (0x10 bytes)
OFFSET  REGISTER      ACCESS                  RESET       DESCRIPTION
0x0000  ID            RO                      0x49504355
          [31:0] ID   RO                      0x49504355
0x0004  CTRL          RW                      0x00000000  Control
          [0] EN      RW                      0           Enable
          [2:1] MODE  RW                      0x0(SLOW)
                                                  0x0     SLOW
                                                  0x1     FAST
                                                  other   OTHER
          [8] OVF     W1C                     0
0x0008  FIFO          RO/read modifyExternal  0x0000
0x000a  CMD           WO                      0x00
0x000c  CNT           RO                      0x00000000
          [7:0] N     RC                      0x0
`
	assert.Equal(t, want, out.String())
}

// TestWriteMapRegisterWriteEffect: a register that is write-1-to-clear as a
// whole, with no fields, shows as W1C, not RW.
func TestWriteMapRegisterWriteEffect(t *testing.T) {
	p := Peripheral{Name: "P", Size: 4, Registers: []Register{
		{Name: "INTSTAT", Offset: 0, Bits: 32, Access: ReadWrite, WriteEffect: OneToClear, ResetMask: 0xffffffff},
	}}
	var out bytes.Buffer
	require.NoError(t, WriteMap(&out, &p))
	assert.Regexp(t, `INTSTAT\s+W1C\s`, out.String())
	out.Reset()
	require.NoError(t, Dump(&out, newTestBus(4), &p, nil))
	assert.Regexp(t, `INTSTAT\s+W1C\s`, out.String())
}
