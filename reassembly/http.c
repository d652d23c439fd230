/* http.c - HTTP/1.x layer: connection pool, requests in flight, emission, app ops. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"

#define STORE RS_HTTP_REQ_STORE

static const char *const flag_names[] = {
	"gap", "truncated", "midstream", "smuggling", "upgrade",
	"no_response", "chunked", "bad_request", "bad_response",
};

/* Returns the name of flag bit `bit` (0 = RS_HTTP_F_GAP), or NULL. */
const char *rs_http_flag_name(unsigned bit)
{
	if (bit >= sizeof(flag_names) / sizeof(flag_names[0]))
		return NULL;
	return flag_names[bit];
}

void rs_http_stats_add(struct rs_http_stats *dst,
		       const struct rs_http_stats *src)
{
	dst->requests += src->requests;
	dst->responses += src->responses;
	dst->txns += src->txns;
	dst->gaps += src->gaps;
	dst->resyncs += src->resyncs;
	dst->parse_errors += src->parse_errors;
	dst->truncated += src->truncated;
	dst->smuggling += src->smuggling;
	dst->upgrades += src->upgrades;
	dst->unanswered += src->unanswered;
	dst->not_http += src->not_http;
	dst->orphan_responses += src->orphan_responses;
	dst->evicted += src->evicted;
	dst->alloc_failures += src->alloc_failures;
}

int rs_http_layer_init(struct rs_http_layer *l, rs_http_txn_fn on_txn,
		       void *user)
{
	struct http_priv *p;

	if (!l)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->keep_head = true;
	l->on_txn = on_txn;
	l->user = user;
	l->priv = p;
	return 0;
}

int rs_http_layer_set_keep_head(struct rs_http_layer *l, bool keep)
{
	struct http_priv *p = l ? l->priv : NULL;

	if (!p)
		return -EINVAL;
	p->keep_head = keep;
	return 0;
}

int rs_http_layer_set_keep_body(struct rs_http_layer *l, size_t max_bytes)
{
	struct http_priv *p = l ? l->priv : NULL;

	if (!p || max_bytes > RS_HTTP_BODY_KEEP_MAX)
		return -EINVAL;
	p->keep_body = (uint32_t)max_bytes;
	return 0;
}

void rs_http_layer_fini(struct rs_http_layer *l)
{
	struct http_priv *p = l ? l->priv : NULL;

	if (!p)
		return;
	while (p->free) {
		struct rs_http_conn *c = p->free;

		p->free = c->next_free;
		free(c->body);
		free(c);
	}
	free(p);
	l->priv = NULL;
}

struct rs_http_conn *rs_http_conn_new(struct rs_http_layer *l,
				      const struct rs_flow_info *f)
{
	struct http_priv *p = l ? l->priv : NULL;
	struct rs_http_conn *c;

	if (!p)
		return NULL;
	c = p->free;
	if (c) {
		p->free = c->next_free;
		p->nfree--;
	} else {
		c = malloc(sizeof(*c));
		if (!c) {
			RS_STAT_INC(l->stats.alloc_failures);
			return NULL;
		}
		c->body = NULL;
		c->body_cap = 0;
	}
	/* The body buffer, the line buffers and the store need no clearing.
	 * cur is cleared: its txn is handed to the callback, whose string
	 * arrays must be initialised past their lengths (rs_http_txn). */
	_Static_assert(offsetof(struct rs_http_conn, cur) +
			       sizeof(c->cur) <= offsetof(struct rs_http_conn, body),
		       "cur must lie in the cleared part");
	memset(c, 0, offsetof(struct rs_http_conn, body));
	c->l = l;
	c->f = f;
	if (f && (f->flags & RS_FLOW_MIDSTREAM))
		c->cflags |= RS_HTTP_F_MIDSTREAM;
	c->d[0].ln.buf = c->line_req;
	c->d[0].ln.cap = sizeof(c->line_req);
	c->d[1].ln.buf = c->line_resp;
	c->d[1].ln.cap = sizeof(c->line_resp);
	return c;
}

