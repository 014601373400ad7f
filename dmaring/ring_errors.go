package dmaring

import (
	"errors"
	"io"
)

// Errors of the shared-memory rings (SPSC, MPMC), for errors.Is. The ring
// operations return them directly or, for ErrBroken and ErrLayout, wrapped
// with what was found.
var (
	// ErrFull: no free slot now (Enqueue); retry later.
	ErrFull = errors.New("ring full")
	// ErrEmpty: no message now (Dequeue); retry later.
	ErrEmpty = errors.New("ring empty")
	// ErrTooLarge: the message is longer than the ring's MaxMessage.
	ErrTooLarge = errors.New("message too large")
	// ErrBroken: the shared memory holds a value no correct peer writes (a
	// slot stamp, a length, an index), or a peer marked the ring broken.
	// A broken ring stays broken: every later operation returns an error
	// wrapping ErrBroken.
	ErrBroken = errors.New("ring broken")
	// ErrLayout: Init's arguments or the header Attach found do not
	// describe a ring of this kind and version that fits the memory.
	ErrLayout = errors.New("invalid ring layout")
	// ErrShortBuffer is io.ErrShortBuffer: the buffer given to Dequeue is
	// shorter than the next message, which stays in the ring.
	ErrShortBuffer = io.ErrShortBuffer
)
