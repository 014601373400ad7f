package regs

import (
	"fmt"
	"strings"
)

// Access is what a register or field allows a CPU to do, in the terms of
// CMSIS-SVD's accessType.
type Access uint8

// The access types of CMSIS-SVD. The zero value means "not stated", so that a
// description can inherit the access of its parent.
const (
	AccessUnset Access = iota
	ReadOnly
	WriteOnly
	ReadWrite
	WriteOnce     // writable once after reset, then read-only
	ReadWriteOnce // readable; writable once after reset
)

var accessNames = [...]string{
	AccessUnset:   "",
	ReadOnly:      "read-only",
	WriteOnly:     "write-only",
	ReadWrite:     "read-write",
	WriteOnce:     "writeOnce",
	ReadWriteOnce: "read-writeOnce",
}

// String returns the SVD spelling of a, or "" for AccessUnset.
func (a Access) String() string {
	if int(a) < len(accessNames) {
		return accessNames[a]
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// Short returns the datasheet abbreviation of a: RO, WO, RW, W1 or RW1.
func (a Access) Short() string {
	switch a {
	case ReadOnly:
		return "RO"
	case WriteOnly:
		return "WO"
	case ReadWrite:
		return "RW"
	case WriteOnce:
		return "W1"
	case ReadWriteOnce:
		return "RW1"
	}
	return "-"
}

// Readable reports whether a read returns the register's contents.
func (a Access) Readable() bool {
	return a == ReadOnly || a == ReadWrite || a == ReadWriteOnce || a == AccessUnset
}

// Writable reports whether a write can change the register.
func (a Access) Writable() bool { return a != ReadOnly }

// ParseAccess parses an SVD accessType, in any case: vendor files write
// "read-writeonce" as well as "read-writeOnce".
func ParseAccess(s string) (Access, error) {
	for i, n := range accessNames {
		if i != 0 && strings.EqualFold(n, s) {
			return Access(i), nil
		}
	}
	return AccessUnset, fmt.Errorf("unknown access type %q", s)
}

// WriteEffect is what writing a value does to a field, in the terms of
// CMSIS-SVD's modifiedWriteValues. The zero value, WriteNormal, means the
// written value is stored.
type WriteEffect uint8

// The modifiedWriteValues of CMSIS-SVD.
const (
	WriteNormal  WriteEffect = iota // "modify": the value written is stored
	OneToClear                      // W1C: writing 1 clears the bit, 0 has no effect
	OneToSet                        // W1S: writing 1 sets the bit, 0 has no effect
	OneToToggle                     // writing 1 toggles the bit, 0 has no effect
	ZeroToClear                     // writing 0 clears the bit, 1 has no effect
	ZeroToSet                       // writing 0 sets the bit, 1 has no effect
	ZeroToToggle                    // writing 0 toggles the bit, 1 has no effect
	WriteClear                      // any write clears the field
	WriteSet                        // any write sets the field
)

var writeEffectNames = [...]string{
	WriteNormal:  "modify",
	OneToClear:   "oneToClear",
	OneToSet:     "oneToSet",
	OneToToggle:  "oneToToggle",
	ZeroToClear:  "zeroToClear",
	ZeroToSet:    "zeroToSet",
	ZeroToToggle: "zeroToToggle",
	WriteClear:   "clear",
	WriteSet:     "set",
}

// String returns the SVD spelling of w.
func (w WriteEffect) String() string {
	if int(w) < len(writeEffectNames) {
		return writeEffectNames[w]
	}
	return fmt.Sprintf("WriteEffect(%d)", uint8(w))
}

// Short returns the datasheet abbreviation of w (W1C, W1S, ...), or "" for
// WriteNormal.
func (w WriteEffect) Short() string {
	switch w {
	case OneToClear:
		return "W1C"
	case OneToSet:
		return "W1S"
	case OneToToggle:
		return "W1T"
	case ZeroToClear:
		return "W0C"
	case ZeroToSet:
		return "W0S"
	case ZeroToToggle:
		return "W0T"
	case WriteClear:
		return "WC"
	case WriteSet:
		return "WS"
	}
	return ""
}

// ParseWriteEffect parses an SVD modifiedWriteValues, in any case.
func ParseWriteEffect(s string) (WriteEffect, error) {
	for i, n := range writeEffectNames {
		if strings.EqualFold(n, s) {
			return WriteEffect(i), nil
		}
	}
	return WriteNormal, fmt.Errorf("unknown modifiedWriteValues %q", s)
}

// IdleBit reports the value of one bit of a field with effect w that a write
// leaves unchanged, and whether such a value exists. Writing 0 to a W1C bit
// has no effect; writing 1 to a W0C bit has none; a WriteClear field changes
// whatever is written.
func (w WriteEffect) IdleBit() (bit uint64, ok bool) {
	switch w {
	case OneToClear, OneToSet, OneToToggle:
		return 0, true
	case ZeroToClear, ZeroToSet, ZeroToToggle:
		return 1, true
	case WriteClear, WriteSet:
		return 0, false
	}
	return 0, false
}

// ReadAction is a side effect of reading a field, in the terms of
// CMSIS-SVD's readAction. The zero value, ReadNormal, means none.
type ReadAction uint8

// The readActions of CMSIS-SVD.
const (
	ReadNormal         ReadAction = iota // reading has no side effect
	ReadClear                            // reading clears the field (read-to-clear)
	ReadSet                              // reading sets the field
	ReadModify                           // reading modifies the field in some other way
	ReadModifyExternal                   // reading has an effect elsewhere (a FIFO pop, say)
)

var readActionNames = [...]string{
	ReadNormal:         "",
	ReadClear:          "clear",
	ReadSet:            "set",
	ReadModify:         "modify",
	ReadModifyExternal: "modifyExternal",
}

// String returns the SVD spelling of r, or "" for ReadNormal.
func (r ReadAction) String() string {
	if int(r) < len(readActionNames) {
		return readActionNames[r]
	}
	return fmt.Sprintf("ReadAction(%d)", uint8(r))
}

// ParseReadAction parses an SVD readAction, in any case.
func ParseReadAction(s string) (ReadAction, error) {
	for i, n := range readActionNames {
		if i != 0 && strings.EqualFold(n, s) {
			return ReadAction(i), nil
		}
	}
	return ReadNormal, fmt.Errorf("unknown readAction %q", s)
}
