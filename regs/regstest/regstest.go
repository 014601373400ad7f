package regstest

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ipcu/ipcu/internal/goident"
	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/svd"
)

// An Access is one register access seen by a Bus.
type Access struct {
	Write  bool
	Offset uintptr
	Bits   int
	Value  uint64
}

func (a Access) String() string {
	op := "read"
	if a.Write {
		op = "write"
	}
	return fmt.Sprintf("%s%d %#x = %#x", op, a.Bits, a.Offset, a.Value)
}

// Bus is a regs.Bus over plain memory that records every access. Registers
// behave as memory: writes are stored as they are. Its methods are safe for
// concurrent use.
type Bus struct {
	mu    sync.Mutex
	mem   []byte
	trace []Access
}

// NewBus returns a Bus of size bytes, all zero.
func NewBus(size uintptr) *Bus { return &Bus{mem: make([]byte, size)} }

// Size returns the size of the bus.
func (b *Bus) Size() uintptr { return uintptr(len(b.mem)) }

// Trace returns the accesses made so far and forgets them.
func (b *Bus) Trace() []Access {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.trace
	b.trace = nil
	return t
}

// Poke sets memory without recording an access, to prepare register values.
func (b *Bus) Poke(off uintptr, bits int, v uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	regs.MustCheck("write", off, bits, b.Size())
	b.put(off, bits, v)
}

func (b *Bus) put(off uintptr, bits int, v uint64) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	copy(b.mem[off:off+uintptr(bits/8)], buf[:bits/8])
}

func (b *Bus) read(off uintptr, bits int) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	regs.MustCheck("read", off, bits, b.Size())
	var buf [8]byte
	copy(buf[:], b.mem[off:off+uintptr(bits/8)])
	v := binary.LittleEndian.Uint64(buf[:])
	b.trace = append(b.trace, Access{Offset: off, Bits: bits, Value: v})
	return v
}

func (b *Bus) write(off uintptr, bits int, v uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	regs.MustCheck("write", off, bits, b.Size())
	b.put(off, bits, v)
	b.trace = append(b.trace, Access{Write: true, Offset: off, Bits: bits, Value: v})
}

// Read8 implements regs.Bus.
func (b *Bus) Read8(off uintptr) uint8 { return uint8(b.read(off, 8)) }

// Read16 implements regs.Bus.
func (b *Bus) Read16(off uintptr) uint16 { return uint16(b.read(off, 16)) }

// Read32 implements regs.Bus.
func (b *Bus) Read32(off uintptr) uint32 { return uint32(b.read(off, 32)) }

// Read64 implements regs.Bus.
func (b *Bus) Read64(off uintptr) uint64 { return b.read(off, 64) }

// Write8 implements regs.Bus.
func (b *Bus) Write8(off uintptr, v uint8) { b.write(off, 8, uint64(v)) }

// Write16 implements regs.Bus.
func (b *Bus) Write16(off uintptr, v uint16) { b.write(off, 16, uint64(v)) }

// Write32 implements regs.Bus.
func (b *Bus) Write32(off uintptr, v uint32) { b.write(off, 32, uint64(v)) }

// Write64 implements regs.Bus.
func (b *Bus) Write64(off uintptr, v uint64) { b.write(off, 64, v) }

// Generated is what CheckGenerated needs of a generated map.
type Generated struct {
	// SVD is the path of the SVD file the map was generated from.
	SVD string
	// Description is the generated Description.
	Description *regs.Description
	// Maps builds the register map of each generated peripheral, by name,
	// on a bus at offset 0.
	Maps map[string]func(regs.Bus) (any, error)
	// Fields holds the field set variables by the flattened name of a
	// register they describe ("IPCU/MBOX[0].STATUS").
	Fields map[string]any
}

// CheckGenerated parses g.SVD and checks the generated map against it:
// the Description equals the SVD's; every typed register of every map sits
// at the offset of a register of the SVD with the same name, width, kind
// and layout (alternate registers share an offset), is read with one access
// of its width, and every register of the SVD has exactly one typed
// register; a bus one byte too small is refused; and
// every field of every register is in a field set with its position and
// kind.
func CheckGenerated(t testing.TB, g Generated) {
	t.Helper()
	dev, err := svd.ParseFile(g.SVD)
	if err != nil {
		t.Fatalf("parsing %s: %v", g.SVD, err)
	}
	var names []string
	for _, p := range g.Description.Peripherals {
		names = append(names, p.Name)
	}
	want, err := dev.Describe(names...)
	if err != nil {
		t.Fatalf("describing %s: %v", g.SVD, err)
	}
	if !reflect.DeepEqual(want, g.Description) {
		t.Errorf("the generated Description differs from %s's: %s", g.SVD, firstDiff(want, g.Description))
	}
	for i := range want.Peripherals {
		checkMap(t, &want.Peripherals[i], g.Maps[want.Peripherals[i].Name])
	}
	checkFields(t, want, g.Fields)
}

