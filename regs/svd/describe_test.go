package svd

import (
	"fmt"
	"runtime"
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
    <register><name>CFG</name><addressOffset>0x8</addressOffset><size>64</size></register>
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
		{"CH0.CFG", 0x28, 64, 0},
		{"CH1.CFG", 0x30, 64, 0},
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

func TestDescribeRejectsMisalignedAndOverlapping(t *testing.T) {
	for _, tt := range []struct {
		name, regs, path, want string
	}{
		{"misaligned register", `<register><name>A</name><addressOffset>0</addressOffset></register>
<register><name>CFG</name><addressOffset>0x6</addressOffset><size>32</size></register>`,
			"register CFG", "register CFG at offset 0x6 is not aligned to its size of 4 bytes"},
		{"misaligned in a cluster", `<cluster><name>C</name><addressOffset>0x2</addressOffset>
<register><name>R</name><addressOffset>0</addressOffset><size>32</size></register></cluster>`,
			"cluster C / register R", "register C.R at offset 0x2 is not aligned"},
		{"misaligned dimIncrement", `<register><dim>4</dim><dimIncrement>6</dimIncrement><name>D[%s]</name><addressOffset>0x20</addressOffset></register>`,
			"register D", "dimIncrement 0x6 is not a multiple of the register's size of 4 bytes"},
		{"dimIncrement 0", `<register><dim>4</dim><dimIncrement>0</dimIncrement><name>C[%s]</name><addressOffset>0x10</addressOffset></register>`,
			"register C", "dimIncrement 0x0 is less than the register's size of 4 bytes"},
		{"dimIncrement below the size", `<register><dim>4</dim><dimIncrement>2</dimIncrement><name>D[%s]</name><addressOffset>0x20</addressOffset><size>32</size></register>`,
			"register D", "dimIncrement 0x2 is less than the register's size of 4 bytes"},
		{"overlapping registers", `<register><name>A</name><addressOffset>0</addressOffset><size>32</size></register>
<register><name>B</name><addressOffset>2</addressOffset><size>16</size></register>`,
			"register B", "register B at 0x2 overlaps register A at 0x0"},
		{"overlapping cluster elements", `<cluster><dim>2</dim><dimIncrement>0</dimIncrement><name>C[%s]</name><addressOffset>0</addressOffset>
<register><name>R</name><addressOffset>0</addressOffset></register></cluster>`,
			"cluster C / register R", "register C[1].R at 0x0 overlaps register C[0].R at 0x0"},
		{"overlapping fields", `<register><name>A</name><addressOffset>0</addressOffset><size>32</size>
<fields><field><name>F</name><bitRange>[7:0]</bitRange></field><field><name>G</name><bitRange>[3:0]</bitRange><modifiedWriteValues>oneToClear</modifiedWriteValues></field></fields></register>`,
			"register A", "field G bits [3:0] overlaps field F bits [7:0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>` + tt.regs + `</registers></peripheral>`)
			d := parseString(t, doc)
			_, err := d.Describe()
			var perr *ParseError
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, "device DEV / peripheral P / "+tt.path, perr.Path)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// Registers that are alternate views of one address may share it; the
// others still may not overlap them.
func TestDescribeAlternateRegisters(t *testing.T) {
	doc := device(`<peripheral><name>TIM</name><baseAddress>0</baseAddress><registers>
<register><name>CCMR1_Output</name><addressOffset>0x18</addressOffset><fields><field><name>OC1M</name><bitRange>[6:4]</bitRange></field></fields></register>
<register><name>CCMR1_Input</name><alternateRegister>CCMR1_Output</alternateRegister><addressOffset>0x18</addressOffset><fields><field><name>IC1F</name><bitRange>[7:4]</bitRange></field></fields></register>
<register><name>MODE_A</name><alternateGroup>A</alternateGroup><addressOffset>0x20</addressOffset></register>
<register><name>MODE</name><addressOffset>0x20</addressOffset></register>
<cluster><name>ALT</name><alternateCluster>X</alternateCluster><addressOffset>0x20</addressOffset>
<register><name>R</name><addressOffset>0</addressOffset></register></cluster>
</registers></peripheral>`)
	d := parseString(t, doc)
	r := d.Peripherals[0].Registers[1]
	assert.Equal(t, "CCMR1_Output", r.AlternateRegister)
	assert.Equal(t, "A", d.Peripherals[0].Registers[2].AlternateGroup)
	assert.Equal(t, "X", d.Peripherals[0].Clusters[0].AlternateCluster)
	desc, err := d.Describe()
	require.NoError(t, err)
	var names []string
	for _, r := range desc.Peripherals[0].Registers {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"CCMR1_Output", "CCMR1_Input", "MODE_A", "MODE", "ALT.R"}, names)
}

// A register's own modifiedWriteValues is in its description, for the
// bits no field covers.
func TestDescribeRegisterWriteEffect(t *testing.T) {
	doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>INTSTAT</name><addressOffset>0</addressOffset><modifiedWriteValues>oneToClear</modifiedWriteValues></register>
<register><name>CTRL</name><addressOffset>4</addressOffset></register>
</registers></peripheral>`)
	desc, err := parseString(t, doc).Describe()
	require.NoError(t, err)
	rs := desc.Peripherals[0].Registers
	assert.Equal(t, regs.OneToClear, rs[0].WriteEffect)
	assert.Equal(t, regs.WriteNormal, rs[1].WriteEffect)
	assert.Equal(t, regs.Layout[uint32]{Keep: 0, Idle: 0}, regs.RegisterLayout[uint32](&rs[0]))
	assert.Equal(t, regs.Layout[uint32]{Keep: 0xffffffff, Idle: 0}, regs.RegisterLayout[uint32](&rs[1]))
}

// A long description on a register list inside a cluster list is cleaned
// once and shared by the 8192 elements, not copied into each: the model
// costs about what the input does.
func TestDescriptionSharedByExpandedElements(t *testing.T) {
	long := strings.Repeat("x\n", 32<<10) // 64 KiB, multi-line: cleaning copies it
	doc := device(fmt.Sprintf(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><dim>256</dim><dimIncrement>0x100</dimIncrement><name>C%%s</name><addressOffset>0</addressOffset>
<register><dim>32</dim><dimIncrement>4</dimIncrement><name>R%%s</name><addressOffset>0</addressOffset><description>%s</description></register>
</cluster></registers></peripheral>`, long))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := parseString(t, doc)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grew, int64(64<<20), "the model of a %d KiB input holds %d MiB", len(doc)>>10, grew>>20)
	assert.Len(t, d.Peripherals[0].Clusters, 256)
	assert.Equal(t, strings.TrimSpace(long), d.Peripherals[0].Clusters[255].Registers[31].Description)
	runtime.KeepAlive(d)
}

