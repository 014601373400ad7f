package svd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/regs"
)

func TestDerivedPeripheral(t *testing.T) {
	doc := device(`
<peripheral derivedFrom="UART0">
  <name>UART1</name>
  <baseAddress>0x40002000</baseAddress>
  <interrupt><name>UART1_IRQ</name><value>2</value></interrupt>
</peripheral>
<peripheral>
  <name>UART0</name>
  <description>UART</description>
  <groupName>UART</groupName>
  <baseAddress>0x40001000</baseAddress>
  <size>16</size>
  <interrupt><name>UART0_IRQ</name><value>1</value></interrupt>
  <registers>
    <register><name>DR</name><addressOffset>0</addressOffset></register>
    <register><name>SR</name><addressOffset>4</addressOffset><resetValue>0x10</resetValue></register>
  </registers>
</peripheral>
<peripheral derivedFrom="UART0">
  <name>UART2</name>
  <description>Another UART</description>
  <baseAddress>0x40003000</baseAddress>
  <access>read-only</access>
  <registers>
    <register><name>SR</name><addressOffset>8</addressOffset></register>
    <register><name>EXTRA</name><addressOffset>0xC</addressOffset></register>
  </registers>
</peripheral>
<peripheral derivedFrom="UART1">
  <name>UART3</name>
  <baseAddress>0x40004000</baseAddress>
</peripheral>`)
	d := parseString(t, doc)
	require.Len(t, d.Peripherals, 4)

	u0, u1, u2, u3 := d.Peripheral("UART0"), d.Peripheral("UART1"), d.Peripheral("UART2"), d.Peripheral("UART3")
	assert.Equal(t, "UART0", u1.DerivedFrom)
	assert.Equal(t, lineOf(t, doc, `<peripheral derivedFrom="UART0">`), u1.Line)
	assert.Equal(t, uint64(0x40002000), u1.BaseAddress)
	assert.Equal(t, "UART", u1.Description, "copied from the base")
	assert.Equal(t, "UART", u1.GroupName)
	assert.Equal(t, 16, u1.Defaults.Size)
	assert.Equal(t, []string{"DR", "SR"}, regNames(u1.Registers))
	assert.Equal(t, 16, u1.Register("DR").Size)
	assert.Equal(t, u0.Register("DR").Line, u1.Register("DR").Line, "copied elements keep their source line")
	require.Len(t, u1.Interrupts, 1)
	assert.Equal(t, "UART1_IRQ", u1.Interrupts[0].Name, "stated interrupts replace the base's")

	assert.Equal(t, "Another UART", u2.Description)
	assert.Equal(t, []string{"DR", "SR", "EXTRA"}, regNames(u2.Registers), "registers merged by name")
	assert.Equal(t, uint64(8), u2.Register("SR").AddressOffset)
	assert.Equal(t, uint64(0), u2.Register("SR").ResetValue, "the override replaces the whole register")
	assert.Equal(t, regs.ReadOnly, u2.Register("DR").Access, "copied registers inherit from their new parent")
	assert.Equal(t, "UART0_IRQ", u2.Interrupts[0].Name, "interrupts are inherited when none is stated")

	assert.Equal(t, "UART1", u3.DerivedFrom)
	assert.Equal(t, []string{"DR", "SR"}, regNames(u3.Registers), "chains of derivation")
	assert.Equal(t, "UART1_IRQ", u3.Interrupts[0].Name)
}

