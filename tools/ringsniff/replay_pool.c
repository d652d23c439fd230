/* replay_pool.c - the replay thread's pool of keep-alive connections: connect, write, read to the response's end, time out, back off. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "replay_engine.h"

/* ---- pool connections (replay thread) ----------------------------------- */

static void set_ev(struct rs_replay *r, struct pconn *pc, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = pc};

	if (pc->fd < 0 || pc->ev == ev)
		return;
	if (epoll_ctl(r->epfd, pc->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, pc->fd,
		      &e) == 0)
		pc->ev = ev;
}

static void close_pc(struct rs_replay *r, struct pconn *pc, uint64_t retry_at)
{
	if (pc->fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, pc->fd, NULL);
		close(pc->fd);
	}
	pc->fd = -1;
	pc->ev = 0;
	pc->state = P_DOWN;
	pc->writing = false;
	pc->retry_at = retry_at;
}

static void pop(struct pconn *pc)
{
	struct preq *q = pc->qh;

	pc->qh = q->next;
	if (!pc->qh)
		pc->qt = NULL;
	pc->qn--;
	pc->qbytes -= q->len;
	pc->cur = false;
	free(q);
}

/* cur gets no response.  Connection failures back off; others retry at
 * once (the next request gets a fresh connection). */
static void fail_cur(struct rs_replay *r, struct pconn *pc, int why,
		     uint64_t now)
{
	bool connect_phase = pc->state != P_OPEN;

	BUMP(r->failed);
	BUMP(r->fail_why[why]);
	pop(pc);
	if (connect_phase) {
		pc->backoff_ms = pc->backoff_ms ? 2 * pc->backoff_ms : BACKOFF_MIN_MS;
		if (pc->backoff_ms > BACKOFF_MAX_MS)
			pc->backoff_ms = BACKOFF_MAX_MS;
		close_pc(r, pc, now + (uint64_t)pc->backoff_ms * 1000000ull);
	} else {
		close_pc(r, pc, now);
	}
}

/* The socket died under cur.  A keep-alive connection the server closed
 * just as we reused it gets the request once more, on a new connection. */
static void conn_broke(struct rs_replay *r, struct pconn *pc, uint64_t now)
{
	struct preq *q = pc->qh;

	if (!pc->got_resp && pc->served && !q->retried) {
		q->retried = true;
		q->off = 0;
		BUMP(r->retries);
		pc->cur = false;
		close_pc(r, pc, now);
		return;
	}
	fail_cur(r, pc, F_RESET, now);
}

static void complete_cur(struct rs_replay *r, struct pconn *pc, uint64_t now)
{
	int cls = pc->resp.status / 100;

	if (cls < 1 || cls > 5) {
		fail_cur(r, pc, F_PROTOCOL, now);
		return;
	}
	BUMP(r->answered[cls]);
	rs_hist_add(&r->lat, (now - pc->write_ns) / 1000);
	r->last_answer_ns = now;
	pc->served++;
	pc->backoff_ms = 0;
	pop(pc);
}

