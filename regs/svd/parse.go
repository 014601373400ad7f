package svd

import (
	"fmt"
	"io"
	"math/bits"
	"os"
	"strings"

	"github.com/ipcu/ipcu/regs"
)

// Parse reads a CMSIS-SVD document from r and returns its resolved model.
// Problems with the input are returned as a *ParseError.
func Parse(r io.Reader) (*Device, error) {
	root, err := decodeTree(r)
	if err != nil {
		return nil, err
	}
	if err := resolveAll(root); err != nil {
		return nil, err
	}
	var c converter
	return c.device(root)
}

// ParseFile parses the SVD file called name.
func ParseFile(name string) (*Device, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// A converter turns the resolved node tree into the model, expanding dim
// lists and handing register properties down.
type converter struct {
	elements  int // built so far, against MaxElements
	textBytes int // built by %s substitution, against MaxTextBytes
	// clean caches the cleaned text of description nodes: an element
	// expanded or derived many times shares one copy.
	clean map[*node]string
}

// description returns the cleaned <description> of n, cleaned once per
// node.
func (c *converter) description(n *node) string {
	k := n.child("description")
	if k == nil {
		return ""
	}
	if s, ok := c.clean[k]; ok {
		return s
	}
	s := cleanText(k.text)
	if c.clean == nil {
		c.clean = make(map[*node]string)
	}
	c.clean[k] = s
	return s
}

// subst replaces %s in s with index, counting the bytes it builds against
// MaxTextBytes. Text without %s is returned as it is, not copied.
func (c *converter) subst(s, index string, p *path, line int) (string, error) {
	out, n := subst(s, index)
	c.textBytes += n
	if c.textBytes > MaxTextBytes {
		return "", errorf(p, line, "more than %d bytes of text after %%s substitution", MaxTextBytes)
	}
	return out, nil
}

// spend counts one more element of the model.
func (c *converter) spend(p *path, line int) error {
	c.elements++
	if c.elements > MaxElements {
		return errorf(p, line, "more than %d elements after derivedFrom and dim expansion", MaxElements)
	}
	return nil
}

// text returns the text of n's child tag and that child, or "" and nil.
func text(n *node, tag string) (string, *node) {
	if k := n.child(tag); k != nil {
		return k.text, k
	}
	return "", nil
}

// number parses n's child tag as a number. ok is false when it is absent.
func number(n *node, tag string, p *path) (v uint64, ok bool, err error) {
	k := n.child(tag)
	if k == nil {
		return 0, false, nil
	}
	v, err = parseUint(k.text)
	if err != nil {
		return 0, false, wrap(p, k.line, fmt.Errorf("<%s>: %w", tag, err))
	}
	return v, true, nil
}

// smallNumber is number for values that must be at most max.
func smallNumber(n *node, tag string, p *path, max uint64) (v int, ok bool, err error) {
	u, ok, err := number(n, tag, p)
	if err != nil || !ok {
		return 0, ok, err
	}
	if u > max {
		return 0, false, errorf(p, n.child(tag).line, "<%s> %d is more than %d", tag, u, max)
	}
	return int(u), true, nil
}

// required is number for a child that must be there.
func required(n *node, tag string, p *path) (uint64, error) {
	v, ok, err := number(n, tag, p)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, errorf(p, n.line, "missing <%s>", tag)
	}
	return v, nil
}

