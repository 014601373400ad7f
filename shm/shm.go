package shm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/internal/spin"
	"github.com/ipcu/ipcu/mailbox"
)

// Errors of this package, for errors.Is, besides mailbox's.
var (
	// ErrNotSupported: the system lacks memfd, eventfd or pidfd.
	ErrNotSupported = errors.New("shared-memory channels are not supported")
	// ErrPeerExited: the process watched with WatchProcess exited and no
	// message is left to receive. Errors wrapping it wrap
	// mailbox.ErrBroken too.
	ErrPeerExited = errors.New("peer process exited")
	// ErrLayout: the memfd given to FromFiles is not a channel made by
	// Create (wrong size, header or seals).
	ErrLayout = errors.New("invalid shared-memory channel")
	// ErrPeerClosed: the peer closed its endpoint. Send fails with it at
	// once; Recv once nothing is left to receive.
	ErrPeerClosed = errors.New("peer closed the channel")
	// ErrInUse: the channel already has an attached peer; a channel joins
	// two endpoints, once.
	ErrInUse = errors.New("channel already attached")
	// ErrUntrusted: a named object is not one this process may trust: a
	// symbolic link, not a regular file, owned by another user or open to
	// other users (without Options.AllowOthers).
	ErrUntrusted = errors.New("untrusted shared-memory object")
)

// Options describe a channel. The zero value (or a nil *Options) is the
// default. FromFiles reads Slots and SlotSize from the shared header
// instead, so only the creator's matter for them.
type Options struct {
	// Slots is the number of messages each direction holds, a power of
	// two from 2 (default 64).
	Slots int
	// SlotSize is the size of a ring slot in bytes, a multiple of 8; the
	// largest message is SlotSize minus dmaring.SlotHeaderSize (default
	// 256, for messages up to 240 bytes).
	SlotSize int
	// BusyPoll is how many times Send and Recv retry a full or empty ring
	// before they sleep (default 0: sleep at once; negative is 0). Between
	// retries they pause the CPU (PAUSE on amd64, YIELD on arm64) and
	// every 64 retries yield the processor to other goroutines, so a
	// spinning caller never starves the rest of the process.
	BusyPoll int
	// Wake is how a sleeping endpoint of a memfd channel is woken (named
	// channels always use futexes). FromFiles follows the creator's.
	Wake Wake

	// MPMC makes the rings multi-producer multi-consumer (dmaring.MPMC)
	// instead of SPSC: an endpoint's goroutines send and receive without
	// a lock, and any number of processes may open a named channel, each
	// message going to one of them (a shared work queue). A memfd channel
	// still has one attacher: its eventfd wakes one process.
	MPMC bool

	// Name names the channel in errors (default "shm", or the object's
	// name for CreateNamed and OpenNamed).
	Name string

	// Limits bound the channel an attacher accepts (FromFiles,
	// OpenNamed): the creator chooses the shape, and a shape beyond these
	// limits is refused with a *mailbox.LimitError. The zero value means
	// the defaults of Limits.
	Limits Limits

	// Dir is the directory of named objects (default /dev/shm).
	Dir string
	// Mode is the permission of an object CreateNamed makes (default
	// 0600). A wider mode lets other users open it, and needs
	// AllowOthers on their side.
	Mode os.FileMode
	// AllowOthers makes OpenNamed accept an object owned by another user
	// or open to group or others, which it refuses by default.
	AllowOthers bool
}

// Wake selects how the endpoints of a memfd channel wake each other once
// their busy poll is spent.
type Wake int

// The default is chosen by measurement. A bare futex ping-pong between two
// threads is 20-40% faster than a bare eventfd one on the 2-vCPU test
// machine (BenchmarkWakeup: 35-48 us against 59-62 us a round trip), but
// through the channel it is the other way round: a goroutine waiting in
// the futex system call holds its thread, and once woken must get a P
// back before it can wake the callers, while the eventfd wakes them from
// the runtime's poller. BenchmarkSleepingRoundTrip, four runs: eventfd
// 13-62 us, futex 52-180 us a round trip.
const (
	// WakeEventfd: each side has an eventfd, which Files hands over, and
	// a sleeping endpoint waits for it in the Go runtime's poller, without
	// holding a thread. The default: the faster of the two through the
	// channel, it scales to many channels, and a peer in another language
	// can poll the descriptors.
	WakeEventfd Wake = iota
	// WakeFutex: a futex on a word of the shared header, as named
	// channels use, and Files hands over only the memfd. Each sleeping
	// endpoint holds an OS thread in the futex call.
	WakeFutex
)

