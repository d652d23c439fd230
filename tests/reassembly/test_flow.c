/* test_flow.c - flow table unit tests: API control cases, keys, roles, lifecycle, timeouts, eviction, ownership. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rt_util.h"

static const struct rs_flow_stats *st(const struct rt_env *e)
{
	return rs_flow_worker_stats(e->w);
}

/* ---- control --------------------------------------------------------- */

static void test_config_default(void **state)
{
	struct rs_flow_config c;

	(void)state;
	rs_flow_config_default(&c);
	assert_true(c.max_flows > 0);
	assert_int_equal(c.timeout_new_ns, 60 * RT_SEC);
	assert_int_equal(c.timeout_est_ns, 600 * RT_SEC);
	assert_int_equal(c.timeout_closed_ns, 60 * RT_SEC);
	assert_true(c.timeout_udp_ns > 0 && c.timeout_other_ns > 0);
	assert_true(c.ooo_bytes_per_flow > 0);
	assert_true(c.ooo_bytes_max >= c.ooo_bytes_per_flow);
}

static void test_table_new_invalid(void **state)
{
	struct rs_flow_config c;
	struct rs_flow_table *t = (void *)0x1;

	(void)state;
	rs_flow_config_default(&c);
	assert_int_equal(rs_flow_table_new(NULL, &c), -EINVAL);
	c.max_flows = 0;
	assert_int_equal(rs_flow_table_new(&t, &c), -EINVAL);
	assert_ptr_equal(t, (void *)0x1); /* untouched on failure */
	rs_flow_table_free(NULL);        /* no-op */
}

static void test_table_new_defaults(void **state)
{
	struct rs_flow_table *t = NULL;

	(void)state;
	assert_int_equal(rs_flow_table_new(&t, NULL), 0);
	assert_non_null(t);
	assert_int_equal(rs_flow_table_count(t), 0);
	rs_flow_table_free(t);
}

static void test_worker_new_invalid(void **state)
{
	struct rs_flow_worker *w = NULL;
	struct rs_flow_table *t = NULL;

	(void)state;
	assert_int_equal(rs_flow_worker_new(&w, NULL, 0, NULL, NULL, NULL,
					    NULL), -EINVAL);
	assert_int_equal(rs_flow_table_new(&t, NULL), 0);
	assert_int_equal(rs_flow_worker_new(NULL, t, 0, NULL, NULL, NULL,
					    NULL), -EINVAL);
	rs_flow_worker_free(NULL);
	rs_flow_table_free(t);
}