func regNames(rs []*Register) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func fieldNames(fs []*Field) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestDerivedRegister(t *testing.T) {
	doc := device(`
<peripheral>
  <name>A</name>
  <baseAddress>0</baseAddress>
  <registers>
    <register>
      <name>CTRL</name><description>Control</description><addressOffset>0</addressOffset><size>16</size>
      <resetValue>0x5</resetValue>
      <fields>
        <field><name>EN</name><bitOffset>0</bitOffset></field>
        <field><name>MODE</name><bitOffset>1</bitOffset><bitWidth>2</bitWidth></field>
      </fields>
    </register>
    <register derivedFrom="CTRL"><name>CTRL2</name><addressOffset>4</addressOffset></register>
    <register derivedFrom="CTRL">
      <name>CTRL3</name><addressOffset>8</addressOffset>
      <fields><field><name>MODE</name><bitOffset>4</bitOffset><bitWidth>4</bitWidth></field>
              <field><name>NEW</name><bitOffset>15</bitOffset></field></fields>
    </register>
    <cluster>
      <name>CL</name><addressOffset>0x100</addressOffset>
      <register><name>INNER</name><addressOffset>0</addressOffset><size>8</size></register>
      <register derivedFrom="INNER"><name>INNER2</name><addressOffset>1</addressOffset></register>
      <register derivedFrom="CTRL"><name>OUTER</name><addressOffset>2</addressOffset></register>
    </cluster>
  </registers>
</peripheral>
<peripheral>
  <name>B</name>
  <baseAddress>0x1000</baseAddress>
  <registers>
    <register derivedFrom="A.CTRL"><name>X</name><addressOffset>0</addressOffset></register>
    <register derivedFrom="A.CL.INNER"><name>Y</name><addressOffset>4</addressOffset></register>
  </registers>
</peripheral>`)
	d := parseString(t, doc)
	a, b := d.Peripheral("A"), d.Peripheral("B")

	c2 := a.Register("CTRL2")
	assert.Equal(t, "CTRL", c2.DerivedFrom)
	assert.Equal(t, "Control", c2.Description)
	assert.Equal(t, uint64(4), c2.AddressOffset)
	assert.Equal(t, 16, c2.Size)
	assert.Equal(t, uint64(5), c2.ResetValue)
	assert.Equal(t, []string{"EN", "MODE"}, fieldNames(c2.Fields))

	c3 := a.Register("CTRL3")
	assert.Equal(t, []string{"EN", "MODE", "NEW"}, fieldNames(c3.Fields), "fields merged by name")
	assert.Equal(t, 4, c3.Field("MODE").BitOffset)
	assert.Equal(t, 4, c3.Field("MODE").BitWidth)

	assert.Equal(t, 8, a.Register("INNER2").Size, "sibling in a cluster")
	assert.Equal(t, 16, a.Register("OUTER").Size, "found in an enclosing scope")
	assert.Equal(t, uint64(2), a.Register("OUTER").AddressOffset)

	x := b.Register("X")
	assert.Equal(t, "A.CTRL", x.DerivedFrom)
	assert.Equal(t, 16, x.Size)
	assert.Equal(t, []string{"EN", "MODE"}, fieldNames(x.Fields))
	assert.Equal(t, 8, b.Register("Y").Size, "PERIPH.CLUSTER.REG")
}

func TestDerivedCluster(t *testing.T) {
	doc := device(`
<peripheral>
  <name>P</name>
  <baseAddress>0</baseAddress>
  <registers>
    <cluster>
      <name>CH0</name><description>Channel</description><addressOffset>0</addressOffset>
      <register><name>CFG</name><addressOffset>0</addressOffset></register>
      <register><name>STAT</name><addressOffset>4</addressOffset><access>read-only</access></register>
    </cluster>
    <cluster derivedFrom="CH0"><name>CH1</name><addressOffset>0x10</addressOffset></cluster>
    <cluster derivedFrom="P.CH0">
      <name>CH2</name><addressOffset>0x20</addressOffset>
      <register><name>EXTRA</name><addressOffset>8</addressOffset></register>
    </cluster>
  </registers>
</peripheral>`)
	d := parseString(t, doc)
	p := d.Peripherals[0]
	ch1, ch2 := p.Cluster("CH1"), p.Cluster("CH2")
	require.NotNil(t, ch1)
	assert.Equal(t, "Channel", ch1.Description)
	assert.Equal(t, uint64(0x10), ch1.AddressOffset)
	assert.Equal(t, []string{"CFG", "STAT"}, regNames(ch1.Registers))
	assert.Equal(t, regs.ReadOnly, ch1.Registers[1].Access)
	assert.Equal(t, []string{"CFG", "STAT", "EXTRA"}, regNames(ch2.Registers))
}

