package mailboxtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/ipcu/ipcu/mailbox"
)

// An error crossing the process boundary matches the same sentinels, and
// no others.
func TestRemoteErrorKinds(t *testing.T) {
	for _, k := range kinds {
		err := (&mailbox.Error{Op: "op", Channel: "c", Err: fmt.Errorf("wrapped: %w", k.err)})
		got := encodeErr(err).decode()
		if got.Error() != "remote: "+err.Error() {
			t.Errorf("text %q, want %q", got.Error(), "remote: "+err.Error())
		}
		for _, other := range kinds {
			if want := errors.Is(err, other.err); errors.Is(got, other.err) != want {
				t.Errorf("%s: errors.Is(remote, %v) = %v, want %v", k.name, other.err, !want, want)
			}
		}
	}
	// A passed deadline is both, and a Timeout.
	got := encodeErr(mailbox.CtxErr(expired())).decode()
	if !errors.Is(got, os.ErrDeadlineExceeded) || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("deadline: %v lost a kind", got)
	}
	var te interface{ Timeout() bool }
	if !errors.As(got, &te) || !te.Timeout() {
		t.Errorf("deadline: %v is not a Timeout", got)
	}
	if encodeErr(nil).decode() != nil {
		t.Error("nil error decoded as non-nil")
	}
	if errors.Is(encodeErr(errors.New("x")).decode(), io.EOF) {
		t.Error("plain error matches io.EOF")
	}
}

func expired() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	cancel()
	<-ctx.Done()
	return ctx
}
