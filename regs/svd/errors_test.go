package svd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errDoc is a device with one peripheral IPCC and one register C1CR; each
// case of TestParseErrors replaces one marked part of it.
const errDoc = `<device>
<name>STM32WB55_CM4</name>
<peripherals>
<peripheral>
<name>IPCC</name>
<baseAddress>0x58000C00</baseAddress>
@PERIPH@
<registers>
<register>
<name>C1CR</name>
<addressOffset>0x0</addressOffset>
@REG@
<fields>
<field>
<name>RXOIE</name>
@FIELD@
</field>
</fields>
</register>
</registers>
</peripheral>
</peripherals>
</device>
`

func TestParseErrors(t *testing.T) {
	const (
		dev    = "device STM32WB55_CM4"
		periph = dev + " / peripheral IPCC"
		reg    = periph + " / register C1CR"
		field  = reg + " / field RXOIE"
	)
	for _, tc := range []struct {
		name                 string
		periph, reg, field   string
		path, marker, substr string
	}{
		{name: "bad access", field: "<bitOffset>0</bitOffset>\n<access>read-mostly</access>",
			path: field, marker: "<access>", substr: `unknown access type "read-mostly"`},
		{name: "bad register access", reg: "<access>rw</access>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<access>", substr: `unknown access type "rw"`},
		{name: "bad peripheral access", periph: "<access>x</access>", field: "<bitOffset>0</bitOffset>",
			path: periph, marker: "<access>", substr: `unknown access type "x"`},
		{name: "bad modifiedWriteValues", field: "<bitOffset>0</bitOffset>\n<modifiedWriteValues>oneToZap</modifiedWriteValues>",
			path: field, marker: "<modifiedWriteValues>", substr: "unknown modifiedWriteValues"},
		{name: "bad register modifiedWriteValues", reg: "<modifiedWriteValues>x</modifiedWriteValues>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<modifiedWriteValues>", substr: "unknown modifiedWriteValues"},
		{name: "bad readAction", field: "<bitOffset>0</bitOffset>\n<readAction>explode</readAction>",
			path: field, marker: "<readAction>", substr: "unknown readAction"},
		{name: "bad register readAction", reg: "<readAction>explode</readAction>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<readAction>", substr: "unknown readAction"},
		{name: "field outside register", field: "<bitOffset>31</bitOffset>\n<bitWidth>2</bitWidth>",
			path: field, marker: "<field>", substr: "bits [32:31] does not fit in the 32-bit register"},
		{name: "field outside small register", reg: "<size>8</size>", field: "<bitRange>[8:8]</bitRange>",
			path: field, marker: "<field>", substr: "does not fit in the 8-bit register"},
		{name: "field past bit 63", field: "<lsb>0</lsb><msb>64</msb>",
			path: field, marker: "<field>", substr: "past bit 63"},
		{name: "field offset past bit 63", field: "<bitOffset>64</bitOffset>",
			path: field, marker: "<field>", substr: "past bit 63"},
		{name: "msb below lsb", field: "<lsb>4</lsb>\n<msb>3</msb>",
			path: field, marker: "<msb>", substr: "below <lsb>"},
		{name: "bitRange backwards", field: "<bitRange>[3:4]</bitRange>",
			path: field, marker: "<bitRange>", substr: "msb below lsb"},
		{name: "bitRange malformed", field: "<bitRange>3:4</bitRange>",
			path: field, marker: "<bitRange>", substr: "want [msb:lsb]"},
		{name: "bitRange bad number", field: "<bitRange>[x:4]</bitRange>",
			path: field, marker: "<bitRange>", substr: "want [msb:lsb]"},
		{name: "lsb without msb", field: "<lsb>4</lsb>",
			path: field, marker: "<field>", substr: "must come together"},
		{name: "zero bitWidth", field: "<bitOffset>4</bitOffset>\n<bitWidth>0</bitWidth>",
			path: field, marker: "<bitWidth>", substr: "<bitWidth> is 0"},
		{name: "two position forms", field: "<bitOffset>4</bitOffset><bitRange>[4:4]</bitRange>",
			path: field, marker: "<field>", substr: "more than one form"},
		{name: "no position", field: "",
			path: field, marker: "<field>", substr: "missing bit position"},
		{name: "bad bitOffset", field: "<bitOffset>0x</bitOffset>",
			path: field, marker: "<bitOffset>", substr: `<bitOffset>: bad number "0x"`},
		{name: "bad size", reg: "<size>0x2G0</size>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<size>", substr: `bad number "0x2G0"`},
		{name: "size zero", reg: "<size>0</size>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<size>", substr: "not between 1 and 64"},
		{name: "size too big", periph: "<size>128</size>", field: "<bitOffset>0</bitOffset>",
			path: periph, marker: "<size>", substr: "not between 1 and 64"},
		{name: "bad resetValue", reg: "<resetValue>-1</resetValue>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<resetValue>", substr: `<resetValue>: bad number "-1"`},
		{name: "bad resetMask", reg: "<resetMask>#12</resetMask>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<resetMask>", substr: `<resetMask>: bad number "#12"`},
		{name: "don't-care outside an enum", reg: "<resetValue>#1x</resetValue>", field: "<bitOffset>0</bitOffset>",
			path: reg, marker: "<resetValue>", substr: "don't-care"},
		{name: "enum value too wide", field: "<bitOffset>0</bitOffset><enumeratedValues><enumeratedValue><name>TWO</name>\n<value>2</value></enumeratedValue></enumeratedValues>",
			path: field + " / enumeratedValues / enumeratedValue TWO", marker: "<value>", substr: "does not fit in the 1-bit field"},
		{name: "enum bad value", field: "<bitRange>[3:0]</bitRange><enumeratedValues><name>E</name><enumeratedValue><name>V</name>\n<value>0xQ</value></enumeratedValue></enumeratedValues>",
			path: field + " / enumeratedValues E / enumeratedValue V", marker: "<value>", substr: `bad number "0xQ"`},
		{name: "enum no value", field: "<bitRange>[3:0]</bitRange><enumeratedValues>\n<enumeratedValue><name>V</name></enumeratedValue></enumeratedValues>",
			path: field + " / enumeratedValues / enumeratedValue V", marker: "<enumeratedValue>", substr: "missing <value>"},
		{name: "enum no name", field: "<bitRange>[3:0]</bitRange><enumeratedValues>\n<enumeratedValue><value>1</value></enumeratedValue></enumeratedValues>",
			path: field + " / enumeratedValues / enumeratedValue", marker: "<enumeratedValue>", substr: "missing <name>"},
		{name: "enum bad isDefault", field: "<bitRange>[3:0]</bitRange><enumeratedValues><enumeratedValue><name>V</name>\n<isDefault>maybe</isDefault></enumeratedValue></enumeratedValues>",
			path: field + " / enumeratedValues / enumeratedValue V", marker: "<isDefault>", substr: `bad boolean "maybe"`},
		{name: "enum too many don't-cares", field: "<bitRange>[15:0]</bitRange><enumeratedValues><enumeratedValue><name>V</name>\n<value>#xxxxxxxxx</value></enumeratedValue></enumeratedValues>",
			path: field + " / enumeratedValues / enumeratedValue V", marker: "<value>", substr: "more than 8 don't-care bits"},
		{name: "enum bad usage", field: "<bitRange>[3:0]</bitRange><enumeratedValues>\n<usage>sometimes</usage></enumeratedValues>",
			path: field + " / enumeratedValues", marker: "<usage>", substr: `unknown <usage> "sometimes"`},
		{name: "field without name", field: "<bitOffset>0</bitOffset></field><field>\n<bitOffset>1</bitOffset>",
			path: reg + " / field", marker: "</field><field>", substr: "missing <name>"},
		{name: "register without offset", reg: "</register><register><name>R2</name>", field: "<bitOffset>0</bitOffset>",
			path: periph + " / register R2", marker: "</register><register>", substr: "missing <addressOffset>"},
		{name: "bad addressOffset", reg: "</register><register><name>R2</name>\n<addressOffset>x</addressOffset>", field: "<bitOffset>0</bitOffset>",
			path: periph + " / register R2", marker: "<addressOffset>x", substr: `<addressOffset>: bad number "x"`},
		{name: "bad baseAddress", periph: "</peripheral><peripheral><name>P2</name>\n<baseAddress>0x1.0</baseAddress>", field: "<bitOffset>0</bitOffset>",
			path: dev + " / peripheral P2", marker: "<baseAddress>0x1.0", substr: "bad number"},
		{name: "peripheral without base", periph: "</peripheral><peripheral><name>P2</name>", field: "<bitOffset>0</bitOffset>",
			path: dev + " / peripheral P2", marker: "</peripheral><peripheral>", substr: "missing <baseAddress>"},
		{name: "peripheral without name", periph: "</peripheral><peripheral><baseAddress>0</baseAddress>", field: "<bitOffset>0</bitOffset>",
			path: dev + " / peripheral", marker: "</peripheral><peripheral>", substr: "missing <name>"},
		{name: "cluster without offset", reg: "</register><cluster><name>CL</name></cluster><register><name>X</name><addressOffset>0</addressOffset>", field: "<bitOffset>0</bitOffset>",
			path: periph + " / cluster CL", marker: "<cluster>", substr: "missing <addressOffset>"},
		{name: "interrupt without value", periph: "<interrupt>\n<name>IRQ</name></interrupt>", field: "<bitOffset>0</bitOffset>",
			path: periph + " / interrupt IRQ", marker: "<interrupt>", substr: "missing <value>"},
		{name: "interrupt bad value", periph: "<interrupt><name>IRQ</name>\n<value>x</value></interrupt>", field: "<bitOffset>0</bitOffset>",
			path: periph + " / interrupt IRQ", marker: "<value>", substr: "bad interrupt number"},
		{name: "addressBlock without size", periph: "<addressBlock>\n<offset>0</offset></addressBlock>", field: "<bitOffset>0</bitOffset>",
			path: periph, marker: "<addressBlock>", substr: "missing <size>"},
		{name: "bad XML", field: "<bitOffset>0</bitOffset>\n<access>read-only</acess>",
			path: field, marker: "</acess>", substr: "bad XML"},
		{name: "bad entity", field: "<bitOffset>0</bitOffset>\n<description>&nope;</description>",
			path: field, marker: "&nope;", substr: "bad XML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.NewReplacer("@PERIPH@", tc.periph, "@REG@", tc.reg, "@FIELD@", tc.field).Replace(errDoc)
			perr := parseError(t, doc)
			assert.Equal(t, tc.path, perr.Path)
			assert.Equal(t, lineOf(t, doc, tc.marker), perr.Line, "%v", perr)
			assert.Contains(t, perr.Err.Error(), tc.substr)
			assert.Contains(t, perr.Error(), tc.path)
		})
	}
}

