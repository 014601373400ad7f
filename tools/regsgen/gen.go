package main

import (
	"bytes"
	"fmt"
	"go/format"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ipcu/ipcu/internal/goident"
	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/svd"
)

// Options say what to generate.
type Options struct {
	SVD         string   // path of the SVD file
	Package     string   // Go package name of the output
	Peripherals []string // peripherals to generate; all when empty
	// OutDir is the directory the output goes to, for the path of the SVD
	// in the generated test; the working directory when empty.
	OutDir string
}

// Generate returns the generated map and its test.
func Generate(o Options) (code, test []byte, err error) {
	dev, err := svd.ParseFile(o.SVD)
	if err != nil {
		return nil, nil, err
	}
	var periphs []*svd.Peripheral
	if len(o.Peripherals) == 0 {
		periphs = dev.Peripherals
	}
	for _, name := range o.Peripherals {
		p := dev.Peripheral(name)
		if p == nil {
			return nil, nil, fmt.Errorf("%s: no peripheral %q", o.SVD, name)
		}
		periphs = append(periphs, p)
	}
	if len(periphs) == 0 {
		return nil, nil, fmt.Errorf("%s: no peripherals", o.SVD)
	}
	names := make([]string, len(periphs))
	for i, p := range periphs {
		names[i] = p.Name
	}
	desc, err := dev.Describe(names...)
	if err != nil {
		return nil, nil, err
	}
	g := &generator{
		opts:  o,
		multi: len(periphs) > 1,
		idents: map[string]string{
			"Description": "the register description",
		},
	}
	for i, p := range periphs {
		if err := g.peripheral(p, &desc.Peripherals[i]); err != nil {
			return nil, nil, fmt.Errorf("peripheral %s: %w", p.Name, err)
		}
	}
	g.description(desc)
	code, err = g.finish(dev, names)
	if err != nil {
		return nil, nil, err
	}
	test, err = g.testFile(names)
	if err != nil {
		return nil, nil, err
	}
	return code, test, nil
}

type generator struct {
	opts   Options
	multi  bool
	types  bytes.Buffer // struct types and init methods
	fields bytes.Buffer // field set variables and enum types
	desc   bytes.Buffer // the Description
	idents map[string]string
	// fieldSets maps a representative flattened register name
	// ("IPCU/MBOX[0].STATUS") to the variable holding its fields.
	fieldSets []fieldSet
	maps      []string // peripheral type names
}

type fieldSet struct{ key, ident string }

// claim records a package-level identifier, failing on a collision.
func (g *generator) claim(ident, what string) error {
	if prev, ok := g.idents[ident]; ok {
		return fmt.Errorf("identifier %s for %s collides with %s", ident, what, prev)
	}
	g.idents[ident] = what
	return nil
}

// member is a register or cluster of a container, for ordering by offset.
type member struct {
	off uint64
	reg *svd.Register
	cl  *svd.Cluster
}

func members(rs []*svd.Register, cs []*svd.Cluster) []member {
	var m []member
	for _, r := range rs {
		m = append(m, member{off: r.AddressOffset, reg: r})
	}
	for _, c := range cs {
		m = append(m, member{off: c.AddressOffset, cl: c})
	}
	sort.SliceStable(m, func(i, j int) bool { return m[i].off < m[j].off })
	return m
}

