/* stream.c - TCP connection state and per-direction reassembly into struct rs_app_ops byte streams.
 *
 * Runs only on the flow's owner.  In-order payload goes to the app straight
 * from the frame; only segments that arrive ahead of a hole are copied, into
 * a sorted list of disjoint pieces per direction.  The first copy of a byte
 * wins: bytes that arrive again are compared (overlap_mismatch) and dropped.
 * A hole is given up on (ops->gap, then what follows) when the other side
 * acknowledges past it, when a buffering cap is hit, or when the direction
 * ends (FIN acknowledged, RST, flow end).  Without an app layer, or when
 * open() declines a flow, a stream only tracks its sequence edge: nothing
 * is copied, and a segment beyond the edge counts as a gap at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow_impl.h"

/* An ACK further than this ahead of a stream's edge is noise (or another
 * connection): it never makes us skip data. */
#define RS_ACK_WINDOW (1u << 30)

/* Bits returned by the overlap checks. */
enum { OV_SEEN = 1, OV_DIFF = 2 };

/* ---- roles and state ------------------------------------------------ */

bool rs_tcp_first(struct rs_flow *f, const struct rs_pkt *p, bool *midstream)
{
	uint8_t sa = p->tcp_flags & (RS_TCP_SYN | RS_TCP_ACK);

	*midstream = false;
	if (sa == RS_TCP_SYN) {
		rs_flow_set_state(f, RS_ST_SYN_SENT);
		return true;
	}
	*midstream = true;
	f->info.flags |= RS_FLOW_MIDSTREAM;
	if (sa == (RS_TCP_SYN | RS_TCP_ACK)) {
		/* The SYN was missed, but the SYN-ACK names the server. */
		rs_flow_set_state(f, RS_ST_SYN_RECV);
		return false;
	}
	rs_flow_set_state(f, RS_ST_EST);
	/* No handshake: servers listen on the lower port, clients get
	 * ephemeral (high) ones.  Ties: the sender is the client. */
	return p->sport >= p->dport;
}

/* True payload length: with snaplen cut (L3_TRUNC) the IP header still says
 * how long the segment was, which places the FIN and the lost tail. */
static uint32_t tcp_seg_len(const struct rs_pkt *p)
{
	const uint8_t *end;
	uint32_t iplen, off, thl;

	if (!(p->flags & RS_PKT_L3_TRUNC) || !p->frame || !p->l3 || !p->l4)
		return p->payload_len;
	end = p->frame + p->caplen;
	if (p->l3 + 6 > end || p->l4 + 13 > end || p->l4 < p->l3)
		return p->payload_len;
	off = (uint32_t)(p->l4 - p->l3);
	thl = (uint32_t)(p->l4[12] >> 4) * 4;
	if (p->ip_version == 4)
		iplen = (uint32_t)p->l3[2] << 8 | p->l3[3];
	else
		iplen = 40 + ((uint32_t)p->l3[4] << 8 | p->l3[5]);
	if (iplen < off + thl || iplen - off - thl < p->payload_len)
		return p->payload_len;
	return iplen - off - thl;
}

/* ---- app callbacks --------------------------------------------------- */

/* Open the app at the flow's first payload.  Returns true when bytes are
 * to be reassembled for it. */
static bool app_open(struct rs_flow_worker *w, struct rs_flow *f)
{
	if (f->app_state == RS_APP_NONE) {
		f->app = NULL;
		if (w->ops && w->ops->open)
			f->app = w->ops->open(w->app_ctx, &f->info);
		f->app_state = f->app ? RS_APP_OPEN : RS_APP_OFF;
	}
	return f->app_state == RS_APP_OPEN;
}

static void emit_data(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		      const uint8_t *data, uint32_t len, uint64_t ts)
{
	if (len && f->app_state == RS_APP_OPEN && w->ops->data)
		w->ops->data(w->app_ctx, f->app, &f->info, dir, data, len, ts);
}

static void emit_gap(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		     uint64_t len, uint64_t ts)
{
	if (!len)
		return;
	RS_STAT_INC(w->st.tcp_gaps);
	RS_STAT_ADD(w->st.gap_bytes, len);
	f->info.gaps++;
	f->info.flags |= RS_FLOW_GAP;
	if (f->app_state == RS_APP_OPEN && w->ops->gap)
		w->ops->gap(w->app_ctx, f->app, &f->info, dir, len, ts);
}

