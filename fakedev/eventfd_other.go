//go:build !linux

package fakedev

import (
	"fmt"
	"runtime"
)

// newEventfd fails: the interrupt lines are eventfds, which only Linux has.
func newEventfd() (int, error) {
	return -1, fmt.Errorf("interrupt lines need eventfd, which %s lacks", runtime.GOOS)
}
