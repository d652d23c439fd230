/* test_http_body.c - kept request bodies (rs_http_layer_set_keep_body): control tests, then cases whole, split at every byte and byte by byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rs_reassembly.h"

#define MAXTX 8
#define BODY_REC_MAX (512 * 1024)

struct brec {
	int n;
	struct {
		char method[RS_HTTP_METHOD_MAX];
		char uri[RS_HTTP_URI_MAX];
		uint32_t flags;
		int status;
		uint64_t body_len;
		size_t kept;
		bool complete, has_ptr;
		uint8_t *body; /* BODY_REC_MAX bytes */
	} t[MAXTX];
};

static struct brec *got, *ref;

static void on_txn(void *user, const struct rs_flow_info *f,
		   const struct rs_http_txn *t)
{
	struct brec *r = user;

	(void)f;
	assert_true(r->n < MAXTX);
	snprintf(r->t[r->n].method, sizeof(r->t[r->n].method), "%s", t->method);
	snprintf(r->t[r->n].uri, sizeof(r->t[r->n].uri), "%s", t->uri);
	r->t[r->n].flags = t->flags;
	r->t[r->n].status = t->status;
	r->t[r->n].body_len = t->req_body_len;
	r->t[r->n].kept = t->req_body_kept;
	r->t[r->n].complete = t->req_body_complete;
	r->t[r->n].has_ptr = t->req_body != NULL;
	assert_true(t->req_body_kept <= BODY_REC_MAX);
	assert_true(t->req_body_kept <= t->req_body_len);
	assert_true((t->req_body != NULL) == (t->req_body_kept > 0));
	if (t->req_body_kept)
		memcpy(r->t[r->n].body, t->req_body, t->req_body_kept);
	r->n++;
}

static void brec_clear(struct brec *r)
{
	r->n = 0;
	for (int i = 0; i < MAXTX; i++) {
		r->t[i].kept = 0;
		r->t[i].body_len = 0;
		r->t[i].complete = r->t[i].has_ptr = false;
		r->t[i].flags = 0;
		r->t[i].status = 0;
		r->t[i].method[0] = r->t[i].uri[0] = 0;
	}
}

/* ---- control ------------------------------------------------------ */

static void test_keep_body_control(void **state)
{
	struct rs_http_layer l, blank;

	(void)state;
	assert_int_equal(rs_http_layer_set_keep_body(NULL, 10), -EINVAL);
	memset(&blank, 0, sizeof(blank));
	assert_int_equal(rs_http_layer_set_keep_body(&blank, 10), -EINVAL);
	assert_int_equal(rs_http_layer_init(&l, NULL, NULL), 0);
	assert_int_equal(rs_http_layer_set_keep_body(&l, RS_HTTP_BODY_KEEP_MAX + 1),
			 -EINVAL);
	assert_int_equal(rs_http_layer_set_keep_body(&l, RS_HTTP_BODY_KEEP_MAX), 0);
	assert_int_equal(rs_http_layer_set_keep_body(&l, 0), 0);
	rs_http_layer_fini(&l);
}

static const char post_req[] =
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
static const char ok_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

static void run_simple(size_t keep, const char *req, const char *resp)
{
	struct rs_http_layer l;
	struct rs_http_conn *c;

	brec_clear(got);
	assert_int_equal(rs_http_layer_init(&l, on_txn, got), 0);
	if (keep)
		assert_int_equal(rs_http_layer_set_keep_body(&l, keep), 0);
	c = rs_http_conn_new(&l, NULL);
	assert_non_null(c);
	rs_http_conn_data(c, 0, (const uint8_t *)req, strlen(req), 1);
	rs_http_conn_data(c, 1, (const uint8_t *)resp, strlen(resp), 2);
	rs_http_conn_free(c);
	rs_http_layer_fini(&l);
}

/* Off by default: nothing is kept, nothing is complete. */
static void test_keep_body_default_off(void **state)
{
	(void)state;
	run_simple(0, post_req, ok_resp);
	assert_int_equal(got->n, 1);
	assert_int_equal(got->t[0].body_len, 11);
	assert_int_equal(got->t[0].kept, 0);
	assert_false(got->t[0].has_ptr);
	assert_false(got->t[0].complete);
	/* On: the same request is kept whole. */
	run_simple(64, post_req, ok_resp);
	assert_int_equal(got->n, 1);
	assert_int_equal(got->t[0].kept, 11);
	assert_true(got->t[0].complete);
	assert_memory_equal(got->t[0].body, "hello world", 11);
}

