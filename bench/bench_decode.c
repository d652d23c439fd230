/* bench_decode.c - rs_decode throughput: frames per second per thread, by mix.
 *
 * usage: bench_decode [-T threads] [-n frames_per_thread] [-m tcp|mixed]
 *
 * Each thread (pinned to CPU i % ncpu) owns its rs_pkt, its stats and a
 * private ring of 4096 frames built from a few templates (so the frame bytes
 * are in cache the way a ring block's are right after the kernel wrote
 * them); all start on a barrier and the per-thread results are merged at
 * the end.  Output: one line per thread, then the total.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rs_decode.h"

#define RING 4096
#define SLOT 1600

struct tmpl {
	const char *name;
	int linktype;
	uint8_t hdr[128];
	uint32_t hlen, paylen;
};

/* Ethernet + IPv4 + TCP with NOP NOP TS (Linux data segment), 1400 B data. */
static const struct tmpl t_tcp4 = {
	"eth/ipv4/tcp+ts", 1, {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
	0x45, 0, 0x05, 0xac, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0,
	198, 18, 0, 1, 198, 18, 0, 2,
	0x9c, 0x40, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0, 0x80, 0x10,
	0x01, 0xf6, 0, 0, 0, 0, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 },
	66, 1400 };
/* Ethernet + 802.1Q + IPv6 + TCP (no options), 1200 B data. */
static const struct tmpl t_tcp6v = {
	"eth/vlan/ipv6/tcp", 1, {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x64, 0x86, 0xdd,
	0x60, 0, 0, 0, 0x04, 0xc4, 6, 64,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x9c, 0x40, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0, 0x50, 0x10,
	0x01, 0xf6, 0, 0, 0, 0 },
	78, 1200 };
/* Ethernet + IPv4 + UDP (DNS-sized), 60 B data. */
static const struct tmpl t_udp4 = {
	"eth/ipv4/udp", 1, {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
	0x45, 0, 0x00, 0x58, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0,
	198, 18, 0, 1, 198, 18, 0, 2,
	0x14, 0xe9, 0, 53, 0, 0x44, 0, 0 },
	42, 60 };
/* Ethernet + IPv4 + TCP SYN with MSS, SACK-permitted, TS, NOP, WS. */
static const struct tmpl t_syn4 = {
	"eth/ipv4/tcp syn", 1, {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
	0x45, 0, 0x00, 0x3c, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0,
	198, 18, 0, 1, 198, 18, 0, 2,
	0x9c, 0x40, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0xa0, 0x02,
	0xfa, 0xf0, 0, 0, 0, 0, 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
	0, 0, 0, 0, 1, 3, 3, 7 },
	74, 0 };

struct worker {
	pthread_t th;
	unsigned id;
	uint64_t frames;
	const struct tmpl *const *mix;
	unsigned nmix;
	pthread_barrier_t *start;
	double secs;
	struct rs_decode_stats st;
	uint64_t sink;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	uint8_t *ring = malloc((size_t)RING * SLOT);
	uint32_t *len = malloc(RING * sizeof(*len));
	int *lt = malloc(RING * sizeof(*lt));
	struct rs_pkt p;

	CPU_ZERO(&set);
	CPU_SET((int)(w->id % (unsigned)(ncpu > 0 ? ncpu : 1)), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (!ring || !len || !lt)
		goto out;
	for (unsigned i = 0; i < RING; i++) {
		const struct tmpl *t = w->mix[i % w->nmix];

		memcpy(ring + (size_t)i * SLOT, t->hdr, t->hlen);
		memset(ring + (size_t)i * SLOT + t->hlen, 'x', t->paylen);
		len[i] = t->hlen + t->paylen;
		lt[i] = t->linktype;
	}
	memset(&w->st, 0, sizeof(w->st));
	pthread_barrier_wait(w->start);
	double t0 = now();
	for (uint64_t n = 0; n < w->frames; n++) {
		unsigned i = (unsigned)n & (RING - 1);

		rs_decode(&p, lt[i], ring + (size_t)i * SLOT, len[i], len[i],
			  &w->st);
		w->sink += p.payload_len;
	}
	w->secs = now() - t0;
out:
	free(lt);
	free(len);
	free(ring);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct tmpl *const mix_tcp[] = { &t_tcp4 };
	static const struct tmpl *const mix_all[] = {
		&t_tcp4, &t_tcp4, &t_tcp4, &t_tcp6v, &t_udp4, &t_tcp4, &t_syn4,
		&t_tcp6v };
	unsigned nthreads = 1;
	uint64_t frames = 50000000;
	int mixed = 0, opt, rc = 1;

	while ((opt = getopt(argc, argv, "T:n:m:")) != -1) {
		switch (opt) {
		case 'T':
			nthreads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			frames = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			mixed = !strcmp(optarg, "mixed");
			break;
		default:
			fprintf(stderr, "usage: %s [-T threads] [-n frames] "
				"[-m tcp|mixed]\n", argv[0]);
			return 2;
		}
	}
	if (nthreads == 0 || nthreads > 256)
		return 2;

	struct worker *w = calloc(nthreads, sizeof(*w));
	pthread_barrier_t start;
	struct rs_decode_stats total;

	if (!w || pthread_barrier_init(&start, NULL, nthreads) != 0)
		goto out;
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].frames = frames;
		w[i].mix = mixed ? mix_all : mix_tcp;
		w[i].nmix = mixed ? 8 : 1;
		w[i].start = &start;
		if (pthread_create(&w[i].th, NULL, run, &w[i]) != 0) {
			/* threads already started wait on the barrier: just
			 * leave, the process ends them */
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	memset(&total, 0, sizeof(total));
	double mpps = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		rs_decode_stats_add(&total, &w[i].st);
		double r = (double)w[i].frames / w[i].secs;
		mpps += r / 1e6;
		printf("thread %u: %.1f Mframes/s, %.2f ns/frame\n", i, r / 1e6,
		       1e9 / r);
	}
	printf("total: %u threads, mix %s, %.1f Mframes/s; packets %llu "
	       "tcp %llu udp %llu errors %llu\n", nthreads,
	       mixed ? "mixed" : "tcp", mpps,
	       (unsigned long long)total.packets, (unsigned long long)total.tcp,
	       (unsigned long long)total.udp, (unsigned long long)total.errors);
	rc = total.errors != 0;
	pthread_barrier_destroy(&start);
out:
	free(w);
	return rc;
}
