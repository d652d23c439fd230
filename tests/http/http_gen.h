/* http_gen.h - seeded generator of valid HTTP/1.1 conversations with known answers (tests, bench). */
#ifndef HTTP_GEN_H
#define HTTP_GEN_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAX_TX 16

struct gen {
	uint64_t s;
};

static inline uint64_t gen_next(struct gen *g)
{
	/* xorshift64*: fixed seeds give the same streams everywhere */
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return g->s * 0x2545F4914F6CDD1Dull;
}

static inline unsigned gen_below(struct gen *g, unsigned n)
{
	return (unsigned)(gen_next(g) % n);
}

struct buf {
	char *p;
	size_t len, cap;
};

static inline void buf_need(struct buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	while (b->len + n + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->p = realloc(b->p, b->cap);
	if (!b->p)
		abort();
}

static inline void buf_put(struct buf *b, const void *p, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

__attribute__((format(printf, 2, 3)))
static inline void buf_fmt(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_need(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static inline void buf_fill(struct gen *g, struct buf *b, size_t n)
{
	buf_need(b, n);
	for (size_t i = 0; i < n; i++)
		b->p[b->len + i] = (char)('a' + (gen_next(g) >> 40) % 26);
	b->len += n;
	b->p[b->len] = 0;
}

struct gen_tx {
	char method[16];
	char uri[300];
	int status;
	uint64_t req_body, resp_body;
	int chunked_req, chunked_resp;
};

struct conv {
	struct buf req, resp;
	int n;
	int needs_eof;      /* the last response ends at connection close */
	int quirks;         /* 304s with a Content-Length (libhtp reads a body) */
	struct gen_tx tx[GEN_MAX_TX];
};

static inline void conv_reset(struct conv *cv)
{
	cv->req.len = cv->resp.len = 0;
	cv->n = 0;
	cv->needs_eof = 0;
	cv->quirks = 0;
}

static inline void conv_free(struct conv *cv)
{
	free(cv->req.p);
	free(cv->resp.p);
	memset(cv, 0, sizeof(*cv));
}

/* A body of n bytes, chunked when asked (random chunk sizes, some with
 * extensions, and sometimes trailers). */
static inline void gen_body(struct gen *g, struct buf *b, size_t n, int chunked,
		     const char *eol)
{
	if (!chunked) {
		buf_fill(g, b, n);
		return;
	}
	while (n) {
		size_t k = 1 + gen_below(g, 3000);

		if (k > n)
			k = n;
		if (gen_below(g, 4) == 0)
			buf_fmt(b, "%zx;ext=%u%s", k, gen_below(g, 100), eol);
		else
			buf_fmt(b, "%zX%s", k, eol);
		buf_fill(g, b, k);
		buf_fmt(b, "%s", eol);
		n -= k;
	}
	buf_fmt(b, "0%s", eol);
	if (gen_below(g, 3) == 0)
		buf_fmt(b, "X-Checksum: %u%s", gen_below(g, 100000), eol);
	buf_fmt(b, "%s", eol);
}

/* Append ntx transactions (at most GEN_MAX_TX) to cv: requests pipelined in
 * cv->req, responses in cv->resp.  Bodies up to body_max bytes. */
static inline void gen_conv(struct gen *g, struct conv *cv, int ntx, size_t body_max)
{
	static const char *const methods[] = {
		"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "HEAD",
		"DELETE", "OPTIONS", "PATCH",
	};
	static const int statuses[] = {
		200, 200, 200, 200, 201, 204, 206, 301, 302, 304, 400, 404, 500,
	};
	const char *eol = gen_below(g, 10) == 0 ? "\n" : "\r\n";

	conv_reset(cv);
	if (ntx > GEN_MAX_TX)
		ntx = GEN_MAX_TX;
	for (int i = 0; i < ntx; i++) {
		struct gen_tx *t = &cv->tx[cv->n++];
		const char *m = methods[gen_below(g, 11)];
		int has_body = !strcmp(m, "POST") || !strcmp(m, "PUT") ||
			       !strcmp(m, "PATCH");
		int last = i == ntx - 1, nh = (int)gen_below(g, 9);
		size_t ul = 1 + gen_below(g, 120);

		memset(t, 0, sizeof(*t));
		snprintf(t->method, sizeof(t->method), "%s", m);
		t->uri[0] = '/';
		for (size_t k = 1; k < ul; k++)
			t->uri[k] = "abcdefghijklmnopqrstuvwxyz0123456789/-_.~"
				[gen_below(g, 41)];
		if (gen_below(g, 3) == 0)
			snprintf(t->uri + ul, sizeof(t->uri) - ul, "?q=%u&r=%u",
				 gen_below(g, 1000), gen_below(g, 1000));
		buf_fmt(&cv->req, "%s %s HTTP/1.1%sHost: host%u.example%s"
			"User-Agent: gen/%u (test)%sAccept: */*%s",
			m, t->uri, eol, gen_below(g, 50), eol, gen_below(g, 9),
			eol, eol);
		for (int h = 0; h < nh; h++) {
			buf_fmt(&cv->req, "X-Header-%d: ", h);
			buf_fill(g, &cv->req, gen_below(g, 200));
			buf_fmt(&cv->req, "%s", eol);
		}
		if (has_body) {
			t->req_body = gen_below(g, (unsigned)body_max + 1);
			t->chunked_req = gen_below(g, 3) == 0;
			if (t->chunked_req)
				buf_fmt(&cv->req, "Transfer-Encoding: chunked%s",
					eol);
			else
				buf_fmt(&cv->req, "Content-Length: %llu%s",
					(unsigned long long)t->req_body, eol);
		}
		buf_fmt(&cv->req, "%s", eol);
		if (has_body)
			gen_body(g, &cv->req, t->req_body, t->chunked_req, eol);

		t->status = statuses[gen_below(g, 13)];
		buf_fmt(&cv->resp, "HTTP/1.1 %d Something%sServer: gen%s"
			"Date: Mon, 01 Jan 2024 00:00:00 GMT%s",
			t->status, eol, eol, eol);
		if (!strcmp(m, "HEAD") || t->status == 204 || t->status == 304) {
			/* No body, whatever the headers say (RFC 9112 6.3). */
			if (t->status != 204 && gen_below(g, 2)) {
				buf_fmt(&cv->resp, "Content-Length: %u%s",
					gen_below(g, 5000), eol);
				cv->quirks += t->status == 304;
			}
			buf_fmt(&cv->resp, "%s", eol);
			continue;
		}
		t->resp_body = gen_below(g, (unsigned)body_max + 1);
		if (last && gen_below(g, 5) == 0) {
			buf_fmt(&cv->resp, "Connection: close%s%s", eol, eol);
			buf_fill(g, &cv->resp, t->resp_body);
			cv->needs_eof = 1;
			continue;
		}
		t->chunked_resp = gen_below(g, 3) == 0;
		if (t->chunked_resp)
			buf_fmt(&cv->resp, "Transfer-Encoding: chunked%s%s", eol,
				eol);
		else
			buf_fmt(&cv->resp, "Content-Length: %llu%s%s",
				(unsigned long long)t->resp_body, eol, eol);
		gen_body(g, &cv->resp, t->resp_body, t->chunked_resp, eol);
	}
}

#endif /* HTTP_GEN_H */