void rs_http_conn_free(struct rs_http_conn *c)
{
	struct http_priv *p;

	if (!c)
		return;
	rs_http_conn_eof(c, 0);
	rs_http_conn_eof(c, 1);
	while (c->p_count)
		http_emit_front(c);
	/* Short non-HTTP sessions (TLS, SSH ...) end before the sniff limit. */
	if (!c->http_seen && !c->not_http && c->sniffed)
		RS_STAT_INC(c->l->stats.not_http);
	p = c->l->priv;
	/* A pooled connection keeps a small body buffer, not a big one. */
	if (c->body_cap > HTTP_BODY_POOL_MAX) {
		free(c->body);
		c->body = NULL;
		c->body_cap = 0;
	}
	if (p && p->nfree < HTTP_FREE_MAX) {
		c->next_free = p->free;
		p->free = c;
		p->nfree++;
	} else {
		free(c->body);
		free(c);
	}
}

/* ---- the store: one FIFO ring of contiguous regions ----------------
 * Each waiting request owns a region, released in request order; the
 * request being parsed grows a region at the end.  Offsets are virtual
 * (monotonic); physical = virtual % STORE, and a region never wraps. */

static uint64_t store_live(const struct rs_http_conn *c)
{
	return c->p_count ? c->pend[c->p_head].pos : c->cur.pos;
}

/* Whether the current region can grow to `need` bytes where it stands
 * (store_grow's first case: nothing moves). */
static inline bool store_fits(const struct rs_http_conn *c, uint64_t need)
{
	const struct http_req *r = &c->cur;

	return need <= STORE && r->pos % STORE + need <= STORE &&
	       r->pos + need - store_live(c) <= STORE;
}

/* Make room for n more bytes at the end of the current region, moving it to
 * the ring's start if needed.  Returns false when it cannot fit now. */
static bool store_grow(struct rs_http_conn *c, size_t n)
{
	struct http_req *r = &c->cur;
	uint64_t need = (uint64_t)r->used + n, live = store_live(c);
	uint64_t phys = r->pos % STORE, wrapped;

	if (need > STORE)
		return false;
	if (store_fits(c, need))
		return true;
	wrapped = r->pos - phys + STORE;
	if (wrapped + need - live > STORE)
		return false;
	memmove(c->store, c->store + phys, r->used);
	r->pos = wrapped;
	return true;
}

static void store_put(struct rs_http_conn *c, const void *p, size_t n)
{
	uint8_t *d = c->store + c->cur.pos % STORE + c->cur.used;

	/* Whole heads: libc's memcpy moves them in fewer, wider steps. */
	if (n > 64)
		memcpy(d, p, n);
	else
		http_copy(d, p, n);
	c->cur.used += (uint32_t)n;
}

/* The newest queued request's fields go from cur to the room kept for them
 * in its store region (see cur_held): a new request needs cur. */
void http_cur_flush(struct rs_http_conn *c)
{
	struct http_req *r = &c->cur;
	struct http_pend *e = &c->pend[(c->p_head + c->p_count - 1) %
				       RS_HTTP_PENDING_MAX];
	uint8_t *s = c->store + e->pos % STORE + e->head_len;

	e->method_len = r->method_len;
	e->uri_len = r->uri_len;
	e->host_len = r->host_len;
	e->ua_len = r->ua_len;
	e->version_len = r->version_len;
	http_copy(s, r->method, r->method_len);
	s += r->method_len;
	http_copy(s, r->uri, r->uri_len);
	s += r->uri_len;
	http_copy(s, r->host, r->host_len);
	s += r->host_len;
	http_copy(s, r->ua, r->ua_len);
	s += r->ua_len;
	http_copy(s, r->version, r->version_len);
	c->cur_held = false;
}

/* Copy raw head bytes for replay; gives up (head not kept) when full. */
void http_head_append(struct rs_http_conn *c, const uint8_t *p, size_t n)
{
	struct http_req *r = &c->cur;

	if (!r->keep || !n)
		return;
	if (!store_grow(c, n)) {
		r->keep = false;
		r->used = 0;
		return;
	}
	store_put(c, p, n);
}

/* http_head_append_lines when the head is still kept and n > 0: one copy
 * when the region grows in place (then every line would have too);
 * otherwise line by line, so that a move or a give-up happens at the same
 * line as before. */
