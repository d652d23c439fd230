/* test_http_libhtp.c - differential test: the same streams through libhtp and through rs_http_conn_*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <cmocka.h>
#include <htp/htp.h>

#include "http_gen.h"
#include "http_harness.h"

struct lite { /* what both parsers must agree on */
	char method[32];
	char uri[RS_HTTP_URI_MAX];
	int status;
	long long req_body, resp_body;
};

#define MAXL 32

static int run_libhtp(const char *req, size_t rl, const char *resp, size_t sl,
		      struct lite *out)
{
	htp_cfg_t *cfg = htp_config_create();
	htp_connp_t *cp;
	htp_conn_t *conn;
	struct timeval tv = { 1, 0 };
	int n = 0;

	assert_non_null(cfg);
	htp_config_set_server_personality(cfg, HTP_SERVER_APACHE_2);
	htp_config_set_response_decompression(cfg, 0);
	cp = htp_connp_create(cfg);
	assert_non_null(cp);
	htp_connp_open(cp, "198.18.0.1", 40000, "198.18.0.2", 80, &tv);
	htp_connp_req_data(cp, &tv, req, rl);
	htp_connp_res_data(cp, &tv, resp, sl);
	htp_connp_close(cp, &tv);
	conn = htp_connp_get_connection(cp);
	for (size_t i = 0; i < htp_list_size(conn->transactions) && n < MAXL;
	     i++) {
		htp_tx_t *tx = htp_list_get(conn->transactions, i);
		struct lite *l = &out[n];

		if (!tx || !tx->request_method)
			continue;
		n++;
		memset(l, 0, sizeof(*l));
		snprintf(l->method, sizeof(l->method), "%.*s",
			 (int)bstr_len(tx->request_method),
			 (const char *)bstr_ptr(tx->request_method));
		if (tx->request_uri)
			snprintf(l->uri, sizeof(l->uri), "%.*s",
				 (int)bstr_len(tx->request_uri),
				 (const char *)bstr_ptr(tx->request_uri));
		l->status = tx->response_status_number;
		l->req_body = tx->request_entity_len;
		l->resp_body = tx->response_entity_len;
	}
	htp_connp_destroy_all(cp);
	htp_config_destroy(cfg);
	return n;
}

static struct recs *ours_recs;

/* Ours, whole or cut into random segments (seeded). */
static int run_ours(const char *req, size_t rl, const char *resp, size_t sl,
		    uint64_t cut_seed, struct lite *out)
{
	struct rs_http_layer l;
	struct rs_http_conn *c;
	struct gen g = { cut_seed | 1 };
	const char *s[2] = { req, resp };
	size_t len[2] = { rl, sl };

	memset(ours_recs, 0, sizeof(*ours_recs));
	assert_int_equal(rs_http_layer_init(&l, rec_txn, ours_recs), 0);
	c = rs_http_conn_new(&l, NULL);
	assert_non_null(c);
	for (int d = 0; d < 2; d++) {
		size_t off = 0;

		while (off < len[d]) {
			size_t k = len[d] - off;

			if (cut_seed)
				k = 1 + gen_below(&g, k < 1500 ? (unsigned)k : 1500);
			rs_http_conn_data(c, d, (const uint8_t *)s[d] + off, k,
					  1);
			off += k;
		}
	}
	rs_http_conn_free(c);
	rs_http_layer_fini(&l);
	assert_int_equal(ours_recs->overflow, 0);
	for (int i = 0; i < ours_recs->n && i < MAXL; i++) {
		const struct rs_http_txn *t = &ours_recs->r[i].t;

		snprintf(out[i].method, sizeof(out[i].method), "%s", t->method);
		snprintf(out[i].uri, sizeof(out[i].uri), "%s", t->uri);
		out[i].status = t->status;
		out[i].req_body = (long long)t->req_body_len;
		out[i].resp_body = (long long)t->resp_body_len;
	}
	return ours_recs->n;
}

