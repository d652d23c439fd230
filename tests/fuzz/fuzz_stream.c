/* fuzz_stream.c - libFuzzer harness: TCP segments through the flow table,
 * reassembly and the HTTP layer (rs_flow_* + rs_http_app_ops).
 *
 * Input: a config byte, then segments of a 6-byte header and payload.
 *   config  bits 0-1 client ISN (1000, 0xfffffff0, 0x7ffffff0, 0)
 *           bits 2-3 server ISN (5000, 0xffffff00, 0x80000000, 0xffffffff)
 *           bit 4    pattern mode: payload bytes are not in the input, each
 *                    is the low byte of its own sequence number
 *           bit 5    tiny out-of-order caps (512 per flow, 1024 in all)
 *           bit 6    max_flows 1 (the second connection evicts the first)
 *           bit 7    IPv6
 *   byte 0  bit 0 direction (1 = server to client), bits 1-5 SYN ACK FIN
 *           RST PSH, bit 6 connection (two client ports), bit 7 also URG
 *   byte 1  bit 0 cut by snaplen (half the payload captured), bit 1 IPv4
 *           first fragment (MF), bit 2 ack 1000 bytes past what the peer
 *           sent, bit 3 ack number far off (2^30 + ...), bits 4-7 k: the
 *           clock jumps 2^(2k) ms first (rs_flow_tick; k >= 14 passes the
 *           timeouts)
 *   2-3     sequence number relative to the highest sent so far in that
 *           direction (int16, big endian)
 *   4-5     payload length (big endian; capped by what the input has left,
 *           or in pattern mode taken modulo 16384)
 * Each segment is built as a real frame in a buffer of its exact size and
 * decoded, then given to rs_flow_packet; the input ends with rs_flow_flush
 * and everything it made is freed (LeakSanitizer checks each input); the
 * flow tables themselves live as long as the process (see table_for).
 * Checks, through an app layer wrapped around the HTTP one: callbacks come
 * in a legal order (open, data/gap until eof per direction, at most one
 * eof per direction, close); every open is closed; in pattern mode the bytes of a
 * direction continue across data and gap callbacks without a byte lost,
 * doubled or changed, and no overlap can differ; every packet is accounted
 * to a flow, every flow ends, the table and its buffers end empty.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_impl.h"
#include "fuzz_util.h"
#include "rs_decode.h"
#include "rs_reassembly.h"

#define MS 1000000ull
/* Pattern-mode payloads are free to make: keep them below this. */
#define PATTERN_MAX 16384u

/* One direction as the app saw it. */
struct fz_dir {
	bool eof;
	bool have_next;           /* pattern mode: next byte is known */
	uint8_t next;
	uint64_t data, gaps;      /* bytes */
};

struct fz_app {
	void *http;
	struct fz_dir d[2];
};

struct fz_ctx {
	struct rs_http_layer http;
	bool pattern;
	uint64_t opens, closes;
	uint64_t txns;
	uint64_t gap_calls, gap_bytes;
	uint64_t ended, end_pkts, end_bytes;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- RCU frees, run on this thread -------------------------------------
 * liburcu's call_rcu thread sleeps 10 ms before each batch, so waiting
 * for the flows of each input to be freed (rcu_barrier) held the harness
 * to ~70 inputs/s.  These two definitions take the place of liburcu's call_rcu
 * and rcu_barrier (the executable's symbols win over the shared library's):
 * callbacks wait on a list until this thread, the only reader, has passed
 * a quiescent state after them (run_rcu_callbacks after
 * rs_flow_quiescent), or until rcu_barrier.  That is a real grace period
 * for a single-threaded reader, so ASan still catches any use of a flow
 * after one; frees become deterministic and LeakSanitizer sees each input
 * end balanced.  The table itself (cds_lfht) is liburcu's. */
static struct cds_wfcq_node *rcu_pending;   /* newest first */

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	head->func = func;
	head->next.next = rcu_pending;
	rcu_pending = &head->next;
}

