package ipcctl

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/ipcu"
	"github.com/ipcu/ipcu/regs/svd"
)

// JSON forms of a register map and of register values.
type (
	jsonMap struct {
		header
		Peripherals []jsonPeripheral `json:"peripherals"`
	}
	jsonPeripheral struct {
		Name        string        `json:"name"`
		Description string        `json:"description,omitempty"`
		Size        uint64        `json:"size"`
		Registers   []jsonRegDesc `json:"registers"`
	}
	jsonRegDesc struct {
		Name   string         `json:"name"`
		Offset uint64         `json:"offset"`
		Bits   int            `json:"bits"`
		Access string         `json:"access"`
		Reset  uint64         `json:"reset"`
		Fields []jsonFieldDef `json:"fields,omitempty"`
	}
	jsonFieldDef struct {
		Name  string `json:"name"`
		Pos   string `json:"pos"`
		Kind  string `json:"kind"`
		Reset uint64 `json:"reset"`
	}
	jsonRegs struct {
		header
		Device     string         `json:"device"`
		Map        string         `json:"map"`
		Peripheral string         `json:"peripheral"`
		Registers  []jsonRegValue `json:"registers"`
	}
	jsonRegValue struct {
		Name   string `json:"name"`
		Offset uint64 `json:"offset"`
		Bits   int    `json:"bits"`
		Access string `json:"access"`
		// Value is nil when the register was not read: Skipped says why.
		Value   *uint64          `json:"value"`
		Reset   *uint64          `json:"reset,omitempty"`
		Differs bool             `json:"differs_from_reset,omitempty"`
		Skipped string           `json:"skipped,omitempty"`
		Written *uint64          `json:"written,omitempty"`
		Fields  []jsonFieldValue `json:"fields,omitempty"`
	}
	jsonFieldValue struct {
		Name  string `json:"name"`
		Pos   string `json:"pos"`
		Value uint64 `json:"value"`
		Enum  string `json:"enum,omitempty"`
	}
)

const regsMapHelp = `Prints a register map as a datasheet table: every register with its offset,
access and reset value, every field with its position, kind (RO, WO, RW, W1C,
W1S, RC), reset value and description. Without -svd it prints the reference
IPC block's map; with -svd the peripherals of any CMSIS-SVD file (all, or
those named).`

