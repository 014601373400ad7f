//go:build !race

package irq_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
