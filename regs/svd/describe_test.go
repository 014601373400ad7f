package svd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/regs"
)

const describeDoc = `<device><name>D</name><description>Dev</description><peripherals>
<peripheral><name>IPC</name><description>Mailboxes</description><baseAddress>0x40000000</baseAddress><registers>
  <register><name>CTRL</name><description>Control</description><addressOffset>0x0</addressOffset><resetValue>0x3</resetValue>
    <fields>
      <field><name>HI</name><bitRange>[31:16]</bitRange><access>read-only</access></field>
      <field><name>LO</name><bitRange>[15:0]</bitRange><modifiedWriteValues>oneToClear</modifiedWriteValues>
        <enumeratedValues><usage>read</usage><enumeratedValue><name>IDLE</name><value>0</value></enumeratedValue>
          <enumeratedValue><name>OTHER</name><isDefault>true</isDefault></enumeratedValue></enumeratedValues>
        <enumeratedValues><usage>write</usage><enumeratedValue><name>CLEAR</name><value>1</value></enumeratedValue></enumeratedValues>
      </field>
    </fields>
  </register>
  <cluster><dim>2</dim><dimIncrement>0x100</dimIncrement><dimIndex>3-4</dimIndex><name>MBOX[%s]</name><addressOffset>0x100</addressOffset>
    <register><name>STATUS</name><addressOffset>0x4</addressOffset><size>16</size></register>
    <register><dim>2</dim><dimIncrement>4</dimIncrement><name>DATA[%s]</name><description>Word %s</description><addressOffset>0x10</addressOffset>
      <fields><field><name>V</name><bitRange>[31:0]</bitRange><readAction>modifyExternal</readAction></field></fields></register>
    <cluster><name>SUB</name><addressOffset>0x40</addressOffset>
      <register><name>X</name><addressOffset>0</addressOffset><size>8</size><readAction>clear</readAction></register>
    </cluster>
  </cluster>
  <cluster><dim>2</dim><dimIncrement>0x8</dimIncrement><name>CH%s</name><addressOffset>0x20</addressOffset>
    <register><name>CFG</name><addressOffset>0x4</addressOffset><size>64</size></register>
  </cluster>
  <register><name>LAST</name><addressOffset>0x08</addressOffset></register>
</registers></peripheral>
<peripheral><name>OTHER</name><baseAddress>0x50000000</baseAddress><registers>
  <register><name>R</name><addressOffset>0x2</addressOffset><size>16</size></register>
</registers></peripheral>
</peripherals></device>`

func TestDescribe(t *testing.T) {
	d := parseString(t, describeDoc)
	desc, err := d.Describe()
	require.NoError(t, err)
	require.NoError(t, checkDescription(desc))
	assert.Equal(t, "D", desc.Name)
	assert.Equal(t, "Dev", desc.Description)
	require.Len(t, desc.Peripherals, 2)

	p := desc.Peripherals[0]
	assert.Equal(t, "IPC", p.Name)
	assert.Equal(t, "Mailboxes", p.Description)
	assert.Equal(t, uint64(0x40000000), p.Base)
	type reg struct {
		name   string
		offset uint64
		bits   uint8
		ra     regs.ReadAction
	}
	var got []reg
	for _, r := range p.Registers {
		got = append(got, reg{r.Name, r.Offset, r.Bits, r.ReadAction})
	}
	assert.Equal(t, []reg{
		{"CTRL", 0x0, 32, 0},
		{"LAST", 0x8, 32, 0},
		{"CH0.CFG", 0x24, 64, 0},
		{"CH1.CFG", 0x2C, 64, 0},
		{"MBOX[3].STATUS", 0x104, 16, 0},
		{"MBOX[3].DATA[0]", 0x110, 32, regs.ReadModifyExternal},
		{"MBOX[3].DATA[1]", 0x114, 32, regs.ReadModifyExternal},
		{"MBOX[3].SUB.X", 0x140, 8, regs.ReadClear},
		{"MBOX[4].STATUS", 0x204, 16, 0},
		{"MBOX[4].DATA[0]", 0x210, 32, regs.ReadModifyExternal},
		{"MBOX[4].DATA[1]", 0x214, 32, regs.ReadModifyExternal},
		{"MBOX[4].SUB.X", 0x240, 8, regs.ReadClear},
	}, got)
	assert.Equal(t, uint64(0x241), p.Size)
	assert.Equal(t, "Word 1", p.Registers[6].Description, "%s substituted per element")

	ctrl := p.Registers[0]
	assert.Equal(t, "Control", ctrl.Description)
	assert.Equal(t, regs.ReadWrite, ctrl.Access)
	assert.Equal(t, uint64(3), ctrl.Reset)
	assert.Equal(t, uint64(0xFFFFFFFF), ctrl.ResetMask)
	require.Len(t, ctrl.Fields, 2)
	assert.Equal(t, "LO", ctrl.Fields[0].Name, "fields sorted by offset")
	assert.Equal(t, uint8(0), ctrl.Fields[0].Offset)
	assert.Equal(t, uint8(16), ctrl.Fields[0].Width)
	assert.Equal(t, regs.OneToClear, ctrl.Fields[0].WriteEffect)
	assert.Equal(t, []regs.EnumValue{{Name: "IDLE"}, {Name: "OTHER", Default: true}}, ctrl.Fields[0].Enums, "read values only")
	assert.Equal(t, "HI", ctrl.Fields[1].Name)
	assert.Equal(t, regs.ReadOnly, ctrl.Fields[1].Access)

	only, err := d.Describe("OTHER")
	require.NoError(t, err)
	require.Len(t, only.Peripherals, 1)
	assert.Equal(t, "OTHER", only.Peripherals[0].Name)
	assert.Equal(t, uint64(4), only.Peripherals[0].Size)

	two, err := d.Describe("OTHER", "IPC")
	require.NoError(t, err)
	assert.Equal(t, "OTHER", two.Peripherals[0].Name)
	assert.Equal(t, "IPC", two.Peripherals[1].Name)
	assert.Equal(t, desc.Peripherals[0], two.Peripherals[1], "the same however it is asked for")
}

