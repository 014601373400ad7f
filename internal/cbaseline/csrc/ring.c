// ring.c: the C baseline of package cbaseline. It measures, between two
// threads (or two processes sharing memory) pinned to two CPUs:
//
//   probe     a cache-line ping-pong: one word on one line, each side
//             waiting for the other's value; a round trip is two line
//             transfers, the floor of any shared-memory exchange.
//   headtail  an SPSC ring with head and tail indices (Lamport's, with
//             each side caching the other's index): the consumer polls
//             the tail, the producer's index.
//   stamp     the same ring with a sequence stamp in each slot (after
//             Vyukov's bounded queue): the consumer polls the slot.
//
// For each ring: the round-trip latency of a message bounced through two
// rings, one each way, and the one-way throughput of messages enqueued
// and dequeued in batches, the indices published once per batch.
//
// Usage: ring [-n iterations] [-s msgsize] [-b batch] [-c cpu0,cpu1]
//             [-t tests] [-p]
// tests is a comma-separated subset of probe,headtail,stamp,tput (all by
// default); -p runs the second side in a forked process over a shared
// mapping instead of a thread. The output is one "key value" line per
// figure, nanoseconds for round trips, messages per second for throughput:
// each measurement's mean and its best window of 1000 round trips or
// batches (the *_best keys), then "done".
// Every spin loop executes the CPU's spin hint (PAUSE, YIELD).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE 64
#define SLOTS 256

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

// relax is one wait of a spin loop: the spin hint, and every 1024 spins
// a sched_yield, so that two sides pinned to one CPU still progress.
static pid_t peer; // with -p, in the parent: the second process
static void peer_check(void);

static inline void relax(unsigned *spins) {
	if (++*spins % 1024 == 0) {
		sched_yield();
		if (peer > 0)
			peer_check();
	}
	else
		cpu_relax();
}

#define load_acq(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_rel(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// A window tracker: the best figure of the windows of WINDOW iterations
// (round trips, or messages for throughput) of a measurement. A host that
// runs something else on a CPU now and then inflates some windows, which
// the mean absorbs and the best window does not.
#define WINDOW 1000

struct win {
	uint64_t t, n, per;
	double best; // the least ns per iteration over the windows
};

static void win_start(struct win *w, uint64_t per) {
	w->t = now_ns();
	w->n = 0;
	w->per = per;
	w->best = 0;
}

static inline void win_tick(struct win *w, uint64_t n) {
	w->n += n;
	if (w->n >= w->per) {
		uint64_t t = now_ns();
		double v = (double)(t - w->t) / (double)w->n;
		if (w->best == 0 || v < w->best)
			w->best = v;
		w->t = t;
		w->n = 0;
	}
}

static double best_ns; // the best window of the last measurement

static void die(const char *what) {
	fprintf(stderr, "ring: %s: %s\n", what, strerror(errno));
	exit(1);
}

