package regs

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Peripheral returns the peripheral named name (case-insensitively), or nil.
func (d *Description) Peripheral(name string) *Peripheral {
	for i := range d.Peripherals {
		if strings.EqualFold(d.Peripherals[i].Name, name) {
			return &d.Peripherals[i]
		}
	}
	return nil
}

// Register returns the register named name (case-insensitively, a path such
// as "MBOX[3].STATUS" for arrays), or nil.
func (p *Peripheral) Register(name string) *Register {
	for i := range p.Registers {
		if strings.EqualFold(p.Registers[i].Name, name) {
			return &p.Registers[i]
		}
	}
	return nil
}

// RegisterAt returns the register at offset off, or nil.
func (p *Peripheral) RegisterAt(off uint64) *Register {
	for i := range p.Registers {
		if p.Registers[i].Offset == off {
			return &p.Registers[i]
		}
	}
	return nil
}

// Mask returns the field's bits in place.
func (f *Field) Mask() uint64 { return f.mask() }

// Get extracts the field from register value v.
func (f *Field) Get(v uint64) uint64 { return v & f.mask() >> f.Offset }

// Enum returns the enumerated value that names v, or nil.
func (f *Field) Enum(v uint64) *EnumValue {
	var def *EnumValue
	for i := range f.Enums {
		e := &f.Enums[i]
		if e.Default {
			def = e
		} else if e.Value == v {
			return e
		}
	}
	return def
}

// accessShort is the register's access for Dump and WriteMap: its own
// write effect (W1C, W1S) when it has one, else its access narrowed by its
// fields.
func (r *Register) accessShort() string {
	if r.WriteEffect != WriteNormal {
		return r.WriteEffect.Short()
	}
	return r.EffectiveAccess().Short()
}

// Kind returns the field's access in datasheet terms: RO, WO, RW, W1C, W1S,
// RC (read-to-clear) and so on.
func (f *Field) Kind() string {
	switch {
	case f.ReadAction == ReadClear:
		return "RC"
	case f.WriteEffect != WriteNormal:
		return f.WriteEffect.Short()
	}
	return f.Access.Short()
}

// A FieldValue is one field of a decoded register value.
type FieldValue struct {
	Field *Field
	Value uint64
	Enum  *EnumValue // the enumerated value naming Value, if any
}

// String formats fv as NAME=VALUE, with the enumerated name if there is one.
func (fv FieldValue) String() string {
	var b strings.Builder
	b.WriteString(fv.Field.Name)
	b.WriteByte('=')
	if fv.Field.Width == 1 {
		fmt.Fprintf(&b, "%d", fv.Value)
	} else {
		fmt.Fprintf(&b, "%#x", fv.Value)
	}
	if fv.Enum != nil {
		fmt.Fprintf(&b, "(%s)", fv.Enum.Name)
	}
	return b.String()
}

// Decode splits a value of the register into its fields.
func (r *Register) Decode(v uint64) []FieldValue {
	out := make([]FieldValue, len(r.Fields))
	for i := range r.Fields {
		f := &r.Fields[i]
		x := f.Get(v)
		out[i] = FieldValue{Field: f, Value: x, Enum: f.Enum(x)}
	}
	return out
}

// Format returns v in hex followed by its decoded fields, e.g.
// "0x00000005 EN=1 MODE=0x1(FAST)".
func (r *Register) Format(v uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%#0*x", int(r.Bits/4), v)
	for _, fv := range r.Decode(v) {
		b.WriteByte(' ')
		b.WriteString(fv.String())
	}
	return b.String()
}

// EffectiveAccess returns the register's access, narrowed by its fields:
// a register whose fields are all write-only is write-only, and one whose
// fields are all read-only is read-only, whatever access it inherited.
func (r *Register) EffectiveAccess() Access {
	if len(r.Fields) == 0 {
		return r.Access
	}
	allRO, allWO := true, true
	for i := range r.Fields {
		switch r.Fields[i].Access {
		case ReadOnly:
			allWO = false
		case WriteOnly, WriteOnce:
			allRO = false
		default:
			allRO, allWO = false, false
		}
	}
	switch {
	case allRO:
		return ReadOnly
	case allWO:
		return WriteOnly
	}
	return r.Access
}

// Readable reports whether a dump may read the register: it is readable
// and reading it has no side effect.
func (r *Register) Readable() bool {
	return r.EffectiveAccess().Readable() && r.ReadAction == ReadNormal
}

// Read reads the register through b at base+r.Offset, checking the access.
func (r *Register) Read(b Bus, base uintptr) (uint64, error) {
	return ReadAt(b, base+uintptr(r.Offset), int(r.Bits))
}

// DumpOptions configure Dump. The zero value dumps every readable register
// without side effects, with its fields.
type DumpOptions struct {
	// Base is the offset of the peripheral on the bus.
	Base uintptr
	// SideEffects reads registers whose read has a side effect too
	// (read-to-clear, FIFO pop). Off by default: a dump must not change the
	// device.
	SideEffects bool
	// NoFields prints one line per register, without decoded fields.
	NoFields bool
}

