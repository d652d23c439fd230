/* test_http.c - HTTP/1.x parser: control tests, then every scripted case whole, split and byte by byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_cases.h"
#include "http_impl.h"

static struct recs *ref, *got; /* big: on the heap */

/* ---- control ------------------------------------------------------ */

static void test_flag_names(void **state)
{
	static const char *const want[] = {
		"gap", "truncated", "midstream", "smuggling", "upgrade",
		"no_response", "chunked", "bad_request", "bad_response",
	};

	(void)state;
	for (unsigned i = 0; i < 9; i++)
		assert_string_equal(rs_http_flag_name(i), want[i]);
	assert_int_equal(RS_HTTP_F_BAD_RESPONSE, 1u << 8);
	assert_null(rs_http_flag_name(9));
	assert_null(rs_http_flag_name(31));
}

/* The inline tables of http_impl.h against their definitions. */
static void test_lex_tables(void **state)
{
	static const char tchar_extra[] = "!#$%&'*+-.^_`|~";
	static const struct {
		const char *name;
		int dir, kind;
	} kinds[] = {
		{ "Host", 0, H_HOST }, { "hOsT", 0, H_HOST }, { "Host", 1, H_OTHER },
		{ "Hos", 0, H_OTHER }, { "Hosu", 0, H_OTHER }, { "Gost", 0, H_OTHER },
		{ "User-Agent", 0, H_UA }, { "USER-AGENT", 0, H_UA },
		{ "User-Agent", 1, H_OTHER }, { "User_Agent", 0, H_OTHER },
		{ "User-Agenu", 0, H_OTHER }, { "User-Agens", 0, H_OTHER },
		{ "Content-Length", 0, H_CL }, { "content-length", 1, H_CL },
		{ "Content-Lengti", 0, H_OTHER }, { "Content.Length", 1, H_OTHER },
		{ "Content-Lengths", 0, H_OTHER }, { "Xontent-Length", 1, H_OTHER },
		{ "Transfer-Encoding", 0, H_TE }, { "TRANSFER-ENCODING", 1, H_TE },
		{ "Transfer-Encodinf", 1, H_OTHER }, { "Transfer-Encodin", 1, H_OTHER },
		{ "Transfer-Xncoding", 0, H_OTHER }, { "Accept", 0, H_OTHER },
	};

	(void)state;
	for (unsigned ch = 0; ch < 256; ch++) {
		bool want = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
			    (ch >= 'A' && ch <= 'Z') ||
			    (ch && strchr(tchar_extra, (int)ch));

		assert_int_equal(http_tchar((uint8_t)ch), want);
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		assert_int_equal(http_hdr_kind((const uint8_t *)kinds[i].name,
					       strlen(kinds[i].name),
					       kinds[i].dir),
				 kinds[i].kind);
}

static void test_layer_lifecycle(void **state)
{
	struct rs_http_layer l, blank;
	struct rs_http_conn *c1, *c2;

	(void)state;
	assert_int_equal(rs_http_layer_init(NULL, NULL, NULL), -EINVAL);
	memset(&blank, 0, sizeof(blank));
	assert_null(rs_http_conn_new(&blank, NULL)); /* never initialised */
	assert_null(rs_http_conn_new(NULL, NULL));
	assert_int_equal(rs_http_layer_init(&l, NULL, NULL), 0);
	assert_non_null(l.priv);
	/* No callback: transactions are still counted. */
	c1 = rs_http_conn_new(&l, NULL);
	assert_non_null(c1);
	rs_http_conn_data(c1, 0, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 1);
	rs_http_conn_free(c1);
	assert_int_equal(l.stats.txns, 1);
	assert_int_equal(l.stats.unanswered, 1);
	/* The pool hands the same memory back, fully reset. */
	c2 = rs_http_conn_new(&l, NULL);
	assert_ptr_equal(c1, c2);
	rs_http_conn_eof(c2, 0);
	rs_http_conn_free(c2);
	assert_int_equal(l.stats.txns, 1);
	rs_http_layer_fini(&l);
	assert_null(l.priv);
	rs_http_layer_fini(&l); /* twice is harmless */
}

static void test_bad_arguments(void **state)
{
	struct rs_http_layer l;
	struct rs_http_conn *c;

	(void)state;
	rs_http_conn_data(NULL, 0, (const uint8_t *)"x", 1, 0);
	rs_http_conn_gap(NULL, 0, 5);
	rs_http_conn_eof(NULL, 1);
	rs_http_conn_free(NULL);
	assert_int_equal(rs_http_layer_init(&l, NULL, NULL), 0);
	c = rs_http_conn_new(&l, NULL);
	assert_non_null(c);
	rs_http_conn_data(c, 2, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 0);
	rs_http_conn_data(c, -1, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 0);
	rs_http_conn_data(c, 0, NULL, 10, 0);
	rs_http_conn_gap(c, 3, 5);
	rs_http_conn_gap(c, 0, 0);
	rs_http_conn_eof(c, 7);
	rs_http_conn_free(c);
	assert_int_equal(l.stats.requests, 0);
	assert_int_equal(l.stats.gaps, 0);
	assert_int_equal(l.stats.txns, 0);
	rs_http_layer_fini(&l);
}

static void test_stats_add(void **state)
{
	struct rs_http_stats a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.requests = 1;
	b.responses = 2;
	b.txns = 3;
	b.gaps = 4;
	b.resyncs = 5;
	b.parse_errors = 6;
	b.truncated = 7;
	b.smuggling = 8;
	b.upgrades = 9;
	b.unanswered = 10;
	b.not_http = 11;
	b.orphan_responses = 12;
	b.evicted = 13;
	b.alloc_failures = 14;
	rs_http_stats_add(&a, &b);
	rs_http_stats_add(&a, &b);
	assert_int_equal(a.requests, 2);
	assert_int_equal(a.responses, 4);
	assert_int_equal(a.txns, 6);
	assert_int_equal(a.gaps, 8);
	assert_int_equal(a.resyncs, 10);
	assert_int_equal(a.parse_errors, 12);
	assert_int_equal(a.truncated, 14);
	assert_int_equal(a.smuggling, 16);
	assert_int_equal(a.upgrades, 18);
	assert_int_equal(a.unanswered, 20);
	assert_int_equal(a.not_http, 22);
	assert_int_equal(a.orphan_responses, 24);
	assert_int_equal(a.evicted, 26);
	assert_int_equal(a.alloc_failures, 28);
}

/* ---- helpers --------------------------------------------------------- */

static int stats_eq(const struct rs_http_stats *a, const struct rs_http_stats *b)
{
	return a->requests == b->requests && a->responses == b->responses &&
	       a->txns == b->txns && a->gaps == b->gaps &&
	       a->resyncs == b->resyncs && a->parse_errors == b->parse_errors &&
	       a->truncated == b->truncated && a->smuggling == b->smuggling &&
	       a->upgrades == b->upgrades && a->unanswered == b->unanswered &&
	       a->not_http == b->not_http &&
	       a->orphan_responses == b->orphan_responses &&
	       a->evicted == b->evicted;
}

static struct rs_flow_info flow_info(int midstream)
{
	struct rs_flow_info fi;

	memset(&fi, 0, sizeof(fi));
	fi.proto = 6;
	fi.addr_len = 4;
	fi.cli_port = 40000;
	fi.srv_port = 80;
	fi.flags = midstream ? RS_FLOW_MIDSTREAM : RS_FLOW_SYN_SEEN;
	return fi;
}

/* The counters follow from the transactions where they can. */
static void check_stat_invariants(const struct recs *r,
				  const struct rs_http_stats *st)
{
	uint64_t noresp = 0, smug = 0, trunc = 0;

	for (int i = 0; i < r->n; i++) {
		uint32_t f = r->r[i].t.flags;

		noresp += !!(f & RS_HTTP_F_NO_RESPONSE);
		smug += !!(f & RS_HTTP_F_SMUGGLING);
		trunc += !!(f & RS_HTTP_F_TRUNCATED);
		assert_int_equal(r->r[i].t.method[r->r[i].t.method_len], 0);
		assert_int_equal(r->r[i].t.uri[r->r[i].t.uri_len], 0);
		assert_true((r->r[i].t.status == -1) ==
			    !!(f & RS_HTTP_F_NO_RESPONSE) ||
			    (f & RS_HTTP_F_GAP) || (f & RS_HTTP_F_BAD_RESPONSE));
	}
	assert_int_equal(r->overflow, 0);
	assert_int_equal(st->txns, (uint64_t)r->n);
	assert_int_equal(st->unanswered, noresp);
	assert_int_equal(st->smuggling, smug);
	assert_int_equal(st->truncated, trunc);
}

static void check_case(const struct tcase *tc, const struct recs *r,
		       const struct rs_http_stats *st)
{
	if (r->n != tc->ntx)
		fail_msg("%s: %d transactions, expected %d", tc->name, r->n,
			 tc->ntx);
	for (int i = 0; i < tc->ntx; i++) {
		const struct exp *e = &tc->tx[i];
		const struct rs_http_txn *t = &r->r[i].t;

#define STR(f, x)                                                        \
	if (e->x && strcmp(t->f, e->x))                                  \
		fail_msg("%s txn %d: " #f " '%s', expected '%s'", tc->name, i, \
			 t->f, e->x);
		STR(method, method)
		STR(uri, uri)
		STR(host, host)
		STR(user_agent, ua)
#undef STR
		if (t->status != e->status)
			fail_msg("%s txn %d: status %d, expected %d", tc->name,
				 i, t->status, e->status);
		if (e->req_body != ANY && t->req_body_len != (uint64_t)e->req_body)
			fail_msg("%s txn %d: req_body_len %llu, expected %lld",
				 tc->name, i,
				 (unsigned long long)t->req_body_len,
				 e->req_body);
		if (e->resp_body != ANY &&
		    t->resp_body_len != (uint64_t)e->resp_body)
			fail_msg("%s txn %d: resp_body_len %llu, expected %lld",
				 tc->name, i,
				 (unsigned long long)t->resp_body_len,
				 e->resp_body);
		if (t->flags != e->flags)
			fail_msg("%s txn %d: flags %#x, expected %#x", tc->name,
				 i, t->flags, e->flags);
	}
	if (st->resyncs != (uint64_t)tc->resyncs ||
	    st->orphan_responses != (uint64_t)tc->orphans ||
	    st->upgrades != (uint64_t)tc->upgrades ||
	    st->evicted != (uint64_t)tc->evicted ||
	    st->not_http != (uint64_t)tc->not_http)
		fail_msg("%s: resyncs %llu orphans %llu upgrades %llu evicted "
			 "%llu not_http %llu; expected %d %d %d %d %d",
			 tc->name, (unsigned long long)st->resyncs,
			 (unsigned long long)st->orphan_responses,
			 (unsigned long long)st->upgrades,
			 (unsigned long long)st->evicted,
			 (unsigned long long)st->not_http, tc->resyncs,
			 tc->orphans, tc->upgrades, tc->evicted, tc->not_http);
	check_stat_invariants(r, st);
}

/* Whole, then every data step cut in two at every `stride`-th point (and
 * the last few), then byte by byte: the results must be identical. */
static void check_invariance(const char *name, const struct step *steps,
			     const struct rs_flow_info *fi, size_t stride)
{
	struct feed_mode whole = { -1, 0, 0 }, m;
	struct rs_http_stats st_ref, st;
	const char *why;

	assert_int_equal(run_steps(steps, fi, whole, ref, &st_ref), 0);
	for (int i = 0; i < MAX_STEPS && steps[i].kind != S_END; i++) {
		size_t n;

		if (steps[i].kind != S_D0 && steps[i].kind != S_D1)
			continue;
		n = step_len(&steps[i]);
		for (size_t k = 1; k < n; k++) {
			if (stride > 1 && k % stride && k + 4 < n && k > 4)
				continue;
			m = (struct feed_mode){ i, k, 0 };
			assert_int_equal(run_steps(steps, fi, m, got, &st), 0);
			why = recs_diff(ref, got);
			if (why)
				fail_msg("%s: step %d cut at %zu: %s", name, i,
					 k, why);
			if (!stats_eq(&st_ref, &st))
				fail_msg("%s: step %d cut at %zu: counters "
					 "differ", name, i, k);
		}
	}
	m = (struct feed_mode){ -1, 0, 1 };
	assert_int_equal(run_steps(steps, fi, m, got, &st), 0);
	why = recs_diff(ref, got);
	if (why)
		fail_msg("%s: byte by byte: %s", name, why);
	if (!stats_eq(&st_ref, &st))
		fail_msg("%s: byte by byte: counters differ", name);
}

/* ---- the table ----------------------------------------------------------- */

static void test_case_whole(void **state)
{
	const struct tcase *tc = *state;
	struct rs_flow_info fi = flow_info(tc->midstream);
	struct rs_http_stats st;
	struct feed_mode whole = { -1, 0, 0 };

	assert_int_equal(run_steps(tc->steps, &fi, whole, got, &st), 0);
	check_case(tc, got, &st);
}

static void test_case_splits(void **state)
{
	const struct tcase *tc = *state;
	struct rs_flow_info fi = flow_info(tc->midstream);

	check_invariance(tc->name, tc->steps, &fi, 1);
}

/* ---- generated cases -------------------------------------------------------- */

static char *repeat(char *p, int ch, size_t n)
{
	memset(p, ch, n);
	return p + n;
}

static void test_truncation(void **state)
{
	static char req[8192];
	char *p = req;
	struct step steps[] = {
		{ S_D0, req, 0 },
		D1("HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\n\r\n"),
		{ 0 },
	};
	struct rs_flow_info fi = flow_info(0);
	struct rs_http_stats st;
	const struct rs_http_txn *t;

	(void)state;
	p += sprintf(p, "GET /");
	p = repeat(p, 'a', 2999);
	p += sprintf(p, " HTTP/1.1\r\nHost: ");
	p = repeat(p, 'h', 300);
	p += sprintf(p, "\r\nUser-Agent: ");
	p = repeat(p, 'u', 700);
	p += sprintf(p, "\r\n\r\n");
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 1);
	t = &got->r[0].t;
	assert_int_equal(t->uri_len, RS_HTTP_URI_MAX - 1);
	assert_int_equal(strlen(t->uri), RS_HTTP_URI_MAX - 1);
	assert_int_equal(t->host_len, RS_HTTP_HOST_MAX - 1);
	assert_int_equal(t->ua_len, RS_HTTP_UA_MAX - 1);
	assert_string_equal(t->version, "HTTP/1.1");
	assert_string_equal(t->method, "GET");
	assert_int_equal(t->status, 414);
	assert_int_equal(t->flags, RS_HTTP_F_TRUNCATED);
	assert_int_equal(st.truncated, 1);
	/* The raw head is kept whole: it fits the store. */
	assert_true(got->r[0].has_head);
	assert_int_equal(got->r[0].head_len, strlen(req));
	assert_memory_equal(got->r[0].head, req, strlen(req));
	check_invariance("truncation", steps, &fi, 7);
}