/* ---- buffered segments ----------------------------------------------- */

/* Reserve n buffered bytes against the per-flow and the global cap. */
static int cap_take(struct rs_flow_worker *w, struct rs_flow *f, uint32_t n)
{
	const struct rs_flow_config *c = &w->t->cfg;
	uint64_t old;

	if ((uint64_t)f->ooo_bytes + n > c->ooo_bytes_per_flow)
		return -ENOSPC;
	old = atomic_fetch_add_explicit(&w->t->ooo_bytes, n,
					memory_order_relaxed);
	if (old + n > c->ooo_bytes_max) {
		atomic_fetch_sub_explicit(&w->t->ooo_bytes, n,
					  memory_order_relaxed);
		return -ENOSPC;
	}
	f->ooo_bytes += n;
	return 0;
}

static void cap_give(struct rs_flow_table *t, struct rs_flow *f, uint32_t n)
{
	f->ooo_bytes -= n;
	atomic_fetch_sub_explicit(&t->ooo_bytes, n, memory_order_relaxed);
}

static struct rs_seg *seg_pop(struct rs_stream *s)
{
	struct rs_seg *g = s->head;

	s->head = g->next;
	if (!s->head)
		s->tail = NULL;
	return g;
}

static void seg_free(struct rs_flow_table *t, struct rs_flow *f,
		     struct rs_seg *g)
{
	cap_give(t, f, g->len);
	free(g);
}

void rs_tcp_free_segs(struct rs_flow_table *t, struct rs_flow *f)
{
	for (int d = 0; d < 2; d++)
		while (f->s[d].head)
			seg_free(t, f, seg_pop(&f->s[d]));
}

/* Drop buffered bytes at or after limit (data after a FIN is bogus). */
static void trim_after(struct rs_flow_table *t, struct rs_flow *f,
		       struct rs_stream *s, uint32_t limit)
{
	struct rs_seg **pp = &s->head, *g;

	s->tail = NULL;
	while ((g = *pp)) {
		if (SEQ_GEQ(g->seq, limit)) {
			*pp = g->next;
			seg_free(t, f, g);
			continue;
		}
		if (SEQ_GT(g->seq + g->len, limit)) {
			uint32_t cut = g->seq + g->len - limit;

			cap_give(t, f, cut);
			g->len -= cut;
		}
		s->tail = g;
		pp = &g->next;
	}
}

/* Copy [seq, seq+len) of data into a new segment. */
static struct rs_seg *seg_new(uint32_t seq, const uint8_t *data, uint32_t len,
			      uint64_t ts)
{
	struct rs_seg *g = malloc(sizeof(*g) + len);

	if (!g)
		return NULL;
	g->next = NULL;
	g->ts_ns = ts;
	g->seq = seq;
	g->len = len;
	memcpy(g->data, data, len);
	return g;
}

/* Buffer the bytes of [seq, seq+len) that are not buffered yet; compare
 * the ones that are (first wins).  Nothing is buffered on -ENOSPC; on
 * -ENOMEM some pieces may be.  *ov gets OV_* bits. */
