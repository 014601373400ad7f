package svd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/regs"
)

const basicDoc = `<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.3" xmlns:xs="http://www.w3.org/2001/XMLSchema-instance">
  <vendor>ACME</vendor>
  <name>CHIP1</name>
  <series>C</series>
  <version>1.2</version>
  <description>
      A chip
      with two lines
  </description>
  <cpu><name>CM4</name></cpu>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  <size>0x20</size>
  <access>read-write</access>
  <resetValue>0</resetValue>
  <resetMask>0xFFFFFFFF</resetMask>
  <vendorExtensions><anything><deep/></anything></vendorExtensions>
  <peripherals>
    <peripheral>
      <name>MBOX</name>
      <version>3</version>
      <description>Mailbox</description>
      <groupName>IPC</groupName>
      <headerStructName>MBOX_Type</headerStructName>
      <baseAddress>0x40001000</baseAddress>
      <addressBlock><offset>0</offset><size>0x400</size><usage>registers</usage></addressBlock>
      <interrupt><name>MBOX_IRQ</name><description>Mailbox interrupt</description><value>17</value></interrupt>
      <registers>
        <register>
          <name>CTRL</name>
          <displayName>Control</displayName>
          <description>Control register</description>
          <addressOffset>0x4</addressOffset>
          <resetValue>0x00000101</resetValue>
          <fields>
            <field>
              <name>EN</name>
              <description>Enable</description>
              <bitOffset>0</bitOffset>
              <bitWidth>1</bitWidth>
              <enumeratedValues>
                <name>EnState</name>
                <headerEnumName>EN_e</headerEnumName>
                <usage>read-write</usage>
                <enumeratedValue><name>Off</name><description>Disabled</description><value>0</value></enumeratedValue>
                <enumeratedValue><name>On</name><value>#1</value></enumeratedValue>
              </enumeratedValues>
            </field>
            <field>
              <name>MODE</name>
              <lsb>8</lsb><msb>10</msb>
              <access>read-only</access>
              <enumeratedValues>
                <enumeratedValue><name>Other</name><isDefault>true</isDefault></enumeratedValue>
              </enumeratedValues>
            </field>
            <field>
              <name>FLAG</name>
              <bitRange>[31:31]</bitRange>
              <modifiedWriteValues>oneToClear</modifiedWriteValues>
              <readAction>clear</readAction>
            </field>
          </fields>
        </register>
        <register>
          <name>DATA</name>
          <addressOffset>0x8</addressOffset>
          <size>16</size>
          <access>write-only</access>
        </register>
      </registers>
    </peripheral>
  </peripherals>
</device>
`

