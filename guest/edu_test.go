//go:build ipcu_guest && linux

package guest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/edu"
	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/uio"
)

// openEduUIO binds edu to uio_pci_generic and returns the driver on the UIO
// device's BAR0 and INTx line (no DMA: UIO has no IOMMU), and the line.
func openEduUIO(t *testing.T) (*edu.Device, *uio.Device) {
	t.Helper()
	testenv.RequireRoot(t)
	d := find(t, edu.VendorID, edu.DeviceID)
	bind(t, d, "uio_pci_generic")
	infos, err := uio.List(nil)
	require.NoError(t, err)
	var name string
	for _, in := range infos {
		if in.PCI == d.Address {
			name = fmt.Sprintf("uio%d", in.Number)
		}
	}
	require.NotEmpty(t, name, "edu among %+v", infos)
	u, err := uio.Open(name, nil)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, u.Close()) })
	bar0, err := u.PCIResource(0)
	require.NoError(t, err)
	require.EqualValues(t, edu.BAR0Size, bar0.Size())
	dev, err := edu.New(bar0, u.IRQ(), nil, nil)
	require.NoError(t, err)
	return dev, u
}

// The edu driver through uio_pci_generic: identification, liveness,
// factorials completed by the INTx interrupt through the UIO line with
// re-enable, and raise/acknowledge delivering exactly one interrupt.
func TestEduDriverUIO(t *testing.T) {
	dev, u := openEduUIO(t)
	line := u.IRQ()

	major, minor := dev.Ident()
	assert.Equal(t, 1, major)
	assert.Equal(t, 0, minor)

	for _, v := range []uint32{0, 0xffffffff, 0x12345678, 0xdeadbeef} {
		got, err := dev.Liveness(v)
		require.NoError(t, err)
		assert.Equal(t, ^v, got)
	}

	before := line.Stats()
	for _, tc := range []struct{ n, want uint32 }{{5, 120}, {10, 3628800}, {0, 1}, {12, 479001600}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := dev.Factorial(ctx, tc.n)
		cancel()
		require.NoError(t, err, "%d!", tc.n)
		assert.Equal(t, tc.want, got, "%d!", tc.n)
	}
	// A factorial may be done before the driver waits, in which case it
	// takes the status without the line; either way every completion is
	// acknowledged and the line is left armed and quiet.
	t.Logf("line stats after 4 factorials: %+v (before %+v)", line.Stats(), before)
	st, pending := dev.Status()
	assert.Zero(t, st, "every interrupt acknowledged")
	assert.Zero(t, pending)
	time.Sleep(20 * time.Millisecond)
	n, err := line.TryWait()
	require.NoError(t, err)
	assert.Zero(t, n, "no interrupt left on the line")

	// Raise and acknowledge: the line delivers exactly one interrupt, the
	// driver returns the bits raised, acknowledges them and re-arms the
	// line, and nothing more comes.
	for _, bits := range []uint32{0x1, 0x5, 0x80000000} {
		dev.Raise(bits)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := line.Wait(ctx)
		require.NoError(t, err, "INTx delivered for raise %#x", bits)
		assert.EqualValues(t, 1, n, "one interrupt for raise %#x", bits)
		got, err := dev.WaitInterrupt(ctx)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, bits, got)
		short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err = dev.WaitInterrupt(short)
		cancel()
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "acknowledged and re-armed: nothing more")
		n, err = line.TryWait()
		require.NoError(t, err)
		assert.Zero(t, n, "the re-armed line stays quiet")
	}

	// A factorial whose completion interrupt is already on the line when
	// the driver runs: raised, counted by the kernel, then handled.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bar := dev.Regs()
	bar.STATUS.Write(0x80)
	bar.FACTORIAL.Write(7)
	n, err = line.Wait(ctx)
	require.NoError(t, err, "factorial completion interrupt through the UIO line")
	assert.EqualValues(t, 1, n)
	got, err := dev.WaitInterrupt(ctx)
	require.NoError(t, err)
	assert.Equal(t, edu.IRQFactorial, got)
	assert.Equal(t, uint32(5040), bar.FACTORIAL.Read())
	got32, err := dev.Factorial(ctx, 10)
	require.NoError(t, err, "the line was re-armed")
	assert.Equal(t, uint32(3628800), got32)

	// No DMA through UIO.
	_, err = dev.RoundTrip(context.Background(), []byte{1}, 0)
	assert.ErrorIs(t, err, edu.ErrNoDMA)
}

// The driver polls when it has no line.
func TestEduDriverUIOPolling(t *testing.T) {
	testenv.RequireRoot(t)
	d := find(t, edu.VendorID, edu.DeviceID)
	bind(t, d, "uio_pci_generic")
	bar0 := mapBAR(t, d, 0)
	dev, err := edu.New(bar0, nil, nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := dev.Factorial(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, uint32(3628800), got)
	dev.Raise(0x2)
	st, err := dev.WaitInterrupt(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x2), st)
}

// highRegion reports a device address beyond edu's 28-bit DMA mask for a
// real region, to check that the driver refuses it before programming.
type highRegion struct{ dmaring.Region }

func (r highRegion) Addr() uint64 { return r.Region.Addr() + 1<<edu.DefaultDMABits }

// The edu driver through vfio-pci with IOMMU-mapped DMA memory and MSI:
// 4 KiB round trips at several device-buffer offsets with the data
// compared, and a device address above 28 bits refused.
func TestEduDriverVFIODMA(t *testing.T) {
	vd, bar0 := openEdu(t)
	mem, err := vd.DMA(nil)
	require.NoError(t, err)
	defer func() { assert.NoError(t, mem.Close()) }()
	lines, err := vd.MSI(1)
	require.NoError(t, err)
	dev, err := edu.New(bar0, lines[0], mem, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got32, err := dev.Factorial(ctx, 5)
	require.NoError(t, err)
	assert.Equal(t, uint32(120), got32, "5! with MSI")

	rng := rand.New(rand.NewPCG(3, 4))
	for _, off := range []int{0, 0x100, 0x800, 0xc00} {
		data := make([]byte, 4096)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		got, err := dev.RoundTrip(ctx, data, off)
		require.NoError(t, err, "round trip through buffer offset %#x", off)
		assert.True(t, bytes.Equal(data, got), "4 KiB through buffer offset %#x", off)
	}
	t.Logf("MSI stats: %+v", lines[0].Stats())

	r, err := mem.Alloc(4096, 4096)
	require.NoError(t, err)
	defer func() { assert.NoError(t, r.Free()) }()
	err = dev.ToDevice(ctx, highRegion{r}, 0, 0, 64)
	assert.ErrorIs(t, err, edu.ErrAddressLimit, "IOVA above 28 bits")
	t.Log(err)
	err = dev.FromDevice(ctx, highRegion{r}, 0, 0, 64)
	assert.ErrorIs(t, err, edu.ErrAddressLimit)
	assert.ErrorIs(t, dev.ToDevice(ctx, r, 0, 0, 4096), edu.ErrBufferRange, "QEMU stops the VM for a DMA ending on the buffer's end")
	require.NoError(t, dev.ToDevice(ctx, r, 0, 0, 64), "the device still works")
}
