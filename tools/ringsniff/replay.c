/* replay.c - the replay engine: per-worker queues in, one thread with an epoll loop, a pool of keep-alive connections out. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "replay_engine.h"

/* ---- producers (worker threads) ---------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* The same for every packet of a captured connection (it is per flow). */
static uint64_t flow_hash(const struct rs_flow_info *f)
{
	uint64_t h = 0;

	if (!f)
		return 0;
	h = mix(h, (uint64_t)f->addr_len << 48 | (uint64_t)f->vlan << 32 |
		   (uint64_t)f->cli_port << 16 | f->srv_port);
	for (unsigned i = 0; i + 4 <= f->addr_len && i < 16; i += 4) {
		uint32_t a, b;

		memcpy(&a, f->cli_addr + i, 4);
		memcpy(&b, f->srv_addr + i, 4);
		h = mix(h, (uint64_t)a << 32 | b);
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* Traffic to the replay target itself (captured on the way out) must not
 * be replayed again. */
static bool is_target(const struct rs_replay *r, const struct rs_flow_info *f)
{
	const struct sockaddr_storage *sa = &r->o.addr;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;

		return f->addr_len == 4 && f->srv_port == ntohs(a->sin_port) &&
		       !memcmp(f->srv_addr, &a->sin_addr, 4);
	}
	const struct sockaddr_in6 *a = (const void *)sa;

	return f->addr_len == 16 && f->srv_port == ntohs(a->sin6_port) &&
	       !memcmp(f->srv_addr, &a->sin6_addr, 16);
}

static bool replayable(const struct rs_replay *r, const struct rs_flow_info *f,
		       const struct rs_http_txn *t, size_t qmax)
{
	if (!t->req_head || !t->req_head_len || !t->req_body_complete ||
	    t->req_body_kept > r->body_max)
		return false;
	if (t->flags & (RS_HTTP_F_UPGRADE | RS_HTTP_F_BAD_REQUEST |
			RS_HTTP_F_SMUGGLING))
		return false;
	if (!strcmp(t->method, "CONNECT") || !strcmp(t->method, "PRI"))
		return false;
	if (f && is_target(r, f))
		return false;
	return sizeof(struct rec) + t->req_head_len + t->req_body_kept <= qmax;
}

static void wake(struct rs_replay *r)
{
	uint64_t one = 1;

	/* Pairs with the fence in the replay thread before it sleeps: either
	 * it sees the record, or we see it sleeping. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->sleeping, memory_order_relaxed) &&
	    atomic_exchange(&r->sleeping, 0)) {
		if (write(r->evfd, &one, sizeof(one)) < 0) {
			/* Full counter: a wake-up is pending anyway. */
		}
	}
}

void rs_replay_submit(struct rs_replay *r, unsigned worker,
		      const struct rs_flow_info *f, const struct rs_http_txn *t)
{
	struct wq *w;
	struct rec rc;
	uint8_t *p;
	uint64_t h;

	if (!r || worker >= r->nworkers || !t)
		return;
	w = &r->wq[worker];
	BUMP(w->offered);
	h = flow_hash(f);
	if (r->pct_x100 < 10000 && (h >> 32) % 10000 >= r->pct_x100) {
		BUMP(w->sampled_out);
		return;
	}
	if (!replayable(r, f, t, rs_spsc_max_payload(&w->q))) {
		BUMP(w->skipped);
		return;
	}
	rc.hash = h;
	rc.head_len = (uint32_t)t->req_head_len;
	rc.body_len = (uint32_t)t->req_body_kept;
	p = rs_spsc_reserve(&w->q, sizeof(rc) + rc.head_len + rc.body_len);
	if (!p) {
		BUMP(w->dropped);
		return;
	}
	memcpy(p, &rc, sizeof(rc));
	memcpy(p + sizeof(rc), t->req_head, rc.head_len);
	if (rc.body_len)
		memcpy(p + sizeof(rc) + rc.head_len, t->req_body, rc.body_len);
	rs_spsc_commit(&w->q);
	BUMP(w->queued);
	wake(r);
}

/* ---- the loop ---------------------------------------------------------- */

static bool queues_empty(struct rs_replay *r)
{
	for (unsigned w = 0; w < r->nworkers; w++)
		if (!rs_spsc_empty(&r->wq[w].q))
			return false;
	return true;
}

static bool all_done(struct rs_replay *r)
{
	for (unsigned i = 0; i < r->npc; i++)
		if (r->pc[i].qn)
			return false;
	return queues_empty(r);
}

/* Whatever is left when the loop ends: in flight = failed (no answer in
 * time), waiting = never sent. */
static void finish(struct rs_replay *r)
{
	const void *p;
	size_t len;

	rp_finish_pool(r);
	for (unsigned w = 0; w < r->nworkers; w++) {
		while ((p = rs_spsc_peek(&r->wq[w].q, &len))) {
			BUMP(r->unsent);
			rs_spsc_release(&r->wq[w].q);
		}
	}
}