static void test_header_block_limit(void **state)
{
	static char req[80 * 1024];
	char *p = req;
	struct step steps[] = {
		{ S_D0, req, 0 },
		D1("HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n" OK0),
		{ 0 },
	};
	struct rs_flow_info fi = flow_info(0);
	struct rs_http_stats st;

	(void)state;
	p += sprintf(p, "GET /big HTTP/1.1\r\nHost: big\r\n");
	for (int i = 0; i < 70; i++) {
		p += sprintf(p, "X-Filler-%02d: ", i);
		p = repeat(p, 'f', 1000);
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "\r\nGET /next HTTP/1.1\r\n\r\n");
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 2);
	assert_string_equal(got->r[0].t.uri, "/big");
	assert_string_equal(got->r[0].t.host, "big");
	assert_int_equal(got->r[0].t.status, 431);
	assert_int_equal(got->r[0].t.flags,
			 RS_HTTP_F_TRUNCATED | RS_HTTP_F_BAD_REQUEST);
	assert_false(got->r[0].has_head);
	assert_string_equal(got->r[1].t.uri, "/next");
	assert_int_equal(got->r[1].t.status, 200);
	assert_int_equal(got->r[1].t.flags, 0);
	assert_int_equal(st.resyncs, 1);
	check_invariance("header_block_limit", steps, &fi, 4099);

	/* One line over the limit: the rest of it is skipped, even when it
	 * ends like a request line (only whole lines are resync candidates). */
	p = req;
	p += sprintf(p, "GET /a HTTP/1.1\r\nX-Big: ");
	p = repeat(p, 'b', RS_HTTP_HEADER_BLOCK_MAX);
	p += sprintf(p, " GET /evil HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 2);
	assert_string_equal(got->r[0].t.uri, "/a");
	assert_int_equal(got->r[0].t.flags,
			 RS_HTTP_F_TRUNCATED | RS_HTTP_F_BAD_REQUEST);
	assert_string_equal(got->r[1].t.uri, "/next");
	check_invariance("overlong_line", steps, &fi, 8191);
}