// peer_check exits if the second process has ended (without reaping it).
static void peer_check(void) {
	siginfo_t si = {0};
	if (waitid(P_PID, (id_t)peer, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == peer &&
	    !(si.si_code == CLD_EXITED && si.si_status == 0)) {
		fprintf(stderr, "ring: the second process ended early\n");
		exit(1);
	}
}

// ---- parameters and shared state ----

static long iters = 100000, warm;
static size_t msgsize = 64, slotsize;
static int batch = 32;
static int cpus[2] = {-1, -1};
static int use_procs;

struct shared {
	_Alignas(LINE) uint64_t ready; // the second side is running
	_Alignas(LINE) uint64_t probe; // the ping-pong word
	_Alignas(LINE) char pad[LINE];
};

static struct shared *sh;
static char *rings[2]; // two rings, one each way

// ---- the head/tail ring ----

struct ht_hdr {
	_Alignas(LINE) uint64_t tail; // written by the producer
	_Alignas(LINE) uint64_t head; // written by the consumer
	_Alignas(LINE) char slots[];
};

struct ht_slot {
	uint32_t len;
	uint32_t pad[3];
	char payload[];
};

struct side { // private to one side
	uint64_t pos, cache; // position; the other side's index as last read
};

static inline struct ht_slot *ht_slot(struct ht_hdr *r, uint64_t pos) {
	return (struct ht_slot *)(r->slots + (pos & (SLOTS - 1)) * slotsize);
}

static inline int ht_put(struct ht_hdr *r, struct side *p, const char *msg, uint32_t len) {
	if (p->pos - p->cache == SLOTS) {
		p->cache = load_acq(&r->head);
		if (p->pos - p->cache == SLOTS)
			return 0;
	}
	struct ht_slot *s = ht_slot(r, p->pos);
	s->len = len;
	memcpy(s->payload, msg, len);
	p->pos++;
	return 1;
}

static inline void ht_publish_tail(struct ht_hdr *r, struct side *p) { store_rel(&r->tail, p->pos); }

static inline int ht_get(struct ht_hdr *r, struct side *c, char *buf) {
	if (c->pos == c->cache) {
		c->cache = load_acq(&r->tail);
		if (c->pos == c->cache)
			return -1;
	}
	struct ht_slot *s = ht_slot(r, c->pos);
	uint32_t len = s->len;
	memcpy(buf, s->payload, len);
	c->pos++;
	return (int)len;
}

static inline void ht_publish_head(struct ht_hdr *r, struct side *c) { store_rel(&r->head, c->pos); }

// ---- the stamp ring ----

struct st_hdr {
	_Alignas(LINE) char slots[1];
};

struct st_slot {
	uint64_t seq;
	uint32_t len;
	uint32_t pad;
	char payload[];
};

static inline struct st_slot *st_slot(char *r, uint64_t pos) {
	return (struct st_slot *)(r + LINE + (pos & (SLOTS - 1)) * slotsize);
}

static inline int st_put(char *r, struct side *p, const char *msg, uint32_t len) {
	struct st_slot *s = st_slot(r, p->pos);
	if (load_acq(&s->seq) != p->pos)
		return 0;
	s->len = len;
	memcpy(s->payload, msg, len);
	store_rel(&s->seq, p->pos + 1);
	p->pos++;
	return 1;
}

static inline int st_get(char *r, struct side *c, char *buf) {
	struct st_slot *s = st_slot(r, c->pos);
	if (load_acq(&s->seq) != c->pos + 1)
		return -1;
	uint32_t len = s->len;
	memcpy(buf, s->payload, len);
	store_rel(&s->seq, c->pos + SLOTS);
	c->pos++;
	return (int)len;
}

static size_t ring_bytes(void) { return LINE * 3 + SLOTS * slotsize; }

static void reset_rings(void) {
	for (int i = 0; i < 2; i++) {
		memset(rings[i], 0, ring_bytes());
		for (uint64_t p = 0; p < SLOTS; p++)
			st_slot(rings[i], p)->seq = p;
	}
	sh->probe = 0;
	sh->ready = 0;
}

// ---- the tests: a is the measuring side, b the other ----

static void probe_b(void) {
	unsigned spins = 0;
	store_rel(&sh->ready, 1);
	for (uint64_t i = 0; i < (uint64_t)(warm + iters); i++) {
		while (load_acq(&sh->probe) != 2 * i + 1)
			relax(&spins);
		store_rel(&sh->probe, 2 * i + 2);
	}
}

static double probe_a(void) {
	unsigned spins = 0;
	uint64_t t0 = 0;
	struct win w = {0};
	for (uint64_t i = 0; i < (uint64_t)(warm + iters); i++) {
		if (i == (uint64_t)warm) {
			t0 = now_ns();
			win_start(&w, WINDOW);
		}
		store_rel(&sh->probe, 2 * i + 1);
		while (load_acq(&sh->probe) != 2 * i + 2)
			relax(&spins);
		if (i >= (uint64_t)warm)
			win_tick(&w, 1);
	}
	best_ns = w.best;
	return (double)(now_ns() - t0) / (double)iters;
}

static void headtail_b(void) {
	unsigned spins = 0;
	struct ht_hdr *in = (struct ht_hdr *)rings[0], *out = (struct ht_hdr *)rings[1];
	struct side c = {0}, p = {0};
	char buf[65536];
	store_rel(&sh->ready, 1);
	for (long i = 0; i < warm + iters; i++) {
		int n;
		while ((n = ht_get(in, &c, buf)) < 0)
			relax(&spins);
		ht_publish_head(in, &c);
		while (!ht_put(out, &p, buf, (uint32_t)n))
			relax(&spins);
		ht_publish_tail(out, &p);
	}
}

static double headtail_a(void) {
	unsigned spins = 0;
	struct ht_hdr *out = (struct ht_hdr *)rings[0], *in = (struct ht_hdr *)rings[1];
	struct side c = {0}, p = {0};
	char msg[65536] = {0}, buf[65536];
	uint64_t t0 = 0;
	struct win w = {0};
	for (long i = 0; i < warm + iters; i++) {
		if (i == warm) {
			t0 = now_ns();
			win_start(&w, WINDOW);
		}
		memcpy(msg, &i, sizeof i);
		while (!ht_put(out, &p, msg, (uint32_t)msgsize))
			relax(&spins);
		ht_publish_tail(out, &p);
		while (ht_get(in, &c, buf) < 0)
			relax(&spins);
		ht_publish_head(in, &c);
		if (memcmp(buf, &i, sizeof i) != 0) {
			fprintf(stderr, "ring: headtail: wrong echo at %ld\n", i);
			exit(1);
		}
		if (i >= warm)
			win_tick(&w, 1);
	}
	best_ns = w.best;
	return (double)(now_ns() - t0) / (double)iters;
}

static void stamp_b(void) {
	unsigned spins = 0;
	char *in = rings[0], *out = rings[1];
	struct side c = {0}, p = {0};
	char buf[65536];
	store_rel(&sh->ready, 1);
	for (long i = 0; i < warm + iters; i++) {
		int n;
		while ((n = st_get(in, &c, buf)) < 0)
			relax(&spins);
		while (!st_put(out, &p, buf, (uint32_t)n))
			relax(&spins);
	}
}

static double stamp_a(void) {
	unsigned spins = 0;
	char *out = rings[0], *in = rings[1];
	struct side c = {0}, p = {0};
	char msg[65536] = {0}, buf[65536];
	uint64_t t0 = 0;
	struct win w = {0};
	for (long i = 0; i < warm + iters; i++) {
		if (i == warm) {
			t0 = now_ns();
			win_start(&w, WINDOW);
		}
		memcpy(msg, &i, sizeof i);
		while (!st_put(out, &p, msg, (uint32_t)msgsize))
			relax(&spins);
		while (st_get(in, &c, buf) < 0)
			relax(&spins);
		if (memcmp(buf, &i, sizeof i) != 0) {
			fprintf(stderr, "ring: stamp: wrong echo at %ld\n", i);
			exit(1);
		}
		if (i >= warm)
			win_tick(&w, 1);
	}
	best_ns = w.best;
	return (double)(now_ns() - t0) / (double)iters;
}

// Throughput: b produces (warm + iters) * batch messages in batches, a
// consumes them in batches and times the last iters * batch.
static int tput_stamp; // which ring the throughput test uses

static void tput_b(void) {
	unsigned spins = 0;
	char msg[65536] = {0};
	struct side p = {0};
	uint64_t total = (uint64_t)(warm + iters) * (uint64_t)batch;
	store_rel(&sh->ready, 1);
	while (p.pos < total) {
		uint64_t want = total - p.pos < (uint64_t)batch ? total - p.pos : (uint64_t)batch;
		int n = 0;
		if (tput_stamp) {
			while ((uint64_t)n < want && st_put(rings[0], &p, msg, (uint32_t)msgsize))
				n++;
		} else {
			struct ht_hdr *r = (struct ht_hdr *)rings[0];
			while ((uint64_t)n < want && ht_put(r, &p, msg, (uint32_t)msgsize))
				n++;
			if (n > 0)
				ht_publish_tail(r, &p);
		}
		if (n == 0)
			relax(&spins);
	}
}

static double tput_a(void) {
	unsigned spins = 0;
	static char bufs[64][65536];
	struct side c = {0};
	uint64_t total = (uint64_t)(warm + iters) * (uint64_t)batch;
	uint64_t start = (uint64_t)warm * (uint64_t)batch, t0 = 0;
	int timing = 0;
	struct win w = {0};
	if (start == 0) {
		t0 = now_ns();
		timing = 1;
		win_start(&w, (uint64_t)WINDOW * (uint64_t)batch);
	}
	while (c.pos < total) {
		int n = 0;
		if (tput_stamp) {
			while (n < batch && st_get(rings[0], &c, bufs[n & 63]) >= 0)
				n++;
		} else {
			struct ht_hdr *r = (struct ht_hdr *)rings[0];
			while (n < batch && ht_get(r, &c, bufs[n & 63]) >= 0)
				n++;
			if (n > 0)
				ht_publish_head(r, &c);
		}
		if (n == 0)
			relax(&spins);
		else if (timing)
			win_tick(&w, (uint64_t)n);
		if (!timing && c.pos >= start) {
			t0 = now_ns();
			timing = 1;
			win_start(&w, (uint64_t)WINDOW * (uint64_t)batch);
		}
	}
	best_ns = w.best;
	return (double)(total - start) * 1e9 / (double)(now_ns() - t0);
}

// ---- running the two sides ----

static void pin(int cpu) {
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		die("sched_setaffinity");
}

static void (*b_side)(void);

static void *b_thread(void *arg) {
	(void)arg;
	pin(cpus[1]);
	b_side();
	return NULL;
}

static double run_pair(void (*b)(void), double (*a)(void)) {
	unsigned spins = 0;
	reset_rings();
	b_side = b;
	double r;
	if (use_procs) {
		pid_t parent = getpid();
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			pin(cpus[1]);
			b();
			_exit(0);
		}
		peer = pid;
		while (!load_acq(&sh->ready))
			relax(&spins);
		r = a();
		peer = 0;
		int status;
		if (waitpid(pid, &status, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "ring: the second process failed\n");
			exit(1);
		}
	} else {
		pthread_t t;
		errno = pthread_create(&t, NULL, b_thread, NULL);
		if (errno != 0)
			die("pthread_create");
		while (!load_acq(&sh->ready))
			relax(&spins);
		r = a();
		pthread_join(t, NULL);
	}
	return r;
}

