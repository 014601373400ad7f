package fakedev

import (
	"os"

	"golang.org/x/sys/unix"
)

// newEventfd returns a non-blocking eventfd for a core's notifications.
func newEventfd() (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return -1, os.NewSyscallError("eventfd", err)
	}
	return fd, nil
}