func TestDerivedField(t *testing.T) {
	doc := device(`
<peripheral>
  <name>P</name>
  <baseAddress>0</baseAddress>
  <registers>
    <register>
      <name>R</name><addressOffset>0</addressOffset>
      <fields>
        <field>
          <name>F0</name><description>First</description><bitRange>[3:0]</bitRange><access>read-only</access>
          <enumeratedValues><name>F0_E</name>
            <enumeratedValue><name>A</name><value>1</value></enumeratedValue>
          </enumeratedValues>
        </field>
        <field derivedFrom="F0"><name>F1</name><bitRange>[7:4]</bitRange></field>
        <field derivedFrom="F0"><name>F2</name><lsb>8</lsb><msb>9</msb><access>read-write</access></field>
        <field derivedFrom="F0"><name>F3</name></field>
      </fields>
    </register>
    <register>
      <name>S</name><addressOffset>4</addressOffset>
      <fields><field derivedFrom="R.F0"><name>G</name><bitOffset>20</bitOffset><bitWidth>4</bitWidth></field></fields>
    </register>
  </registers>
</peripheral>`)
	d := parseString(t, doc)
	r := d.Peripherals[0].Register("R")
	f1, f2, f3 := r.Field("F1"), r.Field("F2"), r.Field("F3")
	assert.Equal(t, "First", f1.Description)
	assert.Equal(t, 4, f1.BitOffset)
	assert.Equal(t, 4, f1.BitWidth)
	assert.Equal(t, regs.ReadOnly, f1.Access)
	require.Len(t, f1.Enums, 1)
	assert.Equal(t, "A", f1.Enums[0].Values[0].Name)
	assert.Equal(t, 8, f2.BitOffset, "a stated position form replaces the base's")
	assert.Equal(t, 2, f2.BitWidth)
	assert.Equal(t, regs.ReadWrite, f2.Access)
	assert.Equal(t, 0, f3.BitOffset, "position copied")
	assert.Equal(t, 4, f3.BitWidth)
	g := d.Peripherals[0].Register("S").Field("G")
	assert.Equal(t, 20, g.BitOffset)
	assert.Equal(t, "First", g.Description)
}

func TestDerivedEnums(t *testing.T) {
	doc := device(`
<peripheral>
  <name>P</name>
  <baseAddress>0</baseAddress>
  <registers>
    <register>
      <name>R</name><addressOffset>0</addressOffset>
      <fields>
        <field>
          <name>F0</name><bitRange>[1:0]</bitRange>
          <enumeratedValues><name>MODE_E</name><headerEnumName>Mode</headerEnumName>
            <enumeratedValue><name>OFF</name><value>0</value></enumeratedValue>
            <enumeratedValue><name>ON</name><value>1</value></enumeratedValue>
          </enumeratedValues>
        </field>
        <field><name>F1</name><bitRange>[3:2]</bitRange><enumeratedValues derivedFrom="MODE_E"><name>MODE_E</name></enumeratedValues></field>
        <field><name>F2</name><bitRange>[5:4]</bitRange>
          <enumeratedValues derivedFrom="MODE_E"><name>MODE2_E</name>
            <enumeratedValue><name>ON</name><value>3</value></enumeratedValue>
            <enumeratedValue><name>AUTO</name><value>2</value></enumeratedValue>
          </enumeratedValues>
        </field>
      </fields>
    </register>
    <register>
      <name>S</name><addressOffset>4</addressOffset>
      <fields>
        <field><name>G</name><bitRange>[1:0]</bitRange><enumeratedValues derivedFrom="R.F0.MODE_E"/></field>
        <field><name>H</name><bitRange>[3:2]</bitRange><enumeratedValues derivedFrom="P.R.F0.MODE_E"/></field>
        <field><name>I</name><bitRange>[5:4]</bitRange><enumeratedValues derivedFrom="MODE2_E"/></field>
      </fields>
    </register>
  </registers>
</peripheral>`)
	d := parseString(t, doc)
	p := d.Peripherals[0]
	values := func(f *Field) map[string]uint64 {
		m := map[string]uint64{}
		for _, v := range f.ReadValues() {
			m[v.Name] = v.Value
		}
		return m
	}
	f1 := p.Register("R").Field("F1")
	assert.Equal(t, map[string]uint64{"OFF": 0, "ON": 1}, values(f1))
	assert.Equal(t, "MODE_E", f1.Enums[0].DerivedFrom, "a container named like its base derives from the other one")
	assert.Equal(t, "Mode", f1.Enums[0].HeaderEnumName)
	assert.Equal(t, map[string]uint64{"OFF": 0, "ON": 3, "AUTO": 2}, values(p.Register("R").Field("F2")), "values merged by name")
	assert.Equal(t, map[string]uint64{"OFF": 0, "ON": 1}, values(p.Register("S").Field("G")))
	assert.Equal(t, map[string]uint64{"OFF": 0, "ON": 1}, values(p.Register("S").Field("H")))
	assert.Equal(t, map[string]uint64{"OFF": 0, "ON": 3, "AUTO": 2}, values(p.Register("S").Field("I")), "found in another register")
}

