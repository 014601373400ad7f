package irq

import (
	"context"
	"errors"
	"os"
)

// Error is the error of an operation on a Source or a Loop: Op names the
// operation ("wait", "read", "signal", "add", "run", ...) and Err is the
// cause, which errors.Is and errors.As reach through Unwrap.
//
// The causes are:
//   - os.ErrClosed after Close;
//   - os.ErrDeadlineExceeded when the context's deadline passed (Is also
//     reports true for context.DeadlineExceeded, so either test works);
//   - context.Canceled, or the context's other error, when it was cancelled;
//   - an error wrapping ErrNotSupported on systems without eventfd and epoll;
//   - an *os.SyscallError holding the errno of a failed system call
//     (errors.Is(err, os.ErrPermission) works for EPERM and EACCES).
type Error struct {
	// Op is the operation that failed.
	Op string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return "irq: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether e matches target beyond its cause: a missed deadline
// (os.ErrDeadlineExceeded) is also context.DeadlineExceeded.
func (e *Error) Is(target error) bool {
	return target == context.DeadlineExceeded && errors.Is(e.Err, os.ErrDeadlineExceeded)
}

// Timeout reports whether the error is a missed deadline, as net.Error does.
func (e *Error) Timeout() bool { return errors.Is(e.Err, os.ErrDeadlineExceeded) }

// errClosed is the error of op on a closed Source or Loop.
func errClosed(op string) error { return &Error{Op: op, Err: os.ErrClosed} }

// ctxError is the error of op when ctx is done with err: a missed
// deadline becomes os.ErrDeadlineExceeded, anything else stays as it is.
func ctxError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		err = os.ErrDeadlineExceeded
	}
	return &Error{Op: op, Err: err}
}
