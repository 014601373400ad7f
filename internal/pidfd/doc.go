// Package pidfd watches a process through a pidfd (pidfd_open, Linux 5.3):
// a descriptor that names the process itself, unlike a PID, which the
// kernel reuses and which differs from one PID namespace to another. The
// transports use it to learn that a peer died without closing its end.
//
// Watch polls the pidfd in the Go runtime's poller, where it reads
// readable once the process has exited; no thread waits for it.
package pidfd