static void test_end_reason_names(void **state)
{
	static const struct { enum rs_flow_end_reason r; const char *n; } tab[] = {
		{ RS_END_FIN, "fin" }, { RS_END_RST, "rst" },
		{ RS_END_TIMEOUT, "timeout" }, { RS_END_EVICTED, "evicted" },
		{ RS_END_SHUTDOWN, "shutdown" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		assert_string_equal(rs_flow_end_reason_name(tab[i].r), tab[i].n);
	assert_string_equal(rs_flow_end_reason_name((enum rs_flow_end_reason)99),
			    "unknown");
}

static void test_stats_add(void **state)
{
	struct rs_flow_stats a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.flows_created = 3;
	b.insert_races = 2;
	b.overlap_mismatch = 1;
	rs_flow_stats_add(&a, &b);
	rs_flow_stats_add(&a, &b);
	assert_int_equal(a.flows_created, 6);
	assert_int_equal(a.insert_races, 4);
	assert_int_equal(a.overlap_mismatch, 2);
	assert_int_equal(_Alignof(struct rs_flow_stats), 64);
}

/* ---- keys ------------------------------------------------------------ */

static int env_setup(void **state)
{
	struct rt_env *e;

	if (rt_env_new(&e, NULL, true))
		return -1;
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	rt_env_free(*state);
	return 0;
}

static void test_key_both_directions(void **state)
{
	struct rt_env *e = *state;
	struct rs_pkt a = rt_pkt(17, "198.18.0.1", 5353, "198.18.0.2", 53, RT_SEC);
	struct rs_pkt b = rt_pkt(17, "198.18.0.2", 53, "198.18.0.1", 5353, RT_SEC + 1);

	assert_int_equal((uintptr_t)rs_flow_worker_stats(e->w) % 64, 0);
	assert_int_equal(rs_flow_packet(e->w, &a), 0);
	assert_int_equal(rs_flow_packet(e->w, &b), 0);
	assert_int_equal(rs_flow_packet(e->w, &b), 0);
	assert_int_equal(rs_flow_table_count(e->t), 1);
	assert_int_equal(st(e)->flows_created, 1);
	rs_flow_flush(e->w, 2 * RT_SEC, RS_END_SHUTDOWN);
	assert_int_equal(e->ends.n, 1);
	assert_int_equal(e->ends.info[0].pkts[0], 1);
	assert_int_equal(e->ends.info[0].pkts[1], 2);
	assert_int_equal(e->ends.info[0].bytes[1], 120);
	assert_int_equal(e->ends.info[0].cli_port, 5353); /* first sender */
	assert_int_equal(e->ends.info[0].srv_port, 53);
	assert_string_equal(e->ends.info[0].state, "established");
	assert_int_equal(e->ends.info[0].first_ts_ns, RT_SEC);
	assert_int_equal(e->ends.info[0].last_ts_ns, RT_SEC + 1);
	assert_int_equal(e->ends.why[0], RS_END_SHUTDOWN);
	assert_int_equal(rs_flow_table_count(e->t), 0);
}

/* Tuples that must all be told apart. */
static void test_key_distinct(void **state)
{
	struct rt_env *e = *state;
	struct rs_pkt p[] = {
		rt_pkt(17, "198.18.0.1", 1000, "198.18.0.2", 53, 1),
		rt_pkt(6, "198.18.0.1", 1000, "198.18.0.2", 53, 1),   /* proto */
		rt_pkt(17, "198.18.0.1", 1001, "198.18.0.2", 53, 1),  /* port */
		rt_pkt(17, "198.18.0.1", 53, "198.18.0.2", 1000, 1),  /* swapped ports */
		rt_pkt(17, "198.18.0.3", 1000, "198.18.0.2", 53, 1),  /* address */
		rt_pkt(17, "2001:db8::1", 1000, "2001:db8::2", 53, 1),
		rt_pkt(17, "2001:db8::1", 1000, "2001:db8::3", 53, 1),
		rt_pkt(1, "198.18.0.1", 0, "198.18.0.2", 0, 1),       /* icmp */
		rt_pkt(17, "198.18.0.1", 1000, "198.18.0.2", 53, 1),  /* vlan 10 */
		rt_pkt(17, "198.18.0.1", 1000, "198.18.0.2", 53, 1),  /* vlan 10,20 */
	};
	size_t n = sizeof(p) / sizeof(p[0]);

	p[1].tcp_flags = RS_TCP_SYN;
	p[8].vlan_count = 1;
	p[8].vlan_id[0] = 10;
	p[9].vlan_count = 2;
	p[9].vlan_id[0] = 10;
	p[9].vlan_id[1] = 20;       /* innermost differs from p[8] */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rs_flow_packet(e->w, &p[i]), 0);
	assert_int_equal(rs_flow_table_count(e->t), n);
	/* And each again, reversed: no new flow. */
	for (size_t i = 0; i < n; i++) {
		struct rs_pkt r = p[i];

		memcpy(r.src, p[i].dst, 16);
		memcpy(r.dst, p[i].src, 16);
		r.sport = p[i].dport;
		r.dport = p[i].sport;
		r.tcp_flags = RS_TCP_ACK;
		assert_int_equal(rs_flow_packet(e->w, &r), 0);
	}
	assert_int_equal(rs_flow_table_count(e->t), n);
	assert_int_equal(st(e)->flows_created, n);
	rs_flow_flush(e->w, 2, RS_END_SHUTDOWN);
	{
		unsigned v20 = 0, v10 = 0, six = 0;

		for (unsigned i = 0; i < e->ends.n; i++) {
			v20 += e->ends.info[i].vlan == 20;
			v10 += e->ends.info[i].vlan == 10;
			six += e->ends.info[i].addr_len == 16;
		}
		assert_int_equal(v20, 1);
		assert_int_equal(v10, 1);
		assert_int_equal(six, 2);
	}
}

/* The cache's probe for IPv4 TCP/UDP compares a packet's ends with a key in
 * both orders; other packets of the same flows (first fragments, an IPv6
 * header with 4-byte addresses) build the key and must find the same cache
 * set and flow.  Also flows whose ends share an address (the ports order
 * them) or are the same end: the roles stay as key_build makes them. */
static void test_key_paths(void **state)
{
	struct rt_env *e = *state;
	const char *x = "198.18.0.7", *y = "198.18.0.8";
	struct rs_pkt p;
	unsigned found = 0;

	for (int i = 0; i < 3; i++) {       /* to itself: one direction */
		p = rt_pkt(17, "198.18.0.5", 7000, "198.18.0.5", 7000, RT_SEC);
		assert_int_equal(rs_flow_packet(e->w, &p), 0);
	}
	p = rt_pkt(17, "198.18.0.6", 2000, "198.18.0.6", 1000, RT_SEC);
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	p = rt_pkt(17, "198.18.0.6", 1000, "198.18.0.6", 2000, RT_SEC);
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	for (int i = 0; i < 2; i++) {
		p = rt_pkt(17, "198.18.0.6", 2000, "198.18.0.6", 1000, RT_SEC);
		assert_int_equal(rs_flow_packet(e->w, &p), 0);
	}
	p = rt_pkt(17, x, 3000, y, 53, RT_SEC);         /* new */
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	p = rt_pkt(17, y, 53, x, 3000, RT_SEC);         /* cached, reversed */
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	p = rt_pkt(17, x, 3000, y, 53, RT_SEC);         /* first fragment */
	p.flags = RS_PKT_FRAGMENT | RS_PKT_FRAG_FIRST;
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	p = rt_pkt(17, y, 53, x, 3000, RT_SEC);         /* odd IP version */
	p.ip_version = 6;
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	p = rt_pkt(17, x, 3000, y, 53, RT_SEC);         /* cached */
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	assert_int_equal(st(e)->flows_created, 3);
	assert_int_equal(rs_flow_table_count(e->t), 3);
	rs_flow_flush(e->w, 2 * RT_SEC, RS_END_SHUTDOWN);
	assert_int_equal(e->ends.n, 3);
	for (unsigned i = 0; i < e->ends.n; i++) {
		const struct rs_flow_info *f = &e->ends.info[i];

		if (f->cli_port == 7000) {
			assert_int_equal(f->pkts[0], 3);
			assert_int_equal(f->pkts[1], 0);
			assert_string_equal(f->state, "new");
		} else if (f->cli_port == 2000) {
			assert_int_equal(f->srv_port, 1000);
			assert_int_equal(f->pkts[0], 3);
			assert_int_equal(f->pkts[1], 1);
			assert_string_equal(f->state, "established");
		} else {
			assert_int_equal(f->cli_port, 3000);
			assert_int_equal(f->pkts[0], 3);
			assert_int_equal(f->pkts[1], 2);
		}
		found |= 1u << (f->cli_port % 3);
	}
	assert_int_equal(found, 7);        /* 7000, 2000, 3000: one each */
	/* Ended flows left the cache: the same tuple makes a new flow. */
	rs_flow_quiescent(e->w);
	p = rt_pkt(17, y, 53, x, 3000, 3 * RT_SEC);
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	p = rt_pkt(17, x, 3000, y, 53, 3 * RT_SEC);
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	assert_int_equal(st(e)->flows_created, 4);
}

static void test_skipped(void **state)
{
	struct rt_env *e = *state;
	struct rs_pkt nonip, frag, badlen;

	memset(&nonip, 0, sizeof(nonip));
	frag = rt_pkt(17, "198.18.0.1", 0, "198.18.0.2", 0, 1);
	frag.flags = RS_PKT_FRAGMENT; /* not the first: no ports */
	frag.l4 = NULL;
	badlen = rt_pkt(6, "198.18.0.1", 1, "198.18.0.2", 2, 1);
	badlen.l4 = NULL;             /* TCP without a header */
	assert_int_equal(rs_flow_packet(e->w, &nonip), 0);
	assert_int_equal(rs_flow_packet(e->w, &frag), 0);
	assert_int_equal(rs_flow_packet(e->w, &badlen), 0);
	assert_int_equal(st(e)->pkts_skipped, 3);
	assert_int_equal(rs_flow_table_count(e->t), 0);
}

/* ---- roles and states ------------------------------------------------- */

static const struct rt_conn C1 = {
	.cli = "198.18.0.10", .cport = 40000, .srv = "198.18.1.1", .sport = 80,
	.cisn = 1000, .sisn = 5000,
};

static void test_roles_handshake(void **state)
{
	struct rt_env *e = *state;
	struct rs_pkt syn = rt_tcp(C1.cli, C1.cport, C1.srv, C1.sport,
				   RS_TCP_SYN, C1.cisn, 0, NULL, 0, RT_SEC);
	struct rs_pkt sa = rt_tcp(C1.srv, C1.sport, C1.cli, C1.cport,
				  RS_TCP_SYN | RS_TCP_ACK, C1.sisn, C1.cisn + 1,
				  NULL, 0, RT_SEC + 1);

	rs_flow_packet(e->w, &syn);
	rs_flow_packet(e->w, &sa);
	rt_c2s(e->w, &C1, RS_TCP_ACK, 0, 0, NULL, 0, RT_SEC + 2);
	rt_c2s(e->w, &C1, RS_TCP_ACK | RS_TCP_FIN, 0, 0, NULL, 0, RT_SEC + 3);
	rs_flow_flush(e->w, RT_SEC + 4, RS_END_SHUTDOWN);
	assert_int_equal(e->ends.n, 1);
	assert_int_equal(e->ends.info[0].cli_port, 40000);
	assert_int_equal(e->ends.info[0].srv_port, 80);
	assert_memory_equal(e->ends.info[0].cli_addr, syn.src, 4);
	assert_int_equal(e->ends.info[0].pkts[0], 3);
	assert_int_equal(e->ends.info[0].pkts[1], 1);
	assert_int_equal(e->ends.info[0].flags & (RS_FLOW_SYN_SEEN |
		RS_FLOW_SYNACK_SEEN | RS_FLOW_MIDSTREAM),
		RS_FLOW_SYN_SEEN | RS_FLOW_SYNACK_SEEN);
	assert_string_equal(e->ends.info[0].state, "fin_wait");
	assert_int_equal(e->ends.why[0], RS_END_FIN); /* FIN seen: reported so */
	assert_int_equal(st(e)->midstream, 0);
}

/* States in order: each prefix of the close sequence on its own tuple,
 * ended at once and read back from the flow log. */
static void test_states(void **state)
{
	static const struct {
		uint8_t fl;
		int dir;
		uint32_t seq, ack;     /* offsets from the sender's/peer's ISN */
		const char *state;
	} steps[] = {
		{ RS_TCP_SYN, 0, 0, 0, "syn_sent" },
		{ RS_TCP_SYN | RS_TCP_ACK, 1, 0, 1, "syn_recv" },
		{ RS_TCP_ACK, 0, 1, 1, "established" },
		{ RS_TCP_ACK | RS_TCP_FIN, 0, 1, 1, "fin_wait" },
		{ RS_TCP_ACK | RS_TCP_FIN, 1, 1, 2, "closing" },
		{ RS_TCP_ACK, 0, 2, 2, "closed" },
	};
	struct rt_env *e = *state;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct rt_conn c = C1;

		c.cport = (uint16_t)(41000 + i);
		for (size_t j = 0; j <= i; j++) {
			struct rs_pkt p;

			if (steps[j].dir == 0)
				p = rt_tcp(c.cli, c.cport, c.srv, c.sport,
					   steps[j].fl, c.cisn + steps[j].seq,
					   c.sisn + steps[j].ack, NULL, 0,
					   RT_SEC + j);
			else
				p = rt_tcp(c.srv, c.sport, c.cli, c.cport,
					   steps[j].fl, c.sisn + steps[j].seq,
					   c.cisn + steps[j].ack, NULL, 0,
					   RT_SEC + j);
			assert_int_equal(rs_flow_packet(e->w, &p), 0);
		}
		rs_flow_flush(e->w, RT_SEC + 10, RS_END_SHUTDOWN);
		assert_int_equal(e->ends.n, i + 1);
		assert_string_equal(e->ends.info[i].state, steps[i].state);
		assert_int_equal(e->ends.why[i],
				 i >= 3 ? RS_END_FIN : RS_END_SHUTDOWN);
	}
}