static void *replay_main(void *arg)
{
	struct rs_replay *r = arg;
	struct epoll_event evs[64];
	uint64_t drain_end = 0, timeout_ns;
	bool draining = false;
	sigset_t all;

	/* Signals are for the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	timeout_ns = (uint64_t)r->o.timeout_ms * 1000000ull;
	r->tok_ns = rp_now_ns();
	for (;;) {
		uint64_t now = rp_now_ns();
		bool more;
		int wait, n;

		if (!draining && atomic_load(&r->stopping)) {
			draining = true;
			drain_end = now + (uint64_t)(r->o.drain_s * 1e9);
			if (drain_end <= now)
				drain_end = now + 1;
			r->last_answer_ns = now;
		}
		more = rp_dispatch(r);
		for (unsigned i = 0; i < r->npc; i++)
			rp_step(r, &r->pc[i], now);
		if (draining && (all_done(r) || now >= drain_end ||
				 now - r->last_answer_ns >= 2 * timeout_ns))
			break;
		wait = more ? 0 : rp_next_wait_ms(r, now, drain_end);
		if (wait && queues_empty(r)) {
			/* Announce the sleep, then look once more. */
			atomic_store(&r->sleeping, 1);
			atomic_thread_fence(memory_order_seq_cst);
			if (!queues_empty(r))
				wait = 0;
		}
		n = epoll_wait(r->epfd, evs, 64, wait);
		atomic_store(&r->sleeping, 0);
		now = rp_now_ns();
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				uint64_t v;

				if (read(r->evfd, &v, sizeof(v)) < 0) {
					/* EAGAIN: already read */
				}
				continue;
			}
			rp_on_event(r, evs[i].data.ptr, evs[i].events, now);
		}
	}
	finish(r);
	return NULL;
}

/* ---- life cycle ---------------------------------------------------------- */

int rs_replay_new(struct rs_replay **out, const struct rs_replay_opts *o,
		  unsigned nworkers, char *err, size_t errlen)
{
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
	struct rs_replay *r;
	int rc = -ENOMEM;

	err[0] = 0;
	if (!nworkers || !o->conns || !o->addr_len) {
		snprintf(err, errlen, "replay: bad configuration");
		return -EINVAL;
	}
	r = aligned_alloc(64, (sizeof(*r) + 63) / 64 * 64);
	if (!r)
		goto fail;
	memset(r, 0, sizeof(*r));
	r->epfd = r->evfd = -1;
	r->o = *o;
	r->nworkers = nworkers;
	r->npc = o->conns;
	r->pct_x100 = (uint32_t)(o->percent * 100 + 0.5);
	r->body_max = rs_replay_body_max(o);
	r->burst = o->rate / 100 > 1 ? o->rate / 100 : 1;
	r->tokens = r->burst;
	atomic_init(&r->sleeping, 0);
	atomic_init(&r->stopping, 0);
	r->wq = aligned_alloc(64, sizeof(*r->wq) * nworkers);
	r->pc = calloc(r->npc, sizeof(*r->pc));
	if (!r->wq || !r->pc) {
		snprintf(err, errlen, "replay: out of memory");
		goto fail;
	}
	memset(r->wq, 0, sizeof(*r->wq) * nworkers);
	for (unsigned i = 0; i < nworkers; i++) {
		if (rs_spsc_init(&r->wq[i].q, (size_t)o->queue_mb << 20) < 0) {
			snprintf(err, errlen, "replay: no memory for %u MiB queues",
				 o->queue_mb);
			goto fail;
		}
	}
	for (unsigned i = 0; i < r->npc; i++)
		r->pc[i].fd = -1;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->epfd < 0 || r->evfd < 0 ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->evfd, &e) < 0) {
		rc = -errno;
		snprintf(err, errlen, "replay: epoll/eventfd: %s", strerror(errno));
		goto fail;
	}
	*out = r;
	return 0;
fail:
	if (r && !err[0])
		snprintf(err, errlen, "replay: out of memory");
	rs_replay_free(r);
	return rc;
}

int rs_replay_start(struct rs_replay *r)
{
	int rc = pthread_create(&r->thread, NULL, replay_main, r);

	if (rc)
		return -rc;
	r->started = true;
	return 0;
}

void rs_replay_stop(struct rs_replay *r)
{
	uint64_t one = 1;

	if (!r || r->joined)
		return;
	atomic_store(&r->stopping, 1);
	if (r->started) {
		if (write(r->evfd, &one, sizeof(one)) < 0) {
			/* The thread wakes within IDLE_WAIT_MS anyway. */
		}
		pthread_join(r->thread, NULL);
	} else {
		finish(r);
	}
	r->joined = true;
}