static void try_write(struct rs_replay *r, struct pconn *pc, uint64_t now)
{
	struct preq *q = pc->qh;

	while (q->off < q->len) {
		ssize_t n = send(pc->fd, q->data + q->off, q->len - q->off,
				 MSG_NOSIGNAL);

		if (n > 0) {
			q->off += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_ev(r, pc, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
			return;
		}
		conn_broke(r, pc, now);
		return;
	}
	pc->writing = false;
	if (!q->sent) {
		q->sent = true;
		BUMP(r->sent);
	}
	set_ev(r, pc, EPOLLIN | EPOLLRDHUP);
}

static void begin_write(struct rs_replay *r, struct pconn *pc, uint64_t now)
{
	pc->write_ns = now;
	pc->writing = true;
	pc->got_resp = false;
	rs_resp_begin(&pc->resp, &pc->qh->info);
	try_write(r, pc, now);
}

/* Open a connection for cur; only ever to the address given. */
static void do_connect(struct rs_replay *r, struct pconn *pc, uint64_t now)
{
	int one = 1, fd;

	fd = socket(r->o.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail_cur(r, pc, F_CONNECT, now);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pc->fd = fd;
	pc->served = 0;
	BUMP(r->connects);
	if (connect(fd, (const struct sockaddr *)&r->o.addr, r->o.addr_len) == 0) {
		pc->state = P_OPEN;
		begin_write(r, pc, now);
		return;
	}
	if (errno != EINPROGRESS) {
		pc->state = P_CONNECTING;
		fail_cur(r, pc, F_CONNECT, now);
		return;
	}
	pc->state = P_CONNECTING;
	set_ev(r, pc, EPOLLOUT);
}

static bool take_token(struct rs_replay *r, uint64_t now)
{
	if (r->o.rate <= 0)
		return true;
	r->tokens += (double)(now - r->tok_ns) * r->o.rate / 1e9;
	if (r->tokens > r->burst)
		r->tokens = r->burst;
	r->tok_ns = now;
	if (r->tokens < 1)
		return false;
	r->tokens -= 1;
	return true;
}

void rp_step(struct rs_replay *r, struct pconn *pc, uint64_t now)
{
	struct preq *q;

	if (pc->cur && now >= pc->deadline)
		fail_cur(r, pc, F_TIMEOUT, now);
	q = pc->qh;
	if (pc->cur || !q)
		return;
	if (pc->state == P_DOWN && now < pc->retry_at)
		return;
	if (!q->tokened) {
		if (!take_token(r, now))
			return;
		q->tokened = true;
	}
	pc->cur = true;
	pc->deadline = now + (uint64_t)r->o.timeout_ms * 1000000ull;
	if (pc->state == P_DOWN)
		do_connect(r, pc, now);
	else if (pc->state == P_OPEN)
		begin_write(r, pc, now);
}

static void on_readable(struct rs_replay *r, struct pconn *pc, uint64_t now)
{
	for (;;) {
		ssize_t n = recv(pc->fd, r->rbuf, sizeof(r->rbuf), 0);

		if (n > 0) {
			long used;

			if (!pc->cur) { /* bytes nobody asked for */
				close_pc(r, pc, now);
				return;
			}
			pc->got_resp = true;
			used = rs_resp_feed(&pc->resp, r->rbuf, (size_t)n);
			if (used < 0) {
				fail_cur(r, pc, F_PROTOCOL, now);
				return;
			}
			if (rs_resp_done(&pc->resp)) {
				bool reuse = rs_resp_reusable(&pc->resp) &&
					     used == n && !pc->writing;

				complete_cur(r, pc, now);
				if (!reuse)
					close_pc(r, pc, now);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* End of stream or error. */
		if (!pc->cur) {
			close_pc(r, pc, now);
		} else if (n == 0 && pc->got_resp && rs_resp_eof(&pc->resp)) {
			complete_cur(r, pc, now);
			close_pc(r, pc, now);
		} else {
			conn_broke(r, pc, now);
		}
		return;
	}
}

void rp_on_event(struct rs_replay *r, struct pconn *pc, uint32_t ev,
		     uint64_t now)
{
	if (pc->fd < 0)
		return;
	if (pc->state == P_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(pc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			fail_cur(r, pc, F_CONNECT, now);
			return;
		}
		pc->state = P_OPEN;
		if (pc->cur)
			begin_write(r, pc, now);
		else
			set_ev(r, pc, EPOLLIN | EPOLLRDHUP);
		return;
	}
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		on_readable(r, pc, now);
	if (pc->fd >= 0 && pc->writing && (ev & EPOLLOUT))
		try_write(r, pc, now);
}

/* ---- from the queues ----------------------------------------------------- */

/* Records are rewritten on the way from the queues to the connections. */
bool rp_dispatch(struct rs_replay *r)
{
	size_t hlen = r->o.host ? strlen(r->o.host) : 0;
	bool more = false;

	for (unsigned w = 0; w < r->nworkers; w++) {
		struct rs_spsc *sq = &r->wq[w].q;
		int k;

		for (k = 0; k < DISPATCH_BUDGET; k++) {
			const uint8_t *p;
			struct pconn *pc;
			struct preq *q;
			struct rec rc;
			size_t len, max;
			long n;

			p = rs_spsc_peek(sq, &len);
			if (!p)
				break;
			memcpy(&rc, p, sizeof(rc));
			pc = &r->pc[rc.hash % r->npc];
			max = rs_replay_build_max(rc.head_len, rc.body_len, hlen);
			/* Full: this queue waits (its flows' order must hold). */
			if (pc->qn >= PQ_MAX || (pc->qn && pc->qbytes + max > PQ_BYTES))
				break;
			q = malloc(sizeof(*q) + max);
			if (!q)
				break;
			memset(q, 0, sizeof(*q));
			n = rs_replay_build(q->data, p + sizeof(rc), rc.head_len,
					    p + sizeof(rc) + rc.head_len,
					    rc.body_len, r->o.host, &q->info);
			rs_spsc_release(sq);
			if (n < 0) {
				BUMP(r->skipped);
				free(q);
				continue;
			}
			q->len = (uint32_t)n;
			if (pc->qt)
				pc->qt->next = q;
			else
				pc->qh = q;
			pc->qt = q;
			pc->qn++;
			pc->qbytes += q->len;
		}
		if (k == DISPATCH_BUDGET)
			more = true;
	}
	return more;
}

int rp_next_wait_ms(struct rs_replay *r, uint64_t now, uint64_t drain_end)
{
	uint64_t due = now + IDLE_WAIT_MS * 1000000ull;

	if (drain_end && drain_end < due)
		due = drain_end;
	for (unsigned i = 0; i < r->npc; i++) {
		struct pconn *pc = &r->pc[i];
		uint64_t t = UINT64_MAX;

		if (pc->cur)
			t = pc->deadline;
		else if (pc->qh && pc->state == P_DOWN && pc->retry_at > now)
			t = pc->retry_at;
		else if (pc->qh && r->o.rate > 0 && !pc->qh->tokened)
			t = r->tok_ns + (uint64_t)((1 - r->tokens) / r->o.rate * 1e9);
		if (t < due)
			due = t;
	}
	if (due <= now)
		return 0;
	return (int)((due - now + 999999) / 1000000);
}

void rp_finish_pool(struct rs_replay *r)
{
	for (unsigned i = 0; i < r->npc; i++) {
		struct pconn *pc = &r->pc[i];

		if (pc->cur) {
			BUMP(r->failed);
			BUMP(r->fail_why[F_TIMEOUT]);
			pop(pc);
		}
		while (pc->qh) {
			BUMP(r->unsent);
			pop(pc);
		}
		close_pc(r, pc, 0);
	}
}

void rp_pool_free(struct rs_replay *r)
{
	for (unsigned i = 0; i < r->npc; i++) {
		while (r->pc[i].qh)
			pop(&r->pc[i]);
		close_pc(r, &r->pc[i], 0);
	}
}
