// Package shm is a software transport for mailbox.Channel: two endpoints,
// in one process or in two, exchanging messages through shared memory.
//
// The memory holds a small header and two dmaring SPSC rings, one per
// direction. It comes in two kinds:
//
//   - A memfd (Create). The creator formats it; the peer receives its
//     descriptors (the memfd and two eventfds, from Channel.Files, for
//     instance through exec.Cmd.ExtraFiles or SCM_RIGHTS) and attaches
//     with FromFiles. Only a process given the descriptors can reach the
//     channel. NewPair does both in one process.
//   - A named object in /dev/shm (CreateNamed, OpenNamed), for peers that
//     find each other by name. It is created with
//     O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and mode 0600 (exactly, whatever
//     the umask), so a file or symbolic link planted at the name makes
//     CreateNamed fail instead of writing through it. OpenNamed opens with
//     O_NOFOLLOW and refuses (ErrUntrusted) a symbolic link, anything but
//     a regular file, an object owned by another user and one with group
//     or other permissions, unless Options.AllowOthers. The creator
//     removes the name on Close.
//
// A channel joins two endpoints once: a second attacher gets ErrInUse.
// With Options.MPMC the rings are dmaring's MPMC rings instead of SPSC:
// an endpoint's goroutines send and receive without a lock, and a named
// channel takes any number of openers, which share what the creator
// sends as a work queue (each message goes to one of them) and count
// themselves out as they close, the last telling the creator.
//
// # Waking up
//
// Send and Recv first retry the ring for Options.BusyPoll rounds, pausing
// the CPU between rounds (spin.Pause) and yielding the processor every 64,
// and then sleep. The 63 rounds between two yields run under the
// endpoint's lock, taken once (a lock per round cost a peer on the other
// hyperthread of the core a tenth of the round trip); ctx and Close are
// checked at each yield. Each side has a counter of sleeping callers in the
// shared header. A caller about to sleep increments its side's counter
// and then checks the ring once more; the peer, after it enqueues or
// dequeues, reads that counter and signals when it is not zero. Both are
// sequentially consistent sync/atomic operations, so either the sleeper's
// re-check sees the peer's message (or free slot) or the peer sees the
// sleeper's counter (the store-then-load pattern of Dekker's algorithm):
// no wake-up is lost. One goroutine per endpoint waits for the signal and
// wakes every local sleeper, which then retries.
//
// The signal is an eventfd for memfd channels (the Go runtime's poller
// waits on it without holding a thread; chosen by measurement over a
// futex, see Wake) and a futex on a word of the shared header for named
// ones, whose peer has no descriptor to signal.
// Across cores both cost a kernel wake-up of tens of microseconds on the
// test machines, against a fraction of a microsecond for a busy-polled
// message: set BusyPoll when latency matters more than a core.
//
// # Limits and memory
//
// The creator chooses the shape: the number of slots per direction is the
// queue depth a peer may fill (a TrySend into a full ring fails with
// mailbox.ErrFull that is also a *mailbox.LimitError on the queue depth,
// and Send waits, so a flooding peer fills its own ring and nothing
// else), and the slot size bounds messages (mailbox.ErrTooLarge). The
// attacher accepts a shape only within its Options.Limits (queue depth,
// message size, memory), refusing a larger one with a *mailbox.LimitError,
// so a peer cannot make it map more than it agreed to. A receiver clears
// each message's bytes before it frees the slot, so a slot handed back
// holds nothing of an earlier message, and new memory is zero.
//
// # The peer
//
// The memfd is sealed (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL) before it
// is handed out, and FromFiles refuses a memfd without those seals, so
// neither side can shrink the mapping under the other (which would turn
// accesses into SIGBUS). A named object cannot be sealed: whoever can
// open it could shrink it, which is why OpenNamed trusts only objects of
// its own user. The rings check every word the peer writes (see
// dmaring.SPSC); a peer that breaks them makes the channel fail with
// mailbox.ErrBroken, and a header beyond the limits or of the wrong
// layout is refused at attach (ErrLayout, mailbox.ErrLimit).
//
// Close tells the peer: its Send fails at once with ErrPeerClosed, and
// its Recv fails with ErrPeerClosed once it has received everything sent
// before the Close. A peer that dies without closing leaves the rings
// looking empty (and full): WatchProcess ties an endpoint to the peer's
// process through a pidfd, which, unlike a PID, names the process
// unambiguously and across PID namespaces. Once the process exits, Send
// fails with ErrPeerExited (also mailbox.ErrBroken) and Recv does once
// nothing is left to receive; blocked calls wake. Messages a dead or
// closed receiver never took stay undelivered, and Pending counts them:
// every message sent was either received, once, or is counted there. A
// channel ends with either endpoint; a restarted peer makes a new one.
//
// # Requirements and tests
//
// Linux 5.3 or later (memfd_create with sealing, eventfd, futex,
// pidfd_open), no privileges. On other systems the constructors return an
// error wrapping ErrNotSupported. The tests run the mailbox conformance
// suite over in-process pairs and across two processes (the attacher in
// a child process, reached through mailboxtest.StartRemote), for memfd
// and named channels; kill a sender and a receiver with SIGKILL
// mid-stream and count every message; flood one channel while another
// delivers; and, as root, show that a process of another uid can open
// neither a 0600 named channel nor a memfd channel through /proc.
// TestMain checks that no descriptor or mapping leaks.
package shm