/* A head that ends within 32 bytes of the limit, cut there too: a
 * segment that starts so near the limit is read line by line. */
static void test_header_block_edge(void **state)
{
	static char req[80 * 1024];
	struct step steps[] = {
		{ S_D0, req, 0 },
		D1("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" OK0),
		{ 0 },
	};
	struct rs_flow_info fi = flow_info(0);
	struct rs_http_stats st;

	(void)state;
	for (int over = 0; over < 2; over++) {
		char *p = req;

		/* 65,528 head bytes (8191 * 8, so one cut falls on "A:"),
		 * then 8 more: exactly the limit, or 1 over it. */
		p += sprintf(p, "GET /c HTTP/1.1\r\nHost: c\r\n");
		for (int i = 0; i < 65; i++) {
			p += sprintf(p, "X-F: ");
			p = repeat(p, 'f', 993);
			p += sprintf(p, "\r\n");
		}
		p += sprintf(p, "X-G: ");
		p = repeat(p, 'g', 495);
		p += sprintf(p, "\r\n");
		assert_int_equal(p - req, RS_HTTP_HEADER_BLOCK_MAX - 8);
		p += sprintf(p, over ? "A: bc\r\n\r\n" : "A: b\r\n\r\n");
		p += sprintf(p, "GET /next HTTP/1.1\r\n\r\n");
		assert_int_equal(run_steps(steps, &fi,
					   (struct feed_mode){ -1, 0, 0 }, got,
					   &st), 0);
		assert_int_equal(got->n, 2);
		assert_string_equal(got->r[0].t.uri, "/c");
		assert_int_equal(got->r[0].t.flags,
				 over ? RS_HTTP_F_TRUNCATED |
						RS_HTTP_F_BAD_REQUEST : 0);
		assert_string_equal(got->r[1].t.uri, "/next");
		check_invariance(over ? "header_block_over" : "header_block_edge",
				 steps, &fi, 8191);
	}
}

