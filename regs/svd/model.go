package svd

import "github.com/ipcu/ipcu/regs"

// Limits on what hostile input can make the parser build. Real SVD files
// are far below them.
const (
	// MaxDim is the largest dim the parser accepts: an array or a list of
	// at most 4096 elements.
	MaxDim = 4096
	// MaxClusterDepth is how deeply clusters may nest.
	MaxClusterDepth = 32
	// MaxElements caps the number of elements (peripherals, clusters,
	// registers, fields, enumerated values) of a parsed Device, after
	// derivedFrom copies and %s lists are expanded.
	MaxElements = 1 << 18
	// MaxDescribeElements caps the number of registers Describe produces
	// in one call, after arrays and clusters are flattened, plus the
	// number of cluster array elements it walks through to find them.
	MaxDescribeElements = 1 << 18
	// MaxTextBytes caps the text that %s substitution builds: the bytes of
	// the display names and descriptions of expanded elements, counted
	// once by Parse and once by each Describe call. Text without %s is
	// cleaned once per element of the input and shared by its copies.
	MaxTextBytes = 32 << 20
)

// A Device is a parsed SVD file: one chip, or one core's view of it.
// Everything in it is resolved: derivedFrom elements are copies of their
// bases, %s lists are expanded, and register properties are inherited.
type Device struct {
	Name        string
	Vendor      string
	Series      string
	Version     string
	Description string
	// Width is the bit width of the bus, from <width>; 0 if not stated.
	Width int
	// AddressUnitBits is the number of bits of one address step, from
	// <addressUnitBits>; 8 if not stated.
	AddressUnitBits int
	// Defaults are the register properties every peripheral starts from.
	// Size defaults to Width, else 32; Access to read-write; ResetValue to
	// 0; ResetMask to all ones.
	Defaults    RegisterProperties
	Peripherals []*Peripheral // in document order
	Line        int           // line of <device>
}

// RegisterProperties are the SVD registerPropertiesGroup, the defaults that
// a device, peripheral or cluster hands down to the registers below it. In
// the parsed model they are the effective values: those stated on the
// element, else those of its parent.
type RegisterProperties struct {
	Size       int // in bits
	Access     regs.Access
	ResetValue uint64
	ResetMask  uint64
}

// A Peripheral is one block of registers at a base address.
type Peripheral struct {
	// Name is the peripheral's name. For a peripheral expanded from a dim
	// list, it is the name with the index substituted: "UART%s" and
	// "UART[%s]" both give "UART0", "UART1", ...
	Name string
	// RawName is the name as written in the SVD, "UART%s" for an expanded
	// peripheral; the same as Name otherwise.
	RawName string
	// Index is the dimIndex entry of a peripheral expanded from a dim list,
	// or "".
	Index            string
	Description      string
	Version          string
	GroupName        string
	HeaderStructName string
	BaseAddress      uint64
	// DerivedFrom is the stated derivedFrom, for information; the contents
	// are already copied from the base.
	DerivedFrom   string
	Defaults      RegisterProperties
	AddressBlocks []AddressBlock
	Interrupts    []Interrupt
	Registers     []*Register // in document order; offsets are relative to BaseAddress
	Clusters      []*Cluster  // in document order
	Line          int
}

// An AddressBlock is an address range a peripheral occupies, relative to
// its base address.
type AddressBlock struct {
	Offset uint64
	Size   uint64
	Usage  string // "registers", "buffer" or "reserved"
	Line   int
}

// An Interrupt is an interrupt line of a peripheral.
type Interrupt struct {
	Name        string
	Description string
	Value       int
	Line        int
}

// Dim describes an array: one element in the model that stands for Count
// elements in the address map, Increment bytes apart.
type Dim struct {
	Count int
	// Increment is the address step in bytes between two elements.
	Increment uint64
	// Index holds the Count names of the elements: the dimIndex entries,
	// or "0" to "Count-1" when the SVD states none.
	Index []string
	// Name is the SVD's dimName, or "".
	Name string
}

// A Cluster is a group of registers and clusters at an offset. It may be
// an array (Dim non-nil).
type Cluster struct {
	// Name is the cluster's name. For an array ("MBOX[%s]" in the SVD) it
	// is the name without "[%s]"; for an element of an expanded list
	// ("CH%s") it has the index substituted ("CH0").
	Name string
	// RawName is the name as written in the SVD.
	RawName string
	// Index is the dimIndex entry of an element of an expanded list, or "".
	Index string
	// Dim is set when the cluster is an array.
	Dim              *Dim
	Description      string
	HeaderStructName string
	// AddressOffset is relative to the parent cluster or peripheral. For
	// an array it is the offset of element 0.
	AddressOffset uint64
	// AlternateCluster names the cluster this one is another view of: its
	// registers may overlap others.
	AlternateCluster string
	DerivedFrom      string
	Defaults         RegisterProperties
	Registers        []*Register
	Clusters         []*Cluster
	Line             int
}

