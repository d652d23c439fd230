/* test_decode.c - decode/ unit tests: API controls, then well-formed frames. */
#include <arpa/inet.h>
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"
#include "flow_view.h"

/* ---- Controls ---- */

static void test_err_names(void **state)
{
	(void)state;
	for (int i = 0; i < RS_DERR__COUNT; i++) {
		const char *n = rs_decode_err_name((enum rs_decode_err)i);

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		assert_true(n[0] != '\0');
		for (const char *c = n; *c; c++)
			assert_true(islower((unsigned char)*c) ||
				    isdigit((unsigned char)*c) || *c == '_');
		for (int j = 0; j < i; j++)
			assert_string_not_equal(
				n, rs_decode_err_name((enum rs_decode_err)j));
	}
	assert_string_equal(rs_decode_err_name(RS_DERR_NONE), "none");
	assert_string_equal(rs_decode_err_name(RS_DERR_IPV4_HLEN), "ipv4_hlen");
	assert_string_equal(rs_decode_err_name(RS_DERR_TCP_OPT), "tcp_opt");
	assert_string_equal(rs_decode_err_name(RS_DERR_VLAN_DEPTH),
			    "vlan_depth");
	assert_string_equal(rs_decode_err_name(RS_DERR_ICMP_TRUNC),
			    "icmp_trunc");
	assert_string_equal(rs_decode_err_name(RS_DERR__COUNT), "unknown");
	assert_string_equal(rs_decode_err_name((enum rs_decode_err)-1),
			    "unknown");
}

static void test_stats_add(void **state)
{
	struct rs_decode_stats a, b;
	uint64_t *pa = (uint64_t *)&a, *pb = (uint64_t *)&b;
	size_t n = offsetof(struct rs_decode_stats, err) / sizeof(uint64_t) +
		   RS_DERR__COUNT;

	(void)state;
	assert_true(n * sizeof(uint64_t) <= sizeof(a));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < n; i++) {
		pa[i] = 1000 * (i + 1);
		pb[i] = i + 1;
	}
	rs_decode_stats_add(&a, &b);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pa[i], 1001 * (i + 1));
	for (size_t i = 0; i < n; i++)      /* src untouched */
		assert_int_equal(pb[i], i + 1);
	assert_int_equal((uintptr_t)&a % 64, 0);
}

static void test_addr_str(void **state)
{
	const uint8_t v4[16] = { 198, 18, 0, 1 };
	const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char buf[46];

	(void)state;
	assert_ptr_equal(rs_addr_str(v4, 4, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "198.18.0.1");
	assert_string_equal(rs_addr_str(v6, 16, buf, sizeof(buf)),
			    "2001:db8::1");
	assert_string_equal(rs_addr_str(v6, 7, buf, sizeof(buf)), "");
	assert_string_equal(rs_addr_str(v4, 4, buf, 5), "");   /* too small */
	assert_string_equal(rs_addr_str(v4, 4, buf, 11), "198.18.0.1");
	assert_null(rs_addr_str(v4, 4, NULL, 0));
}

static void test_zero_length_and_null_stats(void **state)
{
	static const uint8_t one[1] = { 0x45 };
	struct dresult r;

	(void)state;
	decode_into(&r, RS_LINKTYPE_ETHERNET, one, 0, 0, NULL);
	assert_int_equal(r.e, RS_DERR_CAPLEN);
	assert_int_equal(r.st.err[RS_DERR_CAPLEN], 1);
	decode_into(&r, RS_LINKTYPE_RAW, one, 0, 60, NULL);
	assert_int_equal(r.e, RS_DERR_CAPLEN);
	check_sane("zero length", &r, one, 0);
	/* stats may be NULL; the result is the same */
	assert_int_equal(rs_decode(&r.p, RS_LINKTYPE_RAW, one, 1, 1, NULL),
			 RS_DERR_IPV4_TRUNC);
	assert_int_equal(rs_decode_ex(&r.p, RS_LINKTYPE_RAW, one, 1, 1, NULL,
				      NULL), RS_DERR_IPV4_TRUNC);
}

/* A garbage-filled rs_pkt comes back clean: every field decode does not
 * set is zero, and ts_ns is the caller's. */
static void test_view_fully_written(void **state)
{
	const struct fcase *arp = NULL;
	struct dresult r;
	struct rs_pkt zero;

	(void)state;
	for (size_t i = 0; i < n_good_frames; i++)
		if (!strcmp(good_frames[i].name, "arp"))
			arp = &good_frames[i];
	assert_non_null(arp);
	decode_into(&r, arp->linktype, arp->data, arp->len, arp->len, NULL);
	assert_int_equal(r.e, RS_DERR_NONE);
	memset(&zero, 0, sizeof(zero));
	zero.frame = arp->data;
	zero.caplen = zero.wirelen = arp->len;
	zero.ts_ns = TS_MARK;
	zero.ethertype = 0x0806;
	/* compare field by field (padding bytes keep the 0xa5 fill) */
	assert_memory_equal(&r.p.flags, &zero.flags, sizeof(zero.flags));
	assert_int_equal(r.p.vlan_count, 0);
	assert_int_equal(r.p.ip_version, 0);
	assert_int_equal(r.p.addr_len, 0);
	assert_int_equal(r.p.ttl, 0);
	assert_int_equal(r.p.l4proto, 0);
	assert_memory_equal(r.p.src, zero.src, 16);
	assert_memory_equal(r.p.dst, zero.dst, 16);
	assert_null(r.p.l3);
	assert_null(r.p.l4);
	assert_null(r.p.payload);
	assert_int_equal(r.p.l3_len + r.p.payload_len + r.p.ip_id +
			 r.p.frag_offset + r.p.sport + r.p.dport + r.p.seq +
			 r.p.ack + r.p.window + r.p.tcp_flags + r.p.icmp_type +
			 r.p.icmp_code, 0);
	assert_memory_equal(&r.p.tcpopt.tsval, &zero.tcpopt.tsval, 4);
	assert_int_equal(r.p.tcpopt.mss + r.p.tcpopt.wscale +
			 r.p.tcpopt.sack_blocks + r.p.tcpopt.has_mss +
			 r.p.tcpopt.has_wscale + r.p.tcpopt.sack_permitted +
			 r.p.tcpopt.has_ts + r.p.tcpopt.tsecr, 0);
	assert_int_equal(r.p.ts_ns, TS_MARK);
}

/* ---- Data path: the table of well-formed frames ---- */

static void test_good_frames(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_good_frames; i++)
		check_case(&good_frames[i]);
}