static int ooo_insert(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		      uint32_t seq, const uint8_t *data, uint32_t len,
		      uint64_t ts, unsigned *ov)
{
	struct rs_stream *s = &f->s[dir];
	uint32_t end = seq + len, cur = seq, need = 0, done = 0;
	struct rs_seg **pp, *g, *n;

	/* Pass 1: how many bytes are new; compare the others.  Behind a hole
	 * segments usually come in order, past everything buffered: then all
	 * are new, and walking the list for each would be quadratic (a
	 * megabyte of 1-byte segments took an hour). */
	g = s->tail && SEQ_GEQ(seq, s->tail->seq + s->tail->len) ? NULL
								  : s->head;
	for (; g && SEQ_LT(g->seq, end); g = g->next) {
		uint32_t gend = g->seq + g->len, oend;

		if (SEQ_LEQ(gend, cur))
			continue;
		if (SEQ_GT(g->seq, cur)) {
			need += g->seq - cur;
			cur = g->seq;
		}
		oend = SEQ_LT(end, gend) ? end : gend;
		*ov |= OV_SEEN;
		if (memcmp(data + (cur - seq), g->data + (cur - g->seq),
			   oend - cur) != 0)
			*ov |= OV_DIFF;
		cur = oend;
	}
	if (SEQ_LT(cur, end))
		need += end - cur;
	if (need == 0)
		return 0;
	if (cap_take(w, f, need))
		return -ENOSPC;
	/* Pass 2: link the new pieces in, in order.  Behind a hole, segments
	 * usually arrive in order: start from the tail when we can. */
	pp = &s->head;
	if (s->tail && SEQ_GEQ(seq, s->tail->seq + s->tail->len))
		pp = &s->tail->next;
	cur = seq;
	while (SEQ_LT(cur, end)) {
		uint32_t pend;

		while (*pp && SEQ_LEQ((*pp)->seq + (*pp)->len, cur))
			pp = &(*pp)->next;
		g = *pp;
		if (g && SEQ_LEQ(g->seq, cur)) {
			cur = g->seq + g->len;
			continue;
		}
		pend = g && SEQ_LT(g->seq, end) ? g->seq : end;
		n = seg_new(cur, data + (cur - seq), pend - cur, ts);
		if (!n) {
			cap_give(w->t, f, need - done);
			return -ENOMEM;
		}
		n->next = g;
		*pp = n;
		if (!g)
			s->tail = n;
		pp = &n->next;
		done += n->len;
		RS_STAT_INC(w->st.ooo_segments);
		RS_STAT_ADD(w->st.ooo_bytes, n->len);
		cur = pend;
	}
	return 0;
}

/* ---- stream edge ----------------------------------------------------- */

static void stream_eof(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		       uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];

	s->eof = 1;
	while (s->head)
		seg_free(w->t, f, seg_pop(s));
	if (f->app_state == RS_APP_OPEN && w->ops->eof)
		w->ops->eof(w->app_ctx, f->app, &f->info, dir, ts);
	/* Both directions ended: the app has all it will get, so close it now,
	 * not when the flow leaves the table (timeout_closed later).  A closed
	 * connection then costs the flow, not also the app's state (16 KiB
	 * for HTTP): under connection churn that was the bulk of memory. */
	if (f->s[dir ^ 1].eof && f->app_state == RS_APP_OPEN) {
		if (w->ops->close)
			w->ops->close(w->app_ctx, f->app, &f->info);
		f->app = NULL;
		f->app_state = RS_APP_OFF;
	}
}

static void fin_check(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		      uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];

	if (s->fin && !s->eof && SEQ_GEQ(s->next, s->fin_seq))
		stream_eof(w, f, dir, ts);
}

/* Hand on buffered segments that now touch the edge. */
static void drain(struct rs_flow_worker *w, struct rs_flow *f, int dir)
{
	struct rs_stream *s = &f->s[dir];

	while (s->head && SEQ_LEQ(s->head->seq, s->next)) {
		struct rs_seg *g = seg_pop(s);
		uint32_t skip = s->next - g->seq;

		if (skip < g->len) {
			emit_data(w, f, dir, g->data + skip, g->len - skip,
				  g->ts_ns);
			s->next = g->seq + g->len;
		}
		seg_free(w->t, f, g);
	}
}

/* Move the edge to target: holes become gaps, buffered bytes on the way
 * (and right after) are handed on. */
static void skip_to(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		    uint32_t target, uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];

	drain(w, f, dir);
	while (SEQ_LT(s->next, target)) {
		uint32_t hole_end = target;

		if (s->head && SEQ_LT(s->head->seq, target))
			hole_end = s->head->seq;
		emit_gap(w, f, dir, hole_end - s->next, ts);
		s->next = hole_end;
		drain(w, f, dir);
	}
	fin_check(w, f, dir, ts);
}

static bool ack_credible(const struct rs_stream *s)
{
	return s->init && s->ack_valid && SEQ_GT(s->peer_ack, s->next) &&
	       s->peer_ack - s->next <= RS_ACK_WINDOW;
}

/* On an ACK from the peer, which has everything before peer_ack: holes
 * below it that have data (or the FIN) after them will never fill.  Holes
 * with nothing after them are left: the data may simply come after the ACK
 * in the capture (flush reports them if it never does). */