static void test_midstream_roles(void **state)
{
	struct rt_env *e = *state;
	/* Data from the server (port 80) first: client guessed by port. */
	struct rs_pkt d = rt_tcp(C1.srv, 80, C1.cli, 40000, RS_TCP_ACK, 7, 9,
				 "x", 1, RT_SEC);
	/* SYN-ACK first: its sender is the server even on the higher port. */
	struct rs_pkt sa = rt_tcp("198.18.0.7", 50000, "198.18.0.8", 40,
				  RS_TCP_SYN | RS_TCP_ACK, 1, 2, NULL, 0,
				  RT_SEC);

	rs_flow_packet(e->w, &d);
	rs_flow_packet(e->w, &sa);
	rs_flow_flush(e->w, RT_SEC, RS_END_SHUTDOWN);
	assert_int_equal(e->ends.n, 2);
	/* Flush goes by timeout class: the syn_recv flow comes first. */
	assert_int_equal(e->ends.info[1].cli_port, 40000);
	assert_int_equal(e->ends.info[1].srv_port, 80);
	assert_int_equal(e->ends.info[1].pkts[1], 1); /* to the client */
	assert_true(e->ends.info[1].flags & RS_FLOW_MIDSTREAM);
	assert_string_equal(e->ends.info[1].state, "established");
	assert_int_equal(e->ends.info[0].cli_port, 40);
	assert_int_equal(e->ends.info[0].srv_port, 50000);
	assert_true(e->ends.info[0].flags & RS_FLOW_MIDSTREAM);
	assert_true(e->ends.info[0].flags & RS_FLOW_SYNACK_SEEN);
	assert_string_equal(e->ends.info[0].state, "syn_recv");
	assert_int_equal(st(e)->midstream, 2);
}