func TestParseBasic(t *testing.T) {
	d := parseString(t, basicDoc)
	assert.Equal(t, "CHIP1", d.Name)
	assert.Equal(t, "ACME", d.Vendor)
	assert.Equal(t, "C", d.Series)
	assert.Equal(t, "1.2", d.Version)
	assert.Equal(t, "A chip\nwith two lines", d.Description)
	assert.Equal(t, 32, d.Width)
	assert.Equal(t, 8, d.AddressUnitBits)
	assert.Equal(t, RegisterProperties{Size: 32, Access: regs.ReadWrite, ResetValue: 0, ResetMask: 0xFFFFFFFF}, d.Defaults)
	assert.Equal(t, lineOf(t, basicDoc, "<device "), d.Line)

	require.Len(t, d.Peripherals, 1)
	p := d.Peripheral("MBOX")
	require.NotNil(t, p)
	assert.Nil(t, d.Peripheral("NOPE"))
	assert.Equal(t, "Mailbox", p.Description)
	assert.Equal(t, "3", p.Version)
	assert.Equal(t, "IPC", p.GroupName)
	assert.Equal(t, "MBOX_Type", p.HeaderStructName)
	assert.Equal(t, uint64(0x40001000), p.BaseAddress)
	assert.Equal(t, lineOf(t, basicDoc, "<peripheral>"), p.Line)
	assert.Equal(t, []AddressBlock{{Offset: 0, Size: 0x400, Usage: "registers", Line: lineOf(t, basicDoc, "<addressBlock>")}}, p.AddressBlocks)
	assert.Equal(t, []Interrupt{{Name: "MBOX_IRQ", Description: "Mailbox interrupt", Value: 17, Line: lineOf(t, basicDoc, "<interrupt>")}}, p.Interrupts)

	require.Len(t, p.Registers, 2)
	ctrl := p.Register("CTRL")
	require.NotNil(t, ctrl)
	assert.Equal(t, "Control", ctrl.DisplayName)
	assert.Equal(t, "Control register", ctrl.Description)
	assert.Equal(t, uint64(4), ctrl.AddressOffset)
	assert.Equal(t, 32, ctrl.Size)
	assert.Equal(t, regs.ReadWrite, ctrl.Access)
	assert.Equal(t, uint64(0x101), ctrl.ResetValue)
	assert.Equal(t, uint64(0xFFFFFFFF), ctrl.ResetMask)
	assert.Equal(t, lineOf(t, basicDoc, "<name>CTRL"), ctrl.Line+1)
	require.Len(t, ctrl.Fields, 3)

	en := ctrl.Field("EN")
	assert.Equal(t, 0, en.BitOffset)
	assert.Equal(t, 1, en.BitWidth)
	assert.Equal(t, regs.ReadWrite, en.Access)
	assert.Equal(t, uint64(1), en.Mask())
	require.Len(t, en.Enums, 1)
	assert.Equal(t, "EnState", en.Enums[0].Name)
	assert.Equal(t, "EN_e", en.Enums[0].HeaderEnumName)
	assert.Equal(t, "read-write", en.Enums[0].Usage)
	require.Len(t, en.Enums[0].Values, 2)
	assert.Equal(t, EnumeratedValue{Name: "Off", Description: "Disabled", Value: 0, Line: lineOf(t, basicDoc, "<name>Off")}, *en.Enums[0].Values[0])
	assert.Equal(t, uint64(1), en.Enums[0].Values[1].Value)

	mode := ctrl.Field("MODE")
	assert.Equal(t, 8, mode.BitOffset)
	assert.Equal(t, 3, mode.BitWidth)
	assert.Equal(t, 10, mode.Msb())
	assert.Equal(t, regs.ReadOnly, mode.Access)
	require.Len(t, mode.ReadValues(), 1)
	assert.True(t, mode.ReadValues()[0].IsDefault)

	flag := ctrl.Field("FLAG")
	assert.Equal(t, 31, flag.BitOffset)
	assert.Equal(t, 1, flag.BitWidth)
	assert.Equal(t, regs.OneToClear, flag.WriteEffect)
	assert.Equal(t, regs.ReadClear, flag.ReadAction)
	assert.Equal(t, lineOf(t, basicDoc, "<name>FLAG")-1, flag.Line)

	data := p.Register("DATA")
	assert.Equal(t, 16, data.Size)
	assert.Equal(t, regs.WriteOnly, data.Access)
	assert.Equal(t, uint64(0xFFFF), data.ResetMask, "mask truncated to the size")
	assert.Nil(t, p.Register("NOPE"))
}

func TestParseFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x.svd")
	require.NoError(t, os.WriteFile(name, []byte(basicDoc), 0o644))
	d, err := ParseFile(name)
	require.NoError(t, err)
	assert.Equal(t, "CHIP1", d.Name)

	_, err = ParseFile(filepath.Join(t.TempDir(), "missing.svd"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, os.WriteFile(name, []byte("<device>"), 0o644))
	_, err = ParseFile(name)
	var perr *ParseError
	require.ErrorAs(t, err, &perr)
	assert.Contains(t, err.Error(), name)
}

func TestLatin1(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" +
		device("<peripheral><name>P</name><description>caf\xe9</description><baseAddress>0</baseAddress></peripheral>")
	d := parseString(t, doc)
	assert.Equal(t, "café", d.Peripherals[0].Description)

	doc = "<?xml version=\"1.0\" encoding=\"EBCDIC\"?>\n" + device("")
	perr := parseError(t, doc)
	assert.Contains(t, perr.Error(), "EBCDIC")
}

