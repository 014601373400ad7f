package vfio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/pci"
)

// fakeSys builds a sysfs tree: the PCI functions, each in group 7 with its
// driver ("" for none), and the group's devices directory.
func fakeSys(t *testing.T, drivers map[string]string) string {
	t.Helper()
	root := t.TempDir()
	grp := filepath.Join(root, "kernel", "iommu_groups", "7")
	for addr, drv := range drivers {
		dev := filepath.Join(root, "bus", "pci", "devices", addr)
		require.NoError(t, os.MkdirAll(dev, 0o755))
		for f, v := range map[string]string{"vendor": "0x1234\n", "device": "0x11e8\n", "class": "0x00ff00\n"} {
			require.NoError(t, os.WriteFile(filepath.Join(dev, f), []byte(v), 0o644))
		}
		require.NoError(t, os.Symlink(grp, filepath.Join(dev, "iommu_group")))
		if drv != "" {
			d := filepath.Join(root, "bus", "pci", "drivers", drv)
			require.NoError(t, os.MkdirAll(d, 0o755))
			require.NoError(t, os.Symlink(d, filepath.Join(dev, "driver")))
		}
		require.NoError(t, os.MkdirAll(filepath.Join(grp, "devices"), 0o755))
		require.NoError(t, os.Symlink(dev, filepath.Join(grp, "devices", addr)))
	}
	return root
}

func TestGroupViability(t *testing.T) {
	for _, tc := range []struct {
		name    string
		drivers map[string]string
		bad     []string
	}{
		{"alone", map[string]string{"0000:00:04.0": "vfio-pci"}, nil},
		{"unbound peer", map[string]string{"0000:00:04.0": "vfio-pci", "0000:00:04.1": ""}, nil},
		{"stub peer", map[string]string{"0000:00:04.0": "vfio-pci", "0000:00:04.1": "pci-stub"}, nil},
		{"host peers", map[string]string{"0000:00:04.0": "vfio-pci", "0000:00:04.1": "e1000e", "0000:00:04.2": "snd_hda_intel"},
			[]string{"0000:00:04.1 (bound to e1000e)", "0000:00:04.2 (bound to snd_hda_intel)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeSys(t, tc.drivers)
			g, err := IOMMUGroup(root, "0000:00:04.0")
			require.NoError(t, err)
			assert.Equal(t, 7, g)
			ms, err := GroupMembers(root, g)
			require.NoError(t, err)
			assert.Len(t, ms, len(tc.drivers))
			err = CheckViable(g, ms)
			if tc.bad == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrNotViable)
			for _, b := range tc.bad {
				assert.Contains(t, err.Error(), b)
			}
			assert.Contains(t, err.Error(), "vfio-pci", "says what to do")
			// Open stops at the same check, before touching /dev.
			_, err = Open("0000:00:04.0", &Options{SysRoot: root, DevDir: t.TempDir()})
			assert.ErrorIs(t, err, ErrNotViable)
		})
	}
}

func TestOpenChecks(t *testing.T) {
	skipOther(t)
	root := fakeSys(t, map[string]string{"0000:00:04.0": "vfio-pci", "0000:00:05.0": "e1000e"})
	require.NoError(t, os.Remove(filepath.Join(root, "kernel", "iommu_groups", "7", "devices", "0000:00:05.0")))

	_, err := Open("0000:00:05.0", &Options{SysRoot: root})
	assert.ErrorIs(t, err, ErrNotBound)
	assert.Contains(t, err.Error(), "e1000e")

	_, err = Open("0000:00:09.0", &Options{SysRoot: root})
	assert.ErrorIs(t, err, os.ErrNotExist)

	// Not an address: refused before it becomes a path.
	_, err = Open("../../../../dev/vfio/7", &Options{SysRoot: root})
	assert.ErrorIs(t, err, pci.ErrAddress)
	_, err = IOMMUGroup(root, "0000:00:04.0/../../0000:00:05.0")
	assert.ErrorIs(t, err, pci.ErrAddress)

	dev := t.TempDir()
	_, err = Open("0000:00:04.0", &Options{SysRoot: root, DevDir: dev})
	assert.ErrorIs(t, err, os.ErrNotExist, "no group node")
	assert.Contains(t, err.Error(), "modprobe")

	require.NoError(t, os.WriteFile(filepath.Join(dev, "noiommu-7"), nil, 0o600))
	_, err = Open("0000:00:04.0", &Options{SysRoot: root, DevDir: dev})
	assert.ErrorIs(t, err, ErrNoIOMMU, "no-IOMMU refused by default")
	assert.Contains(t, err.Error(), "AllowNoIOMMU")

	// Allowed: Open goes on to the container, which this directory lacks.
	_, err = Open("0000:00:04.0", &Options{SysRoot: root, DevDir: dev, AllowNoIOMMU: true})
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), filepath.Join(dev, "vfio"))

	require.NoError(t, os.Remove(filepath.Join(root, "bus", "pci", "devices", "0000:00:04.0", "iommu_group")))
	_, err = IOMMUGroup(root, "0000:00:04.0")
	assert.ErrorIs(t, err, ErrNoIOMMU)
	var e *Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "0000:00:04.0", e.Device)
	assert.Contains(t, e.Hint, "intel_iommu=on")
}
