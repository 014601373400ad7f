package ipcctl

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/edu"
	"github.com/ipcu/ipcu/edu/eduregs"
	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/pci"
	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/ipcu"
	"github.com/ipcu/ipcu/regs/svd"
	"github.com/ipcu/ipcu/uio"
	"github.com/ipcu/ipcu/vfio"
)

// Device kinds.
const (
	kindFake = "fake"
	kindUIO  = "uio"
	kindVFIO = "vfio"
)

// devName is a parsed device name.
type devName struct {
	Kind string // kindFake, kindUIO or kindVFIO
	ID   string // the UIO name or uioN, the PCI address; "" for fake
}

func (n devName) String() string {
	if n.Kind == kindFake {
		return kindFake
	}
	return n.Kind + ":" + n.ID
}

// parseDevice parses "fake", "uio:NAME", "uio:uioN" or "vfio:ADDR".
func parseDevice(s string) (devName, error) {
	if s == kindFake {
		return devName{Kind: kindFake}, nil
	}
	kind, id, ok := strings.Cut(s, ":")
	switch {
	case ok && kind == kindUIO && id != "":
		return devName{Kind: kindUIO, ID: id}, nil
	case ok && kind == kindVFIO && validPCIAddr(id):
		return devName{Kind: kindVFIO, ID: id}, nil
	case ok && kind == kindVFIO:
		return devName{}, fmt.Errorf("device %q: %q is not a PCI address such as 0000:00:03.0", s, id)
	}
	return devName{}, fmt.Errorf("device %q: name a device as fake, uio:NAME, uio:uioN or vfio:0000:00:03.0 (ipcctl list shows them)", s)
}

// validPCIAddr reports whether s looks like DDDD:BB:DD.F.
func validPCIAddr(s string) bool { return pci.CheckAddress(s) == nil }

// size returns the number of bytes of the bus from the block's base.
func (d *device) size() uint64 {
	if n := d.Bus.Size(); n > d.Base {
		return uint64(n - d.Base)
	}
	return 0
}

// devFlags are the flags of the commands that open a device.
type devFlags struct {
	svd, periph, mapName string
	core, bar            int
	irqKind              string
	root                 *string
}

func (f *flags) devFlags() *devFlags {
	d := &devFlags{}
	f.StringVar(&d.svd, "svd", "", "decode registers with this CMSIS-SVD `file` instead of a built-in map")
	f.StringVar(&d.periph, "peripheral", "", "the peripheral of -svd to use (default: the first)")
	f.StringVar(&d.mapName, "map", "", "built-in register `map`: ipcu (the reference block) or edu (QEMU's edu); default: edu for PCI ID 1234:11e8, ipcu otherwise")
	f.IntVar(&d.core, "core", 0, "on fake, the `core` whose view of the block to use: 0, the management core (irq watch: 2; mbox: 1)")
	f.IntVar(&d.bar, "bar", 0, "on PCI devices, the `BAR` holding the registers")
	f.StringVar(&d.irqKind, "irq", "", "on vfio devices, the interrupt to use: msi (default) or intx")
	d.root = f.rootFlag()
	return d
}

// device is an open device: its registers, their description and its
// interrupt line.
type device struct {
	Name   devName
	Bus    regs.Bus
	Base   uintptr // the block's offset on Bus
	Periph *regs.Peripheral
	Map    string // which description: "ipcu", "edu", or "FILE:PERIPHERAL"
	PCI    string // the PCI function, for uio and vfio PCI devices

	Fake *fakedev.Device // fake only
	Core int             // fake only: the core of Bus

	uio  *uio.Device
	vfio *vfio.Device
	line irq.Source
	irqK string
}

