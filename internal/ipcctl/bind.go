package ipcctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcu/ipcu/pci"
)

// pciBinder is what bind and unbind need of the PCI bus: a *pci.Bus, or
// in tests a fake kernel over a fake sysfs tree.
type pciBinder interface {
	Lookup(addr string) (pci.Device, error)
	Bind(addr, driver string) (restore func() error, err error)
	Unbind(addr string) error
	DeviceDir(addr string) string
}

func (env *Env) pciBus(sysRoot string) pciBinder {
	if env.binder != nil {
		return env.binder(sysRoot)
	}
	return &pci.Bus{Root: sysRoot}
}

// stateDir is where bind records the driver a function had, for unbind.
func stateDir(root string) string { return rootPath(root, "/run/ipcctl/bind") }

// jsonBind is the -json document of bind and unbind.
type jsonBind struct {
	header
	PCI      string `json:"pci"`
	Previous string `json:"previous_driver"`
	Driver   string `json:"driver"`
	Device   string `json:"device,omitempty"`
	Changed  bool   `json:"changed"`
}

const bindHelp = `Binds a PCI function to vfio-pci (the default) or uio_pci_generic through
driver_override, so that only that driver may claim it, and records the
driver it had in /run/ipcctl/bind, for unbind. DRIVER may be vfio for
vfio-pci and uio for uio_pci_generic. Needs root and the driver's module
loaded (modprobe vfio-pci, modprobe uio_pci_generic).`

