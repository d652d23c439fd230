/* test_flow_mem.c - a SYN flood of N distinct tuples stays under max_flows; evictions account for the rest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>

#include "rt_util.h"

#define CAP 100000ULL

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static uint64_t g_n = 2000000;

struct mem_ends {
	uint64_t n, evicted_reason;
};

static void mem_end(void *ctx, const struct rs_flow_info *f,
		    enum rs_flow_end_reason why)
{
	struct mem_ends *e = ctx;

	(void)f;
	e->n++;
	e->evicted_reason += why == RS_END_EVICTED;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_syn_flood_bounded(void **state)
{
	struct rs_flow_config cfg;
	struct rs_flow_table *t = NULL;
	struct rs_flow_worker *w = NULL;
	struct mem_ends ends = {0, 0};
	const struct rs_flow_stats *st;
	struct rs_pkt p;
	struct rusage ru;
	uint64_t maxcount = 0;
	double t0 = now_s();

	(void)state;
	rs_flow_config_default(&cfg);
	cfg.max_flows = CAP;
	assert_int_equal(rs_flow_table_new(&t, &cfg), 0);
	assert_int_equal(rs_flow_worker_new(&w, t, 0, NULL, NULL, mem_end,
					    &ends), 0);
	/* One template; only source address and port change. */
	p = rt_tcp("198.18.0.0", 1024, "198.19.255.254", 80, RS_TCP_SYN, 1, 0,
		   NULL, 0, 0);
	for (uint64_t i = 0; i < g_n; i++) {
		uint32_t a = (uint32_t)(i % 131072);   /* 198.18.0.0/15 */

		p.src[1] = (uint8_t)(18 + (a >> 16));
		p.src[2] = (uint8_t)(a >> 8);
		p.src[3] = (uint8_t)a;
		p.sport = (uint16_t)(1024 + i / 131072);
		p.ts_ns = i * 1000;                     /* 1 us apart */
		assert_int_equal(rs_flow_packet(w, &p), 0);
		if ((i & 1023) == 1023) {
			uint64_t c = rs_flow_table_count(t);

			if (c > maxcount)
				maxcount = c;
			rs_flow_tick(w, p.ts_ns);
			rs_flow_quiescent(w);           /* lets call_rcu free */
		}
	}
	st = rs_flow_worker_stats(w);
	print_message("%llu SYNs in %.2f s: created %llu active %llu ended %llu "
		      "evicted %llu, max in table %llu\n",
		      (unsigned long long)g_n, now_s() - t0,
		      (unsigned long long)st->flows_created,
		      (unsigned long long)st->flows_active,
		      (unsigned long long)st->flows_ended,
		      (unsigned long long)st->flows_evicted,
		      (unsigned long long)maxcount);
	assert_true(maxcount <= CAP);
	assert_int_equal(rs_flow_table_count(t), g_n < CAP ? g_n : CAP);
	assert_int_equal(st->flows_created, g_n);
	assert_int_equal(st->flows_created, st->flows_active + st->flows_ended);
	assert_int_equal(st->flows_evicted, g_n > CAP ? g_n - CAP : 0);
	assert_int_equal(st->flows_timeout, 0);  /* 2 s of SYNs < 60 s */
	assert_int_equal(ends.n, st->flows_ended);
	assert_int_equal(ends.evicted_reason, st->flows_evicted);
	assert_int_equal(st->flows_refused + st->alloc_failures, 0);
	rs_flow_flush(w, g_n * 1000, RS_END_SHUTDOWN);
	assert_int_equal(st->flows_ended, g_n);
	assert_int_equal(rs_flow_table_count(t), 0);
	rs_flow_worker_free(w);
	rs_flow_table_free(t);
	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	print_message("peak RSS %ld MiB\n", ru.ru_maxrss / 1024);
#ifndef UNDER_ASAN
	/* ~100k live flows plus what waits for a grace period: far below
	 * what 2M unfreed flows would take (~900 MiB). */
	assert_true(ru.ru_maxrss / 1024 < 256);
#endif
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_flood_bounded),
	};

	if (argc > 1)
		g_n = strtoull(argv[1], NULL, 10);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