static void ack_advance(struct rs_flow_worker *w, struct rs_flow *f, int dir,
			uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];
	uint32_t known, target;

	/* Nothing buffered and no FIN: nothing to give up on (most ACKs). */
	if (s->eof || (!s->fin && !s->tail) || !ack_credible(s))
		return;
	if (s->fin)
		known = s->fin_seq;
	else if (s->tail)
		known = s->tail->seq + s->tail->len;
	else
		return;
	target = SEQ_LT(s->peer_ack, known) ? s->peer_ack : known;
	if (SEQ_GT(target, s->next))
		skip_to(w, f, dir, target, ts);
}

/* In-order bytes from the frame (seq == next).  Buffered bytes they run
 * into came first and win.  Returns OV_* bits. */
static unsigned deliver_inorder(struct rs_flow_worker *w, struct rs_flow *f,
				int dir, uint32_t seq, const uint8_t *data,
				uint32_t len, uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];
	unsigned ov = 0;

	while (len > 0) {
		struct rs_seg *g = s->head;
		uint32_t n, both;

		if (!g || SEQ_GEQ(g->seq, seq + len)) {
			emit_data(w, f, dir, data, len, ts);
			s->next = seq + len;
			break;
		}
		n = g->seq - seq;
		emit_data(w, f, dir, data, n, ts);
		data += n;
		len -= n;
		seq += n;
		both = len < g->len ? len : g->len;
		ov |= OV_SEEN;
		if (memcmp(data, g->data, both) != 0)
			ov |= OV_DIFF;
		g = seg_pop(s);
		emit_data(w, f, dir, g->data, g->len, g->ts_ns);
		s->next = g->seq + g->len;
		seg_free(w->t, f, g);
		data += both;
		len -= both;
		seq += both;
	}
	drain(w, f, dir);
	return ov;
}

/* One segment's payload, reassembling mode. */
static void seg_full(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		     uint32_t seq, const uint8_t *data, uint32_t len,
		     uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];
	unsigned ov = 0;
	bool first = true, capped = false;

	if (s->eof || len == 0)
		return;
	if (s->fin) {
		if (SEQ_GEQ(seq, s->fin_seq))
			return;
		if (SEQ_GT(seq + len, s->fin_seq))
			len = s->fin_seq - seq;
	}
	for (;; first = false) {
		int r;

		if (SEQ_LEQ(seq + len, s->next)) {
			if (first)
				RS_STAT_INC(w->st.retransmits);
			break;
		}
		if (SEQ_LT(seq, s->next)) {
			uint32_t cut = s->next - seq;

			data += cut;
			len -= cut;
			seq = s->next;
			ov |= OV_SEEN;
		}
		if (seq == s->next) {
			ov |= deliver_inorder(w, f, dir, seq, data, len, ts);
			break;
		}
		/* Ahead of a hole: buffer.  Even when an earlier ACK already
		 * covers the hole we wait for the next ACK: captures reorder
		 * ACKs and data, and the hole may still fill. */
		r = ooo_insert(w, f, dir, seq, data, len, ts, &ov);
		if (r == 0)
			break;
		if (r == -ENOMEM) {
			RS_STAT_INC(w->st.alloc_failures);
		} else if (!capped) {
			RS_STAT_INC(w->st.ooo_dropped);
			f->info.flags |= RS_FLOW_OOO_CAPPED;
		}
		capped = true;
		/* Stop waiting for the oldest hole; afterwards the segment
		 * may fit, or be in order and need no copy at all. */
		skip_to(w, f, dir, s->head ? s->head->seq : seq, ts);
	}
	if (ov & OV_SEEN)
		RS_STAT_INC(w->st.overlaps);
	if (ov & OV_DIFF) {
		RS_STAT_INC(w->st.overlap_mismatch);
		f->info.flags |= RS_FLOW_OVERLAP_DIFF;
	}
}

/* One segment, sequence-tracking mode (no app): nothing is copied. */
static void seg_track(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		      uint32_t seq, uint32_t len, uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];
	uint32_t end = seq + len;

	if (s->eof || len == 0)
		return;
	if (SEQ_LEQ(end, s->next)) {
		RS_STAT_INC(w->st.retransmits);
		return;
	}
	if (SEQ_LT(seq, s->next))
		RS_STAT_INC(w->st.overlaps);
	else if (SEQ_GT(seq, s->next))
		emit_gap(w, f, dir, seq - s->next, ts);
	s->next = end;
}

