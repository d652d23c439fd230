/* http_lex.c - HTTP/1.x lexing: line assembly, start lines, framing headers, resync scans. */
#include <string.h>

#include "http_impl.h"

static bool ws(uint8_t ch)
{
	return ch == ' ' || ch == '\t';
}

static bool digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

static uint8_t lower(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
}

/* Case-insensitive compare of p[0..n) with a lower-case literal. */
static bool eq_ci(const uint8_t *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	if (n != k)
		return false;
	for (size_t i = 0; i < k; i++)
		if (lower(p[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

static void trim(const uint8_t **p, size_t *n)
{
	while (*n && ws(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && ws((*p)[*n - 1]))
		(*n)--;
}

/* ---- fields -------------------------------------------------------- */

/* Obs-fold continuation: the value goes on after one space. */
void http_append_field(char *dst, uint16_t *dlen, size_t max,
		       const uint8_t *p, size_t n, uint32_t *flags)
{
	size_t have = *dlen, room = max - 1 - have, k;

	if (!n)
		return;
	if (!room) {
		*flags |= RS_HTTP_F_TRUNCATED;
		return;
	}
	dst[have++] = ' ';
	room--;
	k = n < room ? n : room;
	memcpy(dst + have, p, k);
	have += k;
	dst[have] = 0;
	*dlen = (uint16_t)have;
	if (k < n)
		*flags |= RS_HTTP_F_TRUNCATED;
}

/* ---- lines ---------------------------------------------------------- */

void http_line_reset(struct http_line *ln)
{
	ln->len = 0;
	ln->total = 0;
	ln->tail_len = 0;
}

/* Add n bytes (no LF) to a line that spans segments: the first cap bytes
 * are kept, and always the last HTTP_TAIL. */
void http_line_append(struct http_line *ln, const uint8_t *p, size_t n)
{
	if (ln->len < ln->cap) {
		size_t k = ln->cap - ln->len;

		if (k > n)
			k = n;
		memcpy(ln->buf + ln->len, p, k);
		ln->len += (uint32_t)k;
	}
	ln->total += n;
	if (n >= HTTP_TAIL) {
		memcpy(ln->tail, p + n - HTTP_TAIL, HTTP_TAIL);
		ln->tail_len = HTTP_TAIL;
	} else {
		size_t keep = ln->tail_len;

		if (keep > HTTP_TAIL - n)
			keep = HTTP_TAIL - n;
		memmove(ln->tail, ln->tail + ln->tail_len - keep, keep);
		memcpy(ln->tail + keep, p, n);
		ln->tail_len = (uint8_t)(keep + n);
	}
}

/* Drop one trailing CR and decide how much of the line is visible: the
 * same rule for both constructors below, so a line reads the same however
 * it was cut into segments. */
static void lv_finish(struct http_lv *lv, size_t kept)
{
	lv->crlf = false;
	if (lv->tail_len && lv->tail[lv->tail_len - 1] == '\r') {
		lv->crlf = true;
		lv->total--;
		lv->tail_len--;
	}
	lv->len = kept < lv->total ? kept : lv->total;
	lv->over = lv->total > lv->len;
}

/* A line that was contiguous in the segment: n bytes before its LF. */
void http_lv_direct(struct http_lv *lv, const struct http_line *ln,
		    const uint8_t *p, size_t n, uint64_t ts)
{
	size_t t = n < HTTP_TAIL ? n : HTTP_TAIL;

	lv->p = p;
	lv->tail = p + n - t;
	lv->tail_len = t;
	lv->total = n;
	lv->raw = n + 1;
	lv->ts = ts;
	lv_finish(lv, n < ln->cap ? n : ln->cap);
}

/* The line assembled in ln; `term` when it ended with an LF (not eof). */
void http_lv_buffered(struct http_lv *lv, const struct http_line *ln,
		      bool term)
{
	lv->p = ln->buf;
	lv->tail = ln->tail;
	lv->tail_len = ln->tail_len;
	lv->total = ln->total;
	lv->raw = ln->total + (term ? 1 : 0);
	lv->ts = ln->ts;
	lv_finish(lv, ln->len);
}

/* Could these first bytes of a line still start "token SP"? */
bool http_plausible(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ')
			return i > 0;
		if (p[i] == '\r' && i + 1 == n)
			return true;
		if (!http_tchar(p[i]) || i >= RS_HTTP_METHOD_MAX)
			return false;
	}
	return true;
}

/* ---- start lines ----------------------------------------------------- */

/* "HTTP/" DIGIT "." DIGIT (inline: once or twice per transaction) */
static inline bool http_version_ok(const uint8_t *p, size_t n)
{
	return n == 8 && !memcmp(p, "HTTP/", 5) && digit(p[5]) &&
	       p[6] == '.' && digit(p[7]);
}

static bool version_before_11(const uint8_t *p)
{
	return p[5] < '1' || (p[5] == '1' && p[7] == '0');
}

/* Fills r's method, uri, version (and kind) from a request line.  Returns 0
 * for a valid line, 1 for a bad one (fields as far as they go), -1 when it
 * does not even start with "token SP".  no_version: the line was cut (too
 * long); take method and the start of the URI only. */
int http_parse_request(struct http_req *r, const struct http_lv *lv,
		       bool no_version)
{
	const uint8_t *p = lv->p, *vp;
	size_t n = lv->len, i = 0, u, e, s, ue, vn;

	/* Most requests are GETs: one word compare instead of the walk (and
	 * p[3], the SP, needs no second look below). */
	if (n >= 4 && http_ld32(p) == http_ld32((const uint8_t *)"GET ")) {
		memcpy(r->method, "GET", 4);
		r->method_len = 3;
		i = 4;
	} else {
		while (i < n && http_tchar(p[i]))
			i++;
		if (!i || i >= n || p[i] != ' ')
			return -1;
		http_set_field(r->method, &r->method_len, sizeof(r->method),
			       p, i, &r->flags);
		if (i == 4 && !memcmp(p, "HEAD", 4))
			r->kind = K_HEAD;
		else if (i == 7 && !memcmp(p, "CONNECT", 7))
			r->kind = K_CONNECT;
	}
	u = i;
	while (u < n && ws(p[u]))
		u++;
	if (lv->over || no_version) {
		/* p is only the line's start: the URI runs past it. */
		http_set_field(r->uri, &r->uri_len, sizeof(r->uri), p + u,
			       n - u, &r->flags);
		r->flags |= RS_HTTP_F_TRUNCATED;
		if (no_version)
			return 1;
		vp = lv->tail;
		vn = lv->tail_len;
		while (vn && ws(vp[vn - 1]))
			vn--;
		for (s = vn; s && !ws(vp[s - 1]); s--)
			;
		http_set_field(r->version, &r->version_len,
			       sizeof(r->version), vp + s, vn - s, &r->flags);
		return http_version_ok(vp + s, vn - s) ? 0 : 1;
	}
	e = n;
	while (e > u && ws(p[e - 1]))
		e--;
	/* The usual " HTTP/1.1" at the end: the version word found without
	 * the byte-by-byte walk back (it has no blank; p[u] is no blank, so
	 * e - 9 > u), and checked by one word compare when it is 1.1. */
	if (e - u >= 9 && ws(p[e - 9]) &&
	    (http_ld64(p + e - 8) == http_ld64((const uint8_t *)"HTTP/1.1") ||
	     http_version_ok(p + e - 8, 8))) {
		s = e - 8;
		for (ue = s - 1; ue > u && ws(p[ue - 1]); ue--)
			;
		http_set_field(r->uri, &r->uri_len, sizeof(r->uri), p + u,
			       ue - u, &r->flags);
		http_set_field(r->version, &r->version_len,
			       sizeof(r->version), p + s, 8, &r->flags);
		return 0;
	}
	for (s = e; s > u && !ws(p[s - 1]); s--)
		;
	if (s == u) { /* one word only: HTTP/0.9 or junk */
		http_set_field(r->uri, &r->uri_len, sizeof(r->uri), p + u,
			       e - u, &r->flags);
		return 1;
	}
	for (ue = s; ue > u && ws(p[ue - 1]); ue--)
		;
	http_set_field(r->uri, &r->uri_len, sizeof(r->uri), p + u, ue - u,
		       &r->flags);
	http_set_field(r->version, &r->version_len, sizeof(r->version), p + s,
		       e - s, &r->flags);
	return http_version_ok(p + s, e - s) ? 0 : 1;
}

bool http_req_is_10(const struct http_req *r)
{
	return r->version_len == 8 &&
	       version_before_11((const uint8_t *)r->version);
}

/* "HTTP/d.d" 1*WS 3DIGIT [WS reason].  Returns false if not that. */
bool http_parse_status(const uint8_t *p, size_t n, int *status, bool *http10)
{
	size_t i = 8;

	/* The usual "HTTP/1.1 ddd" then the end or SP: one word compare, and
	 * one for " ddd": XOR makes the SP 0 and digits 0..9, and a byte
	 * b <= 9 is one whose b | (b + 6) has no high bits (adding 6 carries
	 * into the next byte only from a byte that fails anyway). */
	if (n >= 12 && http_ld64(p) == http_ld64((const uint8_t *)"HTTP/1.1")) {
		uint32_t t = http_ld32(p + 8) ^ 0x30303020u;

		if (((t | (t + 0x06060600u)) & 0xf0f0f0ffu) == 0 &&
		    (n == 12 || ws(p[12]))) {
			*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 +
				  (p[11] - '0');
			*http10 = false;
			return *status >= 100;
		}
	}
	if (n < 12 || !http_version_ok(p, 8) || !ws(p[8]))
		return false;
	while (i < n && ws(p[i]))
		i++;
	if (i + 3 > n || !digit(p[i]) || !digit(p[i + 1]) ||
	    !digit(p[i + 2]) || (i + 3 < n && !ws(p[i + 3])))
		return false;
	*status = (p[i] - '0') * 100 + (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
	*http10 = version_before_11(p);
	return *status >= 100;
}

/* ---- framing headers ------------------------------------------------ */

/* Content-Length: 1*DIGIT, or a list of identical values (RFC 9110 8.6;
 * empty list elements are skipped, as for any list).  Reads any value; its
 * caller gives it those http_cl_digits declined. */
void http_cl_apply(struct http_msg *m, const uint8_t *v, size_t n)
{
	size_t i = 0, values = 0;

	while (i <= n) {
		const uint8_t *e = v + i;
		size_t en = 0;
		uint64_t val = 0;

		while (i + en < n && v[i + en] != ',')
			en++;
		i += en + 1;
		trim(&e, &en);
		if (!en)
			continue;
		values++;
		for (size_t k = 0; k < en; k++) {
			if (!digit(e[k]) || k >= 18) {
				if (m->cl_state < CL_BAD)
					m->cl_state = CL_BAD;
				return;
			}
			val = val * 10 + (uint64_t)(e[k] - '0');
		}
		if (m->cl_state == CL_NONE) {
			m->cl_state = CL_OK;
			m->cl = val;
		} else if (m->cl_state == CL_OK && val != m->cl) {
			m->cl_state = CL_CONFLICT;
		}
	}
	if (!values && m->cl_state < CL_BAD)
		m->cl_state = CL_BAD;
}

static void te_coding(struct http_msg *m, const uint8_t *e, size_t en)
{
	const uint8_t *semi = memchr(e, ';', en);
	bool chunked;

	if (semi)
		en = (size_t)(semi - e);
	trim(&e, &en);
	if (!en)
		return;
	chunked = eq_ci(e, en, "chunked");
	if (chunked && m->te_chunked_any)
		m->te_twice = true;
	m->te_chunked = chunked;
	m->te_chunked_any |= chunked;
}

/* Transfer-Encoding: what matters is whether chunked is the final coding.
 * Returns flags to add (an overlong value is suspicious in itself). */
uint32_t http_te_apply(struct http_msg *m, const uint8_t *v, size_t n,
		       const struct http_lv *lv)
{
	m->te = true;
	if (lv->over) {
		/* Only the line's tail is known: take its last list element. */
		const uint8_t *t = lv->tail;
		size_t tn = lv->tail_len, s;

		while (tn && ws(t[tn - 1]))
			tn--;
		for (s = tn; s && t[s - 1] != ','; s--)
			;
		te_coding(m, t + s, tn - s);
		return RS_HTTP_F_SMUGGLING;
	}
	for (size_t i = 0; i <= n;) {
		size_t en = 0;

		while (i + en < n && v[i + en] != ',')
			en++;
		te_coding(m, v + i, en);
		i += en + 1;
	}
	return 0;
}

/* chunk-size [ BWS ";" ext ]: returns 0 and the size, or -1. */
int http_chunk_size(const uint8_t *p, size_t n, uint64_t *size)
{
	size_t i = 0, digits = 0;
	uint64_t v = 0;

	while (i < n && ws(p[i]))
		i++;
	for (; i < n; i++, digits++) {
		uint8_t ch = p[i], x;

		if (digit(ch))
			x = ch - '0';
		else if (lower(ch) >= 'a' && lower(ch) <= 'f')
			x = lower(ch) - 'a' + 10;
		else
			break;
		if (digits == 15)
			return -1; /* more than 2^60: nobody sends that */
		v = v * 16 + x;
	}
	if (!digits)
		return -1;
	while (i < n && ws(p[i]))
		i++;
	if (i < n && p[i] != ';')
		return -1;
	*size = v;
	return 0;
}

/* ---- resynchronisation ---------------------------------------------- */

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
	"PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
	"UNLOCK", "SEARCH", "REPORT", "MKCALENDAR", "PURGE",
};

/* Length of a known method followed by SP at p, or 0. */
static size_t known_method(const uint8_t *p, size_t n)
{
	if (*p < 'C' || *p > 'U')
		return 0;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t k = strlen(methods[i]);

		if (methods[i][0] == *p && k < n && p[k] == ' ' &&
		    !memcmp(p, methods[i], k))
			return k;
	}
	return 0;
}

/* Offset in a line of "METHOD SP target SP HTTP/1.x" running to its end
 * (the line may start with the end of something else), or -1. */
long http_find_request(const uint8_t *p, size_t n)
{
	while (n && ws(p[n - 1]))
		n--;
	if (n < 14 || !ws(p[n - 9]) || memcmp(p + n - 8, "HTTP/1.", 7) ||
	    !digit(p[n - 1]))
		return -1;
	for (size_t i = 0; i + 14 <= n; i++) {
		size_t k = known_method(p + i, n - i), u;

		if (!k)
			continue;
		for (u = i + k + 1; u < n && ws(p[u]); u++)
			;
		if (u < n - 9)
			return (long)i;
	}
	return -1;
}

/* Offset in a line of a status line running to its end, or -1. */
long http_find_status(const uint8_t *p, size_t n)
{
	size_t i = 0;
	int status;
	bool h10;

	while (i + 12 <= n) {
		const uint8_t *q = memmem(p + i, n - i, "HTTP/1.", 7);

		if (!q)
			return -1;
		i = (size_t)(q - p);
		if (http_parse_status(q, n - i, &status, &h10))
			return (long)i;
		i++;
	}
	return -1;
}
