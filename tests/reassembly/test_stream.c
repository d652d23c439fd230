/* test_stream.c - TCP reassembly unit tests: order, wraparound, overlaps, holes, ACK rules, caps, FIN/RST, flush. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "flow_impl.h"   /* white-box: the global out-of-order byte count */
#include "rt_util.h"

#define PA (RS_TCP_PSH | RS_TCP_ACK)

static const struct rs_flow_stats *st(const struct rt_env *e)
{
	return rs_flow_worker_stats(e->w);
}

static uint64_t global_ooo(const struct rt_env *e)
{
	return atomic_load(&e->t->ooo_bytes);
}

/* Byte i of the reference stream. */
static uint8_t base(uint32_t i)
{
	return (uint8_t)('a' + i % 26);
}

static uint8_t g_ref[RT_BUF];

static void fill_ref(void)
{
	for (uint32_t i = 0; i < RT_BUF; i++)
		g_ref[i] = base(i);
}

static const struct rt_conn C = {
	.cli = "198.18.0.10", .cport = 40000, .srv = "198.18.1.1", .sport = 80,
	.cisn = 1000, .sisn = 5000,
};

/* Client bytes [off, off+len) of the reference stream. */
static void c2s_ref(struct rt_env *e, const struct rt_conn *c, uint32_t off,
		    uint32_t len, uint64_t ts)
{
	assert_int_equal(rt_c2s(e->w, c, PA, off, 0, (const char *)g_ref + off,
				len, ts), 0);
}

static struct rt_app_conn *conn0(struct rt_env *e)
{
	assert_true(e->app.nconns >= 1);
	return e->app.conns[0];
}

static int setup(void **state)
{
	struct rt_env *e;

	fill_ref();
	if (rt_env_new(&e, NULL, true))
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct rt_env *e = *state;

	rs_flow_flush(e->w, 1000 * RT_SEC, RS_END_SHUTDOWN);
	assert_int_equal(global_ooo(e), 0);
	rt_env_free(e);
	return 0;
}

/* ---- in order ------------------------------------------------------------ */

static void test_inorder_zero_copy(void **state)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	static const char resp[] = "HTTP/1.0 200 OK\r\n\r\nhello";
	struct rt_env *e = *state;
	const uint32_t rq = sizeof(req) - 1, rs = sizeof(resp) - 1;
	struct rt_app_conn *c;

	rt_handshake(e->w, &C, RT_SEC);
	assert_int_equal(e->app.opens, 0);           /* lazily, at payload */
	rt_c2s(e->w, &C, PA, 0, 0, req, rq, RT_SEC + 10);
	assert_int_equal(e->app.opens, 1);
	c = conn0(e);
	assert_ptr_equal(c->last_ptr, req);          /* from the frame */
	rt_s2c(e->w, &C, PA, 0, rq, resp, rs, RT_SEC + 11);
	assert_ptr_equal(c->last_ptr, resp);
	rt_c2s(e->w, &C, RS_TCP_ACK | RS_TCP_FIN, rq, rs, NULL, 0, RT_SEC + 12);
	rt_s2c(e->w, &C, RS_TCP_ACK | RS_TCP_FIN, rs, rq + 1, NULL, 0, RT_SEC + 13);
	rt_c2s(e->w, &C, RS_TCP_ACK, rq + 1, rs + 1, NULL, 0, RT_SEC + 14);
	/* Both directions ended: the app is closed at once, not at flow end. */
	assert_string_equal(c->log, "d0:18 d1:24 e0 e1 c");
	assert_int_equal(c->first_ts[0], RT_SEC + 10);
	assert_memory_equal(c->d[0].buf, req, rq);
	assert_memory_equal(c->d[1].buf, resp, rs);
	rs_flow_flush(e->w, 2 * RT_SEC, RS_END_SHUTDOWN);
	assert_string_equal(c->log, "d0:18 d1:24 e0 e1 c");
	assert_int_equal(e->ends.why[0], RS_END_FIN);
	assert_string_equal(e->ends.info[0].state, "closed");
	assert_int_equal(st(e)->tcp_gaps, 0);
	assert_int_equal(st(e)->ooo_segments, 0);
	assert_int_equal(st(e)->tcp_segments, 8);
	assert_int_equal(e->app.closes, 1);
}