void http_head_append_lines_kept(struct rs_http_conn *c, const uint8_t *p,
				 size_t n)
{
	if (store_fits(c, (uint64_t)c->cur.used + n)) {
		store_put(c, p, n);
		return;
	}
	while (n) {
		const uint8_t *lf = memchr(p, '\n', n);
		size_t k = lf ? (size_t)(lf - p) + 1 : n;

		http_head_append(c, p, k);
		p += k;
		n -= k;
	}
}

/* Hand the oldest waiting request to the callback, as it is, and drop it.
 * Always inline: http_emit_done, the usual emission, makes no further call
 * for it (http_emit_front has its own copy for the rare others). */
static inline __attribute__((always_inline)) void
emit_front(struct rs_http_conn *c)
{
	struct rs_http_layer *l = c->l;
	struct http_priv *p = l->priv;
	struct http_pend *e = &c->pend[c->p_head];
	/* Only the newest request can still hold its fields in cur: then
	 * they are handed over where they are (see struct http_req). */
	bool held = c->cur_held && c->p_count == 1;
	struct rs_http_txn *t = held ? &c->cur.txn : &p->txn;
	const uint8_t *s = c->store + e->pos % STORE;
	/* The entry read whole (but for the field lengths, below) before
	 * anything is stored into t (or the stats), which the compiler must
	 * assume could change it: t may be in c, and it would read each
	 * field again after each store. */
	size_t hl = e->head_len;
	uint64_t req_len = e->req_body_len, resp_len = e->resp_body_len;
	uint64_t ts = e->ts_ns, resp_ts = e->resp_ts_ns;
	uint32_t kept = e->body_kept;
	const uint8_t *body = kept ? c->body + e->body_off : NULL;
	bool complete = p->keep_body && e->body_full && e->body_end &&
			kept == req_len;
	int status = e->status;
	uint32_t fl = e->flags | c->cflags;
	bool seen = e->resp_seen;

	if (!seen) {
		fl |= RS_HTTP_F_NO_RESPONSE;
		RS_STAT_INC(l->stats.unanswered);
	}
	if (fl & RS_HTTP_F_TRUNCATED)
		RS_STAT_INC(l->stats.truncated);
	if (fl & RS_HTTP_F_SMUGGLING)
		RS_STAT_INC(l->stats.smuggling);
	RS_STAT_INC(l->stats.txns);
	t->req_body_len = req_len;
	t->req_body = body;
	t->req_body_kept = kept;
	t->req_body_complete = complete;
	t->resp_body_len = resp_len;
	t->status = status;
	t->flags = fl;
	t->ts_ns = ts;
	t->resp_ts_ns = resp_ts;
	t->req_head = hl ? s : NULL;
	t->req_head_len = hl;
	s += hl;
	if (!held) {
		/* The lengths only here (a held request's are in cur), all
		 * read before the copies store into t. */
		size_t ml = e->method_len, ul = e->uri_len, nl = e->host_len;
		size_t al = e->ua_len, vl = e->version_len;

		/* http_set_field cut the version to its field already; said
		 * again here (a cmov) for gcc's link-time inliner, which
		 * otherwise sees http_copy's 16-byte tail store aimed at the
		 * 16-byte field. */
		if (vl > RS_HTTP_VERSION_MAX - 1)
			vl = RS_HTTP_VERSION_MAX - 1;
#define TAKE(field, lfield, n, src)                                      \
	do {                                                             \
		http_copy(t->field, src, n);                             \
		t->field[n] = 0;                                         \
		t->lfield = n;                                           \
	} while (0)
		TAKE(method, method_len, ml, s);
		TAKE(uri, uri_len, ul, s + ml);
		s += ml + ul;
		TAKE(host, host_len, nl, s);
		TAKE(user_agent, ua_len, al, s + nl);
		TAKE(version, version_len, vl, s + nl + al);
#undef TAKE
	}
	if (l->on_txn)
		l->on_txn(l->user, c->f, t);
	if (held)
		c->cur_held = false;
	c->p_head = (c->p_head + 1) % RS_HTTP_PENDING_MAX;
	c->p_count--;
	/* Its body bytes are free now. */
	if (c->p_count)
		c->b_base = c->pend[c->p_head].body_off;
	else
		c->b_base = c->b_end = 0;
}

void http_emit_front(struct rs_http_conn *c)
{
	emit_front(c);
}

