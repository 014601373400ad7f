//go:build ipcu_guest && linux

package guest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/pci"
	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/tools/vmtest/vm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// seed returns the ipcu.seed value of the kernel command line.
func seed(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/cmdline")
	require.NoError(t, err)
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "ipcu.seed="); ok {
			return v
		}
	}
	t.Fatalf("no ipcu.seed= on the kernel command line %q", b)
	return ""
}

// find returns the one function with the given IDs.
func find(t *testing.T, vendor, device uint16) pci.Device {
	t.Helper()
	devs, err := pci.List()
	require.NoError(t, err)
	var found []pci.Device
	for _, d := range devs {
		if d.Vendor == vendor && d.Device == device {
			found = append(found, d)
		}
	}
	require.Len(t, found, 1, "functions %04x:%04x among %v", vendor, device, devs)
	t.Logf("found %v driver=%q iommu_group=%d class=%#06x", found[0], found[0].Driver, found[0].IOMMUGroup, found[0].Class)
	return found[0]
}

// bind binds d to driver for the rest of the test and checks that the
// previous driver comes back at the end.
func bind(t *testing.T, d pci.Device, driver string) {
	t.Helper()
	restore, err := pci.Bind(d.Address, driver)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, restore())
		got, err := pci.Lookup(d.Address)
		require.NoError(t, err)
		assert.Equal(t, d.Driver, got.Driver, "the previous driver is back")
		override, err := os.ReadFile(filepath.Join(new(pci.Bus).DeviceDir(d.Address), "driver_override"))
		require.NoError(t, err)
		assert.Equal(t, "(null)\n", string(override), "driver_override is cleared")
	})
	got, err := pci.Lookup(d.Address)
	require.NoError(t, err)
	require.Equal(t, driver, got.Driver)
}

// mapBAR maps BAR n of d through its sysfs resource file.
func mapBAR(t *testing.T, d pci.Device, n int) *regs.Window {
	t.Helper()
	path := new(pci.Bus).ResourcePath(d.Address, n)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_SYNC, 0)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	w, err := regs.Map(int(f.Fd()), 0, int(st.Size()), nil)
	require.NoError(t, err, "mapping %s", path)
	t.Cleanup(func() { assert.NoError(t, w.Close()) })
	t.Logf("mapped %s: %d bytes", path, st.Size())
	return w
}

func TestEnvironment(t *testing.T) {
	testenv.RequireRoot(t)
	_, err := os.Stat("/sys/bus/pci/drivers/uio_pci_generic")
	require.NoError(t, err, "uio_pci_generic is loaded")
	_, err = os.Stat("/sys/bus/pci/drivers/vfio-pci")
	require.NoError(t, err, "vfio-pci is loaded")
}

func TestEduUIO(t *testing.T) {
	testenv.RequireRoot(t)
	edu := find(t, 0x1234, 0x11e8)
	bind(t, edu, "uio_pci_generic")
	uios, err := filepath.Glob(filepath.Join(new(pci.Bus).DeviceDir(edu.Address), "uio", "uio*"))
	require.NoError(t, err)
	require.Len(t, uios, 1, "uio_pci_generic made a uio device")
	t.Logf("uio device: %s", filepath.Base(uios[0]))

	w := mapBAR(t, edu, 0)
	require.EqualValues(t, 1<<20, w.Size(), "edu's BAR0 is 1 MiB")
	assert.Equal(t, uint32(0x010000ed), w.Read32(0x00), "identification register")
	for _, v := range []uint32{0x12345678, 0, 0xffffffff, 0xdeadbeef} {
		w.Write32(0x04, v)
		assert.Equal(t, ^v, w.Read32(0x04), "liveness register inverts %#x", v)
	}
	// Factorial: write n, wait for status bit 0 (computing) to clear.
	w.Write32(0x08, 6)
	for i := 0; w.Read32(0x20)&1 != 0; i++ {
		require.Less(t, i, 1_000_000, "factorial never finished")
	}
	assert.Equal(t, uint32(720), w.Read32(0x08), "6!")
}

func TestEduVFIOBind(t *testing.T) {
	testenv.RequireRoot(t)
	edu := find(t, 0x1234, 0x11e8)
	require.GreaterOrEqual(t, edu.IOMMUGroup, 0, "edu has an IOMMU group (intel-iommu)")
	// From one userspace driver to another, so that the restore under
	// test gives the device back to a driver, not to no driver.
	bind(t, edu, "uio_pci_generic")
	edu, err := pci.Lookup(edu.Address)
	require.NoError(t, err)
	bind(t, edu, "vfio-pci")
	_, err = os.Stat(filepath.Join("/dev/vfio", strconv.Itoa(edu.IOMMUGroup)))
	assert.NoError(t, err, "vfio-pci made the group's device node")
}

func TestIVSHMEM(t *testing.T) {
	testenv.RequireRoot(t)
	s := seed(t)
	dev := find(t, 0x1af4, 0x1110)
	bind(t, dev, "uio_pci_generic") // enables the device's memory decoding
	w := mapBAR(t, dev, 2)
	require.GreaterOrEqual(t, int(w.Size()), vm.GuestOffset+vm.PatternLen)

	read := func(off int) []byte {
		b := make([]byte, vm.PatternLen)
		for i := range b {
			b[i] = w.Read8(uintptr(off + i))
		}
		return b
	}
	assert.Empty(t, vm.Mismatch(read(vm.HostOffset), vm.Pattern("host", s)), "the host's pattern is in BAR2")
	for i, b := range vm.Pattern("guest", s) {
		w.Write8(uintptr(vm.GuestOffset+i), b)
	}
	assert.Empty(t, vm.Mismatch(read(vm.GuestOffset), vm.Pattern("guest", s)), "the guest's pattern reads back")
}