/* ---- cases -------------------------------------------------------- */

struct bexp {
	const char *body;  /* kept bytes expected */
	size_t body_len;   /* 0: strlen */
	bool complete;
	uint64_t seen;     /* req_body_len */
};

/* A connection: dir 0 bytes, then dir 1 bytes (one event each, or a gap
 * of gap0 bytes after the first gap_at bytes of dir 0), then eof. */
struct bcase {
	const char *name;
	size_t keep;
	const char *d0;
	const char *d1;
	size_t gap_at, gap0;  /* gap0 != 0: a gap in dir 0 */
	bool no_eof;          /* free without eof (flow end) */
	int ntx;
	struct bexp tx[4];
	size_t d0n;           /* 0: strlen(d0) */
};

static const struct bcase cases[] = {
	{"content-length", 64, post_req, ok_resp, 0, 0, false, 1,
	 {{"hello world", 0, true, 11}}},
	{"exactly the limit", 11, post_req, ok_resp, 0, 0, false, 1,
	 {{"hello world", 0, true, 11}}},
	{"too large: prefix, not complete", 8, post_req, ok_resp, 0, 0, false, 1,
	 {{"hello wo", 0, false, 11}}},
	{"no body: complete and empty", 64,
	 "GET / HTTP/1.1\r\nHost: h\r\n\r\n", ok_resp, 0, 0, false, 1,
	 {{"", 0, true, 0}}},
	{"content-length 0", 64,
	 "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", ok_resp, 0, 0, false, 1,
	 {{"", 0, true, 0}}},
	{"chunked, de-chunked", 64,
	 "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
	 ok_resp, 0, 0, false, 1, {{"Wikipedia in\r\n\r\nchunks.", 0, true, 23}}},
	{"chunked with trailers", 64,
	 "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n",
	 ok_resp, 0, 0, false, 1, {{"abc", 0, true, 3}}},
	{"chunked too large", 4,
	 "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
	 ok_resp, 0, 0, false, 1, {{"abcd", 0, false, 6}}},
	{"bad chunk size: not complete", 64,
	 "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "3\r\nabc\r\nzz\r\n",
	 ok_resp, 0, 0, false, 1, {{"abc", 0, false, 3}}},
	{"cut by eof", 64,
	 "POST /p HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello", "", 0, 0, false, 1,
	 {{"hello", 0, false, 5}}},
	{"cut by flow end", 64,
	 "POST /p HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello", "", 0, 0, true, 1,
	 {{"hello", 0, false, 5}}},
	{"gap inside the body", 64,
	 "POST /p HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", ok_resp,
	 43, 3, false, 1, {{"hel", 0, false, 8}}},
	{"pipelined bodies share the buffer", 8,
	 "POST /1 HTTP/1.1\r\nContent-Length: 8\r\n\r\n11111111"
	 "POST /2 HTTP/1.1\r\nContent-Length: 8\r\n\r\n22222222"
	 "POST /3 HTTP/1.1\r\nContent-Length: 3\r\n\r\n333"
	 "GET /4 HTTP/1.1\r\n\r\n",
	 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	 0, 0, false, 4,
	 /* Two bodies of the limit fill the buffer (2 * limit): the third
	  * finds no room while both still wait for their responses. */
	 {{"11111111", 0, true, 8}, {"22222222", 0, true, 8},
	  {"", 0, false, 3}, {"", 0, true, 0}}},
	{"binary body with NULs", 64,
	 "PUT /b HTTP/1.1\r\nContent-Length: 4\r\n\r\n\0\xff\0\n", ok_resp, 0, 0,
	 false, 1, {{"\0\xff\0\n", 4, true, 4}}, .d0n = 42},
};

static size_t d0_len(const struct bcase *bc)
{
	return bc->d0n ? bc->d0n : strlen(bc->d0);
}

/* Feed dir 0 as pieces cut at `cuts` (sorted offsets; bytewise when
 * bytewise), honouring the case's gap. */
