package pci

import (
	"errors"
	"fmt"
	"strings"
)

// ErrAddress reports a string that is not a PCI function's address.
var ErrAddress = errors.New("not a PCI address")

// CheckAddress checks that addr has the form of a PCI function's address
// as sysfs names it, domain:bus:device.function in hexadecimal: four to
// eight digits, two, two (below 0x20) and one (0 to 7), such as
// 0000:00:03.0. Such an address names one directory entry, never a path:
// Lookup, Bind, Unbind and vfio's Open refuse any other string with an
// error wrapping ErrAddress before they make a path of it (as root, a
// "../.." in an address would reach files outside sysfs's PCI tree).
func CheckAddress(addr string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q: %s", ErrAddress, addr, why) }
	dom, rest, ok := strings.Cut(addr, ":")
	if !ok || len(dom) < 4 || len(dom) > 8 || !isHex(dom) {
		return bad("want a domain of 4 to 8 hex digits, as in 0000:00:03.0")
	}
	if len(rest) != 7 || rest[2] != ':' || rest[5] != '.' {
		return bad("want domain:bus:device.function, as in 0000:00:03.0")
	}
	bus, dev, fn := rest[:2], rest[3:5], rest[6]
	switch {
	case !isHex(bus) || !isHex(dev):
		return bad("bus and device are two hex digits each")
	case dev[0] > '1':
		return bad("a device number is below 0x20")
	case fn < '0' || fn > '7':
		return bad("a function number is 0 to 7")
	}
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkDriver checks that driver names one directory entry.
func checkDriver(driver string) error {
	if driver == "" || driver == "." || driver == ".." || strings.ContainsAny(driver, "/\x00") {
		return fmt.Errorf("%q is not a driver name", driver)
	}
	return nil
}