func (g *generator) peripheral(p *svd.Peripheral, d *regs.Peripheral) error {
	typ := goident.Of(p.Name)
	if err := g.claim(typ, "peripheral "+p.Name); err != nil {
		return err
	}
	size := "Size"
	ctor := "New"
	if g.multi {
		size = typ + "Size"
		ctor = "New" + typ
	}
	if err := g.claim(size, "the size of "+p.Name); err != nil {
		return err
	}
	if err := g.claim(ctor, "the constructor of "+p.Name); err != nil {
		return err
	}
	g.maps = append(g.maps, ctor)
	w := &g.types
	fmt.Fprintf(w, "// %s is the extent of the %s registers in bytes.\n", size, p.Name)
	fmt.Fprintf(w, "const %s = %#x\n\n", size, d.Size)
	fmt.Fprintf(w, "// %s returns the register map of %s on b, with the peripheral at offset\n", ctor, p.Name)
	// Registers are aligned to their size within the block (Describe
	// checks), so a base aligned to the widest keeps them all aligned.
	align := 1
	for _, r := range d.Registers {
		align = max(align, int(r.Bits)/8)
	}
	if align > 1 {
		fmt.Fprintf(w, "// base. It fails if the block does not fit on b or base is not a multiple\n")
		fmt.Fprintf(w, "// of %d (its widest register); after that no register access through the\n", align)
		fmt.Fprintf(w, "// map can be out of range or misaligned.\n")
	} else {
		fmt.Fprintf(w, "// base. It fails if the block does not fit on b; after that no register\n")
		fmt.Fprintf(w, "// access through the map can be out of range or misaligned.\n")
	}
	fmt.Fprintf(w, "func %s(b regs.Bus, base uintptr) (*%s, error) {\n", ctor, typ)
	if align > 1 {
		fmt.Fprintf(w, "\tif base%%%d != 0 {\n", align)
		fmt.Fprintf(w, "\t\treturn nil, fmt.Errorf(\"mapping %s at %%#x: not %d-byte aligned: %%w\", base, regs.ErrMisaligned)\n\t}\n", p.Name, align)
	}
	fmt.Fprintf(w, "\tif err := regs.CheckExtent(b, base, %s); err != nil {\n", size)
	fmt.Fprintf(w, "\t\treturn nil, fmt.Errorf(\"mapping %s: %%w\", err)\n\t}\n", p.Name)
	fmt.Fprintf(w, "\tp := new(%s)\n\tp.init(b, base)\n\treturn p, nil\n}\n\n", typ)
	what := fmt.Sprintf("%s is the register map of peripheral %s", typ, p.Name)
	if p.Description != "" {
		what += ": " + oneLine(p.Description)
	}
	prefix := ""
	if g.multi {
		prefix = goident.Of(p.Name) + "_"
	}
	return g.container(typ, what, p.Name+"/", "", prefix, p.Registers, p.Clusters)
}