static void test_queue_bound(void **state)
{
	static char reqs[2048], resps[2048];
	char *p = reqs, *q = resps;
	struct step steps[] = { { S_D0, reqs, 0 }, { S_D1, resps, 0 }, { 0 } };
	struct rs_flow_info fi = flow_info(0);
	struct rs_http_stats st;
	const int n = RS_HTTP_PENDING_MAX + 4;

	(void)state;
	for (int i = 0; i < n; i++) {
		p += sprintf(p, "GET /%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
		q += sprintf(q, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d",
			     i % 10);
	}
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, n);
	for (int i = 0; i < n; i++) {
		char want[16];

		snprintf(want, sizeof(want), "/%d", i);
		assert_string_equal(got->r[i].t.uri, want);
		if (i < 4) {
			assert_int_equal(got->r[i].t.status, -1);
			assert_int_equal(got->r[i].t.flags,
					 RS_HTTP_F_NO_RESPONSE);
		} else {
			assert_int_equal(got->r[i].t.status, 200);
			assert_int_equal(got->r[i].t.flags, 0);
			assert_int_equal(got->r[i].t.resp_body_len, 1);
		}
	}
	assert_int_equal(st.evicted, 4);
	assert_int_equal(st.orphan_responses, 4);
	check_invariance("queue_bound", steps, &fi, 13);
}

