/* http_msg.c - HTTP/1.x messages: start lines, heads, framing (RFC 9112 6.3), pairing. */
#include <string.h>

#include "http_impl.h"

#define F(x) RS_HTTP_F_##x

/* ---- the message in progress, per direction ------------------------- */

/* Where dir stands is unknown: nothing HTTP seen yet, or a midstream flow
 * not yet at a start line.  Junk there is skipped, not blamed on anyone. */
bool http_lost(const struct rs_http_conn *c, int dir)
{
	return !c->http_seen ||
	       ((c->cflags & RS_HTTP_F_MIDSTREAM) && !c->d[dir].synced);
}

void http_to_state(struct http_dir *d, uint8_t st)
{
	d->st = st;
	d->head_bytes = 0;
}

static void req_flag(struct rs_http_conn *c, uint32_t fl)
{
	struct http_pend *e = http_pend_seq(c, c->req_seq);

	if (e)
		e->flags |= fl;
}

static struct http_pend *resp_target(struct rs_http_conn *c)
{
	return c->d[1].has_target ? http_pend_seq(c, c->resp_seq) : NULL;
}

void http_resp_flag(struct rs_http_conn *c, uint32_t fl)
{
	struct http_pend *e = resp_target(c);

	if (e)
		e->flags |= fl;
}

/* Flag the message dir is parsing (head or body). */
void http_msg_flag(struct rs_http_conn *c, int dir, uint32_t fl)
{
	if (dir)
		http_resp_flag(c, fl);
	else if (c->d[0].st == ST_HEADERS || c->d[0].st == ST_LINE)
		c->cur.flags |= fl;
	else
		req_flag(c, fl);
}

void http_body_add(struct rs_http_conn *c, int dir, uint64_t n)
{
	struct http_pend *e = dir ? resp_target(c) : http_pend_seq(c, c->req_seq);

	if (!e)
		return;
	if (dir)
		e->resp_body_len += n;
	else
		e->req_body_len += n;
}

/* The request in dir 0's body is over (whole or cut). */
void http_req_finish(struct rs_http_conn *c)
{
	struct http_pend *e = http_pend_seq(c, c->req_seq);

	if (e)
		e->req_done = true;
	http_to_state(&c->d[0], c->d[0].after_req);
	http_try_emit(c);
}

/* The response under way in dir 1 is over (whole, cut or damaged). */
void http_resp_finish(struct rs_http_conn *c)
{
	struct http_dir *d = &c->d[1], *d0 = &c->d[0];
	struct http_pend *e = resp_target(c);
	uint64_t seq = c->resp_seq;
	bool had = d->has_target;

	if (e) {
		e->resp_done = true;
		e->resp_seen = true;
	}
	if (had)
		c->resp_seq++;
	d->resp_started = d->damaged = d->has_target = false;
	d->status = 0;
	d->kind = K_OTHER;
	http_to_state(d, ST_LINE);
	/* A CONNECT that was refused: its client speaks HTTP again. */
	if (had && d0->st == ST_WAIT && c->wait_seq == seq) {
		http_to_state(d0, d0->wait_data ? ST_RESYNC : ST_LINE);
		d0->wait_data = false;
	}
	http_try_emit(c);
}

/* The response under way (or, at a message boundary, the one the next
 * outstanding request was waiting for) was cut: it ends at the next status
 * line found, or at eof. */
static void resp_damage(struct rs_http_conn *c, uint32_t fl)
{
	struct http_dir *d = &c->d[1];
	struct http_pend *e;

	if (!d->resp_started) {
		if (c->resp_seq >= c->next_seq || http_lost(c, 1))
			return; /* nothing outstanding: nobody to blame */
		d->resp_started = true;
		d->has_target = true;
	}
	d->damaged = true;
	e = resp_target(c);
	if (e) {
		e->flags |= fl;
		e->resp_seen = true;
	}
}

/* Parsing ends for good (Upgrade, CONNECT tunnel, HTTP/2 preface):
 * everything still waiting is emitted now, in order. */
