package pci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DefaultRoot is the sysfs mount point a zero Bus uses.
const DefaultRoot = "/sys"

// Sentinel errors, matched with errors.Is through an *Error.
var (
	// ErrMalformed reports a sysfs file whose text does not parse.
	ErrMalformed = errors.New("malformed sysfs value")
	// ErrNoDriver reports a driver that is not registered with the PCI bus
	// (its module is not loaded).
	ErrNoDriver = errors.New("no such driver")
	// ErrNotBound reports a driver that did not claim the device after a
	// probe.
	ErrNotBound = errors.New("driver did not bind")
)

// Error is a failure of an operation on one PCI function's sysfs files.
type Error struct {
	Op      string // the operation, e.g. "lookup" or "bind"
	Address string // the device, e.g. "0000:00:03.0"; may be empty
	File    string // the sysfs file involved; may be empty
	Err     error  // the cause: an errno, a sentinel of this package, ...
}

// Error returns "pci <op> <address> (<file>): <cause>".
func (e *Error) Error() string {
	s := "pci " + e.Op
	if e.Address != "" {
		s += " " + e.Address
	}
	if e.File != "" {
		s += " (" + e.File + ")"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Device describes one PCI function as sysfs shows it.
type Device struct {
	Address    string // domain:bus:device.function, e.g. "0000:00:03.0"
	Vendor     uint16 // vendor ID
	Device     uint16 // device ID
	Class      uint32 // class code: base class, subclass, programming interface (24 bits)
	Driver     string // name of the bound driver; "" when unbound
	IOMMUGroup int    // IOMMU group number; -1 when the device has none
}

// String returns the address and IDs, e.g. "0000:00:03.0 [1234:11e8]".
func (d Device) String() string {
	return fmt.Sprintf("%s [%04x:%04x]", d.Address, d.Vendor, d.Device)
}

// Bus is the PCI bus as seen through the sysfs tree under Root. The zero Bus
// uses DefaultRoot. A Bus holds no resources and may be copied and used from
// several goroutines.
type Bus struct {
	// Root is the sysfs mount point; "" means DefaultRoot.
	Root string
}

func (b *Bus) root() string {
	if b == nil || b.Root == "" {
		return DefaultRoot
	}
	return b.Root
}

func (b *Bus) busDir() string { return filepath.Join(b.root(), "bus", "pci") }

// DeviceDir returns the sysfs directory of the function at addr, e.g.
// /sys/bus/pci/devices/0000:00:03.0. It does not check that it exists.
func (b *Bus) DeviceDir(addr string) string {
	return filepath.Join(b.busDir(), "devices", addr)
}

// ResourcePath returns the path of the sysfs file that maps BAR n of the
// function at addr (resource<n>), which regs.Map can map at offset 0.
func (b *Bus) ResourcePath(addr string, n int) string {
	return filepath.Join(b.DeviceDir(addr), "resource"+strconv.Itoa(n))
}

// List returns every PCI function, sorted by address.
func (b *Bus) List() ([]Device, error) {
	dir := filepath.Join(b.busDir(), "devices")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{Op: "list", File: dir, Err: unwrapPath(err)}
	}
	devs := make([]Device, 0, len(ents))
	for _, e := range ents {
		d, err := b.Lookup(e.Name())
		if err != nil {
			return nil, err
		}
		devs = append(devs, d)
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].Address < devs[j].Address })
	return devs, nil
}

// Lookup returns the function at addr.
func (b *Bus) Lookup(addr string) (Device, error) {
	d := Device{Address: addr, IOMMUGroup: -1}
	if err := CheckAddress(addr); err != nil {
		return d, &Error{Op: "lookup", Err: err}
	}
	dir := b.DeviceDir(addr)
	if _, err := os.Stat(dir); err != nil {
		return d, &Error{Op: "lookup", Address: addr, File: dir, Err: unwrapPath(err)}
	}
	for _, f := range []struct {
		name string
		bits int
		set  func(uint64)
	}{
		{"vendor", 16, func(v uint64) { d.Vendor = uint16(v) }},
		{"device", 16, func(v uint64) { d.Device = uint16(v) }},
		{"class", 24, func(v uint64) { d.Class = uint32(v) }},
	} {
		v, err := readHex(filepath.Join(dir, f.name), f.bits)
		if err != nil {
			return d, &Error{Op: "lookup", Address: addr, File: filepath.Join(dir, f.name), Err: err}
		}
		f.set(v)
	}
	drv, err := b.driverOf(addr)
	if err != nil {
		return d, err
	}
	d.Driver = drv
	grp := filepath.Join(dir, "iommu_group")
	if target, err := os.Readlink(grp); err == nil {
		n, err := strconv.Atoi(filepath.Base(target))
		if err != nil || n < 0 {
			return d, &Error{Op: "lookup", Address: addr, File: grp, Err: fmt.Errorf("%w: link to %q", ErrMalformed, target)}
		}
		d.IOMMUGroup = n
	} else if !errors.Is(err, fs.ErrNotExist) {
		return d, &Error{Op: "lookup", Address: addr, File: grp, Err: unwrapPath(err)}
	}
	return d, nil
}

// driverOf returns the name of the driver bound to addr, or "".
func (b *Bus) driverOf(addr string) (string, error) {
	link := filepath.Join(b.DeviceDir(addr), "driver")
	target, err := os.Readlink(link)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", &Error{Op: "lookup", Address: addr, File: link, Err: unwrapPath(err)}
	}
	return filepath.Base(target), nil
}

