// Package ebpf is a software transport for mailbox.Channel over BPF maps
// pinned in a BPF filesystem (bpffs): named, permissioned kernel objects
// that two processes rendezvous on by path, and that outlive a crashed
// peer, with the messages in them.
//
// # Design
//
// A channel is a pin directory holding two maps, one per direction: a2b
// carries what the creator sends, b2a what the other side sends. Create
// makes the maps, pins them in a fresh directory, sets the pins' mode
// (Options.Mode, 0600 by default, with chmod after pinning) and renames
// the directory into place, so that Open never finds half a channel. Open
// attaches from another process (or the same one) by path, reading the
// flavour and the shape from the maps and checking them, and returns the
// creator's peer (or, with Options.Side Creator, the creator's side again).
// Each direction has one sender and one receiver endpoint at a time; an
// endpoint serializes its own callers.
//
// There are two flavours:
//
//   - Queue: two BPF_MAP_TYPE_QUEUE maps. A value is a 4-byte
//     little-endian length and MaxMessage bytes of payload; the queue
//     holds Depth (max_entries) values, and pushing into a full queue
//     (E2BIG) is mailbox.ErrFull. Every message costs a bpf(2) call each
//     way; the kernel copies it in and out, so no memory is shared with
//     the peer. A receive into a buffer shorter than MaxMessage peeks
//     first (BPF_MAP_LOOKUP_ELEM), so that a message too long for the
//     buffer stays queued.
//   - MmapArray: two BPF_F_MMAPABLE array maps, each mapped by both
//     endpoints and holding a 64-byte header (magic, version, message
//     size, depth) and a dmaring SPSC ring. Messages cross through shared
//     memory without system calls; the ring validates everything the peer
//     writes (see dmaring.SPSC), and a peer that breaks it makes the
//     channel fail with mailbox.ErrBroken.
//
// # Waking up
//
// Neither flavour can be waited on: a queue map has no wait queue that
// user space can sleep on, and a futex on mmapped map memory is refused
// by the kernel (FUTEX_WAIT and FUTEX_WAKE fail with EFAULT, for shared
// futexes: the map's pages are vmalloc pages without a file mapping to key
// the futex on; TestFutexOnMapMemory checks this, and fails should a
// kernel accept it). So Send and Recv retry Options.BusyPoll times,
// pausing the CPU between retries and yielding the processor every 64
// (internal/spin, as shm's channels do), and then sleep with exponential
// backoff, from 10µs doubling to 1ms, until they succeed, their context
// is done, the channel is closed (Close wakes them with os.ErrClosed) or
// a watched peer exits. The cost is latency after idle (up to about a
// millisecond, plus the kernel's timer slack) and a wake-up per
// millisecond per blocked call; busy-poll when latency matters.
//
// # Persistence and crashed peers
//
// The pins hold the maps, so the messages in a channel survive the death
// of either process: a receiver that crashes and Opens again gets every
// message not yet consumed, in order, none twice, and a restarted sender
// carries on after the last message its predecessor queued. A queue
// map's push and pop are atomic in the kernel; an MmapArray ring keeps
// both sides' positions in the ring memory, and an endpoint that attaches
// resumes from them (repairing a position its predecessor was killed
// before publishing). The creator's endpoint owns the pins: its Close
// removes them and the directory, and the messages with them, unless
// Options.Persist, which keeps them for a later Open. The other side's
// Close never removes them. A dead peer looks like a slow one to the
// maps; WatchProcess ties an endpoint to the peer's process through a
// pidfd, after which a Recv on an empty channel (or a Send on a full one)
// fails with ErrPeerExited, also mailbox.ErrBroken, instead of waiting.
//
// # Limits and permissions
//
// Limits are per channel: Depth messages per direction (a TrySend beyond
// it is mailbox.ErrFull, with a *mailbox.LimitError giving the depth) and
// MaxMessage bytes per message (longer is mailbox.ErrTooLarge). A flooding
// sender fills its own channel and no other. Open refuses a channel whose
// maps exceed the caller's Options.Limits (depth, message size, memory)
// with an error wrapping mailbox.ErrLimit. The kernel checks a pin's mode
// and owner as a file's when a process opens it (BPF_OBJ_GET), so with
// the default 0600 only the creator's uid (or CAP_DAC_OVERRIDE) may open
// a channel: another uid gets an error wrapping os.ErrPermission, even
// with CAP_BPF.
//
// # Requirements and tests
//
// Linux 5.5 or later (queue maps 4.20, mmapable arrays 5.5, pidfd 5.3),
// CAP_BPF (or root) to create and open maps unless unprivileged BPF is
// enabled, and a bpffs mounted where the pins go (mount -t bpf bpf
// /sys/fs/bpf). Probe reports what is missing, and Create and Open return
// an error wrapping ErrNotSupported that says why: not Linux, no bpffs at
// the directory, no privilege (EPERM), or a kernel without the map type.
//
// The tests mount a bpffs of their own and skip without root or BPF
// (failing instead under IPCU_REQUIRE_ALL=1). They run the mailbox
// conformance suite on both flavours in one process and across two (the
// test binary re-executed as the peer), kill a sender and a receiver with
// SIGKILL mid-stream and count every message, open pins as another uid
// with CAP_BPF, flood one channel while another delivers, and check that
// no pin, descriptor or mapping is left. BenchmarkRoundTrip compares both
// flavours with package shm and a POSIX message queue.
package ebpf
