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

// Readable reports whether a dump may read the register: it is readable
// and reading it has no side effect.
func (r *Register) Readable() bool {
	return r.Access.Readable() && r.ReadAction == ReadNormal
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
		acc := r.Access.Short()
		switch {
		case !r.Access.Readable():
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
			pos := fmt.Sprintf("[%d]", f.Offset)
			if f.Width > 1 {
				pos = fmt.Sprintf("[%d:%d]", f.Offset+f.Width-1, f.Offset)
			}
			fmt.Fprintf(tw, "\t  %s %s\t%s\t%s\t\n", pos, f.Name, f.Kind(), fv.String()[len(f.Name)+1:])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Field lines end in an empty cell; drop the padding tabwriter gives it.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+strings.Repeat("\n", strings.Count(line, "\n"))); err != nil {
			return err
		}
	}
	return nil
}
