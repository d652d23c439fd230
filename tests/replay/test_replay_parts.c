/* test_replay_parts.c - the replay engine's parts: SPSC queue, latency histogram, request rewrite, response framing, target parsing. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "replay.h"
#include "replay_impl.h"

/* ---- SPSC queue: control ------------------------------------------- */

static void test_spsc_control(void **state)
{
	struct rs_spsc q;
	size_t len;
	uint8_t *p;

	(void)state;
	assert_int_equal(rs_spsc_init(&q, 100), 0);
	assert_int_equal(q.cap, 4096);            /* at least 4096 */
	rs_spsc_fini(&q);
	assert_int_equal(rs_spsc_init(&q, 5000), 0);
	assert_int_equal(q.cap, 8192);            /* a power of two */
	assert_int_equal(rs_spsc_max_payload(&q), 4096 - 8);
	assert_null(rs_spsc_reserve(&q, 4096 - 7)); /* over half the ring */
	assert_true(rs_spsc_empty(&q));
	assert_null(rs_spsc_peek(&q, &len));
	/* Reserved but not committed: invisible, and forgotten. */
	p = rs_spsc_reserve(&q, 10);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 8, 0);
	memcpy(p, "abcdefghij", 10);
	assert_null(rs_spsc_peek(&q, &len));
	assert_true(rs_spsc_empty(&q));
	p = rs_spsc_reserve(&q, 3);
	memcpy(p, "xyz", 3);
	rs_spsc_commit(&q);
	rs_spsc_commit(&q); /* nothing reserved: nothing happens */
	assert_false(rs_spsc_empty(&q));
	p = (uint8_t *)rs_spsc_peek(&q, &len);
	assert_non_null(p);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "xyz", 3);
	/* Peek again without release: the same record. */
	assert_ptr_equal(rs_spsc_peek(&q, &len), p);
	rs_spsc_release(&q);
	rs_spsc_release(&q); /* nothing peeked: nothing happens */
	assert_true(rs_spsc_empty(&q));
	assert_null(rs_spsc_peek(&q, &len));
	/* Zero-length records exist too. */
	assert_non_null(rs_spsc_reserve(&q, 0));
	rs_spsc_commit(&q);
	assert_non_null(rs_spsc_peek(&q, &len));
	assert_int_equal(len, 0);
	rs_spsc_release(&q);
	rs_spsc_fini(&q);
}

/* Fill until full, free one, fill again; records wrap with pad records,
 * come out in order and intact. */
static void test_spsc_full_and_wrap(void **state)
{
	struct rs_spsc q;
	static uint32_t out_round[2000]; /* round that wrote record i */
	uint32_t in = 0, out = 0, full = 0;
	size_t len;

	(void)state;
	assert_int_equal(rs_spsc_init(&q, 4096), 0);
	for (int round = 0; round < 2000; round++) {
		/* Sizes 1..700, never a multiple of the ring: every offset. */
		size_t n = 1 + (round * 37) % 700;
		uint8_t *p = rs_spsc_reserve(&q, n);

		if (p) {
			out_round[in] = (uint32_t)round;
			for (size_t k = 0; k < n; k++)
				p[k] = (uint8_t)(in * 7 + k);
			rs_spsc_commit(&q);
			in++;
		} else {
			full++;
		}
		/* Read one every other round, so the ring is often full. */
		if (round % 2 || !p) {
			const uint8_t *r = rs_spsc_peek(&q, &len);

			assert_non_null(r);
			/* The size this record was written with. */
			assert_int_equal(len, 1 + (out_round[out] * 37) % 700);
			for (size_t k = 0; k < len; k++)
				if (r[k] != (uint8_t)(out * 7 + k))
					fail_msg("record %u byte %zu", out, k);
			rs_spsc_release(&q);
			out++;
		}
	}
	while (rs_spsc_peek(&q, &len)) {
		rs_spsc_release(&q);
		out++;
	}
	assert_int_equal(in, out);
	assert_true(full > 0);
	/* Every byte of the ring went round several times. */
	assert_true(atomic_load(&q.head) > 10 * q.cap);
	rs_spsc_fini(&q);
}

/* ---- SPSC queue: two threads ---------------------------------------- */

#define STRESS_N 300000