static void stop_all(struct rs_http_conn *c)
{
	c->has_cur = false;
	for (int i = 0; i < 2; i++) {
		http_to_state(&c->d[i], ST_STOP);
		http_line_reset(&c->d[i].ln);
	}
	for (unsigned i = 0; i < c->p_count; i++) {
		struct http_pend *e =
			&c->pend[(c->p_head + i) % RS_HTTP_PENDING_MAX];

		e->req_done = e->resp_done = true;
	}
	RS_STAT_INC(c->l->stats.upgrades);
	http_try_emit(c);
}

void http_set_not_http(struct rs_http_conn *c)
{
	c->not_http = true;
	RS_STAT_INC(c->l->stats.not_http);
	c->has_cur = false;
	http_to_state(&c->d[0], ST_STOP);
	http_to_state(&c->d[1], ST_STOP);
}

/* The message dir was parsing cannot be framed: end it with fl and look
 * for the next start line. */
void http_abort_msg(struct rs_http_conn *c, int dir, uint32_t fl)
{
	struct http_dir *d = &c->d[dir];

	if (dir) {
		resp_damage(c, fl);
	} else if (d->st == ST_HEADERS) {
		c->cur.keep = false;
		http_commit(c, fl);
		http_req_finish(c);
	} else if (d->st != ST_LINE && d->st != ST_RESYNC) {
		req_flag(c, fl);
		http_req_finish(c);
	}
	http_to_state(d, ST_RESYNC);
}

/* ---- start lines ----------------------------------------------------- */

/* A line while lost: is a start line at its end? */
void http_resync_line(struct rs_http_conn *c, int dir,
			const struct http_lv *lv)
{
	struct http_dir *d = &c->d[dir];
	struct http_lv sub;
	long pos;

	if (dir == 0 && !c->http_seen && c->sniffed > RS_HTTP_SNIFF_MAX) {
		http_set_not_http(c);
		return;
	}
	if (lv->over || !lv->total)
		return;
	pos = dir ? http_find_status(lv->p, lv->len)
		  : http_find_request(lv->p, lv->len);
	if (pos < 0)
		return;
	RS_STAT_INC(c->l->stats.resyncs);
	sub = *lv;
	sub.p += pos;
	sub.len -= (size_t)pos;
	sub.total -= (uint64_t)pos;
	sub.raw -= (uint64_t)pos;
	if (dir) {
		if (d->resp_started)
			http_resp_finish(c);
		http_to_state(d, ST_LINE);
		http_status_line(c, &sub);
		return;
	}
	http_to_state(d, ST_LINE);
	http_cur_begin(c, lv->ts);
	http_head_append(c, sub.p, sub.len);
	/* The line's own ending: CR LF, LF, or a lone CR at eof. */
	http_head_append(c, (const uint8_t *)(sub.crlf ? "\r\n" : "\n"),
			 sub.raw - sub.total);
	http_request_line(c, &sub);
}

/* A request line was parsed into c->cur: its head follows. */
void http_request_ok(struct rs_http_conn *c, const struct http_lv *lv)
{
	struct http_dir *d = &c->d[0];

	c->http_seen = true;
	d->synced = true;
	memset(&d->m, 0, sizeof(d->m));
	d->m.http10 = http_req_is_10(&c->cur);
	d->st = ST_HEADERS;
	d->head_bytes = lv->raw;
}

void http_request_line(struct rs_http_conn *c, const struct http_lv *lv)
{
	struct http_dir *d = &c->d[0];
	int rc;

	if (!lv->total)
		return; /* empty lines before a request are allowed */
	/* Before anything HTTP, a line that cannot start "token SP" is junk
	 * whether it came whole or in pieces (partial_checks sees pieces). */
	if (!c->http_seen && !http_plausible(lv->p, lv->len)) {
		http_to_state(d, ST_RESYNC);
		http_resync_line(c, 0, lv);
		return;
	}
	rc = http_parse_request(&c->cur, lv, false);
	if (rc == 0) {
		http_request_ok(c, lv);
		return;
	}
	if (http_lost(c, 0)) { /* maybe a request line follows */
		http_to_state(d, ST_RESYNC);
		http_resync_line(c, 0, lv);
		return;
	}
	/* A request the server will refuse; it still gets its response. */
	RS_STAT_INC(c->l->stats.parse_errors);
	c->cur.keep = false;
	http_commit(c, F(BAD_REQUEST));
	http_req_finish(c);
	http_to_state(d, ST_RESYNC);
}

