// Package sys holds the kernel ABI the other packages of ipcu use: the
// VFIO ioctl numbers, constants and structures of <linux/vfio.h>, with typed
// wrappers around the ioctls, and a validating parser for the capability
// chains that the VFIO info ioctls return.
//
// Nothing above internal/ issues an ioctl: the packages that drive VFIO call
// the wrappers here. The structures keep the kernel's layout, including the
// trailing padding that C gives a structure holding a __u64 on every
// architecture (and Go does not on 32-bit ARM, where it aligns uint64 to
// 4 bytes); layout_unsafe_test.go checks each size and offset against
// numbers taken from the header, and, where gcc and <linux/vfio.h> are
// installed, against a C program it compiles at test time.
//
// The wrappers need Linux; elsewhere they fail with an error wrapping
// ErrNotSupported, so that the packages using them still build. The
// constants, structures and ParseCaps are portable.
//
// Errors are *Error values naming the operation and wrapping the
// *os.SyscallError of the failed ioctl, so that errors.Is(err,
// os.ErrPermission) holds for EPERM and EACCES and errors.Is(err,
// unix.ENOTTY) for a descriptor that is not what the ioctl expects.
package sys
