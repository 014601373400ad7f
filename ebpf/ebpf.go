package ebpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcu/ipcu/internal/spin"
	"github.com/ipcu/ipcu/mailbox"
)

// Errors of this package, for errors.Is, besides mailbox's.
var (
	// ErrNotSupported: the system cannot make or open the channel: not
	// Linux, no bpffs mounted at the directory, no privilege to use
	// bpf(2) (CAP_BPF), or a kernel without the map type. The error
	// wrapping it says which.
	ErrNotSupported = errors.New("eBPF-map channels are not supported")
	// ErrPeerExited: the process watched with WatchProcess exited and no
	// message is left to receive (or no room will ever be made). Errors
	// wrapping it wrap mailbox.ErrBroken too.
	ErrPeerExited = errors.New("peer process exited")
	// ErrLayout: the pin directory does not hold a channel this package
	// made (missing pins, wrong map types or shapes, a bad header).
	ErrLayout = errors.New("invalid eBPF-map channel")
)

// Error is the error of Probe, Create and Open: Op names the step
// ("probe", "create", "open") and Err is the cause, which errors.Is and
// errors.As reach through Unwrap. Channel operations return
// *mailbox.Error instead.
type Error struct {
	// Op is the operation that failed.
	Op string
	// Dir is the pin directory, if any.
	Dir string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Dir == "" {
		return "ebpf: " + e.Op + ": " + e.Err.Error()
	}
	return "ebpf: " + e.Op + " " + e.Dir + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Flavour selects the maps a channel is made of.
type Flavour int

const (
	// Queue: two BPF_MAP_TYPE_QUEUE maps, one per direction. Each value
	// is a 4-byte little-endian length and MaxMessage bytes of payload;
	// the kernel copies every message in and out (one bpf(2) call per
	// message), and a map holds at most Depth messages.
	Queue Flavour = iota
	// MmapArray: two BPF_F_MMAPABLE array maps, one per direction, each
	// mapped by both endpoints and holding a dmaring SPSC ring: messages
	// are copied through shared memory without system calls.
	MmapArray
)

func (f Flavour) String() string {
	switch f {
	case Queue:
		return "queue"
	case MmapArray:
		return "mmap-array"
	}
	return fmt.Sprintf("Flavour(%d)", int(f))
}

// Side says which endpoint of a channel Open returns.
type Side int

const (
	// Opener is the peer of the endpoint Create returns: it receives what
	// the creator sends, and the other way. It is the default.
	Opener Side = iota
	// Creator is the endpoint Create returns, reopened: for a restarted
	// creator of a channel made with Persist. It owns the pins as the
	// original did.
	Creator
)

// Limits bound what Open accepts from the pins it finds, so that a
// channel made by someone else cannot make the caller map or allocate
// more than it planned for. Zero fields are unlimited.
type Limits struct {
	// Depth is the most messages a direction may hold.
	Depth int
	// Message is the largest message size in bytes.
	Message int
	// Memory is the most bytes of map memory both directions may use
	// (values or ring memory, as the kernel allocates it).
	Memory int64
}

// Options describe a channel. The zero value (or a nil *Options) is the
// default. Open reads the flavour and the shape from the pinned maps, so
// Depth, MaxMessage, Flavour and Mode are the creator's alone; Side,
// Limits, BusyPoll, Name and (for the creator) Persist are each
// endpoint's own.
type Options struct {
	// Flavour selects the maps (default Queue).
	Flavour Flavour
	// Depth is the number of messages each direction holds (default 64).
	// For MmapArray it must be a power of two from 2 (the ring's slots).
	Depth int
	// MaxMessage is the largest message in bytes (default 240).
	MaxMessage int
	// Mode is the permission of the pins (default 0600), set with chmod
	// after pinning; the kernel checks it when another process opens a
	// pin (BPF_OBJ_GET). The pin directory gets search permission (x) for
	// the classes the mode grants anything to, and nothing else.
	Mode os.FileMode
	// Persist keeps the pins when the creator's endpoint closes, so that
	// the channel, and the messages in it, outlive every process.
	Persist bool
	// Side is the endpoint Open returns (default Opener). Create ignores
	// it.
	Side Side
	// Limits bound the channel Open accepts. Create ignores them.
	Limits Limits
	// BusyPoll is how many times Send and Recv retry a full or empty
	// direction before they sleep (default 0: sleep at once; negative is
	// 0). Between retries they pause the CPU (PAUSE on amd64, YIELD on
	// arm64) and every 64 retries yield the processor to other goroutines
	// and check ctx and Close, so a spinning caller never starves the rest
	// of the process.
	BusyPoll int
	// Name names the channel in errors (default "ebpf:" and the
	// directory).
	Name string
}

// Defaults of Options.
const (
	DefaultDepth      = 64
	DefaultMaxMessage = 240
	DefaultMode       = 0o600
)

// The sleep between retries of a blocked Send or Recv starts at minSleep
// and doubles up to maxSleep: queue maps cannot be waited on, and a futex
// on map memory is refused (see the package documentation).
const (
	minSleep = 10 * time.Microsecond
	maxSleep = time.Millisecond
)

func (o *Options) withDefaults(dir string) Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Depth == 0 {
		r.Depth = DefaultDepth
	}
	if r.MaxMessage == 0 {
		r.MaxMessage = DefaultMaxMessage
	}
	if r.Mode == 0 {
		r.Mode = DefaultMode
	}
	if r.BusyPoll < 0 {
		r.BusyPoll = 0
	}
	if r.Name == "" {
		r.Name = "ebpf:" + dir
	}
	return r
}