void http_status_line(struct rs_http_conn *c, const struct http_lv *lv)
{
	struct http_dir *d = &c->d[1];
	struct http_pend *e;
	int status;
	bool h10;

	if (!lv->total)
		return;
	if (!http_parse_status(lv->p, lv->len, &status, &h10)) {
		if (http_lost(c, 1)) {
			http_to_state(d, ST_RESYNC);
			http_resync_line(c, 1, lv);
			return;
		}
		RS_STAT_INC(c->l->stats.parse_errors);
		resp_damage(c, F(BAD_RESPONSE));
		http_to_state(d, ST_RESYNC);
		return;
	}
	c->http_seen = true;
	d->synced = true;
	RS_STAT_INC(c->l->stats.responses);
	if (!d->resp_started) { /* not the final one after a 1xx */
		d->resp_started = true;
		d->has_target = c->resp_seq < c->next_seq;
		e = resp_target(c);
		if (!e)
			RS_STAT_INC(c->l->stats.orphan_responses);
		d->kind = e ? e->kind : K_OTHER;
	} else {
		e = resp_target(c);
	}
	if (e) {
		e->status = status;
		e->resp_seen = true;
		if (!e->resp_ts_ns)
			e->resp_ts_ns = lv->ts;
	}
	d->status = status;
	memset(&d->m, 0, sizeof(d->m));
	d->m.http10 = h10;
	d->st = ST_HEADERS;
	d->head_bytes = lv->raw;
}

/* ---- heads ------------------------------------------------------------ */

static void req_head_end(struct rs_http_conn *c)
{
	struct http_dir *d = &c->d[0];
	struct http_msg *m = &d->m;
	struct http_req *r = &c->cur;
	enum { B_NONE, B_LEN, B_CHUNKED, B_BAD } body = B_NONE;
	uint32_t fl = 0;
	uint64_t seq;

	/* RFC 9112 6.3: chunked wins over Content-Length; anything else in
	 * Transfer-Encoding, or disagreeing lengths, cannot be framed. */
	if (m->te) {
		if (m->cl_state != CL_NONE || m->http10 || m->te_twice)
			fl |= F(SMUGGLING);
		if (m->te_chunked) {
			body = B_CHUNKED;
			fl |= F(CHUNKED);
		} else {
			body = B_BAD;
			fl |= F(SMUGGLING) | F(BAD_REQUEST);
		}
	} else if (m->cl_state == CL_CONFLICT) {
		body = B_BAD;
		fl |= F(SMUGGLING) | F(BAD_REQUEST);
	} else if (m->cl_state == CL_BAD) {
		body = B_BAD;
		fl |= F(BAD_REQUEST);
	} else if (m->cl_state == CL_OK && m->cl) {
		body = B_LEN;
	}
	if (r->method_len == 3 && !memcmp(r->method, "PRI", 3) &&
	    r->version_len == 8 && !memcmp(r->version, "HTTP/2.0", 8))
		fl |= F(UPGRADE); /* HTTP/2 with prior knowledge */
	RS_STAT_INC(c->l->stats.requests);
	if (body == B_BAD)
		RS_STAT_INC(c->l->stats.parse_errors);
	seq = http_commit(c, fl);
	d->after_req = ST_LINE;
	if (r->kind == K_CONNECT) {
		d->after_req = ST_WAIT;
		d->wait_data = false;
		c->wait_seq = seq;
	}
	if (fl & F(UPGRADE)) {
		stop_all(c);
		return;
	}
	/* Most requests have no body: tested first. */
	if (__builtin_expect(body == B_NONE, 1)) {
		http_body_ended(c);
		http_req_finish(c);
		return;
	}
	switch (body) {
	case B_NONE:    /* taken above; here for -Wswitch */
		break;
	case B_LEN:
		http_to_state(d, ST_BODY_LEN);
		d->remaining = m->cl;
		break;
	case B_CHUNKED:
		http_to_state(d, ST_CHUNK_SIZE);
		break;
	case B_BAD:
		http_req_finish(c);
		http_to_state(d, ST_RESYNC);
		break;
	}
}

