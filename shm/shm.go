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

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/irq"
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
	// BusyPoll is how many times Send and Recv retry a full or empty ring,
	// yielding the processor between retries, before they sleep (default
	// 0: sleep at once; negative is 0).
	BusyPoll int
	// Name names the channel in errors (default "shm").
	Name string
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
	return r
}

// Layout of the memfd: a header page, then the ring the creator produces
// into, then the ring the attacher produces into, each starting on a
// 4096-byte boundary (a constant, not the page size, so that processes
// agree on it). The header's words are little-endian; the sleeper counters
// sit on cache lines of their own.
//
//	offset  size  field
//	     0     4  magic      "IPCS" (0x53435049)
//	     4     4  version    1
//	     8     4  slots      of each ring
//	    12     4  slot size  of each ring
//	    64     4  sleepers   callers of the creator's side asleep, or about to be
//	   128     4  sleepers   callers of the attacher's side asleep, or about to be
//	  4096        ring 0     creator to attacher
//	4096+R        ring 1     attacher to creator (R: ring size rounded up to 4096)
const (
	hdrMagic    = 0x53435049
	hdrVersion  = 1
	offMagic    = 0
	offVersion  = 4
	offSlots    = 8
	offSlotSize = 12
	offSleepers = 64 // + 64 * side
	ringAlign   = 4096
)

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

	// mu is read-held by every access to the mapping; Close write-locks
	// it before unmapping. mem is nil once unmapped.
	mu     sync.RWMutex
	mem    []byte
	self   *uint32 // this side's sleeper counter (shared)
	peer   *uint32 // the peer's sleeper counter (shared)
	txRing *dmaring.SPSC
	rxRing *dmaring.SPSC

	sendMu sync.Mutex // serializes tx, a single-producer handle
	tx     *dmaring.SPSCProducer
	recvMu sync.Mutex // serializes rx, a single-consumer handle
	rx     *dmaring.SPSCConsumer

	wake *irq.Eventfd // signalled by the peer to wake this side
	kick *irq.Eventfd // signalled to wake the peer

	sysChannel // per system: the memfd, the pidfd watch

	closed   atomic.Bool
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
	c.maxMsg = c.txRing.MaxMessage()
	c.tx = c.txRing.Producer()
	c.rx = c.rxRing.Consumer()
	c.done = make(chan struct{})
	c.bcast = make(chan struct{})
	c.pumpDone = make(chan struct{})
	go c.pump()
}

