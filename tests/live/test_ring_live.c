/* test_ring_live.c - data-path tests of the TPACKET_V3 ring on the loopback
 * of a private network namespace: exact frames, snap length, block sequence,
 * the drop-all phase, classic filters and direction, fanout hash affinity,
 * drop statistics, block timeout, concurrent stats, interface down. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "live_util.h"
#include "ring_impl.h"

#define MAX_SEQ 512
#define ETH_IP_UDP 42u        /* Ethernet + IPv4 (no options) + UDP */

static bool g_netns;

/* What the callbacks saw.  Failures are recorded, not asserted, so the
 * ring walk is never cut short by a longjmp. */
struct seen {
	uint32_t marker;            /* count frames with this marker ... */
	unsigned frames, marked, other_marked;
	unsigned outgoing, host;
	unsigned per_seq[MAX_SEQ];
	uint16_t sport, dport;      /* ... or between these ports (seq from
				     * the mark, else from sizes by length) */
	unsigned want;              /* stop when marked reaches this */
	const size_t *sizes;        /* payload length by seq (NULL: skip) */
	unsigned snaplen;           /* expected caplen cut (0: none) */
	uint64_t t0, t1;            /* wall-clock window for timestamps */
	unsigned ifindex;
	char why[256];              /* first failure */
};