struct stress {
	struct rs_spsc q;
	uint64_t full;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *producer(void *arg)
{
	struct stress *st = arg;
	uint64_t seed = 12345;

	for (uint32_t i = 0; i < STRESS_N; i++) {
		size_t n = 4 + rnd(&seed) % 300;
		uint8_t *p;

		while (!(p = rs_spsc_reserve(&st->q, n)))
			st->full++;
		memcpy(p, &i, 4);
		for (size_t k = 4; k < n; k++)
			p[k] = (uint8_t)(i * 31 + k);
		rs_spsc_commit(&st->q);
	}
	return NULL;
}

static void test_spsc_threads(void **state)
{
	struct stress *st = calloc(1, sizeof(*st));
	pthread_t t;
	uint64_t seed = 12345;
	size_t len;

	(void)state;
	assert_non_null(st);
	assert_int_equal(rs_spsc_init(&st->q, 8192), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, st), 0);
	for (uint32_t i = 0; i < STRESS_N; i++) {
		const uint8_t *p;
		size_t want = 4 + rnd(&seed) % 300;
		uint32_t v;

		while (!(p = rs_spsc_peek(&st->q, &len)))
			;
		assert_int_equal(len, want);
		memcpy(&v, p, 4);
		assert_int_equal(v, i);
		for (size_t k = 4; k < len; k++)
			if (p[k] != (uint8_t)(i * 31 + k))
				fail_msg("record %u byte %zu", i, k);
		rs_spsc_release(&st->q);
	}
	pthread_join(t, NULL);
	assert_null(rs_spsc_peek(&st->q, &len));
	rs_spsc_fini(&st->q);
	free(st);
}

/* ---- histogram ------------------------------------------------------- */

static void test_hist(void **state)
{
	struct rs_hist *h = calloc(1, sizeof(*h));

	(void)state;
	assert_non_null(h);
	assert_int_equal(rs_hist_pct(h, 50), 0);
	/* Small values are exact. */
	for (uint64_t v = 1; v <= 10; v++)
		rs_hist_add(h, v);
	assert_int_equal(rs_hist_pct(h, 50), 5);
	assert_int_equal(rs_hist_pct(h, 100), 10);
	assert_int_equal(rs_hist_pct(h, 1), 1);
	assert_int_equal(h->max, 10);
	assert_int_equal(h->sum, 55);
	memset(h, 0, sizeof(*h));
	/* 1..100000: every percentile within 1/32 above the true value. */
	for (uint64_t v = 1; v <= 100000; v++)
		rs_hist_add(h, v);
	for (int p = 1; p <= 100; p++) {
		uint64_t got = rs_hist_pct(h, p), want = (uint64_t)p * 1000;

		if (got < want || got > want + want / 32)
			fail_msg("p%d: %llu, want %llu", p,
				 (unsigned long long)got, (unsigned long long)want);
	}
	assert_int_equal(rs_hist_pct(h, 100), 100000); /* the max, exact */
	/* One huge value: still counted, p99 unaffected. */
	rs_hist_add(h, UINT64_MAX / 2);
	assert_int_equal(h->max, UINT64_MAX / 2);
	assert_true(rs_hist_pct(h, 99) < 104000);
	assert_int_equal(rs_hist_pct(h, 100), UINT64_MAX / 2);
	free(h);
}

/* ---- request rewrite --------------------------------------------------- */

struct bcase {
	const char *name, *head, *body, *host, *want;
	bool head_method, http10;
};