/* http_try_emit found the front request done. */
void http_emit_done(struct rs_http_conn *c)
{
	const struct http_pend *e;

	do {
		emit_front(c);
		e = &c->pend[c->p_head];
	} while (c->p_count && e->req_done && e->resp_done);
}

static void evict(struct rs_http_conn *c)
{
	RS_STAT_INC(c->l->stats.evicted);
	http_emit_front(c);
}

/* The queue's new entry for the request in cur, whose fields need slen
 * bytes of room (there now); returns its seq. */
static inline uint64_t commit_entry(struct rs_http_conn *c, uint32_t flags,
				    size_t slen)
{
	struct http_req *r = &c->cur;
	struct http_pend *e =
		&c->pend[(c->p_head + c->p_count) % RS_HTTP_PENDING_MAX];
	uint64_t seq = c->next_seq++;

	/* Every field set one by one: a memset of the entry is compiled to
	 * `rep stos`, whose start-up cost was a quarter of this function.
	 * The field lengths are not: while cur_held, cur has them (set when
	 * the fields move, http_cur_flush). */
	e->pos = r->pos;
	e->ts_ns = r->ts;
	e->resp_ts_ns = 0;
	e->req_body_len = e->resp_body_len = 0;
	e->body_kept = 0;
	e->req_done = e->resp_done = e->resp_seen = e->body_end = false;
	e->head_len = r->keep ? r->used : 0;
	e->flags = r->flags | flags;
	e->status = -1;
	e->kind = r->kind;
	e->body_off = c->b_end;
	e->body_full = true;
	/* The fields' room is kept; they stay in cur (see cur_held). */
	r->used += (uint32_t)slen;
	c->cur_held = true;
	c->st_end = r->pos + r->used;
	c->p_count++;
	c->has_cur = false;
	/* No response can come any more. */
	if (c->d[1].eof || c->d[1].st == ST_STOP)
		e->resp_done = true;
	c->req_seq = seq;
	return seq;
}

/* http_commit when cur is not begun, the queue is full or the fields do
 * not fit where the region stands: the fields must fit; the raw head goes
 * first, then older requests (the store is larger than any set of fields,
 * so this ends).  Apart, so that the usual commit makes no call. */
static __attribute__((noinline)) uint64_t
commit_slow(struct rs_http_conn *c, uint32_t flags, size_t slen)
{
	struct http_req *r = &c->cur;

	if (!c->has_cur)
		http_cur_begin(c, c->d[0].last_ts);
	if (!r->keep)
		r->used = 0;
	if (c->p_count == RS_HTTP_PENDING_MAX)
		evict(c);
	while (!store_grow(c, slen)) {
		if (r->used) {
			r->used = 0;
			r->keep = false;
		} else if (c->p_count) {
			evict(c);
		} else {
			r->pos = 0;
		}
	}
	return commit_entry(c, flags, slen);
}

/* The request being parsed joins the queue with its fields (and its raw
 * head when still kept whole).  Returns its seq. */
uint64_t http_commit(struct rs_http_conn *c, uint32_t flags)
{
	struct http_req *r = &c->cur;
	size_t slen = (size_t)r->method_len + r->uri_len + r->host_len +
		      r->ua_len + r->version_len;

	if (!c->has_cur || c->p_count == RS_HTTP_PENDING_MAX)
		return commit_slow(c, flags, slen);
	if (!r->keep)
		r->used = 0;
	if (!store_fits(c, (uint64_t)r->used + slen))
		return commit_slow(c, flags, slen);
	return commit_entry(c, flags, slen);
}

/* ---- kept request bodies -------------------------------------------
 * One linear buffer per connection holds the bodies of waiting requests in
 * request order, body[b_base..b_end); the request whose body dir 0 is
 * reading owns the end.  Emitting the oldest request frees the front; the
 * live part is moved back to the start only when the end is reached. */

static struct http_pend *body_owner(struct rs_http_conn *c)
{
	struct http_priv *p = c->l->priv;

	if (!p->keep_body)
		return NULL;
	return http_pend_seq(c, c->req_seq);
}

/* Room for n more bytes at b_end.  Returns false when the buffer may not
 * grow that far (or no memory). */
