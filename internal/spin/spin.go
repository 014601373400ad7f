package spin

import "runtime"

// Defaults of a Spinner whose fields are zero.
const (
	// DefaultYieldEvery is how many spins pass between two calls to
	// runtime.Gosched. A PAUSE takes from about 10 cycles (older Intel
	// cores) to about 65 (AMD Zen 2 and later; 27 ns on the test
	// machine's EPYC) or 140 (Intel since Skylake), so 64 spins are from
	// about 0.3 to 4 us of spinning between yields: long next to a
	// cache-line transfer (about 0.1 us), short next to the 10 ms after
	// which the runtime would preempt the spinner anyway.
	DefaultYieldEvery = 64
)

// Spinner is a bounded busy wait. The zero value spins forever (Budget 0)
// and yields every DefaultYieldEvery spins. A Spinner is for one goroutine
// at a time; Reset it before each wait.
//
// A yield costs about 0.1 us, but in a goroutine locked to its thread
// (runtime.LockOSThread) it hands the thread's P to another thread and
// back, which takes a futex wake-up: 13 us on the test machine
// (BenchmarkGosched). A locked spinner that waits long yields at that
// cost, which is what lets the rest of the process run; raise YieldEvery
// there if the waits are long and the process has CPUs to spare.
//
//	s := spin.Spinner{Budget: 10000}
//	for !ready() {
//		if !s.Spin() {
//			sleep() // the budget is spent
//			break
//		}
//	}
type Spinner struct {
	// Budget is how many spins Spin allows before it reports false; 0
	// (or negative) is no limit.
	Budget int
	// YieldEvery is how many spins pass between two calls to
	// runtime.Gosched (0 or negative: DefaultYieldEvery). 1 yields at
	// every spin, which is what a loop that only yields does.
	YieldEvery int

	n    int // spins since the last Reset
	next int // the spin that yields next; 0 before the first spin
}

// Spin waits a little: one Pause, and every YieldEvery spins a
// runtime.Gosched. It returns false, without waiting, once Budget spins
// have been made since the last Reset; the caller should then stop
// spinning and sleep.
func (s *Spinner) Spin() bool {
	if s.Budget > 0 && s.n >= s.Budget {
		return false
	}
	s.n++
	if s.next == 0 {
		s.next = s.yieldEvery()
	}
	// A comparison, not s.n%YieldEvery: a division costs tens of cycles,
	// a good part of a poll.
	if s.n >= s.next {
		s.next = s.n + s.yieldEvery()
		runtime.Gosched()
	} else {
		Pause()
	}
	return true
}

func (s *Spinner) yieldEvery() int {
	if s.YieldEvery <= 0 {
		return DefaultYieldEvery
	}
	return s.YieldEvery
}

// Spins returns how many spins were made since the last Reset.
func (s *Spinner) Spins() int { return s.n }

// Reset starts a new wait with the full budget.
func (s *Spinner) Reset() { s.n, s.next = 0, 0 }

// Until spins until cond returns true, for at most budget spins (0 or
// negative: no limit), yielding every DefaultYieldEvery spins. It returns
// whether cond became true; false means the budget is spent.
func Until(budget int, cond func() bool) bool {
	s := Spinner{Budget: budget}
	for !cond() {
		if !s.Spin() {
			return false
		}
	}
	return true
}
