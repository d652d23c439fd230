/* rt_util.h - test helpers for reassembly/: hand-filled packets, a recording app layer, an end-of-flow log. */
#ifndef RT_UTIL_H
#define RT_UTIL_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_reassembly.h"

#define RT_SEC 1000000000ULL

/* ---- packets --------------------------------------------------------- */

/* A stand-in TCP/UDP header: the flow code only needs l4 != NULL. */
static const uint8_t rt_l4[20];

static inline void rt_addr(struct rs_pkt *p, const char *src, const char *dst)
{
	int fam = strchr(src, ':') ? AF_INET6 : AF_INET;

	p->ip_version = fam == AF_INET6 ? 6 : 4;
	p->addr_len = fam == AF_INET6 ? 16 : 4;
	p->ethertype = fam == AF_INET6 ? 0x86dd : 0x0800;
	if (inet_pton(fam, src, p->src) != 1 || inet_pton(fam, dst, p->dst) != 1)
		abort();
}

static inline struct rs_pkt rt_pkt(uint8_t proto, const char *src, uint16_t sport,
			    const char *dst, uint16_t dport, uint64_t ts)
{
	struct rs_pkt p;

	memset(&p, 0, sizeof(p));
	rt_addr(&p, src, dst);
	p.l4proto = proto;
	p.l4 = rt_l4;
	p.sport = sport;
	p.dport = dport;
	p.ts_ns = ts;
	p.wirelen = p.caplen = 60;
	return p;
}

static inline struct rs_pkt rt_tcp(const char *src, uint16_t sport, const char *dst,
			    uint16_t dport, uint8_t flags, uint32_t seq,
			    uint32_t ack, const void *data, uint32_t len,
			    uint64_t ts)
{
	struct rs_pkt p = rt_pkt(6, src, sport, dst, dport, ts);

	p.tcp_flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.payload = data;
	p.payload_len = len;
	p.wirelen = p.caplen = 54 + len;
	return p;
}

/* One TCP connection seen from the capture: client and server ends and
 * their initial sequence numbers.  Offsets below are relative to ISN+1,
 * i.e. byte 0 of each stream. */
struct rt_conn {
	const char *cli, *srv;
	uint16_t cport, sport;
	uint32_t cisn, sisn;
};

/* Client to server: flags, stream offset, ack offset of server stream. */
static inline int rt_c2s(struct rs_flow_worker *w, const struct rt_conn *c,
		  uint8_t fl, uint32_t off, uint32_t aoff, const char *data,
		  uint32_t len, uint64_t ts)
{
	struct rs_pkt p = rt_tcp(c->cli, c->cport, c->srv, c->sport, fl,
				 c->cisn + 1 + off, c->sisn + 1 + aoff, data,
				 len, ts);
	return rs_flow_packet(w, &p);
}

static inline int rt_s2c(struct rs_flow_worker *w, const struct rt_conn *c,
		  uint8_t fl, uint32_t off, uint32_t aoff, const char *data,
		  uint32_t len, uint64_t ts)
{
	struct rs_pkt p = rt_tcp(c->srv, c->sport, c->cli, c->cport, fl,
				 c->sisn + 1 + off, c->cisn + 1 + aoff, data,
				 len, ts);
	return rs_flow_packet(w, &p);
}

/* SYN, SYN-ACK, ACK at ts, ts+1, ts+2. */
static inline void rt_handshake(struct rs_flow_worker *w, const struct rt_conn *c,
			 uint64_t ts)
{
	struct rs_pkt p;

	p = rt_tcp(c->cli, c->cport, c->srv, c->sport, RS_TCP_SYN, c->cisn, 0,
		   NULL, 0, ts);
	rs_flow_packet(w, &p);
	p = rt_tcp(c->srv, c->sport, c->cli, c->cport, RS_TCP_SYN | RS_TCP_ACK,
		   c->sisn, c->cisn + 1, NULL, 0, ts + 1);
	rs_flow_packet(w, &p);
	rt_c2s(w, c, RS_TCP_ACK, 0, 0, NULL, 0, ts + 2);
}

/* ---- recording app layer ---------------------------------------------- */

#define RT_BUF 16384
#define RT_MAX_CONNS 64

struct rt_stream_rec {
	uint8_t buf[RT_BUF];
	size_t len;
	uint64_t gap_bytes;
	unsigned gaps, eofs;
};

struct rt_app_conn {
	struct rt_stream_rec d[2];
	char log[2048];            /* "d0:5 g1:3 e0 c" */
	size_t loglen;
	unsigned closes;
	const uint8_t *last_ptr;   /* last data pointer handed over */
	uint64_t first_ts[2];
};

struct rt_app {
	unsigned opens, closes;
	bool decline;
	struct rt_app_conn *conns[RT_MAX_CONNS];
	unsigned nconns;
};