static void test_retransmit(void **state)
{
	struct rt_env *e = *state;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 0, 10, 10);
	c2s_ref(e, &C, 0, 10, 11);       /* whole copy again */
	c2s_ref(e, &C, 5, 10, 12);       /* half old, half new */
	assert_string_equal(conn0(e)->log, "d0:10 d0:5 ");
	assert_int_equal(st(e)->retransmits, 1);
	assert_int_equal(st(e)->overlaps, 1);
	assert_memory_equal(conn0(e)->d[0].buf, g_ref, 15);
}

/* SYN and FIN each take one sequence number; data on a SYN counts. */
static void test_syn_fin_consume_seq(void **state)
{
	struct rt_env *e = *state;
	struct rs_pkt syn = rt_tcp(C.cli, C.cport, C.srv, C.sport, RS_TCP_SYN,
				   C.cisn, 0, "ab", 2, 1);
	struct rt_app_conn *c;

	rs_flow_packet(e->w, &syn);         /* data at cisn+1: bytes 0,1 */
	c2s_ref(e, &C, 2, 3, 2);            /* "cde" right after */
	c = conn0(e);
	assert_string_equal(c->log, "d0:2 d0:3 ");
	assert_memory_equal(c->d[0].buf, "abcde", 5);
	rt_c2s(e->w, &C, RS_TCP_ACK | RS_TCP_FIN, 5, 0, NULL, 0, 3);
	assert_string_equal(c->log, "d0:2 d0:3 e0 ");
	/* Data after the FIN is not part of the stream. */
	c2s_ref(e, &C, 5, 4, 4);
	assert_string_equal(c->log, "d0:2 d0:3 e0 ");
}

/* ---- out of order --------------------------------------------------------- */

/* 8 segments of 8 bytes; arrival orders, every one must give the stream
 * back intact.  The client ISN puts byte 16 at sequence 0 (wraparound). */
static void test_wraparound_orders(void **state)
{
	static const uint8_t orders[][8] = {
		{ 0, 1, 2, 3, 4, 5, 6, 7 },
		{ 1, 0, 3, 2, 5, 4, 7, 6 },
		{ 7, 6, 5, 4, 3, 2, 1, 0 },
		{ 0, 2, 4, 6, 1, 3, 5, 7 },
		{ 3, 7, 1, 5, 0, 6, 2, 4 },
	};
	struct rt_env *e = *state;

	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		struct rt_conn c = C;
		struct rt_app_conn *a;

		c.cport = (uint16_t)(41000 + o);
		c.cisn = 0xffffffffu - 16;   /* byte 0 at 2^32 - 16 */
		c.sisn = 0xffffffffu;        /* server: byte 0 at seq 0 */
		rt_handshake(e->w, &c, 0);
		for (int i = 0; i < 8; i++)
			c2s_ref(e, &c, orders[o][i] * 8u, 8, 10 + i);
		rt_s2c(e->w, &c, PA, 0, 64, "ok", 2, 20);
		a = e->app.conns[o];
		assert_int_equal(a->d[0].len, 64);
		assert_memory_equal(a->d[0].buf, g_ref, 64);
		assert_int_equal(a->d[0].gaps, 0);
		assert_int_equal(a->d[1].len, 2);
	}
	assert_int_equal(st(e)->tcp_gaps, 0);
	assert_int_equal(st(e)->ooo_segments, 0 + 4 + 7 + 3 + 5);
	assert_int_equal(global_ooo(e), 0);
}

/* The Suricata/Novak overlap shapes: a new segment N against a buffered
 * one E, starting before/at/inside E and ending before/at/after its end.
 * Bytes of E win (it came first).  A filler [0, start) arrives last. */
