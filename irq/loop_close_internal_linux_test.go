package irq

import (
	"context"
	"testing"
	"time"
)

// TestLoopCloseAfterStaleWake: a stale wake-up (left by the context of an
// earlier Run, whose AfterFunc fired after that Run returned) drained
// together with Close's own does not leave Run parked after Close. The
// window is narrow: the test tries 4000 times, with Close landing at
// varying points (without the fix it caught the bug in most runs).
func TestLoopCloseAfterStaleWake(t *testing.T) {
	for i := range 4000 {
		l, err := NewLoop(nil)
		if err != nil {
			t.Fatal(err)
		}
		l.wake() // as the stale AfterFunc does
		done := make(chan error, 1)
		go func() { done <- l.Run(context.Background()) }()
		for {
			l.mu.Lock()
			r := l.running
			l.mu.Unlock()
			if r {
				break
			}
		}
		for j := 0; j < i%200; j++ { // vary where Close lands
		}
		l.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("iteration %d: Run still blocked after Close", i)
		}
	}
}
