/* http_harness.h - feed scripted connections to rs_http_conn_* and record transactions (tests only). */
#ifndef HTTP_HARNESS_H
#define HTTP_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_reassembly.h"

/* One event of a connection, in capture order. */
enum step_kind { S_END = 0, S_D0, S_D1, S_GAP0, S_GAP1, S_EOF0, S_EOF1 };

struct step {
	int kind;
	const char *data; /* S_D0/S_D1 */
	size_t len;       /* 0: strlen(data); for gaps: bytes lost */
};

#define MAX_STEPS 24
#define MAX_RECS 64
#define HEAD_KEEP 8192

struct rec {
	struct rs_http_txn t;
	size_t head_len;
	int has_head;
	uint8_t head[HEAD_KEEP];
};

struct recs {
	int n, overflow;
	struct rec r[MAX_RECS];
};

static inline void rec_txn(void *user, const struct rs_flow_info *f,
		    const struct rs_http_txn *t)
{
	struct recs *rs = user;
	struct rec *r;

	(void)f;
	if (rs->n >= MAX_RECS) {
		rs->overflow++;
		return;
	}
	r = &rs->r[rs->n++];
	memcpy(&r->t, t, sizeof(*t));
	r->has_head = t->req_head != NULL;
	r->head_len = t->req_head_len;
	if (t->req_head && t->req_head_len <= HEAD_KEEP)
		memcpy(r->head, t->req_head, t->req_head_len);
	r->t.req_head = NULL;
}

static inline size_t step_len(const struct step *s)
{
	if (s->kind == S_D0 || s->kind == S_D1)
		return s->len ? s->len : strlen(s->data);
	return s->len;
}

/* How each data step is cut: split_step/split_at cut one step in two;
 * bytewise feeds every data step one byte at a time. */
struct feed_mode {
	int split_step;   /* -1: none */
	size_t split_at;
	int bytewise;
};

static inline void feed_data(struct rs_http_conn *c, int dir, const uint8_t *p,
		      size_t n, uint64_t ts, int cut, size_t at, int bytewise)
{
	if (bytewise) {
		for (size_t i = 0; i < n; i++)
			rs_http_conn_data(c, dir, p + i, 1, ts);
		return;
	}
	if (cut && at > 0 && at < n) {
		rs_http_conn_data(c, dir, p, at, ts);
		rs_http_conn_data(c, dir, p + at, n - at, ts);
		return;
	}
	rs_http_conn_data(c, dir, p, n, ts);
}

/* Run one connection; results go to out (cleared first).  stats, if not
 * NULL, receives the layer's counters. */
static inline int run_steps(const struct step *steps, const struct rs_flow_info *fi,
		     struct feed_mode m, struct recs *out,
		     struct rs_http_stats *stats)
{
	struct rs_http_layer l;
	struct rs_http_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	if (stats)
		memset(stats, 0, sizeof(*stats));
	rc = rs_http_layer_init(&l, rec_txn, out);
	if (rc)
		return rc;
	c = rs_http_conn_new(&l, fi);
	if (!c) {
		rs_http_layer_fini(&l);
		return -1;
	}
	for (int i = 0; i < MAX_STEPS && steps[i].kind != S_END; i++) {
		const struct step *s = &steps[i];
		uint64_t ts = 1000000ull * (uint64_t)(i + 1);

		switch (s->kind) {
		case S_D0:
		case S_D1:
			feed_data(c, s->kind == S_D1, (const uint8_t *)s->data,
				  step_len(s), ts, m.split_step == i,
				  m.split_at, m.bytewise);
			break;
		case S_GAP0:
		case S_GAP1:
			rs_http_conn_gap(c, s->kind == S_GAP1, s->len);
			break;
		case S_EOF0:
		case S_EOF1:
			rs_http_conn_eof(c, s->kind == S_EOF1);
			break;
		}
	}
	rs_http_conn_free(c);
	if (stats)
		*stats = l.stats;
	rs_http_layer_fini(&l);
	return 0;
}

/* Returns NULL when equal, else what differs (static buffer). */
static inline const char *recs_diff(const struct recs *a, const struct recs *b)
{
	static char why[256];

	if (a->n != b->n) {
		snprintf(why, sizeof(why), "count %d vs %d", a->n, b->n);
		return why;
	}
	for (int i = 0; i < a->n; i++) {
		const struct rs_http_txn *x = &a->r[i].t, *y = &b->r[i].t;
		const char *f = NULL;

		if (x->ts_ns != y->ts_ns || x->resp_ts_ns != y->resp_ts_ns)
			f = "ts";
		else if (x->method_len != y->method_len ||
			 memcmp(x->method, y->method, x->method_len + 1))
			f = "method";
		else if (x->uri_len != y->uri_len ||
			 memcmp(x->uri, y->uri, x->uri_len + 1))
			f = "uri";
		else if (x->host_len != y->host_len ||
			 memcmp(x->host, y->host, x->host_len + 1))
			f = "host";
		else if (x->ua_len != y->ua_len ||
			 memcmp(x->user_agent, y->user_agent, x->ua_len + 1))
			f = "user_agent";
		else if (x->version_len != y->version_len ||
			 memcmp(x->version, y->version, x->version_len + 1))
			f = "version";
		else if (x->req_body_len != y->req_body_len)
			f = "req_body_len";
		else if (x->resp_body_len != y->resp_body_len)
			f = "resp_body_len";
		else if (x->status != y->status)
			f = "status";
		else if (x->flags != y->flags)
			f = "flags";
		else if (a->r[i].has_head != b->r[i].has_head ||
			 a->r[i].head_len != b->r[i].head_len ||
			 memcmp(a->r[i].head, b->r[i].head,
				a->r[i].head_len < HEAD_KEEP ? a->r[i].head_len
							      : HEAD_KEEP))
			f = "req_head";
		if (f) {
			snprintf(why, sizeof(why),
				 "txn %d: %s differs (flags %#x/%#x status %d/%d)",
				 i, f, x->flags, y->flags, x->status, y->status);
			return why;
		}
	}
	return NULL;
}

#endif /* HTTP_HARNESS_H */
