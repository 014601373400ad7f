package uio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Options say where the kernel's files are. The zero value, like a nil
// *Options, means the real ones.
type Options struct {
	// SysRoot is where sysfs is mounted: "/sys" when empty. Tests point it
	// at a fake tree.
	SysRoot string
	// DevDir is where the device nodes are: "/dev" when empty.
	DevDir string
}

func (o *Options) sysRoot() string {
	if o == nil || o.SysRoot == "" {
		return "/sys"
	}
	return o.SysRoot
}

func (o *Options) devDir() string {
	if o == nil || o.DevDir == "" {
		return "/dev"
	}
	return o.DevDir
}

// Info describes a UIO device as sysfs shows it under
// /sys/class/uio/uioN.
type Info struct {
	// Name is the name the kernel driver gave the device ("uio_pci_generic"
	// or the name in the device tree for uio_pdrv_genirq).
	Name string
	// Version is the driver's version string.
	Version string
	// Number is N of uioN.
	Number int
	// Node is the device node, such as "/dev/uio0".
	Node string
	// Maps are the memory regions the driver exports, in index order;
	// empty for uio_pci_generic, whose BARs are mapped through
	// PCIResource.
	Maps []Map
	// Ports are the I/O port regions the driver exports, in index order.
	Ports []Port
	// PCI is the PCI address ("0000:00:04.0") of the device when it is a
	// PCI function, and empty otherwise.
	PCI string

	dir string // the sysfs directory of the device
}

// Map is a memory region of a UIO device, from maps/mapM.
type Map struct {
	// Index is M of mapM: the region is mmapped at M pages into the device
	// node.
	Index int
	// Name is the region's name, possibly empty.
	Name string
	// Addr is the region's physical (or kernel virtual) address.
	Addr uint64
	// Size is the region's size in bytes.
	Size uint64
	// Offset is where the region starts within its first page: a mapping
	// of the region begins at the page holding Addr.
	Offset uint64
}

// Port is an I/O port region of a UIO device, from portio/portM.
type Port struct {
	// Index is M of portM.
	Index int
	// Name is the region's name, possibly empty.
	Name string
	// Start is the first port.
	Start uint64
	// Size is the number of ports.
	Size uint64
	// Type is "port_x86", "gpio", "other" or "none".
	Type string
}

// ErrNotFound is returned by Find and Open when no UIO device matches. It
// wraps os.ErrNotExist.
var ErrNotFound = fmt.Errorf("uio: no such device: %w", os.ErrNotExist)

// Errors wrapped by ParseError for values that are not what the kernel
// writes.
var (
	// ErrSyntax is a value that is not a number.
	ErrSyntax = errors.New("invalid syntax")
	// ErrRange is a number, or a region end, beyond 64 bits.
	ErrRange = errors.New("value out of range")
)

