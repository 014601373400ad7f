package svd

import (
	"fmt"
	"slices"

	"github.com/ipcu/ipcu/regs"
)

// Describe returns the runtime description of the named peripherals of d,
// or of all of them when no name is given, in the order asked for (or of
// d.Peripherals).
//
// Clusters and arrays are flattened into registers named by path: a
// register STATUS in element 3 of the cluster array MBOX is "MBOX[3].STATUS",
// element 0 of the register array MB is "MB[0]" (the dimIndex entry goes
// inside the brackets), and a register of a plain cluster CH0 is
// "CH0.STATUS". Offsets are relative to the peripheral's base address.
// Registers are sorted by offset (document order among equals), fields by
// bit offset, and a %s in an array element's description is replaced by
// its index. A field's Enums are its ReadValues. A register's ReadAction is
// its own, or else that of its first field that has one.
//
// Describe fails for a name d has no peripheral of, for a register whose
// size is not 8, 16, 32 or 64 bits, for a register whose offset from the
// peripheral is not a multiple of its size (dimIncrement included), for a
// register array whose dimIncrement is less than its size (a cluster
// array's elements are checked through their registers), for two registers of a peripheral that
// overlap unless one is an alternate view (alternateRegister,
// alternateGroup, or inside an alternateCluster), for two fields of a
// register that overlap, and when flattening would give more than
// MaxDescribeElements registers and cluster elements or MaxTextBytes of
// substituted descriptions.
func (d *Device) Describe(peripherals ...string) (*regs.Description, error) {
	desc := &regs.Description{Name: d.Name, Description: d.Description}
	var ps []*Peripheral
	if len(peripherals) == 0 {
		ps = d.Peripherals
	}
	for _, name := range peripherals {
		p := d.Peripheral(name)
		if p == nil {
			return nil, &ParseError{
				Path: (*path)(nil).down("device", d.Name).String(),
				Err:  fmt.Errorf("no peripheral %q", name),
			}
		}
		ps = append(ps, p)
	}
	fl := flattener{dev: (*path)(nil).down("device", d.Name)}
	for _, p := range ps {
		rp, err := fl.peripheral(p)
		if err != nil {
			return nil, err
		}
		desc.Peripherals = append(desc.Peripherals, rp)
	}
	return desc, nil
}

// A flattener builds the registers of a description.
type flattener struct {
	dev       *path
	count     int // registers and cluster elements, against MaxDescribeElements
	textBytes int // built by %s substitution, against MaxTextBytes
	regs      []flatReg
	// fields caches the converted fields of each model register, which all
	// elements of an array share.
	fields map[*Register][]regs.Field
}

// A flatReg is a flattened register with what the overlap check needs.
type flatReg struct {
	regs.Register
	alt  bool // an alternate view, which may overlap others
	path *path
	line int
}

func (fl *flattener) peripheral(p *Peripheral) (regs.Peripheral, error) {
	out := regs.Peripheral{Name: p.Name, Description: p.Description, Base: p.BaseAddress}
	fl.regs = nil
	pp := fl.dev.down("peripheral", p.Name)
	if err := fl.contents(p.Registers, p.Clusters, "", 0, false, pp); err != nil {
		return out, err
	}
	slices.SortStableFunc(fl.regs, func(a, b flatReg) int {
		switch {
		case a.Offset < b.Offset:
			return -1
		case a.Offset > b.Offset:
			return 1
		}
		return 0
	})
	// Registers other than alternate views must not overlap.
	var last *flatReg // the plain register reaching furthest so far
	for i := range fl.regs {
		r := &fl.regs[i]
		end := r.Offset + uint64(r.Bits)/8
		if end > out.Size {
			out.Size = end
		}
		if r.alt {
			continue
		}
		if last != nil && r.Offset < last.Offset+uint64(last.Bits)/8 {
			return out, errorf(r.path, r.line, "register %s at %#x overlaps register %s at %#x (neither is an alternateRegister or alternateGroup)", r.Name, r.Offset, last.Name, last.Offset)
		}
		if last == nil || end > last.Offset+uint64(last.Bits)/8 {
			last = r
		}
	}
	// The block decodes its whole address blocks, which may reach past the
	// last register.
	for _, b := range p.AddressBlocks {
		if end := b.Offset + b.Size; end >= b.Offset && end > out.Size {
			out.Size = end
		}
	}
	out.Registers = make([]regs.Register, len(fl.regs))
	for i := range fl.regs {
		out.Registers[i] = fl.regs[i].Register
	}
	fl.regs = nil
	return out, nil
}

// contents flattens registers and clusters under prefix at offset base;
// alt says they are inside an alternate cluster.
func (fl *flattener) contents(rs []*Register, cs []*Cluster, prefix string, base uint64, alt bool, p *path) error {
	for _, r := range rs {
		if err := fl.register(r, prefix, base, alt, p); err != nil {
			return err
		}
	}
	for _, c := range cs {
		cp := p.down("cluster", c.Name)
		calt := alt || c.AlternateCluster != ""
		err := elements(c.Dim, c.Name, c.AddressOffset, base, func(name, _ string, off uint64) error {
			if err := fl.spend(); err != nil {
				return err
			}
			return fl.contents(c.Registers, c.Clusters, prefix+name+".", off, calt, cp)
		})
		if err != nil {
			return located(err, cp, c.Line)
		}
	}
	return nil
}