static void feed0(struct rs_http_conn *c, const struct bcase *bc,
		  size_t cut, bool bytewise)
{
	const uint8_t *p = (const uint8_t *)bc->d0;
	size_t n = d0_len(bc), i = 0;

	while (i < n) {
		size_t end = n;

		if (bc->gap0 && i < bc->gap_at)
			end = bc->gap_at;
		if (cut && i < cut && cut < end)
			end = cut;
		if (bytewise)
			end = i + 1;
		if (bc->gap0 && i == bc->gap_at) {
			rs_http_conn_gap(c, 0, bc->gap0);
			i += bc->gap0;
			continue;
		}
		rs_http_conn_data(c, 0, p + i, end - i, 1);
		i = end;
	}
}

static void run_case(const struct bcase *bc, size_t cut, bool bytewise,
		     struct brec *out)
{
	struct rs_http_layer l;
	struct rs_http_conn *c;

	brec_clear(out);
	assert_int_equal(rs_http_layer_init(&l, on_txn, out), 0);
	assert_int_equal(rs_http_layer_set_keep_body(&l, bc->keep), 0);
	/* The same connection memory, reused from the pool, three times: the
	 * body buffer must not leak from one use into the next. */
	for (int round = 0; round < 3; round++) {
		brec_clear(out);
		c = rs_http_conn_new(&l, NULL);
		assert_non_null(c);
		feed0(c, bc, cut, bytewise);
		if (bc->d1[0])
			rs_http_conn_data(c, 1, (const uint8_t *)bc->d1,
					  strlen(bc->d1), 2);
		if (!bc->no_eof) {
			rs_http_conn_eof(c, 0);
			rs_http_conn_eof(c, 1);
		}
		rs_http_conn_free(c);
	}
	rs_http_layer_fini(&l);
}

static void check_case(const struct bcase *bc, const struct brec *r,
		       const char *how, size_t cut)
{
	if (r->n != bc->ntx)
		fail_msg("%s (%s %zu): %d txns, expected %d", bc->name, how, cut,
			 r->n, bc->ntx);
	for (int i = 0; i < bc->ntx; i++) {
		const struct bexp *e = &bc->tx[i];
		size_t blen = e->body_len ? e->body_len : strlen(e->body);

		if (r->t[i].kept != blen || r->t[i].complete != e->complete ||
		    r->t[i].body_len != e->seen ||
		    memcmp(r->t[i].body, e->body, blen))
			fail_msg("%s (%s %zu) txn %d: kept %zu/%zu complete %d/%d "
				 "seen %llu/%llu", bc->name, how, cut, i,
				 r->t[i].kept, blen, r->t[i].complete,
				 e->complete, (unsigned long long)r->t[i].body_len,
				 (unsigned long long)e->seen);
	}
}

static void test_cases_whole(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		run_case(&cases[k], 0, false, got);
		check_case(&cases[k], got, "whole", 0);
	}
}

/* Every cut point of dir 0, and byte by byte: the same bodies. */
static void test_cases_split_everywhere(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct bcase *bc = &cases[k];

		for (size_t cut = 1; cut < d0_len(bc); cut++) {
			run_case(bc, cut, false, got);
			check_case(bc, got, "cut at", cut);
		}
		run_case(bc, 0, true, got);
		check_case(bc, got, "bytewise", 0);
	}
}

/* Sequential keep-alive requests: the buffer is reused from its start, and
 * a body of the limit fits after many smaller ones. */
static void test_keepalive_reuse(void **state)
{
	struct rs_http_layer l;
	struct rs_http_conn *c;
	char req[128];

	(void)state;
	brec_clear(got);
	assert_int_equal(rs_http_layer_init(&l, on_txn, got), 0);
	assert_int_equal(rs_http_layer_set_keep_body(&l, 10), 0);
	c = rs_http_conn_new(&l, NULL);
	assert_non_null(c);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(req, sizeof(req),
				 "POST /%d HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
				 "%010d", i, i);

		got->n = 0;
		rs_http_conn_data(c, 0, (const uint8_t *)req, (size_t)n, 1);
		rs_http_conn_data(c, 1, (const uint8_t *)ok_resp,
				  strlen(ok_resp), 2);
		assert_int_equal(got->n, 1);
		assert_true(got->t[0].complete);
		snprintf(req, sizeof(req), "%010d", i);
		assert_memory_equal(got->t[0].body, req, 10);
	}
	rs_http_conn_free(c);
	rs_http_layer_fini(&l);
}