struct ov_case {
	const char *name;
	uint32_t es, ee;     /* E, first existing segment */
	uint32_t e2s, e2e;   /* optional second existing segment (0,0 none) */
	uint32_t ns, ne;     /* N */
	bool inorder;        /* N arrives in order (no filler) */
};

static const struct ov_case ov_cases[] = {
	{ "before/before", 20, 30, 0, 0, 15, 25, false },
	{ "before/at", 20, 30, 0, 0, 15, 30, false },
	{ "before/after", 20, 30, 0, 0, 15, 35, false },
	{ "at/before", 20, 30, 0, 0, 20, 25, false },
	{ "at/at", 20, 30, 0, 0, 20, 30, false },
	{ "at/after", 20, 30, 0, 0, 20, 35, false },
	{ "inside/before", 20, 30, 0, 0, 22, 28, false },
	{ "inside/at", 20, 30, 0, 0, 22, 30, false },
	{ "inside/after", 20, 30, 0, 0, 22, 35, false },
	{ "spans two", 20, 25, 30, 35, 15, 40, false },
	{ "in order, ends inside", 20, 30, 0, 0, 0, 25, true },
	{ "in order, ends at", 20, 30, 0, 0, 0, 30, true },
	{ "in order, ends after", 20, 30, 0, 0, 0, 35, true },
	{ "in order, spans two", 20, 25, 30, 35, 0, 40, true },
};

static bool in_range(uint32_t i, uint32_t s, uint32_t e)
{
	return i >= s && i < e;
}

static void run_overlap(struct rt_env *e, const struct ov_case *k, bool differ,
			unsigned idx)
{
	uint8_t nbuf[64], want[64];
	uint32_t end = k->ne, lo = k->ns;
	struct rt_conn c = C;
	struct rt_app_conn *a;
	uint64_t mism0 = st(e)->overlap_mismatch, ovl0 = st(e)->overlaps;
	bool has2 = k->e2e > k->e2s;

	c.cport = (uint16_t)(42000 + idx);
	if (k->ee > end)
		end = k->ee;
	if (has2 && k->e2e > end)
		end = k->e2e;
	if (k->es < lo)
		lo = k->es;
	for (uint32_t i = 0; i < sizeof(nbuf); i++) {
		nbuf[i] = differ ? 'X' : base(i);
		bool old = in_range(i, k->es, k->ee) ||
			   (has2 && in_range(i, k->e2s, k->e2e));
		want[i] = old || !in_range(i, k->ns, k->ne) ? base(i) : nbuf[i];
	}
	rt_handshake(e->w, &c, 0);
	c2s_ref(e, &c, k->es, k->ee - k->es, 10);
	if (has2)
		c2s_ref(e, &c, k->e2s, k->e2e - k->e2s, 11);
	rt_c2s(e->w, &c, PA, k->ns, 0, (const char *)nbuf + k->ns,
	       k->ne - k->ns, 12);
	if (!k->inorder)
		c2s_ref(e, &c, 0, lo, 13);       /* the filler */
	a = e->app.conns[e->app.nconns - 1];
	assert_int_equal(a->d[0].len, end);
	assert_memory_equal(a->d[0].buf, want, end);
	assert_int_equal(a->d[0].gaps, 0);
	assert_int_equal(st(e)->overlaps - ovl0, 1);
	assert_int_equal(st(e)->overlap_mismatch - mism0, differ ? 1 : 0);
	if (differ)
		assert_true(a->d[0].len > 0);
	rs_flow_flush(e->w, 100, RS_END_SHUTDOWN);
	assert_int_equal(!!(e->ends.info[e->ends.n - 1].flags &
			    RS_FLOW_OVERLAP_DIFF), differ);
}

static void test_overlap_shapes(void **state)
{
	struct rt_env *e = *state;
	unsigned idx = 0;

	for (size_t i = 0; i < sizeof(ov_cases) / sizeof(ov_cases[0]); i++) {
		for (int differ = 0; differ < 2; differ++) {
			print_message("overlap %s %s\n", ov_cases[i].name,
				      differ ? "differ" : "same");
			run_overlap(e, &ov_cases[i], differ, idx++);
		}
	}
	assert_int_equal(st(e)->overlap_mismatch,
			 sizeof(ov_cases) / sizeof(ov_cases[0]));
	assert_int_equal(st(e)->tcp_gaps, 0);
}

