// Package mailbox defines Channel, the message channel every ipcu
// transport implements (the reference block's mailboxes in mailbox/ipcu,
// and later shared memory and eBPF maps), and its errors.
//
// A Channel is blocking with deadlines from a context, has non-blocking
// TrySend and TryRecv, and is closed by Close, which wakes blocked calls
// with os.ErrClosed. Errors are *Error values wrapping sentinels that
// errors.Is understands: ErrFull, ErrEmpty, ErrTooLarge, ErrReset,
// ErrBroken, os.ErrPermission, os.ErrDeadlineExceeded, os.ErrClosed,
// io.ErrShortBuffer.
//
// Package mailbox/mailboxtest is the conformance suite that every Channel
// implementation runs.
package mailbox