/* ---- timeouts ----------------------------------------------------------- */

static void small_timeouts(struct rs_flow_config *c)
{
	c->timeout_new_ns = 10 * RT_SEC;
	c->timeout_est_ns = 100 * RT_SEC;
	c->timeout_closed_ns = 5 * RT_SEC;
	c->timeout_udp_ns = 20 * RT_SEC;
	c->timeout_other_ns = 30 * RT_SEC;
}

static int env_timeouts_setup(void **state)
{
	struct rt_env *e;

	if (rt_env_new(&e, small_timeouts, true))
		return -1;
	*state = e;
	return 0;
}

/* One flow per timeout class, all last seen at t=0; each must end exactly
 * when its idle time passes its timeout, not before. */
static void test_timeouts_per_state(void **state)
{
	static const struct { uint64_t t; unsigned ended; uint16_t port; } ticks[] = {
		{ 5 * RT_SEC, 0, 0 },
		{ 5 * RT_SEC + 1, 1, 3 },      /* closed (FIN seen) */
		{ 10 * RT_SEC, 1, 0 },
		{ 10 * RT_SEC + 1, 2, 1 },     /* new (SYN only) */
		{ 20 * RT_SEC + 1, 3, 4 },     /* udp */
		{ 30 * RT_SEC + 1, 4, 5 },     /* other */
		{ 100 * RT_SEC, 4, 0 },
		{ 100 * RT_SEC + 1, 5, 2 },    /* established */
	};
	struct rt_env *e = *state;
	struct rs_pkt p;
	struct rt_conn est = C1, cl = C1;

	p = rt_tcp(C1.cli, 1, C1.srv, 80, RS_TCP_SYN, 1, 0, NULL, 0, 2);
	rs_flow_packet(e->w, &p);
	est.cport = 2;
	rt_handshake(e->w, &est, 0);
	cl.cport = 3;
	rt_handshake(e->w, &cl, 0);
	rt_c2s(e->w, &cl, RS_TCP_ACK | RS_TCP_FIN, 0, 0, NULL, 0, 0);
	p = rt_pkt(17, C1.cli, 4, C1.srv, 53, 0);
	rs_flow_packet(e->w, &p);
	p = rt_pkt(47, C1.cli, 0, C1.srv, 0, 0);   /* GRE */
	p.l4 = NULL;
	rs_flow_packet(e->w, &p);
	assert_int_equal(rs_flow_table_count(e->t), 5);
	/* Times are absolute: the handshake packets were at 0..2 ns. */
	for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		rs_flow_tick(e->w, ticks[i].t + 2);
		assert_int_equal(e->ends.n, ticks[i].ended);
		if (ticks[i].port == 5)
			assert_int_equal(e->ends.info[e->ends.n - 1].proto, 47);
		else if (ticks[i].port)
			assert_int_equal(e->ends.info[e->ends.n - 1].cli_port,
					 ticks[i].port);
	}
	assert_int_equal(e->ends.why[0], RS_END_FIN);    /* closed by FIN */
	for (unsigned i = 1; i < 5; i++)
		assert_int_equal(e->ends.why[i], RS_END_TIMEOUT);
	assert_int_equal(st(e)->flows_timeout, 5);
	assert_int_equal(st(e)->flows_ended, 5);
	assert_int_equal(st(e)->flows_active, 0);
	assert_int_equal(rs_flow_table_count(e->t), 0);
}

