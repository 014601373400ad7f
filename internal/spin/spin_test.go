package spin_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/spin"
)

func TestPauseReturns(t *testing.T) {
	for range 1000 {
		spin.Pause()
	}
}

func TestSpinnerBudget(t *testing.T) {
	tests := []struct {
		name        string
		budget      int
		yieldEvery  int
		wantSpins   int
		wantLimited bool
	}{
		{"budget 1", 1, 0, 1, true},
		{"budget 100", 100, 0, 100, true},
		{"yield every spin", 10, 1, 10, true},
		{"unlimited", 0, 3, 1000, false},
		{"negative is unlimited", -1, 0, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spin.Spinner{Budget: tt.budget, YieldEvery: tt.yieldEvery}
			spins := 0
			for spins < 1000 && s.Spin() {
				spins++
			}
			assert.Equal(t, tt.wantSpins, spins)
			assert.Equal(t, tt.wantSpins, s.Spins())
			if tt.wantLimited {
				assert.False(t, s.Spin(), "Spin after the budget is spent")
				s.Reset()
				assert.Zero(t, s.Spins())
				assert.True(t, s.Spin(), "Spin after Reset")
			}
		})
	}
}

func TestUntil(t *testing.T) {
	calls := 0
	assert.True(t, spin.Until(0, func() bool { calls++; return calls == 5 }))
	assert.Equal(t, 5, calls)
	assert.False(t, spin.Until(10, func() bool { return false }))
}

// TestSpinnerYields waits, with one P, for a flag that another goroutine
// sets: the wait only ends if the spinner lets that goroutine run. (Without
// yields it would still end, after asynchronous preemption, but only if
// that is on; the test turns it off.)
func TestSpinnerYields(t *testing.T) {
	if testing.Short() {
		t.Skip("changes GOMAXPROCS")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, every := range []int{0, 1, 7} {
		var flag atomic.Bool
		go flag.Store(true)
		s := spin.Spinner{YieldEvery: every}
		for !flag.Load() {
			require.True(t, s.Spin())
		}
	}
	// And a goroutine that spins in turn: two spinners, each waiting for
	// the other, hand a token back and forth.
	var token atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var s spin.Spinner
		for i := int64(1); i < 200; i += 2 {
			for token.Load() != i {
				s.Spin()
			}
			token.Store(i + 1)
		}
	}()
	var s spin.Spinner
	for i := int64(0); i < 200; i += 2 {
		for token.Load() != i {
			s.Spin()
		}
		token.Store(i + 1)
	}
	<-done
}

func BenchmarkPause(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		spin.Pause()
	}
}

func BenchmarkSpinner(b *testing.B) {
	b.ReportAllocs()
	var s spin.Spinner
	for b.Loop() {
		s.Spin()
	}
}

// BenchmarkGosched is the cost of a yield, which Spinner makes every
// YieldEvery spins: from a goroutine of its own thread (LockOSThread) it
// hands the thread's P to another thread and back.
func BenchmarkGosched(b *testing.B) {
	for _, locked := range []bool{false, true} {
		name := "unlocked"
		if locked {
			name = "locked"
		}
		b.Run(name, func(b *testing.B) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				if locked {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				for range b.N {
					runtime.Gosched()
				}
			}()
			<-done
		})
	}
}