// cleanText trims a description: leading and trailing space of the whole
// and of every line, which SVD files indent along with their XML.
func cleanText(s string) string {
	if !strings.Contains(s, "\n") {
		return strings.TrimSpace(s)
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

// subst replaces %s in a display name or description with the index of an
// expanded element, and returns the number of bytes it built: 0 when s has
// no %s and is returned as it is.
func subst(s, index string) (string, int) {
	if index == "" || !strings.Contains(s, "%s") {
		return s, 0
	}
	out := strings.ReplaceAll(s, "%s", index)
	return out, len(out)
}

// properties reads the registerPropertiesGroup of n over in.
func properties(n *node, in RegisterProperties, p *path) (RegisterProperties, error) {
	out := in
	size, ok, err := smallNumber(n, "size", p, 1<<31)
	if err != nil {
		return out, err
	}
	if ok {
		if size < 1 || size > 64 {
			return out, errorf(p, n.child("size").line, "<size> %d is not between 1 and 64 bits", size)
		}
		out.Size = size
	}
	if s, k := text(n, "access"); k != nil {
		a, err := regs.ParseAccess(s)
		if err != nil {
			return out, wrap(p, k.line, err)
		}
		out.Access = a
	}
	if v, ok, err := number(n, "resetValue", p); err != nil {
		return out, err
	} else if ok {
		out.ResetValue = v
	}
	if v, ok, err := number(n, "resetMask", p); err != nil {
		return out, err
	} else if ok {
		out.ResetMask = v
	}
	return out, nil
}

// dim reads the dimElementGroup of n: nil when n has no <dim>.
func dim(n *node, p *path) (*Dim, error) {
	k := n.child("dim")
	if k == nil {
		return nil, nil
	}
	count, _, err := smallNumber(n, "dim", p, MaxDim)
	if err != nil {
		return nil, err
	}
	if count < 1 {
		return nil, errorf(p, k.line, "<dim> is 0")
	}
	inc, ok, err := number(n, "dimIncrement", p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(p, k.line, "<dim> without <dimIncrement>")
	}
	d := &Dim{Count: count, Increment: inc}
	s, ik := text(n, "dimIndex")
	if d.Index, err = parseDimIndex(s, count); err != nil {
		line := k.line
		if ik != nil {
			line = ik.line
		}
		return nil, wrap(p, line, err)
	}
	d.Name, _ = text(n, "dimName")
	return d, nil
}

// The forms a dim name takes.
const (
	single = iota // no %s
	list          // "CH%s": expanded into elements with their own names
	array         // "MB[%s]": an array
)

// effects reads the modifiedWriteValues and readAction a register or field
// states; for one it does not state, it returns the inherited w or r.
func effects(n *node, p *path, w regs.WriteEffect, r regs.ReadAction) (regs.WriteEffect, regs.ReadAction, error) {
	var err error
	if s, k := text(n, "modifiedWriteValues"); k != nil {
		if w, err = regs.ParseWriteEffect(s); err != nil {
			return w, r, wrap(p, k.line, err)
		}
	}
	if s, k := text(n, "readAction"); k != nil {
		if r, err = regs.ParseReadAction(s); err != nil {
			return w, r, wrap(p, k.line, err)
		}
	}
	return w, r, nil
}

// named reads what every element that may be a dim group starts with: its
// name (required), the path of the element, its dim group and the form of
// its name (single, array or list).
func named(n *node, kind string, up *path) (raw string, p *path, d *Dim, form int, err error) {
	raw = n.name()
	p = up.down(kind, raw)
	if raw == "" {
		return raw, p, nil, 0, errorf(p, n.line, "missing <name>")
	}
	if d, err = dim(n, p); err != nil {
		return raw, p, nil, 0, err
	}
	form, err = nameForm(raw, d, n, p)
	return raw, p, d, form, err
}

// nameForm checks that name and d agree and returns the form of name.
func nameForm(name string, d *Dim, n *node, p *path) (int, error) {
	has := strings.Contains(name, "%s")
	switch {
	case d == nil && has:
		return 0, errorf(p, n.line, "name %q has %%s but there is no <dim>", name)
	case d != nil && !has:
		return 0, errorf(p, n.child("dim").line, "<dim> but name %q has no %%s", name)
	case d == nil:
		return single, nil
	case strings.HasSuffix(name, "[%s]"):
		if name == "[%s]" {
			return 0, errorf(p, n.line, "name %q has nothing before [%%s]", name)
		}
		return array, nil
	}
	return list, nil
}

// expandName returns name for element index: "%s" and "[%s]" both become
// the index.
func expandName(name, index string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "[%s]", index), "%s", index)
}

// step returns base + i*inc, failing on overflow.
func step(base, inc uint64, i int) (uint64, bool) {
	hi, lo := bits.Mul64(inc, uint64(i))
	if hi != 0 {
		return 0, false
	}
	sum, carry := bits.Add64(base, lo, 0)
	return sum, carry == 0
}