/* Direction ends: hand on everything, report the holes, then eof. */
static void stream_flush(struct rs_flow_worker *w, struct rs_flow *f, int dir,
			 uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];
	uint32_t known;

	if (s->eof)
		return;
	if (s->init) {
		known = s->next;
		if (s->tail && SEQ_GT(s->tail->seq + s->tail->len, known))
			known = s->tail->seq + s->tail->len;
		if (s->fin && SEQ_GT(s->fin_seq, known))
			known = s->fin_seq;
		if (SEQ_GT(known, s->next))
			skip_to(w, f, dir, known, ts);
		/* Bytes the peer acknowledged but we never saw.  One byte
		 * short of the ACK is an unseen FIN, not data. */
		if (!s->eof && !s->fin && ack_credible(s) &&
		    s->peer_ack - s->next > 1) {
			emit_gap(w, f, dir, s->peer_ack - s->next, ts);
			s->next = s->peer_ack;
		}
	}
	if (!s->eof)
		stream_eof(w, f, dir, ts);
}

/* ---- packets --------------------------------------------------------- */

static void handshake(struct rs_flow *f, const struct rs_pkt *p, int dir)
{
	uint8_t sa = p->tcp_flags & (RS_TCP_SYN | RS_TCP_ACK);
	struct rs_stream *s = &f->s[dir], *o = &f->s[dir ^ 1];

	if (sa & RS_TCP_SYN) {
		f->info.flags |= sa == RS_TCP_SYN ? RS_FLOW_SYN_SEEN
						  : RS_FLOW_SYNACK_SEEN;
		/* The SYN fixes the ISN; a new one before any data (a retried
		 * connect) replaces the old. */
		if (!s->data_seen) {
			s->init = 1;
			s->next = p->seq + 1;
		}
		if (sa == (RS_TCP_SYN | RS_TCP_ACK)) {
			if (!o->init) {
				o->init = 1;
				o->next = p->ack;
			}
			if (f->state == RS_ST_SYN_SENT)
				rs_flow_set_state(f, RS_ST_SYN_RECV);
		}
	} else if (sa == RS_TCP_ACK && dir == 0 && f->state == RS_ST_SYN_RECV) {
		rs_flow_set_state(f, RS_ST_EST);
	}
}

/* Keep the highest ACK seen for o's bytes. */
static inline void ack_note(struct rs_stream *o, uint32_t ack)
{
	if (!o->ack_valid || SEQ_GT(ack, o->peer_ack)) {
		o->peer_ack = ack;
		o->ack_valid = 1;
	}
}

/* What an ACK may do beyond ack_note: acknowledge o's FIN, give up o's
 * holes.  Nothing unless o has a FIN or buffered segments. */
static void ack_settle(struct rs_flow_worker *w, struct rs_flow *f, int odir,
		       uint32_t ack, uint64_t ts)
{
	struct rs_stream *o = &f->s[odir];

	if (o->fin && !o->fin_acked && SEQ_GT(ack, o->fin_seq)) {
		o->fin_acked = 1;
		if (f->s[odir ^ 1].fin_acked)
			rs_flow_set_state(f, RS_ST_CLOSED);
	}
	if (f->app_state == RS_APP_OPEN)
		ack_advance(w, f, odir, ts);
}

static void on_ack(struct rs_flow_worker *w, struct rs_flow *f, int odir,
		   uint32_t ack, uint64_t ts)
{
	ack_note(&f->s[odir], ack);
	ack_settle(w, f, odir, ack, ts);
}

static void on_fin(struct rs_flow_worker *w, struct rs_flow *f, int dir,
		   uint32_t fin_seq, uint64_t ts)
{
	struct rs_stream *s = &f->s[dir];

	f->fin_any = 1;
	if (!s->fin) {
		s->fin = 1;
		s->fin_seq = fin_seq;
		trim_after(w->t, f, s, fin_seq);
	}
	if (f->s[dir ^ 1].fin)
		rs_flow_set_state(f, f->state == RS_ST_CLOSED ? RS_ST_CLOSED
							     : RS_ST_CLOSING);
	else if (f->state != RS_ST_CLOSED)
		rs_flow_set_state(f, RS_ST_FIN_WAIT);
	fin_check(w, f, dir, ts);
}

/* Every segment the fast path in rs_tcp_packet declines (counted there). */
static __attribute__((noinline)) void tcp_packet_full(struct rs_flow_worker *w,
		struct rs_flow *f, const struct rs_pkt *p, int dir)
{
	struct rs_stream *s = &f->s[dir];
	uint8_t fl = p->tcp_flags;
	uint32_t seg_len, data_seq;
	uint64_t ts = p->ts_ns;