/* A packet moves a flow's deadline; time never runs backwards. */
static void test_timeout_refreshed(void **state)
{
	struct rt_env *e = *state;
	struct rs_pkt p = rt_pkt(17, C1.cli, 9, C1.srv, 53, 0);

	rs_flow_packet(e->w, &p);
	p.ts_ns = 15 * RT_SEC;
	rs_flow_packet(e->w, &p);
	rs_flow_tick(e->w, 25 * RT_SEC);
	assert_int_equal(e->ends.n, 0);
	rs_flow_tick(e->w, 1);               /* older time: ignored */
	p.ts_ns = 3 * RT_SEC;                /* older packet: no rewind */
	rs_flow_packet(e->w, &p);
	rs_flow_tick(e->w, 45 * RT_SEC + 1);
	assert_int_equal(e->ends.n, 1);
	assert_int_equal(e->ends.info[0].pkts[0], 3);
	assert_int_equal(e->ends.info[0].last_ts_ns, 15 * RT_SEC);
}

/* ---- tuple reuse -------------------------------------------------------- */

static void test_tuple_reuse(void **state)
{
	struct rt_env *e = *state;
	struct rt_conn c2 = C1;

	rt_handshake(e->w, &C1, RT_SEC);
	rt_c2s(e->w, &C1, RS_TCP_ACK | RS_TCP_FIN, 0, 0, NULL, 0, RT_SEC + 3);
	rt_s2c(e->w, &C1, RS_TCP_ACK | RS_TCP_FIN, 0, 1, NULL, 0, RT_SEC + 4);
	rt_c2s(e->w, &C1, RS_TCP_ACK, 1, 1, NULL, 0, RT_SEC + 5);
	assert_int_equal(e->ends.n, 0);             /* closed, lingering */
	/* A SYN with a new ISN on the closed tuple. */
	c2.cisn = 900000;
	c2.sisn = 700000;
	rt_handshake(e->w, &c2, 2 * RT_SEC);
	assert_int_equal(st(e)->tuple_reuse, 1);
	assert_int_equal(e->ends.n, 1);
	assert_int_equal(e->ends.why[0], RS_END_FIN);
	assert_string_equal(e->ends.info[0].state, "closed");
	assert_int_equal(e->ends.info[0].pkts[0], 4);
	assert_int_equal(st(e)->flows_created, 2);
	assert_int_equal(rs_flow_table_count(e->t), 1);
	/* Reset the new one; then a third SYN reuses it again. */
	rt_s2c(e->w, &c2, RS_TCP_RST | RS_TCP_ACK, 0, 0, NULL, 0, 3 * RT_SEC);
	rt_handshake(e->w, &C1, 4 * RT_SEC);
	assert_int_equal(st(e)->tuple_reuse, 2);
	assert_int_equal(e->ends.n, 2);
	assert_int_equal(e->ends.why[1], RS_END_RST);
	assert_int_equal(e->ends.info[1].first_ts_ns, 2 * RT_SEC);
	/* A SYN retransmission on an open flow is no reuse. */
	rt_handshake(e->w, &C1, 5 * RT_SEC);
	assert_int_equal(st(e)->tuple_reuse, 2);
	assert_int_equal(rs_flow_table_count(e->t), 1);
}

