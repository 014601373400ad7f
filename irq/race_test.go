//go:build race

package irq_test

// raceEnabled reports whether the race detector is on: it makes buffers
// passed to system calls escape, so allocation counts differ.
const raceEnabled = true