	/* After RST nothing more is assembled; a first fragment holds only
	 * part of the payload (no IP reassembly): let the hole show later. */
	if (f->rst || (p->flags & RS_PKT_FRAGMENT))
		return;
	seg_len = tcp_seg_len(p);
	data_seq = p->seq + ((fl & RS_TCP_SYN) ? 1 : 0);
	handshake(f, p, dir);
	if (!s->init) {
		/* Midstream: the stream starts where we first see it. */
		s->init = 1;
		s->next = data_seq;
	}
	/* The ACK is about the other direction's bytes, which the sender had
	 * before it sent this segment: settle those first. */
	if (fl & RS_TCP_ACK)
		on_ack(w, f, dir ^ 1, p->ack, ts);
	if (fl & RS_TCP_RST) {
		f->rst = 1;
		rs_flow_set_state(f, RS_ST_CLOSED);
		stream_flush(w, f, 0, ts);
		stream_flush(w, f, 1, ts);
		return;
	}
	if (seg_len > 0) {
		s->data_seen = 1;
		if (app_open(w, f)) {
			seg_full(w, f, dir, data_seq, p->payload,
				 p->payload_len, ts);
			/* Cut by snaplen: the rest will never come. */
			if (seg_len > p->payload_len && !s->eof &&
			    s->next == data_seq + p->payload_len)
				skip_to(w, f, dir, data_seq + seg_len, ts);
		} else {
			seg_track(w, f, dir, data_seq, seg_len, ts);
		}
		if (f->state == RS_ST_SYN_SENT || f->state == RS_ST_SYN_RECV)
			rs_flow_set_state(f, RS_ST_EST);
	}
	if (fl & RS_TCP_FIN)
		on_fin(w, f, dir, data_seq + seg_len, ts);
}

void rs_tcp_packet(struct rs_flow_worker *w, struct rs_flow *f,
		   const struct rs_pkt *p, int dir)
{
	struct rs_stream *s = &f->s[dir], *o = &f->s[dir ^ 1];
	uint32_t len = p->payload_len;

	RS_STAT_INC(w->st.tcp_segments);
	/* Fast path, most segments of a busy connection: past the handshake,
	 * ACK without SYN/FIN/RST, whole (no fragment, no snaplen cut), the
	 * bytes right at the edge of a stream with nothing buffered, for an
	 * open app.  The general path would do just this: settle the ACK
	 * (which touches only the other direction, and cannot end this one
	 * or close the app while this direction is open), then hand the
	 * bytes on from the frame.  (No test of f->rst: a RST ends both
	 * directions, and s->eof stays.) */
	if (likely((p->tcp_flags & (RS_TCP_SYN | RS_TCP_FIN | RS_TCP_RST |
				    RS_TCP_ACK)) == RS_TCP_ACK &&
		   !(p->flags & (RS_PKT_FRAGMENT | RS_PKT_L3_TRUNC)) &&
		   len > 0 && f->state >= RS_ST_EST &&
		   f->app_state == RS_APP_OPEN && s->init && !s->eof &&
		   !s->fin && !s->head && p->seq == s->next)) {
		/* ack_note leaves these be: read them before it writes the
		 * byte they share with ack_valid. */
		bool settle = o->fin || o->tail;

		ack_note(o, p->ack);
		if (unlikely(settle))
			ack_settle(w, f, dir ^ 1, p->ack, p->ts_ns);
		s->data_seen = 1;
		/* The edge moves first (the app cannot see it): the call
		 * below is then the last thing done. */
		s->next = p->seq + len;
		emit_data(w, f, dir, p->payload, len, p->ts_ns);
		return;
	}
	tcp_packet_full(w, f, p, dir);
}

void rs_tcp_end(struct rs_flow_worker *w, struct rs_flow *f, uint64_t ts_ns)
{
	stream_flush(w, f, 0, ts_ns);
	stream_flush(w, f, 1, ts_ns);
	if (f->app_state == RS_APP_OPEN && w->ops->close)
		w->ops->close(w->app_ctx, f->app, &f->info);
	f->app = NULL;
	f->app_state = RS_APP_OFF;
	rs_tcp_free_segs(w->t, f);
}
