package ipcctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/pci"
	"github.com/ipcu/ipcu/uio"
	"github.com/ipcu/ipcu/vfio"
)

// listEntry is one device of list.
type listEntry struct {
	// Name is the device's name for the other commands: fake, uio:uioN,
	// vfio:ADDR, or pci:ADDR for a PCI function no userspace driver holds
	// (bind it first).
	Name string `json:"name"`
	// Kind is fake, uio, vfio or pci.
	Kind string `json:"kind"`
	// PCI is the PCI address, for PCI functions.
	PCI string `json:"pci,omitempty"`
	// ID is vendor:device, for PCI functions.
	ID string `json:"id,omitempty"`
	// Class is the PCI class code (0xCCSSPP).
	Class string `json:"class,omitempty"`
	// Driver is the bound kernel driver, "" when none.
	Driver string `json:"driver"`
	// IOMMUGroup is the IOMMU group, null when none.
	IOMMUGroup *int `json:"iommu_group"`
	// Viable says, for vfio devices, whether the group can be used;
	// NotViable names the devices that keep it from being.
	Viable    *bool  `json:"viable,omitempty"`
	NotViable string `json:"not_viable,omitempty"`
	// Regions are the BARs of PCI functions and the maps of UIO devices.
	Regions []listRegion `json:"regions"`
	// Interrupts are the interrupts: "INTx 11", "MSI 2", "uio", ...
	Interrupts []string `json:"interrupts"`
}

// listRegion is a memory or I/O region of a device.
type listRegion struct {
	Name string `json:"name"`
	Addr uint64 `json:"addr"`
	Size uint64 `json:"size"`
	IO   bool   `json:"io,omitempty"`
}

type jsonList struct {
	header
	Devices []listEntry `json:"devices"`
}

const listHelp = `Lists the devices ipcctl can drive and the PCI functions it could: fake (the
built-in model), UIO devices (uio:uioN), PCI functions bound to vfio-pci
(vfio:ADDR), and the other PCI functions (pci:ADDR; ipcctl bind makes them
usable), with the bound driver, IOMMU group (and, for VFIO, whether the
group is viable), memory regions and interrupts.`

func cmdList(args []string, env *Env) error {
	f := newFlags(env, "list", "list [-json] [-root DIR]", listHelp)
	root := f.rootFlag()
	if _, err := f.parse(args, 0, 0); err != nil {
		return err
	}
	entries, err := listDevices(*root)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(env.Stdout, jsonList{header: newHeader("list"), Devices: entries})
	}
	t := newTable(env.Stdout, "DEVICE", "DRIVER", "ID", "IOMMU", "REGIONS", "INTERRUPTS")
	for _, e := range entries {
		grp := "-"
		if e.IOMMUGroup != nil {
			grp = strconv.Itoa(*e.IOMMUGroup)
			if e.Viable != nil && !*e.Viable {
				grp += " (not viable: " + e.NotViable + ")"
			}
		}
		var regs []string
		for _, r := range e.Regions {
			s := r.Name + " " + sizeString(r.Size)
			if r.IO {
				s += " io"
			}
			regs = append(regs, s)
		}
		t.row(e.Name, orDash(e.Driver), orDash(e.ID), grp, orDash(strings.Join(regs, ", ")), orDash(strings.Join(e.Interrupts, ", ")))
	}
	return t.flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sizeString writes a size in the largest binary unit that divides it.