static void run_rcu_callbacks(void)
{
	while (rcu_pending) {
		struct cds_wfcq_node *list = rcu_pending;

		rcu_pending = NULL;     /* callbacks may queue more */
		while (list) {
			struct rcu_head *h = caa_container_of(list,
						struct rcu_head, next);

			list = list->next;
			h->func(h);
		}
	}
}

void rcu_barrier(void)
{
	run_rcu_callbacks();
}

/* ---- the app layer: checks, then the HTTP layer ---------------------- */

static void *w_open(void *ctx, const struct rs_flow_info *f)
{
	struct fz_ctx *c = ctx;
	struct fz_app *a = calloc(1, sizeof(*a));

	FZ_CHECK(a != NULL);
	FZ_CHECK(f->proto == 6);
	a->http = rs_http_app_ops.open(&c->http, f);
	if (!a->http) {           /* the HTTP layer declined: so do we */
		free(a);
		return NULL;
	}
	c->opens++;
	return a;
}

/* Pattern mode: data must continue the byte sequence.  Returns the index
 * of the first byte out of sequence, or len. */
FZ_NOCOV static size_t pattern_check(struct fz_dir *d, const uint8_t *data,
				     size_t len)
{
	size_t i = 0;

	if (!d->have_next) {
		d->next = data[0];
		d->have_next = true;
	}
	for (; i < len; i++, d->next++)
		if (data[i] != d->next)
			break;
	return i;
}

static void w_data(void *ctx, void *app, const struct rs_flow_info *f,
		   int dir, const uint8_t *data, size_t len, uint64_t ts)
{
	struct fz_ctx *c = ctx;
	struct fz_app *a = app;
	struct fz_dir *d;
	size_t bad;

	FZ_CHECK(dir == 0 || dir == 1);
	d = &a->d[dir];
	FZ_CHECK(!d->eof);
	FZ_CHECK(len > 0 && data != NULL);
	if (c->pattern) {
		bad = pattern_check(d, data, len);
		if (bad < len) {
			fprintf(stderr, "dir %d: byte %zu of %zu is 0x%02x, "
				"expected 0x%02x (after %llu bytes, %llu gap "
				"bytes)\n", dir, bad, len, data[bad], d->next,
				(unsigned long long)d->data,
				(unsigned long long)d->gaps);
			FZ_CHECK(!"stream bytes out of sequence");
		}
	} else {
		fz_touch(data, len);
	}
	d->data += len;
	rs_http_app_ops.data(&c->http, a->http, f, dir, data, len, ts);
}

static void w_gap(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		  uint64_t len, uint64_t ts)
{
	struct fz_ctx *c = ctx;
	struct fz_app *a = app;
	struct fz_dir *d;

	FZ_CHECK(dir == 0 || dir == 1);
	d = &a->d[dir];
	FZ_CHECK(!d->eof);
	FZ_CHECK(len > 0);
	d->next = (uint8_t)(d->next + len);
	d->gaps += len;
	c->gap_calls++;
	c->gap_bytes += len;
	rs_http_app_ops.gap(&c->http, a->http, f, dir, len, ts);
}

static void w_eof(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		  uint64_t ts)
{
	struct fz_ctx *c = ctx;
	struct fz_app *a = app;

	FZ_CHECK(dir == 0 || dir == 1);
	FZ_CHECK(!a->d[dir].eof);
	a->d[dir].eof = true;
	rs_http_app_ops.eof(&c->http, a->http, f, dir, ts);
}

static void w_close(void *ctx, void *app, const struct rs_flow_info *f)
{
	struct fz_ctx *c = ctx;
	struct fz_app *a = app;

	/* No check that both directions saw eof: a direction that ended
	 * before the app opened (SYN+FIN, then data the other way) never
	 * reports it, and the API does not promise it. */
	rs_http_app_ops.close(&c->http, a->http, f);
	c->closes++;
	free(a);
}