static void resp_head_end(struct rs_http_conn *c)
{
	struct http_dir *d = &c->d[1];
	struct http_msg *m = &d->m;
	int st = d->status;
	uint32_t fl = 0;

	if (st / 100 == 1 && st != 101) { /* interim: the final one follows */
		http_to_state(d, ST_LINE);
		return;
	}
	if (st == 101 || (d->kind == K_CONNECT && st / 100 == 2)) {
		struct http_pend *e = resp_target(c);

		if (e)
			e->flags |= F(UPGRADE);
		http_resp_finish(c);
		stop_all(c);
		return;
	}
	if (d->kind == K_HEAD || st == 204 || st == 304) {
		http_resp_finish(c);
		return;
	}
	if (m->te) {
		if (m->cl_state != CL_NONE || m->http10 || m->te_twice)
			fl |= F(SMUGGLING);
		if (m->te_chunked) {
			http_resp_flag(c, fl | F(CHUNKED));
			http_to_state(d, ST_CHUNK_SIZE);
		} else { /* RFC 9112 6.3 (4): read until the connection closes */
			http_resp_flag(c, fl);
			http_to_state(d, ST_BODY_EOF);
		}
		return;
	}
	if (m->cl_state >= CL_BAD) {
		RS_STAT_INC(c->l->stats.parse_errors);
		http_abort_msg(c, 1, F(BAD_RESPONSE) |
				(m->cl_state == CL_CONFLICT ? F(SMUGGLING) : 0));
		return;
	}
	if (m->cl_state == CL_OK && m->cl) {
		http_to_state(d, ST_BODY_LEN);
		d->remaining = m->cl;
	} else if (m->cl_state == CL_OK) {
		http_resp_finish(c);
	} else {
		http_to_state(d, ST_BODY_EOF);
	}
}

static void bad_header(struct rs_http_conn *c, int dir)
{
	RS_STAT_INC(c->l->stats.parse_errors);
	http_msg_flag(c, dir, dir ? F(BAD_RESPONSE) : F(BAD_REQUEST));
	c->d[dir].m.last_hdr = H_NONE;
}

/* One header field's value (or an obs-fold continuation of it).  Inline:
 * the direct path's calls (no fold, nothing over) shrink to a few tests. */
static inline __attribute__((always_inline)) void
header_value(struct rs_http_conn *c, int dir, int hdr, const uint8_t *v,
	     size_t n, const struct http_lv *lv, bool fold)
{
	struct http_msg *m = &c->d[dir].m;
	struct http_req *r = &c->cur;
	uint32_t fl = 0;

	switch (hdr) {
	case H_HOST:
		if (fold)
			http_append_field(r->host, &r->host_len,
					  sizeof(r->host), v, n, &r->flags);
		else if (m->host_seen) /* RFC 9112 3.2: must be refused */
			fl |= F(BAD_REQUEST);
		else
			http_set_field(r->host, &r->host_len, sizeof(r->host),
				       v, n, &r->flags);
		m->host_seen = true;
		if (lv->over)
			fl |= F(TRUNCATED);
		break;
	case H_UA:
		if (fold)
			http_append_field(r->ua, &r->ua_len, sizeof(r->ua), v,
					  n, &r->flags);
		else if (!r->ua_len)
			http_set_field(r->ua, &r->ua_len, sizeof(r->ua), v, n,
				       &r->flags);
		if (lv->over)
			fl |= F(TRUNCATED);
		break;
	case H_CL:
		if (fold || lv->over) {
			m->cl_state = CL_BAD;
			fl |= F(SMUGGLING);
		} else if (!http_cl_digits(m, v, n)) {
			http_cl_apply(m, v, n);
		}
		break;
	case H_TE:
		fl |= http_te_apply(m, v, n, lv);
		if (fold)
			fl |= F(SMUGGLING);
		break;
	default:
		break;
	}
	if (fl)
		http_msg_flag(c, dir, fl);
}