static const struct fcase *find_good(const char *name)
{
	for (size_t i = 0; i < n_good_frames; i++)
		if (!strcmp(good_frames[i].name, name))
			return &good_frames[i];
	fail_msg("no frame named '%s'", name);
	return NULL;
}

static void decode_named(struct dresult *r, const char *name)
{
	const struct fcase *c = find_good(name);

	decode_into(r, c->linktype, c->data, c->len,
		    c->wirelen ? c->wirelen : c->len, c->meta);
	assert_int_equal(r->e, RS_DERR_NONE);
}

static void test_ipv4_fields(void **state)
{
	static const uint8_t a[4] = { 198, 18, 0, 1 }, b[4] = { 198, 19, 255, 254 };
	struct dresult r;
	char s[46];

	(void)state;
	decode_named(&r, "eth ipv4 tcp");
	assert_int_equal(r.p.addr_len, 4);
	assert_memory_equal(r.p.src, a, 4);
	assert_memory_equal(r.p.dst, b, 4);
	assert_string_equal(rs_addr_str(r.p.src, r.p.addr_len, s, sizeof(s)),
			    "198.18.0.1");
	assert_int_equal(r.p.ttl, 64);
	assert_int_equal(r.p.ip_id, 0x1234);
	assert_int_equal(r.p.seq, 1000);
	assert_int_equal(r.p.ack, 2000);
	assert_int_equal(r.p.window, 512);
	assert_int_equal(r.p.tcp_flags, RS_TCP_PSH | RS_TCP_ACK);
	assert_int_equal(r.p.caplen, 58);
	assert_int_equal(r.p.wirelen, 58);
	assert_memory_equal(r.p.payload, "abcd", 4);
	assert_false(r.p.tcpopt.has_mss || r.p.tcpopt.has_ts ||
		     r.p.tcpopt.has_wscale || r.p.tcpopt.sack_permitted ||
		     r.p.tcpopt.sack_blocks);

	decode_named(&r, "ipv4 first fragment tcp");
	assert_int_equal(r.p.ip_id, 0x4242);
	decode_named(&r, "eth ipv4 icmp echo");
	assert_int_equal(r.p.icmp_type, 8);
	assert_int_equal(r.p.icmp_code, 0);
	decode_named(&r, "sll2 outgoing ipv4 icmp");
	assert_int_equal(r.p.icmp_type, 0);
}

