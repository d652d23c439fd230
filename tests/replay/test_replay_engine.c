/* test_replay_engine.c - the replay engine end to end against a scripted server, inside a network namespace of its own (root; skipped otherwise).
 *
 * The test unshares a fresh network namespace (nothing in it but loopback,
 * which gets 198.18.0.1/24), so the engine can only reach the scripted
 * server thread below: order per captured connection, bodies, framings,
 * Host rewrite, skips, a target that is down / a black hole / silent,
 * full queues, sampling, rate, stale keep-alive retry, latency.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "replay.h"

#define SRV_IP "198.18.0.1"
#define BLACKHOLE_IP "198.18.0.77" /* in the subnet, nobody there */

static bool have_netns;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the scripted server ------------------------------------------------ */

struct sreq {
	int conn;                  /* accept order */
	char line[256];            /* request line */
	char head[1024];           /* the head as received (cut) */
	size_t body_len;
	uint32_t body_sum;
};

#define SMAX_CONN 64
#define SBUF (256 * 1024)

struct sconn {
	int fd, id, served;
	size_t len;
	uint8_t *buf;
};

struct srv {
	int lfd, port;
	pthread_t t;
	atomic_int stop;
	pthread_mutex_t mu;
	struct sreq *reqs;
	int nreq, cap, accepted;
	bool drop_second;          /* close a reused connection, once */
	bool dropped;
	struct sconn c[SMAX_CONN];
};