void http_header_line(struct rs_http_conn *c, int dir,
			const struct http_lv *lv)
{
	struct http_dir *d = &c->d[dir];
	const uint8_t *p = lv->p, *colon, *v;
	size_t nl, vn;
	bool ws_name = false;
	int hdr;

	if (!lv->total) {
		if (dir)
			resp_head_end(c);
		else
			req_head_end(c);
		return;
	}
	d->head_bytes += lv->raw;
	if (p[0] == ' ' || p[0] == '\t') { /* obs-fold */
		v = p;
		vn = lv->len;
		while (vn && (*v == ' ' || *v == '\t')) {
			v++;
			vn--;
		}
		while (!lv->over && vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		if (d->m.last_hdr == H_NONE)
			bad_header(c, dir);
		else
			header_value(c, dir, d->m.last_hdr, v, vn, lv, true);
		return;
	}
	colon = memchr(p, ':', lv->len);
	if (!colon) {
		bad_header(c, dir);
		return;
	}
	nl = (size_t)(colon - p);
	while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t')) {
		nl--;
		ws_name = true;
	}
	for (size_t i = 0; i < nl; i++) {
		if (!http_tchar(p[i])) {
			nl = 0;
			break;
		}
	}
	if (!nl) {
		bad_header(c, dir);
		return;
	}
	v = colon + 1;
	vn = lv->len - (size_t)(v - p);
	while (vn && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (!lv->over && vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	hdr = http_hdr_kind(p, nl, dir);
	d->m.last_hdr = (uint8_t)hdr;
	/* "Transfer-Encoding : chunked" is read by some and not by others. */
	if (ws_name && (hdr == H_CL || hdr == H_TE))
		http_msg_flag(c, dir, F(SMUGGLING) |
				 (dir ? F(BAD_RESPONSE) : F(BAD_REQUEST)));
	header_value(c, dir, hdr, v, vn, lv, false);
}

#ifdef HTTP_SSE2
/* Bit k set when x's byte k is a letter or '-'. */
static inline unsigned name_chars(__m128i x)
{
	__m128i y = _mm_or_si128(x, _mm_set1_epi8(0x20));
	/* One signed compare for 'a' <= y <= 'z': adding 0x1f moves exactly
	 * 0x61..0x7a to -128..-103 (bytes >= 0x80 land on -97..30). */
	__m128i alpha = _mm_cmplt_epi8(_mm_add_epi8(y, _mm_set1_epi8(0x1f)),
				       _mm_set1_epi8(-102));
	__m128i dash = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, dash));
}

/* Bit k clear when p[k] is a letter or '-', for p[0..16). */
static inline unsigned name_block(const uint8_t *p)
{
	return name_chars(http_load16(p)) ^ 0xffffu;
}

/* The usual name, letters and '-' up to a ':' in x's 16 bytes: bit i set,
 * i the name's length, when byte i is that ':'; otherwise 0, or 1 for an
 * empty name.  Adding 1 carries up to the first byte that is no letter or
 * '-' and leaves the bits above it, none of which is a ':'. */
static inline unsigned name_colon(__m128i x)
{
	unsigned colon = (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));

	return (name_chars(x) + 1) & colon;
}
#endif

/* Length of the run of tchar at p, which must end before p + avail.
 * Names are short: a block of letters and '-' first, then unrolled bytes. */
static inline size_t name_len(const uint8_t *p, size_t avail)
{
	size_t i = 0;

#ifdef HTTP_SSE2
	if (avail >= 16) {
		unsigned other = name_block(p);

		i = other ? (size_t)__builtin_ctz(other) : 16;
	}
#else
	(void)avail;
#endif
	for (;;) {
		if (!http_tchar(p[i]))
			return i;
		if (!http_tchar(p[i + 1]))
			return i + 1;
		if (!http_tchar(p[i + 2]))
			return i + 2;
		if (!http_tchar(p[i + 3]))
			return i + 3;
		i += 4;
	}
}

