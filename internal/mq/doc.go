// Package mq calls the POSIX message queue system calls of Linux (mq_open,
// mq_unlink, mq_timedsend, mq_timedreceive), which golang.org/x/sys/unix
// does not wrap. The benchmarks and tests that compare ipcu's transports
// with message queues, or check that a namespace isolates them, use it
// instead of raw system calls of their own.
//
// The API exists on Linux only; elsewhere the package is empty. It needs a
// kernel built with CONFIG_POSIX_MQUEUE (Linux 2.6.6 or later) and no
// privilege, within the limits of /proc/sys/fs/mqueue (msg_max,
// msgsize_max, queues_max) and of RLIMIT_MSGQUEUE, which CAP_SYS_RESOURCE
// lifts.
//
// Names are given as the system calls take them: without the leading
// slash that glibc's mq_open(3) strips, and without any other slash. The
// wrappers still keep a slash in memory just before the name, as glibc
// does, because qemu-user translates mq_open and mq_unlink by reading the
// name from one byte before the pointer it is given and passing it to the
// host's glibc, which refuses a name without a leading slash (EINVAL).
//
// Attr is struct mq_attr of <linux/mqueue.h>: eight C longs. A C long is
// the size of a pointer on every Linux architecture Go supports, as is a
// Go int, so Attr's fields are ints: 64 bytes on 64-bit architectures, 32
// on 32-bit ones (and a 32-bit process on a 64-bit kernel goes through the
// kernel's compat_mq_attr, of 32-bit longs). layout_unsafe_linux_test.go
// checks the size and offsets.
//
// Errors are *os.SyscallError values named after the system call, so that
// errors.Is(err, unix.EEXIST) and errors.Is(err, os.ErrPermission) hold.
// Send and Receive retry EINTR.
//
// The tests create queues of their own, with names unique to the process,
// and unlink them. Where mq_open fails with ENOSYS they skip, through
// internal/testenv (a failure under IPCU_REQUIRE_ALL=1); under user-mode
// emulation, if mq_open fails there, they skip with the reason.
package mq
