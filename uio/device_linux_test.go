package uio

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fakeDevice is uio1 of the standard fake tree, opened, with a FIFO as its
// device node: a stand-in for /dev/uioN that is pollable like it and
// returns the 4-byte totals the test writes. It is not the kernel's UIO
// (reads are not gated on a changed counter, Ack's write lands in the
// FIFO), so it tests the waiting machinery, not the driver.
type fakeDevice struct {
	*Device
	fs   *fakeSys
	fifo *os.File // the writing end
	pci  string   // the PCI function's sysfs directory
}

func openFake(t *testing.T, event string) *fakeDevice {
	fs := newFakeSys(t)
	fs.standard()
	fs.write("class/uio/uio1/event", event)
	dev := filepath.Join(fs.root, "dev")
	require.NoError(t, os.MkdirAll(dev, 0o755))
	node := filepath.Join(dev, "uio1")
	require.NoError(t, unix.Mkfifo(node, 0o600))

	pci := filepath.Join(fs.root, "devices/pci0000:00/0000:00:04.0")
	config := make([]byte, 256)
	binary.LittleEndian.PutUint16(config[4:], 0x0507) // memory, I/O, bus master, INTx disabled
	require.NoError(t, os.WriteFile(filepath.Join(pci, "config"), config, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(pci, "resource0"), make([]byte, 2*os.Getpagesize()), 0o600))

	d, err := Open("1", fs.opts())
	require.NoError(t, err)
	fifo, err := os.OpenFile(node, os.O_WRONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() {
		fifo.Close()
		assert.NoError(t, d.Close())
	})
	return &fakeDevice{Device: d, fs: fs, fifo: fifo, pci: pci}
}

// fire writes the total the kernel's counter would have reached.
func (f *fakeDevice) fire(t *testing.T, total uint32) {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], total)
	_, err := f.fifo.Write(b[:])
	require.NoError(t, err)
}

func TestFakeWait(t *testing.T) {
	d := openFake(t, "41")
	src := d.IRQ()
	assert.GreaterOrEqual(t, src.FD(), 0)
	assert.GreaterOrEqual(t, d.FD(), 0)
	assert.NotEqual(t, d.FD(), src.FD())

	n, err := src.TryWait()
	require.NoError(t, err)
	assert.Zero(t, n)

	d.fire(t, 42)
	n, err = src.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)

	// A Wait that blocks first, then the interrupt.
	done := make(chan uint64)
	go func() {
		n, err := src.Wait(context.Background())
		assert.NoError(t, err)
		done <- n
	}()
	time.Sleep(10 * time.Millisecond)
	d.fire(t, 45)
	assert.Equal(t, uint64(3), <-done)

	d.fire(t, 46)
	n, err = src.TryWait()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)

	src.Spurious()
	s := src.Stats()
	assert.Equal(t, uint64(3), s.Wakeups)
	assert.Equal(t, uint64(5), s.Delivered)
	assert.Equal(t, uint64(2), s.Missed)
	assert.Equal(t, uint64(1), s.Spurious)

	require.NoError(t, src.Ack())
	n, err = src.TryWait() // the FIFO hands Ack's 1 back: a total of 1, wrapped
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<32-45), n)
}

func TestFakeWaitContext(t *testing.T) {
	d := openFake(t, "0")
	src := d.IRQ()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := src.Wait(ctx)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err = src.Wait(ctx)
	assert.ErrorIs(t, err, context.Canceled)

	// Done before the call: no read at all, even with a count pending.
	d.fire(t, 1)
	_, err = src.Wait(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	// The next Wait, with a live context, has no stale deadline.
	n, err := src.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)
}