var indexRE = regexp.MustCompile(`\[[^\]]*\]`)

// shape returns a flattened register name without its array indices.
func shape(name string) string { return indexRE.ReplaceAllString(name, "[]") }

// goPath returns the path of the Go fields that a flattened register name
// ("MBOX[3].STATUS") is generated as: each part as goident gives it.
func goPath(name string) string {
	parts := strings.Split(shape(name), ".")
	for i, p := range parts {
		base, arr := strings.CutSuffix(p, "[]")
		parts[i] = goident.Of(base)
		if arr {
			parts[i] += "[]"
		}
	}
	return strings.Join(parts, ".")
}

func checkMap(t testing.TB, p *regs.Peripheral, build func(regs.Bus) (any, error)) {
	t.Helper()
	if build == nil {
		t.Errorf("%s: no map constructor", p.Name)
		return
	}
	if p.Size > 0 {
		if _, err := build(NewBus(uintptr(p.Size - 1))); err == nil {
			t.Errorf("%s: the constructor accepted a bus of %#x bytes, one short of the block", p.Name, p.Size-1)
		}
	}
	bus := NewBus(uintptr(p.Size))
	m, err := build(bus)
	if err != nil {
		t.Fatalf("%s: building the map on a bus of its size: %v", p.Name, err)
	}
	// Alternate registers share an offset, so registers are matched on
	// offset and name.
	byOff := map[uint64][]*regs.Register{}
	for i := range p.Registers {
		r := &p.Registers[i]
		byOff[r.Offset] = append(byOff[r.Offset], r)
	}
	type key struct {
		off  uint64
		name string
	}
	found := map[key]string{}
	walk(reflect.ValueOf(m), "", func(path string, v reflect.Value) {
		r := v.Interface().(regs.Reg)
		off := uint64(r.Offset())
		cands := byOff[off]
		if len(cands) == 0 {
			t.Errorf("%s.%s: offset %#x is no register of the SVD", p.Name, path, off)
			return
		}
		d := cands[0]
		for _, c := range cands {
			if goPath(c.Name) == shape(path) {
				d = c
				break
			}
		}
		if goPath(d.Name) != shape(path) {
			t.Errorf("%s: %s at offset %#x is %s in the SVD", p.Name, path, off, d.Name)
		}
		k := key{off, d.Name}
		if prev, dup := found[k]; dup {
			t.Errorf("%s: %s and %s both at offset %#x", p.Name, prev, path, off)
		}
		found[k] = path
		if r.Bits() != int(d.Bits) {
			t.Errorf("%s.%s: %d bits, the SVD says %d", p.Name, path, r.Bits(), d.Bits)
		}
		kind := v.Type().Name()
		kind = kind[:strings.IndexByte(kind, '[')]
		if kind != d.TypedKind() {
			t.Errorf("%s.%s: typed as %s, the SVD's access (%s, read action %q) makes it %s", p.Name, path, kind, d.Access, d.ReadAction, d.TypedKind())
		}
		if lm := v.MethodByName("Layout"); lm.IsValid() && lm.Type().NumIn() == 0 {
			l := lm.Call(nil)[0]
			want := regs.RegisterLayout[uint64](d)
			if keep, idle := l.FieldByName("Keep").Uint(), l.FieldByName("Idle").Uint(); keep != want.Keep || idle != want.Idle {
				t.Errorf("%s.%s: layout keeps %#x, idle %#x; the SVD's fields and write effect say %#x, %#x", p.Name, path, keep, idle, want.Keep, want.Idle)
			}
		}
		if read := v.MethodByName("Read"); read.IsValid() {
			bus.Trace()
			read.Call(nil)
			tr := bus.Trace()
			if len(tr) != 1 || tr[0].Write || tr[0].Offset != uintptr(off) || tr[0].Bits != int(d.Bits) {
				t.Errorf("%s.%s: Read made %v, want one read%d at %#x", p.Name, path, tr, d.Bits, off)
			}
		}
	})
	for _, r := range p.Registers {
		if _, ok := found[key{r.Offset, r.Name}]; !ok {
			t.Errorf("%s.%s at %#x has no typed register", p.Name, r.Name, r.Offset)
		}
	}
}