static uint32_t sum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void wr(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* Answer one request by its URI; returns false when the connection must
 * close. */
static bool answer(struct srv *s, struct sconn *c, const char *line)
{
	const char *uri = strchr(line, ' ');
	bool head = !strncmp(line, "HEAD ", 5);

	uri = uri ? uri + 1 : "";
	if (!strncmp(uri, "/hang", 5))
		return true;
	if (!strncmp(uri, "/delay", 6))
		usleep(50000);
	if (head) {
		wr(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	} else if (!strncmp(uri, "/chunked", 8)) {
		wr(c->fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5\r\nhello\r\n0\r\n\r\n");
	} else if (!strncmp(uri, "/close", 6)) {
		wr(c->fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
		return false;
	} else if (!strncmp(uri, "/eof", 4)) {
		wr(c->fd, "HTTP/1.1 200 OK\r\n\r\nuntil the end");
		return false;
	} else if (!strncmp(uri, "/204", 4)) {
		wr(c->fd, "HTTP/1.1 204 No Content\r\n\r\n");
	} else if (!strncmp(uri, "/100", 4)) {
		wr(c->fd, "HTTP/1.1 100 Continue\r\n\r\n");
		wr(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
	} else if (!strncmp(uri, "/404", 4)) {
		wr(c->fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	} else if (!strncmp(uri, "/500", 4)) {
		wr(c->fd, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
	} else if (!strncmp(uri, "/301", 4)) {
		wr(c->fd, "HTTP/1.1 301 Moved\r\nLocation: /\r\nContent-Length: 0\r\n\r\n");
	} else if (strstr(line, "HTTP/1.0")) {
		wr(c->fd, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
	} else {
		wr(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	}
	(void)s;
	return true;
}

static size_t hdr_val(const char *head, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
			const char *v = p + 3 + nl, *e = strstr(v, "\r\n");
			size_t n;

			while (*v == ' ')
				v++;
			n = e ? (size_t)(e - v) : strlen(v);
			if (n >= cap)
				n = cap - 1;
			memcpy(out, v, n);
			out[n] = 0;
			return n;
		}
	}
	out[0] = 0;
	return 0;
}

/* Serve every complete request in c's buffer; false: close it. */
static bool serve(struct srv *s, struct sconn *c)
{
	for (;;) {
		uint8_t *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		char head[4096], v[64];
		size_t hl, cl = 0;
		struct sreq *q;

		if (!end)
			return true;
		hl = (size_t)(end - c->buf) + 4;
		memcpy(head, c->buf, hl < sizeof(head) - 1 ? hl : sizeof(head) - 1);
		head[hl < sizeof(head) - 1 ? hl : sizeof(head) - 1] = 0;
		if (hdr_val(head, "Content-Length", v, sizeof(v)))
			cl = strtoul(v, NULL, 10);
		if (c->len < hl + cl)
			return true;
		if (s->drop_second && c->served == 1 && !s->dropped) {
			s->dropped = true;
			return false; /* as if it closed just before */
		}
		pthread_mutex_lock(&s->mu);
		if (s->nreq == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 256;
			s->reqs = realloc(s->reqs, sizeof(*s->reqs) * (size_t)s->cap);
		}
		q = &s->reqs[s->nreq++];
		memset(q, 0, sizeof(*q));
		q->conn = c->id;
		snprintf(q->head, sizeof(q->head), "%.1000s", head);
		snprintf(q->line, sizeof(q->line), "%.*s",
			 (int)(strstr(head, "\r\n") - head), head);
		q->body_len = cl;
		q->body_sum = sum(c->buf + hl, cl);
		pthread_mutex_unlock(&s->mu);
		c->served++;
		memmove(c->buf, c->buf + hl + cl, c->len - hl - cl);
		c->len -= hl + cl;
		if (!answer(s, c, q->line))
			return false;
	}
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pf[SMAX_CONN + 1];
		int map[SMAX_CONN + 1], n = 0;

		pf[n].fd = s->lfd;
		pf[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < SMAX_CONN; i++) {
			if (s->c[i].fd >= 0) {
				pf[n].fd = s->c[i].fd;
				pf[n].events = POLLIN;
				map[n++] = i;
			}
		}
		if (poll(pf, (nfds_t)n, 20) <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);

			for (int i = 0; fd >= 0 && i < SMAX_CONN; i++) {
				if (s->c[i].fd < 0) {
					s->c[i].fd = fd;
					s->c[i].id = s->accepted++;
					s->c[i].len = 0;
					s->c[i].served = 0;
					fd = -1;
				}
			}
			if (fd >= 0)
				close(fd);
		}
		for (int k = 1; k < n; k++) {
			struct sconn *c = &s->c[map[k]];
			ssize_t r;

			if (!pf[k].revents)
				continue;
			r = recv(c->fd, c->buf + c->len, SBUF - c->len, 0);
			if (r > 0) {
				c->len += (size_t)r;
				if (serve(s, c) && c->len < SBUF)
					continue;
			}
			close(c->fd);
			c->fd = -1;
		}
	}
	return NULL;
}

static struct sreq *kept_reqs;

static void srv_start(struct srv *s, bool drop_second)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int one = 1;

	free(kept_reqs);
	kept_reqs = NULL;
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->drop_second = drop_second;
	for (int i = 0; i < SMAX_CONN; i++) {
		s->c[i].fd = -1;
		s->c[i].buf = malloc(SBUF);
		assert_non_null(s->c[i].buf);
	}
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, SRV_IP, &a.sin_addr);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 128), 0);
	getsockname(s->lfd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->t, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->t, NULL);
	close(s->lfd);
	for (int i = 0; i < SMAX_CONN; i++) {
		if (s->c[i].fd >= 0)
			close(s->c[i].fd);
		free(s->c[i].buf);
	}
	pthread_mutex_destroy(&s->mu);
	/* The requests stay for the test to check; freed at the next start. */
	kept_reqs = s->reqs;
}

/* ---- the engine's side ---------------------------------------------------- */

static struct rs_replay *mk(struct rs_replay_opts *o, const char *ip, int port,
			    unsigned nworkers)
{
	static char target[64];
	struct rs_replay *r = NULL;
	char err[128];

	snprintf(target, sizeof(target), "%s:%d", ip, port);
	o->target = target;
	assert_int_equal(rs_replay_opts_check(o), 0);
	assert_int_equal(rs_replay_new(&r, o, nworkers, err, sizeof(err)), 0);
	assert_int_equal(rs_replay_start(r), 0);
	return r;
}

static struct rs_flow_info flow(unsigned id)
{
	struct rs_flow_info f;

	memset(&f, 0, sizeof(f));
	f.proto = 6;
	f.addr_len = 4;
	f.cli_addr[0] = 198;
	f.cli_addr[1] = 18;
	f.cli_addr[2] = (uint8_t)(1 + (id >> 8));
	f.cli_addr[3] = (uint8_t)id;
	f.srv_addr[0] = 198;
	f.srv_addr[1] = 18;
	f.srv_addr[3] = 9;
	f.cli_port = (uint16_t)(10000 + id);
	f.srv_port = 80;
	return f;
}

/* A transaction as the HTTP layer hands it over. */
static void submit(struct rs_replay *r, unsigned worker,
		   const struct rs_flow_info *f, const char *head,
		   const char *body, bool complete, uint32_t flags)
{
	struct rs_http_txn t;
	const char *sp = strchr(head, ' ');

	memset(&t, 0, sizeof(t));
	snprintf(t.method, sizeof(t.method), "%.*s", (int)(sp ? sp - head : 0), head);
	t.req_head = (const uint8_t *)head;
	t.req_head_len = strlen(head);
	t.req_body = body && *body ? (const uint8_t *)body : NULL;
	t.req_body_kept = body ? strlen(body) : 0;
	t.req_body_len = t.req_body_kept;
	t.req_body_complete = complete;
	t.flags = flags;
	t.status = 200;
	rs_replay_submit(r, worker, f, &t);
}

static void check_sums(const struct rs_replay_stats *s)
{
	uint64_t ans = 0;

	for (int c = 1; c <= 5; c++)
		ans += s->answered[c];
	/* Every transaction is accounted for exactly once. */
	assert_int_equal(s->offered, s->sampled_out + s->skipped + s->dropped +
					     ans + s->failed);
	assert_int_equal(s->dropped, s->dropped_queue + s->dropped_exit);
	assert_int_equal(s->failed, s->failed_connect + s->failed_reset +
					    s->failed_timeout + s->failed_protocol);
	assert_true(ans <= s->sent);
	assert_int_equal(s->lat_count, ans);
}

#define NEED_NS() do { if (!have_netns) skip(); } while (0)

/* ---- tests ------------------------------------------------------------------ */

/* Requests of each captured connection arrive in order, whole, on one
 * connection; two workers, flows interleaved as in a capture. */
static void test_order_and_content(void **state)
{
	enum { FLOWS = 12, PER = 15 };
	static char heads[FLOWS][PER][160], bodies[FLOWS][PER][64];
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_replay *r;
	struct srv s;
	int next[FLOWS] = {0}, conn[FLOWS];

	(void)state;
	NEED_NS();
	srv_start(&s, false);
	rs_replay_opts_default(&o);
	r = mk(&o, SRV_IP, s.port, 2);
	for (int i = 0; i < PER; i++) {
		for (int f = 0; f < FLOWS; f++) {
			struct rs_flow_info fi = flow((unsigned)f);

			bodies[f][i][0] = 0;
			if (i % 5 == 2) {
				snprintf(bodies[f][i], sizeof(bodies[f][i]),
					 "body-%d-%d-%.*s", f, i, i, "xxxxxxxxxxxxxxxxxxxx");
				snprintf(heads[f][i], sizeof(heads[f][i]),
					 "POST /seq?f=%d&i=%d HTTP/1.1\r\nHost: h\r\n"
					 "%s\r\n\r\n", f, i, i % 2 ?
					 "Transfer-Encoding: chunked" : "Content-Length: 99");
			} else {
				snprintf(heads[f][i], sizeof(heads[f][i]),
					 "GET /seq?f=%d&i=%d HTTP/1.1\r\nHost: h\r\n\r\n", f, i);
			}
			submit(r, (unsigned)f % 2, &fi, heads[f][i], bodies[f][i],
			       true, 0);
		}
	}
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.offered, FLOWS * PER);
	assert_int_equal(st.answered[2], FLOWS * PER);
	assert_int_equal(st.sent, FLOWS * PER);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.dropped, 0);
	assert_true(st.connects <= 4);
	assert_int_equal(s.nreq, FLOWS * PER);
	for (int k = 0; k < s.nreq; k++) {
		int f, i;

		assert_int_equal(sscanf(s.reqs[k].line, "%*s /seq?f=%d&i=%d", &f, &i), 2);
		if (i != next[f])
			fail_msg("flow %d: request %d came before %d", f, i, next[f]);
		if (i == 0)
			conn[f] = s.reqs[k].conn;
		else
			assert_int_equal(s.reqs[k].conn, conn[f]);
		next[f]++;
		assert_int_equal(s.reqs[k].body_len, strlen(bodies[f][i]));
		assert_int_equal(s.reqs[k].body_sum,
				 sum((const uint8_t *)bodies[f][i], strlen(bodies[f][i])));
	}
}

