package uio

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeSys is a fake sysfs tree under a temporary directory, laid out as
// the kernel lays out /sys/class/uio (Documentation/driver-api/uio-howto).
type fakeSys struct {
	t    testing.TB
	root string
}

func newFakeSys(t testing.TB) *fakeSys {
	return &fakeSys{t: t, root: t.TempDir()}
}

func (f *fakeSys) opts() *Options {
	return &Options{SysRoot: f.root, DevDir: filepath.Join(f.root, "dev")}
}

// write writes content (and a newline, as sysfs does) to the file rel of
// the tree, making its directories.
func (f *fakeSys) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, rel)
	require.NoError(f.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(f.t, os.WriteFile(p, []byte(content+"\n"), 0o644))
}

func (f *fakeSys) remove(rel string) {
	f.t.Helper()
	require.NoError(f.t, os.Remove(filepath.Join(f.root, rel)))
}

// device makes class/uio/uioN with its name, version and event files, and
// its device symlink to devices/<parent>.
func (f *fakeSys) device(n, name, parent string) {
	f.t.Helper()
	dir := "class/uio/uio" + n
	f.write(dir+"/name", name)
	f.write(dir+"/version", "0.01.0")
	f.write(dir+"/event", "0")
	pdir := filepath.Join(f.root, "devices", parent)
	require.NoError(f.t, os.MkdirAll(pdir, 0o755))
	require.NoError(f.t, os.Symlink(pdir, filepath.Join(f.root, dir, "device")))
}

// mapDir writes maps/mapM of uioN.
func (f *fakeSys) mapDir(n, m, name, addr, size, offset string) {
	dir := "class/uio/uio" + n + "/maps/map" + m
	f.write(dir+"/name", name)
	f.write(dir+"/addr", addr)
	f.write(dir+"/size", size)
	f.write(dir+"/offset", offset)
}

// portDir writes portio/portM of uioN.
func (f *fakeSys) portDir(n, m, name, start, size, typ string) {
	dir := "class/uio/uio" + n + "/portio/port" + m
	f.write(dir+"/name", name)
	f.write(dir+"/start", start)
	f.write(dir+"/size", size)
	f.write(dir+"/porttype", typ)
}

// standard makes two devices: uio0, a platform device with two maps and a
// port range, and uio1, a PCI function bound to uio_pci_generic.
func (f *fakeSys) standard() {
	f.device("0", "ipcu-mailbox", "platform/1c00000.mailbox")
	f.mapDir("0", "0", "regs", "0x0000000001c00000", "0x00001000", "0x0")
	f.mapDir("0", "1", "", "0x0000000001c02100", "0x00000100", "0x100")
	f.portDir("0", "0", "ioports", "0x3f8", "0x8", "port_x86")
	f.device("1", "uio_pci_generic", "pci0000:00/0000:00:04.0")
	// A stray entry that is not a device must be ignored.
	f.write("class/uio/uiox/name", "junk")
}