func cmdBind(args []string, env *Env) error {
	f := newFlags(env, "bind", "bind [-json] [-root DIR] ADDR [DRIVER]", bindHelp)
	root := f.rootFlag()
	pos, err := f.parse(args, 1, 2)
	if err != nil {
		return err
	}
	addr, err := pciArg(pos[0])
	if err != nil {
		return usageError(f.usage, "%v", err)
	}
	driver := "vfio-pci"
	if len(pos) == 2 {
		driver = pos[1]
	}
	switch driver {
	case "vfio":
		driver = "vfio-pci"
	case "uio":
		driver = "uio_pci_generic"
	}
	bus := env.pciBus(rootPath(*root, "/sys"))
	d, err := lookupPCI(bus, addr)
	if err != nil {
		return err
	}
	doc := jsonBind{header: newHeader("bind"), PCI: addr, Previous: d.Driver, Driver: driver}
	if d.Driver != driver {
		if _, err := bus.Bind(addr, driver); err != nil {
			return bindError(addr, driver, err)
		}
		doc.Changed = true
		// Record the first driver only: binding again to another driver
		// keeps what unbind gives back.
		state := filepath.Join(stateDir(*root), addr)
		if _, err := os.Stat(state); errors.Is(err, os.ErrNotExist) {
			err := os.MkdirAll(stateDir(*root), 0o755)
			if err == nil {
				err = os.WriteFile(state, []byte(d.Driver+"\n"), 0o644)
			}
			if err != nil {
				fmt.Fprintf(env.Stderr, "ipcctl: %s: recording the previous driver %q: %v (unbind will let the kernel choose)\n", addr, d.Driver, err)
			}
		}
	}
	doc.Device = userDevice(*root, addr, driver)
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	switch {
	case !doc.Changed:
		fmt.Fprintf(env.Stdout, "%s: already bound to %s", addr, driver)
	default:
		fmt.Fprintf(env.Stdout, "%s: %s -> %s", addr, orNone(d.Driver), driver)
	}
	if doc.Device != "" {
		fmt.Fprintf(env.Stdout, " (ipcctl device %s)", doc.Device)
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

const unbindHelp = `Gives a PCI function back to the driver it had before ipcctl bind (or leaves
it unbound if it had none) and clears driver_override. Without a record of
bind, it unbinds the function and lets the kernel choose its driver.`

func cmdUnbind(args []string, env *Env) error {
	f := newFlags(env, "unbind", "unbind [-json] [-root DIR] ADDR", unbindHelp)
	root := f.rootFlag()
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	addr, err := pciArg(pos[0])
	if err != nil {
		return usageError(f.usage, "%v", err)
	}
	bus := env.pciBus(rootPath(*root, "/sys"))
	d, err := lookupPCI(bus, addr)
	if err != nil {
		return err
	}
	state := filepath.Join(stateDir(*root), addr)
	prev, known := "", false
	if b, err := os.ReadFile(state); err == nil {
		prev, known = strings.TrimSpace(string(b)), true
	}
	doc := jsonBind{header: newHeader("unbind"), PCI: addr, Previous: d.Driver}
	override := filepath.Join(bus.DeviceDir(addr), "driver_override")
	switch {
	case known && prev != "" && prev != d.Driver:
		if _, err := bus.Bind(addr, prev); err != nil {
			return bindError(addr, prev, err)
		}
	case known && prev == "" || !known:
		if err := bus.Unbind(addr); err != nil {
			return fmt.Errorf("%s: unbinding from %s: %w", addr, d.Driver, err)
		}
	}
	if err := writeSysfs(override, "\n"); err != nil {
		return fmt.Errorf("%s: clearing driver_override: %w", addr, err)
	}
	if !known {
		// Let the kernel match the function with its own driver again.
		if err := writeSysfs(filepath.Join(rootPath(*root, "/sys"), "bus/pci/drivers_probe"), addr); err != nil {
			fmt.Fprintf(env.Stderr, "ipcctl: %s: asking the kernel to probe it: %v\n", addr, err)
		}
	}
	if err := os.Remove(state); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", addr, err)
	}
	now, err := bus.Lookup(addr)
	if err != nil {
		return err
	}
	doc.Driver, doc.Changed = now.Driver, now.Driver != d.Driver
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	how := "restored"
	if !known {
		how = "no record of ipcctl bind; the kernel chose"
	}
	fmt.Fprintf(env.Stdout, "%s: %s -> %s (%s)\n", addr, orNone(d.Driver), orNone(now.Driver), how)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// pciArg accepts ADDR, vfio:ADDR or pci:ADDR.
func pciArg(s string) (string, error) {
	for _, p := range []string{"vfio:", "pci:"} {
		s = strings.TrimPrefix(s, p)
	}
	if !validPCIAddr(s) {
		return "", fmt.Errorf("%q is not a PCI address such as 0000:00:03.0 (ipcctl list shows them)", s)
	}
	return s, nil
}

func lookupPCI(bus pciBinder, addr string) (pci.Device, error) {
	d, err := bus.Lookup(addr)
	if errors.Is(err, os.ErrNotExist) {
		return d, fmt.Errorf("%s: no such PCI function (ipcctl list shows them): %w", addr, errNotFound)
	}
	return d, err
}

// bindError says what to do about a failed bind.
func bindError(addr, driver string, err error) error {
	module := strings.ReplaceAll(driver, "_", "-")
	switch {
	case errors.Is(err, pci.ErrNoDriver):
		return fmt.Errorf("%s: driver %s is not loaded: modprobe %s, then bind again (%w)", addr, driver, module, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s: binding to %s needs root (%w)", addr, driver, err)
	case errors.Is(err, pci.ErrNotBound):
		return fmt.Errorf("%s: %s did not claim the function: check dmesg; for vfio-pci the IOMMU must be on (ipcctl doctor) (%w)", addr, driver, err)
	}
	return fmt.Errorf("%s: binding to %s: %w", addr, driver, err)
}

// userDevice returns the ipcctl name of the function once bound to driver.
func userDevice(root, addr, driver string) string {
	switch driver {
	case "vfio-pci":
		return "vfio:" + addr
	case "uio_pci_generic":
		ents, err := os.ReadDir(filepath.Join(rootPath(root, "/sys"), "bus/pci/devices", addr, "uio"))
		if err == nil && len(ents) > 0 {
			return "uio:" + ents[0].Name()
		}
	}
	return ""
}

// writeSysfs writes s to an existing sysfs attribute in one write.
func writeSysfs(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