// Unbind detaches the function at addr from its driver. It does nothing when
// the function is unbound. It does not touch driver_override, so a driver
// named there may claim the device at the next probe.
func (b *Bus) Unbind(addr string) error {
	if err := CheckAddress(addr); err != nil {
		return &Error{Op: "unbind", Err: err}
	}
	drv, err := b.driverOf(addr)
	if err != nil || drv == "" {
		return err
	}
	f := filepath.Join(b.DeviceDir(addr), "driver", "unbind")
	if err := writeFile(f, addr); err != nil {
		return &Error{Op: "unbind", Address: addr, File: f, Err: err}
	}
	return nil
}

// Bind binds the function at addr to driver, which must be loaded, and
// returns a function that gives the device back to the driver it had
// before (or leaves it unbound if it had none) and clears driver_override.
// When the device is already bound to driver, Bind changes nothing and
// restore does nothing.
//
// Bind writes driver to driver_override, unbinds the current driver and
// writes addr to the bus's drivers_probe file (falling back to the driver's
// bind file). It fails with ErrNoDriver when driver is not registered and
// ErrNotBound when it did not claim the device; in both cases it first tries
// to restore the previous state.
func (b *Bus) Bind(addr, driver string) (restore func() error, err error) {
	if err := CheckAddress(addr); err != nil {
		return nil, &Error{Op: "bind", Err: err}
	}
	if err := checkDriver(driver); err != nil {
		return nil, &Error{Op: "bind", Address: addr, Err: err}
	}
	prev, err := b.driverOf(addr)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.DeviceDir(addr)); err != nil {
		return nil, &Error{Op: "bind", Address: addr, File: b.DeviceDir(addr), Err: unwrapPath(err)}
	}
	if prev == driver {
		return func() error { return nil }, nil
	}
	drvDir := filepath.Join(b.busDir(), "drivers", driver)
	if _, err := os.Stat(drvDir); err != nil {
		return nil, &Error{Op: "bind", Address: addr, File: drvDir, Err: fmt.Errorf("%w: %s", ErrNoDriver, driver)}
	}
	restore = func() error { return b.giveBack(addr, prev) }
	if err := b.attach(addr, driver); err != nil {
		if rerr := restore(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restoring %q: %w", prev, rerr))
		}
		return nil, err
	}
	return restore, nil
}

// attach makes driver, and only driver, claim addr.
func (b *Bus) attach(addr, driver string) error {
	override := filepath.Join(b.DeviceDir(addr), "driver_override")
	if err := writeFile(override, driver); err != nil {
		return &Error{Op: "bind", Address: addr, File: override, Err: err}
	}
	if err := b.Unbind(addr); err != nil {
		return err
	}
	probe := filepath.Join(b.busDir(), "drivers_probe")
	if err := writeFile(probe, addr); err != nil {
		// Some drivers are not probed by drivers_probe in every kernel;
		// the driver's own bind file is the direct way.
		bind := filepath.Join(b.busDir(), "drivers", driver, "bind")
		if berr := writeFile(bind, addr); berr != nil {
			return &Error{Op: "bind", Address: addr, File: bind, Err: errors.Join(err, berr)}
		}
	}
	got, err := b.driverOf(addr)
	if err != nil {
		return err
	}
	if got != driver {
		return &Error{Op: "bind", Address: addr, File: filepath.Join(b.DeviceDir(addr), "driver"),
			Err: fmt.Errorf("%w: %s (bound: %q)", ErrNotBound, driver, got)}
	}
	return nil
}

// giveBack binds addr to prev again (or leaves it unbound when prev is "")
// and clears driver_override.
func (b *Bus) giveBack(addr, prev string) error {
	var errs []error
	if err := b.Unbind(addr); err != nil {
		errs = append(errs, err)
	}
	override := filepath.Join(b.DeviceDir(addr), "driver_override")
	if prev != "" {
		if err := b.attach(addr, prev); err != nil {
			errs = append(errs, err)
		}
	}
	// A lone newline clears driver_override.
	if err := writeFile(override, "\n"); err != nil {
		errs = append(errs, &Error{Op: "restore", Address: addr, File: override, Err: err})
	}
	return errors.Join(errs...)
}

// List returns every PCI function under /sys, sorted by address.
func List() ([]Device, error) { return new(Bus).List() }

// Lookup returns the PCI function at addr under /sys.
func Lookup(addr string) (Device, error) { return new(Bus).Lookup(addr) }

// Bind binds the PCI function at addr to driver under /sys; see Bus.Bind.
func Bind(addr, driver string) (restore func() error, err error) {
	return new(Bus).Bind(addr, driver)
}

// Unbind detaches the PCI function at addr from its driver under /sys.
func Unbind(addr string) error { return new(Bus).Unbind(addr) }

// readHex reads a sysfs file holding one hexadecimal number ("0x1234\n")
// of at most bits bits.
func readHex(path string, bits int) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, unwrapPath(err)
	}
	return parseHex(string(b), bits)
}

// parseHex parses sysfs text holding one hexadecimal number with a 0x
// prefix and an optional trailing newline.
func parseHex(s string, bits int) (uint64, error) {
	t := strings.TrimSuffix(s, "\n")
	if len(t) < 3 || (t[:2] != "0x" && t[:2] != "0X") {
		return 0, fmt.Errorf("%w: %q is not a 0x-prefixed number", ErrMalformed, s)
	}
	v, err := strconv.ParseUint(t[2:], 16, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrMalformed, s, err)
	}
	return v, nil
}

// writeFile writes s to an existing sysfs attribute in one write.
func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return unwrapPath(err)
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return unwrapPath(err)
}

// unwrapPath drops an *fs.PathError's op and path, which an *Error repeats,
// and keeps the errno, which errors.Is maps to os.ErrNotExist and friends.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