static void test_ipv6_fields(void **state)
{
	static const uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	struct dresult r;
	char s[46];

	(void)state;
	decode_named(&r, "eth ipv6 tcp");
	assert_int_equal(r.p.addr_len, 16);
	assert_memory_equal(r.p.src, a, 16);
	assert_memory_equal(r.p.dst, b, 16);
	assert_string_equal(rs_addr_str(r.p.dst, r.p.addr_len, s, sizeof(s)),
			    "2001:db8::2");
	assert_int_equal(r.p.ttl, 63);
	assert_int_equal(r.p.ip_id, 0);

	decode_named(&r, "ipv6 chain hbh dst routing atomic-fragment tcp");
	assert_int_equal(r.p.ip_id, 0xdeadbeef);
	decode_named(&r, "ipv6 first fragment udp");
	assert_int_equal(r.p.ip_id, 7);
	decode_named(&r, "eth ipv6 icmpv6 echo");
	assert_int_equal(r.p.icmp_type, 128);
}

static void test_tcp_options(void **state)
{
	struct dresult r;
	const struct rs_tcp_opts *o = &r.p.tcpopt;

	(void)state;
	decode_named(&r, "tcp syn mss sackok ts nop wscale");
	assert_int_equal(r.p.tcp_flags, RS_TCP_SYN);
	assert_int_equal(r.p.window, 64240);
	assert_true(o->has_mss);
	assert_int_equal(o->mss, 1460);
	assert_true(o->sack_permitted);
	assert_true(o->has_ts);
	assert_int_equal(o->tsval, 12345);
	assert_int_equal(o->tsecr, 0);
	assert_true(o->has_wscale);
	assert_int_equal(o->wscale, 7);
	assert_int_equal(o->sack_blocks, 0);

	decode_named(&r, "tcp ack nop nop timestamps + data");
	assert_true(o->has_ts && !o->has_mss && !o->has_wscale &&
		    !o->sack_permitted);
	assert_int_equal(o->tsval, 111);
	assert_int_equal(o->tsecr, 222);
	assert_memory_equal(r.p.payload, "GET /", 5);

	decode_named(&r, "tcp sack four blocks");
	assert_int_equal(o->sack_blocks, 4);
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(o->sack[k][0], 10 + 20 * k);
		assert_int_equal(o->sack[k][1], 20 + 20 * k);
	}
	assert_false(o->has_ts);

	decode_named(&r, "tcp timestamps + one sack block");
	assert_int_equal(o->sack_blocks, 1);
	assert_int_equal(o->sack[0][0], 0xfffffff0u);
	assert_int_equal(o->sack[0][1], 0x10);
	assert_true(o->has_ts);
	assert_int_equal(o->tsval, 7);
	assert_int_equal(o->tsecr, 8);

	decode_named(&r, "tcp unknown options, eol then garbage");
	assert_false(o->has_mss || o->has_ts || o->has_wscale ||
		     o->sack_permitted || o->sack_blocks);
}

/* Options must not leak from one frame to the next in the same rs_pkt. */
static void test_tcp_options_reset(void **state)
{
	const struct fcase *syn = find_good("tcp syn mss sackok ts nop wscale");
	const struct fcase *plain = find_good("eth ipv4 tcp");
	struct rs_pkt p;

	(void)state;
	assert_int_equal(rs_decode(&p, syn->linktype, syn->data, syn->len,
				   syn->len, NULL), RS_DERR_NONE);
	assert_true(p.tcpopt.has_mss);
	assert_int_equal(rs_decode(&p, plain->linktype, plain->data, plain->len,
				   plain->len, NULL), RS_DERR_NONE);
	assert_false(p.tcpopt.has_mss || p.tcpopt.has_ts ||
		     p.tcpopt.has_wscale || p.tcpopt.sack_permitted);
	assert_int_equal(p.tcpopt.mss, 0);
}

/* All well-formed frames into one stats block: the totals are the sums. */
static void test_stats_totals(void **state)
{
	struct rs_decode_stats st, sum;
	uint64_t bytes = 0, want[10] = { 0 };
	struct rs_pkt p;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < n_good_frames; i++) {
		const struct fcase *c = &good_frames[i];
		uint32_t w = c->wirelen ? c->wirelen : c->len;

		assert_int_equal(rs_decode_ex(&p, c->linktype, c->data, c->len,
					      w, c->meta, &st), RS_DERR_NONE);
		bytes += w;
		for (unsigned b = 0; b < 10; b++)
			want[b] += (c->x.cnt >> b) & 1;
	}
	assert_int_equal(st.packets, n_good_frames);
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(st.ipv4, want[0]);
	assert_int_equal(st.ipv6, want[1]);
	assert_int_equal(st.tcp, want[2]);
	assert_int_equal(st.udp, want[3]);
	assert_int_equal(st.icmp, want[4]);
	assert_int_equal(st.icmpv6, want[5]);
	assert_int_equal(st.vlan, want[6]);
	assert_int_equal(st.fragments, want[7]);
	assert_int_equal(st.other_l3, want[8]);
	assert_int_equal(st.other_l4, want[9]);
	assert_int_equal(st.errors, 0);
	memset(&sum, 0, sizeof(sum));
	rs_decode_stats_add(&sum, &st);
	rs_decode_stats_add(&sum, &st);
	assert_int_equal(sum.packets, 2 * n_good_frames);
	assert_int_equal(sum.tcp, 2 * want[2]);
}

