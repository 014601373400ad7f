package vfio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ipcu/ipcu/pci"
)

// viableDrivers are the drivers a device of a group may be bound to for
// the group to be handed to a process: vfio-pci itself, and pci-stub,
// which never enables DMA (the kernel's vfio driver allow list). A device
// bound to no driver is fine too.
var viableDrivers = map[string]bool{"vfio-pci": true, "pci-stub": true, "": true}

// A GroupMember is one device of an IOMMU group.
type GroupMember struct {
	// Address is the device's name in sysfs, a PCI address for PCI.
	Address string
	// Driver is the name of its bound driver; "" when unbound.
	Driver string
}

// IOMMUGroup returns the IOMMU group number of the PCI function addr, from
// its iommu_group link under sysRoot ("" means /sys). It fails with
// ErrNoIOMMU when the function has none.
func IOMMUGroup(sysRoot, addr string) (int, error) {
	if sysRoot == "" {
		sysRoot = "/sys"
	}
	if err := pci.CheckAddress(addr); err != nil {
		return -1, &Error{Op: "open", Device: addr, Err: err, Hint: "lspci -D lists the functions' addresses"}
	}
	dev := filepath.Join(sysRoot, "bus", "pci", "devices", addr)
	if _, err := os.Stat(dev); err != nil {
		return -1, &Error{Op: "open", Device: addr, Err: err, Hint: "no such PCI function; lspci -D lists them"}
	}
	target, err := os.Readlink(filepath.Join(dev, "iommu_group"))
	if errors.Is(err, fs.ErrNotExist) {
		return -1, &Error{Op: "open", Device: addr, Err: ErrNoIOMMU,
			Hint: "the function has no IOMMU group: enable the IOMMU (intel_iommu=on or amd_iommu=on, and VT-d/AMD-Vi in the firmware), or load vfio with enable_unsafe_noiommu_mode=1 and set AllowNoIOMMU"}
	}
	if err != nil {
		return -1, &Error{Op: "open", Device: addr, Err: err}
	}
	n, err := strconv.Atoi(filepath.Base(target))
	if err != nil || n < 0 {
		return -1, &Error{Op: "open", Device: addr, Err: fmt.Errorf("iommu_group links to %q, not a group number", target)}
	}
	return n, nil
}

// GroupMembers lists the devices of IOMMU group n and their drivers, from
// /sys/kernel/iommu_groups/<n>/devices under sysRoot ("" means /sys),
// sorted by address.
func GroupMembers(sysRoot string, n int) ([]GroupMember, error) {
	if sysRoot == "" {
		sysRoot = "/sys"
	}
	dir := filepath.Join(sysRoot, "kernel", "iommu_groups", strconv.Itoa(n), "devices")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{Op: "list group " + strconv.Itoa(n), Err: err}
	}
	out := make([]GroupMember, 0, len(ents))
	for _, e := range ents {
		m := GroupMember{Address: e.Name()}
		target, err := os.Readlink(filepath.Join(dir, e.Name(), "driver"))
		switch {
		case err == nil:
			m.Driver = filepath.Base(target)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, &Error{Op: "list group " + strconv.Itoa(n), Device: e.Name(), Err: err}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

// CheckViable returns nil when every member of an IOMMU group is bound to
// vfio-pci, to pci-stub or to no driver, and otherwise an *Error wrapping
// ErrNotViable that names each offending device and its driver. The
// kernel makes the same check (VFIO_GROUP_FLAGS_VIABLE) but does not say
// which device fails it.
func CheckViable(group int, members []GroupMember) error {
	var bad []string
	for _, m := range members {
		if !viableDrivers[m.Driver] {
			bad = append(bad, m.Address+" (bound to "+m.Driver+")")
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &Error{Op: "open group " + strconv.Itoa(group), Err: fmt.Errorf("%w: %s", ErrNotViable, strings.Join(bad, ", ")),
		Hint: "every device of the group must be bound to vfio-pci or to no driver: ipcctl bind ADDR for each, or echo ADDR > /sys/bus/pci/devices/ADDR/driver/unbind"}
}