func TestParseErrorsDocument(t *testing.T) {
	for _, tc := range []struct {
		name, doc, path string
		line            int
		substr          string
	}{
		{"empty", "", "", 0, "no <device>"},
		{"not XML", "hello", "", 0, "no <device>"},
		{"wrong root", "\n<svd/>", "", 2, "want <device>"},
		{"two roots", "<device><name>A</name></device>\n<device/>", "", 2, "more than one"},
		{"truncated", "<device>\n<name>A</name>\n<peripherals>", "device A", 3, "bad XML"},
		{"device without name", "<device>\n<peripherals/></device>", "device", 1, "missing <name>"},
		{"bad width", "<device><name>A</name>\n<width>wide</width></device>", "device A", 2, `bad number "wide"`},
		{"huge width", "<device><name>A</name>\n<width>0x1FFFFFFFF</width></device>", "device A", 2, "is more than"},
		{"bad device size", "<device><name>A</name>\n<size>65</size></device>", "device A", 2, "not between 1 and 64"},
		{"deep XML", "<device><name>A</name>" + strings.Repeat("\n<x>", 100), "device A", 65, "nested more than 64 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perr := parseError(t, tc.doc)
			assert.Equal(t, tc.path, perr.Path)
			assert.Equal(t, tc.line, perr.Line)
			assert.Contains(t, perr.Err.Error(), tc.substr)
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	inner := errors.New("boom")
	e := &ParseError{Path: "device D / peripheral P", Line: 12, Err: inner}
	assert.Equal(t, "svd: device D / peripheral P: line 12: boom", e.Error())
	assert.ErrorIs(t, e, inner)
	assert.Equal(t, "svd: boom", (&ParseError{Err: inner}).Error())
}

func TestClusterDepthLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; i <= MaxClusterDepth; i++ {
		b.WriteString("<cluster><name>C</name><addressOffset>0</addressOffset>\n")
	}
	for i := 0; i <= MaxClusterDepth; i++ {
		b.WriteString("</cluster>")
	}
	doc := device("<peripheral><name>P</name><baseAddress>0</baseAddress><registers>\n" + b.String() + "</registers></peripheral>")
	perr := parseError(t, doc)
	assert.Contains(t, perr.Err.Error(), "clusters nested more than 32 deep")
	assert.Equal(t, 5+MaxClusterDepth, perr.Line, "the line of the cluster one too deep")
}

func TestElementLimit(t *testing.T) {
	// 4096 x 4096 registers from a few hundred bytes.
	doc := device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<cluster><dim>4096</dim><dimIncrement>0x10000</dimIncrement><name>C%s</name><addressOffset>0</addressOffset>
<register><dim>4096</dim><dimIncrement>4</dimIncrement><name>R%s</name><addressOffset>0</addressOffset></register>
</cluster></registers></peripheral>`)
	perr := parseError(t, doc)
	assert.Contains(t, perr.Err.Error(), fmt.Sprintf("more than %d elements", MaxElements))

	// Doubling through derivedFrom.
	var b strings.Builder
	b.WriteString(`<cluster><name>C0</name><addressOffset>0</addressOffset><register><dim>4096</dim><dimIncrement>4</dimIncrement><name>R%s</name><addressOffset>0</addressOffset></register></cluster>`)
	for i := 1; i < 40; i++ {
		b.WriteString("<cluster><name>C" + strconv.Itoa(i) + "</name><addressOffset>0</addressOffset>")
		b.WriteString(`<cluster derivedFrom="C` + strconv.Itoa(i-1) + `"><name>A</name><addressOffset>0</addressOffset></cluster>`)
		b.WriteString(`<cluster derivedFrom="C` + strconv.Itoa(i-1) + `"><name>B</name><addressOffset>0</addressOffset></cluster>`)
		b.WriteString("</cluster>")
	}
	doc = device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>` + b.String() + `</registers></peripheral>`)
	_, err := Parse(strings.NewReader(doc))
	require.Error(t, err)
	// The cap or the nesting limit stops it, whichever comes first.
	assert.Regexp(t, fmt.Sprintf("more than %d elements|nested more than", MaxElements), err.Error())
	t.Log(err)
}
