// Package irq delivers a device's interrupts to a userspace driver.
//
// Under Linux a userspace driver sees an interrupt as a file descriptor
// that becomes readable: an eventfd that VFIO signals for an MSI or INTx
// vector, the eventfd of a fakedev core, a UIO device node. A Source wraps
// one such line:
//
//   - Eventfd is a Source over an eventfd, owned (NewEventfd) or borrowed
//     (FromEventfd). Wait blocks without spinning until the line fires,
//     the context is done or the Source is closed; Signal fires it from
//     software.
//   - Loop serves many Sources from one goroutine: one epoll descriptor
//     for all of them, a Handler per Source, and optional busy polling
//     (LoopOptions.BusyPoll) that trades a core for wake-up latency.
//
// Both block the way the standard library's network I/O does: the waiting
// goroutine parks in the Go runtime's netpoller (through the RawConn of an
// *os.File on the eventfd or the epoll descriptor) and holds neither an OS
// thread nor a P, the scheduler's processor. An interrupt wakes it through
// the runtime's own epoll, and the goroutines it then wakes run at once,
// whatever GOMAXPROCS. (Blocking in a raw system call would hold the P
// until the runtime's monitor took it back, 20µs to 10ms later, and delay
// every goroutine queued behind it.) Conversely, goroutines parked in the
// netpoller are woken by an idle P: when every P is busy, by the runtime's
// poll every 10ms at worst, as network I/O is.
//
// Every blocking call takes a context. A missed deadline is an *Error
// wrapping os.ErrDeadlineExceeded, for which errors.Is also reports
// context.DeadlineExceeded; a cancellation wraps ctx.Err(); Close wakes
// every waiter with an error wrapping os.ErrClosed.
//
// # Counting
//
// An eventfd is a counter: each interrupt adds 1 and a read takes the whole
// count. Wait therefore returns "at least one interrupt", and a count above
// 1 means interrupts were merged before the driver saw them (Stats.Missed).
// The count is never a number of device events: the device's status
// registers are.
//
// # The handler pattern
//
// A notification is an edge. The reference block (docs/ipcu.md 6.3) sends
// one when its IRQ line rises and when the driver writes IRQ_EOI while the
// line is still high, and none for an event that arrives while the line is
// already high. A handler that trusted the notification alone would lose
// such an event. This pattern never does:
//
//	for {
//		if _, err := src.Wait(ctx); err != nil {
//			return err
//		}
//		st := dev.CORE[k].IRQ_MSTATUS.Read() // 1. what is pending
//		if st == 0 {
//			src.Spurious() // nothing: count it and re-arm anyway
//		}
//		handle(st)                  // 2. read details, acknowledge (W1C, pop), process
//		dev.CORE[k].IRQ_EOI.Write(1) // 3. re-arm: a notification now if anything is still pending
//		src.Ack()                   // 4. for lines the kernel masks (UIO, VFIO INTx)
//	}
//
// Anything that arrives after the status read of step 1 either keeps the
// line high, so that the end-of-interrupt of step 3 produces a new
// notification, or raises it again after step 3, which produces one too;
// the next Wait sees it either way. A Loop Handler runs steps 1 to 4.
//
// # Requirements
//
// Linux with eventfd(2) and epoll(7), which every kernel this project
// supports has; no privileges. Other systems build the package, and every
// constructor there fails with an error wrapping ErrNotSupported.
//
// The netpoller needs non-blocking descriptors: FromEventfd sets
// O_NONBLOCK on an eventfd that lacks it, which its owner sees too (the
// flag belongs to the open file description). Each Eventfd that has
// blocked holds one more descriptor, a duplicate of its eventfd, and one
// more for each Wait that blocked while others were blocked; a Loop holds
// two. A Wait that finds a count pending allocates nothing, nor does a
// blocking one with the context of the previous blocking Wait (see
// Eventfd.Wait).
//
// # Tests
//
// The tests use eventfds only, so they run unprivileged, under -race, in
// well under a few seconds: counting and Stats, blocking and waking,
// deadlines, cancellation, Close, descriptor ownership, concurrent Waits,
// the Loop in both modes, that a blocked Wait holds no P (with
// GOMAXPROCS=1, through the runtime's count of goroutines in system calls),
// and the handler pattern against fakedev, the model of the reference
// block, with messages that arrive while the handler runs. TestMain fails
// the binary on a leaked descriptor. The benchmarks
// measure a Signal-Wait round trip (no allocation) and cross-goroutine
// ping-pong latency with a blocking Wait, a Loop, and a busy-polling Loop.
package irq