/* One header line the direct paths do not read themselves (obs-fold, a
 * bad name): through the line view, as line_step would. */
static void header_general(struct rs_http_conn *c, int dir, const uint8_t *p,
			   size_t take, uint64_t ts)
{
	struct http_lv lv;

	http_lv_direct(&lv, &c->d[dir].ln, p, take - 1, ts);
	http_header_line(c, dir, &lv);
}

/* The value of a Host, User-Agent, Content-Length or Transfer-Encoding line
 * whose name ends at p + j (':' there), blanks trimmed.  Always inline: gcc
 * made it a call, whose argument moves, saves and spills in the header loop
 * cost about 30 instructions a known header. */
static inline __attribute__((always_inline)) void
header_known(struct rs_http_conn *c, int dir, int hdr, const uint8_t *p,
	     size_t len, size_t i, size_t j)
{
	static const struct http_lv whole; /* header_value only asks `over` */
	const uint8_t *v = p + j + 1;
	size_t vn;

	if (j != i && (hdr == H_CL || hdr == H_TE))
		http_msg_flag(c, dir, F(SMUGGLING) |
				 (dir ? F(BAD_RESPONSE) : F(BAD_REQUEST)));
	/* p[len] (CR or LF) ends the leading blanks, and a value that is not
	 * all blank begins with no blank, which ends the trailing ones. */
	while (*v == ' ' || *v == '\t')
		v++;
	vn = (size_t)(p + len - v);
	if (vn)
		while (v[vn - 1] == ' ' || v[vn - 1] == '\t')
			vn--;
	header_value(c, dir, hdr, v, vn, &whole, false);
}

/* The end of a head in the segment: its bytes are copied before it is
 * committed. */
static size_t head_end_direct(struct rs_http_conn *c, int dir,
			      const uint8_t *p, size_t used, size_t pre)
{
	if (dir) {
		resp_head_end(c);
	} else {
		http_head_append_lines(c, p - pre, used + pre);
		req_head_end(c);
	}
	return used;
}

/* Header lines lying whole in the segment, byte-safe for any n: one memchr
 * per line.  See http_headers_direct. */
static size_t headers_plain(struct rs_http_conn *c, int dir, const uint8_t *p,
			    size_t n, uint64_t ts, size_t pre)
{
	struct http_dir *d = &c->d[dir];
	size_t used = 0, cap = d->ln.cap;

	while (used < n) {
		const uint8_t *q = p + used, *lf = memchr(q, '\n', n - used);
		size_t take, len, i, j;
		int hdr;

		if (!lf)
			break;
		take = (size_t)(lf - q) + 1;
		len = take - 1;
		if (len && q[len - 1] == '\r')
			len--;
		if (len > cap ||
		    d->head_bytes + take > RS_HTTP_HEADER_BLOCK_MAX)
			break;
		used += take;
		if (!len)
			return head_end_direct(c, dir, p, used, pre);
		/* q[len] is the line's CR or LF, so the scans need no bound:
		 * neither is a tchar, blank or ':'. */
		i = name_len(q, n - used + take);
		for (j = i; q[j] == ' ' || q[j] == '\t'; j++)
			;
		if (!i || q[j] != ':') { /* obs-fold or a bad name */
			header_general(c, dir, q, take, ts);
			continue;
		}
		d->head_bytes += take;
		hdr = http_hdr_kind(q, i, dir);
		d->m.last_hdr = (uint8_t)hdr;
		if (hdr != H_OTHER)
			header_known(c, dir, hdr, q, len, i, j);
	}
	if (dir == 0)
		http_head_append_lines(c, p - pre, used + pre);
	return used;
}

#ifdef HTTP_SSE2
/* The first LF in s[16..lim) (s[0..16) has none), or NULL.  lim16 is
 * lim - 16, no earlier than the segment: past it, the 16 bytes ending at
 * lim are read and shifted into place. */
