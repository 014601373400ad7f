//go:build ipcu_guest && linux

package guest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/sys"
	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/uio"
)

// edu's registers (QEMU docs/specs/edu.rst).
const (
	eduID         = 0x00
	eduIRQStatus  = 0x24
	eduIRQRaise   = 0x60
	eduIRQAck     = 0x64
	eduIdentValue = 0x010000ed
)

// The VFIO kernel ABI of internal/sys against the real vfio-pci driver:
// container, group viability, type1v2 IOMMU, device fd, BAR0 region info,
// BAR0 mapped and read, and edu's interrupt delivered on an MSI eventfd.
func TestVFIOEdu(t *testing.T) {
	testenv.RequireRoot(t)
	edu := find(t, 0x1234, 0x11e8)
	bind(t, edu, "vfio-pci")

	container, err := unix.Open("/dev/vfio/vfio", unix.O_RDWR|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(container)
	v, err := sys.GetAPIVersion(container)
	require.NoError(t, err)
	assert.Equal(t, sys.VFIO_API_VERSION, v)
	ok, err := sys.CheckExtension(container, sys.VFIO_TYPE1v2_IOMMU)
	require.NoError(t, err)
	require.True(t, ok, "type1v2 IOMMU")

	group, err := unix.Open(filepath.Join("/dev/vfio", strconv.Itoa(edu.IOMMUGroup)), unix.O_RDWR|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(group)
	st, err := sys.GroupGetStatus(group)
	require.NoError(t, err)
	require.NotZero(t, st.Flags&sys.VFIO_GROUP_FLAGS_VIABLE, "the group is viable")
	require.NoError(t, sys.GroupSetContainer(group, container))
	defer sys.GroupUnsetContainer(group)
	require.NoError(t, sys.SetIOMMU(container, sys.VFIO_TYPE1v2_IOMMU))
	info, caps, err := sys.IOMMUGetInfo(container)
	require.NoError(t, err)
	chain, err := sys.ParseCaps(caps, info.CapOffset)
	require.NoError(t, err, "the kernel's capability chain")
	if c, ok := sys.FindCap(chain, sys.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE); ok {
		ranges, err := sys.IOVARanges(c)
		require.NoError(t, err)
		require.NotEmpty(t, ranges)
		t.Logf("IOVA ranges: %+v", ranges)
	}

	dev, err := sys.GroupGetDeviceFD(group, edu.Address)
	require.NoError(t, err)
	defer unix.Close(dev)
	di, err := sys.DeviceGetInfo(dev)
	require.NoError(t, err)
	assert.NotZero(t, di.Flags&sys.VFIO_DEVICE_FLAGS_PCI, "a PCI device")
	ri, _, err := sys.DeviceGetRegionInfo(dev, sys.VFIO_PCI_BAR0_REGION_INDEX)
	require.NoError(t, err)
	assert.EqualValues(t, 1<<20, ri.Size, "BAR0 is 1 MiB")
	require.NotZero(t, ri.Flags&sys.VFIO_REGION_INFO_FLAG_MMAP, "BAR0 can be mapped")
	w, err := regs.Map(dev, int64(ri.Offset), int(ri.Size), nil)
	require.NoError(t, err)
	defer w.Close()
	assert.Equal(t, uint32(eduIdentValue), w.Read32(eduID), "identification through VFIO")

	// MSI is a memory write by the device: enable bus mastering in the
	// command register, through the config region (pread/pwrite: the
	// config space is not mappable).
	cfg, _, err := sys.DeviceGetRegionInfo(dev, sys.VFIO_PCI_CONFIG_REGION_INDEX)
	require.NoError(t, err)
	var cmd [2]byte
	_, err = unix.Pread(dev, cmd[:], int64(cfg.Offset)+4)
	require.NoError(t, err)
	cmd[0] |= 1 << 2 // PCI_COMMAND_MASTER
	_, err = unix.Pwrite(dev, cmd[:], int64(cfg.Offset)+4)
	require.NoError(t, err)

	// MSI through an eventfd: edu raises, the eventfd counts, the handler
	// acknowledges in the device.
	line, err := irq.NewEventfd()
	require.NoError(t, err)
	defer line.Close()
	require.NoError(t, sys.DeviceSetIRQEventfds(dev, sys.VFIO_PCI_MSI_IRQ_INDEX, 0, []int32{int32(line.FD())}))
	defer sys.DeviceDisableIRQs(dev, sys.VFIO_PCI_MSI_IRQ_INDEX)
	w.Write32(eduIRQRaise, 0x1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := line.Wait(ctx)
	require.NoError(t, err, "MSI delivered")
	assert.EqualValues(t, 1, n)
	assert.Equal(t, uint32(1), w.Read32(eduIRQStatus))
	w.Write32(eduIRQAck, 0x1)
	assert.Zero(t, w.Read32(eduIRQStatus))
}

// The uio package against the real uio_pci_generic driver: discovery from
// /sys/class/uio, BAR0 through sysfs resource0, INTx through the UIO fd
// with re-enable, and a counter jump reported as missed interrupts.
func TestUIOEdu(t *testing.T) {
	testenv.RequireRoot(t)
	edu := find(t, 0x1234, 0x11e8)
	bind(t, edu, "uio_pci_generic")

	infos, err := uio.List(nil)
	require.NoError(t, err)
	var name string
	for _, in := range infos {
		if in.PCI == edu.Address {
			name = fmt.Sprintf("uio%d", in.Number)
			assert.Equal(t, "uio_pci_generic", in.Name)
		}
	}
	require.NotEmpty(t, name, "edu among %+v", infos)
	d, err := uio.Open(name, nil)
	require.NoError(t, err)
	defer d.Close()
	w, err := d.PCIResource(0)
	require.NoError(t, err)
	assert.Equal(t, uint32(eduIdentValue), w.Read32(eduID), "identification through uio")
	w.Write32(0x04, 0x0f0f0f0f)
	assert.Equal(t, uint32(0xf0f0f0f0), w.Read32(0x04), "liveness")

	irqLine, err := os.ReadFile(filepath.Join("/sys/bus/pci/devices", edu.Address, "irq"))
	require.NoError(t, err)
	t.Logf("edu's INTx is irq %s", irqLine)
	src := d.IRQ()
	// uio_pci_generic has no irqcontrol: Ack clears the command register's
	// interrupt-disable bit instead.
	require.NoError(t, src.Ack(), "enable the interrupt")
	w.Write32(eduIRQRaise, 0x1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := src.Wait(ctx)
	require.NoError(t, err, "INTx delivered through uio")
	assert.EqualValues(t, 1, n)

	// Re-enable while edu still asserts its level interrupt: the kernel
	// takes it again at once, and the count jumps by two at the next read.
	require.NoError(t, src.Ack())
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, src.Ack())
	time.Sleep(50 * time.Millisecond)
	n, err = src.Wait(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, uint64(2), "interrupts while nobody read")
	stats := src.Stats()
	assert.GreaterOrEqual(t, stats.Missed, uint64(1), "the jump counts as missed")
	w.Write32(eduIRQAck, 0x1)
	require.NoError(t, src.Ack())

	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	_, err = src.Wait(short)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "acknowledged: no more interrupts")
}
