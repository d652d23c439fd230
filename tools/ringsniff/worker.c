/* worker.c - one frame's way through ringsniff: filter, decode, flows, logs. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ringsniff.h"

/* ---- per-frame path ------------------------------------------------ */

/* Symmetric: both directions of a flow give the same value. */
static uint64_t flow_shard_hash(const struct rs_pkt *p)
{
	uint64_t a = 0, b = 0;
	for (unsigned i = 0; i < p->addr_len; i += 4) {
		uint32_t x, y;
		memcpy(&x, p->src + i, 4);
		memcpy(&y, p->dst + i, 4);
		a = a * 0x9e3779b97f4a7c15ull + x;
		b = b * 0x9e3779b97f4a7c15ull + y;
	}
	a = (a ^ p->sport) * 0xff51afd7ed558ccdull;
	b = (b ^ p->dport) * 0xff51afd7ed558ccdull;
	uint64_t h = a + b + p->l4proto;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Files read by several workers: each sees every frame and keeps those of
 * its flows (non-IP frames go to worker 0). */
static bool frame_is_mine(const struct rs_worker *w, const struct rs_frame *fr)
{
	struct rs_pkt p;
	unsigned n = w->app->nworkers;
	if (rs_decode(&p, fr->linktype, fr->data, fr->caplen, fr->wirelen,
		      NULL) != RS_DERR_NONE || p.ip_version == 0)
		return w->id == 0;
	/* The hash's top half scaled to [0, n): a multiply, not a 64-bit
	 * divide on every frame of every worker. */
	return (unsigned)(((flow_shard_hash(&p) >> 32) * n) >> 32) == w->id;
}

/* Sharding, the user filter, -c and -w (see rs_worker_frame).  Counts the
 * frame as seen when it is this worker's; false: the frame goes no further. */
static __attribute__((noinline)) bool frame_extras(struct rs_worker *w,
						   const struct rs_frame *fr)
{
	/* Read once: the counter stores below could alias it otherwise. */
	struct rs_app *app = w->app;

	if (app->shard_files && !frame_is_mine(w, fr))
		return false;
	RS_STAT_INC(w->frames);
	if (w->fset) {
		/* A link type the expression cannot apply to drops its frames
		 * (the set compiles it once and remembers the failure). */
		const struct rs_filter *f;
		if (rs_filter_set_get(w->fset, fr->linktype, &f, NULL, 0) < 0 ||
		    !rs_filter_match(f, fr->data, fr->caplen, fr->wirelen)) {
			RS_STAT_INC(w->filtered);
			return false;
		}
	}
	if (app->opts.count) {
		uint64_t n = atomic_fetch_add_explicit(&app->counted, 1,
						       memory_order_relaxed);
		if (n >= app->opts.count) {
			atomic_store(&rs_stop, 1);
			return false;
		}
		if (n + 1 == app->opts.count)
			atomic_store(&rs_stop, 1);
	}

	if (app->pcapw)
		rs_pcapw_write(app->pcapw, w->id, fr);   /* full ring: counted */
	return true;
}

/* noinline: GCC inlines either this into the file loop or the flow code
 * (rs_flow_packet) into this; the second costs fewer instructions a frame,
 * and small changes elsewhere used to flip the choice. */
__attribute__((noinline)) void rs_worker_frame(struct rs_worker *w,
					       const struct rs_frame *fr)
{
	/* Most runs have none of the extras: one test for all of them. */
	if (__builtin_expect(w->extras, 0)) {
		if (!frame_extras(w, fr))
			return;
	} else {
		RS_STAT_INC(w->frames);
	}

	struct rs_pkt p;
	enum rs_decode_err e;
	if (fr->vlan_valid || fr->pkttype) {
		/* Ring metadata: the tag the kernel stripped, the direction. */
		const struct rs_decode_meta meta = {
			.vlan_tci = fr->vlan_tci, .vlan_tpid = fr->vlan_tpid,
			.vlan_valid = fr->vlan_valid, .pkttype = fr->pkttype,
		};
		e = rs_decode_ex(&p, fr->linktype, fr->data, fr->caplen,
				 fr->wirelen, &meta, &w->dstats);
	} else {
		/* (Only rs_flow_packet reads p.) */
		e = rs_decode_flow(&p, fr->linktype, fr->data, fr->caplen,
				   fr->wirelen, &w->dstats);
	}
	p.ts_ns = fr->ts_ns;
	w->last_ts_ns = fr->ts_ns;
	if (e == RS_DERR_NONE && w->fw)
		rs_flow_packet(w->fw, &p);
}

/* ---- worker set-up --------------------------------------------------- */

static void on_txn(void *user, const struct rs_flow_info *f,
		   const struct rs_http_txn *t)
{
	struct rs_worker *w = user;
	rs_log_http(&w->http_out, f, t);
}

/* With --replay (app->replay is NULL without it): on_txn, then the
 * request to the replay thread.  A callback of its own, so that on_txn is
 * only the line, a tail call. */
static void on_txn_replay(void *user, const struct rs_flow_info *f,
			  const struct rs_http_txn *t)
{
	struct rs_worker *w = user;
	on_txn(user, f, t);
	/* Copies what it needs into this worker's queue; never waits. */
	rs_replay_submit(w->app->replay, w->id, f, t);
}

static void on_flow_end(void *ctx, const struct rs_flow_info *f,
			enum rs_flow_end_reason why)
{
	struct rs_worker *w = ctx;
	rs_log_flow(&w->flow_out, f, why);
}

int rs_workers_init(struct rs_app *app, unsigned n)
{
	app->workers = aligned_alloc(64, ((sizeof *app->workers * n + 63) / 64) * 64);
	if (!app->workers)
		return -ENOMEM;
	memset(app->workers, 0, sizeof *app->workers * n);
	app->nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		struct rs_worker *w = &app->workers[i];
		w->id = i;
		w->cpu = -1;
		w->app = app;
		pthread_mutex_init(&w->stats_lock, NULL);
		int rc = 0;
		if (rs_user_filter_needed(app))
			rc = rs_filter_set_new(&w->fset, app->opts.filter_expr,
					       app->opts.snaplen, NULL, 0);
		/* (-w opens later: rs_pcap_out_open sets it then.) */
		w->extras = app->shard_files || w->fset || app->opts.count;
		if (rc == 0)
			rc = rs_http_layer_init(&w->http, app->opts.replay ?
						on_txn_replay : on_txn, w);
		if (rc == 0 && app->opts.replay)  /* replay sends bodies too */
			rc = rs_http_layer_set_keep_body(
				&w->http, rs_replay_keep_body(&app->opts.replay_opts));
		/* Only replay sends raw heads; the logs need the fields. */
		if (rc == 0 && !app->opts.replay)
			rc = rs_http_layer_set_keep_head(&w->http, false);
		if (rc == 0)
			rc = rs_outbuf_init(&w->http_out, &app->http_sink);
		if (rc == 0)
			rc = rs_outbuf_init(&w->flow_out, &app->flow_sink);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void rs_workers_fini(struct rs_app *app)
{
	for (unsigned i = 0; i < app->nworkers; i++) {
		struct rs_worker *w = &app->workers[i];
		rs_outbuf_fini(&w->http_out);
		rs_outbuf_fini(&w->flow_out);
		rs_http_layer_fini(&w->http);
		pthread_mutex_destroy(&w->stats_lock);
		if (w->fset)
			rs_filter_set_free(w->fset);
		if (w->ring)
			rs_ring_close(w->ring);
		if (w->file)
			rs_file_close(w->file);
	}
	free(app->workers);
	app->workers = NULL;
}

/* Must run on the worker's own thread: it registers with RCU. */
int rs_worker_start_flows(struct rs_worker *w)
{
	int rc = rs_flow_worker_new(&w->fw, w->app->table, w->id,
				    &rs_http_app_ops, &w->http, on_flow_end, w);
	if (rc < 0)
		return rc;
	atomic_store_explicit(&w->fstats, rs_flow_worker_stats(w->fw),
			      memory_order_release);
	return 0;
}

/* End every flow (logging it), then leave RCU.  Same thread as start. */
void rs_worker_stop_flows(struct rs_worker *w, uint64_t now_ns)
{
	if (!w->fw)
		return;
	rs_flow_flush(w->fw, now_ns, RS_END_SHUTDOWN);
	/* The counters must outlive the flow worker for the final report, and
	 * the reporter may be reading them: swap under the lock it reads with,
	 * so no reader holds the old pointer when fw is freed below. */
	pthread_mutex_lock(&w->stats_lock);
	w->fstats_final = *rs_flow_worker_stats(w->fw);
	atomic_store_explicit(&w->fstats, &w->fstats_final, memory_order_release);
	pthread_mutex_unlock(&w->stats_lock);
	rs_flow_worker_free(w->fw);
	w->fw = NULL;
}