func TestFakeCloseWakes(t *testing.T) {
	d := openFake(t, "0")
	src := d.IRQ()
	errs := make(chan error, 2)
	for range 2 { // one reading, one queued behind it
		go func() { _, err := src.Wait(context.Background()); errs <- err }()
	}
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, d.Close())
	for range 2 {
		select {
		case err := <-errs:
			assert.ErrorIs(t, err, os.ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake Wait")
		}
	}
	assert.NoError(t, d.Close(), "idempotent")
	assert.Equal(t, -1, src.FD())
	assert.Equal(t, -1, d.FD())
	_, err := src.TryWait()
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.ErrorIs(t, src.Ack(), os.ErrClosed)
	_, err = d.PCIResource(0)
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.ErrorIs(t, d.EnableINTx(), os.ErrClosed)
	var nilDev *Device
	assert.NoError(t, nilDev.Close())
}

func TestFakeINTx(t *testing.T) {
	d := openFake(t, "0")
	cmd := func() uint16 {
		b, err := os.ReadFile(filepath.Join(d.pci, "config"))
		require.NoError(t, err)
		return binary.LittleEndian.Uint16(b[4:])
	}
	off, err := d.INTxDisabled()
	require.NoError(t, err)
	assert.True(t, off)

	require.NoError(t, d.EnableINTx())
	assert.Equal(t, uint16(0x0107), cmd(), "only bit 10 cleared")
	off, err = d.INTxDisabled()
	require.NoError(t, err)
	assert.False(t, off)

	require.NoError(t, d.DisableINTx())
	assert.Equal(t, uint16(0x0507), cmd())
	require.NoError(t, d.DisableINTx())
	assert.Equal(t, uint16(0x0507), cmd())
}

func TestFakePCIResource(t *testing.T) {
	d := openFake(t, "0")
	w, err := d.PCIResource(0)
	require.NoError(t, err)
	assert.Equal(t, uintptr(2*os.Getpagesize()), w.Size())
	w.Write32(8, 0xdeadbeef)
	b, err := os.ReadFile(filepath.Join(d.pci, "resource0"))
	require.NoError(t, err)
	assert.Equal(t, uint32(0xdeadbeef), binary.NativeEndian.Uint32(b[8:]))
	// Left for Device.Close to unmap: leakcheck fails the package if not.

	_, err = d.PCIResource(1)
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = d.PCIResource(6)
	assert.ErrorIs(t, err, ErrRange)
	_, err = d.Map(0)
	assert.ErrorIs(t, err, os.ErrNotExist, "uio_pci_generic has no maps")
}

func TestFakeNotPCI(t *testing.T) {
	fs := newFakeSys(t)
	fs.standard()
	require.NoError(t, os.MkdirAll(filepath.Join(fs.root, "dev"), 0o755))
	require.NoError(t, unix.Mkfifo(filepath.Join(fs.root, "dev/uio0"), 0o600))
	d, err := Open("ipcu-mailbox", fs.opts())
	require.NoError(t, err)
	defer d.Close()
	assert.Equal(t, "regs", d.Info().Maps[0].Name)
	_, err = d.PCIResource(0)
	assert.ErrorIs(t, err, ErrNotPCI)
	assert.ErrorIs(t, d.EnableINTx(), ErrNotPCI)
	_, err = d.Map(0) // a FIFO cannot be mapped
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "map", e.Op)
	_, err = d.Map(5)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestOpenErrors(t *testing.T) {
	fs := newFakeSys(t)
	fs.standard()
	_, err := Open("nothing", fs.opts())
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = Open("uio0", fs.opts()) // no node
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, os.MkdirAll(filepath.Join(fs.root, "dev"), 0o755))
	require.NoError(t, unix.Mkfifo(filepath.Join(fs.root, "dev/uio0"), 0o600))
	fs.write("class/uio/uio0/event", "many")
	_, err = Open("0", fs.opts())
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, filepath.Join(fs.root, "class/uio/uio0/event"), pe.Path)
	assert.ErrorIs(t, err, ErrSyntax)

	if os.Geteuid() != 0 { // root opens anything
		require.NoError(t, os.Chmod(filepath.Join(fs.root, "dev/uio0"), 0))
		_, err = Open("0", fs.opts())
		assert.ErrorIs(t, err, os.ErrPermission)
	}
}
