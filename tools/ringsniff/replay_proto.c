/* replay_proto.c - HTTP/1.1 for replay: the captured request rewritten for a persistent connection, and where each response ends. */
#include <stdio.h>
#include <string.h>

#include "replay_impl.h"

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive: p[0..n) equals the lower-case literal. */
static bool eq_ci(const uint8_t *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	if (n != k)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(p[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

static bool ws(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* ---- the request ------------------------------------------------------ */

/* Request line, added lines (Host, Connection, Content-Length) and their
 * line ends: 128 bytes cover the fixed parts. */
size_t rs_replay_build_max(size_t head_len, size_t body_len, size_t host_len)
{
	/* Every LF may become CR LF. */
	return 2 * head_len + body_len + host_len + 128;
}

/* Next line of head at *pos: its bytes (CR LF removed) in line and n.  Returns
 * false when no complete line is left. */
static bool next_line(const uint8_t *head, size_t len, size_t *pos,
		      const uint8_t **line, size_t *n)
{
	const uint8_t *p = head + *pos, *lf;
	size_t k;

	if (*pos >= len)
		return false;
	lf = memchr(p, '\n', len - *pos);
	if (!lf)
		return false;
	k = (size_t)(lf - p);
	*pos += k + 1;
	if (k && p[k - 1] == '\r')
		k--;
	*line = p;
	*n = k;
	return true;
}

static uint8_t *put(uint8_t *o, const void *p, size_t n)
{
	memcpy(o, p, n);
	return o + n;
}

enum hdr_action { KEEP, DROP, DROP_FRAMING, HOST };

static enum hdr_action classify(const uint8_t *name, size_t n)
{
	if (eq_ci(name, n, "content-length") ||
	    eq_ci(name, n, "transfer-encoding"))
		return DROP_FRAMING;
	if (eq_ci(name, n, "connection") || eq_ci(name, n, "keep-alive") ||
	    eq_ci(name, n, "proxy-connection") || eq_ci(name, n, "upgrade") ||
	    eq_ci(name, n, "http2-settings") || eq_ci(name, n, "expect"))
		return DROP;
	if (eq_ci(name, n, "host"))
		return HOST;
	return KEEP;
}

long rs_replay_build(uint8_t *out, const uint8_t *head, size_t head_len,
		     const uint8_t *body, size_t body_len, const char *host,
		     struct rs_req_info *info)
{
	const uint8_t *ln, *sp;
	size_t n, pos = 0;
	uint8_t *o = out;
	bool framing = false, host_done = false, dropping = false, ended = false;

	info->head_method = info->http10 = false;
	/* The request line: method SP target SP version. */
	do {
		if (!next_line(head, head_len, &pos, &ln, &n))
			return -1;
	} while (!n);
	sp = memchr(ln, ' ', n);
	if (!sp || sp == ln || n < 8)
		return -1;
	info->head_method = sp - ln == 4 && !memcmp(ln, "HEAD", 4);
	info->http10 = !memcmp(ln + n - 8, "HTTP/1.0", 8) ||
		       !memcmp(ln + n - 8, "HTTP/0.", 7);
	o = put(o, ln, n);
	o = put(o, "\r\n", 2);
	while (next_line(head, head_len, &pos, &ln, &n)) {
		const uint8_t *colon;

		if (!n) {
			ended = true;
			break;
		}
		if (ws(ln[0])) { /* obs-fold: goes with its header */
			if (!dropping) {
				o = put(o, ln, n);
				o = put(o, "\r\n", 2);
			}
			continue;
		}
		colon = memchr(ln, ':', n);
		size_t nl = colon ? (size_t)(colon - ln) : n;

		while (nl && ws(ln[nl - 1]))
			nl--;
		enum hdr_action a = classify(ln, nl);

		dropping = a == DROP || a == DROP_FRAMING ||
			   (a == HOST && host);
		if (a == DROP_FRAMING)
			framing = true;
		if (a == HOST && host && !host_done) {
			o = put(o, "Host: ", 6);
			o = put(o, host, strlen(host));
			o = put(o, "\r\n", 2);
		}
		if (a == HOST)
			host_done = true;
		if (!dropping) {
			o = put(o, ln, n);
			o = put(o, "\r\n", 2);
		}
	}
	if (!ended)
		return -1;
	if (host && !host_done) {
		o = put(o, "Host: ", 6);
		o = put(o, host, strlen(host));
		o = put(o, "\r\n", 2);
	}
	if (info->http10)
		o = put(o, "Connection: keep-alive\r\n", 24);
	if (framing || body_len) {
		char cl[48];
		int k = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n",
				 body_len);

		o = put(o, cl, (size_t)k);
	}
	o = put(o, "\r\n", 2);
	if (body_len)
		o = put(o, body, body_len);
	return (long)(o - out);
}

/* ---- the response ------------------------------------------------------ */

void rs_resp_begin(struct rs_resp *r, const struct rs_req_info *req)
{
	memset(r, 0, offsetof(struct rs_resp, line));
	r->st = RP_LINE;
	r->head_req = req && req->head_method;
	r->req_http10 = req && req->http10;
}

static bool digits(const char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return true;
}

static int fail(struct rs_resp *r)
{
	r->st = RP_ERROR;
	return -1;
}

static void trim(const char **p, size_t *n)
{
	while (*n && ws((uint8_t)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && ws((uint8_t)(*p)[*n - 1]))
		(*n)--;
}

/* Comma-separated tokens of v: look for close / keep-alive / chunked. */
static void tokens(struct rs_resp *r, const char *v, size_t n, bool te)
{
	while (n) {
		const char *c = memchr(v, ',', n);
		size_t k = c ? (size_t)(c - v) : n;
		const char *t = v;
		size_t tn = k;

		trim(&t, &tn);
		if (te) {
			/* chunked must be the last coding. */
			r->chunked = eq_ci((const uint8_t *)t, tn, "chunked");
			r->te_other = !r->chunked;
		} else if (eq_ci((const uint8_t *)t, tn, "close")) {
			r->close = true;
		} else if (eq_ci((const uint8_t *)t, tn, "keep-alive")) {
			r->keepalive = true;
		}
		v += k;
		n -= k;
		if (n) {
			v++;
			n--;
		}
	}
}

static int status_line(struct rs_resp *r, const char *p, size_t n)
{
	if (n < 12 || memcmp(p, "HTTP/", 5) || p[6] != '.' || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || (n > 12 && p[12] != ' '))
		return fail(r);
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	r->http10 = p[5] == '0' || (p[5] == '1' && p[7] == '0');
	r->close = r->keepalive = r->chunked = r->te_other = false;
	r->cl_state = 0;
	r->st = RP_HEADERS;
	return 0;
}

static int header_line(struct rs_resp *r, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n), *v;
	size_t nl, vn;
	uint64_t cl;

	if (!colon)
		return fail(r);
	nl = (size_t)(colon - p);
	v = colon + 1;
	vn = n - nl - 1;
	trim(&v, &vn);
	if (eq_ci((const uint8_t *)p, nl, "content-length")) {
		if (!digits(v, vn, &cl) || (r->cl_state == 1 && cl != r->cl)) {
			r->cl_state = -1;
		} else if (r->cl_state == 0) {
			r->cl_state = 1;
			r->cl = cl;
		}
	} else if (eq_ci((const uint8_t *)p, nl, "transfer-encoding")) {
		tokens(r, v, vn, true);
	} else if (eq_ci((const uint8_t *)p, nl, "connection")) {
		tokens(r, v, vn, false);
	}
	return 0;
}

/* The empty line after the head: where does the body end? */
static int head_end(struct rs_resp *r)
{
	int s = r->status;

	if (s / 100 == 1 && s != 101) { /* interim: the real one follows */
		r->st = RP_LINE;
		return 0;
	}
	if (s == 101 || r->head_req || s == 204 || s == 304) {
		r->st = RP_DONE;
		return 0;
	}
	if (r->chunked) {
		r->st = RP_CHUNK_SIZE;
	} else if (r->te_other) {
		r->st = RP_BODY_EOF;
	} else if (r->cl_state < 0) {
		return fail(r);
	} else if (r->cl_state == 1) {
		r->remaining = r->cl;
		r->st = r->cl ? RP_BODY_LEN : RP_DONE;
	} else {
		r->st = RP_BODY_EOF;
	}
	return 0;
}

static int chunk_size(struct rs_resp *r, const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n; i++) {
		uint8_t c = lower((uint8_t)p[i]);
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		if (v >> 60)
			return fail(r);
		v = v * 16 + d;
	}
	if (!i || (i < n && p[i] != ';' && !ws((uint8_t)p[i])))
		return fail(r);
	r->remaining = v;
	r->st = v ? RP_CHUNK_DATA : RP_TRAILERS;
	return 0;
}

/* A complete line (CR LF removed; only its first bytes kept). */
static int line_done(struct rs_resp *r)
{
	const char *p = r->line;
	size_t n = r->line_len;

	/* A kept CR is the line's own only when the whole line was kept. */
	if (n && p[n - 1] == '\r' && r->line_total == n)
		n--;
	switch (r->st) {
	case RP_LINE:
		if (!n)
			return 0; /* stray empty line before a status line */
		return status_line(r, p, n);
	case RP_HEADERS:
		if (!n)
			return head_end(r);
		return header_line(r, p, n);
	case RP_CHUNK_SIZE:
		return chunk_size(r, p, n);
	case RP_CHUNK_CRLF:
		if (n)
			return fail(r);
		r->st = RP_CHUNK_SIZE;
		return 0;
	case RP_TRAILERS:
		if (!n)
			r->st = RP_DONE;
		return 0;
	default:
		return fail(r);
	}
}

long rs_resp_feed(struct rs_resp *r, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (used < n && r->st != RP_DONE) {
		const uint8_t *q = p + used, *lf;
		size_t left = n - used, k;

		switch (r->st) {
		case RP_ERROR:
			return -1;
		case RP_BODY_EOF:
			return (long)n;
		case RP_BODY_LEN:
		case RP_CHUNK_DATA:
			k = r->remaining < left ? (size_t)r->remaining : left;
			r->remaining -= k;
			used += k;
			if (!r->remaining)
				r->st = r->st == RP_BODY_LEN ? RP_DONE : RP_CHUNK_CRLF;
			continue;
		default:
			break;
		}
		lf = memchr(q, '\n', left);
		k = lf ? (size_t)(lf - q) : left;
		if (r->line_len < RS_RESP_LINE_KEEP) {
			size_t c = RS_RESP_LINE_KEEP - r->line_len;

			c = c < k ? c : k;
			memcpy(r->line + r->line_len, q, c);
			r->line_len += c;
		}
		r->line_total += k;
		r->head_bytes += k + (lf ? 1 : 0);
		used += k + (lf ? 1 : 0);
		if (r->head_bytes > RS_RESP_HEAD_MAX)
			return fail(r);
		if (!lf)
			break;
		if (line_done(r) < 0)
			return -1;
		/* The bound is per head or trailer block; other lines stand
		 * alone. */
		if (r->st != RP_HEADERS && r->st != RP_TRAILERS)
			r->head_bytes = 0;
		r->line_len = 0;
		r->line_total = 0;
	}
	return (long)used;
}

bool rs_resp_eof(struct rs_resp *r)
{
	if (r->st == RP_BODY_EOF) {
		r->st = RP_DONE;
		r->close = true;
		return true;
	}
	return r->st == RP_DONE;
}

bool rs_resp_reusable(const struct rs_resp *r)
{
	if (r->st != RP_DONE || r->close || r->status == 101)
		return false;
	if (r->http10 || r->req_http10)
		return r->keepalive;
	return true;
}