func sizeString(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dG", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// listDevices gathers the devices under root.
func listDevices(root string) ([]listEntry, error) {
	sysRoot := rootPath(root, "/sys")
	out := []listEntry{{
		Name: kindFake, Kind: kindFake, Driver: "(model)",
		Regions:    []listRegion{{Name: "regs", Size: fakedev.BlockSize}},
		Interrupts: []string{"4 eventfd lines"}, // fakedev.Config{}: 4 cores
	}}
	uios, err := uio.List(&uio.Options{SysRoot: sysRoot, DevDir: rootPath(root, "/dev")})
	if err != nil {
		return nil, fmt.Errorf("listing UIO devices: %w", err)
	}
	uioOf := map[string]uio.Info{}
	for _, u := range uios {
		if u.PCI != "" {
			uioOf[u.PCI] = u
			continue
		}
		e := listEntry{Name: fmt.Sprintf("uio:uio%d", u.Number), Kind: kindUIO, Driver: u.Name, Interrupts: []string{"uio"}}
		for _, m := range u.Maps {
			name := m.Name
			if name == "" {
				name = fmt.Sprintf("map%d", m.Index)
			}
			e.Regions = append(e.Regions, listRegion{Name: name, Addr: m.Addr, Size: m.Size})
		}
		out = append(out, e)
	}
	bus := &pci.Bus{Root: sysRoot}
	devs, err := bus.List()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("listing PCI functions: %w", err)
	}
	for _, d := range devs {
		e := listEntry{Name: "pci:" + d.Address, Kind: "pci", PCI: d.Address, ID: fmt.Sprintf("%04x:%04x", d.Vendor, d.Device),
			Class: fmt.Sprintf("0x%06x", d.Class), Driver: d.Driver}
		if d.IOMMUGroup >= 0 {
			g := d.IOMMUGroup
			e.IOMMUGroup = &g
		}
		dir := bus.DeviceDir(d.Address)
		e.Regions = pciRegions(dir)
		e.Interrupts = pciInterrupts(dir)
		switch {
		case d.Driver == "vfio-pci":
			e.Name, e.Kind = "vfio:"+d.Address, kindVFIO
			if d.IOMMUGroup >= 0 {
				members, err := vfio.GroupMembers(sysRoot, d.IOMMUGroup)
				if err == nil {
					err = vfio.CheckViable(d.IOMMUGroup, members)
				}
				ok := err == nil
				e.Viable = &ok
				if !ok {
					e.NotViable = notViable(members)
				}
			}
		case uioOf[d.Address].Node != "":
			u := uioOf[d.Address]
			e.Name, e.Kind = fmt.Sprintf("uio:uio%d", u.Number), kindUIO
		}
		out = append(out, e)
	}
	for i := range out {
		if out[i].Regions == nil {
			out[i].Regions = []listRegion{}
		}
		if out[i].Interrupts == nil {
			out[i].Interrupts = []string{}
		}
	}
	return out, nil
}

// notViable names the members of a group bound to a host driver.
func notViable(members []vfio.GroupMember) string {
	var s []string
	for _, m := range members {
		switch m.Driver {
		case "", "vfio-pci", "pci-stub":
		default:
			s = append(s, m.Address+" on "+m.Driver)
		}
	}
	return strings.Join(s, ", ")
}

// pciRegions reads the function's sysfs resource file.
func pciRegions(dir string) []listRegion {
	b, err := os.ReadFile(filepath.Join(dir, "resource"))
	if err != nil {
		return nil
	}
	return parseResource(string(b))
}

// parseResource parses a PCI function's sysfs resource file: one line per
// resource, "start end flags" in hex, BARs 0 to 5 then the ROM. Empty and
// malformed lines are left out.
func parseResource(text string) []listRegion {
	var out []listRegion
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || i > 6 {
			continue
		}
		start, err1 := strconv.ParseUint(f[0], 0, 64)
		end, err2 := strconv.ParseUint(f[1], 0, 64)
		flags, err3 := strconv.ParseUint(f[2], 0, 64)
		if err1 != nil || err2 != nil || err3 != nil || end <= start || end-start == ^uint64(0) {
			continue
		}
		name := fmt.Sprintf("BAR%d", i)
		if i == 6 {
			name = "ROM"
		}
		out = append(out, listRegion{Name: name, Addr: start, Size: end - start + 1, IO: flags&0x100 != 0})
	}
	return out
}

// pciInterrupts reads the function's legacy interrupt (irq) and its
// MSI or MSI-X vectors (msi_irqs).
func pciInterrupts(dir string) []string {
	var out []string
	if b, err := os.ReadFile(filepath.Join(dir, "irq")); err == nil {
		if n := strings.TrimSpace(string(b)); n != "" && n != "0" {
			out = append(out, "INTx "+n)
		}
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "msi_irqs")); err == nil && len(ents) > 0 {
		var ns []int
		for _, e := range ents {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				ns = append(ns, n)
			}
		}
		sort.Ints(ns)
		out = append(out, fmt.Sprintf("MSI %d", len(ns)))
	}
	return out
}
