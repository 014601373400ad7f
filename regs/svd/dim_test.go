package svd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDimRegisterArray(t *testing.T) {
	doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register>
  <dim>4</dim><dimIncrement>0x10</dimIncrement><dimName>MB_T</dimName>
  <name>MB[%s]</name><displayName>Mailbox[%s]</displayName><description>Mailbox %s</description>
  <addressOffset>0x100</addressOffset>
</register></registers></peripheral>`)
	d := parseString(t, doc)
	p := d.Peripherals[0]
	require.Len(t, p.Registers, 1, "an array stays one element")
	mb := p.Registers[0]
	assert.Equal(t, "MB", mb.Name)
	assert.Equal(t, "MB[%s]", mb.RawName)
	assert.Equal(t, "", mb.Index)
	assert.Equal(t, &Dim{Count: 4, Increment: 0x10, Index: []string{"0", "1", "2", "3"}, Name: "MB_T"}, mb.Dim)
	assert.Equal(t, uint64(0x100), mb.AddressOffset)
	assert.Equal(t, "Mailbox %s", mb.Description, "left for the consumer to substitute")
	assert.Equal(t, "Mailbox[%s]", mb.DisplayName)
}

func TestDimRegisterList(t *testing.T) {
	for _, tc := range []struct {
		name, dimIndex string
		count          int
		want           []string
	}{
		{"default", "", 3, []string{"CH0", "CH1", "CH2"}},
		{"list", "<dimIndex>A,B,C</dimIndex>", 3, []string{"CHA", "CHB", "CHC"}},
		{"range", "<dimIndex>4-6</dimIndex>", 3, []string{"CH4", "CH5", "CH6"}},
		{"letters", "<dimIndex>X-Z</dimIndex>", 3, []string{"CHX", "CHY", "CHZ"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><dim>3</dim><dimIncrement>4</dimIncrement>` + tc.dimIndex + `
<name>CH%s</name><displayName>Channel %s</displayName><description>Channel %s config</description>
<addressOffset>0x20</addressOffset>
<fields><field><name>F</name><description>bit of %s</description><bitOffset>0</bitOffset></field></fields>
</register></registers></peripheral>`)
			d := parseString(t, doc)
			rs := d.Peripherals[0].Registers
			assert.Equal(t, tc.want, regNames(rs))
			for i, r := range rs {
				idx := strings.TrimPrefix(r.Name, "CH")
				assert.Nil(t, r.Dim)
				assert.Equal(t, "CH%s", r.RawName)
				assert.Equal(t, idx, r.Index)
				assert.Equal(t, uint64(0x20+4*i), r.AddressOffset)
				assert.Equal(t, "Channel "+idx, r.DisplayName)
				assert.Equal(t, "Channel "+idx+" config", r.Description)
				assert.Equal(t, "bit of %s", r.Fields[0].Description, "only the element's own texts are substituted")
				assert.Equal(t, lineOf(t, doc, "<register>"), r.Line)
			}
		})
	}
}