func (c *converter) device(n *node) (*Device, error) {
	p := (*path)(nil).down("device", n.name())
	d := &Device{Line: n.line}
	if d.Name = n.name(); d.Name == "" {
		return nil, errorf(p, n.line, "missing <name>")
	}
	d.Vendor, _ = text(n, "vendor")
	d.Series, _ = text(n, "series")
	d.Version, _ = text(n, "version")
	desc, _ := text(n, "description")
	d.Description = cleanText(desc)
	var err error
	if d.Width, _, err = smallNumber(n, "width", p, 1<<16); err != nil {
		return nil, err
	}
	var ok bool
	if d.AddressUnitBits, ok, err = smallNumber(n, "addressUnitBits", p, 1<<16); err != nil {
		return nil, err
	} else if !ok {
		d.AddressUnitBits = 8
	}
	in := RegisterProperties{Size: 32, Access: regs.ReadWrite, ResetMask: ^uint64(0)}
	if d.Width >= 1 && d.Width <= 64 {
		in.Size = d.Width
	}
	if d.Defaults, err = properties(n, in, p); err != nil {
		return nil, err
	}
	for _, ps := range n.kids {
		if ps.tag != "peripherals" {
			continue
		}
		for _, k := range ps.kids {
			if k.tag != "peripheral" {
				continue
			}
			periphs, err := c.peripheral(k, d.Defaults, p)
			if err != nil {
				return nil, err
			}
			d.Peripherals = append(d.Peripherals, periphs...)
		}
	}
	return d, nil
}

// peripheral converts a <peripheral>, expanding a dim list of them.
func (c *converter) peripheral(n *node, in RegisterProperties, up *path) ([]*Peripheral, error) {
	raw, p, d, _, err := named(n, "peripheral", up)
	if err != nil {
		return nil, err
	}
	if d == nil {
		per, err := c.peripheral1(n, in, p, raw, "")
		if err != nil {
			return nil, err
		}
		return []*Peripheral{per}, nil
	}
	var out []*Peripheral
	for i, idx := range d.Index {
		per, err := c.peripheral1(n, in, p, expandName(raw, idx), idx)
		if err != nil {
			return nil, err
		}
		var ok bool
		if per.BaseAddress, ok = step(per.BaseAddress, d.Increment, i); !ok {
			return nil, errorf(p, n.line, "base address of element %d overflows", i)
		}
		out = append(out, per)
	}
	return out, nil
}

func (c *converter) peripheral1(n *node, in RegisterProperties, p *path, name, index string) (*Peripheral, error) {
	if err := c.spend(p, n.line); err != nil {
		return nil, err
	}
	per := &Peripheral{Name: name, RawName: n.name(), Index: index, Line: n.line, DerivedFrom: n.derivedFrom}
	var err error
	if per.BaseAddress, err = required(n, "baseAddress", p); err != nil {
		return nil, err
	}
	if per.Description, err = c.subst(c.description(n), index, p, n.line); err != nil {
		return nil, err
	}
	per.Version, _ = text(n, "version")
	per.GroupName, _ = text(n, "groupName")
	per.HeaderStructName, _ = text(n, "headerStructName")
	if per.Defaults, err = properties(n, in, p); err != nil {
		return nil, err
	}
	for _, k := range n.kids {
		switch k.tag {
		case "addressBlock":
			ab := AddressBlock{Line: k.line}
			if ab.Offset, err = required(k, "offset", p); err != nil {
				return nil, err
			}
			if ab.Size, err = required(k, "size", p); err != nil {
				return nil, err
			}
			ab.Usage, _ = text(k, "usage")
			per.AddressBlocks = append(per.AddressBlocks, ab)
		case "interrupt":
			ip := p.down("interrupt", k.name())
			irq := Interrupt{Name: k.name(), Line: k.line}
			if irq.Name == "" {
				return nil, errorf(ip, k.line, "missing <name>")
			}
			desc, _ := text(k, "description")
			irq.Description = cleanText(desc)
			s, vk := text(k, "value")
			if vk == nil {
				return nil, errorf(ip, k.line, "missing <value>")
			}
			// Negative numbers are the core's exceptions.
			digits, neg := strings.CutPrefix(strings.TrimSpace(s), "-")
			u, err := parseUint(digits)
			if err != nil || u > 1<<31-1 {
				return nil, errorf(ip, vk.line, "<value>: bad interrupt number %q", s)
			}
			irq.Value = int(u)
			if neg {
				irq.Value = -irq.Value
			}
			per.Interrupts = append(per.Interrupts, irq)
		case "registers":
			rs, cs, err := c.contents(k, per.Defaults, p, 0)
			if err != nil {
				return nil, err
			}
			per.Registers = append(per.Registers, rs...)
			per.Clusters = append(per.Clusters, cs...)
		}
	}
	return per, nil
}

