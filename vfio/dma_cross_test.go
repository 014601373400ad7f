//go:build linux

package vfio

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ipcu/ipcu/internal/testenv"
)

// TestMmapAlignedIntLimit checks a DMA mapping whose length does not fit
// mmap's int fails cleanly instead of wrapping: on 32-bit ARM a size near
// 2 GiB plus the slack for a large alignment is more than an int holds
// (scripts/cross runs this under qemu-arm-static).
func TestMmapAlignedIntLimit(t *testing.T) {
	if math.MaxInt > math.MaxInt32 {
		testenv.Unsupported(t, fmt.Sprintf("an int has 64 bits on GOARCH=%s: no DMA size reaches its limit", runtime.GOARCH))
	}
	_, _, err := mmapAligned(1<<31-4096, 1<<30, false)
	assert.ErrorIs(t, err, os.ErrInvalid)
	assert.ErrorContains(t, err, "more than an int holds")
	_, _, err = mmapAligned(1<<31, 4096, true)
	assert.ErrorIs(t, err, os.ErrInvalid)
}
