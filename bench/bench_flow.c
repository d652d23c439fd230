/* bench_flow.c - flow table speed: inserts and lookups per second (1..T threads), TCP in-order segments, bytes per flow.
 *
 * usage: bench_flow [-T max_threads] [-n flows_per_thread] [-l lookups_per_thread]
 *
 * Each thread (pinned to CPU i % ncpu) registers its own worker on one
 * shared table, waits on a start barrier, then
 *   insert: n new UDP flows through rs_flow_packet (key, hash, lookup miss,
 *           allocation, add_unique, LRU link), own tuple range per thread;
 *   lookup: l packets on its existing flows in a scattered order (lookup
 *           hit, counters, LRU move).
 * A quiescent state every 256 packets, as a ring block would give.  Rates
 * are total operations over the slowest thread's time.  Then, one thread:
 * in-order 1448-byte TCP segments through reassembly to an app that only
 * counts, and the memory a flow costs (struct, malloc chunk, heap growth
 * including the hash index).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow_impl.h"   /* sizeof(struct rs_flow) */
#include "rs_reassembly.h"

#define QUIESCE_EVERY 256

struct thr {
	pthread_t tid;
	unsigned id;
	struct rs_flow_table *t;
	pthread_barrier_t *bar;
	uint64_t n, l;
	double ins_s, look_s, ins_cpu, look_cpu;
	uint64_t created, errors;
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* This thread's CPU time: on a shared machine, wall time includes waiting
 * for a CPU; CPU time is what an operation costs. */
static double cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static void pin(unsigned cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	CPU_SET(cpu % (unsigned)(n > 0 ? n : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Flow i of thread id: 198.18.0.0/15 sources, ports per thread. */
static void set_tuple(struct rs_pkt *p, unsigned id, uint64_t i)
{
	uint32_t a = (uint32_t)(i % 131072);

	p->src[0] = 198;
	p->src[1] = (uint8_t)(18 + (a >> 16));
	p->src[2] = (uint8_t)(a >> 8);
	p->src[3] = (uint8_t)a;
	p->sport = (uint16_t)(1024 + id * 256 + i / 131072);
}

static void pkt_init(struct rs_pkt *p)
{
	static const uint8_t l4[8];

	memset(p, 0, sizeof(*p));
	p->ip_version = 4;
	p->addr_len = 4;
	p->l4proto = 17;
	p->l4 = l4;
	p->dst[0] = 198;
	p->dst[1] = 19;
	p->dst[2] = 255;
	p->dst[3] = 254;
	p->dport = 53;
	p->wirelen = p->caplen = 100;
}

static void *run(void *arg)
{
	struct thr *t = arg;
	struct rs_flow_worker *w = NULL;
	struct rs_pkt p;
	uint64_t ts = 1;
	double t0, c0;

	pin(t->id);
	if (rs_flow_worker_new(&w, t->t, t->id, NULL, NULL, NULL, NULL)) {
		t->errors++;
		pthread_barrier_wait(t->bar);
		pthread_barrier_wait(t->bar);
		return NULL;
	}
	pkt_init(&p);
	pthread_barrier_wait(t->bar);
	t0 = now_s();
	c0 = cpu_s();
	for (uint64_t i = 0; i < t->n; i++) {
		set_tuple(&p, t->id, i);
		p.ts_ns = ts++;
		t->errors += rs_flow_packet(w, &p) != 0;
		if (i % QUIESCE_EVERY == 0)
			rs_flow_quiescent(w);
	}
	t->ins_s = now_s() - t0;
	t->ins_cpu = cpu_s() - c0;
	t->created = rs_flow_worker_stats(w)->flows_created;
	pthread_barrier_wait(t->bar);
	t0 = now_s();
	c0 = cpu_s();
	for (uint64_t i = 0; i < t->l; i++) {
		/* Scattered: a multiplicative walk over the n flows. */
		set_tuple(&p, t->id, (i * 2654435761ULL) % t->n);
		p.ts_ns = ts++;
		t->errors += rs_flow_packet(w, &p) != 0;
		if (i % QUIESCE_EVERY == 0)
			rs_flow_quiescent(w);
	}
	t->look_s = now_s() - t0;
	t->look_cpu = cpu_s() - c0;
	rs_flow_worker_free(w);
	return NULL;
}

static int bench_threads(unsigned nt, uint64_t n, uint64_t l)
{
	struct rs_flow_config cfg;
	struct rs_flow_table *t = NULL;
	struct thr th[64];
	pthread_barrier_t bar;
	double ins = 0, look = 0, ins_cpu = 0, look_cpu = 0;
	uint64_t created = 0, errors = 0;

	rs_flow_config_default(&cfg);
	cfg.max_flows = n * nt;
	if (rs_flow_table_new(&t, &cfg))
		return -1;
	pthread_barrier_init(&bar, NULL, nt);
	memset(th, 0, sizeof(th));
	for (unsigned i = 0; i < nt; i++) {
		th[i] = (struct thr){ .id = i, .t = t, .bar = &bar, .n = n, .l = l };
		pthread_create(&th[i].tid, NULL, run, &th[i]);
	}
	for (unsigned i = 0; i < nt; i++) {
		pthread_join(th[i].tid, NULL);
		if (th[i].ins_s > ins)
			ins = th[i].ins_s;
		if (th[i].look_s > look)
			look = th[i].look_s;
		ins_cpu += (double)n / th[i].ins_cpu;
		look_cpu += (double)l / th[i].look_cpu;
		created += th[i].created;
		errors += th[i].errors;
		printf("  thread %u: insert %.2f Mflows/s wall, %.2f per CPU-s; "
		       "lookup %.2f Mpkts/s wall, %.2f per CPU-s\n", i,
		       (double)n / th[i].ins_s / 1e6,
		       (double)n / th[i].ins_cpu / 1e6,
		       (double)l / th[i].look_s / 1e6,
		       (double)l / th[i].look_cpu / 1e6);
	}
	printf("threads=%u: insert %.2f Mflows/s wall (%.2f summed per-thread CPU rate), "
	       "lookup %.2f Mpkts/s wall (%.2f), %llu flows, errors %llu\n",
	       nt, (double)(n * nt) / ins / 1e6, ins_cpu / 1e6,
	       (double)(l * nt) / look / 1e6, look_cpu / 1e6,
	       (unsigned long long)created, (unsigned long long)errors);
	pthread_barrier_destroy(&bar);
	rs_flow_table_free(t);
	return errors ? -1 : 0;
}

/* ---- TCP in-order segments through reassembly ----------------------- */

static uint64_t g_bytes;

static void *c_open(void *ctx, const struct rs_flow_info *f)
{
	(void)ctx;
	(void)f;
	return &g_bytes;
}

static void c_data(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		   const uint8_t *data, size_t len, uint64_t ts)
{
	(void)ctx;
	(void)f;
	(void)dir;
	(void)data;
	(void)ts;
	*(uint64_t *)app += len;
}

static const struct rs_app_ops c_ops = { .open = c_open, .data = c_data };

static void bench_tcp(uint64_t segs)
{
	static uint8_t payload[1448];
	struct rs_flow_table *t = NULL;
	struct rs_flow_worker *w = NULL;
	struct rs_pkt p;
	double t0, c0, dt, dc;

	if (rs_flow_table_new(&t, NULL) ||
	    rs_flow_worker_new(&w, t, 0, &c_ops, NULL, NULL, NULL))
		return;
	pkt_init(&p);
	p.l4proto = 6;
	p.sport = 40000;
	p.dport = 80;
	p.tcp_flags = RS_TCP_ACK;
	p.payload = payload;
	p.payload_len = sizeof(payload);
	p.wirelen = p.caplen = 1514;
	set_tuple(&p, 0, 1);
	t0 = now_s();
	c0 = cpu_s();
	for (uint64_t i = 0; i < segs; i++) {
		p.seq = (uint32_t)(i * sizeof(payload));
		p.ts_ns = i + 1;
		rs_flow_packet(w, &p);
		if (i % QUIESCE_EVERY == 0)
			rs_flow_quiescent(w);
	}
	dt = now_s() - t0;
	dc = cpu_s() - c0;
	printf("tcp in-order, 1 flow: %.2f Msegs/s wall, %.2f per CPU-s (%.1f Gbit/s of 1448-B payload per CPU-s; app got %llu bytes)\n",
	       (double)segs / dt / 1e6, (double)segs / dc / 1e6,
	       (double)g_bytes * 8 / dc / 1e9, (unsigned long long)g_bytes);
	rs_flow_worker_free(w);
	rs_flow_table_free(t);
}

/* ---- memory per flow -------------------------------------------------- */

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Resident bytes of the process (the hash index is mmap'd by liburcu,
 * so malloc statistics do not see it). */
static size_t rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (size_t)sysconf(_SC_PAGESIZE);
}

static void bench_memory(uint64_t n)
{
	struct rs_flow_config cfg;
	struct rs_flow_table *t = NULL;
	struct rs_flow_worker *w = NULL;
	struct rs_pkt p;
	size_t before, after, rss0, rss1, rss2;
	void *probe = malloc(sizeof(struct rs_flow));

	printf("bytes per flow: sizeof(struct rs_flow) %zu, malloc chunk %zu (usable %zu + 8 header)\n",
	       sizeof(struct rs_flow), malloc_usable_size(probe) + 8,
	       malloc_usable_size(probe));
	free(probe);
	rs_flow_config_default(&cfg);
	cfg.max_flows = n;
	rss0 = rss_bytes();
	if (rs_flow_table_new(&t, &cfg) ||
	    rs_flow_worker_new(&w, t, 0, NULL, NULL, NULL, NULL))
		return;
	rss1 = rss_bytes();
	pkt_init(&p);
	before = heap_used();
	for (uint64_t i = 0; i < n; i++) {
		set_tuple(&p, 0, i);
		p.ts_ns = i + 1;
		rs_flow_packet(w, &p);
		if (i % QUIESCE_EVERY == 0)
			rs_flow_quiescent(w);
	}
	after = heap_used();
	rss2 = rss_bytes();
	/* The index starts small and grows with the flows (reassembly/flow.c):
	 * its growth is in the second line's resident figure. */
	printf("bytes per flow: table at start (max_flows %llu): %.1f MiB resident\n",
	       (unsigned long long)n, (double)(rss1 - rss0) / 1048576.0);
	printf("bytes per flow: with %llu flows: heap %.1f B, resident %.1f B per flow, index grown to %lu buckets (16 B each) included\n",
	       (unsigned long long)n, (double)(after - before) / (double)n,
	       (double)(rss2 - rss0) / (double)n, rs_flow_table_buckets(t));
	rs_flow_worker_free(w);
	rs_flow_table_free(t);
}

int main(int argc, char **argv)
{
	unsigned maxt = 2;
	uint64_t n = 500000, l = 5000000;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "T:n:l:")) != -1) {
		switch (opt) {
		case 'T': maxt = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'l': l = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [-T max_threads] [-n flows_per_thread] [-l lookups_per_thread]\n",
				argv[0]);
			return 2;
		}
	}
	if (maxt < 1 || maxt > 64 || n == 0 || n > 64 * 131072) {
		fprintf(stderr, "bench_flow: -T 1..64, -n 1..%d\n", 64 * 131072);
		return 2;
	}
	printf("bench_flow: %llu flows and %llu lookups per thread, %ld CPUs online\n",
	       (unsigned long long)n, (unsigned long long)l,
	       sysconf(_SC_NPROCESSORS_ONLN));
	for (unsigned nt = 1; nt <= maxt; nt++)
		rc |= bench_threads(nt, n, l);
	bench_tcp(10000000);
	bench_memory(n);
	return rc ? 1 : 0;
}
