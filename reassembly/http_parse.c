/* http_parse.c - HTTP/1.x stream interface: lines across segments, bodies, gaps, eof. */
#include <string.h>

#include "http_impl.h"

#define F(x) RS_HTTP_F_##x

static size_t body_take(struct rs_http_conn *c, int dir, const uint8_t *p,
			size_t n)
{
	struct http_dir *d = &c->d[dir];
	size_t k = d->remaining < n ? (size_t)d->remaining : n;

	d->remaining -= k;
	http_body_add(c, dir, k);
	if (dir == 0)
		http_body_keep(c, p, k);
	if (!d->remaining) {
		if (d->st == ST_BODY_LEN)
			http_msg_end(c, dir);
		else
			http_to_state(d, ST_CHUNK_END);
	}
	return k;
}

/* ---- lines ------------------------------------------------------------- */

static bool head_state(uint8_t st)
{
	return st == ST_LINE || st == ST_HEADERS || st == ST_TRAILERS ||
	       st == ST_CHUNK_SIZE || st == ST_CHUNK_END;
}

/* A head (or trailer block, or chunk line) is over the limit: stop parsing
 * it.  lv is the complete line, or NULL while it is still arriving (its
 * rest is then skipped).  Either way only the line's first bytes are used,
 * so the outcome does not depend on segmentation. */
static void too_long(struct rs_http_conn *c, int dir, const struct http_lv *lv)
{
	struct http_dir *d = &c->d[dir];
	struct http_lv part;
	uint32_t bad = F(TRUNCATED) | (dir ? F(BAD_RESPONSE) : F(BAD_REQUEST));

	if (!lv) {
		http_lv_buffered(&part, &d->ln, false);
		lv = &part;
		d->ln.skip = true;
	}
	RS_STAT_INC(c->l->stats.parse_errors);
	if (dir == 0 && d->st == ST_LINE) {
		if (!c->http_seen) {
			http_set_not_http(c);
			goto out;
		}
		if (http_lost(c, 0)) {
			http_to_state(d, ST_RESYNC);
			goto out;
		}
		http_parse_request(&c->cur, lv, true);
		c->cur.flags |= bad;
		d->st = ST_HEADERS;
	}
	http_abort_msg(c, dir, bad);
out:
	http_line_reset(&d->ln);
}

static void partial_checks(struct rs_http_conn *c, int dir)
{
	struct http_dir *d = &c->d[dir];
	struct http_line *ln = &d->ln;

	if (head_state(d->st) &&
	    d->head_bytes + ln->total > RS_HTTP_HEADER_BLOCK_MAX) {
		too_long(c, dir, NULL);
		return;
	}
	if (dir || c->http_seen)
		return;
	if (d->st == ST_LINE && !http_plausible(ln->buf, ln->len))
		http_to_state(d, ST_RESYNC);
	if (d->st == ST_RESYNC && c->sniffed > RS_HTTP_SNIFF_MAX)
		http_set_not_http(c);
}

static void line_done(struct rs_http_conn *c, int dir,
		      const struct http_lv *lv)
{
	struct http_dir *d = &c->d[dir];

	if (head_state(d->st) &&
	    d->head_bytes + lv->raw > RS_HTTP_HEADER_BLOCK_MAX) {
		too_long(c, dir, lv);
		return;
	}
	switch (d->st) {
	case ST_LINE:
		if (dir)
			http_status_line(c, lv);
		else
			http_request_line(c, lv);
		break;
	case ST_HEADERS:
		http_header_line(c, dir, lv);
		break;
	case ST_CHUNK_SIZE:
		http_chunk_size_line(c, dir, lv);
		break;
	case ST_CHUNK_END:
		if (lv->total) {
			RS_STAT_INC(c->l->stats.parse_errors);
			http_abort_msg(c, dir, dir ? F(BAD_RESPONSE) : F(BAD_REQUEST));
		} else {
			http_to_state(d, ST_CHUNK_SIZE);
		}
		break;
	case ST_TRAILERS:
		if (!lv->total)
			http_msg_end(c, dir);
		else
			d->head_bytes += lv->raw;
		break;
	case ST_RESYNC:
		http_resync_line(c, dir, lv);
		break;
	default:
		break;
	}
}

/* Consume up to one line from p; returns the bytes used (>= 1). */
static size_t line_step(struct rs_http_conn *c, int dir, const uint8_t *p,
			size_t n, uint64_t ts)
{
	struct http_dir *d = &c->d[dir];
	struct http_line *ln = &d->ln;
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	struct http_lv lv;

	if (dir == 0 && !c->http_seen)
		c->sniffed += take;
	if (ln->skip) {
		ln->skip = !lf;
		return take;
	}
	if (ln->total == 0) {
		ln->ts = ts;
		if (dir == 0 && d->st == ST_LINE)
			http_cur_begin(c, ts);
	}
	if (dir == 0 && (d->st == ST_LINE || d->st == ST_HEADERS))
		http_head_append(c, p, take);
	if (lf && ln->total == 0) {
		/* The common case: the whole line is here, read it in place. */
		http_lv_direct(&lv, ln, p, take - 1, ts);
	} else {
		http_line_append(ln, p, lf ? take - 1 : take);
		if (!lf) {
			partial_checks(c, dir);
			return take;
		}
		http_lv_buffered(&lv, ln, true);
	}
	/* lv may point into ln->buf: resetting keeps the bytes. */
	http_line_reset(ln);
	line_done(c, dir, &lv);
	return take;
}