/* ---- eviction ------------------------------------------------------------ */

static void cap4(struct rs_flow_config *c)
{
	c->max_flows = 4;
}

static int env_cap4_setup(void **state)
{
	struct rt_env *e;

	if (rt_env_new(&e, cap4, true))
		return -1;
	*state = e;
	return 0;
}

static void test_evict_at_max_flows(void **state)
{
	struct rt_env *e = *state;

	for (uint16_t i = 0; i < 4; i++) {
		struct rs_pkt p = rt_pkt(17, C1.cli, (uint16_t)(100 + i), C1.srv,
					 53, i * RT_SEC);
		assert_int_equal(rs_flow_packet(e->w, &p), 0);
	}
	/* Refresh the oldest: the next insert must evict port 101. */
	{
		struct rs_pkt p = rt_pkt(17, C1.cli, 100, C1.srv, 53, 5 * RT_SEC);
		rs_flow_packet(e->w, &p);
	}
	for (uint16_t i = 4; i < 10; i++) {
		struct rs_pkt p = rt_pkt(17, C1.cli, (uint16_t)(100 + i), C1.srv,
					 53, (6 + i) * RT_SEC);
		assert_int_equal(rs_flow_packet(e->w, &p), 0);
		assert_true(rs_flow_table_count(e->t) <= 4);
	}
	assert_int_equal(rs_flow_table_count(e->t), 4);
	assert_int_equal(st(e)->flows_evicted, 6);
	assert_int_equal(e->ends.by_reason[RS_END_EVICTED], 6);
	assert_int_equal(e->ends.info[0].cli_port, 101);
	assert_int_equal(e->ends.info[1].cli_port, 102);
	assert_int_equal(e->ends.info[2].cli_port, 103);
	assert_int_equal(e->ends.info[3].cli_port, 100);
	assert_int_equal(st(e)->flows_created,
			 st(e)->flows_active + st(e)->flows_ended);
}

/* Nearest deadline goes first: a closed flow before an older established. */
static void test_evict_nearest_deadline(void **state)
{
	struct rt_env *e = *state;
	struct rt_conn c = C1;

	for (uint16_t i = 0; i < 3; i++) {
		c.cport = (uint16_t)(200 + i);
		rt_handshake(e->w, &c, i * RT_SEC);
	}
	c.cport = 203;
	rt_handshake(e->w, &c, 10 * RT_SEC);
	rt_c2s(e->w, &c, RS_TCP_ACK | RS_TCP_RST, 0, 0, NULL, 0, 10 * RT_SEC);
	c.cport = 204;
	rt_handshake(e->w, &c, 11 * RT_SEC);
	assert_int_equal(e->ends.n, 1);
	assert_int_equal(e->ends.info[0].cli_port, 203);
	assert_int_equal(e->ends.why[0], RS_END_RST);
	assert_int_equal(st(e)->flows_evicted, 1);
}

/* ---- ownership ------------------------------------------------------------- */

static void test_wrong_worker_and_refused(void **state)
{
	struct rt_env *e = *state;
	struct rs_flow_worker *w2 = NULL;
	struct rt_ends ends2;
	struct rs_pkt p = rt_pkt(17, C1.cli, 300, C1.srv, 53, RT_SEC);
	struct rs_pkt r = rt_pkt(17, C1.srv, 53, C1.cli, 300, RT_SEC);

	memset(&ends2, 0, sizeof(ends2));
	assert_int_equal(rs_flow_worker_new(&w2, e->t, 1, NULL, NULL, rt_end,
					    &ends2), 0);
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	assert_int_equal(rs_flow_packet(w2, &r), 0);
	assert_int_equal(rs_flow_worker_stats(w2)->wrong_worker, 1);
	assert_int_equal(rs_flow_worker_stats(w2)->flows_created, 0);
	/* Fill the table from worker 1: worker 2 owns nothing to evict. */
	for (uint16_t i = 1; i < 4; i++) {
		p.sport = (uint16_t)(300 + i);
		assert_int_equal(rs_flow_packet(e->w, &p), 0);
	}
	p.sport = 999;
	assert_int_equal(rs_flow_packet(w2, &p), -ENOSPC);
	assert_int_equal(rs_flow_worker_stats(w2)->flows_refused, 1);
	assert_int_equal(rs_flow_table_count(e->t), 4);
	/* Worker 1 can still insert: it evicts its own. */
	p.sport = 1000;
	assert_int_equal(rs_flow_packet(e->w, &p), 0);
	assert_int_equal(st(e)->flows_evicted, 1);
	rs_flow_worker_free(w2);
	assert_int_equal(ends2.n, 0);
	assert_int_equal(e->ends.info[0].pkts[1], 0); /* untouched by w2 */
}