/* Every way a response can end, on one captured connection. */
static void test_framings(void **state)
{
	static const char *const reqs[] = {
		"GET /chunked HTTP/1.1\r\n\r\n", "GET /close HTTP/1.1\r\n\r\n",
		"GET /eof HTTP/1.1\r\n\r\n", "GET /204 HTTP/1.1\r\n\r\n",
		"HEAD /head HTTP/1.1\r\n\r\n", "GET /100 HTTP/1.1\r\n\r\n",
		"GET /404 HTTP/1.1\r\n\r\n", "GET /500 HTTP/1.1\r\n\r\n",
		"GET /301 HTTP/1.1\r\n\r\n", "GET /plain HTTP/1.1\r\n\r\n",
	};
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_flow_info fi = flow(1);
	struct rs_replay *r;
	struct srv s;

	(void)state;
	NEED_NS();
	srv_start(&s, false);
	rs_replay_opts_default(&o);
	o.conns = 1;
	r = mk(&o, SRV_IP, s.port, 1);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		submit(r, 0, &fi, reqs[i], "", true, 0);
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.answered[2], 7);
	assert_int_equal(st.answered[3], 1);
	assert_int_equal(st.answered[4], 1);
	assert_int_equal(st.answered[5], 1);
	assert_int_equal(st.failed, 0);
	/* /close and /eof end their connections: three in all. */
	assert_int_equal(st.connects, 3);
	assert_int_equal(s.nreq, 10);
}