/* The first LF in p[0..n), or NULL.  Start lines are mostly short: with
 * SSE2 the first 32 bytes are searched inline, memchr (a call) takes any
 * rest. */
static inline const uint8_t *start_lf(const uint8_t *p, size_t n)
{
#ifdef HTTP_SSE2
	if (n >= 32) {
		unsigned m = http_lf_bits(http_load16(p)) |
			     http_lf_bits(http_load16(p + 16)) << 16;

		if (m)
			return p + __builtin_ctz(m);
		return memchr(p + 32, '\n', n - 32);
	}
#endif
	return memchr(p, '\n', n);
}

/* A start line lying whole in the segment, the common case: what line_step
 * and line_done do with it (dir's state is ST_LINE, no line pending),
 * with the line view filled in place.  Returns the bytes used, or 0 to
 * leave it to line_step (no LF yet, too long, over the head limit).
 * Always inline: conn_data inlines it once per direction (see there). */
static inline __attribute__((always_inline)) size_t
start_line_direct(struct rs_http_conn *c, int dir, const uint8_t *p, size_t n,
		  uint64_t ts)
{
	struct http_dir *d = &c->d[dir];
	const uint8_t *lf = start_lf(p, n);
	size_t take, len;
	struct http_lv lv;
	bool crlf;

	if (!lf)
		return 0;
	take = (size_t)(lf - p) + 1;
	len = take - 1;
	crlf = len && p[len - 1] == '\r';
	if (len - crlf > d->ln.cap ||
	    d->head_bytes + take > RS_HTTP_HEADER_BLOCK_MAX)
		return 0;
	if (dir == 0)
		http_cur_begin(c, ts);
	/* As http_lv_direct would fill it (whole: nothing over), but for the
	 * tail: only a line that is over has its tail read. */
	lv.p = p;
	lv.tail = p;
	lv.tail_len = 0;
	lv.total = len - crlf;
	lv.len = len - crlf;
	lv.raw = take;
	lv.ts = ts;
	lv.over = false;
	lv.crlf = crlf;
	/* After a good start line the header lines are read at once, as the
	 * next round of rs_http_conn_data would (nothing pending: whole). */
	if (dir) {
		http_status_line(c, &lv);
		if (d->st != ST_HEADERS)
			return take;
		take += http_headers_direct(c, 1, p + take, n - take, ts, take);
		/* A short body often follows in the segment: taken here, as
		 * the next round would, without its dispatch. */
		if (d->st == ST_BODY_LEN && take < n && !c->not_http)
			take += body_take(c, 1, p + take, n - take);
		return take;
	}
	/* http_request_line's check for junk before anything HTTP is not
	 * needed: this path runs only after HTTP was seen. */
	if (!lv.total || http_parse_request(&c->cur, &lv, false) != 0) {
		http_head_append(c, p, take);
		http_request_line(c, &lv); /* parses again: same result */
		return take;
	}
	http_request_ok(c, &lv);
	/* The request line is copied with the header lines: one copy. */
	return take + http_headers_direct(c, 0, p + take, n - take, ts, take);
}

/* ---- the stream interface ----------------------------------------------- */

/* rs_http_conn_data's loop, inlined once per direction: dir is then a
 * constant there and in all it inlines (start_line_direct, body_take,
 * http_cur_begin, http_body_add), so its tests fold away and c->d[dir] is
 * a fixed offset.  That took 65 instructions off each transaction. */
static inline __attribute__((always_inline)) void
conn_data(struct rs_http_conn *c, int dir, const uint8_t *data, size_t len,
	  uint64_t ts_ns)
{
	struct http_dir *d = &c->d[dir];

	d->last_ts = ts_ns;
	while (len && !c->not_http) {
		size_t k;

		/* Most segments start a message: tested before the switch's
		 * indirect jump.  Before anything HTTP, line_step counts
		 * sniffed bytes. */
		if (d->st == ST_LINE) {
			k = 0;
			if (!d->ln.total && !d->ln.skip &&
			    (dir || c->http_seen))
				k = start_line_direct(c, dir, data, len, ts_ns);
			if (!k)
				k = line_step(c, dir, data, len, ts_ns);
		} else {
			switch (d->st) {
			case ST_STOP:
				return;
			case ST_WAIT:
				d->wait_data = true;
				return;
			case ST_BODY_EOF:
				http_body_add(c, dir, len);
				return;
			case ST_BODY_LEN:
			case ST_CHUNK_DATA:
				k = body_take(c, dir, data, len);
				break;
			case ST_HEADERS:
				k = 0;
				if (!d->ln.total && !d->ln.skip &&
				    (dir || c->http_seen))
					k = http_headers_direct(c, dir, data,
								len, ts_ns, 0);
				if (!k)
					k = line_step(c, dir, data, len, ts_ns);
				break;
			default:
				k = line_step(c, dir, data, len, ts_ns);
				break;
			}
		}
		data += k;
		len -= k;
	}
}