// ParseError is an error reading or parsing a sysfs file: Path names the
// file, Value holds what it contained (when it could be read), and Err is
// the cause: ErrSyntax, ErrRange, or the error of reading the file (a
// missing file satisfies errors.Is(err, os.ErrNotExist), an unreadable one
// errors.Is(err, os.ErrPermission)).
type ParseError struct {
	// Path is the sysfs file.
	Path string
	// Value is the file's content, trimmed, or empty.
	Value string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Value == "" {
		return "uio: " + e.Path + ": " + e.Err.Error()
	}
	return fmt.Sprintf("uio: %s: %q: %v", e.Path, e.Value, e.Err)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// Error is the error of an operation on a device: Op names it ("open",
// "map", "wait", "ack", ...), Device is the device's node, and Err is the
// cause, which errors.Is and errors.As reach: an *os.SyscallError or
// *os.PathError holding the errno (errors.Is(err, os.ErrPermission) holds
// for EPERM and EACCES), os.ErrClosed after Close, os.ErrDeadlineExceeded
// or a context's error for a Wait.
type Error struct {
	// Op is the operation that failed.
	Op string
	// Device is the device node, such as "/dev/uio0".
	Device string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return "uio: " + e.Op + " " + e.Device + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the error is a missed deadline.
func (e *Error) Timeout() bool { return errors.Is(e.Err, os.ErrDeadlineExceeded) }

// ParseHex parses a number as sysfs writes the addresses and sizes of UIO
// maps and ports: hexadecimal, with or without a 0x prefix, surrounded by
// optional white space (the newline). It returns ErrSyntax or ErrRange.
func ParseHex(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if s == "" {
		return 0, ErrSyntax
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		var d byte
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, ErrSyntax
		}
		if v>>60 != 0 {
			return 0, ErrRange
		}
		v = v<<4 | uint64(d)
	}
	return v, nil
}

// sysfs reads the sysfs files of one device.
type sysfs struct{ dir string }

// text returns the trimmed content of the file name.
func (s sysfs) text(name string) (string, error) {
	p := filepath.Join(s.dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", &ParseError{Path: p, Err: err}
	}
	return strings.TrimSpace(string(b)), nil
}

// hex returns the hexadecimal number in the file name.
func (s sysfs) hex(name string) (uint64, error) {
	v, err := s.text(name)
	if err != nil {
		return 0, err
	}
	n, err := ParseHex(v)
	if err != nil {
		return 0, &ParseError{Path: filepath.Join(s.dir, name), Value: v, Err: err}
	}
	return n, nil
}

// decimal returns the unsigned decimal number in the file name.
func (s sysfs) decimal(name string, bits int) (uint64, error) {
	v, err := s.text(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		cause := ErrSyntax
		if errors.Is(err, strconv.ErrRange) {
			cause = ErrRange
		}
		return 0, &ParseError{Path: filepath.Join(s.dir, name), Value: v, Err: cause}
	}
	return n, nil
}

// indexed lists the subdirectories prefix0, prefix1, ... of dir, in index
// order. A missing dir has none.
func indexed(dir, prefix string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &ParseError{Path: dir, Err: err}
	}
	var out []int
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || strconv.Itoa(n) != rest {
			continue
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

// pciAddr matches a PCI function's name in sysfs: domain:bus:device.function.
var pciAddr = regexp.MustCompile(`^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$`)

// List returns the UIO devices, in number order. It reads
// <SysRoot>/class/uio; when the directory is missing (no UIO driver
// loaded) there are none.
func List(opts *Options) ([]Info, error) {
	root := filepath.Join(opts.sysRoot(), "class", "uio")
	nums, err := indexed(root, "uio")
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(nums))
	for _, n := range nums {
		info, err := readInfo(opts, n)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// readInfo reads the sysfs directory of uioN.
func readInfo(opts *Options, n int) (Info, error) {
	uioN := "uio" + strconv.Itoa(n)
	s := sysfs{dir: filepath.Join(opts.sysRoot(), "class", "uio", uioN)}
	info := Info{Number: n, Node: filepath.Join(opts.devDir(), uioN), dir: s.dir}
	var err error
	if info.Name, err = s.text("name"); err != nil {
		return Info{}, err
	}
	if info.Version, err = s.text("version"); err != nil {
		return Info{}, err
	}
	maps, err := indexed(filepath.Join(s.dir, "maps"), "map")
	if err != nil {
		return Info{}, err
	}
	for _, m := range maps {
		ms := sysfs{dir: filepath.Join(s.dir, "maps", "map"+strconv.Itoa(m))}
		mp := Map{Index: m}
		if mp.Name, err = ms.text("name"); err != nil {
			return Info{}, err
		}
		if mp.Addr, err = ms.hex("addr"); err != nil {
			return Info{}, err
		}
		if mp.Size, err = ms.hex("size"); err != nil {
			return Info{}, err
		}
		if mp.Offset, err = ms.hex("offset"); err != nil {
			return Info{}, err
		}
		if mp.Addr+mp.Size < mp.Addr || mp.Offset+mp.Size < mp.Offset {
			return Info{}, &ParseError{Path: filepath.Join(ms.dir, "size"), Value: fmt.Sprintf("%#x", mp.Size), Err: ErrRange}
		}
		info.Maps = append(info.Maps, mp)
	}
	ports, err := indexed(filepath.Join(s.dir, "portio"), "port")
	if err != nil {
		return Info{}, err
	}
	for _, p := range ports {
		ps := sysfs{dir: filepath.Join(s.dir, "portio", "port"+strconv.Itoa(p))}
		pt := Port{Index: p}
		if pt.Name, err = ps.text("name"); err != nil {
			return Info{}, err
		}
		if pt.Start, err = ps.hex("start"); err != nil {
			return Info{}, err
		}
		if pt.Size, err = ps.hex("size"); err != nil {
			return Info{}, err
		}
		if pt.Type, err = ps.text("porttype"); err != nil {
			return Info{}, err
		}
		if pt.Start+pt.Size < pt.Start {
			return Info{}, &ParseError{Path: filepath.Join(ps.dir, "size"), Value: fmt.Sprintf("%#x", pt.Size), Err: ErrRange}
		}
		info.Ports = append(info.Ports, pt)
	}
	if target, err := os.Readlink(filepath.Join(s.dir, "device")); err == nil {
		if base := filepath.Base(target); pciAddr.MatchString(base) {
			info.PCI = base
		}
	}
	return info, nil
}

// Find returns the UIO device called name: "uioN", or the name its driver
// gave it (the lowest-numbered device when several share it). It fails
// with ErrNotFound when there is none.
func Find(name string, opts *Options) (Info, error) {
	if rest, ok := strings.CutPrefix(name, "uio"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && strconv.Itoa(n) == rest {
			info, err := readInfo(opts, n)
			if errors.Is(err, os.ErrNotExist) {
				if _, serr := os.Stat(filepath.Join(opts.sysRoot(), "class", "uio", name)); serr != nil {
					return Info{}, fmt.Errorf("%s: %w", name, ErrNotFound)
				}
			}
			return info, err
		}
	}
	all, err := List(opts)
	if err != nil {
		return Info{}, err
	}
	for _, i := range all {
		if i.Name == name {
			return i, nil
		}
	}
	return Info{}, fmt.Errorf("%s: %w", name, ErrNotFound)
}

// Is reports whether e matches target beyond its cause: a missed deadline
// (os.ErrDeadlineExceeded) is also context.DeadlineExceeded.
func (e *Error) Is(target error) bool {
	return target == context.DeadlineExceeded && errors.Is(e.Err, os.ErrDeadlineExceeded)
}