// contents converts the registers and clusters that are children of n.
func (c *converter) contents(n *node, in RegisterProperties, p *path, depth int) ([]*Register, []*Cluster, error) {
	var rs []*Register
	var cs []*Cluster
	for _, k := range n.kids {
		switch k.tag {
		case "register":
			r, err := c.register(k, in, p)
			if err != nil {
				return nil, nil, err
			}
			rs = append(rs, r...)
		case "cluster":
			cl, err := c.cluster(k, in, p, depth+1)
			if err != nil {
				return nil, nil, err
			}
			cs = append(cs, cl...)
		}
	}
	return rs, cs, nil
}

// cluster converts a <cluster>: one Cluster for a single cluster or an
// array, one per element for a %s list.
func (c *converter) cluster(n *node, in RegisterProperties, up *path, depth int) ([]*Cluster, error) {
	raw, p, d, form, err := named(n, "cluster", up)
	if err != nil {
		return nil, err
	}
	if depth > MaxClusterDepth {
		return nil, errorf(p, n.line, "clusters nested more than %d deep", MaxClusterDepth)
	}
	off, err := required(n, "addressOffset", p)
	if err != nil {
		return nil, err
	}
	switch form {
	case single:
		cl, err := c.cluster1(n, in, p, raw, "", off, depth)
		return []*Cluster{cl}, err
	case array:
		if _, ok := step(off, d.Increment, d.Count-1); !ok {
			return nil, errorf(p, n.line, "array extends past the address space")
		}
		cl, err := c.cluster1(n, in, p, strings.TrimSuffix(raw, "[%s]"), "", off, depth)
		if err != nil {
			return nil, err
		}
		cl.Dim = d
		return []*Cluster{cl}, nil
	}
	var out []*Cluster
	for i, idx := range d.Index {
		o, ok := step(off, d.Increment, i)
		if !ok {
			return nil, errorf(p, n.line, "address offset of element %d overflows", i)
		}
		cl, err := c.cluster1(n, in, p, expandName(raw, idx), idx, o, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, cl)
	}
	return out, nil
}

