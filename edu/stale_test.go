package edu

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An operation given up on (its context done) leaves its interrupt bit
// pending when the device finishes: the next operation of the same kind
// must not take it for its own (and return an old result, or DMA data not
// yet moved); nor must a bit a caller raised.

func TestStaleFactorialInterrupt(t *testing.T) {
	m := newModel()
	m.delay = 50 * time.Millisecond
	d := open(t, m, true, nil)
	c, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	_, err := d.Factorial(c, 3)
	cancel()
	require.Error(t, err)
	time.Sleep(100 * time.Millisecond) // abandoned factorial completes, raises 0x1
	got, err := d.Factorial(ctx(t), 10)
	require.NoError(t, err)
	assert.Equal(t, uint32(3628800), got)
}

func TestStaleDMAInterrupt(t *testing.T) {
	m := newModel()
	m.delay = 50 * time.Millisecond
	d := open(t, m, true, nil)
	src, _ := m.mem.Alloc(64, 64)
	dst, _ := m.mem.Alloc(64, 64)
	for i := range src.Bytes() {
		src.Bytes()[i] = byte(i + 1)
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	err := d.ToDevice(c, src, 0, 0, 64)
	cancel()
	require.Error(t, err)
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, d.FromDevice(ctx(t), dst, 0, 0, 64))
	assert.Equal(t, src.Bytes(), dst.Bytes(), "FromDevice returned before its DMA ran")
}

func TestRaisedBitDoesNotEndFactorial(t *testing.T) {
	m := newModel()
	m.delay = 20 * time.Millisecond
	d := open(t, m, false, nil)
	d.Raise(IRQFactorial)
	got, err := d.Factorial(ctx(t), 5)
	require.NoError(t, err)
	assert.Equal(t, uint32(120), got)
}
