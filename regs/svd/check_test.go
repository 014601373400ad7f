package svd

import (
	"fmt"

	"github.com/ipcu/ipcu/regs"
)

// checkDevice checks the invariants every parsed Device must hold; the unit
// tests, the vendor test and the fuzz target all use it.
func checkDevice(d *Device) error {
	if d.Name == "" {
		return fmt.Errorf("device without a name")
	}
	for _, p := range d.Peripherals {
		if p.Name == "" || p.Line <= 0 {
			return fmt.Errorf("peripheral %q: no name or line", p.Name)
		}
		if err := checkContents(p.Name, p.Registers, p.Clusters, 0); err != nil {
			return err
		}
	}
	return nil
}

func checkDim(what string, d *Dim) error {
	if d == nil {
		return nil
	}
	if d.Count < 1 || d.Count > MaxDim || len(d.Index) != d.Count {
		return fmt.Errorf("%s: bad dim %+v", what, d)
	}
	return nil
}

func checkContents(where string, rs []*Register, cs []*Cluster, depth int) error {
	if depth > MaxClusterDepth {
		return fmt.Errorf("%s: clusters too deep", where)
	}
	for _, r := range rs {
		what := where + "." + r.Name
		if r.Name == "" || r.Line <= 0 {
			return fmt.Errorf("%s: no name or line", what)
		}
		if err := checkDim(what, r.Dim); err != nil {
			return err
		}
		if r.Size < 1 || r.Size > 64 {
			return fmt.Errorf("%s: size %d", what, r.Size)
		}
		if r.ResetValue&^widthMask(r.Size) != 0 || r.ResetMask&^widthMask(r.Size) != 0 {
			return fmt.Errorf("%s: reset %#x/%#x wider than %d bits", what, r.ResetValue, r.ResetMask, r.Size)
		}
		if r.Access == regs.AccessUnset {
			return fmt.Errorf("%s: access unresolved", what)
		}
		for _, f := range r.Fields {
			if f.BitWidth < 1 || f.BitOffset < 0 || f.BitOffset+f.BitWidth > r.Size {
				return fmt.Errorf("%s.%s: bits %d+%d outside %d-bit register", what, f.Name, f.BitOffset, f.BitWidth, r.Size)
			}
			if f.Access == regs.AccessUnset {
				return fmt.Errorf("%s.%s: access unresolved", what, f.Name)
			}
			for _, e := range f.Enums {
				for _, v := range e.Values {
					if v.Value&^widthMask(f.BitWidth) != 0 {
						return fmt.Errorf("%s.%s: enum %s=%#x wider than field", what, f.Name, v.Name, v.Value)
					}
				}
			}
		}
	}
	for _, c := range cs {
		what := where + "." + c.Name
		if c.Name == "" || c.Line <= 0 {
			return fmt.Errorf("%s: no name or line", what)
		}
		if err := checkDim(what, c.Dim); err != nil {
			return err
		}
		if err := checkContents(what, c.Registers, c.Clusters, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkDescription checks the invariants of a Description.
func checkDescription(desc *regs.Description) error {
	for _, p := range desc.Peripherals {
		var last uint64
		for i, r := range p.Registers {
			switch r.Bits {
			case 8, 16, 32, 64:
			default:
				return fmt.Errorf("%s.%s: %d bits", p.Name, r.Name, r.Bits)
			}
			if i > 0 && r.Offset < last {
				return fmt.Errorf("%s: registers not sorted at %s", p.Name, r.Name)
			}
			last = r.Offset
			if r.Offset+uint64(r.Bits/8) > p.Size {
				return fmt.Errorf("%s.%s: past peripheral size %#x", p.Name, r.Name, p.Size)
			}
			for j, f := range r.Fields {
				if f.Width < 1 || int(f.Offset)+int(f.Width) > int(r.Bits) {
					return fmt.Errorf("%s.%s.%s: outside register", p.Name, r.Name, f.Name)
				}
				if j > 0 && f.Offset < r.Fields[j-1].Offset {
					return fmt.Errorf("%s.%s: fields not sorted", p.Name, r.Name)
				}
			}
		}
	}
	return nil
}