func (c *converter) cluster1(n *node, in RegisterProperties, p *path, name, index string, off uint64, depth int) (*Cluster, error) {
	if err := c.spend(p, n.line); err != nil {
		return nil, err
	}
	cl := &Cluster{Name: name, RawName: n.name(), Index: index, AddressOffset: off, Line: n.line, DerivedFrom: n.derivedFrom}
	var err error
	if cl.Description, err = c.subst(c.description(n), index, p, n.line); err != nil {
		return nil, err
	}
	cl.HeaderStructName, _ = text(n, "headerStructName")
	cl.AlternateCluster, _ = text(n, "alternateCluster")
	cl.AlternateCluster = strings.TrimSpace(cl.AlternateCluster)
	if cl.Defaults, err = properties(n, in, p); err != nil {
		return nil, err
	}
	cl.Registers, cl.Clusters, err = c.contents(n, cl.Defaults, p, depth)
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// register converts a <register>: one Register for a single register or
// an array, one per element for a %s list.
func (c *converter) register(n *node, in RegisterProperties, up *path) ([]*Register, error) {
	raw, p, d, form, err := named(n, "register", up)
	if err != nil {
		return nil, err
	}
	off, err := required(n, "addressOffset", p)
	if err != nil {
		return nil, err
	}
	switch form {
	case single:
		r, err := c.register1(n, in, p, raw, "", off)
		if err != nil {
			return nil, err
		}
		return []*Register{r}, nil
	case array:
		if _, ok := step(off, d.Increment, d.Count-1); !ok {
			return nil, errorf(p, n.line, "array extends past the address space")
		}
		r, err := c.register1(n, in, p, strings.TrimSuffix(raw, "[%s]"), "", off)
		if err != nil {
			return nil, err
		}
		r.Dim = d
		return []*Register{r}, nil
	}
	var out []*Register
	for i, idx := range d.Index {
		o, ok := step(off, d.Increment, i)
		if !ok {
			return nil, errorf(p, n.line, "address offset of element %d overflows", i)
		}
		r, err := c.register1(n, in, p, expandName(raw, idx), idx, o)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *converter) register1(n *node, in RegisterProperties, p *path, name, index string, off uint64) (*Register, error) {
	if err := c.spend(p, n.line); err != nil {
		return nil, err
	}
	r := &Register{Name: name, RawName: n.name(), Index: index, AddressOffset: off, Line: n.line, DerivedFrom: n.derivedFrom}
	dn, _ := text(n, "displayName")
	var err error
	if r.DisplayName, err = c.subst(dn, index, p, n.line); err != nil {
		return nil, err
	}
	if r.Description, err = c.subst(c.description(n), index, p, n.line); err != nil {
		return nil, err
	}
	r.AlternateRegister, _ = text(n, "alternateRegister")
	r.AlternateGroup, _ = text(n, "alternateGroup")
	r.AlternateRegister, r.AlternateGroup = strings.TrimSpace(r.AlternateRegister), strings.TrimSpace(r.AlternateGroup)
	props, err := properties(n, in, p)
	if err != nil {
		return nil, err
	}
	r.Size, r.Access = props.Size, props.Access
	r.ResetValue = props.ResetValue & widthMask(r.Size)
	r.ResetMask = props.ResetMask & widthMask(r.Size)
	if r.WriteEffect, r.ReadAction, err = effects(n, p, r.WriteEffect, r.ReadAction); err != nil {
		return nil, err
	}
	for _, fs := range n.kids {
		if fs.tag != "fields" {
			continue
		}
		for _, k := range fs.kids {
			if k.tag != "field" {
				continue
			}
			f, err := c.field(k, r, p)
			if err != nil {
				return nil, err
			}
			r.Fields = append(r.Fields, f...)
		}
	}
	return r, nil
}

// position reads the bit position of a field in any of its three forms.
func position(n *node, p *path) (offset, width int, err error) {
	br := n.child("bitRange")
	lsbN, msbN := n.child("lsb"), n.child("msb")
	offN, widthN := n.child("bitOffset"), n.child("bitWidth")
	forms := 0
	if br != nil {
		forms++
	}
	if lsbN != nil || msbN != nil {
		forms++
	}
	if offN != nil || widthN != nil {
		forms++
	}
	switch {
	case forms == 0:
		return 0, 0, errorf(p, n.line, "missing bit position (<bitOffset>, <lsb>/<msb> or <bitRange>)")
	case forms > 1:
		return 0, 0, errorf(p, n.line, "bit position stated in more than one form")
	}
	var lsb, msb uint64
	switch {
	case br != nil:
		s := strings.TrimSpace(br.text)
		m, l, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ":")
		if !ok || !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
			return 0, 0, errorf(p, br.line, "bad <bitRange> %q, want [msb:lsb]", s)
		}
		var err1, err2 error
		msb, err1 = parseUint(m)
		lsb, err2 = parseUint(l)
		if err1 != nil || err2 != nil {
			return 0, 0, errorf(p, br.line, "bad <bitRange> %q, want [msb:lsb]", s)
		}
		if msb < lsb {
			return 0, 0, errorf(p, br.line, "<bitRange> %q has msb below lsb", s)
		}
	case lsbN != nil || msbN != nil:
		if lsbN == nil || msbN == nil {
			return 0, 0, errorf(p, n.line, "<lsb> and <msb> must come together")
		}
		var err error
		if lsb, err = required(n, "lsb", p); err != nil {
			return 0, 0, err
		}
		if msb, err = required(n, "msb", p); err != nil {
			return 0, 0, err
		}
		if msb < lsb {
			return 0, 0, errorf(p, msbN.line, "<msb> %d is below <lsb> %d", msb, lsb)
		}
	default:
		var err error
		if lsb, err = required(n, "bitOffset", p); err != nil {
			return 0, 0, err
		}
		w, ok, err := number(n, "bitWidth", p)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			w = 1
		}
		if w == 0 {
			return 0, 0, errorf(p, widthN.line, "<bitWidth> is 0")
		}
		if w > 64 || lsb > 63 {
			return 0, 0, errorf(p, n.line, "field at bit %d, %d wide, is past bit 63", lsb, w)
		}
		msb = lsb + w - 1
	}
	if msb > 63 {
		return 0, 0, errorf(p, n.line, "field bits [%d:%d] are past bit 63", msb, lsb)
	}
	return int(lsb), int(msb-lsb) + 1, nil
}