func TestDimClusters(t *testing.T) {
	doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><dim>2</dim><dimIncrement>0x100</dimIncrement><name>MBOX[%s]</name><addressOffset>0x1000</addressOffset>
  <register><name>STATUS</name><addressOffset>4</addressOffset></register>
  <cluster><dim>3</dim><dimIncrement>0x10</dimIncrement><dimIndex>A,B,C</dimIndex><name>SUB%s</name><addressOffset>0x20</addressOffset>
    <register><name>X</name><addressOffset>0</addressOffset></register>
  </cluster>
</cluster></registers></peripheral>`)
	d := parseString(t, doc)
	p := d.Peripherals[0]
	require.Len(t, p.Clusters, 1)
	mb := p.Clusters[0]
	assert.Equal(t, "MBOX", mb.Name)
	assert.Equal(t, 2, mb.Dim.Count)
	assert.Equal(t, uint64(0x1000), mb.AddressOffset)
	require.Len(t, mb.Clusters, 3)
	for i, name := range []string{"SUBA", "SUBB", "SUBC"} {
		assert.Equal(t, name, mb.Clusters[i].Name)
		assert.Equal(t, uint64(0x20+0x10*i), mb.Clusters[i].AddressOffset)
		assert.Nil(t, mb.Clusters[i].Dim)
		assert.Equal(t, "X", mb.Clusters[i].Registers[0].Name)
	}
}

func TestDimPeripherals(t *testing.T) {
	for _, name := range []string{"UART%s", "UART[%s]"} {
		doc := device(`<peripheral><dim>2</dim><dimIncrement>0x1000</dimIncrement><name>` + name + `</name>
<description>UART %s</description><baseAddress>0x40000000</baseAddress></peripheral>`)
		d := parseString(t, doc)
		require.Len(t, d.Peripherals, 2, name)
		for i, p := range d.Peripherals {
			idx := string(rune('0' + i))
			assert.Equal(t, "UART"+idx, p.Name)
			assert.Equal(t, name, p.RawName)
			assert.Equal(t, idx, p.Index)
			assert.Equal(t, uint64(0x40000000+0x1000*i), p.BaseAddress)
			assert.Equal(t, "UART "+idx, p.Description)
		}
	}
}

func TestDimFields(t *testing.T) {
	for _, name := range []string{"EN%s", "EN[%s]"} {
		doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><size>16</size><fields>
<field><dim>4</dim><dimIncrement>2</dimIncrement><name>` + name + `</name><description>Enable %s</description>
<bitOffset>8</bitOffset><bitWidth>2</bitWidth></field>
</fields></register></registers></peripheral>`)
		d := parseString(t, doc)
		fs := d.Peripherals[0].Registers[0].Fields
		assert.Equal(t, []string{"EN0", "EN1", "EN2", "EN3"}, fieldNames(fs), name)
		for i, f := range fs {
			assert.Equal(t, 8+2*i, f.BitOffset)
			assert.Equal(t, 2, f.BitWidth)
			assert.Equal(t, name, f.RawName)
			assert.Equal(t, "Enable "+f.Index, f.Description)
		}
	}
	perr := parseError(t, device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><name>R</name><addressOffset>0</addressOffset><size>16</size><fields>
<field><dim>5</dim><dimIncrement>2</dimIncrement><name>EN%s</name><bitOffset>8</bitOffset><bitWidth>2</bitWidth></field>
</fields></register></registers></peripheral>`))
	assert.Equal(t, "device DEV / peripheral P / register R / field EN%s", perr.Path)
	assert.Contains(t, perr.Error(), "does not fit in the 16-bit register")
}

func TestDimErrors(t *testing.T) {
	reg := func(body string) string {
		return device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register>` + body + `</register></registers></peripheral>`)
	}
	for _, tc := range []struct {
		name, doc, path, marker, contains string
	}{
		{"zero", reg("<name>R[%s]</name><addressOffset>0</addressOffset>\n<dim>0</dim><dimIncrement>4</dimIncrement>"),
			"device DEV / peripheral P / register R[%s]", "<dim>", "<dim> is 0"},
		{"too many", reg("<name>R[%s]</name><addressOffset>0</addressOffset>\n<dim>4097</dim><dimIncrement>4</dimIncrement>"),
			"device DEV / peripheral P / register R[%s]", "<dim>", "more than 4096"},
		{"no increment", reg("<name>R[%s]</name><addressOffset>0</addressOffset>\n<dim>2</dim>"),
			"device DEV / peripheral P / register R[%s]", "<dim>", "without <dimIncrement>"},
		{"index count", reg("<name>R%s</name><addressOffset>0</addressOffset><dim>2</dim><dimIncrement>4</dimIncrement>\n<dimIndex>A,B,C</dimIndex>"),
			"device DEV / peripheral P / register R%s", "<dimIndex>", "has 3 entries, dim is 2"},
		{"bad index", reg("<name>R%s</name><addressOffset>0</addressOffset><dim>2</dim><dimIncrement>4</dimIncrement>\n<dimIndex>A;B</dimIndex>"),
			"device DEV / peripheral P / register R%s", "<dimIndex>", "dimIndex"},
		{"no %s", reg("<name>R</name><addressOffset>0</addressOffset>\n<dim>2</dim><dimIncrement>4</dimIncrement>"),
			"device DEV / peripheral P / register R", "<dim>", "has no %s"},
		{"%s without dim", reg("\n<name>R%s</name><addressOffset>0</addressOffset>"),
			"device DEV / peripheral P / register R%s", "<register>", "no <dim>"},
		{"nothing before [%s]", reg("\n<name>[%s]</name><addressOffset>0</addressOffset><dim>2</dim><dimIncrement>4</dimIncrement>"),
			"device DEV / peripheral P / register [%s]", "<register>", "nothing before [%s]"},
		{"bad number", reg("<name>R%s</name><addressOffset>0</addressOffset>\n<dim>two</dim><dimIncrement>4</dimIncrement>"),
			"device DEV / peripheral P / register R%s", "<dim>", `bad number "two"`},
		{"overflowing list", reg("<name>R%s</name><addressOffset>0xFFFFFFFFFFFFFFF0</addressOffset>\n<dim>2</dim><dimIncrement>0x10</dimIncrement>"),
			"device DEV / peripheral P / register R%s", "<register>", "overflows"},
		{"overflowing array", reg("<name>R[%s]</name><addressOffset>0xFFFFFFFFFFFFFFF0</addressOffset>\n<dim>2</dim><dimIncrement>0x10</dimIncrement>"),
			"device DEV / peripheral P / register R[%s]", "<register>", "past the address space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perr := parseError(t, tc.doc)
			assert.Equal(t, tc.path, perr.Path)
			assert.Equal(t, lineOf(t, tc.doc, tc.marker), perr.Line)
			assert.Contains(t, perr.Err.Error(), tc.contains)
		})
	}
}
