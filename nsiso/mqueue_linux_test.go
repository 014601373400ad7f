package nsiso_test

import (
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/mq"
)

// mqOpen opens the POSIX message queue name (without the leading slash,
// as the kernel takes it), creating it if create, and returns its
// descriptor.
func mqOpen(name string, create bool) (int, error) {
	flags := unix.O_RDWR
	if create {
		flags |= unix.O_CREAT | unix.O_EXCL
	}
	return mq.Open(name, flags, 0o600, nil)
}

// mqUnlink removes the POSIX message queue name.
func mqUnlink(name string) error { return mq.Unlink(name) }