/* What the server receives: the Host asked for, framing fixed, no
 * hop-by-hop headers, HTTP/1.0 kept alive. */
static void test_rewrite(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_flow_info fi = flow(2);
	struct rs_replay *r;
	struct srv s;
	char v[128];

	(void)state;
	NEED_NS();
	srv_start(&s, false);
	rs_replay_opts_default(&o);
	o.conns = 1;
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_HOST, "rewritten.example"), 0);
	r = mk(&o, SRV_IP, s.port, 1);
	submit(r, 0, &fi, "POST /c HTTP/1.1\r\nHost: orig\r\nTransfer-Encoding: chunked\r\n"
	       "Expect: 100-continue\r\nConnection: close\r\n\r\n", "de-chunked", true, 0);
	submit(r, 0, &fi, "GET /old HTTP/1.0\r\nUser-Agent: ab\r\n\r\n", "", true, 0);
	submit(r, 0, &fi, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n", "", true, 0);
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.answered[2], 3);
	assert_int_equal(st.connects, 1); /* the 1.0 request did not close it */
	assert_int_equal(s.nreq, 3);
	for (int k = 0; k < 3; k++) {
		hdr_val(s.reqs[k].head, "Host", v, sizeof(v));
		assert_string_equal(v, "rewritten.example");
		assert_null(strcasestr(s.reqs[k].head, "Expect:"));
		assert_null(strcasestr(s.reqs[k].head, "Transfer-Encoding"));
		assert_null(strcasestr(s.reqs[k].head, "Connection: close"));
	}
	assert_int_equal(s.reqs[0].body_len, 10);
	hdr_val(s.reqs[0].head, "Content-Length", v, sizeof(v));
	assert_string_equal(v, "10");
	hdr_val(s.reqs[1].head, "Connection", v, sizeof(v));
	assert_string_equal(v, "keep-alive");
}