static inline void rt_log(struct rt_app_conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->loglen >= sizeof(c->log) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(c->log + c->loglen, sizeof(c->log) - c->loglen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->loglen += (size_t)n;
	if (c->loglen > sizeof(c->log) - 1)
		c->loglen = sizeof(c->log) - 1;
}

static inline void *rt_open(void *ctx, const struct rs_flow_info *f)
{
	struct rt_app *a = ctx;
	struct rt_app_conn *c;

	(void)f;
	a->opens++;
	if (a->decline || a->nconns >= RT_MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c)
		a->conns[a->nconns++] = c;
	return c;
}

static inline void rt_data(void *ctx, void *app, const struct rs_flow_info *f,
		    int dir, const uint8_t *data, size_t len, uint64_t ts)
{
	struct rt_app_conn *c = app;
	struct rt_stream_rec *s = &c->d[dir];

	(void)ctx;
	(void)f;
	if (s->len == 0)
		c->first_ts[dir] = ts;
	if (s->len + len <= RT_BUF) {
		memcpy(s->buf + s->len, data, len);
		s->len += len;
	}
	c->last_ptr = data;
	rt_log(c, "d%d:%zu ", dir, len);
}

static inline void rt_gap(void *ctx, void *app, const struct rs_flow_info *f,
		   int dir, uint64_t len, uint64_t ts)
{
	struct rt_app_conn *c = app;

	(void)ctx;
	(void)f;
	(void)ts;
	c->d[dir].gaps++;
	c->d[dir].gap_bytes += len;
	rt_log(c, "g%d:%llu ", dir, (unsigned long long)len);
}

static inline void rt_eof(void *ctx, void *app, const struct rs_flow_info *f,
		   int dir, uint64_t ts)
{
	struct rt_app_conn *c = app;

	(void)ctx;
	(void)f;
	(void)ts;
	c->d[dir].eofs++;
	rt_log(c, "e%d ", dir);
}

static inline void rt_close(void *ctx, void *app, const struct rs_flow_info *f)
{
	struct rt_app *a = ctx;
	struct rt_app_conn *c = app;

	(void)f;
	a->closes++;
	c->closes++;
	rt_log(c, "c");
}

static const struct rs_app_ops rt_ops = {
	.open = rt_open, .data = rt_data, .gap = rt_gap, .eof = rt_eof,
	.close = rt_close,
};

static inline void rt_app_fini(struct rt_app *a)
{
	for (unsigned i = 0; i < a->nconns; i++)
		free(a->conns[i]);
	memset(a, 0, sizeof(*a));
}

/* ---- flow ends -------------------------------------------------------- */

#define RT_MAX_ENDS 32

struct rt_ends {
	unsigned n;
	unsigned by_reason[RS_END_SHUTDOWN + 1];
	struct rs_flow_info info[RT_MAX_ENDS];
	enum rs_flow_end_reason why[RT_MAX_ENDS];
};

static inline void rt_end(void *ctx, const struct rs_flow_info *f,
		   enum rs_flow_end_reason why)
{
	struct rt_ends *e = ctx;

	if (e->n < RT_MAX_ENDS) {
		e->info[e->n] = *f;
		e->why[e->n] = why;
	}
	e->n++;
	if ((unsigned)why <= RS_END_SHUTDOWN)
		e->by_reason[why]++;
}

/* ---- a table with one worker ----------------------------------------- */

struct rt_env {
	struct rs_flow_config cfg;
	struct rs_flow_table *t;
	struct rs_flow_worker *w;
	struct rt_app app;
	struct rt_ends ends;
};

/* cfg_fn may adjust the defaults; with_app false = ops NULL. */
static inline int rt_env_new(struct rt_env **out, void (*cfg_fn)(struct rs_flow_config *),
		      bool with_app)
{
	struct rt_env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	rs_flow_config_default(&e->cfg);
	e->cfg.max_flows = 4096;   /* small index: quick to build and free */
	if (cfg_fn)
		cfg_fn(&e->cfg);
	if (rs_flow_table_new(&e->t, &e->cfg) != 0)
		goto fail;
	if (rs_flow_worker_new(&e->w, e->t, 0, with_app ? &rt_ops : NULL,
			       with_app ? &e->app : NULL, rt_end,
			       &e->ends) != 0)
		goto fail_table;
	*out = e;
	return 0;

fail_table:
	rs_flow_table_free(e->t);
fail:
	free(e);
	return -1;
}

static inline void rt_env_free(struct rt_env *e)
{
	if (!e)
		return;
	rs_flow_worker_free(e->w);
	rs_flow_table_free(e->t);
	rt_app_fini(&e->app);
	free(e);
}

#endif /* RT_UTIL_H */