/* ---- the per-worker flow cache -------------------------------------- */

/* Packets per UDP flow by client port, from the flows' ends. */
struct port_pkts {
	uint64_t pkts[65536];
	unsigned ends;
};

static void count_end(void *ctx, const struct rs_flow_info *f,
		      enum rs_flow_end_reason why)
{
	struct port_pkts *c = ctx;

	(void)why;
	c->pkts[f->cli_port] += f->pkts[0] + f->pkts[1];
	c->ends++;
}

/* More flows than the cache has slots (so slots are shared and entries
 * replaced), interleaved, in both directions, with a second worker asking
 * for the first one's flows; then every flow ends by timeout and the same
 * tuples come back: each must be a new flow, never an ended one a cache
 * slot still remembered.  Quiescent states between phases let the ended
 * flows be freed, so a stale pointer would also be a use after free. */
static void test_flow_cache_churn(void **state)
{
	enum { N = 1500, ROUNDS = 5 };  /* the cache has 1024 slots */
	struct rs_flow_table *t = NULL;
	struct rs_flow_worker *w = NULL, *w2 = NULL;
	struct port_pkts *c = calloc(1, sizeof(*c)), *c2 = calloc(1, sizeof(*c2));

	(void)state;
	assert_non_null(c);
	assert_non_null(c2);
	assert_int_equal(rs_flow_table_new(&t, NULL), 0);
	assert_int_equal(rs_flow_worker_new(&w, t, 0, NULL, NULL, count_end,
					    c), 0);
	assert_int_equal(rs_flow_worker_new(&w2, t, 1, NULL, NULL, count_end,
					    c2), 0);
	for (int r = 0; r < ROUNDS; r++) {
		for (uint16_t i = 0; i < N; i++) {
			uint16_t port = (uint16_t)(10000 + i);
			struct rs_pkt p = (i + r) % 2 && r > 0
				? rt_pkt(17, C1.srv, 53, C1.cli, port, RT_SEC)
				: rt_pkt(17, C1.cli, port, C1.srv, 53, RT_SEC);

			assert_int_equal(rs_flow_packet(w, &p), 0);
			if (i % 7 == 0)
				assert_int_equal(rs_flow_packet(w2, &p), 0);
		}
	}
	assert_int_equal(rs_flow_worker_stats(w)->flows_created, N);
	assert_int_equal(rs_flow_worker_stats(w2)->flows_created, 0);
	assert_int_equal(rs_flow_worker_stats(w2)->wrong_worker,
			 ROUNDS * ((N + 6) / 7));
	assert_int_equal(rs_flow_table_count(t), N);
	rs_flow_quiescent(w);
	rs_flow_quiescent(w2);
	/* All time out (udp: 300 s). */
	rs_flow_tick(w, 400 * RT_SEC);
	assert_int_equal(c->ends, N);
	assert_int_equal(rs_flow_table_count(t), 0);
	for (uint16_t i = 0; i < N; i++)
		assert_int_equal(c->pkts[10000 + i], ROUNDS);
	rs_flow_quiescent(w);
	rs_flow_quiescent(w2);
	/* The same tuples again, each twice: new flows, one packet each at
	 * first, then found again. */
	memset(c->pkts, 0, sizeof(c->pkts));
	for (int r = 0; r < 2; r++) {
		for (uint16_t i = 0; i < N; i++) {
			struct rs_pkt p = rt_pkt(17, C1.cli,
						 (uint16_t)(10000 + i), C1.srv,
						 53, 401 * RT_SEC);

			assert_int_equal(rs_flow_packet(w, &p), 0);
		}
		assert_int_equal(rs_flow_worker_stats(w)->flows_created, 2 * N);
	}
	assert_int_equal(rs_flow_table_count(t), N);
	rs_flow_worker_free(w2);
	rs_flow_worker_free(w);
	assert_int_equal(c->ends, 2 * N);
	assert_int_equal(c2->ends, 0);
	for (uint16_t i = 0; i < N; i++)
		assert_int_equal(c->pkts[10000 + i], 2);
	rs_flow_table_free(t);
	free(c);
	free(c2);
}

/* The index starts small and grows at quiescent states once the flows
 * outnumber its buckets, never past max_flows rounded up to a power of
 * two; every flow is still found after each growth. */