func TestDefaultsWhenNothingStated(t *testing.T) {
	d := parseString(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset></register></registers></peripheral>`))
	assert.Equal(t, RegisterProperties{Size: 32, Access: regs.ReadWrite, ResetMask: ^uint64(0)}, d.Defaults)
	assert.Equal(t, 8, d.AddressUnitBits)
	r := d.Peripherals[0].Registers[0]
	assert.Equal(t, 32, r.Size)
	assert.Equal(t, regs.ReadWrite, r.Access)
	assert.Equal(t, uint64(0), r.ResetValue)
	assert.Equal(t, uint64(0xFFFFFFFF), r.ResetMask)
}

func TestInheritance(t *testing.T) {
	doc := `<device><name>D</name><width>16</width><access>read-only</access><resetValue>0xAAAA</resetValue>
<peripherals>
<peripheral><name>P</name><baseAddress>0x100</baseAddress><resetMask>0xFF</resetMask>
<registers>
  <register><name>R0</name><addressOffset>0</addressOffset>
    <fields><field><name>F</name><bitRange>[3:0]</bitRange></field></fields></register>
  <cluster><name>C</name><addressOffset>0x10</addressOffset><size>32</size><access>read-write</access>
    <register><name>R1</name><addressOffset>0</addressOffset></register>
    <cluster><name>D</name><addressOffset>0x20</addressOffset><resetValue>0x12345678</resetValue>
      <register><name>R2</name><addressOffset>4</addressOffset><access>write-only</access>
        <fields><field><name>F</name><bitRange>[31:0]</bitRange></field>
        </fields></register>
      <register><name>R3</name><addressOffset>8</addressOffset><size>8</size><resetMask>0xFFF</resetMask></register>
    </cluster>
  </cluster>
</registers></peripheral>
</peripherals></device>`
	d := parseString(t, doc)
	assert.Equal(t, 16, d.Defaults.Size, "size defaults to width")
	p := d.Peripherals[0]
	assert.Equal(t, RegisterProperties{Size: 16, Access: regs.ReadOnly, ResetValue: 0xAAAA, ResetMask: 0xFF}, p.Defaults)

	r0 := p.Register("R0")
	assert.Equal(t, 16, r0.Size)
	assert.Equal(t, regs.ReadOnly, r0.Access)
	assert.Equal(t, uint64(0xAAAA), r0.ResetValue)
	assert.Equal(t, uint64(0xFF), r0.ResetMask)
	assert.Equal(t, regs.ReadOnly, r0.Fields[0].Access, "field access from the register")

	c := p.Cluster("C")
	require.NotNil(t, c)
	assert.Equal(t, RegisterProperties{Size: 32, Access: regs.ReadWrite, ResetValue: 0xAAAA, ResetMask: 0xFF}, c.Defaults)
	r1 := p.Register("R1")
	assert.Equal(t, 32, r1.Size)
	assert.Equal(t, regs.ReadWrite, r1.Access)

	r2 := p.Register("R2")
	assert.Equal(t, 32, r2.Size)
	assert.Equal(t, regs.WriteOnly, r2.Access)
	assert.Equal(t, uint64(0x12345678), r2.ResetValue)
	assert.Equal(t, regs.WriteOnly, r2.Fields[0].Access)

	r3 := p.Register("R3")
	assert.Equal(t, 8, r3.Size)
	assert.Equal(t, uint64(0x78), r3.ResetValue, "truncated to 8 bits")
	assert.Equal(t, uint64(0xFF), r3.ResetMask)
}

func TestRegisterLevelEffects(t *testing.T) {
	d := parseString(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset>
<modifiedWriteValues>oneToClear</modifiedWriteValues><readAction>modifyExternal</readAction>
<fields>
  <field><name>A</name><bitOffset>0</bitOffset></field>
  <field><name>B</name><bitOffset>1</bitOffset><modifiedWriteValues>modify</modifiedWriteValues><readAction>clear</readAction></field>
</fields></register></registers></peripheral>`))
	r := d.Peripherals[0].Registers[0]
	assert.Equal(t, regs.OneToClear, r.WriteEffect)
	assert.Equal(t, regs.ReadModifyExternal, r.ReadAction)
	a, b := r.Field("A"), r.Field("B")
	assert.Equal(t, 1, a.BitWidth, "bitWidth defaults to 1")
	assert.Equal(t, regs.OneToClear, a.WriteEffect)
	assert.Equal(t, regs.ReadModifyExternal, a.ReadAction)
	assert.Equal(t, regs.WriteNormal, b.WriteEffect)
	assert.Equal(t, regs.ReadClear, b.ReadAction)
}

func TestFieldPositions(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pos           string
		offset, width int
	}{
		{"bitOffset/bitWidth", "<bitOffset>4</bitOffset><bitWidth>3</bitWidth>", 4, 3},
		{"bitOffset alone", "<bitOffset>7</bitOffset>", 7, 1},
		{"hex bitOffset", "<bitOffset>0x10</bitOffset><bitWidth>0x10</bitWidth>", 16, 16},
		{"lsb/msb", "<lsb>8</lsb><msb>15</msb>", 8, 8},
		{"msb before lsb", "<msb>0</msb><lsb>0</lsb>", 0, 1},
		{"bitRange", "<bitRange>[31:0]</bitRange>", 0, 32},
		{"bitRange spaces", "<bitRange> [ 5 : 2 ] </bitRange>", 2, 4},
		{"bitRange one bit", "<bitRange>[9:9]</bitRange>", 9, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parseString(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><fields>
<field><name>F</name>`+tc.pos+`</field></fields></register></registers></peripheral>`))
			f := d.Peripherals[0].Registers[0].Fields[0]
			assert.Equal(t, tc.offset, f.BitOffset)
			assert.Equal(t, tc.width, f.BitWidth)
		})
	}
}

func TestSixtyFourBitRegister(t *testing.T) {
	d := parseString(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><size>64</size><resetValue>0xFFFFFFFFFFFFFFFF</resetValue><fields>
<field><name>HI</name><bitRange>[63:32]</bitRange></field>
<field><name>ALL</name><bitOffset>0</bitOffset><bitWidth>64</bitWidth></field>
</fields></register></registers></peripheral>`))
	r := d.Peripherals[0].Registers[0]
	assert.Equal(t, ^uint64(0), r.ResetValue)
	assert.Equal(t, uint64(0xFFFFFFFF00000000), r.Field("HI").Mask())
	assert.Equal(t, ^uint64(0), r.Field("ALL").Mask())
}

