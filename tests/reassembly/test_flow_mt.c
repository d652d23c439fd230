/* test_flow_mt.c - concurrency: 4 workers insert, look up and remove flows of one shared key space at once. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow_impl.h"   /* white-box: the global out-of-order byte count */
#include "rt_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define NTHREADS 4
#define NKEYS 2048          /* shared by all threads: lookups cross owners */
#define DEFAULT_SECONDS 3
#define MAX_PKTS_PER_THREAD 50000000ULL   /* bound even on a fast box */

struct thr {
	pthread_t tid;
	unsigned id;
	struct rs_flow_table *tab;
	pthread_barrier_t *bar;
	uint64_t run_ns;
	struct rs_flow_stats st;
	uint64_t pkts, opens, closes, ends, bytes_seen;
	int err;                /* first unexpected return */
};

/* A small app: open allocates, close frees (LeakSanitizer checks). */
struct mt_conn {
	uint64_t bytes;
	uint32_t magic;
};

static void *mt_open(void *ctx, const struct rs_flow_info *f)
{
	struct thr *t = ctx;
	struct mt_conn *c = malloc(sizeof(*c));

	(void)f;
	if (!c)
		return NULL;
	c->bytes = 0;
	c->magic = 0x600dc0de;
	t->opens++;
	return c;
}

static void mt_data(void *ctx, void *app, const struct rs_flow_info *f,
		    int dir, const uint8_t *data, size_t len, uint64_t ts)
{
	struct mt_conn *c = app;
	struct thr *t = ctx;

	(void)f;
	(void)dir;
	(void)ts;
	if (c->magic != 0x600dc0de || (len && data[0] != 'p'))
		t->err = -EFAULT;
	c->bytes += len;
	t->bytes_seen += len;
}

static void mt_close(void *ctx, void *app, const struct rs_flow_info *f)
{
	struct thr *t = ctx;
	struct mt_conn *c = app;

	(void)f;
	if (c->magic != 0x600dc0de)
		t->err = -EFAULT;
	c->magic = 0;
	free(c);
	t->closes++;
}

static const struct rs_app_ops mt_ops = {
	.open = mt_open, .data = mt_data, .close = mt_close,
};

static void mt_end(void *ctx, const struct rs_flow_info *f,
		   enum rs_flow_end_reason why)
{
	struct thr *t = ctx;