func TestDescribeErrors(t *testing.T) {
	d := parseString(t, describeDoc)
	_, err := d.Describe("NOPE")
	var perr *ParseError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "device D", perr.Path)
	assert.Contains(t, err.Error(), `no peripheral "NOPE"`)

	doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><name>C</name><addressOffset>0</addressOffset>
<register><name>ODD</name><addressOffset>0</addressOffset><size>24</size></register>
</cluster></registers></peripheral>`)
	d = parseString(t, doc)
	_, err = d.Describe()
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "device DEV / peripheral P / cluster C / register ODD", perr.Path)
	assert.Equal(t, lineOf(t, doc, "<register>"), perr.Line)
	assert.Contains(t, err.Error(), "register size 24 bits is not 8, 16, 32 or 64")

	// Too many registers after flattening: a parse-time array is one
	// element, so this parses.
	doc = device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><dim>4096</dim><dimIncrement>0x10000</dimIncrement><name>C[%s]</name><addressOffset>0</addressOffset>
<register><dim>4096</dim><dimIncrement>4</dimIncrement><name>R[%s]</name><addressOffset>0</addressOffset></register>
</cluster></registers></peripheral>`)
	d = parseString(t, doc)
	_, err = d.Describe()
	require.ErrorAs(t, err, &perr)
	assert.Contains(t, err.Error(), "more than 262144 registers and cluster elements")
	assert.True(t, strings.HasPrefix(perr.Path, "device DEV / peripheral P / cluster C / register R"), perr.Path)

	// Nested arrays of empty clusters, which give no registers at all,
	// cost as much as registers do.
	doc = device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><dim>4096</dim><dimIncrement>0</dimIncrement><name>A[%s]</name><addressOffset>0</addressOffset>
<cluster><dim>4096</dim><dimIncrement>0</dimIncrement><name>B[%s]</name><addressOffset>0</addressOffset>
<cluster><dim>4096</dim><dimIncrement>0</dimIncrement><name>C[%s]</name><addressOffset>0</addressOffset>
</cluster></cluster></cluster></registers></peripheral>`)
	d = parseString(t, doc)
	_, err = d.Describe()
	require.ErrorAs(t, err, &perr)
	assert.Contains(t, err.Error(), "more than 262144 registers and cluster elements")

	// Offsets past the end of the address space.
	doc = device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><name>C</name><addressOffset>0xFFFFFFFFFFFFFFF0</addressOffset>
<register><name>R</name><addressOffset>0x20</addressOffset></register>
</cluster></registers></peripheral>`)
	d = parseString(t, doc)
	_, err = d.Describe()
	require.ErrorAs(t, err, &perr)
	assert.Contains(t, err.Error(), "overflows")
}