// Limits bound what one peer may make this endpoint map and hold: the
// queue depth (slots per direction), the message size and the memory of
// the whole channel. A zero field takes its default.
type Limits struct {
	// MaxSlots is the deepest queue accepted per direction (default 4096).
	MaxSlots int
	// MaxMessage is the largest message accepted (default 64 KiB).
	MaxMessage int
	// MaxMemory is the largest channel accepted, in bytes (default
	// 16 MiB).
	MaxMemory int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxSlots <= 0 {
		l.MaxSlots = 4096
	}
	if l.MaxMessage <= 0 {
		l.MaxMessage = 64 << 10
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = 16 << 20
	}
	return l
}

// check returns a *mailbox.LimitError if the shape goes beyond l.
func (l Limits) check(slots, slotSize, total int) error {
	l = l.withDefaults()
	switch {
	case slots > l.MaxSlots:
		return &mailbox.LimitError{Limit: "queue depth", Max: int64(l.MaxSlots), Value: int64(slots)}
	case slotSize-dmaring.SlotHeaderSize > l.MaxMessage:
		return &mailbox.LimitError{Limit: "message size", Max: int64(l.MaxMessage), Value: int64(slotSize - dmaring.SlotHeaderSize)}
	case int64(total) > l.MaxMemory:
		return &mailbox.LimitError{Limit: "memory", Max: l.MaxMemory, Value: int64(total)}
	}
	return nil
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Slots == 0 {
		r.Slots = 64
	}
	if r.SlotSize == 0 {
		r.SlotSize = 256
	}
	if r.BusyPoll < 0 {
		r.BusyPoll = 0
	}
	if r.Name == "" {
		r.Name = "shm"
	}
	if r.Dir == "" {
		r.Dir = "/dev/shm"
	}
	if r.Mode == 0 {
		r.Mode = 0o600
	}
	return r
}

// Layout of the memfd: a header page, then the ring the creator produces
// into, then the ring the attacher produces into, each starting on a
// 4096-byte boundary (a constant, not the page size, so that processes
// agree on it). The header's words are little-endian; each side's words
// sit on a cache line of their own (side 0 the creator, 1 the attacher).
//
//	offset  size  field
//	     0     4  magic      "IPCS" (0x53435049)
//	     4     4  version    1
//	     8     4  slots      of each ring
//	    12     4  slot size  of each ring
//	    16     4  flags      bit 0: wake-ups through futexes on the wake words;
//	                         bit 1: MPMC rings
//	    20     4  attached   1 once a peer attached (set by the attacher); for
//	                         a named MPMC channel, the number of openers (bits
//	                         0-30) and bit 31, set when the last one left
//	 64+64s     4  sleepers   callers of side s asleep, or about to be
//	 68+64s     4  wake       side s's futex word, incremented to wake it
//	 72+64s     4  closed     1 once side s closed its endpoint
//	  4096        ring 0     creator to attacher
//	4096+R        ring 1     attacher to creator (R: ring size rounded up to 4096)
const (
	hdrMagic    = 0x53435049
	hdrVersion  = 1
	offMagic    = 0
	offVersion  = 4
	offSlots    = 8
	offSlotSize = 12
	offFlags    = 16
	offAttached = 20
	offSleepers = 64 // + 64 * side
	offWake     = 68 // + 64 * side
	offClosed   = 72 // + 64 * side
	ringAlign   = 4096

	flagFutex = 1 << 0
	flagMPMC  = 1 << 1
)