/* ---- holes ----------------------------------------------------------------- */

static void test_hole_middle_flush(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 0, 10, 10);
	c2s_ref(e, &C, 20, 10, 11);
	a = conn0(e);
	assert_string_equal(a->log, "d0:10 ");
	rs_flow_flush(e->w, 20, RS_END_SHUTDOWN);
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 e0 e1 c");
	assert_memory_equal(a->d[0].buf + 10, g_ref + 20, 10);
	assert_int_equal(st(e)->tcp_gaps, 1);
	assert_int_equal(st(e)->gap_bytes, 10);
	assert_int_equal(e->ends.info[0].gaps, 1);
	assert_true(e->ends.info[0].flags & RS_FLOW_GAP);
}

static void test_hole_start_flush(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 10, 10, 10);
	c2s_ref(e, &C, 20, 10, 11);
	a = conn0(e);
	assert_string_equal(a->log, "");
	rs_flow_flush(e->w, 20, RS_END_SHUTDOWN);
	assert_string_equal(a->log, "g0:10 d0:10 d0:10 e0 e1 c");
	assert_int_equal(a->first_ts[0], 10);   /* arrival time kept */
	assert_int_equal(st(e)->ooo_segments, 2);
	assert_int_equal(st(e)->ooo_bytes, 20);
}

/* ---- ACK rules ------------------------------------------------------------- */

static void test_ack_skips_hole(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 0, 10, 10);
	c2s_ref(e, &C, 20, 10, 11);
	c2s_ref(e, &C, 40, 10, 12);
	/* Server acknowledges up to 15: [10,15) is lost, [15,20) may come. */
	rt_s2c(e->w, &C, RS_TCP_ACK, 0, 15, NULL, 0, 13);
	a = conn0(e);
	assert_string_equal(a->log, "d0:10 g0:5 ");
	c2s_ref(e, &C, 15, 5, 14);
	assert_string_equal(a->log, "d0:10 g0:5 d0:5 d0:10 ");
	/* Up to 50: the second hole goes, the data after it comes out. */
	rt_s2c(e->w, &C, RS_TCP_ACK, 0, 50, NULL, 0, 15);
	assert_string_equal(a->log, "d0:10 g0:5 d0:5 d0:10 g0:10 d0:10 ");
	assert_int_equal(st(e)->tcp_gaps, 2);
	assert_int_equal(st(e)->gap_bytes, 15);
}

/* The ACK that gives up a hole rides on in-order data of the other
 * direction (the fast path): the hole and what follows it come out first,
 * then that data.  Later the server keeps sending after the client's FIN. */
static void test_ack_on_data_skips_hole(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;
	static const char srv[] = "HTTP/1.1 200 OK\r\n";

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 0, 10, 10);
	c2s_ref(e, &C, 20, 10, 11);
	assert_int_equal(rt_s2c(e->w, &C, PA, 0, 25, srv, 5, 12), 0);
	a = conn0(e);
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 d1:5 ");
	assert_int_equal(rt_s2c(e->w, &C, PA, 5, 30, srv + 5, 5, 13), 0);
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 d1:5 d1:5 ");
	/* Client FIN at 30; the server's data acknowledges it and goes on. */
	assert_int_equal(rt_c2s(e->w, &C, RS_TCP_FIN | RS_TCP_ACK, 30, 10,
				NULL, 0, 14), 0);
	assert_int_equal(rt_s2c(e->w, &C, PA, 10, 31, srv + 10, 7, 15), 0);
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 d1:5 d1:5 e0 d1:7 ");
	assert_int_equal(a->d[1].len, 17);
	assert_memory_equal(a->d[1].buf, srv, 17);
	assert_int_equal(st(e)->tcp_gaps, 1);
	assert_int_equal(st(e)->tcp_segments, 9);
	assert_int_equal(rt_s2c(e->w, &C, RS_TCP_FIN | RS_TCP_ACK, 17, 31,
				NULL, 0, 16), 0);
	assert_string_equal(a->log,
			    "d0:10 g0:10 d0:10 d1:5 d1:5 e0 d1:7 e1 c");
}