/* Long URIs fill the per-connection store: heads are dropped first, then
 * the oldest requests go out early; the fields themselves always survive. */
static void test_store_pressure(void **state)
{
	static char reqs[32 * 1024], resps[2048];
	char *p = reqs, *q = resps;
	struct step steps[] = { { S_D0, reqs, 0 }, { S_D1, resps, 0 }, { 0 } };
	struct rs_flow_info fi = flow_info(0);
	struct rs_http_stats st;
	int heads = 0, early = 0;

	(void)state;
	for (int i = 0; i < 12; i++) {
		p += sprintf(p, "GET /%02d", i);
		p = repeat(p, 'x', 1500);
		p += sprintf(p, " HTTP/1.1\r\nHost: h\r\n\r\n");
		q += sprintf(q, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	}
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 12);
	for (int i = 0; i < 12; i++) {
		char want[8];

		snprintf(want, sizeof(want), "/%02d", i);
		assert_int_equal(got->r[i].t.uri_len, 1503);
		assert_memory_equal(got->r[i].t.uri, want, 3);
		heads += got->r[i].has_head;
		early += got->r[i].t.status == -1;
		if (got->r[i].has_head)
			assert_int_equal(got->r[i].head_len, 4 + 1503 + 22);
	}
	assert_true(heads >= 2 && heads < 12);
	assert_true(early > 0);
	assert_int_equal(st.evicted, (uint64_t)early);
	assert_int_equal(st.orphan_responses, (uint64_t)early);
	check_invariance("store_pressure", steps, &fi, 101);
}