static void grow_run(uint64_t max_flows, unsigned n, unsigned long start,
		     unsigned long end)
{
	struct rs_flow_config cfg;
	struct rs_flow_table *t = NULL;
	struct rs_flow_worker *w = NULL;
	unsigned long b = 0;

	rs_flow_config_default(&cfg);
	cfg.max_flows = max_flows;
	assert_int_equal(rs_flow_table_new(&t, &cfg), 0);
	assert_int_equal(rs_flow_table_buckets(t), start);
	assert_int_equal(rs_flow_worker_new(&w, t, 0, NULL, NULL, NULL, NULL),
			 0);
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < n; i++) {
			char cli[32];
			snprintf(cli, sizeof(cli), "198.18.%u.%u", i >> 8 & 255,
				 i & 255);
			struct rs_pkt p = rt_pkt(17, cli, (uint16_t)(1024 + (i >> 16)),
						 "198.19.0.1", 53, RT_SEC);

			assert_int_equal(rs_flow_packet(w, &p), 0);
			if (i % 64 == 63) {
				rs_flow_quiescent(w);
				/* Never smaller, and as many as the flows. */
				assert_true(rs_flow_table_buckets(t) >= b);
				b = rs_flow_table_buckets(t);
				assert_true(b >= rs_flow_table_count(t));
			}
		}
		/* The second pass finds every flow of the first. */
		assert_int_equal(rs_flow_worker_stats(w)->flows_created, n);
		assert_int_equal(rs_flow_worker_stats(w)->flows_evicted, 0);
		assert_int_equal(rs_flow_table_count(t), n);
	}
	rs_flow_quiescent(w);
	assert_int_equal(rs_flow_table_buckets(t), end);
	rs_flow_worker_free(w);
	rs_flow_table_free(t);
}

static void test_index_grows(void **state)
{
	(void)state;
	grow_run(262144, 20000, 4096, 65536);  /* 2 x 20000, rounded up */
	grow_run(5000, 5000, 4096, 8192);      /* capped by max_flows */
	grow_run(100, 100, 1024, 1024);        /* small cap: never grows */
}

/* ---- flush ----------------------------------------------------------------- */

static void test_flush_end_of_file(void **state)
{
	struct rt_env *e = *state;
	struct rt_conn c = C1;

	rt_handshake(e->w, &c, RT_SEC);
	c.cport = 40001;
	rt_handshake(e->w, &c, RT_SEC);
	rt_c2s(e->w, &c, RS_TCP_ACK | RS_TCP_FIN, 0, 0, NULL, 0, RT_SEC + 3);
	{
		struct rs_pkt p = rt_pkt(17, C1.cli, 5, C1.srv, 53, RT_SEC);
		rs_flow_packet(e->w, &p);
	}
	rs_flow_flush(e->w, 2 * RT_SEC, RS_END_SHUTDOWN);
	assert_int_equal(e->ends.n, 3);
	assert_int_equal(e->ends.by_reason[RS_END_SHUTDOWN], 2);
	assert_int_equal(e->ends.by_reason[RS_END_FIN], 1);
	assert_int_equal(rs_flow_table_count(e->t), 0);
	assert_int_equal(st(e)->flows_active, 0);
	assert_int_equal(st(e)->flows_ended, 3);
	/* Flushing again ends nothing more. */
	rs_flow_flush(e->w, 3 * RT_SEC, RS_END_SHUTDOWN);
	assert_int_equal(e->ends.n, 3);
}

static void test_worker_free_ends_flows(void **state)
{
	struct rt_env *e = *state;
	struct rs_flow_worker *w2 = NULL;
	struct rt_ends ends2;
	struct rs_pkt p = rt_pkt(17, C1.cli, 7, C1.srv, 53, RT_SEC);

	(void)e;
	memset(&ends2, 0, sizeof(ends2));
	assert_int_equal(rs_flow_worker_new(&w2, e->t, 1, NULL, NULL, rt_end,
					    &ends2), 0);
	rs_flow_packet(w2, &p);
	rs_flow_offline(w2);     /* freeing while offline must still work */
	rs_flow_worker_free(w2);
	assert_int_equal(ends2.n, 1);
	assert_int_equal(ends2.why[0], RS_END_SHUTDOWN);
	assert_int_equal(rs_flow_table_count(e->t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_default),
		cmocka_unit_test(test_table_new_invalid),
		cmocka_unit_test(test_table_new_defaults),
		cmocka_unit_test(test_worker_new_invalid),
		cmocka_unit_test(test_end_reason_names),
		cmocka_unit_test(test_stats_add),
		cmocka_unit_test_setup_teardown(test_key_both_directions, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_key_distinct, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_key_paths, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_skipped, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_roles_handshake, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_states, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_midstream_roles, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_timeouts_per_state, env_timeouts_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_timeout_refreshed, env_timeouts_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tuple_reuse, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_evict_at_max_flows, env_cap4_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_evict_nearest_deadline, env_cap4_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_worker_and_refused, env_cap4_setup, env_teardown),
		cmocka_unit_test(test_flow_cache_churn),
		cmocka_unit_test(test_index_grows),
		cmocka_unit_test_setup_teardown(test_flush_end_of_file, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_worker_free_ends_flows, env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