// pump wakes the local sleepers each time the peer signals, until Close
// closes the eventfd.
func (c *Channel) pump() {
	defer close(c.pumpDone)
	for {
		_, err := c.wake.Wait(context.Background())
		c.broadcast()
		if err != nil {
			return
		}
	}
}

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
// mailbox.ErrBroken, ErrPeerExited or os.ErrClosed.
func (c *Channel) TrySend(msg []byte) error {
	if err := c.trySend(msg, false); err != nil {
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
	return c.block(ctx, "send", mailbox.ErrFull, func(armed bool) (int, error) {
		return 0, c.trySend(msg, armed)
	})
}

// TryRecv copies the next message into buf and returns its length, or
// fails with an error wrapping mailbox.ErrEmpty, io.ErrShortBuffer (the
// message stays queued), mailbox.ErrBroken, ErrPeerExited (nothing left
// from an exited peer) or os.ErrClosed.
func (c *Channel) TryRecv(buf []byte) (int, error) {
	n, err := c.tryRecv(buf, false)
	if err != nil {
		return n, c.err("recv", err)
	}
	return n, nil
}

// Recv is TryRecv that waits for a message as Send waits for a slot.
func (c *Channel) Recv(ctx context.Context, buf []byte) (int, error) {
	return c.blockN(ctx, "recv", mailbox.ErrEmpty, func(armed bool) (int, error) {
		return c.tryRecv(buf, armed)
	})
}

func (c *Channel) block(ctx context.Context, op string, again error, try func(armed bool) (int, error)) error {
	_, err := c.blockN(ctx, op, again, try)
	return err
}

// blockN runs try until it returns something other than again: busy
// polling first, then with this side's sleeper counter raised (armed),
// sleeping between tries until the peer signals.
func (c *Channel) blockN(ctx context.Context, op string, again error, try func(armed bool) (int, error)) (int, error) {
	if ctx.Err() != nil {
		return 0, c.err(op, mailbox.CtxErr(ctx))
	}
	for i := 0; ; i++ {
		n, err := try(false)
		if err != again {
			if err != nil {
				return n, c.err(op, err)
			}
			return n, nil
		}
		if i >= c.busyPoll {
			break
		}
		runtime.Gosched()
	}
	for {
		// Take the wait channel before the armed try: a wake-up after
		// that try closes this channel or a later one, after this one.
		ch := c.waitChan()
		n, err := try(true)
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

// disarm lowers the sleeper counter an armed try raised.
func (c *Channel) disarm() {
	c.mu.RLock()
	if c.mem != nil {
		atomic.AddUint32(c.self, ^uint32(0))
	}
	c.mu.RUnlock()
}

// trySend enqueues msg. When armed and the ring is full, it leaves the
// sleeper counter raised for the caller's sleep; otherwise it leaves it
// as it found it.
func (c *Channel) trySend(msg []byte, armed bool) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mem == nil || c.closed.Load() {
		return os.ErrClosed
	}
	if armed {
		atomic.AddUint32(c.self, 1)
	}
	c.sendMu.Lock()
	err := c.tx.Enqueue(msg)
	c.sendMu.Unlock()
	if err == nil {
		c.kickPeer()
	}
	if err == mailbox.ErrFull && c.peerGone.Load() {
		err = errPeerExited()
	}
	if armed && err != mailbox.ErrFull {
		atomic.AddUint32(c.self, ^uint32(0))
	}
	return err
}

// tryRecv dequeues into buf, with the sleeper counter as in trySend.
func (c *Channel) tryRecv(buf []byte, armed bool) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mem == nil || c.closed.Load() {
		return 0, os.ErrClosed
	}
	if armed {
		atomic.AddUint32(c.self, 1)
	}
	c.recvMu.Lock()
	n, err := c.rx.Dequeue(buf)
	c.recvMu.Unlock()
	if err == nil {
		c.kickPeer()
	}
	if err == mailbox.ErrEmpty && c.peerGone.Load() {
		err = errPeerExited()
	}
	if armed && err != mailbox.ErrEmpty {
		atomic.AddUint32(c.self, ^uint32(0))
	}
	return n, err
}

// kickPeer signals the peer's eventfd when one of its callers may be
// asleep. Called with mu read-held, after the ring operation: the
// sequentially consistent store of the ring's stamp comes before this
// load, as the sleeper's counter increment comes before its ring check.
func (c *Channel) kickPeer() {
	if atomic.LoadUint32(c.peer) != 0 {
		_ = c.kick.Signal() // fails only once closed
	}
}

func errPeerExited() error {
	return fmt.Errorf("%w (%w)", ErrPeerExited, mailbox.ErrBroken)
}

// Close wakes every blocked Send and Recv with os.ErrClosed, unmaps the
// memory and closes the descriptors. The peer is not told; it sees a
// channel that stays empty (and full). Close is idempotent and safe on a
// nil *Channel.
func (c *Channel) Close() error {
	if c == nil {
		return nil
	}
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.done)
		c.mu.Lock()
		err := c.release() // unmaps, closes the memfd, stops the watch
		c.mem = nil
		c.mu.Unlock()
		err = errors.Join(err, c.wake.Close(), c.kick.Close())
		<-c.pumpDone
		if err != nil {
			c.closeErr = c.err("close", err)
		}
	})
	return c.closeErr
}