/* The capture shows the ACK before the data it covers (both directions
 * of a flow race through different CPUs): no gap. */
static void test_ack_before_data(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	rt_s2c(e->w, &C, RS_TCP_ACK, 0, 10, NULL, 0, 10);
	c2s_ref(e, &C, 0, 10, 11);
	a = conn0(e);
	assert_string_equal(a->log, "d0:10 ");
	/* ACK ahead, and the two segments it covers swapped as well. */
	rt_s2c(e->w, &C, RS_TCP_ACK, 0, 30, NULL, 0, 12);
	c2s_ref(e, &C, 20, 10, 13);
	c2s_ref(e, &C, 10, 10, 14);
	assert_string_equal(a->log, "d0:10 d0:10 d0:10 ");
	assert_int_equal(st(e)->tcp_gaps, 0);
	/* A data-less tail the peer acknowledged: reported at flush. */
	rt_s2c(e->w, &C, RS_TCP_ACK, 0, 45, NULL, 0, 15);
	assert_int_equal(st(e)->tcp_gaps, 0);
	rs_flow_flush(e->w, 20, RS_END_SHUTDOWN);
	assert_string_equal(a->log, "d0:10 d0:10 d0:10 g0:15 e0 e1 c");
	assert_memory_equal(a->d[0].buf, g_ref, 30);
}

static void test_fin_after_hole(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 0, 10, 10);
	c2s_ref(e, &C, 20, 10, 11);
	rt_c2s(e->w, &C, RS_TCP_ACK | RS_TCP_FIN, 30, 0, NULL, 0, 12);
	a = conn0(e);
	assert_string_equal(a->log, "d0:10 ");     /* waits for the hole */
	rt_s2c(e->w, &C, RS_TCP_ACK, 0, 31, NULL, 0, 13);  /* FIN acked */
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 e0 ");
}

static void test_rst_flushes(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 0, 10, 10);
	c2s_ref(e, &C, 20, 10, 11);
	rt_s2c(e->w, &C, RS_TCP_RST, 0, 0, NULL, 0, 12);
	a = conn0(e);
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 e0 e1 c");  /* closed at once */
	c2s_ref(e, &C, 10, 10, 13);                /* too late: ignored */
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 e0 e1 c");
	rs_flow_tick(e->w, 61 * RT_SEC);           /* closed timeout */
	assert_string_equal(a->log, "d0:10 g0:10 d0:10 e0 e1 c");
	assert_int_equal(e->ends.why[0], RS_END_RST);
	assert_string_equal(e->ends.info[0].state, "closed");
}

/* ---- midstream --------------------------------------------------------------- */

static void test_midstream_start(void **state)
{
	struct rt_env *e = *state;
	const uint32_t s0 = 0x7fffff00u;
	struct rs_pkt p;
	struct rt_app_conn *a;

	p = rt_tcp(C.cli, C.cport, C.srv, C.sport, PA, s0, 777, "hello", 5, 1);
	rs_flow_packet(e->w, &p);
	p = rt_tcp(C.cli, C.cport, C.srv, C.sport, PA, s0 - 5, 777, "01234", 5, 2);
	rs_flow_packet(e->w, &p);                  /* before the start */
	p = rt_tcp(C.cli, C.cport, C.srv, C.sport, PA, s0 + 10, 777, "!!", 2, 3);
	rs_flow_packet(e->w, &p);                  /* after a hole */
	p = rt_tcp(C.cli, C.cport, C.srv, C.sport, PA, s0 + 5, 777, "world", 5, 4);
	rs_flow_packet(e->w, &p);
	p = rt_tcp(C.srv, C.sport, C.cli, C.cport, PA, 777, s0 + 12, "OK", 2, 5);
	rs_flow_packet(e->w, &p);
	a = conn0(e);
	assert_string_equal(a->log, "d0:5 d0:5 d0:2 d1:2 ");
	assert_memory_equal(a->d[0].buf, "helloworld!!", 12);
	assert_int_equal(st(e)->midstream, 1);
	assert_int_equal(st(e)->retransmits, 1);
	rs_flow_flush(e->w, 10, RS_END_SHUTDOWN);
	assert_true(e->ends.info[0].flags & RS_FLOW_MIDSTREAM);
	assert_int_equal(e->ends.info[0].cli_port, C.cport);
}