func TestDerivedEnumsMustFit(t *testing.T) {
	doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><fields>
<field><name>WIDE</name><bitRange>[3:0]</bitRange><enumeratedValues><name>E</name>
  <enumeratedValue><name>BIG</name><value>9</value></enumeratedValue></enumeratedValues></field>
<field><name>NARROW</name><bitRange>[4:4]</bitRange><enumeratedValues derivedFrom="E"/></field>
</fields></register></registers></peripheral>`)
	perr := parseError(t, doc)
	assert.Equal(t, "device DEV / peripheral P / register R / field NARROW / enumeratedValues / enumeratedValue BIG", perr.Path)
	assert.Contains(t, perr.Error(), "does not fit in the 1-bit field")
}

func TestDerivedFromArray(t *testing.T) {
	doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>MB[%s]</name><dim>4</dim><dimIncrement>4</dimIncrement><addressOffset>0</addressOffset><size>16</size></register>
<register derivedFrom="MB"><name>COPY[%s]</name><addressOffset>0x20</addressOffset></register>
<register derivedFrom="MB[%s]"><name>ONE</name><addressOffset>0x40</addressOffset></register>
</registers></peripheral>`)
	d := parseString(t, doc)
	p := d.Peripherals[0]
	cp := p.Register("COPY")
	require.NotNil(t, cp.Dim, "the dim comes along for a name with %s")
	assert.Equal(t, 4, cp.Dim.Count)
	assert.Equal(t, 16, cp.Size)
	one := p.Register("ONE")
	assert.Nil(t, one.Dim, "but not for a plain name")
	assert.Equal(t, 16, one.Size)
}

func TestDerivedErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		doc      string
		path     string
		marker   string // the error's line is the line of this text
		contains string
	}{
		{
			name: "missing peripheral",
			doc: device(`<peripheral derivedFrom="NOPE">
<name>P</name><baseAddress>0</baseAddress></peripheral>`),
			path: "device DEV / peripheral P", marker: `derivedFrom="NOPE"`, contains: `derivedFrom "NOPE": no such peripheral`,
		},
		{
			name: "peripheral cycle",
			doc: device(`<peripheral derivedFrom="B"><name>A</name><baseAddress>0</baseAddress></peripheral>
<peripheral derivedFrom="A"><name>B</name><baseAddress>0</baseAddress></peripheral>`),
			path: "device DEV / peripheral A", marker: `derivedFrom="B"`, contains: "cycle",
		},
		{
			name: "self",
			doc: device(`<peripheral derivedFrom="A">
<name>A</name><baseAddress>0</baseAddress></peripheral>`),
			path: "device DEV / peripheral A", marker: `derivedFrom="A"`, contains: "cycle",
		},
		{
			name: "register cycle",
			doc: device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register derivedFrom="S"><name>R</name><addressOffset>0</addressOffset></register>
<register derivedFrom="T"><name>S</name><addressOffset>0</addressOffset></register>
<register derivedFrom="R"><name>T</name><addressOffset>0</addressOffset></register>
</registers></peripheral>`),
			path: "device DEV / peripheral P / register R", marker: `derivedFrom="S"`, contains: "cycle",
		},
		{
			name: "cluster from its ancestor",
			doc: device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><name>C</name><addressOffset>0</addressOffset>
<cluster derivedFrom="C"><name>D</name><addressOffset>0</addressOffset></cluster>
</cluster></registers></peripheral>`),
			path: "device DEV / peripheral P / cluster C / cluster D", marker: `derivedFrom="C"`, contains: "encloses",
		},
		{
			name: "missing register",
			doc: device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register derivedFrom="P.NOPE"><name>R</name><addressOffset>0</addressOffset></register>
</registers></peripheral>`),
			path: "device DEV / peripheral P / register R", marker: `derivedFrom="P.NOPE"`, contains: "no such register",
		},
		{
			name: "register from a cluster",
			doc: device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><name>C</name><addressOffset>0</addressOffset><register><name>X</name><addressOffset>0</addressOffset></register></cluster>
<register derivedFrom="C"><name>R</name><addressOffset>0</addressOffset></register>
</registers></peripheral>`),
			path: "device DEV / peripheral P / register R", marker: `derivedFrom="C"`, contains: "no such register",
		},
		{
			name: "missing field",
			doc: device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><fields>
<field derivedFrom="G"><name>F</name></field></fields></register>
</registers></peripheral>`),
			path: "device DEV / peripheral P / register R / field F", marker: `derivedFrom="G"`, contains: "no such field",
		},
		{
			name: "missing enums",
			doc: device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><fields>
<field><name>F</name><bitOffset>0</bitOffset>
<enumeratedValues derivedFrom="E"/></field></fields></register>
</registers></peripheral>`),
			path: "device DEV / peripheral P / register R / field F / enumeratedValues", marker: `derivedFrom="E"`, contains: "no such enumeratedValues",
		},
		{
			name: "empty reference",
			doc: device(`<peripheral derivedFrom="">
<name>A</name><baseAddress>0</baseAddress></peripheral>`),
			path: "device DEV / peripheral A", marker: `derivedFrom=""`, contains: "empty derivedFrom",
		},
		{
			name: "bad dotted reference",
			doc: device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register derivedFrom="P..R"><name>R</name><addressOffset>0</addressOffset></register>
</registers></peripheral>`),
			path: "device DEV / peripheral P / register R", marker: `derivedFrom="P..R"`, contains: "bad derivedFrom",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perr := parseError(t, tc.doc)
			assert.Equal(t, tc.path, perr.Path)
			assert.Equal(t, lineOf(t, tc.doc, tc.marker), perr.Line)
			assert.Contains(t, perr.Err.Error(), tc.contains)
		})
	}
}

// Looking up a derivedFrom must not scan the scope's registers each time:
// 10000 registers deriving from the last one parsed in seconds when it did
// (quadratic); with an index per scope it takes milliseconds.
func TestDeriveLookupIsNotQuadratic(t *testing.T) {
	const n = 10000
	var b strings.Builder
	b.WriteString(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<register derivedFrom="Z"><name>R%d</name><addressOffset>%d</addressOffset></register>`, i, 4*i)
	}
	fmt.Fprintf(&b, `<register><name>Z</name><addressOffset>%d</addressOffset><size>16</size></register>`, 4*n)
	b.WriteString(`</registers></peripheral>`)
	start := time.Now()
	d := parseString(t, device(b.String()))
	elapsed := time.Since(start)
	require.Len(t, d.Peripherals[0].Registers, n+1)
	assert.Equal(t, 16, d.Peripherals[0].Registers[n-1].Size)
	assert.Less(t, elapsed, 1500*time.Millisecond, "parsing %d derived registers", n)
}