/* Transactions that must not be replayed are counted, never sent. */
static void test_skipped(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_flow_info fi = flow(3), own;
	struct rs_http_txn t;
	struct rs_replay *r;
	struct srv s;
	char big[2048];

	(void)state;
	NEED_NS();
	srv_start(&s, false);
	rs_replay_opts_default(&o);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_BODY_KB, "1"), 0);
	r = mk(&o, SRV_IP, s.port, 1);
	memset(&t, 0, sizeof(t));
	rs_replay_submit(r, 0, &fi, &t);                         /* no head */
	submit(r, 0, &fi, "POST / HTTP/1.1\r\n\r\n", "part", false, 0); /* cut */
	submit(r, 0, &fi, "CONNECT h:443 HTTP/1.1\r\n\r\n", "", true, 0);
	submit(r, 0, &fi, "GET /ws HTTP/1.1\r\n\r\n", "", true, RS_HTTP_F_UPGRADE);
	submit(r, 0, &fi, "GET /b HTTP/1.1\r\n\r\n", "", true, RS_HTTP_F_BAD_REQUEST);
	submit(r, 0, &fi, "GET /s HTTP/1.1\r\n\r\n", "", true, RS_HTTP_F_SMUGGLING);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	submit(r, 0, &fi, "POST /big HTTP/1.1\r\n\r\n", big, true, 0); /* > 1 KiB */
	/* The target's own traffic, captured on its way out. */
	own = flow(4);
	inet_pton(AF_INET, SRV_IP, own.srv_addr);
	own.srv_port = (uint16_t)s.port;
	submit(r, 0, &own, "GET /own HTTP/1.1\r\n\r\n", "", true, 0);
	/* Not a request head at all (the engine's own check). */
	submit(r, 0, &fi, "NOSPACE\r\n\r\n", "", true, 0);
	/* Flags that do not matter for sending: sent. */
	submit(r, 0, &fi, "GET /ok HTTP/1.1\r\n\r\n", "", true,
	       RS_HTTP_F_TRUNCATED | RS_HTTP_F_MIDSTREAM | RS_HTTP_F_NO_RESPONSE);
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.offered, 10);
	assert_int_equal(st.skipped, 9);
	assert_int_equal(st.answered[2], 1);
	assert_int_equal(s.nreq, 1);
	assert_non_null(strstr(s.reqs[0].line, "/ok"));
}

/* Nothing listens: connection refused, counted; the drain ends once no
 * answer came for one timeout, well before --replay-drain. */
static void test_target_down(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_replay *r;
	struct srv s;
	double t0, dt;
	int port;

	(void)state;
	NEED_NS();
	srv_start(&s, false); /* only to find a free port, then gone */
	port = s.port;
	srv_stop(&s);
	rs_replay_opts_default(&o);
	o.timeout_ms = 300;
	o.drain_s = 30;
	r = mk(&o, SRV_IP, port, 1);
	for (unsigned f = 0; f < 20; f++) {
		struct rs_flow_info fi = flow(f);

		for (int i = 0; i < 5; i++)
			submit(r, 0, &fi, "GET /x HTTP/1.1\r\n\r\n", "", true, 0);
	}
	usleep(200000);
	t0 = mono();
	rs_replay_stop(r);
	dt = mono() - t0;
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	check_sums(&st);
	assert_int_equal(st.offered, 100);
	assert_true(st.failed_connect >= 4);
	assert_int_equal(st.failed, st.failed_connect);
	assert_true(st.dropped_exit > 0);
	assert_int_equal(st.answered[2], 0);
	assert_true(dt < 5);
}

/* A black hole (SYN never answered): connect time-outs, back-off, a
 * bounded drain. */
static void test_blackhole(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_replay *r;
	double t0, dt;

	(void)state;
	NEED_NS();
	rs_replay_opts_default(&o);
	o.timeout_ms = 200;
	o.drain_s = 1;
	r = mk(&o, BLACKHOLE_IP, 8080, 1);
	for (unsigned f = 0; f < 8; f++) {
		struct rs_flow_info fi = flow(f);

		submit(r, 0, &fi, "GET /x HTTP/1.1\r\n\r\n", "", true, 0);
		submit(r, 0, &fi, "GET /y HTTP/1.1\r\n\r\n", "", true, 0);
	}
	usleep(300000);
	t0 = mono();
	rs_replay_stop(r);
	dt = mono() - t0;
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	check_sums(&st);
	if (st.failed_timeout < 1)
		fail_msg("connect %llu reset %llu timeout %llu sent %llu unsent %llu",
			 (unsigned long long)st.failed_connect,
			 (unsigned long long)st.failed_reset,
			 (unsigned long long)st.failed_timeout,
			 (unsigned long long)st.sent,
			 (unsigned long long)st.dropped_exit);
	assert_int_equal(st.sent, 0);
	assert_true(dt < 3);
}

/* A request the server never answers times out; the next one of the same
 * captured connection still goes, on a new connection. */
static void test_silent_server(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_flow_info fi = flow(5);
	struct rs_replay *r;
	struct srv s;

	(void)state;
	NEED_NS();
	srv_start(&s, false);
	rs_replay_opts_default(&o);
	o.timeout_ms = 200;
	r = mk(&o, SRV_IP, s.port, 1);
	submit(r, 0, &fi, "GET /hang HTTP/1.1\r\n\r\n", "", true, 0);
	submit(r, 0, &fi, "GET /after HTTP/1.1\r\n\r\n", "", true, 0);
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.failed_timeout, 1);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.answered[2], 1);
	assert_int_equal(st.connects, 2);
	assert_int_equal(s.nreq, 2);
}