func cmdRegsMap(args []string, env *Env) error {
	f := newFlags(env, "regs map", "regs map [-svd FILE] [-json] [PERIPHERAL...]", regsMapHelp)
	svdPath := f.String("svd", "", "read the register map from this CMSIS-SVD `file` instead of the built-in IPCU map")
	pos, err := f.parse(args, 0, -1)
	if err != nil {
		return err
	}
	desc := ipcu.Description
	if *svdPath != "" {
		dev, err := svd.ParseFile(*svdPath)
		if err != nil {
			return err
		}
		if desc, err = dev.Describe(pos...); err != nil {
			return err
		}
	}
	var ps []*regs.Peripheral
	if *svdPath != "" || len(pos) == 0 {
		for i := range desc.Peripherals {
			ps = append(ps, &desc.Peripherals[i])
		}
	} else {
		for _, name := range pos {
			p := desc.Peripheral(name)
			if p == nil {
				return fmt.Errorf("regs map: no peripheral %q in the built-in map", name)
			}
			ps = append(ps, p)
		}
	}
	if f.json {
		doc := jsonMap{header: newHeader("regs map")}
		for _, p := range ps {
			jp := jsonPeripheral{Name: p.Name, Description: oneLine(p.Description), Size: p.Size, Registers: []jsonRegDesc{}}
			for i := range p.Registers {
				r := &p.Registers[i]
				jr := jsonRegDesc{Name: r.Name, Offset: r.Offset, Bits: int(r.Bits), Access: r.TypedKind(), Reset: r.Reset}
				for j := range r.Fields {
					fl := &r.Fields[j]
					jr.Fields = append(jr.Fields, jsonFieldDef{Name: fl.Name, Pos: fl.Pos(), Kind: fl.Kind(), Reset: fl.Get(r.Reset)})
				}
				jp.Registers = append(jp.Registers, jr)
			}
			doc.Peripherals = append(doc.Peripherals, jp)
		}
		return writeJSON(env.Stdout, doc)
	}
	for i, p := range ps {
		if i > 0 {
			fmt.Fprintln(env.Stdout)
		}
		if err := regs.WriteMap(env.Stdout, p); err != nil {
			return err
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

const regsDumpHelp = `Reads every register of the device and prints its value, its reset value
('*' marks a value that differs from reset) and its decoded fields.
Write-only registers are not read, nor are registers whose read has a side
effect (read-to-clear, FIFO pop) unless -side-effects is given.
On fake, the device is a new model in its reset state.`

func cmdRegsDump(_ context.Context, args []string, env *Env) error {
	f := newFlags(env, "regs dump", "regs dump [flags] DEVICE", regsDumpHelp)
	df := f.devFlags()
	side := f.Bool("side-effects", false, "also read registers whose read has a side effect (read-to-clear, FIFO pop)")
	noFields := f.Bool("no-fields", false, "one line per register, without decoded fields")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	d, err := openDevice(pos[0], df)
	if err != nil {
		return err
	}
	defer d.Close()
	if !f.json {
		fmt.Fprintf(env.Stdout, "%s: %s (map %s)\n", d.Name, d.Periph.Name, d.Map)
		return regs.Dump(env.Stdout, d.Bus, d.Periph, &regs.DumpOptions{Base: d.Base, SideEffects: *side, NoFields: *noFields})
	}
	doc := jsonRegs{header: newHeader("regs dump"), Device: d.Name.String(), Map: d.Map, Peripheral: d.Periph.Name, Registers: []jsonRegValue{}}
	for i := range d.Periph.Registers {
		r := &d.Periph.Registers[i]
		jr := jsonReg(r)
		switch {
		case !r.EffectiveAccess().Readable():
			jr.Skipped = "write-only"
		case r.ReadAction != regs.ReadNormal && !*side:
			jr.Skipped = "read side effect"
		default:
			v, err := r.Read(d.Bus, d.Base)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", d.Name, r.Name, err)
			}
			setValue(&jr, r, v, !*noFields)
		}
		doc.Registers = append(doc.Registers, jr)
	}
	return writeJSON(env.Stdout, doc)
}

func jsonReg(r *regs.Register) jsonRegValue {
	jr := jsonRegValue{Name: r.Name, Offset: r.Offset, Bits: int(r.Bits), Access: r.TypedKind()}
	if r.ResetMask != 0 {
		reset := r.Reset
		jr.Reset = &reset
	}
	return jr
}

func setValue(jr *jsonRegValue, r *regs.Register, v uint64, fields bool) {
	jr.Value = &v
	jr.Differs = r.ResetMask != 0 && (v^r.Reset)&r.ResetMask != 0
	if !fields {
		return
	}
	for _, fv := range r.Decode(v) {
		jf := jsonFieldValue{Name: fv.Field.Name, Pos: fv.Field.Pos(), Value: fv.Value}
		if fv.Enum != nil {
			jf.Enum = fv.Enum.Name
		}
		jr.Fields = append(jr.Fields, jf)
	}
}

// regRef is a register named on the command line: by name, or by offset
// with a width.
type regRef struct {
	reg   *regs.Register // nil for a raw offset outside the description
	field *regs.Field    // REG.FIELD
	off   uint64
	bits  int
}

// lookupReg resolves NAME, NAME.FIELD or an offset (0x10) of a block
// with size addressable bytes; bits is -width (0: the register's, or 32).
func lookupReg(p *regs.Peripheral, s string, bits int, size uint64) (regRef, error) {
	switch bits {
	case 0, 8, 16, 32, 64:
	default:
		return regRef{}, fmt.Errorf("-width %d: want 8, 16, 32 or 64", bits)
	}
	if off, err := strconv.ParseUint(s, 0, 64); err == nil {
		// Checked here, on 64 bits: on a 32-bit board the offset is
		// made a uintptr, which would silently wrap to another register.
		if w := uint64(max(bits, 8) / 8); off >= size || w > size-off {
			return regRef{}, fmt.Errorf("offset %#x is outside the block's %#x bytes", off, size)
		}
		if r := p.RegisterAt(off); r != nil && (bits == 0 || bits == int(r.Bits)) {
			return regRef{reg: r, off: off, bits: int(r.Bits)}, nil
		}
		if bits == 0 {
			bits = 32
		}
		return regRef{off: off, bits: bits}, nil
	}
	if r := p.Register(s); r != nil {
		return regRef{reg: r, off: r.Offset, bits: int(r.Bits)}, nil
	}
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		if r := p.Register(s[:i]); r != nil {
			for j := range r.Fields {
				if strings.EqualFold(r.Fields[j].Name, s[i+1:]) {
					return regRef{reg: r, field: &r.Fields[j], off: r.Offset, bits: int(r.Bits)}, nil
				}
			}
			return regRef{}, fmt.Errorf("register %s has no field %q", r.Name, s[i+1:])
		}
	}
	return regRef{}, fmt.Errorf("no register %q in %s (ipcctl regs map lists them)", s, p.Name)
}

func (r regRef) name() string {
	switch {
	case r.field != nil:
		return r.reg.Name + "." + r.field.Name
	case r.reg != nil:
		return r.reg.Name
	}
	return fmt.Sprintf("0x%04x", r.off)
}

const regsReadHelp = `Reads registers, named as in the register map (ID, MBOX[3].STATUS), as a
field (CTRL.EN), or by offset (0x10; -width for one outside the map), and
prints each value with its decoded fields. A register whose read has a side
effect (read-to-clear) is read only with -side-effects.`

func cmdRegsRead(_ context.Context, args []string, env *Env) error {
	f := newFlags(env, "regs read", "regs read [flags] DEVICE REG...", regsReadHelp)
	df := f.devFlags()
	width := f.Int("width", 0, "access width in `bits` (8, 16, 32, 64) for an offset outside the map (default 32)")
	side := f.Bool("side-effects", false, "allow reading registers whose read has a side effect")
	pos, err := f.parse(args, 2, -1)
	if err != nil {
		return err
	}
	d, err := openDevice(pos[0], df)
	if err != nil {
		return err
	}
	defer d.Close()
	var refs []regRef
	for _, s := range pos[1:] {
		ref, err := lookupReg(d.Periph, s, *width, d.size())
		if err != nil {
			return &cliError{code: ExitUsage, err: fmt.Errorf("%s: %w", d.Name, err), usage: f.usage}
		}
		if ref.reg != nil && ref.reg.ReadAction != regs.ReadNormal && !*side {
			return fmt.Errorf("%s: reading %s has a side effect (%s): add -side-effects to read it", d.Name, ref.reg.Name, ref.reg.ReadAction)
		}
		refs = append(refs, ref)
	}
	doc := jsonRegs{header: newHeader("regs read"), Device: d.Name.String(), Map: d.Map, Peripheral: d.Periph.Name, Registers: []jsonRegValue{}}
	t := newTable(env.Stdout)
	for _, ref := range refs {
		v, err := regs.ReadAt(d.Bus, d.Base+uintptr(ref.off), ref.bits)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", d.Name, ref.name(), err)
		}
		var jr jsonRegValue
		switch {
		case ref.reg == nil:
			jr = jsonRegValue{Name: ref.name(), Offset: ref.off, Bits: ref.bits, Access: "?", Value: &v}
			t.row(ref.name(), hexBits(v, ref.bits))
		case ref.field != nil:
			jr = jsonReg(ref.reg)
			setValue(&jr, ref.reg, v, true)
			fv := regs.FieldValue{Field: ref.field, Value: ref.field.Get(v), Enum: ref.field.Enum(ref.field.Get(v))}
			jr.Fields = []jsonFieldValue{{Name: ref.field.Name, Pos: ref.field.Pos(), Value: fv.Value}}
			if fv.Enum != nil {
				jr.Fields[0].Enum = fv.Enum.Name
			}
			t.row(ref.name(), fv.String())
		default:
			jr = jsonReg(ref.reg)
			setValue(&jr, ref.reg, v, true)
			t.row(ref.name(), ref.reg.Format(v))
		}
		doc.Registers = append(doc.Registers, jr)
	}
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	return t.flush()
}

