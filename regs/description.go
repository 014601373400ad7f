package regs

// A Description is the runtime form of a register map: what a dump needs to
// name and decode every register of a block. Generated packages carry one
// (see tools/regsgen); package regs/svd builds one from any SVD file.
//
// A Description is plain data: build it, then treat it as read-only.
type Description struct {
	Name        string // device name, e.g. "IPCU"
	Description string
	Peripherals []Peripheral
}

// A Peripheral is one block of registers at an offset from the start of the
// Bus it is accessed through.
type Peripheral struct {
	Name        string
	Description string
	// Base is the peripheral's base address in the SVD. Userspace maps a
	// block at an arbitrary address, so Base is informative; register
	// offsets are relative to the start of the peripheral.
	Base uint64
	// Size is the extent of the block in bytes from offset 0: the end of its
	// last register or of its last address block, whichever is further.
	Size      uint64
	Registers []Register // sorted by offset; arrays and clusters flattened
}

// A Register is one register of a peripheral. Registers of dim arrays and
// clusters are flattened: their Name is a path such as "MBOX[3].STATUS".
type Register struct {
	Name        string
	Description string
	Offset      uint64 // from the start of the peripheral
	Bits        uint8  // 8, 16, 32 or 64
	Access      Access
	Reset       uint64
	ResetMask   uint64 // the bits of Reset that are defined
	// WriteEffect is the register's own modifiedWriteValues: that of the
	// bits no field covers (fields state their own, inherited from it).
	WriteEffect WriteEffect
	// ReadAction is set when reading the register has a side effect. A dump
	// does not read such registers unless asked to.
	ReadAction ReadAction
	Fields     []Field // sorted by bit offset
}

// A Field is a run of bits inside a register.
type Field struct {
	Name        string
	Description string
	Offset      uint8 // least significant bit
	Width       uint8 // in bits, at least 1
	Access      Access
	WriteEffect WriteEffect
	ReadAction  ReadAction
	Enums       []EnumValue
}

// An EnumValue names one value of a field.
type EnumValue struct {
	Name        string
	Description string
	Value       uint64
	// Default marks the SVD's isDefault value: it names every value not
	// listed otherwise.
	Default bool
}