static bool body_room(struct rs_http_conn *c, size_t n)
{
	struct http_priv *p = c->l->priv;
	uint64_t limit = 2 * (uint64_t)p->keep_body, cap;
	uint8_t *nb;

	if ((uint64_t)c->b_end + n <= c->body_cap)
		return true;
	if (c->b_base) {
		uint32_t shift = c->b_base;

		memmove(c->body, c->body + shift, c->b_end - shift);
		for (unsigned i = 0; i < c->p_count; i++)
			c->pend[(c->p_head + i) % RS_HTTP_PENDING_MAX].body_off -= shift;
		c->b_end -= shift;
		c->b_base = 0;
		if ((uint64_t)c->b_end + n <= c->body_cap)
			return true;
	}
	if ((uint64_t)c->b_end + n > limit)
		return false;
	cap = c->body_cap ? c->body_cap : 4096;
	while (cap < (uint64_t)c->b_end + n)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	nb = realloc(c->body, cap);
	if (!nb) {
		RS_STAT_INC(c->l->stats.alloc_failures);
		return false;
	}
	c->body = nb;
	c->body_cap = (uint32_t)cap;
	return true;
}

/* n de-chunked body bytes of the request dir 0 is reading. */
void http_body_keep(struct rs_http_conn *c, const uint8_t *p, size_t n)
{
	struct http_pend *e = body_owner(c);
	struct http_priv *pv = c->l->priv;
	size_t k = n;

	if (!e || !e->body_full || !n)
		return;
	if (e->body_kept + (uint64_t)n > pv->keep_body) {
		k = pv->keep_body - e->body_kept;
		e->body_full = false;
	}
	/* Only the newest request's region can grow; anything else (evicted
	 * and re-queued in between) is left as it is. */
	if (e->body_off + e->body_kept != c->b_end) {
		e->body_full = false;
		return;
	}
	while (k && !body_room(c, k)) {
		e->body_full = false;
		k = c->body_cap > c->b_end ? c->body_cap - c->b_end : 0;
	}
	if (!k)
		return;
	memcpy(c->body + c->b_end, p, k);
	c->b_end += (uint32_t)k;
	e->body_kept += (uint32_t)k;
}

/* Body bytes of that request were lost (a gap): it cannot be complete. */
void http_body_lost(struct rs_http_conn *c)
{
	struct http_pend *e = body_owner(c);

	if (e)
		e->body_full = false;
}

/* That request's body ended where its framing said. */
void http_body_ended(struct rs_http_conn *c)
{
	struct http_pend *e = body_owner(c);

	if (e)
		e->body_end = true;
}

/* ---- the layer as an application layer ---------------------------- */

static void *app_open(void *ctx, const struct rs_flow_info *f)
{
	return rs_http_conn_new(ctx, f);
}

static void refresh(struct rs_http_conn *c, const struct rs_flow_info *f)
{
	c->f = f;
	if (f && (f->flags & RS_FLOW_MIDSTREAM))
		c->cflags |= RS_HTTP_F_MIDSTREAM;
}

static void app_data(void *ctx, void *app, const struct rs_flow_info *f,
		     int dir, const uint8_t *data, size_t len, uint64_t ts_ns)
{
	(void)ctx;
	refresh(app, f);
	rs_http_conn_data(app, dir, data, len, ts_ns);
}

static void app_gap(void *ctx, void *app, const struct rs_flow_info *f,
		    int dir, uint64_t len, uint64_t ts_ns)
{
	struct rs_http_conn *c = app;

	(void)ctx;
	refresh(c, f);
	if (dir == 0 || dir == 1)
		c->d[dir].last_ts = ts_ns;
	rs_http_conn_gap(c, dir, len);
}

static void app_eof(void *ctx, void *app, const struct rs_flow_info *f,
		    int dir, uint64_t ts_ns)
{
	(void)ctx;
	(void)ts_ns;
	refresh(app, f);
	rs_http_conn_eof(app, dir);
}

static void app_close(void *ctx, void *app, const struct rs_flow_info *f)
{
	(void)ctx;
	refresh(app, f);
	rs_http_conn_free(app);
}

const struct rs_app_ops rs_http_app_ops = {
	.open = app_open,
	.data = app_data,
	.gap = app_gap,
	.eof = app_eof,
	.close = app_close,
};
