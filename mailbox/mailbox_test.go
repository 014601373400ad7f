package mailbox

import (
	"errors"
	"testing"

	"github.com/ipcu/ipcu/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestLimitError(t *testing.T) {
	var err error = &Error{Op: "send", Channel: "c", Err: &LimitError{Limit: "queued messages", Max: 4, Value: 5}}
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("%v is not ErrLimit", err)
	}
	var le *LimitError
	if !errors.As(err, &le) || le.Max != 4 || le.Value != 5 {
		t.Fatalf("errors.As(%v) = %+v", err, le)
	}
	if got, want := err.Error(), "send c: limit exceeded: queued messages 5, at most 4"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