void rs_http_conn_data(struct rs_http_conn *c, int dir, const uint8_t *data,
		       size_t len, uint64_t ts_ns)
{
	if (!c || (dir != 0 && dir != 1) || !data)
		return;
	if (dir)
		conn_data(c, 1, data, len, ts_ns);
	else
		conn_data(c, 0, data, len, ts_ns);
}

/* Bytes were lost where dir's parser stands and it cannot skip them. */
static void gap_damage(struct rs_http_conn *c, int dir)
{
	struct http_dir *d = &c->d[dir];
	struct http_line *ln = &d->ln;

	if (dir == 0 && d->st == ST_LINE && !http_lost(c, 0)) {
		/* A request started in the lost bytes: keep a place for it so
		 * that its response pairs with it and not with the next. */
		http_cur_begin(c, ln->total ? ln->ts : d->last_ts);
		d->st = ST_HEADERS;
	}
	http_line_reset(ln);
	http_abort_msg(c, dir, F(GAP));
}

void rs_http_conn_gap(struct rs_http_conn *c, int dir, uint64_t len)
{
	struct http_dir *d;

	if (!c || (dir != 0 && dir != 1) || !len || c->not_http)
		return;
	d = &c->d[dir];
	if (d->st == ST_STOP)
		return;
	RS_STAT_INC(c->l->stats.gaps);
	d->ln.skip = false;
	switch (d->st) {
	case ST_WAIT:
		d->wait_data = true;
		return;
	case ST_BODY_EOF:
		http_resp_flag(c, F(GAP));
		return;
	case ST_BODY_LEN:
	case ST_CHUNK_DATA:
		/* Known length: skip over the hole and carry on. */
		http_msg_flag(c, dir, F(GAP));
		if (dir == 0)
			http_body_lost(c);
		if (len < d->remaining) {
			d->remaining -= len;
			return;
		}
		len -= d->remaining;
		d->remaining = 0;
		if (d->st == ST_CHUNK_DATA) {
			if (!len) {
				http_to_state(d, ST_CHUNK_END);
				return;
			}
			break; /* the chunk's CRLF and size went too */
		}
		http_msg_end(c, dir);
		if (!len)
			return;
		if (d->st == ST_WAIT) {
			d->wait_data = true;
			return;
		}
		if (d->st == ST_STOP)
			return;
		break;
	default:
		break;
	}
	gap_damage(c, dir);
}

static void req_eof(struct rs_http_conn *c)
{
	struct http_dir *d = &c->d[0];

	switch (d->st) {
	case ST_HEADERS: /* the head never ended */
		RS_STAT_INC(c->l->stats.parse_errors);
		c->cur.keep = false;
		http_commit(c, F(BAD_REQUEST));
		http_req_finish(c);
		break;
	case ST_BODY_LEN:
	case ST_CHUNK_SIZE:
	case ST_CHUNK_DATA:
	case ST_CHUNK_END:
	case ST_TRAILERS:
		http_req_finish(c);
		break;
	default:
		break;
	}
}

static void resp_eof(struct rs_http_conn *c)
{
	struct http_dir *d = &c->d[1], *d0 = &c->d[0];

	if (d->st == ST_HEADERS) {
		RS_STAT_INC(c->l->stats.parse_errors);
		http_resp_flag(c, F(BAD_RESPONSE));
	}
	if (d->resp_started)
		http_resp_finish(c);
	if (d0->st == ST_WAIT) /* no answer to the CONNECT will come */
		http_to_state(d0, d0->wait_data ? ST_RESYNC : ST_LINE);
}

void rs_http_conn_eof(struct rs_http_conn *c, int dir)
{
	struct http_dir *d;

	if (!c || (dir != 0 && dir != 1))
		return;
	d = &c->d[dir];
	if (d->eof)
		return;
	d->eof = true;
	if (!c->not_http && d->st != ST_STOP) {
		/* A last line without its LF still counts. */
		if (d->ln.total && !d->ln.skip) {
			struct http_lv lv;

			http_lv_buffered(&lv, &d->ln, false);
			http_line_reset(&d->ln);
			line_done(c, dir, &lv);
		}
		if (!c->not_http && d->st != ST_STOP) {
			if (dir)
				resp_eof(c);
			else
				req_eof(c);
		}
	}
	http_to_state(d, ST_STOP);
	http_line_reset(&d->ln);
	for (unsigned i = 0; i < c->p_count; i++) {
		struct http_pend *e =
			&c->pend[(c->p_head + i) % RS_HTTP_PENDING_MAX];

		if (dir)
			e->resp_done = true;
		else
			e->req_done = true;
	}
	http_try_emit(c);
}
