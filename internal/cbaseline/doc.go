// Package cbaseline is the project's C baseline for shared-memory
// messaging: a small C program (csrc/ring.c, embedded in the package) that
// measures, between two threads (or two processes) pinned to two CPUs, a
// cache-line ping-pong probe, an SPSC ring with head and tail indices, the
// same ring with a sequence stamp per slot, and the batched one-way
// throughput of both rings. The Go rings' benchmarks run it beside
// themselves and report their figures as ratios to it, because on a shared
// machine absolute figures move by several times from run to run (where
// the host places the two vCPUs), while ratios measured in the same run
// hold.
//
// Use it in three steps: Available says whether a C compiler is there,
// Build compiles the program with gcc -O2 -pthread into a directory, and
// Run runs it and parses its output into Results. The program is also a
// plain command (see the comment at the top of csrc/ring.c) whose output is one
// "key value" line per figure.
//
// It needs Linux (the program pins threads with sched_setaffinity) and gcc
// in PATH; nothing privileged. Its tests build and run the program with a
// small iteration count; they are gated on gcc through internal/testenv,
// so they skip where gcc is missing and fail under IPCU_REQUIRE_ALL=1.
package cbaseline