func TestDontCareEnumValues(t *testing.T) {
	d := parseString(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><fields>
<field><name>F</name><bitRange>[3:0]</bitRange><enumeratedValues>
  <enumeratedValue><name>A</name><value>#1x0x</value></enumeratedValue>
  <enumeratedValue><name>B</name><value>#0001</value></enumeratedValue>
</enumeratedValues></field></fields></register></registers></peripheral>`))
	var got []uint64
	var names []string
	for _, v := range d.Peripherals[0].Registers[0].Fields[0].Enums[0].Values {
		got = append(got, v.Value)
		names = append(names, v.Name)
	}
	assert.Equal(t, []uint64{0b1000, 0b1001, 0b1100, 0b1101, 0b0001}, got)
	assert.Equal(t, []string{"A", "A", "A", "A", "B"}, names)
}

func TestEnumUsage(t *testing.T) {
	d := parseString(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><fields>
<field><name>F</name><bitRange>[0:0]</bitRange>
  <enumeratedValues><usage>read</usage>
    <enumeratedValue><name>Disabled</name><value>0</value></enumeratedValue>
    <enumeratedValue><name>Enabled</name><value>1</value></enumeratedValue>
  </enumeratedValues>
  <enumeratedValues><usage>write</usage>
    <enumeratedValue><name>Clear</name><value>1</value></enumeratedValue>
  </enumeratedValues>
</field>
<field><name>W</name><bitRange>[1:1]</bitRange>
  <enumeratedValues><usage>write</usage>
    <enumeratedValue><name>Set</name><value>1</value></enumeratedValue>
  </enumeratedValues>
</field></fields></register></registers></peripheral>`))
	r := d.Peripherals[0].Registers[0]
	f := r.Field("F")
	require.Len(t, f.Enums, 2)
	assert.Equal(t, "read", f.Enums[0].Usage)
	assert.Equal(t, "write", f.Enums[1].Usage)
	var names []string
	for _, v := range f.ReadValues() {
		names = append(names, v.Name)
	}
	assert.Equal(t, []string{"Disabled", "Enabled"}, names)
	require.Len(t, r.Field("W").ReadValues(), 1, "write values when there are no read values")
}

func TestAccessSpellings(t *testing.T) {
	for s, want := range map[string]regs.Access{
		"read-only": regs.ReadOnly, "write-only": regs.WriteOnly, "read-write": regs.ReadWrite,
		"writeOnce": regs.WriteOnce, "read-writeOnce": regs.ReadWriteOnce, "read-writeonce": regs.ReadWriteOnce,
		"Read-Write": regs.ReadWrite,
	} {
		got, err := regs.ParseAccess(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	_, err := regs.ParseAccess("rw")
	assert.Error(t, err)
	w, err := regs.ParseWriteEffect("OneToClear")
	require.NoError(t, err)
	assert.Equal(t, regs.OneToClear, w)
	ra, err := regs.ParseReadAction("modifyExternal")
	require.NoError(t, err)
	assert.Equal(t, regs.ReadModifyExternal, ra)
	_, err = regs.ParseReadAction("")
	assert.Error(t, err)
}

func TestInterruptValues(t *testing.T) {
	d := parseString(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress>
<interrupt><name>A</name><value>0x10</value></interrupt>
<interrupt><name>B</name><value>-1</value></interrupt>
<interrupt><name>C</name><value>3</value></interrupt>
</peripheral>`))
	var got []int
	for _, irq := range d.Peripherals[0].Interrupts {
		got = append(got, irq.Value)
	}
	assert.Equal(t, []int{16, -1, 3}, got)
}

func TestTextAroundComments(t *testing.T) {
	d := parseString(t, device(`<peripheral><name>P<!-- a comment -->1</name><description> a <!-- x --> b </description><baseAddress>0x<!---->10</baseAddress></peripheral>`))
	p := d.Peripherals[0]
	assert.Equal(t, "P1", p.Name)
	assert.Equal(t, "a  b", p.Description)
	assert.Equal(t, uint64(0x10), p.BaseAddress)
}

func TestDescriptionCleanup(t *testing.T) {
	assert.Equal(t, "a\nb\n\nc", cleanText("\n   a  \n\t b\n\n   c\n  "))
	assert.Equal(t, "one  line", cleanText("  one  line "))
	assert.True(t, strings.HasPrefix(cleanText(" x"), "x"))
}