// field converts a <field>, expanding a dim list (in either name form).
func (c *converter) field(n *node, r *Register, up *path) ([]*Field, error) {
	raw, p, d, _, err := named(n, "field", up)
	if err != nil {
		return nil, err
	}
	off, width, err := position(n, p)
	if err != nil {
		return nil, err
	}
	if d == nil {
		f, err := c.field1(n, r, p, raw, "", off, width)
		if err != nil {
			return nil, err
		}
		return []*Field{f}, nil
	}
	var out []*Field
	for i, idx := range d.Index {
		o, ok := step(uint64(off), d.Increment, i)
		if !ok || o > 64 {
			return nil, errorf(p, n.line, "element %s at bit %d+%d*%d does not fit in the %d-bit register", idx, off, i, d.Increment, r.Size)
		}
		f, err := c.field1(n, r, p, expandName(raw, idx), idx, int(o), width)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (c *converter) field1(n *node, r *Register, p *path, name, index string, off, width int) (*Field, error) {
	if err := c.spend(p, n.line); err != nil {
		return nil, err
	}
	if off+width > r.Size {
		return nil, errorf(p, n.line, "field %s bits [%d:%d] does not fit in the %d-bit register", name, off+width-1, off, r.Size)
	}
	f := &Field{
		Name: name, RawName: n.name(), Index: index, BitOffset: off, BitWidth: width,
		Access: r.Access, WriteEffect: r.WriteEffect, ReadAction: r.ReadAction,
		Line: n.line, DerivedFrom: n.derivedFrom,
	}
	var err error
	if f.Description, err = c.subst(c.description(n), index, p, n.line); err != nil {
		return nil, err
	}
	if s, k := text(n, "access"); k != nil {
		if f.Access, err = regs.ParseAccess(s); err != nil {
			return nil, wrap(p, k.line, err)
		}
	}
	if f.WriteEffect, f.ReadAction, err = effects(n, p, f.WriteEffect, f.ReadAction); err != nil {
		return nil, err
	}
	for _, k := range n.kids {
		if k.tag != "enumeratedValues" {
			continue
		}
		e, err := c.enums(k, width, p)
		if err != nil {
			return nil, err
		}
		f.Enums = append(f.Enums, e)
	}
	return f, nil
}

// maxDontCare is how many don't-care bits an enumerated value may have:
// each is expanded, so 8 give 256 values.
const maxDontCare = 8

// enums converts an <enumeratedValues> of a field width bits wide.
func (c *converter) enums(n *node, width int, up *path) (*EnumeratedValues, error) {
	p := up.down("enumeratedValues", n.name())
	e := &EnumeratedValues{Name: n.name(), Usage: "read-write", Line: n.line, DerivedFrom: n.derivedFrom}
	e.HeaderEnumName, _ = text(n, "headerEnumName")
	if s, k := text(n, "usage"); k != nil {
		switch s {
		case "read", "write", "read-write":
			e.Usage = s
		default:
			return nil, errorf(p, k.line, "unknown <usage> %q", s)
		}
	}
	for _, k := range n.kids {
		if k.tag != "enumeratedValue" {
			continue
		}
		vp := p.down("enumeratedValue", k.name())
		if k.name() == "" {
			return nil, errorf(vp, k.line, "missing <name>")
		}
		desc := c.description(k)
		isDefault := false
		if s, dk := text(k, "isDefault"); dk != nil {
			var err error
			if isDefault, err = parseBool(s); err != nil {
				return nil, wrap(vp, dk.line, fmt.Errorf("<isDefault>: %w", err))
			}
		}
		s, vk := text(k, "value")
		if vk == nil {
			if !isDefault {
				return nil, errorf(vp, k.line, "missing <value> (or <isDefault>true)")
			}
			if err := c.spend(vp, k.line); err != nil {
				return nil, err
			}
			e.Values = append(e.Values, &EnumeratedValue{Name: k.name(), Description: desc, IsDefault: true, Line: k.line})
			continue
		}
		v, dc, err := parseUintDontCare(s)
		if err != nil {
			return nil, wrap(vp, vk.line, fmt.Errorf("<value>: %w", err))
		}
		if (v|dc)&^widthMask(width) != 0 {
			return nil, errorf(vp, vk.line, "<value> %s does not fit in the %d-bit field", s, width)
		}
		n := bits.OnesCount64(dc)
		if n > maxDontCare {
			return nil, errorf(vp, vk.line, "<value> %s has more than %d don't-care bits", s, maxDontCare)
		}
		for i := uint64(0); i < 1<<uint(n); i++ {
			if err := c.spend(vp, k.line); err != nil {
				return nil, err
			}
			e.Values = append(e.Values, &EnumeratedValue{
				Name: k.name(), Description: desc, Value: v | deposit(i, dc), IsDefault: isDefault, Line: k.line,
			})
		}
	}
	return e, nil
}

// deposit scatters the low bits of x into the set bits of mask, lowest
// first.
func deposit(x, mask uint64) uint64 {
	var out uint64
	for mask != 0 {
		low := mask & -mask
		if x&1 != 0 {
			out |= low
		}
		x >>= 1
		mask &^= low
	}
	return out
}