// openDevice opens the device named s with the flags df.
func openDevice(s string, df *devFlags) (*device, error) {
	n, err := parseDevice(s)
	if err != nil {
		return nil, &cliError{code: ExitUsage, err: err}
	}
	if df.bar < 0 || df.bar > 5 {
		// VFIO's region indexes go on past the BARs (6 the ROM, 7 the
		// config space): -bar 7 would write the function's config.
		return nil, &cliError{code: ExitUsage, err: fmt.Errorf("-bar %d: a BAR is 0 to 5", df.bar)}
	}
	d := &device{Name: n, irqK: df.irqKind}
	root := *df.root
	var pciID string
	switch n.Kind {
	case kindFake:
		dev, err := fakedev.New(fakedev.Config{})
		if err != nil {
			return nil, fmt.Errorf("fake: %w", err)
		}
		d.Fake = dev
		d.Core = df.core
		if d.Core < 0 || d.Core >= dev.Config().Cores {
			dev.Close()
			return nil, &cliError{code: ExitUsage, err: fmt.Errorf("fake: -core %d: the block has cores 0 to %d", d.Core, dev.Config().Cores-1)}
		}
		d.Bus = dev.Core(d.Core)
	case kindUIO:
		opts := &uio.Options{SysRoot: rootPath(root, "/sys"), DevDir: rootPath(root, "/dev")}
		if _, err := uio.Find(n.ID, opts); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: no such UIO device (ipcctl list shows them; bind a PCI function with ipcctl bind ADDR uio_pci_generic): %w", n, errNotFound)
			}
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		u, err := uio.Open(n.ID, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w%s", n, err, permHint(err, "the device node"))
		}
		d.uio = u
		info := u.Info()
		d.PCI = info.PCI
		switch {
		case len(info.Maps) > 0:
			w, err := u.Map(0)
			if err != nil {
				u.Close()
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			d.Bus, d.Base = w, uintptr(info.Maps[0].Offset)
		case info.PCI != "":
			w, err := u.PCIResource(df.bar)
			if err != nil {
				u.Close()
				return nil, fmt.Errorf("%s: BAR %d: %w%s", n, df.bar, err, permHint(err, "the sysfs resource file"))
			}
			d.Bus = w
		default:
			u.Close()
			return nil, fmt.Errorf("%s: the device exports no memory map", n)
		}
	case kindVFIO:
		sysRoot := rootPath(root, "/sys")
		if _, err := (&pci.Bus{Root: sysRoot}).Lookup(n.ID); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: no such PCI function (ipcctl list shows them): %w", n, errNotFound)
			}
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		v, err := vfio.Open(n.ID, &vfio.Options{SysRoot: sysRoot, DevDir: rootPath(root, "/dev/vfio")})
		if err != nil {
			return nil, vfioOpenError(n, err)
		}
		d.vfio = v
		d.PCI = n.ID
		w, err := v.Map(df.bar)
		if errors.Is(err, vfio.ErrNotMappable) {
			var rb *vfio.RegionBus
			rb, err = v.RegionBus(df.bar)
			d.Bus = rb
		} else {
			d.Bus = w
		}
		if err != nil {
			v.Close()
			return nil, fmt.Errorf("%s: BAR %d: %w", n, df.bar, err)
		}
	}
	if d.PCI != "" {
		if p, err := (&pci.Bus{Root: rootPath(root, "/sys")}).Lookup(d.PCI); err == nil {
			pciID = fmt.Sprintf("%04x:%04x", p.Vendor, p.Device)
		}
	}
	if err := d.describe(df, pciID); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// describe picks the register description.
func (d *device) describe(df *devFlags, pciID string) error {
	if df.svd != "" {
		dev, err := svd.ParseFile(df.svd)
		if err != nil {
			return err
		}
		desc, err := dev.Describe()
		if err != nil {
			return err
		}
		if len(desc.Peripherals) == 0 {
			return fmt.Errorf("%s: no peripheral", df.svd)
		}
		p := &desc.Peripherals[0]
		if df.periph != "" {
			if p = desc.Peripheral(df.periph); p == nil {
				var names []string
				for _, q := range desc.Peripherals {
					names = append(names, q.Name)
				}
				return &cliError{code: ExitUsage, err: fmt.Errorf("%s: no peripheral %q (it has %s)", df.svd, df.periph, strings.Join(names, ", "))}
			}
		}
		d.Periph, d.Map = p, df.svd+":"+p.Name
		return nil
	}
	if df.periph != "" {
		return &cliError{code: ExitUsage, err: errors.New("-peripheral needs -svd")}
	}
	name := df.mapName
	if name == "" {
		name = "ipcu"
		if pciID == fmt.Sprintf("%04x:%04x", edu.VendorID, edu.DeviceID) {
			name = "edu"
		}
	}
	switch name {
	case "ipcu":
		d.Periph = &ipcu.Description.Peripherals[0]
	case "edu":
		d.Periph = &eduregs.Description.Peripherals[0]
	default:
		return &cliError{code: ExitUsage, err: fmt.Errorf("-map %q: the built-in maps are ipcu and edu; give any other with -svd FILE", name)}
	}
	d.Map = name
	return nil
}