// A Register is one register. It may be an array (Dim non-nil).
//
// Size, Access, ResetValue and ResetMask are resolved: stated here or
// inherited from the cluster, peripheral or device. ResetValue and
// ResetMask are truncated to Size bits.
type Register struct {
	// Name is the register's name. For an array ("MB[%s]" in the SVD) it
	// is the name without "[%s]" ("MB"); for an element of an expanded list
	// ("CH%s") it has the index substituted ("CH0").
	Name string
	// RawName is the name as written in the SVD.
	RawName string
	// Index is the dimIndex entry of an element of an expanded list, or "".
	Index string
	// Dim is set when the register is an array.
	Dim         *Dim
	DisplayName string
	Description string
	// AddressOffset is relative to the parent cluster or peripheral. For
	// an array it is the offset of element 0.
	AddressOffset uint64
	Size          int // in bits, 1 to 64
	Access        regs.Access
	ResetValue    uint64
	ResetMask     uint64
	// WriteEffect is the register's modifiedWriteValues, if stated.
	WriteEffect regs.WriteEffect
	// ReadAction is the register's readAction, if stated.
	ReadAction regs.ReadAction
	// AlternateRegister names the register this one is another view of,
	// at the same address, and AlternateGroup the group of such views it
	// belongs to. Either lets it overlap other registers.
	AlternateRegister string
	AlternateGroup    string
	DerivedFrom       string
	Fields            []*Field // in document order
	Line              int
}

// A Field is a run of bits of a register.
type Field struct {
	// Name is the field's name; for a field expanded from a dim list, the
	// name with the index substituted. Both "%s" and "[%s]" field lists are
	// expanded ("EN%s" and "EN[%s]" give "EN0", "EN1", ...).
	Name string
	// RawName is the name as written in the SVD.
	RawName string
	// Index is the dimIndex entry of an expanded field, or "".
	Index       string
	Description string
	BitOffset   int // least significant bit
	BitWidth    int // at least 1
	// Access is the field's access, or the register's if not stated.
	Access regs.Access
	// WriteEffect is the field's modifiedWriteValues, or the register's if
	// not stated.
	WriteEffect regs.WriteEffect
	// ReadAction is the field's readAction, or the register's if not
	// stated.
	ReadAction  regs.ReadAction
	DerivedFrom string
	// Enums holds the field's enumeratedValues containers: SVD allows one
	// for reading and one for writing.
	Enums []*EnumeratedValues
	Line  int
}

// Mask returns the bits of the field in its register.
func (f *Field) Mask() uint64 {
	return widthMask(f.BitWidth) << uint(f.BitOffset)
}

// Msb returns the most significant bit of the field.
func (f *Field) Msb() int { return f.BitOffset + f.BitWidth - 1 }

// ReadValues returns the enumerated values that apply when reading the
// field: those of its "read" and "read-write" containers, or of all its
// containers if none is for reading.
func (f *Field) ReadValues() []*EnumeratedValue {
	var out []*EnumeratedValue
	for _, e := range f.Enums {
		if e.Usage != "write" {
			out = append(out, e.Values...)
		}
	}
	if out == nil {
		for _, e := range f.Enums {
			out = append(out, e.Values...)
		}
	}
	return out
}

// EnumeratedValues is a container of named values of a field.
type EnumeratedValues struct {
	Name           string
	HeaderEnumName string
	// Usage is "read", "write" or "read-write" (the default).
	Usage       string
	DerivedFrom string
	Values      []*EnumeratedValue
	Line        int
}

// An EnumeratedValue names one value of a field. A value written in binary
// with don't-care bits ("#1x0") is expanded into one EnumeratedValue per
// value it matches (at most 256), all with the same name.
type EnumeratedValue struct {
	Name        string
	Description string
	Value       uint64
	// IsDefault marks the value that names every value not listed
	// otherwise. Value is 0 for it unless the SVD states one.
	IsDefault bool
	Line      int
}

// Peripheral returns the peripheral called name, or nil.
func (d *Device) Peripheral(name string) *Peripheral {
	for _, p := range d.Peripherals {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Register returns the register of p called name (its Name, as in the
// model, so "MB" for an array "MB[%s]"), searching p's registers and then
// the registers of its clusters depth first, or nil.
func (p *Peripheral) Register(name string) *Register {
	return findRegister(p.Registers, p.Clusters, name)
}

// Cluster returns the top-level cluster of p called name, or nil.
func (p *Peripheral) Cluster(name string) *Cluster {
	for _, c := range p.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func findRegister(rs []*Register, cs []*Cluster, name string) *Register {
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	for _, c := range cs {
		if r := findRegister(c.Registers, c.Clusters, name); r != nil {
			return r
		}
	}
	return nil
}

// Field returns the field of r called name, or nil.
func (r *Register) Field(name string) *Field {
	for _, f := range r.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// widthMask returns a mask of the low n bits, n in 0..64.
func widthMask(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(n) - 1
}