static const struct bcase bcases[] = {
	{"plain GET", "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
	 "", NULL, "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"},
	{"LF endings become CR LF", "GET / HTTP/1.1\nHost: x\n\n", "", NULL,
	 "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"empty lines before the request", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", "",
	 NULL, "GET / HTTP/1.1\r\n\r\n"},
	{"Host replaced, once", "GET / HTTP/1.1\r\nhost: old\r\nA: b\r\n\r\n", "",
	 "new.example", "GET / HTTP/1.1\r\nHost: new.example\r\nA: b\r\n\r\n"},
	{"Host added", "GET / HTTP/1.1\r\nA: b\r\n\r\n", "", "h:8080",
	 "GET / HTTP/1.1\r\nA: b\r\nHost: h:8080\r\n\r\n"},
	{"Host folded value replaced whole",
	 "GET / HTTP/1.1\r\nHost: a\r\n b\r\nC: d\r\n\r\n", "", "n",
	 "GET / HTTP/1.1\r\nHost: n\r\nC: d\r\n\r\n"},
	{"POST Content-Length recomputed",
	 "POST /e HTTP/1.1\r\nContent-Length: 5\r\nContent-Type: t\r\n\r\n",
	 "hello", NULL,
	 "POST /e HTTP/1.1\r\nContent-Type: t\r\nContent-Length: 5\r\n\r\nhello"},
	{"Content-Length 0 kept",
	 "POST /e HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "", NULL,
	 "POST /e HTTP/1.1\r\nContent-Length: 0\r\n\r\n"},
	{"chunked request sent with its length",
	 "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n",
	 "Wikipedia", NULL,
	 "POST /c HTTP/1.1\r\nX: y\r\nContent-Length: 9\r\n\r\nWikipedia"},
	{"hop-by-hop and Expect dropped",
	 "PUT /u HTTP/1.1\r\nConnection: close\r\nKeep-Alive: 5\r\n"
	 "Proxy-Connection: x\r\nExpect: 100-continue\r\nUpgrade: h2c\r\n"
	 "HTTP2-Settings: AAA\r\nContent-Length : 2\r\nA: 1\r\n\r\n",
	 "ok", NULL, "PUT /u HTTP/1.1\r\nA: 1\r\nContent-Length: 2\r\n\r\nok"},
	{"obs-fold stays with a kept header, goes with a dropped one",
	 "GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\nConnection: keep-alive\r\n  close\r\n\r\n",
	 "", NULL, "GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n"},
	{"HTTP/1.0 asks for keep-alive", "GET / HTTP/1.0\r\nConnection: close\r\n\r\n",
	 "", NULL, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, true},
	{"HEAD", "HEAD /h HTTP/1.1\r\n\r\n", "", NULL, "HEAD /h HTTP/1.1\r\n\r\n",
	 true, false},
	{"header bytes kept as they are",
	 "GET /\xff HTTP/1.1\r\nUser-Agent: a\xfe \"q\"\r\n\r\n", "", NULL,
	 "GET /\xff HTTP/1.1\r\nUser-Agent: a\xfe \"q\"\r\n\r\n"},
	/* Not request heads: */
	{"no end", "GET / HTTP/1.1\r\nHost: x\r\n", "", NULL, NULL},
	{"empty", "", "", NULL, NULL},
	{"only empty lines", "\r\n\r\n", "", NULL, NULL},
	{"no space in the request line", "GARBAGE\r\n\r\n", "", NULL, NULL},
};

static void test_build(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bcases) / sizeof(bcases[0]); i++) {
		const struct bcase *c = &bcases[i];
		size_t hl = strlen(c->head), bl = strlen(c->body);
		size_t max = rs_replay_build_max(hl, bl, c->host ? strlen(c->host) : 0);
		uint8_t *out = malloc(max);
		struct rs_req_info info;
		long n;

		assert_non_null(out);
		n = rs_replay_build(out, (const uint8_t *)c->head, hl,
				    (const uint8_t *)c->body, bl, c->host, &info);
		if (!c->want) {
			if (n != -1)
				fail_msg("%s: built %ld bytes, want -1", c->name, n);
		} else {
			if (n < 0 || (size_t)n != strlen(c->want) ||
			    memcmp(out, c->want, (size_t)n))
				fail_msg("%s: got '%.*s'", c->name, (int)(n < 0 ? 0 : n),
					 (const char *)out);
			assert_true((size_t)n <= max);
			assert_int_equal(info.head_method, c->head_method);
			assert_int_equal(info.http10, c->http10);
		}
		free(out);
	}
}

/* LF-only heads of many lines: the bound holds. */
static void test_build_bound(void **state)
{
	char head[4096];
	size_t n = 0;
	uint8_t *out;
	long k;
	struct rs_req_info info;

	(void)state;
	n += (size_t)sprintf(head + n, "GET / HTTP/1.0\n");
	while (n < sizeof(head) - 16)
		n += (size_t)sprintf(head + n, "a:\n");
	n += (size_t)sprintf(head + n, "\n");
	out = malloc(rs_replay_build_max(n, 0, 255));
	assert_non_null(out);
	k = rs_replay_build(out, (const uint8_t *)head, n, NULL, 0,
			    "h23456789012345678901234567890", &info);
	assert_true(k > 0);
	assert_true((size_t)k <= rs_replay_build_max(n, 0, 30));
	free(out);
}

/* ---- response framing -------------------------------------------------- */

struct rcase {
	const char *name, *resp;
	bool head_req, req10;
	long used;          /* expected bytes used; -1 = error; 0 = all, not done */
	int status;
	bool reusable;
	bool eof_ends;      /* when not done: does eof end it? */
};