// report_rtt and report_rate print a measurement's mean and its best
// window (the mean when it had fewer than one window).
static void report_rtt(const char *name, double mean) {
	printf("%s_rtt_ns %.1f\n", name, mean);
	printf("%s_rtt_best_ns %.1f\n", name, best_ns > 0 ? best_ns : mean);
}

static void report_rate(const char *name, double mean) {
	printf("%s_msgs_per_s %.0f\n", name, mean);
	printf("%s_msgs_per_s_best %.0f\n", name, best_ns > 0 ? 1e9 / best_ns : mean);
}

static int wants(const char *tests, const char *name) {
	size_t n = strlen(name);
	for (const char *p = tests; (p = strstr(p, name)) != NULL; p += n)
		if ((p == tests || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
			return 1;
	return 0;
}

static void usage(void) {
	fprintf(stderr, "usage: ring [-n iterations] [-s msgsize] [-b batch] [-c cpu0,cpu1] [-t tests] [-p]\n");
	exit(2);
}

int main(int argc, char **argv) {
	const char *tests = "probe,headtail,stamp,tput";
	int opt;
	while ((opt = getopt(argc, argv, "n:s:b:c:t:p")) != -1) {
		switch (opt) {
		case 'n':
			iters = atol(optarg);
			break;
		case 's':
			msgsize = (size_t)atol(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpus[0], &cpus[1]) != 2)
				usage();
			break;
		case 't':
			tests = optarg;
			break;
		case 'p':
			use_procs = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || iters < 1 || msgsize < 8 || msgsize > 65536 || batch < 1 || batch > SLOTS)
		usage();
	warm = iters / 10;
	slotsize = (16 + msgsize + LINE - 1) / LINE * LINE;
	setvbuf(stdout, NULL, _IOLBF, 0);

	size_t rb = (ring_bytes() + 4095) & ~(size_t)4095;
	char *mem = mmap(NULL, 4096 + 2 * rb, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	sh = (struct shared *)mem;
	rings[0] = mem + 4096;
	rings[1] = mem + 4096 + rb;

	printf("mode %s\n", use_procs ? "processes" : "threads");
	printf("cpus %d,%d\n", cpus[0], cpus[1]);
	printf("iterations %ld\n", iters);
	printf("msgsize %zu\n", msgsize);
	printf("batch %d\n", batch);
	pin(cpus[0]);
	if (wants(tests, "probe"))
		report_rtt("probe", run_pair(probe_b, probe_a));
	if (wants(tests, "headtail"))
		report_rtt("headtail", run_pair(headtail_b, headtail_a));
	if (wants(tests, "stamp"))
		report_rtt("stamp", run_pair(stamp_b, stamp_a));
	if (wants(tests, "tput")) {
		tput_stamp = 0;
		report_rate("headtail", run_pair(tput_b, tput_a));
		tput_stamp = 1;
		report_rate("stamp", run_pair(tput_b, tput_a));
	}
	printf("done\n");
	return 0;
}
