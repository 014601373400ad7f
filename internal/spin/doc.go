// Package spin is the busy-wait toolkit of the rings and channels: Pause,
// the CPU's spin-loop hint, and Spinner, a bounded spin that yields the
// processor to the Go scheduler every so often and says when its budget is
// spent, so that the caller goes to sleep (on an eventfd, a futex, a
// channel) instead of burning a core forever.
//
// Pause is an assembly stub: PAUSE on amd64 and YIELD on arm64. On other
// architectures it is an empty Go function, which still keeps a spin loop
// from being compiled into nothing. Inside a spin loop PAUSE tells the core
// that it is waiting: a hyper-threaded sibling gets the execution units,
// and the loop does not fill the pipeline with speculative loads whose
// memory-order violation, when the awaited store lands, costs a pipeline
// flush. On the test machine it took a Go ring's busy-polling round trip
// from 290 to 236 ns.
//
// Why yield: a goroutine that spins without calling into the scheduler
// can keep the rest of the process off its thread. With GOMAXPROCS=1 (a
// process confined to one CPU) the goroutine it waits for never runs, and
// a stop-the-world for the garbage collector waits for it; asynchronous
// preemption eventually breaks in, but only after about 10 ms. Spinner
// calls runtime.Gosched every YieldEvery spins.
//
// The package needs nothing from the kernel. Its tests check that Pause
// returns and that a spinning goroutine lets the goroutine it waits for run
// with GOMAXPROCS(1); they make no timing assertions. The benchmarks give
// the cost of one Pause and of a Spinner step.
package spin