var regType = reflect.TypeOf((*regs.Reg)(nil)).Elem()

// walk calls f for every typed register in v (a pointer to a generated
// struct), with its path ("MBOX[3].STATUS").
func walk(v reflect.Value, path string, f func(string, reflect.Value)) {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Type().Implements(regType) {
		f(path, v)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			p := sf.Name
			if path != "" {
				p = path + "." + sf.Name
			}
			walk(v.Field(i), p, f)
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	}
}

func checkFields(t testing.TB, d *regs.Description, sets map[string]any) {
	t.Helper()
	covered := map[string]bool{}
	for key, set := range sets {
		pname, rname, ok := strings.Cut(key, "/")
		p := d.Peripheral(pname)
		if !ok || p == nil {
			t.Errorf("field set %s: no such peripheral", key)
			continue
		}
		r := p.Register(rname)
		if r == nil {
			t.Errorf("field set %s: no such register", key)
			continue
		}
		covered[pname+"/"+shape(r.Name)] = true
		v := reflect.ValueOf(set)
		seen := map[string]bool{}
		for i := 0; i < v.NumField(); i++ {
			name := v.Type().Field(i).Name
			var df *regs.Field
			for j := range r.Fields {
				if goident.Of(r.Fields[j].Name) == name {
					df = &r.Fields[j]
				}
			}
			if df == nil {
				t.Errorf("%s.%s: no such field in the SVD", key, name)
				continue
			}
			seen[df.Name] = true
			fv := v.Field(i)
			bits := fv.FieldByName("Bits")
			shift, width := bits.FieldByName("Shift").Uint(), bits.FieldByName("Width").Uint()
			if shift != uint64(df.Offset) || width != uint64(df.Width) {
				t.Errorf("%s.%s: bits [%d+%d], the SVD says [%d+%d]", key, name, shift, width, df.Offset, df.Width)
			}
			kind := kindOf(fv.Type())
			if kind != df.TypedKind()+"Field" {
				t.Errorf("%s.%s: typed as %s, the SVD makes it %sField", key, name, kind, df.TypedKind())
			}
		}
		for _, f := range r.Fields {
			if !seen[f.Name] {
				t.Errorf("%s: field %s of the SVD is missing", key, f.Name)
			}
		}
	}
	for _, p := range d.Peripherals {
		for _, r := range p.Registers {
			if len(r.Fields) > 0 && !covered[p.Name+"/"+shape(r.Name)] {
				t.Errorf("%s.%s: no field set", p.Name, r.Name)
			}
		}
	}
}

// kindOf returns the regs field kind of a field type ("W1CField"), looking
// through a generated enum field type that embeds it.
func kindOf(t reflect.Type) string {
	if t.PkgPath() != reflect.TypeOf(regs.Bits[uint8]{}).PkgPath() && t.Kind() == reflect.Struct && t.NumField() == 1 {
		t = t.Field(0).Type
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	return name
}

// firstDiff describes the first difference between two descriptions.
func firstDiff(want, got *regs.Description) string {
	if len(want.Peripherals) != len(got.Peripherals) {
		return fmt.Sprintf("%d peripherals, want %d", len(got.Peripherals), len(want.Peripherals))
	}
	for i := range want.Peripherals {
		wp, gp := &want.Peripherals[i], &got.Peripherals[i]
		if len(wp.Registers) != len(gp.Registers) {
			return fmt.Sprintf("%s: %d registers, want %d", wp.Name, len(gp.Registers), len(wp.Registers))
		}
		for j := range wp.Registers {
			if !reflect.DeepEqual(wp.Registers[j], gp.Registers[j]) {
				return fmt.Sprintf("%s: register %+v, want %+v", wp.Name, gp.Registers[j], wp.Registers[j])
			}
		}
		if !reflect.DeepEqual(*wp, *gp) {
			return fmt.Sprintf("peripheral %s header: %s/%#x/%#x, want %s/%#x/%#x", wp.Name, gp.Name, gp.Base, gp.Size, wp.Name, wp.Base, wp.Size)
		}
	}
	return "device name or description"
}