// spend counts one more register or cluster element.
func (fl *flattener) spend() error {
	fl.count++
	if fl.count > MaxDescribeElements {
		return fmt.Errorf("more than %d registers and cluster elements after flattening", MaxDescribeElements)
	}
	return nil
}

// located returns err as a *ParseError at p and line unless it is one.
func located(err error, p *path, line int) error {
	if _, ok := err.(*ParseError); ok {
		return err
	}
	return wrap(p, line, err)
}

// elements calls fn for each element of an array dim, or once for a
// plain element, with its name, index and absolute offset.
func elements(d *Dim, name string, off, base uint64, fn func(name, index string, off uint64) error) error {
	start, ok := step(base, off, 1)
	if !ok {
		return fmt.Errorf("offset overflows")
	}
	if d == nil {
		return fn(name, "", start)
	}
	for i, idx := range d.Index {
		o, ok := step(start, d.Increment, i)
		if !ok {
			return fmt.Errorf("offset of element %s overflows", idx)
		}
		if err := fn(name+"["+idx+"]", idx, o); err != nil {
			return err
		}
	}
	return nil
}

func (fl *flattener) register(r *Register, prefix string, base uint64, alt bool, up *path) error {
	p := up.down("register", r.Name)
	switch r.Size {
	case 8, 16, 32, 64:
	default:
		return errorf(p, r.Line, "register size %d bits is not 8, 16, 32 or 64", r.Size)
	}
	bytes := uint64(r.Size / 8)
	if d := r.Dim; d != nil && d.Count > 1 {
		if d.Increment < bytes {
			return errorf(p, r.Line, "dimIncrement %#x is less than the register's size of %d bytes: the elements overlap", d.Increment, bytes)
		}
		if d.Increment%bytes != 0 {
			return errorf(p, r.Line, "dimIncrement %#x is not a multiple of the register's size of %d bytes: elements would be misaligned", d.Increment, bytes)
		}
	}
	alt = alt || r.AlternateRegister != "" || r.AlternateGroup != ""
	fields, err := fl.convertFields(r, p)
	if err != nil {
		return err
	}
	ra := r.ReadAction
	if ra == regs.ReadNormal {
		for _, f := range fields {
			if f.ReadAction != regs.ReadNormal {
				ra = f.ReadAction
				break
			}
		}
	}
	err = elements(r.Dim, r.Name, r.AddressOffset, base, func(name, index string, off uint64) error {
		if _, ok := step(off, bytes, 1); !ok {
			return fmt.Errorf("register at %#x extends past the address space", off)
		}
		if off%bytes != 0 {
			return fmt.Errorf("register %s at offset %#x is not aligned to its size of %d bytes", prefix+name, off, bytes)
		}
		if err := fl.spend(); err != nil {
			return err
		}
		desc, n := subst(r.Description, index)
		if fl.textBytes += n; fl.textBytes > MaxTextBytes {
			return fmt.Errorf("more than %d bytes of text after %%s substitution", MaxTextBytes)
		}
		fl.regs = append(fl.regs, flatReg{alt: alt, path: p, line: r.Line, Register: regs.Register{
			Name:        prefix + name,
			Description: desc,
			Offset:      off,
			Bits:        uint8(r.Size),
			Access:      r.Access,
			Reset:       r.ResetValue,
			ResetMask:   r.ResetMask,
			WriteEffect: r.WriteEffect,
			ReadAction:  ra,
			Fields:      fields,
		}})
		return nil
	})
	if err != nil {
		return located(err, p, r.Line)
	}
	return nil
}

// convertFields returns the description fields of r, sorted by offset, or
// an error if two overlap. The slice is shared by the elements of an array.
func (fl *flattener) convertFields(r *Register, p *path) ([]regs.Field, error) {
	if fs, ok := fl.fields[r]; ok {
		return fs, nil
	}
	var out []regs.Field
	for _, f := range r.Fields {
		rf := regs.Field{
			Name:        f.Name,
			Description: f.Description,
			Offset:      uint8(f.BitOffset),
			Width:       uint8(f.BitWidth),
			Access:      f.Access,
			WriteEffect: f.WriteEffect,
			ReadAction:  f.ReadAction,
		}
		for _, v := range f.ReadValues() {
			rf.Enums = append(rf.Enums, regs.EnumValue{
				Name: v.Name, Description: v.Description, Value: v.Value, Default: v.IsDefault,
			})
		}
		out = append(out, rf)
	}
	slices.SortStableFunc(out, func(a, b regs.Field) int { return int(a.Offset) - int(b.Offset) })
	for i := 1; i < len(out); i++ {
		if prev := out[i-1]; int(out[i].Offset) < int(prev.Offset)+int(prev.Width) {
			return nil, errorf(p, r.Line, "field %s bits [%d:%d] overlaps field %s bits [%d:%d]",
				out[i].Name, int(out[i].Offset)+int(out[i].Width)-1, out[i].Offset, prev.Name, int(prev.Offset)+int(prev.Width)-1, prev.Offset)
		}
	}
	if fl.fields == nil {
		fl.fields = make(map[*Register][]regs.Field)
	}
	fl.fields[r] = out
	return out, nil
}