static void compare(const char *what, const struct lite *a, int na,
		    const struct lite *b, int nb)
{
	if (na != nb)
		fail_msg("%s: libhtp %d transactions, ours %d", what, na, nb);
	for (int i = 0; i < na; i++) {
		if (strcmp(a[i].method, b[i].method) ||
		    strcmp(a[i].uri, b[i].uri) || a[i].status != b[i].status ||
		    a[i].req_body != b[i].req_body ||
		    a[i].resp_body != b[i].resp_body)
			fail_msg("%s txn %d: libhtp %s %s %d %lld/%lld, ours "
				 "%s %s %d %lld/%lld", what, i, a[i].method,
				 a[i].uri, a[i].status, a[i].req_body,
				 a[i].resp_body, b[i].method, b[i].uri,
				 b[i].status, b[i].req_body, b[i].resp_body);
	}
}

/* Hand-written conversations: requests, then responses. */
static const struct {
	const char *name, *req, *resp;
} table[] = {
	{ "get", "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" },
	{ "pipelined", "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b?x=1 HTTP/1.1\r\n"
	  "Host: a\r\n\r\nDELETE /c HTTP/1.1\r\nHost: a\r\n\r\n",
	  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not "
	  "Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnot\r\n0\r\n\r\n"
	  "HTTP/1.1 204 No Content\r\n\r\n" },
	{ "post_chunked_ext_trailers", "POST /up HTTP/1.1\r\nHost: a\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n5;n=v\r\nhello\r\nA\r\n0123456789"
	  "\r\n0\r\nX-T: 1\r\n\r\n",
	  "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "4\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\n" },
	{ "head_and_304", "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\n"
	  "Host: a\r\nIf-None-Match: \"x\"\r\n\r\n",
	  "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 304 Not "
	  "Modified\r\nETag: \"x\"\r\n\r\n" },
	{ "http10_close", "GET /old HTTP/1.0\r\nUser-Agent: w\r\n\r\n",
	  "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end" },
	{ "continue", "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
	  "Content-Length: 3\r\n\r\nabc",
	  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0"
	  "\r\n\r\n" },
	{ "absolute_uri_options", "GET http://example.com/x?y=1 HTTP/1.1\r\n"
	  "Host: example.com\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	  "HTTP/1.1 301 Moved\r\nLocation: /\r\nContent-Length: 3\r\n\r\nabc"
	  "HTTP/1.1 200 OK\r\nAllow: GET\r\nContent-Length: 0\r\n\r\n" },
	{ "bare_lf", "GET /lf HTTP/1.1\nHost: a\n\nPOST /p HTTP/1.1\nContent-"
	  "Length: 2\n\nhi",
	  "HTTP/1.1 200 OK\nContent-Length: 1\n\nxHTTP/1.1 500 Err\n"
	  "Content-Length: 0\n\n" },
	{ "te_and_cl", "POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" },
	{ "folded_header", "GET /f HTTP/1.1\r\nHost: a\r\nUser-Agent: one\r\n"
	  " two\r\nAccept: */*\r\n\r\n",
	  "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 1\r\n\r\n!" },
	{ "many_chunks", "GET /m HTTP/1.1\r\n\r\n",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n2\r\n"
	  "bb\r\n3\r\nccc\r\n10\r\n0123456789abcdef\r\nff;x=y\r\n"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "000000000000000000000000000000000000000000000000000000000000000"
	  "\r\n0\r\n\r\n" },
};

/* Where libhtp departs from RFC 9112 on purpose and we do not: asserted, so
 * a change on either side shows up here. */
static void test_known_divergences(void **state)
{
	/* 2.2: empty lines before a request line are ignored; libhtp counts
	 * them as the previous request's body. */
	static const char q1[] = "GET /1 HTTP/1.1\r\n\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
	static const char r1[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
				 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	/* 6.3: a 304 never has a body, Content-Length or not; libhtp reads
	 * one ("browsers interpret content sent by the server as such"). */
	static const char q2[] = "GET /c HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\n\r\n";
	static const char r2[] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 9"
				 "\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1"
				 "\r\n\r\nx";
	struct lite a[MAXL], b[MAXL];
	int na, nb;

	(void)state;
	na = run_libhtp(q1, sizeof(q1) - 1, r1, sizeof(r1) - 1, a);
	nb = run_ours(q1, sizeof(q1) - 1, r1, sizeof(r1) - 1, 0, b);
	assert_int_equal(na, 2);
	assert_int_equal(nb, 2);
	assert_int_equal(a[0].req_body, 2);
	assert_int_equal(b[0].req_body, 0);
	assert_int_equal(a[1].status, b[1].status);
	na = run_libhtp(q2, sizeof(q2) - 1, r2, sizeof(r2) - 1, a);
	nb = run_ours(q2, sizeof(q2) - 1, r2, sizeof(r2) - 1, 0, b);
	assert_int_equal(nb, 2);
	assert_int_equal(b[0].status, 304);
	assert_int_equal(b[0].resp_body, 0);
	assert_int_equal(b[1].status, 200);
	assert_int_equal(b[1].resp_body, 1);
	assert_int_equal(a[0].status, 304);
	assert_true(a[0].resp_body > 0); /* ate the next response */
	assert_true(na < 2 || a[1].status != 200);
}

static void test_table(void **state)
{
	struct lite a[MAXL], b[MAXL];

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t rl = strlen(table[i].req), sl = strlen(table[i].resp);
		int na = run_libhtp(table[i].req, rl, table[i].resp, sl, a);
		int nb = run_ours(table[i].req, rl, table[i].resp, sl, 0, b);

		assert_true(na > 0);
		compare(table[i].name, a, na, b, nb);
		for (uint64_t seed = 1; seed <= 20; seed++) {
			nb = run_ours(table[i].req, rl, table[i].resp, sl, seed, b);
			compare(table[i].name, a, na, b, nb);
		}
	}
}

/* Generated conversations: both parsers, and the generator's own truth. */
static void test_generated(void **state)
{
	struct lite a[MAXL], b[MAXL], truth[MAXL];
	struct conv cv;
	struct gen g = { 0x5eed0001 };
	char name[64];
	int compared = 0;

	(void)state;
	memset(&cv, 0, sizeof(cv));
	for (int iter = 0; iter < 400; iter++) {
		int na, nb;

		gen_conv(&g, &cv, 1 + (int)gen_below(&g, 6), 20000);
		for (int i = 0; i < cv.n; i++) {
			memset(&truth[i], 0, sizeof(truth[i]));
			snprintf(truth[i].method, sizeof(truth[i].method), "%s",
				 cv.tx[i].method);
			snprintf(truth[i].uri, sizeof(truth[i].uri), "%s",
				 cv.tx[i].uri);
			truth[i].status = cv.tx[i].status;
			truth[i].req_body = (long long)cv.tx[i].req_body;
			truth[i].resp_body = (long long)cv.tx[i].resp_body;
		}
		snprintf(name, sizeof(name), "generated #%d", iter);
		na = run_libhtp(cv.req.p, cv.req.len, cv.resp.p, cv.resp.len, a);
		nb = run_ours(cv.req.p, cv.req.len, cv.resp.p, cv.resp.len,
			      0, b);
		compare(name, truth, cv.n, b, nb);
		if (!cv.quirks) {
			compare(name, a, na, b, nb);
			compared++;
		}
		nb = run_ours(cv.req.p, cv.req.len, cv.resp.p, cv.resp.len,
			      (uint64_t)iter + 1, b);
		compare(name, truth, cv.n, b, nb);
	}
	conv_free(&cv);
	/* Most conversations must have been compared with libhtp. */
	assert_true(compared > 300);
}

static int setup(void **state)
{
	(void)state;
	ours_recs = calloc(1, sizeof(*ours_recs));
	return ours_recs ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ours_recs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_known_divergences),
	};

	return cmocka_run_group_tests_name("http_vs_libhtp", tests, setup,
					   teardown);
}