// container emits the struct type typ for registers rs and clusters cs.
// flat is the flattened name prefix of its first element ("IPCU/MBOX[0]."),
// varPrefix the prefix of field set variables ("MBOX_").
func (g *generator) container(typ, doc, periph, flat, varPrefix string, rs []*svd.Register, cs []*svd.Cluster) error {
	var st, in bytes.Buffer
	fmt.Fprintf(&st, "%s\ntype %s struct {\n", comment(doc), typ)
	fmt.Fprintf(&in, "func (c *%s) init(b regs.Bus, base uintptr) {\n", typ)
	var later []func() error
	seen := map[string]bool{}
	for _, m := range members(rs, cs) {
		if m.reg != nil {
			r := m.reg
			name := goident.Of(r.Name)
			if seen[name] {
				return fmt.Errorf("two members named %s", name)
			}
			seen[name] = true
			vt, err := valueType(r.Size)
			if err != nil {
				return fmt.Errorf("register %s: %w", r.Name, err)
			}
			kind, layout := registerKind(r)
			fmt.Fprintf(&st, "%s\n", comment(registerDoc(r, kind)))
			elemFlat := flat + r.Name
			if r.Dim != nil {
				fmt.Fprintf(&st, "\t%s [%d]regs.%s[%s]\n", name, r.Dim.Count, kind, vt)
				elemFlat += "[" + r.Dim.Index[0] + "]"
			} else {
				fmt.Fprintf(&st, "\t%s regs.%s[%s]\n", name, kind, vt)
			}
			mk := fmt.Sprintf("regs.Make%s[%s](b, base+%#x", kind, vt, r.AddressOffset)
			if r.Dim != nil {
				mk = fmt.Sprintf("regs.Make%s[%s](b, base+%#x+uintptr(i)*%#x", kind, vt, r.AddressOffset, r.Dim.Increment)
			}
			if kind != "RO" {
				mk += fmt.Sprintf(", regs.Layout[%s]{Keep: %#x, Idle: %#x}", vt, layout.Keep, layout.Idle)
			}
			mk += ")"
			if r.Dim != nil {
				fmt.Fprintf(&in, "\tfor i := range c.%s {\n\t\tc.%s[i] = %s\n\t}\n", name, name, mk)
			} else {
				fmt.Fprintf(&in, "\tc.%s = %s\n", name, mk)
			}
			if len(r.Fields) > 0 {
				ident := varPrefix + goident.Of(r.Name)
				key := periph + elemFlat
				if err := g.fieldVar(ident, key, r, vt); err != nil {
					return err
				}
			}
			continue
		}
		c := m.cl
		name := goident.Of(c.Name)
		if seen[name] {
			return fmt.Errorf("two members named %s", name)
		}
		seen[name] = true
		ctyp := typ + "_" + name
		if err := g.claim(ctyp, "cluster "+c.Name); err != nil {
			return err
		}
		cdoc := fmt.Sprintf("%s is the register map of cluster %s", ctyp, c.Name)
		if c.Description != "" {
			cdoc += ": " + oneLine(c.Description)
		}
		elemFlat := flat + c.Name
		if c.Dim != nil {
			fmt.Fprintf(&st, "\t// %s: %s\n\t%s [%d]%s\n", c.Name, oneLine(c.Description), name, c.Dim.Count, ctyp)
			fmt.Fprintf(&in, "\tfor i := range c.%s {\n\t\tc.%s[i].init(b, base+%#x+uintptr(i)*%#x)\n\t}\n", name, name, c.AddressOffset, c.Dim.Increment)
			elemFlat += "[" + c.Dim.Index[0] + "]"
		} else {
			fmt.Fprintf(&st, "\t// %s: %s\n\t%s %s\n", c.Name, oneLine(c.Description), name, ctyp)
			fmt.Fprintf(&in, "\tc.%s.init(b, base+%#x)\n", name, c.AddressOffset)
		}
		later = append(later, func() error {
			return g.container(ctyp, cdoc, periph, elemFlat+".", varPrefix+name+"_", c.Registers, c.Clusters)
		})
	}
	st.WriteString("}\n\n")
	in.WriteString("}\n\n")
	g.types.Write(st.Bytes())
	g.types.Write(in.Bytes())
	for _, f := range later {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// valueType returns the Go type of a register of size bits.
func valueType(size int) (string, error) {
	switch size {
	case 8, 16, 32, 64:
		return fmt.Sprintf("uint%d", size), nil
	}
	return "", fmt.Errorf("size %d bits is not 8, 16, 32 or 64", size)
}

// descFields converts the fields of r for the regs package.
func descFields(r *svd.Register) []regs.Field {
	out := make([]regs.Field, len(r.Fields))
	for i, f := range r.Fields {
		out[i] = regs.Field{
			Name: f.Name, Offset: uint8(f.BitOffset), Width: uint8(f.BitWidth),
			Access: f.Access, WriteEffect: f.WriteEffect, ReadAction: f.ReadAction,
		}
	}
	return out
}

// registerKind returns the typed register kind of r and its layout.
func registerKind(r *svd.Register) (string, regs.Layout[uint64]) {
	rd := regs.Register{Bits: uint8(r.Size), Access: r.Access, WriteEffect: r.WriteEffect, ReadAction: r.ReadAction, Fields: descFields(r)}
	return rd.TypedKind(), regs.RegisterLayout[uint64](&rd)
}

func registerDoc(r *svd.Register, kind string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", r.Name)
	if r.Description != "" {
		fmt.Fprintf(&b, ": %s", oneLine(r.Description))
	}
	fmt.Fprintf(&b, " (%s", kind)
	if r.WriteEffect != regs.WriteNormal {
		fmt.Fprintf(&b, ", %s", r.WriteEffect)
	}
	fmt.Fprintf(&b, ", offset %#x", r.AddressOffset)
	if r.Dim != nil {
		fmt.Fprintf(&b, " + i*%#x", r.Dim.Increment)
	}
	fmt.Fprintf(&b, ", reset %#x)", r.ResetValue)
	return "\t" + b.String()
}

// fieldVar emits the variable ident holding the typed fields of r.
func (g *generator) fieldVar(ident, key string, r *svd.Register, vt string) error {
	if err := g.claim(ident, "the fields of "+key); err != nil {
		return err
	}
	g.fieldSets = append(g.fieldSets, fieldSet{key: key, ident: ident})
	w := &g.fields
	var decl, init bytes.Buffer
	fields := append([]*svd.Field(nil), r.Fields...)
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].BitOffset < fields[j].BitOffset })
	seen := map[string]bool{}
	for _, f := range fields {
		fname := goident.Of(f.Name)
		if seen[fname] {
			return fmt.Errorf("register %s: two fields named %s", r.Name, fname)
		}
		seen[fname] = true
		df := regs.Field{Access: f.Access, WriteEffect: f.WriteEffect, ReadAction: f.ReadAction}
		kind := df.TypedKind()
		ftype := fmt.Sprintf("regs.%sField[%s]", kind, vt)
		bits := fmt.Sprintf("regs.Bits[%s]{Shift: %d, Width: %d}", vt, f.BitOffset, f.BitWidth)
		lit := fmt.Sprintf("%s{Bits: %s}", ftype, bits)
		if vals := enumValues(f); len(vals) > 0 {
			etype := ident + "_" + fname
			if err := g.enum(etype, f, vals, vt, kind); err != nil {
				return err
			}
			ftype = etype + "Field"
			lit = fmt.Sprintf("%s{regs.%sField[%s]{Bits: %s}}", ftype, kind, vt, bits)
		}
		doc := f.Name
		if f.Description != "" {
			doc += ": " + oneLine(f.Description)
		}
		pos := fmt.Sprintf("[%d]", f.BitOffset)
		if f.BitWidth > 1 {
			pos = fmt.Sprintf("[%d:%d]", f.Msb(), f.BitOffset)
		}
		doc += fmt.Sprintf(" (%s %s", pos, kind)
		if f.WriteEffect != regs.WriteNormal && kind != "W1C" && kind != "W1S" {
			doc += ", " + f.WriteEffect.String()
		}
		doc += ")"
		fmt.Fprintf(&decl, "%s\n\t%s %s\n", comment("\t"+doc), fname, ftype)
		fmt.Fprintf(&init, "\t%s: %s,\n", fname, lit)
	}
	fmt.Fprintf(w, "// %s holds the fields of register %s.\n", ident, key)
	fmt.Fprintf(w, "var %s = struct {\n%s}{\n%s}\n\n", ident, decl.String(), init.String())
	return nil
}