void rs_replay_get_stats(const struct rs_replay *r, struct rs_replay_stats *s)
{
	struct rs_replay *m = (struct rs_replay *)r; /* atomic loads only */

	memset(s, 0, sizeof(*s));
	if (!r)
		return;
	for (unsigned i = 0; i < r->nworkers; i++) {
		struct wq *w = &m->wq[i];

		s->offered += READ(w->offered);
		s->sampled_out += READ(w->sampled_out);
		s->skipped += READ(w->skipped);
		s->dropped_queue += READ(w->dropped);
	}
	s->skipped += READ(m->skipped);
	s->dropped_exit = READ(m->unsent);
	s->dropped = s->dropped_queue + s->dropped_exit;
	s->sent = READ(m->sent);
	for (int c = 1; c <= 5; c++)
		s->answered[c] = READ(m->answered[c]);
	s->failed = READ(m->failed);
	s->failed_connect = READ(m->fail_why[F_CONNECT]);
	s->failed_reset = READ(m->fail_why[F_RESET]);
	s->failed_timeout = READ(m->fail_why[F_TIMEOUT]);
	s->failed_protocol = READ(m->fail_why[F_PROTOCOL]);
	s->retries = READ(m->retries);
	s->connects = READ(m->connects);
	if (r->joined && r->lat.count) {
		s->lat_count = r->lat.count;
		s->lat_mean_ms = (double)r->lat.sum / (double)r->lat.count / 1e3;
		s->lat_p50_ms = (double)rs_hist_pct(&r->lat, 50) / 1e3;
		s->lat_p99_ms = (double)rs_hist_pct(&r->lat, 99) / 1e3;
		s->lat_max_ms = (double)r->lat.max / 1e3;
	}
}

void rs_replay_free(struct rs_replay *r)
{
	if (!r)
		return;
	if (r->started)
		rs_replay_stop(r);
	if (r->wq)
		for (unsigned i = 0; i < r->nworkers; i++)
			rs_spsc_fini(&r->wq[i].q);
	if (r->pc)
		rp_pool_free(r);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->evfd >= 0)
		close(r->evfd);
	free(r->wq);
	free(r->pc);
	free(r);
}

/* ---- reports ------------------------------------------------------------- */

void rs_replay_report_json(const struct rs_replay *r, FILE *fp)
{
	static const char *const cls[6] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
	struct rs_replay_stats s;

	rs_replay_get_stats(r, &s);
#define RJ(name, v) fprintf(fp, ",\n  \"replay_%s\": %" PRIu64, name, (uint64_t)(v))
	RJ("requests", s.offered);
	RJ("sent", s.sent);
	for (int c = 1; c <= 5; c++)
		RJ(cls[c], s.answered[c]);
	RJ("failed", s.failed);
	RJ("failed_connect", s.failed_connect);
	RJ("failed_reset", s.failed_reset);
	RJ("failed_timeout", s.failed_timeout);
	RJ("failed_protocol", s.failed_protocol);
	RJ("dropped", s.dropped);
	RJ("dropped_queue_full", s.dropped_queue);
	RJ("dropped_at_exit", s.dropped_exit);
	RJ("skipped", s.skipped);
	RJ("sampled_out", s.sampled_out);
	RJ("retries", s.retries);
	RJ("connects", s.connects);
#undef RJ
	fprintf(fp, ",\n  \"replay_latency_ms_mean\": %.3f"
		",\n  \"replay_latency_ms_p50\": %.3f"
		",\n  \"replay_latency_ms_p99\": %.3f"
		",\n  \"replay_latency_ms_max\": %.3f",
		s.lat_mean_ms, s.lat_p50_ms, s.lat_p99_ms, s.lat_max_ms);
}

void rs_replay_report_line(const struct rs_replay *r, FILE *fp)
{
	struct rs_replay_stats s;

	rs_replay_get_stats(r, &s);
	fprintf(fp, "  replay to %s: %" PRIu64 " requests, %" PRIu64 " sent; "
		"answered 1xx %" PRIu64 " 2xx %" PRIu64 " 3xx %" PRIu64
		" 4xx %" PRIu64 " 5xx %" PRIu64 "; failed %" PRIu64
		" (connect %" PRIu64 ", reset %" PRIu64 ", timeout %" PRIu64
		", protocol %" PRIu64 "); dropped %" PRIu64 "; skipped %" PRIu64
		"; sampled out %" PRIu64 "\n", r->o.target, s.offered, s.sent,
		s.answered[1], s.answered[2], s.answered[3], s.answered[4],
		s.answered[5], s.failed, s.failed_connect, s.failed_reset,
		s.failed_timeout, s.failed_protocol, s.dropped, s.skipped,
		s.sampled_out);
	if (s.lat_count)
		fprintf(fp, "  replay latency ms: mean %.3f  p50 %.3f  p99 %.3f"
			"  max %.3f\n", s.lat_mean_ms, s.lat_p50_ms, s.lat_p99_ms,
			s.lat_max_ms);
}