static inline const uint8_t *lf_after(const uint8_t *s, const uint8_t *lim16)
{
	for (s += 16;; s += 16) {
		unsigned m;

		if (s > lim16) {
			m = http_lf_bits(http_load16(lim16)) >> (s - lim16);
			return m ? s + (unsigned)__builtin_ctz(m) : NULL;
		}
		m = http_lf_bits(http_load16(s));
		if (m)
			return s + (unsigned)__builtin_ctz(m);
	}
}
#endif

/* Header lines lying whole in the segment, the common case: for each, what
 * line_step and line_done would do (dir's state is ST_HEADERS, no line is
 * pending), without the line view and with one copy of the raw head.
 * Returns the bytes used; stops before the first line it leaves to
 * line_step (no LF yet, maybe too long, over the head limit).  The pre
 * bytes before p are the segment's too (its start line); dir 0 copies them
 * with these, in every case, as the same lines given one by one.
 * With SSE2 the 32 bytes at each line's start give its LF, when the line
 * is that short (else 16 bytes at a time follow), and the first 16 its
 * name, when that is the usual one: letters and '-' up to a ':'.  Such a
 * line whose name is of no length known here takes no other test.  The
 * per-line state (position, last header) lives in locals, stored back
 * before anything that might read it; the head bytes are those before p
 * plus q - p. */
static inline __attribute__((always_inline)) size_t
headers_direct(struct rs_http_conn *c, const int dir, const uint8_t *p,
	       size_t n, uint64_t ts, size_t pre)
{
#ifdef HTTP_SSE2
	struct http_dir *d = &c->d[dir];
	const uint8_t *q = p, *lim, *lim16, *lim32;
	uint64_t hb0 = d->head_bytes;
	size_t cap1 = (size_t)d->ln.cap + 1, room;
	uint8_t last = d->m.last_hdr;
	/* Name lengths http_hdr_kind can know in this direction. */
	const uint64_t known = (1ull << 14 | 1ull << 17) |
			       (dir ? 0 : 1ull << 4 | 1ull << 10);
	/* name_colon's bits of the other names (not the empty one). */
	const unsigned other = ~((unsigned)known | 1u);

	/* A line whose LF is at lim or later takes the head over the limit
	 * (head bytes + its raw bytes): the LF scans stop at lim.  A line of
	 * up to cap + 1 raw bytes is never longer than the line buffer; only
	 * one longer than 32 bytes is measured. */
	room = hb0 < RS_HTTP_HEADER_BLOCK_MAX
		       ? (size_t)(RS_HTTP_HEADER_BLOCK_MAX - hb0) : 0;
	if (room > n)
		room = n;
	if (room < 32 || cap1 <= 32)
		return headers_plain(c, dir, p, n, ts, pre);
	lim = p + room;
	lim16 = lim - 16;
	lim32 = lim - 32;
	for (;;) {
		const uint8_t *lf;
		size_t take, len, i, j;
		unsigned nc = 0, m;
		int hdr;

		if (__builtin_expect(q <= lim32, 1)) {
			/* Most lines are at most 32 bytes long. */
			__m128i x = http_load16(q);

			nc = name_colon(x);
			m = http_lf_bits(x) | http_lf_bits(http_load16(q + 16)) << 16;
			if (m) {
				lf = q + (unsigned)__builtin_ctz(m);
			} else {
				lf = lf_after(q + 16, lim16);
				if (!lf || (size_t)(lf - q) >= cap1)
					break;
			}
		} else { /* the rest before lim is in its last 32 bytes */
			/* 64 bits: q may be lim, a shift by 32. */
			m = (unsigned)((http_lf_bits(http_load16(lim32)) |
					(uint64_t)http_lf_bits(http_load16(lim16)) << 16) >>
				       (q - lim32));
			if (!m)
				break;
			lf = q + (unsigned)__builtin_ctz(m);
			if (q <= lim16)
				nc = name_colon(http_load16(q));
		}
		/* The usual name (an empty line has none): nc has one bit at
		 * most, and one test tells this case. */
		if (__builtin_expect((nc & other) != 0, 1)) {
			last = H_OTHER;
			q = lf + 1;
			continue;
		}
		if (nc > 1) {
			/* By its bit, the length's case of http_hdr_kind
			 * (known has 4 and 10 only for dir 0). */
			i = j = (unsigned)__builtin_ctz(nc);
			hdr = nc == 1u << 14 ? http_hdr_kind(q, 14, dir)
			      : nc == 1u << 10 ? http_hdr_kind(q, 10, 0)
			      : http_hdr_kind(q, 4, 0);
		} else {
			take = (size_t)(lf - q) + 1;
			/* The head ends: head_bytes and last_hdr are not
			 * stored, as http_header_line does not for an empty
			 * line (the head's end sets a new state, which resets
			 * head_bytes; last_hdr is read only in ST_HEADERS). */
			if (take <= 2 && (take == 1 || q[0] == '\r'))
				return head_end_direct(c, dir, p,
						       (size_t)(lf + 1 - p),
						       pre);
			/* *lf ends the scans (no tchar, blank or ':') */
			i = name_len(q, (size_t)(lim - q));
			for (j = i; q[j] == ' ' || q[j] == '\t'; j++)
				;
			if (!i || q[j] != ':') { /* obs-fold or a bad name */
				d->head_bytes = hb0 + (size_t)(q - p);
				d->m.last_hdr = last;
				header_general(c, dir, q, take, ts);
				hb0 = d->head_bytes - (size_t)(lf + 1 - p);
				last = d->m.last_hdr;
				q = lf + 1;
				continue;
			}
			/* Most names have no known length: one bit test, not
			 * the switch's indirect jump (headers come in any
			 * order, so it is often mispredicted). */
			if (i >= 64 || !(known >> i & 1)) {
				last = H_OTHER;
				q = lf + 1;
				continue;
			}
			hdr = http_hdr_kind(q, i, dir);
		}
		last = (uint8_t)hdr;
		len = (size_t)(lf - q) - (lf[-1] == '\r');
		/* A copy of header_known for each kind, in which its tests of
		 * the kind and (for Host and User-Agent, dir 0's only) of dir
		 * fold away. */
		switch (hdr) {
		case H_HOST:
			header_known(c, 0, H_HOST, q, len, i, j);
			break;
		case H_UA:
			header_known(c, 0, H_UA, q, len, i, j);
			break;
		case H_CL:
			header_known(c, dir, H_CL, q, len, i, j);
			break;
		case H_TE:
			header_known(c, dir, H_TE, q, len, i, j);
			break;
		default:
			break;
		}
		q = lf + 1;
	}
	d->head_bytes = hb0 + (size_t)(q - p);
	d->m.last_hdr = last;
	if (dir == 0)
		http_head_append_lines(c, p - pre, (size_t)(q - p) + pre);
	return (size_t)(q - p);
#else
	return headers_plain(c, dir, p, n, ts, pre);
#endif
}

