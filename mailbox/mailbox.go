package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// A Channel carries messages between two endpoints: what one endpoint
// sends, the other receives, in order, each message once.
//
// Send and Recv block until they can proceed, the context is done, or the
// channel is closed; TrySend and TryRecv never block. Every method may be
// called from several goroutines at once. Close wakes every blocked call
// with an error wrapping os.ErrClosed.
type Channel interface {
	// Send queues msg, a copy of which the peer receives. It returns an
	// error wrapping ErrTooLarge, without sending, when msg is longer than
	// MaxMessage.
	Send(ctx context.Context, msg []byte) error
	// Recv copies the next message into buf and returns its length. A
	// message longer than buf stays queued and Recv returns an error
	// wrapping io.ErrShortBuffer.
	Recv(ctx context.Context, buf []byte) (int, error)
	// TrySend is Send that returns an error wrapping ErrFull instead of
	// waiting for space.
	TrySend(msg []byte) error
	// TryRecv is Recv that returns an error wrapping ErrEmpty instead of
	// waiting for a message.
	TryRecv(buf []byte) (int, error)
	// MaxMessage returns the largest message in bytes.
	MaxMessage() int
	// Close releases the channel. It is idempotent.
	Close() error
}

// Errors of a Channel, for errors.Is. Operations return an *Error that
// wraps one of them (or os.ErrDeadlineExceeded, os.ErrClosed,
// os.ErrPermission, io.ErrShortBuffer, a context's error).
var (
	// ErrFull: no room for a message now (TrySend).
	ErrFull = errors.New("full")
	// ErrEmpty: no message now (TryRecv).
	ErrEmpty = errors.New("empty")
	// ErrTooLarge: the message is longer than the channel carries.
	ErrTooLarge = errors.New("message too large")
	// ErrReset: the channel was reset under the caller (the block was
	// reset or the mailbox reconfigured); messages in flight are lost.
	ErrReset = errors.New("reset")
	// ErrBroken: the device or peer broke the channel's invariants (it
	// reads as absent, or wrote impossible values); the channel is
	// unusable.
	ErrBroken = errors.New("broken")
	// ErrLimit: the peer, or this endpoint, went beyond a limit the
	// channel sets on it (queued messages, message size, memory); see
	// LimitError. A transport that enforces per-peer limits returns it
	// so that one flooding peer cannot take what other channels need.
	ErrLimit = errors.New("limit exceeded")
	// ErrPermission is os.ErrPermission: the block's access control
	// refused the endpoint.
	ErrPermission = os.ErrPermission
	// ErrTimeout is os.ErrDeadlineExceeded: a deadline passed.
	ErrTimeout = os.ErrDeadlineExceeded
	// ErrClosed is os.ErrClosed: the channel is closed.
	ErrClosed = os.ErrClosed
	// ErrShortBuffer is io.ErrShortBuffer: Recv's buffer is shorter than
	// the message.
	ErrShortBuffer = io.ErrShortBuffer
)

// An Error describes a failed channel operation.
type Error struct {
	Op      string // "send", "recv", "open", ...
	Channel string // the channel's name, e.g. "ipcu mailbox 3"
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Op, e.Channel, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the error is a passed deadline, as net.Error
// does.
func (e *Error) Timeout() bool { return errors.Is(e.Err, os.ErrDeadlineExceeded) }

// A LimitError says which limit was exceeded. It wraps ErrLimit.
type LimitError struct {
	Limit string // what is limited: "queued messages", "message size", "memory", ...
	Max   int64  // the limit
	Value int64  // what was asked or found
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v: %s %d, at most %d", ErrLimit, e.Limit, e.Value, e.Max)
}

// Unwrap returns ErrLimit.
func (e *LimitError) Unwrap() error { return ErrLimit }

// CtxErr returns the error for a done context: one wrapping
// os.ErrDeadlineExceeded (and context.DeadlineExceeded) for a passed
// deadline, ctx.Err() otherwise.
func CtxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return deadlineError{}
	}
	return err
}

// deadlineError is both os.ErrDeadlineExceeded and context.DeadlineExceeded.
type deadlineError struct{}

func (deadlineError) Error() string   { return "deadline exceeded" }
func (deadlineError) Timeout() bool   { return true }
func (deadlineError) Temporary() bool { return true }
func (deadlineError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded || target == context.DeadlineExceeded
}