static const struct rs_app_ops wrap_ops = {
	.open = w_open, .data = w_data, .gap = w_gap, .eof = w_eof,
	.close = w_close,
};

static void on_end(void *ctx, const struct rs_flow_info *f,
		   enum rs_flow_end_reason why)
{
	struct fz_ctx *c = ctx;

	FZ_CHECK(why >= RS_END_FIN && why <= RS_END_SHUTDOWN);
	FZ_CHECK(strcmp(rs_flow_end_reason_name(why), "unknown") != 0);
	FZ_CHECK(f->state != NULL);
	if (c->pattern)
		FZ_CHECK(!(f->flags & RS_FLOW_OVERLAP_DIFF));
	c->ended++;
	c->end_pkts += f->pkts[0] + f->pkts[1];
	c->end_bytes += f->bytes[0] + f->bytes[1];
}

static void on_txn(void *user, const struct rs_flow_info *f,
		   const struct rs_http_txn *t)
{
	struct fz_ctx *c = user;

	FZ_CHECK(f != NULL && f->proto == 6);
	FZ_CHECK(t->method_len < RS_HTTP_METHOD_MAX);
	FZ_CHECK(t->uri_len < RS_HTTP_URI_MAX);
	FZ_CHECK(t->method[t->method_len] == '\0');
	FZ_CHECK(t->uri[t->uri_len] == '\0');
	FZ_CHECK(t->req_body_kept <= 1024);
	if (t->req_body)
		fz_touch(t->req_body, t->req_body_kept);
	if (t->req_head)
		fz_touch(t->req_head, t->req_head_len);
	c->txns++;
}

/* ---- segments -------------------------------------------------------- */

struct conn {
	uint32_t next[2];         /* highest sequence sent, per direction */
	uint16_t cport;
};

/* Build the frame of one segment into an exact-size buffer.  Returns it
 * (caller frees) and its lengths. */
