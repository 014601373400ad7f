// Package futex calls futex(2) for FUTEX_WAIT and FUTEX_WAKE, whose
// operations golang.org/x/sys/unix does not wrap. The channels and
// benchmarks that sleep on a word of shared memory use it instead of raw
// system calls of their own.
//
// The operations are the shared ones, without FUTEX_PRIVATE_FLAG: the
// kernel keys the futex on the page behind the address (its file or
// anonymous shared mapping and offset), so that processes mapping the same
// memory at different addresses meet on the same word. That is what a word
// in memory shared between processes needs, and it works within one
// process too, at the cost of the key lookup. Memory the kernel cannot key
// (BPF map memory, for one) fails with EFAULT.
//
// The API exists on Linux only; elsewhere the package is empty. Futexes
// are in every Linux kernel ipcu supports, and need no privilege.
//
// Errors are *os.SyscallError values named "futex" wrapping the errno, and
// Wait reports every outcome other than a wake-up as such: EAGAIN when the
// word did not hold the expected value, ETIMEDOUT when the timeout passed,
// EINTR when a signal interrupted the wait. Callers decide what each
// means, which usually is to look at the word again; a wait can also
// return nil without a wake-up meant for it (a spurious wake-up). The
// errors for these three are allocated once, so that a caller looping on
// them does not allocate.
//
// The tests wait and wake within the test process, on a shared anonymous
// mapping.
package futex
