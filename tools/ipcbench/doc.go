// Command ipcbench measures the classic Linux IPC mechanisms beside ipcu's
// own transports, on the same machine, in one run: round-trip latency
// percentiles and one-way throughput at several message sizes, each
// measurement next to a cache-line ping-pong probe and, when gcc is
// present, the project's C baseline of the same shared-memory ring.
//
// Usage:
//
//	ipcbench [-n 10000] [-duration 2s] [-warmup 1000] [-sizes 64,1K,16K,64K]
//	         [-transports all|NAME,...] [-cpus auto|none|A,B] [-json] [-plot FILE] [-no-c]
//
// The transports, in the table's order:
//
//	pipe        two pipes, blocking read(2) and write(2)
//	mqueue      two POSIX message queues, 10 deep (mq_timedsend, mq_timedreceive);
//	            messages up to /proc/sys/fs/mqueue/msgsize_max unless root
//	unix        a UNIX SOCK_SEQPACKET socket pair
//	eventfd     eventfd ping-pong, the payload copied through a buffer the two
//	            threads share; a doorbell without a queue, so no throughput
//	mutex       shared memory with a lock: a futex mutex (Drepper's, as a default
//	            pthread mutex: sleeps when taken, never spins for it; the
//	            process-shared futex operations) guarding a one-message slot and
//	            its full flag in a MAP_SHARED mapping, which the waiting side
//	            polls under the lock; two locked threads of one process
//	shm-poll    package shm's channel (shm.NewPair: memfd, SPSC rings), busy-polling
//	shm-sleep   the same, sleeping at once (Options.BusyPoll 0: eventfd wake-ups)
//	shm-proc    package shm's channel to a peer process (ipcbench run again,
//	            given the descriptors: shm.FromFiles), busy-polling
//	ebpf-queue  package ebpf's channel over BPF queue maps, busy-polling
//	ebpf-mmap   package ebpf's channel over mmapable BPF arrays, busy-polling
//	mbox-poll   the reference block's mailboxes (mailbox/ipcu) on fakedev, polled
//	mbox-irq    the same, sleeping on fakedev's interrupt eventfds
//	dma         the reference block's DMA rings (dmaring TX and RX) on fakedev's
//	            free-running engine, busy-polling; streams in batches of 16
//
// A round trip is a message sent from side A and echoed back by side B; its
// latency is recorded in an HDR histogram (github.com/HdrHistogram/
// hdrhistogram-go, the Go port of Gil Tene's HdrHistogram, the standard
// structure for latency distributions: fixed memory, 3 significant
// digits, no coordinated averaging) from which p50, p99, p99.9 and the
// maximum are read. Throughput is one-way streaming of -n messages (the DMA
// rings and the C baseline batch their sends; the others send one message
// per call). A transport's sizes above its largest message are "n/a"; one
// that carries none of the asked sizes (the 16-byte mailboxes) is measured
// at its largest message instead.
//
// The classic mechanisms and the probe run their two sides on locked OS
// threads, pinned with -cpus (by default the first two CPUs this process
// may use) through sched_setaffinity. ipcu's transports run on ordinary
// goroutines: their busy polls yield the processor now and then, and a
// locked goroutine that yields costs two thread hand-offs in the Go
// scheduler; the JSON's "pinned" says which. On a shared machine the
// absolute figures move by several times from run to run (where the host
// places the vCPUs), so every measurement is preceded by a cache-line
// ping-pong probe between the same CPUs, and the table gives each median
// round trip over the probe (/PROBE) and over the C baseline's stamp-ring
// round trip at the same size (/C, the C program's mean, as it reports no
// percentiles), measured in the same run. The median rather than the
// mean, because a stall of the shared host (milliseconds, now and then)
// would swamp a mean of a few thousand sub-microsecond round trips.
//
// The C baseline (internal/cbaseline) is built with gcc -O2 and run at
// every measured size, right before the transports at that size, when gcc
// is in PATH (-no-c turns it off), with -n round trips and -n throughput
// batches of 32 messages, both capped so that the batches move at most
// about 1 GiB (the C program's one count drives both: at 16 KiB that is
// 2048 round trips, at 64 KiB 512), and at least 100. It reports only
// means, which one stall of a shared host inflates, so it runs three
// times and the best of each figure is kept.
//
// The eBPF transports need root (or CAP_BPF) and a bpffs: ipcbench uses
// /sys/fs/bpf when a bpffs is mounted there, and otherwise mounts one on a
// temporary directory for the run. When ebpf.Probe fails they are reported
// as "skipped: <reason>".
//
// The plot (-plot FILE, .svg or .png) shows the latency distribution: one
// panel per size, one line per transport, the round trip on a log scale
// against the percentile on HdrHistogram's usual axis (90%, 99%, 99.9%...
// evenly spaced). It is drawn with gonum.org/v1/plot, which writes both SVG
// and PNG (with its own fonts) from the same code; a hand-written SVG would
// have been smaller but would need a rasterizer and a font for PNG.
//
// Progress goes to stderr once a run has taken more than a second.
// Exit status: 0 when every measurement ran or was skipped with a reason,
// 1 when one failed (its row says "error", and a note why) or the results
// could not be written, 2 on a usage error. ipcbench needs Linux; elsewhere
// it says so and exits 1.
//
// # JSON schema
//
// -json prints one object (durations in nanoseconds, rates per second).
// schema_version changes only when a field is removed or changes meaning;
// fields may be added.
//
//	{
//	  "schema_version": 1,
//	  "tool": "ipcbench",
//	  "started": "2026-11-26T15:00:00Z",
//	  "machine": {"cpu_model": "...", "kernel": "6.18.0", "cpus": 2,
//	              "goos": "linux", "goarch": "amd64", "go_version": "go1.26.0"},
//	  "params": {"iterations": 10000, "warmup": 1000, "duration_ns": 2000000000,
//	             "sizes": [64, 1024, 16384, 65536], "cpus": [0, 1]},   // cpus null: not pinned
//	  "transports": [{
//	    "name": "pipe", "description": "...", "max_message": 65536, "pinned": true,
//	    "skipped": "...",                          // present only when it did not run; results is then []
//	    "results": [{
//	      "size": 64,
//	      "na": "...",                             // present when not measured at this size
//	      "error": "...",                          // present when the measurement failed
//	      "latency": {"count": 10000, "min_ns": 0, "mean_ns": 0.0, "p50_ns": 0,
//	                  "p99_ns": 0, "p99_9_ns": 0, "max_ns": 0},          // null with na or error
//	      "throughput": {"messages": 10000, "batch": 1, "msgs_per_s": 0.0, "mib_per_s": 0.0},
//	      "throughput_na": "...",                  // why throughput is null (eventfd)
//	      "probe_rtt_ns": 0.0,                     // cache-line ping-pong just before
//	      "x_probe": 0.0,                          // latency.p50_ns / probe_rtt_ns
//	      "x_c_stamp": 0.0                         // latency.p50_ns / C stamp round trip (omitted without C)
//	    }]
//	  }],
//	  "c_baseline": {
//	    "skipped": "...", "error": "...",          // present when it did not run, or failed
//	    "results": [{"size": 64, "probe_rtt_ns": 0.0, "headtail_rtt_ns": 0.0, "stamp_rtt_ns": 0.0,
//	                 "headtail_msgs_per_s": 0.0, "stamp_msgs_per_s": 0.0, "batch": 32, "runs": 3}]
//	  }
//	}
//
// latency.count is -n unless -duration cut the measurement short. See
// docs/performance.md for the figures on the project's test machine.
package main