// enumValues returns the distinct named values of f, read values first.
func enumValues(f *svd.Field) []*svd.EnumeratedValue {
	var out []*svd.EnumeratedValue
	names := map[string]bool{}
	vals := map[uint64]bool{}
	add := func(v *svd.EnumeratedValue) {
		if names[v.Name] || (!v.IsDefault && vals[v.Value]) {
			return
		}
		names[v.Name] = true
		if !v.IsDefault {
			vals[v.Value] = true
		}
		out = append(out, v)
	}
	for _, v := range f.ReadValues() {
		add(v)
	}
	for _, e := range f.Enums {
		for _, v := range e.Values {
			add(v)
		}
	}
	return out
}

// enum emits the named type etype for the values of field f, its constants,
// String, and the field type etype+"Field" whose Get and Val use it.
func (g *generator) enum(etype string, f *svd.Field, vals []*svd.EnumeratedValue, vt, kind string) error {
	if err := g.claim(etype, "the values of field "+f.Name); err != nil {
		return err
	}
	if err := g.claim(etype+"Field", "the field "+f.Name); err != nil {
		return err
	}
	w := &g.fields
	fmt.Fprintf(w, "// %s is a value of field %s.\n", etype, f.Name)
	fmt.Fprintf(w, "type %s %s\n\n", etype, vt)
	fmt.Fprintf(w, "// Values of %s.\nconst (\n", etype)
	def := ""
	for _, v := range vals {
		if v.IsDefault {
			def = v.Name
			continue
		}
		c := etype + "_" + goident.Of(v.Name)
		if err := g.claim(c, "enumerated value "+v.Name); err != nil {
			return err
		}
		if v.Description != "" {
			fmt.Fprintf(w, "%s\n", comment("\t"+v.Name+": "+oneLine(v.Description)))
		}
		fmt.Fprintf(w, "\t%s %s = %#x\n", c, etype, v.Value)
	}
	fmt.Fprintf(w, ")\n\n")
	fmt.Fprintf(w, "// String returns the name of v.\nfunc (v %s) String() string {\n\tswitch v {\n", etype)
	for _, v := range vals {
		if !v.IsDefault {
			fmt.Fprintf(w, "\tcase %s_%s:\n\t\treturn %q\n", etype, goident.Of(v.Name), v.Name)
		}
	}
	fmt.Fprintf(w, "\t}\n")
	if def != "" {
		fmt.Fprintf(w, "\treturn %q\n}\n\n", def)
	} else {
		fmt.Fprintf(w, "\treturn fmt.Sprintf(\"%s(%%#x)\", %s(v))\n}\n\n", etype, vt)
	}
	ft := etype + "Field"
	fmt.Fprintf(w, "// %s is field %s, whose values are %s.\n", ft, f.Name, etype)
	fmt.Fprintf(w, "type %s struct{ regs.%sField[%s] }\n\n", ft, kind, vt)
	fmt.Fprintf(w, "// Get extracts the field from a register value.\n")
	fmt.Fprintf(w, "func (f %s) Get(v %s) %s { return %s(f.Bits.Get(v)) }\n\n", ft, vt, etype, etype)
	if kind == "RW" || kind == "WO" {
		fmt.Fprintf(w, "// Val returns the Change that writes x into the field.\n")
		fmt.Fprintf(w, "func (f %s) Val(x %s) regs.Change[%s] { return f.%sField.Val(%s(x)) }\n\n", ft, etype, vt, kind, vt)
	}
	return nil
}