/* A full queue drops and returns at once: the producer never waits, even
 * with the target a black hole.  One pool connection: it holds at most
 * 4 MiB of requests (PQ_BYTES, 70 of these) and the queue 1 MiB (17), so
 * at most 87 get in before the first connect times out, however fast the
 * replay thread moves them out of the queue.  (With the default 4
 * connections the pool could take 280 when that thread keeps pace with the
 * producer, as it did once in a CI run on this 2-CPU machine.) */
static void test_full_queue(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_replay *r;
	static char body[60000];

	(void)state;
	NEED_NS();
	memset(body, 'q', sizeof(body) - 1);
	rs_replay_opts_default(&o);
	o.timeout_ms = 100;
	o.drain_s = 0.5;
	o.queue_mb = 1;
	o.conns = 1;
	r = mk(&o, BLACKHOLE_IP, 8080, 1);
	for (unsigned i = 0; i < 500; i++) {
		struct rs_flow_info fi = flow(i % 50);

		submit(r, 0, &fi, "PUT /f HTTP/1.1\r\nContent-Length: 59999\r\n\r\n",
		       body, true, 0);
	}
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	check_sums(&st);
	assert_int_equal(st.offered, 500);
	assert_true(st.dropped_queue > 400);
}

/* --replay-percent keeps or skips whole captured connections, the same
 * ones every time. */
static void test_percent(void **state)
{
	enum { FLOWS = 400 };
	static bool kept[2][FLOWS];
	struct rs_replay_opts o;
	struct rs_replay_stats st;

	(void)state;
	NEED_NS();
	for (int run = 0; run < 2; run++) {
		struct rs_replay *r;
		struct srv s;
		int nkept = 0, per[FLOWS] = {0};
		char head[96];

		srv_start(&s, false);
		rs_replay_opts_default(&o);
		assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_PERCENT, "50"), 0);
		r = mk(&o, SRV_IP, s.port, 1);
		for (int i = 0; i < 2; i++) {
			for (unsigned f = 0; f < FLOWS; f++) {
				struct rs_flow_info fi = flow(f);

				snprintf(head, sizeof(head), "GET /p?f=%u&i=%d HTTP/1.1\r\n\r\n", f, i);
				submit(r, 0, &fi, head, "", true, 0);
			}
		}
		rs_replay_stop(r);
		rs_replay_get_stats(r, &st);
		rs_replay_free(r);
		srv_stop(&s);
		check_sums(&st);
		for (int k = 0; k < s.nreq; k++) {
			int f;

			assert_int_equal(sscanf(s.reqs[k].line, "GET /p?f=%d", &f), 1);
			per[f]++;
		}
		for (int f = 0; f < FLOWS; f++) {
			assert_true(per[f] == 0 || per[f] == 2); /* whole or none */
			kept[run][f] = per[f] == 2;
			nkept += kept[run][f];
		}
		assert_int_equal(st.sampled_out, 2 * (FLOWS - nkept));
		assert_true(nkept > FLOWS * 35 / 100 && nkept < FLOWS * 65 / 100);
	}
	assert_memory_equal(kept[0], kept[1], sizeof(kept[0]));
}

/* --replay-rate 20: eleven requests take at least half a second. */
static void test_rate(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_replay *r;
	struct srv s;
	double t0, dt;

	(void)state;
	NEED_NS();
	srv_start(&s, false);
	rs_replay_opts_default(&o);
	assert_int_equal(rs_replay_opt_set(&o, RS_REPLAY_OPT_RATE, "20"), 0);
	t0 = mono();
	r = mk(&o, SRV_IP, s.port, 1);
	for (unsigned f = 0; f < 11; f++) {
		struct rs_flow_info fi = flow(f);

		submit(r, 0, &fi, "GET /r HTTP/1.1\r\n\r\n", "", true, 0);
	}
	rs_replay_stop(r);
	dt = mono() - t0;
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.answered[2], 11);
	assert_true(dt >= 0.45);
}

/* The server closes a kept-alive connection just as it is reused: the
 * request goes once more on a new connection, and is not a failure. */