// sideWords are one side's header words.
type sideWords struct {
	sleepers *uint32
	wake     *uint32
	closed   *uint32
}

func wordsOf(mem []byte, side int) sideWords {
	return sideWords{
		sleepers: word(mem, offSleepers+64*side),
		wake:     word(mem, offWake+64*side),
		closed:   word(mem, offClosed+64*side),
	}
}

// txRing and rxRing are the ring operations a Channel uses: SPSC handles,
// which the Channel serializes, or an MPMC ring, which needs no lock.
type txRing interface {
	Enqueue(msg []byte) error
	Pending() int
}

type rxRing interface {
	Dequeue(buf []byte) (int, error)
}

// A waker sleeps until the peer signals, and signals the peer: eventfds
// for channels made by Create, futexes on the wake words for named ones.
type waker interface {
	// wait returns when the peer may have signalled, and an error once
	// the waker is closed.
	wait() error
	// signal wakes the peer's waiter.
	signal() error
	// close makes wait return an error and releases the waker; it is
	// called once, while the memory is still mapped.
	close() error
}

// layoutSize returns the memfd size for the shape, and the size of one
// ring's area.
func layoutSize(slots, slotSize int) (total, area int, err error) {
	rs, err := dmaring.RingSize(slots, slotSize)
	if err != nil {
		return 0, 0, err
	}
	area = (rs + ringAlign - 1) &^ (ringAlign - 1)
	if area <= 0 || area > (math.MaxInt-ringAlign)/2 { // the total must fit an int, 32 bits on ARM
		return 0, 0, fmt.Errorf("%w: %d slots of %d bytes are too large", ErrLayout, slots, slotSize)
	}
	return ringAlign + 2*area, area, nil
}

