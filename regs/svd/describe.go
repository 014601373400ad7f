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
// size is not 8, 16, 32 or 64 bits, and when flattening would give more
// than MaxDescribeElements registers and cluster elements.
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
	dev   *path
	count int // registers and cluster elements, against MaxDescribeElements
	regs  []regs.Register
	// fields caches the converted fields of each model register, which all
	// elements of an array share.
	fields map[*Register][]regs.Field
}

func (fl *flattener) peripheral(p *Peripheral) (regs.Peripheral, error) {
	out := regs.Peripheral{Name: p.Name, Description: p.Description, Base: p.BaseAddress}
	fl.regs = nil
	pp := fl.dev.down("peripheral", p.Name)
	if err := fl.contents(p.Registers, p.Clusters, "", 0, pp); err != nil {
		return out, err
	}
	slices.SortStableFunc(fl.regs, func(a, b regs.Register) int {
		switch {
		case a.Offset < b.Offset:
			return -1
		case a.Offset > b.Offset:
			return 1
		}
		return 0
	})
	for _, r := range fl.regs {
		if end := r.Offset + uint64(r.Bits)/8; end > out.Size {
			out.Size = end
		}
	}
	// The block decodes its whole address blocks, which may reach past the
	// last register.
	for _, b := range p.AddressBlocks {
		if end := b.Offset + b.Size; end >= b.Offset && end > out.Size {
			out.Size = end
		}
	}
	out.Registers = fl.regs
	fl.regs = nil
	return out, nil
}

// contents flattens registers and clusters under prefix at offset base.
func (fl *flattener) contents(rs []*Register, cs []*Cluster, prefix string, base uint64, p *path) error {
	for _, r := range rs {
		if err := fl.register(r, prefix, base, p); err != nil {
			return err
		}
	}
	for _, c := range cs {
		cp := p.down("cluster", c.Name)
		err := elements(c.Dim, c.Name, c.AddressOffset, base, func(name, _ string, off uint64) error {
			if err := fl.spend(); err != nil {
				return err
			}
			return fl.contents(c.Registers, c.Clusters, prefix+name+".", off, cp)
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

func (fl *flattener) register(r *Register, prefix string, base uint64, up *path) error {
	p := up.down("register", r.Name)
	switch r.Size {
	case 8, 16, 32, 64:
	default:
		return errorf(p, r.Line, "register size %d bits is not 8, 16, 32 or 64", r.Size)
	}
	fields := fl.convertFields(r)
	ra := r.ReadAction
	if ra == regs.ReadNormal {
		for _, f := range fields {
			if f.ReadAction != regs.ReadNormal {
				ra = f.ReadAction
				break
			}
		}
	}
	err := elements(r.Dim, r.Name, r.AddressOffset, base, func(name, index string, off uint64) error {
		if _, ok := step(off, uint64(r.Size/8), 1); !ok {
			return fmt.Errorf("register at %#x extends past the address space", off)
		}
		if err := fl.spend(); err != nil {
			return err
		}
		fl.regs = append(fl.regs, regs.Register{
			Name:        prefix + name,
			Description: subst(r.Description, index),
			Offset:      off,
			Bits:        uint8(r.Size),
			Access:      r.Access,
			Reset:       r.ResetValue,
			ResetMask:   r.ResetMask,
			ReadAction:  ra,
			Fields:      fields,
		})
		return nil
	})
	if err != nil {
		return located(err, p, r.Line)
	}
	return nil
}

// convertFields returns the description fields of r, sorted by offset.
// The slice is shared by the elements of an array.
func (fl *flattener) convertFields(r *Register) []regs.Field {
	if fs, ok := fl.fields[r]; ok {
		return fs
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
	if fl.fields == nil {
		fl.fields = make(map[*Register][]regs.Field)
	}
	fl.fields[r] = out
	return out
}