// IRQ returns the device's interrupt line, opened on first use: the
// core's eventfd on fake, the UIO node, or a VFIO MSI or INTx vector.
func (d *device) IRQ() (irq.Source, error) {
	if d.line != nil {
		return d.line, nil
	}
	switch {
	case d.Fake != nil:
		src, err := irq.FromEventfd(d.Fake.Core(d.Core).EventFD(), false)
		if err != nil {
			return nil, fmt.Errorf("%s: core %d's interrupt: %w", d.Name, d.Core, err)
		}
		d.line = src
	case d.uio != nil:
		d.line = d.uio.IRQ()
	case d.vfio != nil:
		switch d.irqK {
		case "", "msi":
			if err := d.vfio.EnableBusMaster(); err != nil {
				return nil, fmt.Errorf("%s: enabling bus mastering for MSI: %w", d.Name, err)
			}
			srcs, err := d.vfio.MSI(1)
			if err != nil {
				return nil, fmt.Errorf("%s: MSI: %w (try -irq intx)", d.Name, err)
			}
			d.line = srcs[0]
		case "intx":
			src, err := d.vfio.INTx()
			if err != nil {
				return nil, fmt.Errorf("%s: INTx: %w (try -irq msi)", d.Name, err)
			}
			d.line = src
		default:
			return nil, &cliError{code: ExitUsage, err: fmt.Errorf("-irq %q: use msi or intx", d.irqK)}
		}
	}
	return d.line, nil
}

// DMA returns the device's DMA memory, or nil and why there is none.
// The device owns it.
func (d *device) DMA() (dmaring.Memory, string, error) {
	switch {
	case d.Fake != nil:
		core := d.Fake.Core(d.Core)
		return dmaring.MemoryFunc(func(n, a int) (dmaring.Region, error) { return core.Alloc(n, a) }), "", nil
	case d.vfio != nil:
		if err := d.vfio.EnableBusMaster(); err != nil {
			return nil, "", fmt.Errorf("%s: enabling bus mastering for DMA: %w", d.Name, err)
		}
		mem, err := d.vfio.DMA(nil)
		if errors.Is(err, vfio.ErrNotSupported) {
			return nil, "no DMA memory in VFIO's no-IOMMU mode", nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: DMA memory: %w", d.Name, err)
		}
		return mem, "", nil
	}
	return nil, "UIO has no IOMMU-mapped DMA memory: bind the device to vfio-pci for the DMA checks", nil
}

// IRQName says which line IRQ uses.
func (d *device) IRQName() string {
	switch {
	case d.Fake != nil:
		return fmt.Sprintf("core %d eventfd", d.Core)
	case d.uio != nil:
		return "uio " + d.uio.Info().Node
	case d.irqK == "intx":
		return "vfio INTx"
	}
	return "vfio MSI 0"
}

// Close releases everything.
func (d *device) Close() error {
	var errs []error
	if d.Fake != nil && d.line != nil {
		errs = append(errs, d.line.Close())
	}
	if d.uio != nil {
		errs = append(errs, d.uio.Close())
	}
	if d.vfio != nil {
		errs = append(errs, d.vfio.Close())
	}
	if d.Fake != nil {
		errs = append(errs, d.Fake.Close())
	}
	return errors.Join(errs...)
}

// vfioOpenError turns an error of vfio.Open into one that says what to do.
func vfioOpenError(n devName, err error) error {
	// Each case's remedy replaces the one vfio.Error carries, which says
	// much the same: one remedy, not two.
	lib := err
	var ve *vfio.Error
	if errors.As(err, &ve) && ve.Hint != "" {
		c := *ve
		c.Hint = ""
		lib = &c
	}
	switch {
	case errors.Is(err, vfio.ErrNotBound):
		return fmt.Errorf("%s: %w (run ipcctl bind %s vfio-pci)", n, lib, n.ID)
	case errors.Is(err, vfio.ErrNotViable):
		return fmt.Errorf("%s: %w (bind every device of the group to vfio-pci with ipcctl bind ADDR vfio-pci, or unbind it; ipcctl doctor lists them)", n, lib)
	case errors.Is(err, vfio.ErrNoIOMMU):
		return fmt.Errorf("%s: %w (turn the IOMMU on: intel_iommu=on or amd_iommu=on on the kernel command line; ipcctl doctor checks it)", n, lib)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s: %w (run as root, or give your user /dev/vfio/N with a udev rule)", n, lib)
	}
	return fmt.Errorf("%s: %w", n, err)
}

// permHint is a remedy for a permission error, or "".
func permHint(err error, what string) string {
	if errors.Is(err, os.ErrPermission) {
		return " (run as root, or give your user " + what + " with a udev rule)"
	}
	return ""
}