static void test_req_head_raw(void **state)
{
	static const char r1[] = "GET /1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
	static const char r2[] = "POST /2 HTTP/1.1\nContent-Length: 3\n\n";
	static const char r3[] = "GET /3 HTTP/1.1\r\nHost: y\r\n\r\n";
	static char big[12 * 1024];
	char *p = big;
	struct step steps[] = {
		D0(r1), { S_D0, r2, 0 }, D0("abc"),
		D0("\x01garbage\r\n"), D0("zz GET /3 HTTP/1.1\r\nHost: y\r\n\r\n"),
		{ S_D0, big, 0 },
		D1(OK0 OK0 OK0 OK0 OK0), { 0 },
	};
	struct rs_flow_info fi = flow_info(0);
	struct rs_http_stats st;

	(void)state;
	p += sprintf(p, "GET /4 HTTP/1.1\r\nCookie: ");
	p = repeat(p, 'c', 9000);
	p += sprintf(p, "\r\n\r\n");
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 5);
	assert_int_equal(got->r[0].head_len, strlen(r1));
	assert_memory_equal(got->r[0].head, r1, strlen(r1));
	assert_int_equal(got->r[1].head_len, strlen(r2));
	assert_memory_equal(got->r[1].head, r2, strlen(r2));
	assert_int_equal(got->r[1].t.req_body_len, 3);
	/* The garbage line is a (bad) request of its own. */
	assert_int_equal(got->r[2].t.flags, RS_HTTP_F_BAD_REQUEST);
	assert_false(got->r[2].has_head);
	/* Found by resync: the head starts at the request line. */
	assert_string_equal(got->r[3].t.uri, "/3");
	assert_int_equal(got->r[3].head_len, strlen(r3));
	assert_memory_equal(got->r[3].head, r3, strlen(r3));
	/* Larger than the store: not kept, fields fine. */
	assert_string_equal(got->r[4].t.uri, "/4");
	assert_false(got->r[4].has_head);
	assert_int_equal(got->r[4].t.flags, 0);
	check_invariance("req_head_raw", steps, &fi, 97);
}

/* Without heads (rs_http_layer_set_keep_head false): the fields as
 * before, no req_head, for pipelined requests and one split mid-line. */
struct nohead_seen {
	int n, with_head;
	char uri[4][16];
	int status[4];
};

static void nohead_txn(void *user, const struct rs_flow_info *f,
		       const struct rs_http_txn *t)
{
	struct nohead_seen *s = user;

	(void)f;
	if (t->req_head || t->req_head_len)
		s->with_head++;
	if (s->n < 4) {
		snprintf(s->uri[s->n], sizeof(s->uri[0]), "%.15s", t->uri);
		s->status[s->n] = t->status;
	}
	s->n++;
}

/* Two pipelined requests and a third split mid-line, then the three
 * responses, through a new connection of l. */