// Text that %s substitution builds is bounded by Parse and by Describe.
func TestSubstitutedTextLimit(t *testing.T) {
	long := strings.Repeat("x", 64<<10) + "%s"
	var perr *ParseError

	// A %s list of registers in a %s list of clusters: Parse expands both.
	doc := device(fmt.Sprintf(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><dim>256</dim><dimIncrement>0x100</dimIncrement><name>C%%s</name><addressOffset>0</addressOffset>
<register><dim>32</dim><dimIncrement>4</dimIncrement><name>R%%s</name><addressOffset>0</addressOffset><description>%s</description></register>
</cluster></registers></peripheral>`, long))
	_, err := Parse(strings.NewReader(doc))
	require.ErrorAs(t, err, &perr)
	assert.Contains(t, err.Error(), "bytes of text after %s substitution")
	assert.True(t, strings.HasPrefix(perr.Path, "device DEV / peripheral P / cluster C"), perr.Path)

	// Arrays stay one element each in the model; Describe flattens them.
	doc = device(fmt.Sprintf(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><dim>64</dim><dimIncrement>0x100</dimIncrement><name>C[%%s]</name><addressOffset>0</addressOffset>
<register><dim>64</dim><dimIncrement>4</dimIncrement><name>R[%%s]</name><addressOffset>0</addressOffset><description>%s</description></register>
</cluster></registers></peripheral>`, long))
	d := parseString(t, doc)
	_, err = d.Describe()
	require.ErrorAs(t, err, &perr)
	assert.Contains(t, err.Error(), "bytes of text after %s substitution")
	assert.Equal(t, "device DEV / peripheral P / cluster C / register R", perr.Path)
}
