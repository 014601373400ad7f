package sys

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
)

// noVFIOIoctls is why the tests that reach the kernel with a VFIO ioctl
// cannot run under user-mode emulation.
const noVFIOIoctls = "qemu-user forwards only the ioctls of its own table to the kernel and answers the others, VFIO's among them, with ENOSYS"

// TestWrongFD runs the wrappers on a pipe, which answers every VFIO ioctl
// with ENOTTY: the errors must be *Error wrapping the errno.
func TestWrongFD(t *testing.T) {
	testenv.UnsupportedEmulated(t, noVFIOIoctls)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	fd := int(r.Fd())

	_, err = GroupGetStatus(fd)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "VFIO_GROUP_GET_STATUS", e.Op)
	assert.ErrorIs(t, err, unix.ENOTTY)

	_, _, err = DeviceGetRegionInfo(fd, 0)
	assert.ErrorIs(t, err, unix.ENOTTY)
	_, _, err = IOMMUGetInfo(fd)
	assert.ErrorIs(t, err, unix.ENOTTY)
	assert.ErrorIs(t, DeviceSetIRQEventfds(fd, 0, 0, []int32{-1}), unix.ENOTTY)
	assert.ErrorIs(t, DeviceReset(fd), unix.ENOTTY)
	_, err = IOMMUUnmapDMA(fd, 0, 4096, 0)
	assert.ErrorIs(t, err, unix.ENOTTY)
}

func TestDeviceSetIRQsArgs(t *testing.T) {
	// Checked before any ioctl: the fd does not matter.
	err := DeviceSetIRQs(-1, 0, 0, 2, VFIO_IRQ_SET_DATA_EVENTFD|VFIO_IRQ_SET_ACTION_TRIGGER, make([]byte, 4))
	assert.ErrorContains(t, err, "4 bytes of data for 2 interrupts")
	err = DeviceSetIRQs(-1, 0, 0, 0, VFIO_IRQ_SET_DATA_NONE|VFIO_IRQ_SET_DATA_BOOL, nil)
	assert.ErrorContains(t, err, "not exactly one data type")
}

// TestBadFD checks the kernel's EBADF comes back wrapped.
func TestBadFD(t *testing.T) {
	testenv.UnsupportedEmulated(t, noVFIOIoctls)
	assert.ErrorIs(t, DeviceDisableIRQs(-1, 0), unix.EBADF)
}