static void test_stale_retry(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_flow_info fi = flow(6);
	struct rs_replay *r;
	struct srv s;

	(void)state;
	NEED_NS();
	srv_start(&s, true);
	rs_replay_opts_default(&o);
	o.conns = 1;
	r = mk(&o, SRV_IP, s.port, 1);
	submit(r, 0, &fi, "GET /1 HTTP/1.1\r\n\r\n", "", true, 0);
	submit(r, 0, &fi, "GET /2 HTTP/1.1\r\n\r\n", "", true, 0);
	submit(r, 0, &fi, "GET /3 HTTP/1.1\r\n\r\n", "", true, 0);
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.answered[2], 3);
	assert_int_equal(st.connects, 2);
	assert_int_equal(s.nreq, 3);
}

/* Latency is measured per request: 50 ms answers give p50 >= 50 ms. */
static void test_latency(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_flow_info fi = flow(7);
	struct rs_replay *r;
	struct srv s;

	(void)state;
	NEED_NS();
	srv_start(&s, false);
	rs_replay_opts_default(&o);
	r = mk(&o, SRV_IP, s.port, 1);
	for (int i = 0; i < 5; i++)
		submit(r, 0, &fi, "GET /delay HTTP/1.1\r\n\r\n", "", true, 0);
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	rs_replay_free(r);
	srv_stop(&s);
	check_sums(&st);
	assert_int_equal(st.lat_count, 5);
	assert_true(st.lat_p50_ms >= 50);
	assert_true(st.lat_mean_ms >= 50);
	assert_true(st.lat_max_ms >= st.lat_p99_ms);
	assert_true(st.lat_p99_ms >= st.lat_p50_ms);
}

/* Never started, or stopped twice: counts stay right, nothing hangs. */
static void test_lifecycle(void **state)
{
	struct rs_replay_opts o;
	struct rs_replay_stats st;
	struct rs_flow_info fi = flow(8);
	struct rs_replay *r = NULL;
	char err[128];

	(void)state;
	rs_replay_opts_default(&o);
	o.target = "198.18.0.1:9";
	assert_int_equal(rs_replay_opts_check(&o), 0);
	assert_int_equal(rs_replay_new(&r, &o, 1, err, sizeof(err)), 0);
	submit(r, 0, &fi, "GET / HTTP/1.1\r\n\r\n", "", true, 0);
	submit(r, 5, &fi, "GET / HTTP/1.1\r\n\r\n", "", true, 0); /* no worker 5 */
	rs_replay_submit(NULL, 0, &fi, NULL);
	rs_replay_stop(r);
	rs_replay_stop(r);
	rs_replay_get_stats(r, &st);
	check_sums(&st);
	assert_int_equal(st.offered, 1);
	assert_int_equal(st.dropped_exit, 1);
	rs_replay_free(r);
	rs_replay_free(NULL);
	o.conns = 0;
	assert_int_equal(rs_replay_new(&r, &o, 1, err, sizeof(err)), -EINVAL);
}

/* ---- a namespace of our own -------------------------------------------------- */

static bool netns_setup(void)
{
	struct ifreq ifr;
	struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return false;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	a->sin_family = AF_INET;
	inet_pton(AF_INET, SRV_IP, &a->sin_addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		goto fail;
	close(fd);
	/* A real black hole: without it the kernel answers some SYNs to the
	 * unused address with ICMP unreachable (rate-limited, so how many
	 * depends on timing) and connect() fails instead of timing out.  The
	 * rule lives in this test's own namespace. */
	if (system("nft add table ip rsbh && "
		   "nft add chain ip rsbh pre '{ type filter hook prerouting priority -300; }' && "
		   "nft add rule ip rsbh pre ip daddr " BLACKHOLE_IP " drop") != 0)
		fprintf(stderr, "nft unavailable: the black hole may answer\n");
	return true;
fail:
	close(fd);
	return false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_order_and_content),
		cmocka_unit_test(test_framings),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_target_down),
		cmocka_unit_test(test_blackhole),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_full_queue),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_stale_retry),
		cmocka_unit_test(test_latency),
	};

	/* Before any thread: every thread made later lives in it too. */
	have_netns = netns_setup();
	if (!have_netns)
		fprintf(stderr, "no network namespace of our own (needs root): "
			"engine tests skipped\n");
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(kept_reqs);
	return rc;
}