	(void)why;
	if (f->pkts[0] + f->pkts[1] == 0)
		t->err = -EINVAL;
	t->ends++;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RT_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint8_t payload[256];   /* all 'p': checked by mt_data */

static void one_packet(struct thr *t, struct rs_flow_worker *w, uint64_t r,
		       uint64_t ts)
{
	unsigned k = (unsigned)(r % NKEYS), act = (unsigned)(r >> 16) % 16;
	uint32_t off = (uint32_t)((r >> 24) % 40) * 100;
	char cli[32];
	struct rs_pkt p;
	int rc;

	/* A quarter of the traffic: 8 hot tuples that every thread opens and
	 * resets, so owners end flows while other threads are looking them
	 * up (a use-after-free without RCU shows up here under ASan). */
	if ((r & 3) == 0) {
		k = (unsigned)(r >> 8) % 8;
		act = (r >> 12) & 1 ? 0 : 13;
	}
	snprintf(cli, sizeof(cli), "198.18.%u.%u", k >> 8, k & 255);
	switch (act) {
	case 0:
		p = rt_tcp(cli, (uint16_t)(1024 + k), "198.19.0.1", 80,
			   RS_TCP_SYN, 1000, 0, NULL, 0, ts);
		break;
	case 1:
		p = rt_tcp("198.19.0.1", 80, cli, (uint16_t)(1024 + k),
			   RS_TCP_SYN | RS_TCP_ACK, 9000, 1001, NULL, 0, ts);
		break;
	case 10:
	case 11:
		p = rt_tcp("198.19.0.1", 80, cli, (uint16_t)(1024 + k),
			   RS_TCP_ACK | RS_TCP_PSH, 9001 + off, 1001 + off,
			   payload, 100, ts);
		break;
	case 12:
		p = rt_tcp(cli, (uint16_t)(1024 + k), "198.19.0.1", 80,
			   RS_TCP_FIN | RS_TCP_ACK, 1001 + off, 9001, NULL, 0, ts);
		break;
	case 13:
		p = rt_tcp("198.19.0.1", 80, cli, (uint16_t)(1024 + k),
			   RS_TCP_RST, 9001, 0, NULL, 0, ts);
		break;
	case 14:
		p = rt_pkt(17, cli, (uint16_t)(1024 + k), "198.19.0.1", 53, ts);
		break;
	case 15:
		p = rt_pkt(1, cli, 0, "198.19.0.1", 0, ts);
		break;
	default:    /* client data at a random offset: lots out of order */
		p = rt_tcp(cli, (uint16_t)(1024 + k), "198.19.0.1", 80,
			   RS_TCP_ACK | RS_TCP_PSH, 1001 + off, 9001 + off,
			   payload, 100 + (unsigned)(r >> 40) % 150, ts);
		break;
	}
	rc = rs_flow_packet(w, &p);
	if (rc != 0 && rc != -ENOSPC && !t->err)
		t->err = rc;
	t->pkts++;
}

static void *worker_main(void *arg)
{
	struct thr *t = arg;
	struct rs_flow_worker *w = NULL;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (t->id + 1), ts = 0, end;
	int rc;

	/* Register on this thread, as a capture worker would. */
	rc = rs_flow_worker_new(&w, t->tab, t->id, &mt_ops, t, mt_end, t);
	pthread_barrier_wait(t->bar);
	if (rc) {
		t->err = rc;
		return NULL;
	}
	end = mono_ns() + t->run_ns;
	while (t->pkts < MAX_PKTS_PER_THREAD) {
		/* A "ring block" of 64 packets, then a quiescent state. */
		for (int i = 0; i < 64; i++) {
			ts += 5000;   /* 5 us of packet time each */
			one_packet(t, w, xorshift(&rng), ts);
		}
		rs_flow_tick(w, ts);
		rs_flow_quiescent(w);
		if ((t->pkts & 4095) == 0) {
			/* An idle poll(): offline while blocked. */
			rs_flow_offline(w);
			usleep(50);
			rs_flow_online(w);
			if (mono_ns() > end)
				break;
		}
	}
	t->st = *rs_flow_worker_stats(w);
	rs_flow_worker_free(w);   /* ends what it still owns */
	return NULL;
}

static void test_concurrent_workers(void **state)
{
	struct rs_flow_config cfg;
	struct rs_flow_table *tab = NULL;
	struct thr thr[NTHREADS];
	struct rs_flow_stats sum;
	pthread_barrier_t bar;
	const char *env = getenv("RS_MT_SECONDS");
	uint64_t secs = env ? strtoull(env, NULL, 10) : DEFAULT_SECONDS;
	uint64_t pkts = 0, ends = 0, t0;

	(void)state;
	memset(payload, 'p', sizeof(payload));
	rs_flow_config_default(&cfg);
	cfg.max_flows = 1024;                 /* < keys: evictions happen */
	cfg.timeout_new_ns = 2000000;         /* 2 ms of packet time */
	cfg.timeout_est_ns = 10000000;
	cfg.timeout_closed_ns = 500000;
	cfg.timeout_udp_ns = 3000000;
	cfg.timeout_other_ns = 3000000;
	cfg.ooo_bytes_per_flow = 800;
	cfg.ooo_bytes_max = 24 * 1024;        /* shared cap is hit too */
	assert_int_equal(rs_flow_table_new(&tab, &cfg), 0);
	assert_int_equal(pthread_barrier_init(&bar, NULL, NTHREADS), 0);
	memset(thr, 0, sizeof(thr));
	memset(&sum, 0, sizeof(sum));
	t0 = mono_ns();
	for (unsigned i = 0; i < NTHREADS; i++) {
		thr[i].id = i;
		thr[i].tab = tab;
		thr[i].bar = &bar;
		thr[i].run_ns = secs * RT_SEC;
		assert_int_equal(pthread_create(&thr[i].tid, NULL, worker_main,
						&thr[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(thr[i].tid, NULL), 0);
		assert_int_equal(thr[i].err, 0);
		assert_int_equal(thr[i].opens, thr[i].closes);
		assert_int_equal(thr[i].st.flows_created,
				 thr[i].st.flows_active + thr[i].st.flows_ended);
		rs_flow_stats_add(&sum, &thr[i].st);
		pkts += thr[i].pkts;
		ends += thr[i].ends;
	}
	print_message("%llu packets in %.2f s; created %llu evicted %llu "
		      "timeout %llu reuse %llu wrong_worker %llu races %llu "
		      "refused %llu ooo_dropped %llu gaps %llu\n",
		      (unsigned long long)pkts, (double)(mono_ns() - t0) / 1e9,
		      (unsigned long long)sum.flows_created,
		      (unsigned long long)sum.flows_evicted,
		      (unsigned long long)sum.flows_timeout,
		      (unsigned long long)sum.tuple_reuse,
		      (unsigned long long)sum.wrong_worker,
		      (unsigned long long)sum.insert_races,
		      (unsigned long long)sum.flows_refused,
		      (unsigned long long)sum.ooo_dropped,
		      (unsigned long long)sum.tcp_gaps);
	/* Every worker was freed: everything it created has ended. */
	assert_int_equal(ends, sum.flows_created);
	assert_true(sum.flows_created > 1000);
	assert_true(sum.wrong_worker > 0);
	assert_true(sum.flows_evicted > 0);
	assert_true(sum.flows_timeout > 0);
	assert_true(sum.tuple_reuse > 0);
	assert_true(sum.ooo_segments > 0);
	assert_true(sum.ooo_dropped > 0);
	assert_int_equal(rs_flow_table_count(tab), 0);
	assert_int_equal(atomic_load(&tab->ooo_bytes), 0);
	pthread_barrier_destroy(&bar);
	rs_flow_table_free(tab);   /* rcu_barrier, then free: LSan checks */
}

/* ---- the index grows while every worker inserts and looks up ---------- */

#define GROW_KEYS 12000     /* per thread: 48000 flows, index 4096 -> 64 Ki+ */

struct grower {
	pthread_t tid;
	unsigned id;
	struct rs_flow_table *tab;
	pthread_barrier_t *bar;
	struct rs_flow_stats st;
	int err;
};

static struct rs_pkt grow_pkt(unsigned thread, unsigned k)
{
	char cli[32];

	snprintf(cli, sizeof(cli), "198.18.%u.%u", k >> 8, k & 255);
	return rt_pkt(17, cli, (uint16_t)(1024 + thread), "198.19.0.1", 53,
		      RT_SEC);
}

static void *grower_main(void *arg)
{
	struct grower *g = arg;
	struct rs_flow_worker *w = NULL;
	int rc = rs_flow_worker_new(&w, g->tab, g->id, NULL, NULL, NULL, NULL);

	pthread_barrier_wait(g->bar);
	if (rc) {
		g->err = rc;
		return NULL;
	}
	/* Own keys in order; every 4th packet also one of the next thread's
	 * (found or not yet made: either way looked up while the index may
	 * be growing under it). */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < GROW_KEYS; k++) {
			struct rs_pkt p = grow_pkt(g->id, k);

			if (rs_flow_packet(w, &p) != 0)
				g->err = -EIO;
			if (k % 4 == 0) {
				p = grow_pkt((g->id + 1) % NTHREADS, k);
				if (rs_flow_packet(w, &p) != 0)
					g->err = -EIO;
			}
			if (k % 32 == 31)
				rs_flow_quiescent(w);
		}
		pthread_barrier_wait(g->bar);   /* all made before the 2nd pass */
	}
	g->st = *rs_flow_worker_stats(w);
	pthread_barrier_wait(g->bar);           /* counted before any frees */
	rs_flow_worker_free(w);
	return NULL;
}

static void test_concurrent_growth(void **state)
{
	struct rs_flow_table *tab = NULL;
	struct grower g[NTHREADS];
	pthread_barrier_t bar;
	uint64_t created = 0, wrong = 0;

	(void)state;
	assert_int_equal(rs_flow_table_new(&tab, NULL), 0);
	assert_int_equal(rs_flow_table_buckets(tab), 4096);
	assert_int_equal(pthread_barrier_init(&bar, NULL, NTHREADS + 1), 0);
	memset(g, 0, sizeof(g));
	for (unsigned i = 0; i < NTHREADS; i++) {
		g[i].id = i;
		g[i].tab = tab;
		g[i].bar = &bar;
		assert_int_equal(pthread_create(&g[i].tid, NULL, grower_main,
						&g[i]), 0);
	}
	pthread_barrier_wait(&bar);     /* registered */
	pthread_barrier_wait(&bar);     /* first pass done */
	assert_int_equal(rs_flow_table_count(tab), NTHREADS * GROW_KEYS);
	pthread_barrier_wait(&bar);     /* second pass done */
	pthread_barrier_wait(&bar);     /* stats taken */
	for (unsigned i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(g[i].tid, NULL), 0);
		assert_int_equal(g[i].err, 0);
		/* Each key is made once, by the thread that sent it first
		 * (its own, or the one before it), and found by the other. */
		created += g[i].st.flows_created;
		wrong += g[i].st.wrong_worker;
		assert_int_equal(g[i].st.flows_evicted, 0);
		assert_int_equal(g[i].st.flows_refused, 0);
	}
	/* So the second pass, after all the growing, found every flow. */
	assert_int_equal(created, NTHREADS * GROW_KEYS);
	assert_true(wrong > 0);
	/* Grown while workers ran, to at least as many buckets as flows
	 * (how far past depends on the count each growth saw). */
	assert_true(rs_flow_table_buckets(tab) >= NTHREADS * GROW_KEYS);
	assert_int_equal(rs_flow_table_count(tab), 0);
	pthread_barrier_destroy(&bar);
	rs_flow_table_free(tab);
}