// A Channel is one endpoint of a channel over pinned BPF maps. It
// implements mailbox.Channel: what it sends, the other endpoint receives.
// All its methods may be called from several goroutines at once.
type Channel struct {
	name     string
	flavour  Flavour
	busyPoll int
	maxMsg   int
	depth    int

	// mu is read-held by every operation on the maps; Close write-locks
	// it before closing them. released is set under it.
	mu       sync.RWMutex
	released bool

	sendMu sync.Mutex // serializes the sending direction (one producer)
	recvMu sync.Mutex // serializes the receiving direction (one consumer)

	sysChannel // per system: the maps, mappings, rings, pins, watch

	broken   atomic.Pointer[error] // set once the peer broke the channel
	closed   atomic.Bool
	done     chan struct{} // closed by Close
	peerGone atomic.Bool
	gone     chan struct{} // closed when the watched peer exits

	closeOnce sync.Once
	closeErr  error
}

var _ mailbox.Channel = (*Channel)(nil)

func (c *Channel) err(op string, err error) error {
	return &mailbox.Error{Op: op, Channel: c.name, Err: err}
}

// MaxMessage returns the largest message in bytes.
func (c *Channel) MaxMessage() int { return c.maxMsg }

// Depth returns the number of messages each direction holds.
func (c *Channel) Depth() int { return c.depth }

// Flavour returns the channel's flavour.
func (c *Channel) Flavour() Flavour { return c.flavour }

// TrySend queues a copy of msg, or fails with an error wrapping
// mailbox.ErrFull (and a *mailbox.LimitError giving the depth) when the
// direction holds Depth messages, mailbox.ErrTooLarge, mailbox.ErrBroken,
// ErrPeerExited or os.ErrClosed.
func (c *Channel) TrySend(msg []byte) error {
	if err := c.trySend(msg); err != nil {
		return c.err("send", c.fullErr(err))
	}
	return nil
}

// Send queues a copy of msg, waiting for room: first busy-polling
// (Options.BusyPoll), then sleeping with exponential backoff (10µs
// doubling to 1ms) until there is room, ctx is done (mailbox.CtxErr's
// error), the channel is closed (os.ErrClosed) or the watched peer exits
// (ErrPeerExited).
func (c *Channel) Send(ctx context.Context, msg []byte) error {
	if len(msg) > c.maxMsg {
		return c.err("send", mailbox.ErrTooLarge)
	}
	if ctx.Err() == nil { // the common case, without block's closure
		if err := c.trySend(msg); err != mailbox.ErrFull {
			if err != nil {
				return c.err("send", err)
			}
			return nil
		}
	}
	_, err := c.block(ctx, "send", mailbox.ErrFull, func() (int, error) {
		return 0, c.trySend(msg)
	})
	return err
}