#define ALL 0
#define END -2 /* done exactly at the end of resp */
static const struct rcase rcases[] = {
	{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	 false, false, END, 200, true},
	{"content-length 0", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
	 false, false, END, 404, true},
	{"extra bytes after the end",
	 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1",
	 false, false, 40, 200, true},
	{"chunked, extensions, trailers",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	 "4;a=b\r\nWiki\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
	 false, false, END, 200, true},
	{"chunked wins over Content-Length",
	 "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "1\r\nx\r\n0\r\n\r\n", false, false, END, 200, true},
	{"204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
	 false, false, END, 204, true},
	{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
	 false, false, END, 304, true},
	{"HEAD: no body", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
	 true, false, END, 200, true},
	{"100 Continue first", "HTTP/1.1 100 Continue\r\n\r\n"
	 "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
	 false, false, END, 201, true},
	{"101 ends it", "HTTP/1.1 101 Switching\r\nUpgrade: x\r\n\r\n",
	 false, false, END, 101, false},
	{"Connection: close", "HTTP/1.1 500 E\r\nConnection: Close\r\nContent-Length: 1\r\n\r\nx",
	 false, false, END, 500, false},
	{"HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
	 false, false, END, 200, false},
	{"HTTP/1.0 with keep-alive",
	 "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
	 false, false, END, 200, true},
	{"1.0 request, 1.1 response without keep-alive",
	 "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", false, true, END, 200, false},
	{"1.0 request, keep-alive answer",
	 "HTTP/1.1 200 OK\r\nConnection: x, Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
	 false, true, END, 200, true},
	{"LF-only lines", "HTTP/1.1 302 Found\nContent-Length: 3\n\nabc",
	 false, false, END, 302, true},
	{"read until close", "HTTP/1.1 200 OK\r\n\r\nsome body", false, false,
	 ALL, 200, false, true},
	{"other coding: read until close",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", false, false,
	 ALL, 200, false, true},
	{"cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
	 false, false, ALL, 200, false, false},
	{"cut in the head", "HTTP/1.1 200 OK\r\nContent-Le", false, false, ALL,
	 200, false, false},
	{"a long header line", "HTTP/1.1 200 OK\r\nX-Long: "
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "\r\nContent-Length: 1\r\n\r\nx", false, false, END, 200, true},
	/* Errors: */
	{"not a status line", "HTTP/1.1 2x0 OK\r\n\r\n", false, false, -1},
	{"not HTTP", "SSH-2.0-OpenSSH\r\n", false, false, -1},
	{"conflicting lengths",
	 "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
	 false, false, -1},
	{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false,
	 false, -1},
	{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	 false, false, -1},
	{"chunk without its CR LF",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n",
	 false, false, -1},
	{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", false,
	 false, -1},
};

/* Feed resp in pieces cut at `cut` (0: whole; SIZE_MAX: byte by byte). */
static long feed(struct rs_resp *r, const char *s, size_t cut)
{
	size_t n = strlen(s), i = 0;
	long used = 0;

	while (i < n && !rs_resp_done(r)) {
		size_t end = cut == SIZE_MAX ? i + 1 : (cut && i < cut ? cut : n);
		long k = rs_resp_feed(r, (const uint8_t *)s + i, end - i);

		if (k < 0)
			return -1;
		used += k;
		if ((size_t)k < end - i)
			break;
		i = end;
	}
	return used;
}

static void check_resp(const struct rcase *c, size_t cut)
{
	struct rs_resp r;
	struct rs_req_info ri = {c->head_req, c->req10};
	long used;

	rs_resp_begin(&r, &ri);
	used = feed(&r, c->resp, cut);
	if (c->used == -1) {
		if (used != -1 || r.st != RP_ERROR)
			fail_msg("%s (cut %zu): used %ld, want an error", c->name,
				 cut, used);
		assert_int_equal(rs_resp_feed(&r, (const uint8_t *)"x", 1), -1);
		return;
	}
	if (c->used == ALL) {
		if (used != (long)strlen(c->resp) || rs_resp_done(&r))
			fail_msg("%s (cut %zu): used %ld done %d", c->name, cut,
				 used, rs_resp_done(&r));
		if (rs_resp_eof(&r) != c->eof_ends)
			fail_msg("%s (cut %zu): eof ends it: %d", c->name, cut,
				 !c->eof_ends);
		assert_int_equal(rs_resp_done(&r), c->eof_ends);
		if (c->eof_ends)
			assert_false(rs_resp_reusable(&r));
		return;
	}
	long want = c->used == END ? (long)strlen(c->resp) : c->used;

	if (used != want || !rs_resp_done(&r))
		fail_msg("%s (cut %zu): used %ld (want %ld), done %d", c->name,
			 cut, used, want, rs_resp_done(&r));
	if (r.status != c->status)
		fail_msg("%s: status %d, want %d", c->name, r.status, c->status);
	if (rs_resp_reusable(&r) != c->reusable)
		fail_msg("%s (cut %zu): reusable %d", c->name, cut, !c->reusable);
	/* Done stays done; eof after the end changes nothing. */
	assert_true(rs_resp_eof(&r));
	assert_int_equal(rs_resp_feed(&r, (const uint8_t *)"x", 1), 0);
}

static void test_resp_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++)
		check_resp(&rcases[i], 0);
}

