//go:build linux

package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl issues the ioctl req on fd with the argument arg, retrying on
// EINTR, and returns the ioctl's non-negative result.
func ioctl(fd int, req uint, arg uintptr) (int, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), arg)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

// ioctlPtr issues req with a pointer to *p, which the kernel reads and may
// fill in.
func ioctlPtr[T any](fd int, req uint, p *T) (int, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(p)))
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

// ioctlBuf issues req with a pointer to the first byte of buf, which must
// not be empty.
func ioctlBuf(fd int, req uint, buf []byte) (int, error) {
	return ioctlPtr(fd, req, &buf[0])
}

// ioctlString issues req with a pointer to s as a NUL-terminated string.
func ioctlString(fd int, req uint, s string) (int, error) {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		return -1, err
	}
	return ioctlPtr(fd, req, p)
}