FZ_NOCOV static uint8_t *build_frame(bool v6, int dir, const struct conn *cn,
			    uint8_t tflags, uint32_t seq, uint32_t ack,
			    const uint8_t *pl, uint32_t len, bool pattern,
			    bool cut, bool frag, uint32_t *caplen,
			    uint32_t *wirelen)
{
	const uint32_t l3 = v6 ? 40 : 20, hdr = 14 + l3 + 20;
	const uint32_t cap_pl = cut ? len / 2 : len;
	uint8_t *b = malloc(hdr + cap_pl), *ip = b + 14, *t = ip + l3;
	uint16_t sp = dir ? 80 : cn->cport, dp = dir ? cn->cport : 80;
	uint8_t a_cli = 1, a_srv = 2;

	FZ_CHECK(b != NULL);
	memset(b, 0, hdr);
	b[0] = 2; b[5] = dir ? 1 : 2; b[6] = 2; b[11] = dir ? 2 : 1;
	b[12] = v6 ? 0x86 : 0x08;
	b[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		ip[0] = 0x60;
		ip[4] = (uint8_t)((20 + len) >> 8);
		ip[5] = (uint8_t)(20 + len);
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0x20; ip[9] = 0x01; ip[10] = 0x0d; ip[11] = 0xb8;
		memcpy(ip + 24, ip + 8, 4);
		ip[23] = dir ? a_srv : a_cli;
		ip[39] = dir ? a_cli : a_srv;
	} else {
		ip[0] = 0x45;
		ip[2] = (uint8_t)((40 + len) >> 8);
		ip[3] = (uint8_t)(40 + len);
		ip[6] = frag ? 0x20 : 0x40;     /* MF, or DF */
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 198; ip[13] = 18; ip[14] = 0;
		ip[15] = dir ? a_srv : a_cli;
		ip[16] = 198; ip[17] = 18; ip[18] = 0;
		ip[19] = dir ? a_cli : a_srv;
	}
	t[0] = (uint8_t)(sp >> 8); t[1] = (uint8_t)sp;
	t[2] = (uint8_t)(dp >> 8); t[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = 5 << 4;
	t[13] = tflags;
	t[14] = 0xff; t[15] = 0xff;
	/* Payload starts one after a SYN's sequence number. */
	for (uint32_t i = 0; i < cap_pl; i++)
		b[hdr + i] = pattern ? (uint8_t)(seq + !!(tflags & RS_TCP_SYN) + i)
				     : pl[i];
	*caplen = hdr + cap_pl;
	*wirelen = hdr + len;
	return b;
}

static const uint32_t isn_cli[4] = { 1000, 0xfffffff0u, 0x7ffffff0u, 0 };
static const uint32_t isn_srv[4] = { 5000, 0xffffff00u, 0x80000000u,
				     0xffffffffu };

/* One table per configuration, made on first use and kept: cds_lfht_new
 * starts (and cds_lfht_destroy joins) a worker thread, which would cost
 * more than the whole input.  Each input leaves its table empty (checked). */
static struct rs_flow_table *tables[4];

static struct rs_flow_table *table_for(uint8_t conf)
{
	struct rs_flow_table **t = &tables[(conf >> 5) & 3];
	struct rs_flow_config cfg;

	if (*t)
		return *t;
	rs_flow_config_default(&cfg);
	if (conf & 0x20) {
		cfg.ooo_bytes_per_flow = 512;
		cfg.ooo_bytes_max = 1024;
	}
	if (conf & 0x40)
		cfg.max_flows = 1;
	FZ_CHECK(rs_flow_table_new(t, &cfg) == 0);
	return *t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A table made and freed at once, so the teardown runs in every process
 * (the inputs keep theirs). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rs_flow_table *t = NULL;

	(void)argc;
	(void)argv;
	FZ_CHECK(rs_flow_table_new(&t, NULL) == 0);
	rs_flow_table_free(t);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_ctx c;
	struct rs_flow_table *t;
	struct rs_flow_worker *w = NULL;
	struct conn cn[2];
	uint64_t ts = 1700000000ull * 1000 * MS, sent = 0, sent_bytes = 0;
	uint8_t conf;
	size_t i = 1;
	bool v6;

	if (size < 1)
		return 0;
	conf = data[0];
	memset(&c, 0, sizeof(c));
	c.pattern = conf & 0x10;
	v6 = conf & 0x80;
	for (int k = 0; k < 2; k++) {
		cn[k].next[0] = isn_cli[conf & 3] + (uint32_t)k * 77777;
		cn[k].next[1] = isn_srv[(conf >> 2) & 3] - (uint32_t)k * 55555;
		cn[k].cport = (uint16_t)(40000 + k);
	}
	t = table_for(conf);
	FZ_CHECK(rs_flow_table_count(t) == 0);
	FZ_CHECK(rs_http_layer_init(&c.http, on_txn, &c) == 0);
	/* Bodies kept, as for --replay: more of the parser runs. */
	FZ_CHECK(rs_http_layer_set_keep_body(&c.http, 1024) == 0);
	FZ_CHECK(rs_flow_worker_new(&w, t, 0, &wrap_ops, &c, on_end, &c) == 0);

	while (i + 6 <= size) {
		const uint8_t b0 = data[i], b1 = data[i + 1];
		const int dir = b0 & 1;
		struct conn *k = &cn[(b0 >> 6) & 1];
		const int16_t delta = (int16_t)(data[i + 2] << 8 | data[i + 3]);
		uint32_t len = (uint32_t)data[i + 4] << 8 | data[i + 5];
		uint8_t fl = 0;
		uint32_t seq, ack, end, caplen, wirelen;
		const uint8_t *pl = NULL;
		struct rs_decode_stats dst = { 0 };
		struct rs_pkt p;
		uint8_t *frame;
		int e, rc;

		i += 6;
		if (!c.pattern) {
			if (len > size - i)
				len = (uint32_t)(size - i);
			pl = data + i;
			i += len;
		} else {
			len &= PATTERN_MAX - 1;
		}
		if (len > 65535 - 60)
			len = 65535 - 60;
		fl |= (b0 & 0x02) ? RS_TCP_SYN : 0;
		fl |= (b0 & 0x04) ? RS_TCP_ACK : 0;
		fl |= (b0 & 0x08) ? RS_TCP_FIN : 0;
		fl |= (b0 & 0x10) ? RS_TCP_RST : 0;
		fl |= (b0 & 0x20) ? RS_TCP_PSH : 0;
		fl |= (b0 & 0x80) ? RS_TCP_URG : 0;
		seq = k->next[dir] + (uint32_t)(int32_t)delta;
		ack = k->next[dir ^ 1];
		if (b1 & 0x04)
			ack += 1000;
		if (b1 & 0x08)
			ack += 0x60000000u;
		end = seq + len + ((fl & RS_TCP_SYN) ? 1 : 0) +
		      ((fl & RS_TCP_FIN) ? 1 : 0);
		if (SEQ_GT(end, k->next[dir]))
			k->next[dir] = end;
		if (b1 >> 4) {
			ts += MS << (2 * (b1 >> 4));
			rs_flow_tick(w, ts);
		}
		ts += MS;

		frame = build_frame(v6, dir, k, fl, seq, ack, pl, len,
				    c.pattern, b1 & 0x01, (b1 & 0x02) && !v6,
				    &caplen, &wirelen);
		/* As ringsniff's worker decodes: the fields rs_decode_flow
		 * may leave hold garbage, which the flow layer must not
		 * need. */
		memset(&p, 0xa5, sizeof(p));
		e = rs_decode_flow(&p, RS_LINKTYPE_ETHERNET, frame, caplen,
				   wirelen, &dst);
		FZ_CHECK(e == RS_DERR_NONE);
		FZ_CHECK(p.l4proto == 6 && p.seq == seq && p.tcp_flags == fl);
		p.ts_ns = ts;
		rc = rs_flow_packet(w, &p);
		FZ_CHECK(rc == 0);        /* one worker can always evict */
		sent++;
		sent_bytes += wirelen;
		free(frame);
		rs_flow_quiescent(w);
		run_rcu_callbacks();
	}

	rs_flow_flush(w, ts + MS, RS_END_SHUTDOWN);
	{
		const struct rs_flow_stats *st = rs_flow_worker_stats(w);

		FZ_CHECK(st->flows_active == 0);
		FZ_CHECK(st->flows_created == st->flows_ended);
		FZ_CHECK(st->flows_created == c.ended);
		FZ_CHECK(st->flows_refused == 0 && st->alloc_failures == 0);
		FZ_CHECK(st->tcp_segments == sent);
		FZ_CHECK(st->gap_bytes >= c.gap_bytes);
		FZ_CHECK(st->tcp_gaps >= c.gap_calls);
		if (c.pattern)
			FZ_CHECK(st->overlap_mismatch == 0);
	}
	FZ_CHECK(c.end_pkts == sent && c.end_bytes == sent_bytes);
	FZ_CHECK(c.opens == c.closes);
	FZ_CHECK(rs_flow_table_count(t) == 0);
	FZ_CHECK(atomic_load(&t->ooo_bytes) == 0);
	rs_flow_worker_free(w);
	run_rcu_callbacks();      /* the flows' memory, before the input ends */
	FZ_CHECK(c.http.stats.txns == c.txns);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "segments %llu, flows %llu, http txns %llu, "
			"gaps %llu (%llu bytes)\n", (unsigned long long)sent,
			(unsigned long long)c.ended,
			(unsigned long long)c.txns,
			(unsigned long long)c.gap_calls,
			(unsigned long long)c.gap_bytes);
	rs_http_layer_fini(&c.http);
	return 0;
}