// TryRecv copies the next message into buf and returns its length, or
// fails with an error wrapping mailbox.ErrEmpty, io.ErrShortBuffer (the
// message stays queued), mailbox.ErrBroken, ErrPeerExited (nothing left
// from an exited peer) or os.ErrClosed.
func (c *Channel) TryRecv(buf []byte) (int, error) {
	n, err := c.tryRecv(buf)
	if err != nil {
		return n, c.err("recv", err)
	}
	return n, nil
}

// Recv is TryRecv that waits for a message as Send waits for room.
func (c *Channel) Recv(ctx context.Context, buf []byte) (int, error) {
	if ctx.Err() == nil { // the common case, as in Send
		if n, err := c.tryRecv(buf); err != mailbox.ErrEmpty {
			if err != nil {
				return n, c.err("recv", err)
			}
			return n, nil
		}
	}
	return c.block(ctx, "recv", mailbox.ErrEmpty, func() (int, error) {
		return c.tryRecv(buf)
	})
}

// fullErr adds the depth to an ErrFull of TrySend.
func (c *Channel) fullErr(err error) error {
	if err != mailbox.ErrFull {
		return err
	}
	d := int64(c.depth)
	return fmt.Errorf("%w (%w)", mailbox.ErrFull, &mailbox.LimitError{Limit: "queued messages", Max: d, Value: d})
}

// block runs try until it returns something other than again: busy
// polling first (spin.Spinner: a PAUSE between tries, a yield and a look
// at ctx and Close every 64), then sleeping between tries with
// exponential backoff.
func (c *Channel) block(ctx context.Context, op string, again error, try func() (int, error)) (int, error) {
	if ctx.Err() != nil {
		return 0, c.err(op, mailbox.CtxErr(ctx))
	}
	delay := minSleep
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	sp := spin.Spinner{Budget: c.busyPoll}
	for {
		n, err := try()
		if err != again {
			if err != nil {
				return n, c.err(op, err)
			}
			return n, nil
		}
		if c.busyPoll > 0 && sp.Spin() {
			if sp.Spins()%spin.DefaultYieldEvery == 0 {
				select {
				case <-c.done:
					return 0, c.err(op, os.ErrClosed)
				case <-ctx.Done():
					return 0, c.err(op, mailbox.CtxErr(ctx))
				default:
				}
			}
			continue
		}
		if delay < shortSleepMax {
			// Below the runtime timers' resolution: sleep this thread.
			shortSleep(delay)
			select {
			case <-c.done:
				return 0, c.err(op, os.ErrClosed)
			case <-ctx.Done():
				return 0, c.err(op, mailbox.CtxErr(ctx))
			default:
			}
		} else {
			if timer == nil {
				timer = time.NewTimer(delay)
			} else {
				timer.Reset(delay)
			}
			select {
			case <-timer.C:
			case <-c.gone: // the next try reports it, once nothing is left
			case <-c.done:
				return 0, c.err(op, os.ErrClosed)
			case <-ctx.Done():
				return 0, c.err(op, mailbox.CtxErr(ctx))
			}
		}
		delay = min(2*delay, maxSleep)
	}
}

// setBroken records that the peer broke the channel and returns the error
// every later operation returns.
func (c *Channel) setBroken(err error) error {
	c.broken.CompareAndSwap(nil, &err)
	return *c.broken.Load()
}

func (c *Channel) brokenErr() error {
	if p := c.broken.Load(); p != nil {
		return *p
	}
	return nil
}

func errPeerExited() error {
	return fmt.Errorf("%w (%w)", ErrPeerExited, mailbox.ErrBroken)
}

// Close wakes every blocked Send and Recv with os.ErrClosed and releases
// the maps and mappings. The creator's endpoint (Create's, or Open's with
// Side Creator) also removes the pins and the pin directory, unless
// Options.Persist; messages still queued go with them. The peer is not
// told. Close is idempotent and safe on a nil *Channel.
func (c *Channel) Close() error {
	if c == nil {
		return nil
	}
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.done)
		c.mu.Lock()
		err := c.release()
		c.released = true
		c.mu.Unlock()
		if err != nil {
			c.closeErr = c.err("close", err)
		}
	})
	return c.closeErr
}