func hexBits(v uint64, bits int) string { return fmt.Sprintf("0x%0*x", bits/4, v) }

const regsWriteHelp = `Writes registers: REG=VALUE writes the whole register, REG.FIELD=VALUE
changes one field by read-modify-write, which writes write-1-to-clear and
write-1-to-set bits of the other fields as 0 so that it acknowledges
nothing by accident (a register whose read has a side effect cannot be
changed field by field). OFFSET=VALUE writes outside the map (-width).
Each register is read back, when it can be, and printed.`

func cmdRegsWrite(_ context.Context, args []string, env *Env) error {
	f := newFlags(env, "regs write", "regs write [flags] DEVICE REG[.FIELD]=VALUE...", regsWriteHelp)
	df := f.devFlags()
	width := f.Int("width", 0, "access width in `bits` (8, 16, 32, 64) for an offset outside the map (default 32)")
	pos, err := f.parse(args, 2, -1)
	if err != nil {
		return err
	}
	d, err := openDevice(pos[0], df)
	if err != nil {
		return err
	}
	defer d.Close()
	type write struct {
		ref regRef
		val uint64
	}
	var ws []write
	for _, s := range pos[1:] {
		name, val, ok := strings.Cut(s, "=")
		if !ok {
			return usageError(f.usage, "%q: write REG=VALUE or REG.FIELD=VALUE", s)
		}
		ref, err := lookupReg(d.Periph, name, *width, d.size())
		if err != nil {
			return usageError(f.usage, "%s: %v", d.Name, err)
		}
		v, err := strconv.ParseUint(val, 0, 64)
		if err != nil {
			return usageError(f.usage, "%q: %q is not a number", s, val)
		}
		if ref.field != nil {
			if v > ref.field.Mask()>>ref.field.Offset {
				return usageError(f.usage, "%q: %d does not fit in %d bits", s, v, ref.field.Width)
			}
			if ref.reg.ReadAction != regs.ReadNormal || !ref.reg.EffectiveAccess().Readable() {
				return fmt.Errorf("%s: %s cannot be changed field by field (its read has a side effect or it is write-only): write the whole register", d.Name, ref.reg.Name)
			}
		} else if ref.bits < 64 && v>>ref.bits != 0 {
			return usageError(f.usage, "%q: %#x does not fit in %d bits", s, v, ref.bits)
		}
		ws = append(ws, write{ref, v})
	}
	doc := jsonRegs{header: newHeader("regs write"), Device: d.Name.String(), Map: d.Map, Peripheral: d.Periph.Name, Registers: []jsonRegValue{}}
	t := newTable(env.Stdout)
	for _, w := range ws {
		at := d.Base + uintptr(w.ref.off)
		v := w.val
		if w.ref.field != nil {
			cur, err := regs.ReadAt(d.Bus, at, w.ref.bits)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", d.Name, w.ref.name(), err)
			}
			l := regs.LayoutOf[uint64](w.ref.reg.Fields...)
			fm := w.ref.field.Mask()
			v = (cur&l.Keep | l.Idle) &^ fm
			v |= w.val << w.ref.field.Offset & fm
			if w.ref.reg.Bits < 64 {
				v &= 1<<w.ref.reg.Bits - 1
			}
		}
		if err := regs.WriteAt(d.Bus, at, w.ref.bits, v); err != nil {
			return fmt.Errorf("%s: %s: %w", d.Name, w.ref.name(), err)
		}
		written := v
		jr := jsonRegValue{Name: w.ref.name(), Offset: w.ref.off, Bits: w.ref.bits, Access: "?", Written: &written}
		shown := "(not read back)"
		if w.ref.reg != nil {
			jr = jsonReg(w.ref.reg)
			jr.Written = &written
			if w.ref.reg.Readable() {
				back, err := w.ref.reg.Read(d.Bus, d.Base)
				if err != nil {
					return fmt.Errorf("%s: %s: %w", d.Name, w.ref.name(), err)
				}
				setValue(&jr, w.ref.reg, back, true)
				shown = "now " + w.ref.reg.Format(back)
			} else {
				jr.Skipped = "not read back"
			}
		}
		doc.Registers = append(doc.Registers, jr)
		t.row(w.ref.name(), "<- "+hexBits(v, w.ref.bits), shown)
	}
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	return t.flush()
}