/* rs_decode takes a fast path for Ethernet/IPv4/TCP; rs_decode_ex with an
 * all-zero meta (which changes nothing) always takes the general one.  Both
 * must give the same view and counters for every frame: each Ethernet frame
 * of both tables, cut at every length, with wirelen equal and larger, and
 * with each header byte set to values that steer the fast path's checks.
 * rs_decode_flow must give the same result, counters and flow fields. */
static void agree(const char *name, const uint8_t *data, uint32_t n,
		  uint32_t wire)
{
	static const struct rs_decode_meta none;
	static struct dresult a, b, c;
	uint8_t *buf = dup_exact(data, n);

	decode_into(&a, RS_LINKTYPE_ETHERNET, buf, n, wire, NULL);
	decode_into(&b, RS_LINKTYPE_ETHERNET, buf, n, wire, &none);
	if (a.e != b.e || memcmp(&a.p, &b.p, sizeof(a.p)) ||
	    memcmp(&a.st, &b.st, sizeof(a.st)))
		fail_msg("%s: caplen %u wirelen %u: fast and general paths "
			 "differ (err %d vs %d)", name, n, wire, a.e, b.e);
	/* rs_decode_flow: the same but for the fields it may leave. */
	memset(&c.p, 0x5a, sizeof(c.p));
	c.p.ts_ns = TS_MARK;
	memset(&c.st, 0, sizeof(c.st));
	c.e = rs_decode_flow(&c.p, RS_LINKTYPE_ETHERNET, buf, n, wire, &c.st);
	if (c.e != a.e || !flow_view_equal(&a.p, &c.p) ||
	    memcmp(&a.st, &c.st, sizeof(a.st)))
		fail_msg("%s: caplen %u wirelen %u: rs_decode_flow differs "
			 "(err %d vs %d)", name, n, wire, c.e, a.e);
	free(buf);
}

static void test_fast_path_agrees(void **state)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x05, 0x06, 0x08, 0x0a,
					0x11, 0x20, 0x45, 0x46, 0x50, 0x80,
					0x86, 0xff };
	const struct fcase *tabs[] = { good_frames, bad_frames };
	const size_t ns[] = { n_good_frames, n_bad_frames };
	unsigned tcp_frames = 0;
	uint8_t m[256];

	(void)state;
	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; i < ns[t]; i++) {
			const struct fcase *c = &tabs[t][i];
			uint32_t len = c->len;

			if (c->linktype != RS_LINKTYPE_ETHERNET || c->meta ||
			    len > sizeof(m))
				continue;
			if (len >= 54 && c->data[12] == 0x08 &&
			    c->data[13] == 0 && c->data[23] == 6)
				tcp_frames++;
			for (uint32_t k = 0; k <= len; k++) {
				agree(c->name, c->data, k, k);
				agree(c->name, c->data, k, len);
				agree(c->name, c->data, k, len + 100);
			}
			for (uint32_t j = 12; j < len && j < 70; j++) {
				memcpy(m, c->data, len);
				for (size_t v = 0; v < sizeof(vals); v++) {
					m[j] = vals[v];
					agree(c->name, m, len, len);
				}
			}
		}
	}
	/* the tables do hold frames for the fast path */
	assert_true(tcp_frames >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_stats_add),
		cmocka_unit_test(test_addr_str),
		cmocka_unit_test(test_zero_length_and_null_stats),
		cmocka_unit_test(test_view_fully_written),
		cmocka_unit_test(test_good_frames),
		cmocka_unit_test(test_ipv4_fields),
		cmocka_unit_test(test_ipv6_fields),
		cmocka_unit_test(test_tcp_options),
		cmocka_unit_test(test_tcp_options_reset),
		cmocka_unit_test(test_stats_totals),
		cmocka_unit_test(test_fast_path_agrees),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
