package dmaring

import (
	"errors"
	"io"

	"github.com/ipcu/ipcu/mailbox"
)

// Errors of the rings, for errors.Is. The operations return them directly
// or, for ErrBroken and ErrLayout, wrapped with what was found. ErrFull,
// ErrEmpty, ErrTooLarge and ErrBroken are mailbox's, so that a transport
// built on a ring passes them through and callers test one set of errors.
var (
	// ErrFull: no free slot now (Enqueue); retry later.
	ErrFull = mailbox.ErrFull
	// ErrEmpty: no message now (Dequeue); retry later.
	ErrEmpty = mailbox.ErrEmpty
	// ErrTooLarge: the message is longer than the ring's MaxMessage.
	ErrTooLarge = mailbox.ErrTooLarge
	// ErrBroken: the shared memory holds a value no correct peer writes (a
	// slot stamp, a length, an index), or a peer marked the ring broken.
	// A broken ring stays broken: every later operation returns an error
	// wrapping ErrBroken.
	ErrBroken = mailbox.ErrBroken
	// ErrLayout: Init's arguments or the header Attach found do not
	// describe a ring of this kind and version that fits the memory.
	ErrLayout = errors.New("invalid ring layout")
	// ErrShortBuffer is io.ErrShortBuffer: the buffer given to Dequeue is
	// shorter than the next message, which stays in the ring.
	ErrShortBuffer = io.ErrShortBuffer
)