/* ---- caps -------------------------------------------------------------------- */

static void small_caps(struct rs_flow_config *c)
{
	c->ooo_bytes_per_flow = 100;
	c->ooo_bytes_max = 150;
}

static int setup_caps(void **state)
{
	struct rt_env *e;

	fill_ref();
	if (rt_env_new(&e, small_caps, true))
		return -1;
	*state = e;
	return 0;
}

static void test_per_flow_cap(void **state)
{
	struct rt_env *e = *state;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 10, 50, 10);   /* hole [0,10) */
	c2s_ref(e, &C, 70, 50, 11);   /* hole [60,70) */
	assert_int_equal(global_ooo(e), 100);
	/* No room: stop waiting for [0,10); the rest fits again. */
	c2s_ref(e, &C, 130, 10, 12);
	a = conn0(e);
	assert_string_equal(a->log, "g0:10 d0:50 ");
	assert_int_equal(st(e)->ooo_dropped, 1);
	assert_int_equal(global_ooo(e), 60);
	/* A segment bigger than the cap on its own: everything gives way. */
	c2s_ref(e, &C, 200, 120, 13);
	assert_string_equal(a->log,
		"g0:10 d0:50 g0:10 d0:50 g0:10 d0:10 g0:60 d0:120 ");
	assert_int_equal(st(e)->ooo_dropped, 2);
	assert_int_equal(global_ooo(e), 0);
	assert_memory_equal(a->d[0].buf + 110, g_ref + 200, 120);
	rs_flow_flush(e->w, 20, RS_END_SHUTDOWN);
	assert_true(e->ends.info[0].flags & RS_FLOW_OOO_CAPPED);
}

static void test_global_cap(void **state)
{
	struct rt_env *e = *state;
	struct rt_conn c2 = C;
	struct rt_app_conn *a, *b;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 10, 90, 10);             /* flow A buffers 90 */
	c2.cport = 40001;
	rt_handshake(e->w, &c2, 0);
	c2s_ref(e, &c2, 10, 40, 11);            /* B: 90 + 40 <= 150 */
	/* B: 130 + 70 > 150.  Giving up B's hole frees 40, still too
	 * little: B skips to the segment and takes it from the frame. */
	c2s_ref(e, &c2, 60, 70, 12);
	a = e->app.conns[0];
	b = e->app.conns[1];
	assert_string_equal(a->log, "");        /* A keeps waiting */
	assert_string_equal(b->log, "g0:10 d0:40 g0:10 d0:70 ");
	assert_int_equal(st(e)->ooo_dropped, 1);
	assert_int_equal(global_ooo(e), 90);
	c2s_ref(e, &C, 0, 10, 13);              /* A's hole fills */
	assert_string_equal(a->log, "d0:10 d0:90 ");
	assert_int_equal(global_ooo(e), 0);
}

/* ---- flush at end of input ---------------------------------------------------- */