/* A body of 300 KiB (growing the buffer many times, past the pool's
 * size) in uneven segments; then the pooled connection starts afresh. */
static void test_large_body(void **state)
{
	const size_t blen = 300 * 1024;
	struct rs_http_layer l;
	struct rs_http_conn *c;
	uint8_t *body = malloc(blen);
	char head[128];
	size_t i = 0, step = 1;

	(void)state;
	assert_non_null(body);
	for (size_t k = 0; k < blen; k++)
		body[k] = (uint8_t)(k * 7 + (k >> 9));
	brec_clear(got);
	assert_int_equal(rs_http_layer_init(&l, on_txn, got), 0);
	assert_int_equal(rs_http_layer_set_keep_body(&l, blen), 0);
	c = rs_http_conn_new(&l, NULL);
	int hn = snprintf(head, sizeof(head),
			  "PUT /big HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", blen);
	rs_http_conn_data(c, 0, (const uint8_t *)head, (size_t)hn, 1);
	while (i < blen) {
		size_t k = step < blen - i ? step : blen - i;

		rs_http_conn_data(c, 0, body + i, k, 1);
		i += k;
		step = step * 3 + 1;
		if (step > 70000)
			step = 5;
	}
	rs_http_conn_data(c, 1, (const uint8_t *)ok_resp, strlen(ok_resp), 2);
	assert_int_equal(got->n, 1);
	assert_true(got->t[0].complete);
	assert_int_equal(got->t[0].kept, blen);
	assert_memory_equal(got->t[0].body, body, blen);
	rs_http_conn_free(c);
	/* The same memory from the pool, its big buffer given back: a small
	 * body is kept again (ASan sees any use of the freed buffer). */
	got->n = 0;
	c = rs_http_conn_new(&l, NULL);
	assert_non_null(c);
	rs_http_conn_data(c, 0, (const uint8_t *)post_req, strlen(post_req), 1);
	rs_http_conn_data(c, 1, (const uint8_t *)ok_resp, strlen(ok_resp), 2);
	assert_int_equal(got->n, 1);
	assert_true(got->t[0].complete);
	assert_memory_equal(got->t[0].body, "hello world", 11);
	rs_http_conn_free(c);
	rs_http_layer_fini(&l);
	free(body);
}

/* A line that cannot start "token SP" before anything HTTP is junk whether
 * it arrives whole or in pieces (it was parsed as a request when whole). */
static void test_long_token_before_request(void **state)
{
	static const char d0[] =
		"JJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJGET / HTTP/1.1\r\n\r\n";
	struct rs_http_layer l;
	struct rs_http_conn *c;

	(void)state;
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		brec_clear(got);
		assert_int_equal(rs_http_layer_init(&l, on_txn, got), 0);
		c = rs_http_conn_new(&l, NULL);
		if (bytewise)
			for (size_t i = 0; i < strlen(d0); i++)
				rs_http_conn_data(c, 0, (const uint8_t *)d0 + i, 1, 1);
		else
			rs_http_conn_data(c, 0, (const uint8_t *)d0, strlen(d0), 1);
		rs_http_conn_free(c);
		rs_http_layer_fini(&l);
		assert_int_equal(got->n, 1);
		assert_string_equal(got->t[0].method, "GET");
		assert_string_equal(got->t[0].uri, "/");
	}
}

static int setup(void **state)
{
	(void)state;
	got = calloc(1, sizeof(*got));
	ref = calloc(1, sizeof(*ref));
	if (!got || !ref)
		return -1;
	for (int i = 0; i < MAXTX; i++) {
		got->t[i].body = malloc(BODY_REC_MAX);
		ref->t[i].body = malloc(BODY_REC_MAX);
		if (!got->t[i].body || !ref->t[i].body)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < MAXTX; i++) {
		free(got->t[i].body);
		free(ref->t[i].body);
	}
	free(got);
	free(ref);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_body_control),
		cmocka_unit_test(test_keep_body_default_off),
		cmocka_unit_test(test_cases_whole),
		cmocka_unit_test(test_cases_split_everywhere),
		cmocka_unit_test(test_keepalive_reuse),
		cmocka_unit_test(test_large_body),
		cmocka_unit_test(test_long_token_before_request),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