static void test_resp_split_everywhere(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		for (size_t cut = 1; cut < strlen(rcases[i].resp); cut++)
			check_resp(&rcases[i], cut);
		check_resp(&rcases[i], SIZE_MAX);
	}
}

/* A head over the bound is an error, not an endless read. */
static void test_resp_head_bound(void **state)
{
	struct rs_resp r;
	char line[1024];
	long k = 0;

	(void)state;
	rs_resp_begin(&r, NULL);
	memset(line, 'a', sizeof(line));
	memcpy(line, "X: ", 3);
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(rs_resp_feed(&r, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17), 17);
	for (int i = 0; i < 100 && k >= 0; i++)
		k = rs_resp_feed(&r, (const uint8_t *)line, sizeof(line));
	assert_int_equal(k, -1);
	assert_int_equal(r.st, RP_ERROR);
}

/* ---- options and target ------------------------------------------------- */

static void test_target(void **state)
{
	static const char *const bad[] = {
		"localhost:80", "198.18.0.1", "198.18.0.1:", "198.18.0.1:0",
		"198.18.0.1:65536", "198.18.0.1:-1", "198.18.0.1:80x",
		"198.18.0.1:80:1", "[::1]8080", "[::1]", "[nothost]:80",
		"::1:80", "", ":80", "198.18.0.256:80", "[198.18.0.1]:80",
	};
	struct sockaddr_storage sa;
	socklen_t len;
	char err[128];
	struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;

	(void)state;
	assert_int_equal(rs_replay_parse_target("198.18.0.1:8080", &sa, &len,
						err, sizeof(err)), 0);
	assert_int_equal(sa.ss_family, AF_INET);
	assert_int_equal(len, sizeof(*a4));
	assert_int_equal(ntohs(a4->sin_port), 8080);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), 0xc6120001);
	assert_int_equal(rs_replay_parse_target("[2001:db8::5]:65535", &sa, &len,
						err, sizeof(err)), 0);
	assert_int_equal(sa.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(*a6));
	assert_int_equal(ntohs(a6->sin6_port), 65535);
	assert_int_equal(a6->sin6_addr.s6_addr[15], 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (rs_replay_parse_target(bad[i], &sa, &len, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err[0] != 0);
	}
}

static void test_opts(void **state)
{
	struct rs_replay_opts o;

	(void)state;
	rs_replay_opts_default(&o);
	assert_int_equal(o.conns, 4);
	assert_true(o.percent == 100);
	assert_int_equal(o.timeout_ms, 5000);
	assert_false(o.given);
	assert_int_equal(rs_replay_opts_check(&o), 0); /* no --replay: fine */
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_CONNS, "8"), 0);
	assert_int_equal(o.conns, 8);
	assert_true(o.given);
	assert_int_equal(rs_replay_opts_check(&o), -EINVAL); /* needs --replay */
	o.target = "198.18.0.1:8080";
	assert_int_equal(rs_replay_opts_check(&o), 0);
	assert_int_equal(o.addr.ss_family, AF_INET);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_CONNS, "0"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_CONNS, "1025"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_CONNS, "-1"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_RATE, "12.5"), 0);
	assert_true(o.rate == 12.5);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_RATE, "x"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_PERCENT, "0"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_PERCENT, "100.1"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_PERCENT, "0.5"), 0);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_TIMEOUT, "0"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_HOST, "a b"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_HOST, "a\r\nX: y"), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_HOST, ""), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_HOST, "ok.example:81"), 0);
	assert_string_equal(o.host, "ok.example:81");
	/* A body must fit half a queue. */
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_QUEUE_MB, "1"), 0);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_BODY_KB, "1024"), 0);
	assert_int_equal(rs_replay_opts_check(&o), -EINVAL);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_BODY_KB, "0"), 0);
	assert_int_equal(rs_replay_opts_check(&o), 0);
	assert_int_equal(rs_replay_body_max(&o), 0);
	assert_int_equal(rs_replay_keep_body(&o), 1);
	o.target = "example.com:80";
	assert_int_equal(rs_replay_opts_check(&o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spsc_control),
		cmocka_unit_test(test_spsc_full_and_wrap),
		cmocka_unit_test(test_spsc_threads),
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_bound),
		cmocka_unit_test(test_resp_whole),
		cmocka_unit_test(test_resp_split_everywhere),
		cmocka_unit_test(test_resp_head_bound),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