static void seen_fail(struct seen *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seen_fail(struct seen *s, const char *fmt, ...)
{
	va_list ap;

	if (s->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

static void check_frame(struct seen *s, const struct rs_frame *fr,
			const struct lu_udp *u, uint32_t seq)
{
	size_t len, want_cap;

	if (fr->linktype != 1 || fr->ifindex != s->ifindex || fr->vlan_valid)
		seen_fail(s, "seq %u: linktype %d ifindex %u vlan %d", seq,
			  fr->linktype, fr->ifindex, fr->vlan_valid);
	if (fr->pkttype != PACKET_OUTGOING && fr->pkttype != PACKET_HOST)
		seen_fail(s, "seq %u: pkttype %u", seq, fr->pkttype);
	if (s->t0 && (fr->ts_ns + 2000000000ull < s->t0 ||
		      fr->ts_ns > s->t1 + 2000000000ull))
		seen_fail(s, "seq %u: timestamp %llu outside [%llu, %llu]",
			  seq, (unsigned long long)fr->ts_ns,
			  (unsigned long long)s->t0,
			  (unsigned long long)s->t1);
	if (!lu_payload_ok(u, seq))
		seen_fail(s, "seq %u: payload differs", seq);
	if (!s->sizes)
		return;
	for (len = 0; len <= seq; len++)
		if (s->sizes[len] == SIZE_MAX) {
			seen_fail(s, "seq %u: not sent", seq);
			return;
		}
	len = ETH_IP_UDP + s->sizes[seq];
	want_cap = s->snaplen && s->snaplen < len ? s->snaplen : len;
	if (fr->wirelen != len || fr->caplen != want_cap ||
	    u->udp_len != 8 + s->sizes[seq])
		seen_fail(s, "seq %u: caplen %u wirelen %u udp %zu, want %zu/%zu",
			  seq, fr->caplen, fr->wirelen, u->udp_len, want_cap,
			  len);
}

/* Payloads shorter than a mark (or cut by snaplen) carry none: then the
 * UDP length tells which datagram of the sizes table it is. */
static bool seq_by_len(const struct seen *s, size_t udp_len, uint32_t *seq)
{
	uint32_t i;

	for (i = 0; s->sizes && s->sizes[i] != SIZE_MAX; i++)
		if (8 + s->sizes[i] == udp_len) {
			*seq = i;
			return true;
		}
	return false;
}

static void on_frame(void *user, const struct rs_frame *fr)
{
	struct seen *s = user;
	struct lu_udp u;
	uint32_t seq;

	s->frames++;
	if (!lu_parse_udp(fr, &u))
		return;
	if (u.has_mark && u.mark.marker == s->marker) {
		seq = u.mark.seq;
	} else if (s->dport && u.sport == s->sport && u.dport == s->dport &&
		   !u.has_mark && seq_by_len(s, u.udp_len, &seq)) {
		/* ours, identified by ports and length */
	} else {
		if (u.has_mark)
			s->other_marked++;
		return;
	}
	s->marked++;
	if (fr->pkttype == PACKET_OUTGOING)
		s->outgoing++;
	else if (fr->pkttype == PACKET_HOST)
		s->host++;
	if (seq < MAX_SEQ)
		s->per_seq[seq]++;
	check_frame(s, fr, &u, seq);
}

static bool enough(void *user)
{
	struct seen *s = user;

	return s->marked >= s->want;
}

static void seen_init(struct seen *s, uint32_t marker, unsigned want)
{
	memset(s, 0, sizeof(*s));
	s->marker = marker;
	s->want = want;
	s->ifindex = if_nametoindex("lo");
}

static struct rs_ring *open_ring(const struct rs_ring_config *c)
{
	struct rs_ring *r = NULL;
	char err[RS_CAPTURE_ERRLEN];
	int rc = rs_ring_open(&r, c, err, sizeof(err));

	if (rc < 0)
		fail_msg("rs_ring_open: %d %s", rc, err);
	return r;
}

/* First thing in every test: without root or a private namespace, skip. */
static void need_netns(void)
{
	if (!g_netns)
		skip();
}

struct pair {
	int a, b;
	uint16_t pa, pb;
};

static void pair_open(struct pair *p)
{
	p->a = lu_udp_socket(0);
	p->b = lu_udp_socket(0);
	assert_true(p->a >= 0 && p->b >= 0);
	p->pa = lu_udp_port(p->a);
	p->pb = lu_udp_port(p->b);
}

static void pair_close(struct pair *p)
{
	close(p->a);
	close(p->b);
}

/* ---- every frame exactly: lengths, payload, direction, timestamps ------ */

static const size_t exact_sizes[] = {
	0, 1, 11, 12, 13, 100, 1472, 1473, 8000, 32768, 65507, SIZE_MAX,
};
#define N_EXACT (sizeof(exact_sizes) / sizeof(exact_sizes[0]) - 1)

static void t_frames_exact(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *r;
	struct rs_ring_stats st;
	struct seen s;
	struct pair p;
	unsigned i;

	(void)state;
	need_netns();
	lu_default_config(&c);
	r = open_ring(&c);
	assert_int_equal(rs_ring_set_filter(r, NULL), 0);
	pair_open(&p);
	seen_init(&s, 1, 2 * N_EXACT);
	s.sizes = exact_sizes;
	s.sport = p.pa;
	s.dport = p.pb;
	s.t0 = lu_wall_ns();
	for (i = 0; i < N_EXACT; i++)
		assert_int_equal(lu_send(p.a, p.pb, 1, i, exact_sizes[i]), 0);
	s.t1 = lu_wall_ns() + 3000000000ull;
	assert_true(lu_poll_until(r, 3000, on_frame, &s, enough) >= 0);
	/* Linger: nothing more may come. */
	s.want = ~0u;
	assert_true(lu_poll_until(r, 100, on_frame, &s, enough) >= 0);
	if (s.why[0])
		fail_msg("%s", s.why);
	/* lo shows each datagram twice: as sent and as received. */
	assert_int_equal(s.marked, 2 * N_EXACT);
	assert_int_equal(s.outgoing, N_EXACT);
	assert_int_equal(s.host, N_EXACT);
	for (i = 0; i < N_EXACT; i++)
		assert_int_equal(s.per_seq[i], 2);
	assert_int_equal(rs_ring_stats(r, &st), 0);
	assert_int_equal(st.frames, s.frames);
	assert_int_equal(st.packets, s.frames);
	assert_int_equal(st.drops, 0);
	assert_int_equal(st.bad_blocks, 0);
	assert_int_equal(st.seq_gaps, 0);
	pair_close(&p);
	rs_ring_close(r);
}

/* ---- snap length: caplen cut, wirelen kept, with and without a filter -- */

static const size_t snap_sizes[] = { 0, 10, 22, 23, 1000, 65507, SIZE_MAX };
#define N_SNAP (sizeof(snap_sizes) / sizeof(snap_sizes[0]) - 1)

struct snap_case {
	unsigned snaplen;
	bool user_filter;
};

static const struct snap_case snap_cases[] = {
	{ 64, false }, { 64, true }, { 1500, false }, { 42, true },
};

static void t_snaplen(void **state)
{
	struct sock_filter all = BPF_STMT(BPF_RET | BPF_K, 0x40000);
	struct sock_fprog prog = { 1, &all };
	size_t k;

	(void)state;
	need_netns();
	for (k = 0; k < sizeof(snap_cases) / sizeof(snap_cases[0]); k++) {
		const struct snap_case *sc = &snap_cases[k];
		struct rs_ring_config c;
		struct rs_ring *r;
		struct seen s;
		struct pair p;
		unsigned i;

		lu_default_config(&c);
		c.snaplen = sc->snaplen;
		c.ignore_outgoing = true;
		r = open_ring(&c);
		assert_int_equal(rs_ring_set_filter(r, sc->user_filter ? &prog
						    : NULL), 0);
		pair_open(&p);
		seen_init(&s, 2, N_SNAP);
		s.sizes = snap_sizes;
		s.sport = p.pa;
		s.dport = p.pb;
		s.snaplen = sc->snaplen;
		for (i = 0; i < N_SNAP; i++)
			assert_int_equal(lu_send(p.a, p.pb, 2, i, snap_sizes[i]),
					 0);
		assert_true(lu_poll_until(r, 3000, on_frame, &s, enough) >= 0);
		if (s.why[0])
			fail_msg("case %zu: %s", k, s.why);
		assert_int_equal(s.marked, N_SNAP);
		assert_int_equal(s.outgoing, 0);
		pair_close(&p);
		rs_ring_close(r);
	}
}

/* ---- blocks: sequence numbers go up by one, many blocks, no loss -------- */

static void t_block_seq(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *r;
	struct rs_ring_stats st;
	struct seen s;
	struct pair p;
	unsigned batch, i, total = 0;

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.block_size = 16u << 10;
	c.block_nr = 16;
	r = open_ring(&c);
	assert_int_equal(rs_ring_set_filter(r, NULL), 0);
	pair_open(&p);
	seen_init(&s, 3, 0);
	for (batch = 0; batch < 40; batch++) {
		for (i = 0; i < 10; i++, total++)
			assert_int_equal(lu_send(p.a, p.pb, 3, total % MAX_SEQ,
						 1000), 0);
		s.want = 2 * total;
		assert_true(lu_poll_until(r, 2000, on_frame, &s, enough) >= 0);
		assert_int_equal(s.marked, 2 * total);
	}
	if (s.why[0])
		fail_msg("%s", s.why);
	assert_int_equal(rs_ring_stats(r, &st), 0);
	/* ~1.1 KB frames, ~14 per 16 KiB block: well over 40 blocks. */
	assert_true(st.blocks >= 40);
	assert_int_equal(st.seq_gaps, 0);
	assert_int_equal(st.bad_blocks, 0);
	assert_int_equal(rs_ring_last_seq(r), st.blocks);
	assert_int_equal(st.frames, 800);
	assert_int_equal(st.packets, 800);
	assert_int_equal(st.drops, 0);
	pair_close(&p);
	rs_ring_close(r);
}

/* ---- the drop-all phase: nothing sent before set_filter shows up -------- */

static void t_drop_all_phase(void **state)
{
	struct timespec settle = { 0, 30 * 1000 * 1000 };
	struct rs_ring_config c;
	struct rs_ring *r;
	struct rs_ring_stats st;
	struct seen after;
	struct pair p;
	unsigned i;

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.fanout_mode = RS_FANOUT_HASH;
	c.fanout_id = 505;
	r = open_ring(&c);
	pair_open(&p);
	for (i = 0; i < 10; i++)
		assert_int_equal(lu_send(p.a, p.pb, 4, i, 200), 0);
	nanosleep(&settle, NULL);
	/* The kernel let nothing past the drop-all filter. */
	assert_int_equal(rs_ring_stats(r, &st), 0);
	assert_int_equal(st.packets + st.drops, 0);
	assert_int_equal(rs_ring_set_filter(r, NULL), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(lu_send(p.a, p.pb, 5, i, 200), 0);
	seen_init(&after, 5, 20);
	assert_true(lu_poll_until(r, 3000, on_frame, &after, enough) >= 0);
	after.want = ~0u;
	assert_true(lu_poll_until(r, 100, on_frame, &after, enough) >= 0);
	assert_int_equal(after.marked, 20);
	assert_int_equal(after.other_marked, 0);    /* no marker-4 frame */
	assert_int_equal(rs_ring_stats(r, &st), 0);
	assert_int_equal(st.packets, 20);
	assert_int_equal(st.frames, 20);
	pair_close(&p);
	rs_ring_close(r);
}

/* ---- the drain: frames that reached the ring before the first real filter
 * (here let in on purpose, behind the library's back) never reach fn ------ */

static void t_drain(void **state)
{
	struct timespec settle = { 0, 50 * 1000 * 1000 };
	struct sock_filter all = BPF_STMT(BPF_RET | BPF_K, 0xffff);
	struct sock_fprog prog = { 1, &all };
	struct rs_ring_config c;
	struct rs_ring *r;
	struct rs_ring_stats st;
	struct seen s;
	struct pair p;
	unsigned i;

	(void)state;
	need_netns();
	lu_default_config(&c);
	r = open_ring(&c);
	assert_int_equal(setsockopt(rs_ring_fd(r), SOL_SOCKET, SO_ATTACH_FILTER,
				    &prog, sizeof(prog)), 0);
	pair_open(&p);
	for (i = 0; i < 10; i++)
		assert_int_equal(lu_send(p.a, p.pb, 12, i, 200), 0);
	nanosleep(&settle, NULL);       /* > block timeout: block retired */
	assert_int_equal(rs_ring_set_filter(r, NULL), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(lu_send(p.a, p.pb, 13, i, 200), 0);
	seen_init(&s, 13, 20);
	assert_true(lu_poll_until(r, 3000, on_frame, &s, enough) >= 0);
	s.want = ~0u;
	assert_true(lu_poll_until(r, 100, on_frame, &s, enough) >= 0);
	assert_int_equal(s.marked, 20);
	assert_int_equal(s.other_marked, 0);    /* no marker-12 frame */
	assert_int_equal(rs_ring_stats(r, &st), 0);
	assert_int_equal(st.packets, 20);       /* drained ones not counted */
	assert_int_equal(st.frames, 20);
	assert_int_equal(st.seq_gaps, 0);
	assert_true(st.blocks >= 2);            /* drained block + data */
	/* A second set_filter swaps without draining. */
	for (i = 0; i < 5; i++)
		assert_int_equal(lu_send(p.a, p.pb, 14, i, 200), 0);
	nanosleep(&settle, NULL);
	assert_int_equal(rs_ring_set_filter(r, &prog), 0);
	seen_init(&s, 14, 10);
	assert_true(lu_poll_until(r, 3000, on_frame, &s, enough) >= 0);
	assert_int_equal(s.marked, 10);
	pair_close(&p);
	rs_ring_close(r);
}

/* ---- classic filter and direction: table of (filter, ignore_outgoing,
 * fanout) -> frames per datagram ------------------------------------------ */

/* Ethernet/IPv4/UDP, not a fragment, destination port `port`. */
static void udp_dport_prog(struct sock_filter *f, uint16_t port)
{
	const struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 8),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 6),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0x40000),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	memcpy(f, prog, sizeof(prog));
}
#define UDP_PROG_LEN 11

struct dir_case {
	bool filter, ignore_outgoing;
	int fanout;
	unsigned per_datagram;      /* frames of each accepted datagram */
};

static const struct dir_case dir_cases[] = {
	{ false, false, RS_FANOUT_NONE, 2 },
	{ false, true, RS_FANOUT_NONE, 1 },
	{ false, true, RS_FANOUT_HASH, 1 },
	{ false, true, RS_FANOUT_LB, 1 },
	{ true, false, RS_FANOUT_NONE, 2 },
	{ true, true, RS_FANOUT_NONE, 1 },
	{ true, true, RS_FANOUT_HASH, 1 },
	{ true, false, RS_FANOUT_HASH, 2 },
};

static void t_filter_direction(void **state)
{
	size_t k;

	(void)state;
	need_netns();
	for (k = 0; k < sizeof(dir_cases) / sizeof(dir_cases[0]); k++) {
		const struct dir_case *d = &dir_cases[k];
		struct sock_filter insns[UDP_PROG_LEN];
		struct sock_fprog prog = { UDP_PROG_LEN, insns };
		struct rs_ring_config c;
		struct rs_ring *r;
		struct seen s;
		struct pair p, q;    /* p.b: accepted port, q.b: filtered */
		unsigned i, want;

		lu_default_config(&c);
		c.ignore_outgoing = d->ignore_outgoing;
		c.fanout_mode = d->fanout;
		c.fanout_id = (uint16_t)(600 + k);
		r = open_ring(&c);
		pair_open(&p);
		pair_open(&q);
		udp_dport_prog(insns, p.pb);
		assert_int_equal(rs_ring_set_filter(r, d->filter ? &prog : NULL),
				 0);
		for (i = 0; i < 5; i++) {
			assert_int_equal(lu_send(p.a, p.pb, 6, i, 100), 0);
			assert_int_equal(lu_send(q.a, q.pb, 6, 100 + i, 100), 0);
		}
		want = 5 * d->per_datagram * (d->filter ? 1 : 2);
		seen_init(&s, 6, want);
		assert_true(lu_poll_until(r, 3000, on_frame, &s, enough) >= 0);
		s.want = ~0u;
		assert_true(lu_poll_until(r, 100, on_frame, &s, enough) >= 0);
		if (s.why[0])
			fail_msg("case %zu: %s", k, s.why);
		if (s.marked != want)
			fail_msg("case %zu: %u frames, want %u", k, s.marked,
				 want);
		for (i = 0; i < 5; i++) {
			assert_int_equal(s.per_seq[i], d->per_datagram);
			assert_int_equal(s.per_seq[100 + i],
					 d->filter ? 0 : d->per_datagram);
		}
		if (d->ignore_outgoing)
			assert_int_equal(s.outgoing, 0);
		else
			assert_int_equal(s.outgoing, s.host);
		pair_close(&q);
		pair_close(&p);
		rs_ring_close(r);
	}
}

/* ---- fanout hash: both directions of a flow land on one socket --------- */

#define FLOWS 32

struct fan_seen {
	unsigned mask[FLOWS], count[FLOWS], per_ring[2], total;
	unsigned ring;
};

static void on_fan(void *user, const struct rs_frame *fr)
{
	struct fan_seen *f = user;
	struct lu_udp u;

	if (!lu_parse_udp(fr, &u) || !u.has_mark || u.mark.marker != 7 ||
	    u.mark.seq >= FLOWS)
		return;
	f->mask[u.mark.seq] |= 1u << f->ring;
	f->count[u.mark.seq]++;
	f->per_ring[f->ring]++;
	f->total++;
}

static void t_fanout_hash(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *r[2];
	struct fan_seen f;
	int cl[FLOWS], srv;
	uint16_t sport;
	unsigned i, flows_on[2] = { 0, 0 };
	uint64_t end;

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.fanout_mode = RS_FANOUT_HASH;
	c.fanout_id = 707;
	r[0] = open_ring(&c);
	r[1] = open_ring(&c);
	/* All members first, then the filters (see rs_capture.h). */
	assert_int_equal(rs_ring_set_filter(r[0], NULL), 0);
	assert_int_equal(rs_ring_set_filter(r[1], NULL), 0);
	srv = lu_udp_socket(0);
	assert_true(srv >= 0);
	sport = lu_udp_port(srv);
	for (i = 0; i < FLOWS; i++) {
		cl[i] = lu_udp_socket(0);
		assert_true(cl[i] >= 0);
		/* two each way: client -> server, server -> client */
		assert_int_equal(lu_send(cl[i], sport, 7, i, 64), 0);
		assert_int_equal(lu_send(cl[i], sport, 7, i, 64), 0);
		assert_int_equal(lu_send(srv, lu_udp_port(cl[i]), 7, i, 64), 0);
		assert_int_equal(lu_send(srv, lu_udp_port(cl[i]), 7, i, 64), 0);
	}
	memset(&f, 0, sizeof(f));
	end = lu_now_ms() + 3000;
	while (f.total < FLOWS * 8 && lu_now_ms() < end) {
		for (f.ring = 0; f.ring < 2; f.ring++)
			assert_true(rs_ring_poll(r[f.ring], 10, on_fan, &f) >= 0);
	}
	for (f.ring = 0; f.ring < 2; f.ring++)   /* linger */
		assert_true(rs_ring_poll(r[f.ring], 50, on_fan, &f) >= 0);
	assert_int_equal(f.total, FLOWS * 8);
	for (i = 0; i < FLOWS; i++) {
		if (f.mask[i] != 1 && f.mask[i] != 2)
			fail_msg("flow %u split across sockets (mask %u)", i,
				 f.mask[i]);
		assert_int_equal(f.count[i], 8);
		flows_on[f.mask[i] - 1]++;
	}
	/* 32 flows all hashing to one of two sockets: p = 2^-31. */
	assert_true(flows_on[0] > 0 && flows_on[1] > 0);
	for (i = 0; i < FLOWS; i++)
		close(cl[i]);
	close(srv);
	rs_ring_close(r[1]);
	rs_ring_close(r[0]);
}

/* ---- statistics: a tiny ring nobody reads drops, and the counts add up - */

static void t_stats_drops(void **state)
{
	struct sock_filter insns[UDP_PROG_LEN];
	struct sock_fprog prog = { UDP_PROG_LEN, insns };
	struct rs_ring_config c;
	struct rs_ring *r;
	struct rs_ring_stats st;
	struct seen s;
	struct pair p;
	unsigned i, sent = 200;
	uint64_t end;

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.block_size = 4096;
	c.block_nr = 2;
	r = open_ring(&c);
	pair_open(&p);
	udp_dport_prog(insns, p.pb);
	assert_int_equal(rs_ring_set_filter(r, &prog), 0);
	for (i = 0; i < sent; i++)
		assert_int_equal(lu_send(p.a, p.pb, 8, i, 500), 0);
	/* Every frame that passed the filter is either in the ring or a
	 * drop; wait (bounded) for the receive side to catch up. */
	end = lu_now_ms() + 3000;
	memset(&st, 0, sizeof(st));
	do {
		struct rs_ring_stats now;

		assert_int_equal(rs_ring_stats(r, &now), 0);
		st = now;
	} while (st.packets + st.drops < 2 * sent && lu_now_ms() < end);
	assert_int_equal(st.packets + st.drops, 2 * sent);
	assert_true(st.drops > 0);
	assert_true(st.freezes > 0);
	assert_true(st.packets < 2 * sent);
	assert_int_equal(st.frames, 0);       /* nobody polled yet */

	/* Now read what the ring holds: exactly the packets counted. */
	seen_init(&s, 8, (unsigned)st.packets);
	assert_true(lu_poll_until(r, 3000, on_frame, &s, enough) >= 0);
	s.want = ~0u;
	assert_true(lu_poll_until(r, 100, on_frame, &s, enough) >= 0);
	if (s.why[0])
		fail_msg("%s", s.why);
	assert_int_equal(s.marked, st.packets);
	assert_int_equal(rs_ring_stats(r, &st), 0);
	assert_int_equal(st.frames, s.marked);
	assert_int_equal(st.packets, s.marked);
	assert_int_equal(st.seq_gaps, 0);

	/* Thawed: new traffic flows again, drops stay where they were. */
	for (i = 0; i < 3; i++)
		assert_int_equal(lu_send(p.a, p.pb, 9, i, 100), 0);
	seen_init(&s, 9, 6);
	assert_true(lu_poll_until(r, 3000, on_frame, &s, enough) >= 0);
	assert_int_equal(s.marked, 6);
	{
		struct rs_ring_stats after;

		assert_int_equal(rs_ring_stats(r, &after), 0);
		assert_int_equal(after.drops, st.drops);
		assert_int_equal(after.packets, st.packets + 6);
	}
	pair_close(&p);
	rs_ring_close(r);
}

/* ---- block timeout: one small frame in a big block arrives in time ----- */

static const unsigned timeouts_ms[] = { 20, 100 };

static void t_block_timeout(void **state)
{
	size_t k;

	(void)state;
	need_netns();
	for (k = 0; k < sizeof(timeouts_ms) / sizeof(timeouts_ms[0]); k++) {
		const unsigned slack_ms = 400;
		struct rs_ring_config c;
		struct rs_ring *r;
		struct rs_ring_stats st;
		struct seen s;
		struct pair p;
		uint64_t t0, dt;

		lu_default_config(&c);
		c.block_size = 1u << 20;
		c.block_nr = 4;
		c.block_timeout_ms = timeouts_ms[k];
		r = open_ring(&c);
		assert_int_equal(rs_ring_set_filter(r, NULL), 0);
		pair_open(&p);
		seen_init(&s, 10, 2);
		t0 = lu_now_ms();
		assert_int_equal(lu_send(p.a, p.pb, 10, 0, 16), 0);
		assert_true(lu_poll_until(r, timeouts_ms[k] + 2000, on_frame, &s,
					  enough) >= 0);
		dt = lu_now_ms() - t0;
		assert_int_equal(s.marked, 2);
		if (dt > timeouts_ms[k] + slack_ms)
			fail_msg("timeout %u ms: frame after %llu ms",
				 timeouts_ms[k], (unsigned long long)dt);
		/* A 1 MiB block held two small frames: only the timer
		 * could have retired it. */
		assert_int_equal(rs_ring_stats(r, &st), 0);
		assert_int_equal(st.blocks, 1);
		pair_close(&p);
		rs_ring_close(r);
	}
}

/* ---- stats from another thread while the worker polls ------------------ */

struct reporter {
	struct rs_ring *r;
	int stop;
	unsigned reads;
	bool backwards;
};

static void *reporter_main(void *arg)
{
	struct reporter *rep = arg;
	uint64_t last = 0, last_frames = 0;

	while (!__atomic_load_n(&rep->stop, __ATOMIC_ACQUIRE)) {
		struct rs_ring_stats st;

		if (rs_ring_stats(rep->r, &st) == 0) {
			if (st.packets < last || st.frames < last_frames ||
			    st.frames > st.packets)
				rep->backwards = true;
			last = st.packets;
			last_frames = st.frames;
			__atomic_add_fetch(&rep->reads, 1, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

static void t_stats_concurrent(void **state)
{
	struct rs_ring_config c;
	struct reporter rep;
	struct rs_ring_stats st;
	struct seen s;
	struct pair p;
	pthread_t th;
	unsigned i, reads;
	uint64_t end;

	(void)state;
	need_netns();
	lu_default_config(&c);
	memset(&rep, 0, sizeof(rep));
	rep.r = open_ring(&c);
	assert_int_equal(rs_ring_set_filter(rep.r, NULL), 0);
	pair_open(&p);
	assert_int_equal(pthread_create(&th, NULL, reporter_main, &rep), 0);
	/* The reporter must be running before and while the worker polls. */
	end = lu_now_ms() + 2000;
	while (__atomic_load_n(&rep.reads, __ATOMIC_ACQUIRE) == 0 &&
	       lu_now_ms() < end)
		sched_yield();
	assert_true(__atomic_load_n(&rep.reads, __ATOMIC_ACQUIRE) > 0);
	seen_init(&s, 11, 400);
	for (i = 0; i < 200; i++) {
		assert_int_equal(lu_send(p.a, p.pb, 11, i % MAX_SEQ, 300), 0);
		if (i % 20 == 19)
			assert_true(rs_ring_poll(rep.r, 0, on_frame, &s) >= 0);
	}
	assert_true(lu_poll_until(rep.r, 3000, on_frame, &s, enough) >= 0);
	reads = __atomic_load_n(&rep.reads, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&rep.reads, __ATOMIC_ACQUIRE) == reads &&
	       lu_now_ms() < end + 2000)
		sched_yield();
	__atomic_store_n(&rep.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.marked, 400);
	assert_true(rep.reads > reads);
	assert_false(rep.backwards);
	assert_int_equal(rs_ring_stats(rep.r, &st), 0);
	assert_int_equal(st.packets, 400);
	assert_int_equal(st.frames, 400);
	pair_close(&p);
	rs_ring_close(rep.r);
}

/* ---- the interface goes down: -ENETDOWN, and it stays reported ---------- */

static void t_interface_down(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *r;
	uint64_t end;
	int rc = 0;

	(void)state;
	need_netns();
	lu_default_config(&c);
	r = open_ring(&c);
	assert_int_equal(rs_ring_set_filter(r, NULL), 0);
	assert_int_equal(rs_ring_poll(r, 10, NULL, NULL), 0);
	assert_int_equal(lu_lo_set(false), 0);
	end = lu_now_ms() + 2000;
	while (rc == 0 && lu_now_ms() < end)
		rc = rs_ring_poll(r, 50, NULL, NULL);
	assert_int_equal(lu_lo_set(true), 0);
	assert_int_equal(rc, -ENETDOWN);
	assert_non_null(strstr(rs_ring_error(r), "interface 'lo' went down"));
	/* Sticky, even though lo is back up. */
	assert_int_equal(rs_ring_poll(r, 10, NULL, NULL), -ENETDOWN);
	rs_ring_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_frames_exact),
		cmocka_unit_test(t_snaplen),
		cmocka_unit_test(t_block_seq),
		cmocka_unit_test(t_drop_all_phase),
		cmocka_unit_test(t_drain),
		cmocka_unit_test(t_filter_direction),
		cmocka_unit_test(t_fanout_hash),
		cmocka_unit_test(t_stats_drops),
		cmocka_unit_test(t_block_timeout),
		cmocka_unit_test(t_stats_concurrent),
		cmocka_unit_test(t_interface_down),
	};
	int rc;

	if (!lu_is_root()) {
		fprintf(stderr, "not root: skipping the live ring tests\n");
	} else {
		rc = lu_private_netns();
		if (rc < 0)
			fprintf(stderr, "no private network namespace (%s): "
				"skipping\n", strerror(-rc));
		g_netns = rc == 0;
	}
	return cmocka_run_group_tests_name("ring_live", tests, NULL, NULL);
}