static void nohead_feed(struct rs_http_layer *l)
{
	static const char req[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
				  "GET /b HTTP/1.1\r\nHost: y\r\n\r\nGET /c HT";
	static const char req2[] = "TP/1.1\r\nUser-Agent: u\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
				   "HTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n"
				   "HTTP/1.1 204 NC\r\n\r\n";
	struct rs_http_conn *c = rs_http_conn_new(l, NULL);

	assert_non_null(c);
	rs_http_conn_data(c, 0, (const uint8_t *)req, strlen(req), 1);
	rs_http_conn_data(c, 0, (const uint8_t *)req2, strlen(req2), 2);
	rs_http_conn_data(c, 1, (const uint8_t *)resp, strlen(resp), 3);
	rs_http_conn_free(c);
}

static void test_keep_head_off(void **state)
{
	struct nohead_seen seen = { 0 };
	struct rs_http_layer l, blank;

	(void)state;
	memset(&blank, 0, sizeof(blank));
	assert_int_equal(rs_http_layer_set_keep_head(NULL, false), -EINVAL);
	assert_int_equal(rs_http_layer_set_keep_head(&blank, false), -EINVAL);
	assert_int_equal(rs_http_layer_init(&l, nohead_txn, &seen), 0);
	assert_int_equal(rs_http_layer_set_keep_head(&l, false), 0);
	nohead_feed(&l);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.with_head, 0);
	assert_string_equal(seen.uri[0], "/a");
	assert_string_equal(seen.uri[1], "/b");
	assert_string_equal(seen.uri[2], "/c");
	assert_int_equal(seen.status[0], 200);
	assert_int_equal(seen.status[1], 404);
	assert_int_equal(seen.status[2], 204);
	/* Back on: the same bytes give heads again. */
	assert_int_equal(rs_http_layer_set_keep_head(&l, true), 0);
	memset(&seen, 0, sizeof(seen));
	nohead_feed(&l);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.with_head, 3);
	rs_http_layer_fini(&l);
}

static void test_not_http_sniff_limit(void **state)
{
	static char junk[RS_HTTP_SNIFF_MAX + 64];
	struct step steps[] = {
		{ S_D0, junk, 0 }, D0("GET / HTTP/1.1\r\n\r\n"), D1(OK0), { 0 },
	};
	struct rs_flow_info fi = flow_info(1);
	struct rs_http_stats st;
	size_t line = strlen("GET / HTTP/1.1\r\n");

	(void)state;
	/* Lines of junk up to exactly the limit, request line included: the
	 * request is still found. */
	memset(junk, 0, sizeof(junk));
	for (size_t i = 0; i < RS_HTTP_SNIFF_MAX - line; i++)
		junk[i] = (i % 64 == 63) ? '\n' : (char)('!' + i % 90);
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 1);
	assert_int_equal(got->r[0].t.status, 200);
	assert_int_equal(got->r[0].t.flags, RS_HTTP_F_MIDSTREAM);
	assert_int_equal(st.not_http, 0);
	check_invariance("sniff_limit_in", steps, &fi, 509);
	/* One byte more: the connection is given up. */
	junk[RS_HTTP_SNIFF_MAX - line] = 'x';
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 0);
	assert_int_equal(st.not_http, 1);
	assert_int_equal(st.responses, 0);
	check_invariance("sniff_limit_out", steps, &fi, 509);
}

