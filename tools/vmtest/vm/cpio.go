package vm

import (
	"fmt"
	"io"
	"path"
	"strings"
)

// Initramfs writes a cpio archive in the "newc" format the Linux kernel
// unpacks as its initial root file system. Parent directories are added
// on first use, since the kernel does not create them. Close writes the
// trailer; it does not close the underlying writer.
type Initramfs struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

// NewInitramfs returns an Initramfs writing to w (wrap w in a gzip.Writer
// for a compressed archive).
func NewInitramfs(w io.Writer) *Initramfs {
	return &Initramfs{w: w, ino: 1, dirs: map[string]bool{"": true, ".": true, "/": true}}
}

// File types of the cpio mode field (from <sys/stat.h>).
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
)

// Dir adds a directory (and its parents) with permissions perm.
func (a *Initramfs) Dir(name string, perm uint32) error {
	name = clean(name)
	if a.dirs[name] {
		return a.err
	}
	a.parents(name)
	a.dirs[name] = true
	return a.entry(name, modeDir|perm&0o7777, 0, 0, nil)
}

// File adds a regular file with permissions perm and contents data.
func (a *Initramfs) File(name string, perm uint32, data []byte) error {
	name = clean(name)
	a.parents(name)
	return a.entry(name, modeFile|perm&0o7777, 0, 0, data)
}

// Symlink adds a symbolic link name pointing to target.
func (a *Initramfs) Symlink(name, target string) error {
	name = clean(name)
	a.parents(name)
	return a.entry(name, modeSymlink|0o777, 0, 0, []byte(target))
}

// CharDev adds a character device node, such as /dev/console (5, 1), which
// the kernel opens for init's standard streams before init runs.
func (a *Initramfs) CharDev(name string, perm, major, minor uint32) error {
	name = clean(name)
	a.parents(name)
	return a.entry(name, modeChar|perm&0o7777, major, minor, nil)
}

// Close writes the archive's trailer and reports the first error.
func (a *Initramfs) Close() error {
	return a.entry("TRAILER!!!", 0, 0, 0, nil)
}

func clean(name string) string { return strings.TrimPrefix(path.Clean("/"+name), "/") }

func (a *Initramfs) parents(name string) {
	if dir := path.Dir(name); !a.dirs[dir] {
		_ = a.Dir(dir, 0o755)
	}
}

// entry writes one header, name and data, each padded to 4 bytes.
func (a *Initramfs) entry(name string, mode, rmajor, rminor uint32, data []byte) error {
	if a.err != nil {
		return a.err
	}
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	ino := a.ino
	a.ino++
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize (with its NUL), check.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	if _, err := a.w.Write(buf); err != nil {
		a.err = fmt.Errorf("writing initramfs entry %s: %w", name, err)
		return a.err
	}
	if len(data) > 0 {
		if _, err := a.w.Write(data); err != nil {
			a.err = fmt.Errorf("writing initramfs entry %s: %w", name, err)
			return a.err
		}
		if n := len(data) % 4; n != 0 {
			if _, err := a.w.Write(make([]byte, 4-n)); err != nil {
				a.err = fmt.Errorf("writing initramfs entry %s: %w", name, err)
				return a.err
			}
		}
	}
	return nil
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
