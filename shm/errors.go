package shm

// Error is the error of Create, FromFiles and their kin: Op names the step
// ("create", "attach") and Err is the cause, which errors.Is and errors.As
// reach through Unwrap. Channel operations return *mailbox.Error instead.
type Error struct {
	// Op is the operation that failed.
	Op string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return "shm: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