static void test_long_lines_dir1(void **state)
{
	static char resp[4096];
	char *p = resp;
	struct step steps[] = {
		D0("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
		{ S_D1, resp, 0 }, { 0 },
	};
	struct rs_flow_info fi = flow_info(0);
	struct rs_http_stats st;

	(void)state;
	p += sprintf(p, "HTTP/1.1 200 ");
	p = repeat(p, 'r', 700);
	p += sprintf(p, "\r\nContent-Length: 2\r\nSet-Cookie: ");
	p = repeat(p, 'k', 900);
	p += sprintf(p, "\r\n\r\nokHTTP/1.1 200 OK\r\nTransfer-Encoding: ");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "gzip, ");
	p += sprintf(p, "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
	assert_int_equal(run_steps(steps, &fi, (struct feed_mode){ -1, 0, 0 },
				   got, &st), 0);
	assert_int_equal(got->n, 2);
	assert_int_equal(got->r[0].t.status, 200);
	assert_int_equal(got->r[0].t.resp_body_len, 2);
	assert_int_equal(got->r[0].t.flags, 0);
	assert_int_equal(got->r[1].t.resp_body_len, 3);
	assert_int_equal(got->r[1].t.flags,
			 RS_HTTP_F_CHUNKED | RS_HTTP_F_SMUGGLING);
	check_invariance("long_lines_dir1", steps, &fi, 11);
}

static struct recs *app_recs;
static const struct rs_flow_info *app_seen_f;

static void app_txn(void *user, const struct rs_flow_info *f,
		    const struct rs_http_txn *t)
{
	app_seen_f = f;
	rec_txn(user, f, t);
}

/* The layer through rs_http_app_ops, as the flow table will drive it. */
static void test_app_ops(void **state)
{
	static const char req[] = "GET /app HTTP/1.1\r\nHost: h\r\n\r\n"
				  "POST /b HTTP/1.1\r\nContent-Length: 6\r\n\r\nab";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz";
	struct rs_http_layer l;
	struct rs_flow_info fi = flow_info(1);
	void *app;

	(void)state;
	app_recs = got;
	memset(got, 0, sizeof(*got));
	assert_int_equal(rs_http_layer_init(&l, app_txn, got), 0);
	app = rs_http_app_ops.open(&l, &fi);
	assert_non_null(app);
	rs_http_app_ops.data(&l, app, &fi, 0, (const uint8_t *)req,
			     sizeof(req) - 1, 5000);
	rs_http_app_ops.data(&l, app, &fi, 1, (const uint8_t *)resp,
			     sizeof(resp) - 1, 6000);
	rs_http_app_ops.gap(&l, app, &fi, 0, 2, 7000);
	rs_http_app_ops.data(&l, app, &fi, 0, (const uint8_t *)"ef", 2, 8000);
	rs_http_app_ops.eof(&l, app, &fi, 0, 9000);
	rs_http_app_ops.close(&l, app, &fi);
	assert_int_equal(got->n, 2);
	assert_ptr_equal(app_seen_f, &fi);
	assert_string_equal(got->r[0].t.uri, "/app");
	assert_int_equal(got->r[0].t.ts_ns, 5000);
	assert_int_equal(got->r[0].t.resp_ts_ns, 6000);
	assert_int_equal(got->r[0].t.status, 200);
	assert_int_equal(got->r[0].t.flags, RS_HTTP_F_MIDSTREAM);
	assert_string_equal(got->r[1].t.uri, "/b");
	assert_int_equal(got->r[1].t.ts_ns, 5000);
	assert_int_equal(got->r[1].t.req_body_len, 4);
	assert_int_equal(got->r[1].t.status, -1);
	assert_int_equal(got->r[1].t.flags, RS_HTTP_F_MIDSTREAM |
			 RS_HTTP_F_GAP | RS_HTTP_F_NO_RESPONSE);
	assert_int_equal(l.stats.requests, 2);
	assert_int_equal(l.stats.responses, 1);
	assert_int_equal(l.stats.gaps, 1);
	rs_http_layer_fini(&l);
}

static int setup(void **state)
{
	(void)state;
	ref = calloc(1, sizeof(*ref));
	got = calloc(1, sizeof(*got));
	return ref && got ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ref);
	free(got);
	return 0;
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_flag_names),
		cmocka_unit_test(test_lex_tables),
		cmocka_unit_test(test_layer_lifecycle),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_stats_add),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_header_block_limit),
		cmocka_unit_test(test_header_block_edge),
		cmocka_unit_test(test_queue_bound),
		cmocka_unit_test(test_store_pressure),
		cmocka_unit_test(test_req_head_raw),
		cmocka_unit_test(test_keep_head_off),
		cmocka_unit_test(test_not_http_sniff_limit),
		cmocka_unit_test(test_long_lines_dir1),
		cmocka_unit_test(test_app_ops),
	};
	size_t nf = sizeof(fixed) / sizeof(fixed[0]), n = 0;
	struct CMUnitTest *t = calloc(nf + 2 * NCASES, sizeof(*t));
	char (*names)[96] = calloc(2 * NCASES, sizeof(*names));
	int rc;

	if (!t || !names)
		return 1;
	for (size_t i = 0; i < nf; i++)
		t[n++] = fixed[i];
	for (size_t i = 0; i < NCASES; i++) {
		snprintf(names[2 * i], 96, "%s", cases[i].name);
		snprintf(names[2 * i + 1], 96, "%s/splits", cases[i].name);
		t[n] = (struct CMUnitTest){ names[2 * i], test_case_whole,
					     NULL, NULL, (void *)&cases[i] };
		n++;
		t[n] = (struct CMUnitTest){ names[2 * i + 1], test_case_splits,
					     NULL, NULL, (void *)&cases[i] };
		n++;
	}
	rc = _cmocka_run_group_tests("http", t, n, setup, teardown);
	free(t);
	free(names);
	return rc;
}