/* A copy of the loop for each direction, whose tests of dir fold. */
size_t http_headers_direct(struct rs_http_conn *c, int dir, const uint8_t *p,
			   size_t n, uint64_t ts, size_t pre)
{
	return dir ? headers_direct(c, 1, p, n, ts, pre)
		   : headers_direct(c, 0, p, n, ts, pre);
}

/* ---- bodies ------------------------------------------------------------ */

/* dir's message ended where its framing said (possibly over a gap). */
void http_msg_end(struct rs_http_conn *c, int dir)
{
	if (dir) {
		http_resp_finish(c);
	} else {
		http_body_ended(c);
		http_req_finish(c);
	}
}

void http_chunk_size_line(struct rs_http_conn *c, int dir,
			    const struct http_lv *lv)
{
	struct http_dir *d = &c->d[dir];
	uint64_t size;

	if (http_chunk_size(lv->p, lv->len, &size) < 0) {
		RS_STAT_INC(c->l->stats.parse_errors);
		http_abort_msg(c, dir, dir ? F(BAD_RESPONSE) : F(BAD_REQUEST));
		return;
	}
	if (!size) {
		http_to_state(d, ST_TRAILERS);
		return;
	}
	http_to_state(d, ST_CHUNK_DATA);
	d->remaining = size;
}