// description emits the Description variable, sharing field slices.
func (g *generator) description(d *regs.Description) {
	w := &g.desc
	shared := map[string]string{}
	var sharedDecl bytes.Buffer
	fieldsRef := func(fs []regs.Field) string {
		if len(fs) == 0 {
			return "nil"
		}
		var b strings.Builder
		b.WriteString("[]regs.Field{\n")
		for _, f := range fs {
			fmt.Fprintf(&b, "{Name: %q, Description: %q, Offset: %d, Width: %d, Access: regs.%s, WriteEffect: regs.%s, ReadAction: regs.%s",
				f.Name, f.Description, f.Offset, f.Width, accessConst(f.Access), writeEffectConst(f.WriteEffect), readActionConst(f.ReadAction))
			if len(f.Enums) > 0 {
				b.WriteString(", Enums: []regs.EnumValue{\n")
				for _, e := range f.Enums {
					fmt.Fprintf(&b, "{Name: %q, Description: %q, Value: %#x, Default: %v},\n", e.Name, e.Description, e.Value, e.Default)
				}
				b.WriteString("}")
			}
			b.WriteString("},\n")
		}
		b.WriteString("}")
		lit := b.String()
		if id, ok := shared[lit]; ok {
			return id
		}
		id := fmt.Sprintf("descFields%d", len(shared))
		shared[lit] = id
		fmt.Fprintf(&sharedDecl, "var %s = %s\n\n", id, lit)
		return id
	}
	fmt.Fprintf(w, "// Description is the runtime description of the generated registers, for\n")
	fmt.Fprintf(w, "// dumps and decoding (regs.Dump).\n")
	fmt.Fprintf(w, "var Description = &regs.Description{\n")
	fmt.Fprintf(w, "Name: %q,\nDescription: %q,\nPeripherals: []regs.Peripheral{\n", d.Name, d.Description)
	for _, p := range d.Peripherals {
		fmt.Fprintf(w, "{\nName: %q,\nDescription: %q,\nBase: %#x,\nSize: %#x,\nRegisters: []regs.Register{\n", p.Name, p.Description, p.Base, p.Size)
		for _, r := range p.Registers {
			we := ""
			if r.WriteEffect != regs.WriteNormal {
				we = fmt.Sprintf(" WriteEffect: regs.%s,", writeEffectConst(r.WriteEffect))
			}
			fmt.Fprintf(w, "{Name: %q, Description: %q, Offset: %#x, Bits: %d, Access: regs.%s, Reset: %#x, ResetMask: %#x,%s ReadAction: regs.%s, Fields: %s},\n",
				r.Name, r.Description, r.Offset, r.Bits, accessConst(r.Access), r.Reset, r.ResetMask, we, readActionConst(r.ReadAction), fieldsRef(r.Fields))
		}
		fmt.Fprintf(w, "},\n},\n")
	}
	fmt.Fprintf(w, "},\n}\n\n")
	w.Write(sharedDecl.Bytes())
}