// Dump reads every register of p through b and writes a table of offsets,
// names, values and reset values, marking with '*' a value that differs
// from its reset value in the defined bits, and the decoded fields under
// each register. Write-only registers, and registers with read side effects
// unless opts.SideEffects is set, are listed but not read. opts may be nil.
func Dump(w io.Writer, b Bus, p *Peripheral, opts *DumpOptions) error {
	if opts == nil {
		opts = &DumpOptions{}
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n", p.Name)
	fmt.Fprintf(tw, "OFFSET\tREGISTER\tACCESS\tVALUE\tRESET\n")
	for i := range p.Registers {
		r := &p.Registers[i]
		digits := int(r.Bits / 4)
		reset := fmt.Sprintf("%#0*x", digits, r.Reset)
		acc := r.accessShort()
		switch {
		case !r.EffectiveAccess().Readable():
			fmt.Fprintf(tw, "%#04x\t%s\t%s\t(write-only)\t%s\n", r.Offset, r.Name, acc, reset)
			continue
		case r.ReadAction != ReadNormal && !opts.SideEffects:
			fmt.Fprintf(tw, "%#04x\t%s\t%s\t(not read: read %s)\t%s\n", r.Offset, r.Name, acc, r.ReadAction, reset)
			continue
		}
		v, err := r.Read(b, opts.Base)
		if err != nil {
			return fmt.Errorf("dumping %s.%s: %w", p.Name, r.Name, err)
		}
		mark := ""
		if (v^r.Reset)&r.ResetMask != 0 {
			mark = " *"
		}
		fmt.Fprintf(tw, "%#04x\t%s\t%s\t%#0*x%s\t%s\n", r.Offset, r.Name, acc, digits, v, mark, reset)
		if opts.NoFields {
			continue
		}
		for _, fv := range r.Decode(v) {
			f := fv.Field
			fmt.Fprintf(tw, "\t  %s %s\t%s\t%s\t\n", f.Pos(), f.Name, f.Kind(), fv.String()[len(f.Name)+1:])
		}
	}
	return flushTrimmed(w, tw, &buf)
}

// flushTrimmed flushes tw, which writes to buf, and copies buf to w without
// the padding that tabwriter gives the empty last cells of field lines.
func flushTrimmed(w io.Writer, tw *tabwriter.Writer, buf *bytes.Buffer) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+strings.Repeat("\n", strings.Count(line, "\n"))); err != nil {
			return err
		}
	}
	return nil
}

// Pos returns the field's bit position as a datasheet writes it: "[3]" for
// one bit, "[7:4]" for several.
func (f *Field) Pos() string {
	if f.Width > 1 {
		return fmt.Sprintf("[%d:%d]", f.Offset+f.Width-1, f.Offset)
	}
	return fmt.Sprintf("[%d]", f.Offset)
}

// WriteMap writes the register map of p as a datasheet table: every
// register with its offset, access and reset value, and under it every field
// with its position, kind, reset value and description, and the field's
// enumerated values. It reads no device.
func WriteMap(w io.Writer, p *Peripheral) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "%s", p.Name)
	if p.Description != "" {
		fmt.Fprintf(tw, ": %s", oneLine(p.Description))
	}
	fmt.Fprintf(tw, " (%#x bytes)\n", p.Size)
	fmt.Fprintf(tw, "OFFSET\tREGISTER\tACCESS\tRESET\tDESCRIPTION\n")
	for i := range p.Registers {
		r := &p.Registers[i]
		acc := r.accessShort()
		if r.ReadAction != ReadNormal {
			acc += "/read " + r.ReadAction.String()
		}
		fmt.Fprintf(tw, "%#04x\t%s\t%s\t%#0*x\t%s\n", r.Offset, r.Name, acc, int(r.Bits/4), r.Reset, oneLine(r.Description))
		for _, fv := range r.Decode(r.Reset) {
			f := fv.Field
			fmt.Fprintf(tw, "\t  %s %s\t%s\t%s\t%s\n", f.Pos(), f.Name, f.Kind(), fv.String()[len(f.Name)+1:], oneLine(f.Description))
			for _, e := range f.Enums {
				val := fmt.Sprintf("%#x", e.Value)
				if e.Default {
					val = "other"
				}
				name := e.Name
				if e.Description != "" {
					name += ": " + oneLine(e.Description)
				}
				fmt.Fprintf(tw, "\t\t\t    %s\t%s\n", val, name)
			}
		}
	}
	return flushTrimmed(w, tw, &buf)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TypedKind returns the typed field kind that represents f in a generated
// map: "RO", "WO", "RW", "W1C", "W1S" or "RC" (any read side effect). Fields
// with rarer write effects (toggle, write-0-to-clear, ...) are "RW" or "WO"
// by their access; the register's Layout still keeps a read-modify-write
// from disturbing them.
func (f *Field) TypedKind() string {
	switch {
	case f.ReadAction != ReadNormal:
		return "RC"
	case f.WriteEffect == OneToClear:
		return "W1C"
	case f.WriteEffect == OneToSet:
		return "W1S"
	case f.Access == ReadOnly:
		return "RO"
	case f.Access == WriteOnly || f.Access == WriteOnce:
		return "WO"
	}
	return "RW"
}

// TypedKind returns the typed register kind that represents r in a generated
// map: "RO", "WO", "RW", or "RC" for a writable register whose read has a
// side effect (it has no read-modify-write).
func (r *Register) TypedKind() string {
	sideEffect := r.ReadAction != ReadNormal
	for i := range r.Fields {
		if r.Fields[i].ReadAction != ReadNormal {
			sideEffect = true
		}
	}
	switch a := r.EffectiveAccess(); {
	case a == ReadOnly:
		return "RO"
	case a == WriteOnly || a == WriteOnce:
		return "WO"
	case sideEffect:
		return "RC"
	}
	return "RW"
}