// A Channel is one endpoint of a shared-memory channel. It implements
// mailbox.Channel: what it sends, the other endpoint receives. All its
// methods may be called from several goroutines at once.
type Channel struct {
	name     string
	busyPoll int
	maxMsg   int

	// mu is read-held by every access to the mapping outside sendMu and
	// recvMu; Close holds all three before unmapping. mem is nil once
	// unmapped.
	mu    sync.RWMutex
	mem   []byte
	self  sideWords // this side's header words (shared)
	peer  sideWords // the peer's header words (shared)
	slots int       // of each ring
	mpmc  bool      // the rings are MPMC: no local locks, several openers

	sendMu sync.Mutex // serializes tx when it is an SPSC producer handle, and then keeps the mapping
	tx     txRing
	recvMu sync.Mutex // serializes rx when it is an SPSC consumer handle, and then keeps the mapping
	rx     rxRing

	waker waker

	sysChannel // per system: the memfd, the pidfd watch

	closed   atomic.Bool
	armed    atomic.Int32  // sleeper counts this endpoint raised (arm)
	done     chan struct{} // closed by Close
	peerGone atomic.Bool

	bmu   sync.Mutex
	bcast chan struct{} // closed, and replaced, at each wake-up

	pumpDone  chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ mailbox.Channel = (*Channel)(nil)

// start finishes a Channel whose mapping, rings and eventfds are set, and
// starts the goroutine that turns eventfd wake-ups into local broadcasts.
func (c *Channel) start(o Options) {
	c.name = o.Name
	c.busyPoll = o.BusyPoll
	c.done = make(chan struct{})
	c.bcast = make(chan struct{})
	c.pumpDone = make(chan struct{})
	go c.pump()
}

// pump wakes the local sleepers each time the peer signals, until Close
// closes the waker.
func (c *Channel) pump() {
	defer close(c.pumpDone)
	for {
		err := c.waker.wait()
		c.broadcast()
		if err == nil {
			continue
		}
		if c.closed.Load() {
			return
		}
		// Not closed: a transient failure (the eventfd waiter's dup
		// of the descriptor fails with EMFILE at the fd limit, say).
		// Stopping would lose every later wake-up; wait again shortly.
		select {
		case <-c.done:
			return
		case <-time.After(pumpRetry):
		}
	}
}

// pumpRetry is how long the pump waits after a failed wait before it
// tries again.
const pumpRetry = time.Millisecond

// broadcast wakes every goroutine waiting on the current wait channel.
func (c *Channel) broadcast() {
	c.bmu.Lock()
	close(c.bcast)
	c.bcast = make(chan struct{})
	c.bmu.Unlock()
}

func (c *Channel) waitChan() <-chan struct{} {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	return c.bcast
}

func (c *Channel) err(op string, err error) error {
	return &mailbox.Error{Op: op, Channel: c.name, Err: err}
}

// MaxMessage returns the largest message in bytes.
func (c *Channel) MaxMessage() int { return c.maxMsg }

// TrySend queues a copy of msg, or fails with an error wrapping
// mailbox.ErrFull when the ring has no free slot, mailbox.ErrTooLarge,
// mailbox.ErrBroken, ErrPeerExited, ErrPeerClosed or os.ErrClosed. The
// ring's slots are this endpoint's quota of queued messages: a full ring
// is also a *mailbox.LimitError (mailbox.ErrLimit) on the queue depth.
func (c *Channel) TrySend(msg []byte) error {
	if err := c.trySend(msg, false, 0); err != nil {
		if err == mailbox.ErrFull {
			n := int64(c.slots)
			err = fmt.Errorf("%w: %w", err, &mailbox.LimitError{Limit: "queue depth", Max: n, Value: n + 1})
		}
		return c.err("send", err)
	}
	return nil
}

// Send queues a copy of msg, waiting for a free slot: first busy-polling
// (Options.BusyPoll), then asleep until the peer frees one, ctx is done
// (mailbox.CtxErr's error), the channel is closed (os.ErrClosed) or the
// watched peer exits (ErrPeerExited).
func (c *Channel) Send(ctx context.Context, msg []byte) error {
	if len(msg) > c.maxMsg {
		return c.err("send", mailbox.ErrTooLarge)
	}
	if ctx.Err() == nil { // the common case, without blockN's closure
		if err := c.trySend(msg, false, 0); err != mailbox.ErrFull {
			if err != nil {
				return c.err("send", err)
			}
			return nil
		}
	}
	return c.block(ctx, "send", mailbox.ErrFull, func(armed bool, spins int) (int, error) {
		return 0, c.trySend(msg, armed, spins)
	})
}

// TryRecv copies the next message into buf and returns its length, or
// fails with an error wrapping mailbox.ErrEmpty, io.ErrShortBuffer (the
// message stays queued), mailbox.ErrBroken, ErrPeerExited (nothing left
// from an exited peer) or os.ErrClosed.
func (c *Channel) TryRecv(buf []byte) (int, error) {
	n, err := c.tryRecv(buf, false, 0)
	if err != nil {
		return n, c.err("recv", err)
	}
	return n, nil
}

// Recv is TryRecv that waits for a message as Send waits for a slot.
func (c *Channel) Recv(ctx context.Context, buf []byte) (int, error) {
	if ctx.Err() == nil { // the common case, as in Send
		if n, err := c.tryRecv(buf, false, 0); err != mailbox.ErrEmpty {
			if err != nil {
				return n, c.err("recv", err)
			}
			return n, nil
		}
	}
	return c.blockN(ctx, "recv", mailbox.ErrEmpty, func(armed bool, spins int) (int, error) {
		return c.tryRecv(buf, armed, spins)
	})
}

func (c *Channel) block(ctx context.Context, op string, again error, try func(armed bool, spins int) (int, error)) error {
	_, err := c.blockN(ctx, op, again, try)
	return err
}

// blockN runs try until it returns something other than again: busy
// polling first, then with this side's sleeper counter raised (armed),
// sleeping between tries until the peer signals.
//
// The busy poll is try's own: a call retries up to spins times, with a
// spin.Pause between tries, under the lock it takes once (a lock and an
// unlock per poll made a poll cost two locked instructions and some
// hundred others, which a peer on the other hyperthread of the core
// pays for). Between calls, blockN yields, as spin.Spinner does every
// spin.DefaultYieldEvery spins, and checks ctx and Close, so the lock is
// held for at most that many pauses (about 2 us) at a time.
func (c *Channel) blockN(ctx context.Context, op string, again error, try func(armed bool, spins int) (int, error)) (int, error) {
	if ctx.Err() != nil {
		return 0, c.err(op, mailbox.CtxErr(ctx))
	}
	for left := max(c.busyPoll, 0); ; {
		k := min(left, spin.DefaultYieldEvery-1)
		n, err := try(false, k)
		if err != again {
			if err != nil {
				return n, c.err(op, err)
			}
			return n, nil
		}
		if left -= k + 1; left < 0 {
			break
		}
		runtime.Gosched() // the spin that yields
		select {          // a long busy poll still ends with ctx or Close
		case <-ctx.Done():
			return 0, c.err(op, mailbox.CtxErr(ctx))
		case <-c.done:
			return 0, c.err(op, os.ErrClosed)
		default:
		}
	}
	for {
		// Take the wait channel before the armed try: a wake-up after
		// that try closes this channel or a later one, after this one.
		ch := c.waitChan()
		n, err := try(true, 0)
		if err != again {
			if err != nil {
				return n, c.err(op, err)
			}
			return n, nil
		}
		select {
		case <-ch:
			c.disarm()
		case <-c.done:
			c.disarm()
			return 0, c.err(op, os.ErrClosed)
		case <-ctx.Done():
			c.disarm()
			return 0, c.err(op, mailbox.CtxErr(ctx))
		}
	}
}

// disarm lowers the sleeper counter an armed try raised. After Close it
// does nothing: Close took back what the endpoint's sleepers had raised.
func (c *Channel) disarm() {
	c.mu.RLock()
	if c.mem != nil {
		c.unarm()
	}
	c.mu.RUnlock()
}

// arm raises this side's sleeper counter in the shared header for a
// caller about to sleep, and unarm lowers it. armed counts what this
// endpoint raised, for Close to take back: the counter is shared, by the
// openers of a named MPMC channel among others, and one left raised would
// make the peer signal at every message from then on. Called with the
// mapping kept (a lock Close takes).
func (c *Channel) arm() {
	atomic.AddUint32(c.self.sleepers, 1)
	c.armed.Add(1)
}

func (c *Channel) unarm() {
	atomic.AddUint32(c.self.sleepers, ^uint32(0))
	c.armed.Add(-1)
}

// trySend enqueues msg, retrying up to spins times while the ring is
// full, with a spin.Pause before each retry. When armed and the ring is
// full, it leaves the sleeper counter raised for the caller's sleep;
// otherwise it leaves it as it found it.
func (c *Channel) trySend(msg []byte, armed bool, spins int) error {
	// No defer, and the lock chosen here rather than in a call: this is
	// the path of every message (sendLocked never panics).
	if c.mpmc {
		c.mu.RLock()
	} else {
		c.sendMu.Lock()
	}
	err := c.sendLocked(msg, armed, spins)
	if c.mpmc {
		c.mu.RUnlock()
	} else {
		c.sendMu.Unlock()
	}
	return err
}

// sendLocked is trySend with the lock held.
func (c *Channel) sendLocked(msg []byte, armed bool, spins int) error {
	if c.mem == nil || c.closed.Load() {
		return os.ErrClosed
	}
	if atomic.LoadUint32(c.peer.closed) != 0 {
		return ErrPeerClosed
	}
	if c.peerGone.Load() {
		return errPeerExited() // nobody will receive it
	}
	if armed {
		c.arm()
	}
	err := c.tx.Enqueue(msg)
	for ; err == mailbox.ErrFull && spins > 0 && !c.closed.Load(); spins-- {
		spin.Pause()
		err = c.tx.Enqueue(msg)
	}
	if err == nil {
		c.kickPeer()
	}
	if err == mailbox.ErrFull {
		if atomic.LoadUint32(c.peer.closed) != 0 {
			err = ErrPeerClosed
		} else if c.peerGone.Load() {
			err = errPeerExited()
		}
	}
	if armed && err != mailbox.ErrFull {
		c.unarm()
	}
	return err
}

// tryRecv dequeues into buf, with spins and the sleeper counter as in
// trySend.
func (c *Channel) tryRecv(buf []byte, armed bool, spins int) (int, error) {
	if c.mpmc {
		c.mu.RLock()
	} else {
		c.recvMu.Lock()
	}
	n, err := c.recvLocked(buf, armed, spins)
	if c.mpmc {
		c.mu.RUnlock()
	} else {
		c.recvMu.Unlock()
	}
	return n, err
}

// recvLocked is tryRecv with the lock held.
func (c *Channel) recvLocked(buf []byte, armed bool, spins int) (int, error) {
	if c.mem == nil || c.closed.Load() {
		return 0, os.ErrClosed
	}
	if armed {
		c.arm()
	}
	n, err := c.rx.Dequeue(buf)
	for ; err == mailbox.ErrEmpty && spins > 0 && !c.closed.Load(); spins-- {
		spin.Pause()
		n, err = c.rx.Dequeue(buf)
	}
	if err == nil {
		c.kickPeer()
	}
	if err == mailbox.ErrEmpty {
		// The peer's closed flag is set after its last message: seen
		// set, the ring is re-read so that nothing is left behind.
		if atomic.LoadUint32(c.peer.closed) != 0 {
			n, err = c.rx.Dequeue(buf)
			if err == mailbox.ErrEmpty {
				err = ErrPeerClosed
			}
		} else if c.peerGone.Load() {
			// The peer may have sent and then exited after the
			// Dequeue above: what it sent comes first.
			n, err = c.rx.Dequeue(buf)
			if err == mailbox.ErrEmpty {
				err = errPeerExited()
			}
		}
	}
	if armed && err != mailbox.ErrEmpty {
		c.unarm()
	}
	return n, err
}

// kickPeer signals the peer's eventfd when one of its callers may be
// asleep. Called with the mapping kept (sendMu or recvMu, or mu
// read-held with MPMC rings), after the ring operation: the
// sequentially consistent store of the ring's stamp comes before this
// load, as the sleeper's counter increment comes before its ring check.
func (c *Channel) kickPeer() {
	if atomic.LoadUint32(c.peer.sleepers) != 0 {
		_ = c.waker.signal() // fails only once closed
	}
}

// Pending returns how many of the messages this endpoint sent the peer
// has not received yet, read from the ring's slots. After the peer
// exited (ErrPeerExited) or closed (ErrPeerClosed), these are the
// messages known undelivered; every other message sent was received.
// With MPMC rings it counts the messages of every sender on this side.
func (c *Channel) Pending() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mem == nil {
		return 0
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.tx.Pending()
}

func errPeerExited() error {
	return fmt.Errorf("%w (%w)", ErrPeerExited, mailbox.ErrBroken)
}

// Close wakes every blocked Send and Recv with os.ErrClosed, tells the
// peer (whose Send then fails with ErrPeerClosed, and whose Recv does
// once it has received what was sent), unmaps the memory and closes the
// descriptors. A channel made by CreateNamed is unlinked. Close is
// idempotent and safe on a nil *Channel.
func (c *Channel) Close() error {
	if c == nil {
		return nil
	}
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.done)
		c.mu.Lock()
		c.sendMu.Lock() // in-flight sends and receives are done
		c.recvMu.Lock()
		// The callers still asleep find the mapping gone when they
		// wake, and do not lower the counter: lower it for them.
		if n := c.armed.Swap(0); n > 0 {
			atomic.AddUint32(c.self.sleepers, -uint32(n))
		}
		c.markClosed()
		_ = c.waker.signal() // the peer is told even if none of its callers sleeps
		err := c.waker.close()
		<-c.pumpDone                        // the pump touches the memory: it stops first
		err = errors.Join(err, c.release()) // unmaps, closes the memfd, stops the watch
		c.mem = nil
		c.recvMu.Unlock()
		c.sendMu.Unlock()
		c.mu.Unlock()
		if err != nil {
			c.closeErr = c.err("close", err)
		}
	})
	return c.closeErr
}
