package pci

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDev describes one function of a fake sysfs tree.
type fakeDev struct {
	addr, vendor, device, class string
	driver                      string // "" for unbound
	group                       string // "" for no iommu_group link
}

// fakeSysfs builds a sysfs tree shaped like the kernel's: devices under
// /sys/devices/pci0000:00, linked from /sys/bus/pci/devices, with driver and
// iommu_group links.
func fakeSysfs(t *testing.T, devs ...fakeDev) *Bus {
	t.Helper()
	root := t.TempDir()
	mk := func(p string) { require.NoError(t, os.MkdirAll(filepath.Join(root, p), 0o755)) }
	mk("bus/pci/devices")
	mk("bus/pci/drivers")
	require.NoError(t, os.WriteFile(filepath.Join(root, "bus/pci/drivers_probe"), nil, 0o644))
	for _, d := range devs {
		real := filepath.Join("devices/pci0000:00", d.addr)
		mk(real)
		for name, v := range map[string]string{"vendor": d.vendor, "device": d.device, "class": d.class, "driver_override": "(null)\n"} {
			require.NoError(t, os.WriteFile(filepath.Join(root, real, name), []byte(v), 0o644))
		}
		require.NoError(t, os.Symlink(filepath.Join("../../../", real), filepath.Join(root, "bus/pci/devices", d.addr)))
		if d.driver != "" {
			fakeDriver(t, root, d.driver)
			require.NoError(t, os.Symlink("../../../bus/pci/drivers/"+d.driver, filepath.Join(root, real, "driver")))
		}
		if d.group != "" {
			mk("kernel/iommu_groups/" + d.group)
			require.NoError(t, os.Symlink("../../../kernel/iommu_groups/"+d.group, filepath.Join(root, real, "iommu_group")))
		}
	}
	return &Bus{Root: root}
}

// fakeDriver registers a driver in a fake sysfs tree.
func fakeDriver(t *testing.T, root, name string) {
	t.Helper()
	dir := filepath.Join(root, "bus/pci/drivers", name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range []string{"bind", "unbind", "new_id"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o200))
	}
}

func TestList(t *testing.T) {
	b := fakeSysfs(t,
		fakeDev{addr: "0000:00:04.0", vendor: "0x1af4\n", device: "0x1110\n", class: "0x050000\n", group: "4"},
		fakeDev{addr: "0000:00:03.0", vendor: "0x1234\n", device: "0x11e8\n", class: "0x00ff00\n", driver: "uio_pci_generic", group: "3"},
		fakeDev{addr: "0000:00:00.0", vendor: "0x8086\n", device: "0x29c0\n", class: "0x060000\n"},
	)
	devs, err := b.List()
	require.NoError(t, err)
	assert.Equal(t, []Device{
		{Address: "0000:00:00.0", Vendor: 0x8086, Device: 0x29c0, Class: 0x060000, IOMMUGroup: -1},
		{Address: "0000:00:03.0", Vendor: 0x1234, Device: 0x11e8, Class: 0x00ff00, Driver: "uio_pci_generic", IOMMUGroup: 3},
		{Address: "0000:00:04.0", Vendor: 0x1af4, Device: 0x1110, Class: 0x050000, IOMMUGroup: 4},
	}, devs)
	assert.Equal(t, "0000:00:03.0 [1234:11e8]", devs[1].String())

	d, err := b.Lookup("0000:00:03.0")
	require.NoError(t, err)
	assert.Equal(t, devs[1], d)
	assert.Equal(t, filepath.Join(b.Root, "bus/pci/devices/0000:00:03.0/resource2"), b.ResourcePath("0000:00:03.0", 2))
}

func TestLookupErrors(t *testing.T) {
	good := fakeDev{addr: "0000:00:03.0", vendor: "0x1234\n", device: "0x11e8\n", class: "0x00ff00\n"}
	for _, tc := range []struct {
		name string
		edit func(*fakeDev)
		file string
		is   error
	}{
		{"vendor not hex", func(d *fakeDev) { d.vendor = "0xzz\n" }, "vendor", ErrMalformed},
		{"vendor no prefix", func(d *fakeDev) { d.vendor = "1234\n" }, "vendor", ErrMalformed},
		{"device too wide", func(d *fakeDev) { d.device = "0x123456\n" }, "device", ErrMalformed},
		{"class empty", func(d *fakeDev) { d.class = "" }, "class", ErrMalformed},
		{"class too wide", func(d *fakeDev) { d.class = "0x1000000\n" }, "class", ErrMalformed},
		{"iommu group not a number", func(d *fakeDev) { d.group = "x" }, "iommu_group", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good
			tc.edit(&d)
			b := fakeSysfs(t, d)
			_, err := b.Lookup(d.addr)
			require.ErrorIs(t, err, tc.is)
			var pe *Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "lookup", pe.Op)
			assert.Equal(t, d.addr, pe.Address)
			assert.Equal(t, tc.file, filepath.Base(pe.File))
			assert.Contains(t, err.Error(), d.addr)
			assert.Contains(t, err.Error(), tc.file)

			_, err = b.List()
			assert.ErrorIs(t, err, tc.is, "List reports the broken device")
		})
	}

	t.Run("missing file", func(t *testing.T) {
		b := fakeSysfs(t, good)
		require.NoError(t, os.Remove(filepath.Join(b.DeviceDir(good.addr), "class")))
		_, err := b.Lookup(good.addr)
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("no device", func(t *testing.T) {
		b := fakeSysfs(t, good)
		_, err := b.Lookup("0000:00:1f.0")
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), "0000:00:1f.0")
	})
	t.Run("no sysfs", func(t *testing.T) {
		_, err := (&Bus{Root: filepath.Join(t.TempDir(), "nothing")}).List()
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
}

func TestBindErrors(t *testing.T) {
	b := fakeSysfs(t, fakeDev{addr: "0000:00:03.0", vendor: "0x1234\n", device: "0x11e8\n", class: "0x00ff00\n", driver: "edu"})

	_, err := b.Bind("0000:00:03.0", "vfio-pci")
	assert.ErrorIs(t, err, ErrNoDriver, "the driver is not registered")

	_, err = b.Bind("0000:00:1f.0", "edu")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	restore, err := b.Bind("0000:00:03.0", "edu")
	require.NoError(t, err, "already bound: nothing to do")
	assert.NoError(t, restore())

	// The fake kernel never rebinds, so a bind to a registered driver is
	// written out and then found not to have taken.
	fakeDriver(t, b.Root, "uio_pci_generic")
	_, err = b.Bind("0000:00:03.0", "uio_pci_generic")
	assert.ErrorIs(t, err, ErrNotBound)
	override, rerr := os.ReadFile(filepath.Join(b.DeviceDir("0000:00:03.0"), "driver_override"))
	require.NoError(t, rerr)
	assert.Equal(t, "\n", string(override), "the failed bind cleared driver_override")
	unbound, rerr := os.ReadFile(filepath.Join(b.Root, "bus/pci/drivers/edu/unbind"))
	require.NoError(t, rerr)
	assert.Equal(t, "0000:00:03.0", string(unbound), "the old driver was unbound")
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"0x1234\n", "0x00ff00\n", "0x\n", "", "1234", "0xFFFFFFFFFFFFFFFFF\n", "0x-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseHex(s, 24)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parseHex(%q): %v is not ErrMalformed", s, err)
			}
			return
		}
		if v >= 1<<24 {
			t.Fatalf("parseHex(%q) = %#x, wider than 24 bits", s, v)
		}
	})
}