/* ---- the grace period, deterministically ------------------------------ */

#ifdef HAVE_ASAN
struct reader {
	struct rs_flow_table *tab;
	pthread_barrier_t bar;
	int rc;
};

/* A second worker that is online and holds still (as if in the middle of
 * a lookup) until told, then passes a quiescent state. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct rs_flow_worker *w = NULL;

	r->rc = rs_flow_worker_new(&w, r->tab, 1, NULL, NULL, NULL, NULL);
	pthread_barrier_wait(&r->bar);      /* 1: registered, online */
	pthread_barrier_wait(&r->bar);      /* 2: main ended a flow */
	pthread_barrier_wait(&r->bar);      /* 3: main checked it */
	if (w)
		rs_flow_quiescent(w);
	pthread_barrier_wait(&r->bar);      /* 4: quiescent passed */
	rs_flow_worker_free(w);
	return NULL;
}

static const void *g_ended_info;

static void keep_info(void *ctx, const struct rs_flow_info *f,
		      enum rs_flow_end_reason why)
{
	(void)ctx;
	(void)why;
	g_ended_info = f;   /* points into the flow: freed with it */
}
#endif

/* An ended flow's memory must outlive every reader that was online when
 * it was removed, and be freed once they have all been quiescent. */
static void test_grace_period(void **state)
{
#ifndef HAVE_ASAN
	(void)state;
	skip();   /* needs ASan to see whether memory is freed */
#else
	struct reader r = { .tab = NULL };
	struct rs_flow_worker *w = NULL;
	struct rs_pkt p = rt_pkt(17, "198.18.0.1", 1, "198.18.0.2", 2, 1);
	pthread_t tid;
	uint64_t deadline;

	(void)state;
	assert_int_equal(rs_flow_table_new(&r.tab, NULL), 0);
	assert_int_equal(pthread_barrier_init(&r.bar, NULL, 2), 0);
	assert_int_equal(pthread_create(&tid, NULL, reader_main, &r), 0);
	pthread_barrier_wait(&r.bar);                           /* 1 */
	assert_int_equal(r.rc, 0);
	assert_int_equal(rs_flow_worker_new(&w, r.tab, 0, NULL, NULL,
					    keep_info, NULL), 0);
	assert_int_equal(rs_flow_packet(w, &p), 0);
	rs_flow_flush(w, 2, RS_END_SHUTDOWN);
	assert_non_null(g_ended_info);
	rs_flow_quiescent(w);
	rs_flow_offline(w);           /* we are not the ones holding it */
	pthread_barrier_wait(&r.bar);                           /* 2 */
	usleep(100 * 1000);           /* call_rcu has time: it must wait */
	assert_false(__asan_address_is_poisoned(g_ended_info));
	pthread_barrier_wait(&r.bar);                           /* 3 */
	pthread_barrier_wait(&r.bar);                           /* 4 */
	/* Now the grace period can end: freed within a deadline. */
	deadline = mono_ns() + 5 * RT_SEC;
	while (!__asan_address_is_poisoned(g_ended_info) &&
	       mono_ns() < deadline)
		usleep(1000);
	assert_true(__asan_address_is_poisoned(g_ended_info));
	assert_int_equal(pthread_join(tid, NULL), 0);
	rs_flow_online(w);
	rs_flow_worker_free(w);
	pthread_barrier_destroy(&r.bar);
	rs_flow_table_free(r.tab);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grace_period),
		cmocka_unit_test(test_concurrent_workers),
		cmocka_unit_test(test_concurrent_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
