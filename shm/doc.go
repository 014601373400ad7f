// Package shm is a software transport for mailbox.Channel: two endpoints,
// in one process or in two, exchanging messages through shared memory.
//
// The memory is a memfd holding a small header and two dmaring SPSC rings,
// one per direction. The creator formats it with Create; the peer receives
// its descriptors (the memfd and two eventfds, from Channel.Files, for
// instance through exec.Cmd.ExtraFiles) and attaches with FromFiles.
// NewPair does both in one process, each endpoint mapping the memfd on its
// own, which is how the tests run the mailbox conformance suite.
//
// # Waking up
//
// Send and Recv first retry the ring for Options.BusyPoll rounds, yielding
// the processor between rounds, and then sleep. Each endpoint has an
// eventfd that wakes it, and a counter of sleeping callers in the shared
// header. A caller about to sleep increments its side's counter and then
// checks the ring once more; the peer, after it enqueues or dequeues, reads
// that counter and signals the eventfd when it is not zero. Both are
// sequentially consistent sync/atomic operations, so either the sleeper's
// re-check sees the peer's message (or free slot) or the peer sees the
// sleeper's counter (the store-then-load pattern of Dekker's algorithm):
// no wake-up is lost. One goroutine per endpoint waits on its eventfd and
// wakes every local sleeper, which then retries.
//
// # The peer
//
// The memfd is sealed (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL) before it
// is handed out, and FromFiles refuses a memfd without those seals, so
// neither side can shrink the mapping under the other (which would turn
// accesses into SIGBUS). The rings check every word the peer writes (see
// dmaring.SPSC); a peer that breaks them makes the channel fail with
// mailbox.ErrBroken. A peer that dies leaves the rings looking empty or
// full: WatchProcess ties an endpoint to the peer's process through a
// pidfd, after which Send and Recv fail with ErrPeerExited (also
// mailbox.ErrBroken) once nothing is left to receive, instead of waiting
// for their context.
//
// # Requirements and tests
//
// Linux 5.3 or later (memfd_create with sealing, eventfd, pidfd_open), no
// privileges. On other systems the constructors return an error wrapping
// ErrNotSupported. The tests run the mailbox conformance suite over an
// in-process pair, and exchange messages with a child process (the test
// binary re-executed) that is then killed with SIGKILL mid-stream; TestMain
// checks that no descriptor or mapping leaks.
package shm