func accessConst(a regs.Access) string {
	switch a {
	case regs.ReadOnly:
		return "ReadOnly"
	case regs.WriteOnly:
		return "WriteOnly"
	case regs.ReadWrite:
		return "ReadWrite"
	case regs.WriteOnce:
		return "WriteOnce"
	case regs.ReadWriteOnce:
		return "ReadWriteOnce"
	}
	return "AccessUnset"
}

func writeEffectConst(w regs.WriteEffect) string {
	return [...]string{"WriteNormal", "OneToClear", "OneToSet", "OneToToggle", "ZeroToClear", "ZeroToSet", "ZeroToToggle", "WriteClear", "WriteSet"}[w]
}

func readActionConst(r regs.ReadAction) string {
	return [...]string{"ReadNormal", "ReadClear", "ReadSet", "ReadModify", "ReadModifyExternal"}[r]
}

func (g *generator) finish(dev *svd.Device, names []string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by regsgen from %s (peripherals %s); DO NOT EDIT.\n\n", filepath.Base(g.opts.SVD), strings.Join(names, ", "))
	fmt.Fprintf(&b, "package %s\n\n", g.opts.Package)
	fmt.Fprintf(&b, "import (\n\t\"fmt\"\n\n\t\"github.com/ipcu/ipcu/regs\"\n)\n\n")
	b.Write(g.types.Bytes())
	b.Write(g.fields.Bytes())
	b.Write(g.desc.Bytes())
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the output (a regsgen bug): %w", err)
	}
	return out, nil
}

// testFile returns the generated test of the map against its SVD.
func (g *generator) testFile(names []string) ([]byte, error) {
	svdPath := g.opts.SVD
	if abs, err := filepath.Abs(svdPath); err == nil {
		dir := g.opts.OutDir
		if dir == "" {
			dir = "."
		}
		if absDir, err := filepath.Abs(dir); err == nil {
			if rel, err := filepath.Rel(absDir, abs); err == nil {
				svdPath = rel
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by regsgen from %s (peripherals %s); DO NOT EDIT.\n\n", filepath.Base(g.opts.SVD), strings.Join(names, ", "))
	fmt.Fprintf(&b, "package %s\n\n", g.opts.Package)
	fmt.Fprintf(&b, "import (\n\t\"testing\"\n\n\t\"github.com/ipcu/ipcu/regs\"\n\t\"github.com/ipcu/ipcu/regs/regstest\"\n)\n\n")
	fmt.Fprintf(&b, "// TestGeneratedMapMatchesSVD checks every register's offset, width and\n")
	fmt.Fprintf(&b, "// access and every field's position and kind against %s.\n", filepath.ToSlash(svdPath))
	fmt.Fprintf(&b, "func TestGeneratedMapMatchesSVD(t *testing.T) {\n")
	fmt.Fprintf(&b, "\tregstest.CheckGenerated(t, regstest.Generated{\n")
	fmt.Fprintf(&b, "\t\tSVD: %q,\n\t\tDescription: Description,\n", filepath.ToSlash(svdPath))
	fmt.Fprintf(&b, "\t\tMaps: map[string]func(regs.Bus) (any, error){\n")
	for i, n := range names {
		fmt.Fprintf(&b, "\t\t\t%q: func(b regs.Bus) (any, error) { return %s(b, 0) },\n", n, g.maps[i])
	}
	fmt.Fprintf(&b, "\t\t},\n\t\tFields: map[string]any{\n")
	for _, fs := range g.fieldSets {
		fmt.Fprintf(&b, "\t\t\t%q: %s,\n", fs.key, fs.ident)
	}
	fmt.Fprintf(&b, "\t\t},\n\t})\n}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the test (a regsgen bug): %w", err)
	}
	return out, nil
}

// oneLine collapses whitespace, for descriptions in comments.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// comment formats text as a Go comment, wrapped at about 76 columns and
// indented as text's leading tabs say.
func comment(text string) string {
	indent := text[:len(text)-len(strings.TrimLeft(text, "\t"))]
	words := strings.Fields(text)
	var lines []string
	line := ""
	for _, w := range words {
		if line != "" && len(line)+1+len(w) > 76 {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	for i, l := range lines {
		lines[i] = indent + "// " + l
	}
	return strings.Join(lines, "\n")
}
