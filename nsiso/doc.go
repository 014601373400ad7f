// Package nsiso makes namespace-isolated domains: the software analogue of
// the IPC block's access control, where a peer reaches only the channels it
// was handed.
//
// # What a domain is
//
// A Domain (New, Do) is one locked OS thread of this process moved into
// fresh IPC, network and mount namespaces. In the mount namespace / is made
// recursively private, so nothing mounted there propagates to the host, and
// a fresh tmpfs is mounted on /dev/shm (and on /tmp if asked), so POSIX
// shared-memory objects are the domain's own. Code that runs on that thread
// (the function given to Run, not the goroutines it starts) sees:
//
//   - SysV message queues, semaphores and shared-memory segments, and POSIX
//     message queues, of its own IPC namespace only;
//   - a network namespace with only the loopback interface, down;
//   - its own /dev/shm (and /tmp), and the host's other mounts.
//
// A Cmd (Command, Reexec) is a child process started in new IPC, network,
// mount, PID and UTS namespaces that inherits only the descriptors granted
// to it (Grant), as fds 3, 4, ... A Go child calls Init first thing in
// main (or TestMain); Init makes its mounts private, mounts fresh tmpfs on
// /dev/shm and /tmp and a fresh proc on /proc (showing the child's PID
// namespace only, so /proc/<pid>/fd/<n> of a host process cannot be opened),
// and closes any inherited descriptor that was not granted.
//
// # What it does not do
//
// It is isolation for correctness, not a security sandbox: there is no user
// namespace, no seccomp filter, no capability drop, and code running as root
// in a domain can undo all of it (setns back to the host's namespaces,
// mount the host's /dev/shm again). Within the process a Domain isolates
// name lookups, not memory or descriptors: the file descriptor table is
// shared by all threads, so a descriptor opened in a domain is usable
// outside it, and the reverse. The host's filesystem stays visible apart
// from the remounted directories, and so does /sys. A child started with
// Command that does not call Init (any non-Go program) gets the namespaces
// but sees the host's /dev/shm, /tmp and /proc through its copy of the
// mount tree, and keeps any descriptor it inherited without O_CLOEXEC;
// what it mounts stays in its namespace all the same (Start makes the
// child's / recursively private before exec).
//
// # Requirements
//
// Linux with namespaces (CONFIG_IPC_NS, CONFIG_NET_NS, CONFIG_PID_NS,
// CONFIG_UTS_NS) and CAP_SYS_ADMIN in the initial user namespace, in
// practice root. Without them New, Do and Cmd.Start fail with an *Error
// wrapping ErrNotSupported that says why; on other systems every entry
// point returns ErrNotSupported. Supported probes by making a domain.
//
// # Threads
//
// unshare(2) changes the namespaces of the calling thread only. A Domain's
// goroutine calls runtime.LockOSThread and never unlocks: a goroutine that
// exits while locked makes the Go runtime terminate its thread, so a thread
// whose namespaces were changed never returns to the pool where other
// goroutines would run on it. (If the goroutine starts on the main thread,
// which the runtime would keep rather than terminate, it hands over to
// another thread before changing anything.) The runtime creates new threads
// from a clean template thread when the creating thread is locked, so the
// domain's state does not spread to them. unshare(CLONE_NEWNS) works from
// one thread of a multi-threaded process; it implies CLONE_FS, so the
// domain's thread also gets its own current directory, root and umask: a
// later os.Chdir elsewhere in the program does not reach it, and relative
// paths in a domain resolve against the directory current when it was made.
// /proc/self names the process (its main thread); use /proc/thread-self to
// look at the domain's thread.
//
// # Tests
//
// The tests prove the isolation by trying to cross it: IPC objects and
// /dev/shm files made in one domain are looked up from another domain and
// from the host, a child's descriptor table and /proc are listed, and a
// shared-memory channel (package shm) granted to a namespaced child carries
// messages while an ungranted one cannot be reached. They need root and are
// gated through internal/testenv: skipped on a laptop, failures under
// IPCU_REQUIRE_ALL=1 as in CI.
package nsiso
