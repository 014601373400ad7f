//go:build linux

package futex

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The unsafe conversions of this file are of the futex word's and the
// timeout's addresses, which the system call takes.

// The operations of <linux/futex.h>, without FUTEX_PRIVATE_FLAG.
const (
	opWait = 0 // FUTEX_WAIT
	opWake = 1 // FUTEX_WAKE
)

// The errors Wait returns in normal operation, allocated once.
var (
	errAgain    error = &os.SyscallError{Syscall: "futex", Err: unix.EAGAIN}
	errIntr     error = &os.SyscallError{Syscall: "futex", Err: unix.EINTR}
	errTimedOut error = &os.SyscallError{Syscall: "futex", Err: unix.ETIMEDOUT}
)

// Wait sleeps until a Wake on addr, if *addr holds val; it fails at once
// with EAGAIN if it does not. The kernel compares and sleeps atomically
// with respect to Wake, so a Wake that follows a change of the word is not
// missed. A non-nil timeout bounds the sleep (a relative time, measured
// on CLOCK_MONOTONIC), after which Wait fails with ETIMEDOUT; a signal
// ends it with EINTR. Wait blocks its thread; the Go runtime hands the
// thread's P to another one meanwhile.
func Wait(addr *uint32, val uint32, timeout *unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), opWait, uintptr(val),
		uintptr(unsafe.Pointer(timeout)), 0, 0)
	return errnoErr(e)
}

// Wake wakes at most n of the waiters on addr (n > 0; math.MaxInt32 wakes
// them all) and returns how many it woke.
func Wake(addr *uint32, n int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), opWake, uintptr(n), 0, 0, 0)
	if e != 0 {
		return 0, errnoErr(e)
	}
	return int(r), nil
}

func errnoErr(e unix.Errno) error {
	switch e {
	case 0:
		return nil
	case unix.EAGAIN:
		return errAgain
	case unix.EINTR:
		return errIntr
	case unix.ETIMEDOUT:
		return errTimedOut
	}
	return os.NewSyscallError("futex", e)
}