static void test_eof_flush(void **state)
{
	struct rt_env *e = *state;
	struct rt_conn c2 = C;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 5, 5, 10);
	c2.cport = 40001;
	rt_handshake(e->w, &c2, 0);
	c2s_ref(e, &c2, 0, 5, 11);
	rt_s2c(e->w, &c2, PA, 10, 5, "zz", 2, 12);   /* server: hole [0,10) */
	rs_flow_flush(e->w, 20, RS_END_SHUTDOWN);
	assert_string_equal(e->app.conns[0]->log, "g0:5 d0:5 e0 e1 c");
	assert_string_equal(e->app.conns[1]->log, "d0:5 e0 g1:10 d1:2 e1 c");
	assert_int_equal(e->ends.n, 2);
	assert_int_equal(e->ends.by_reason[RS_END_SHUTDOWN], 2);
	assert_int_equal(global_ooo(e), 0);
	assert_int_equal(st(e)->flows_active, 0);
}

/* ---- without an app layer --------------------------------------------------------- */

static int setup_noapp(void **state)
{
	struct rt_env *e;

	fill_ref();
	if (rt_env_new(&e, NULL, false))
		return -1;
	*state = e;
	return 0;
}

static void test_no_app_tracks_seq(void **state)
{
	struct rt_env *e = *state;

	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 0, 10, 10);
	c2s_ref(e, &C, 20, 10, 11);    /* beyond the edge: a gap at once */
	c2s_ref(e, &C, 10, 10, 12);    /* late: looks like a retransmission */
	c2s_ref(e, &C, 30, 10, 13);
	assert_int_equal(st(e)->tcp_gaps, 1);
	assert_int_equal(st(e)->gap_bytes, 10);
	assert_int_equal(st(e)->retransmits, 1);
	assert_int_equal(st(e)->ooo_segments, 0);
	assert_int_equal(global_ooo(e), 0);
	assert_int_equal(e->app.opens, 0);
}

static void test_open_declined(void **state)
{
	struct rt_env *e = *state;

	e->app.decline = true;
	rt_handshake(e->w, &C, 0);
	c2s_ref(e, &C, 10, 10, 10);
	c2s_ref(e, &C, 0, 10, 11);
	assert_int_equal(e->app.opens, 1);
	assert_int_equal(e->app.nconns, 0);
	assert_int_equal(st(e)->ooo_segments, 0);
	rs_flow_flush(e->w, 20, RS_END_SHUTDOWN);
	assert_int_equal(e->app.closes, 0);
	assert_int_equal(e->app.opens, 1);
}

/* ---- snaplen ------------------------------------------------------------------ */

/* A segment cut by snaplen: 30 of 100 payload bytes captured.  The IP
 * total length says how much is missing: a gap right away. */
static void test_snaplen_cut(void **state)
{
	struct rt_env *e = *state;
	uint8_t frame[70];
	struct rs_pkt p;
	struct rt_app_conn *a;

	rt_handshake(e->w, &C, 0);
	memset(frame, 0, sizeof(frame));
	frame[0] = 0x45;
	frame[2] = 0;
	frame[3] = 140;                 /* 20 IP + 20 TCP + 100 data */
	frame[20 + 12] = 5 << 4;        /* TCP data offset 5 */
	memcpy(frame + 40, g_ref, 30);
	p = rt_tcp(C.cli, C.cport, C.srv, C.sport, PA, C.cisn + 1, C.sisn + 1,
		   frame + 40, 30, 10);
	p.frame = frame;
	p.caplen = sizeof(frame);
	p.wirelen = 140;
	p.l3 = frame;
	p.l4 = frame + 20;
	p.flags = RS_PKT_L3_TRUNC;
	rs_flow_packet(e->w, &p);
	c2s_ref(e, &C, 100, 10, 11);
	a = conn0(e);
	assert_string_equal(a->log, "d0:30 g0:70 d0:10 ");
	assert_int_equal(st(e)->gap_bytes, 70);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inorder_zero_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_fin_consume_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wraparound_orders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hole_middle_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hole_start_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_skips_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_on_data_skips_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_before_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_after_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_midstream_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_flow_cap, setup_caps, teardown),
		cmocka_unit_test_setup_teardown(test_global_cap, setup_caps, teardown),
		cmocka_unit_test_setup_teardown(test_eof_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_app_tracks_seq, setup_noapp, teardown),
		cmocka_unit_test_setup_teardown(test_open_declined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snaplen_cut, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
