//go:build !linux

package irq_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ipcu/ipcu/irq"
)

func TestNotSupported(t *testing.T) {
	_, err := irq.NewEventfd()
	assert.ErrorIs(t, err, irq.ErrNotSupported)
	_, err = irq.FromEventfd(3, false)
	assert.ErrorIs(t, err, irq.ErrNotSupported)
	_, err = irq.NewLoop(nil)
	assert.ErrorIs(t, err, irq.ErrNotSupported)
	var e irq.Eventfd
	_, err = e.Wait(context.Background())
	assert.ErrorIs(t, err, irq.ErrNotSupported)
}
