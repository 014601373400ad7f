package irq_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ipcu/ipcu/irq"
)

func TestErrorIs(t *testing.T) {
	deadline := &irq.Error{Op: "wait", Err: os.ErrDeadlineExceeded}
	assert.ErrorIs(t, deadline, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, deadline, context.DeadlineExceeded)
	assert.True(t, deadline.Timeout())
	assert.EqualError(t, deadline, "irq: wait: i/o timeout")

	canceled := &irq.Error{Op: "run", Err: context.Canceled}
	assert.ErrorIs(t, canceled, context.Canceled)
	assert.NotErrorIs(t, canceled, context.DeadlineExceeded)
	assert.NotErrorIs(t, canceled, os.ErrDeadlineExceeded)
	assert.False(t, canceled.Timeout())

	closed := &irq.Error{Op: "wait", Err: os.ErrClosed}
	assert.ErrorIs(t, closed, os.ErrClosed)
	var e *irq.Error
	assert.True(t, errors.As(error(closed), &e))
	assert.Equal(t, "wait", e.Op)
}
