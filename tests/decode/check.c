/* check.c - shared assertions for the decode tests: table cases and sanity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"

#define WANT(name, field, got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) \
		fail_msg("%s: %s = %lld (0x%llx), want %lld (0x%llx)", name, \
			 field, g_, (unsigned long long)g_, w_, \
			 (unsigned long long)w_); \
} while (0)

#define SANE(name, cond) do { \
	if (!(cond)) \
		fail_msg("%s: insane result: %s", name, #cond); \
} while (0)

uint8_t *dup_exact(const uint8_t *data, uint32_t n)
{
	uint8_t *b = malloc(n);

	if (n && !b)
		fail_msg("out of memory");
	if (n)
		memcpy(b, data, n);
	return b;
}

void decode_into(struct dresult *r, int linktype, const uint8_t *buf,
		 uint32_t n, uint32_t wirelen,
		 const struct rs_decode_meta *meta)
{
	memset(&r->p, 0xa5, sizeof(r->p));
	r->p.ts_ns = TS_MARK;
	memset(&r->st, 0, sizeof(r->st));
	r->e = meta ? rs_decode_ex(&r->p, linktype, buf, n, wirelen, meta,
				   &r->st)
		    : rs_decode(&r->p, linktype, buf, n, wirelen, &r->st);
}

unsigned stats_mask(const struct rs_decode_stats *st)
{
	static const struct { size_t off; unsigned bit; } map[] = {
		{ offsetof(struct rs_decode_stats, ipv4), S_IPV4 },
		{ offsetof(struct rs_decode_stats, ipv6), S_IPV6 },
		{ offsetof(struct rs_decode_stats, tcp), S_TCP },
		{ offsetof(struct rs_decode_stats, udp), S_UDP },
		{ offsetof(struct rs_decode_stats, icmp), S_ICMP },
		{ offsetof(struct rs_decode_stats, icmpv6), S_ICMPV6 },
		{ offsetof(struct rs_decode_stats, vlan), S_VLAN },
		{ offsetof(struct rs_decode_stats, fragments), S_FRAG },
		{ offsetof(struct rs_decode_stats, other_l3), S_OTHER_L3 },
		{ offsetof(struct rs_decode_stats, other_l4), S_OTHER_L4 },
	};
	unsigned m = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)st + map[i].off, sizeof(v));
		assert_true(v <= 1);
		if (v)
			m |= map[i].bit;
	}
	return m;
}

static uint32_t at(const uint8_t *ptr, const uint8_t *buf)
{
	return ptr ? (uint32_t)(ptr - buf) + 1 : 0;
}

void check_case(const struct fcase *c)
{
	const struct fexp *x = &c->x;
	uint8_t *buf = dup_exact(c->data, c->len);
	uint32_t wire = c->wirelen ? c->wirelen : c->len;
	struct dresult *r = malloc(sizeof(*r));
	const struct rs_pkt *p = &r->p;
	const char *n = c->name;

	assert_non_null(r);
	decode_into(r, c->linktype, buf, c->len, wire, c->meta);

	WANT(n, "error", r->e, x->err);
	WANT(n, "counters", stats_mask(&r->st), x->cnt);
	WANT(n, "flags", p->flags, x->flags);
	WANT(n, "ethertype", p->ethertype, x->ethertype);
	WANT(n, "vlan_count", p->vlan_count, x->vlan_count);
	for (unsigned i = 0; i < RS_MAX_VLAN; i++)
		WANT(n, "vlan_id[i]", i < p->vlan_count ? p->vlan_id[i] : 0,
		     x->vlan_id[i]);
	WANT(n, "ip_version", p->ip_version, x->ip_version);
	WANT(n, "l4proto", p->l4proto, x->l4proto);
	WANT(n, "l3 offset", at(p->l3, buf), x->l3);
	WANT(n, "l3_len", p->l3_len, x->l3_len);
	WANT(n, "l4 offset", at(p->l4, buf), x->l4);
	WANT(n, "sport", p->sport, x->sport);
	WANT(n, "dport", p->dport, x->dport);
	WANT(n, "payload offset", at(p->payload, buf), x->pl);
	WANT(n, "payload_len", p->payload_len, x->pl_len);
	WANT(n, "frag_offset", p->frag_offset, x->frag_offset);
	check_sane(n, r, buf, c->len);
	free(r);
	free(buf);
}

static int inside(const uint8_t *ptr, uint32_t len, const uint8_t *buf,
		  uint32_t n)
{
	if (!ptr)
		return len == 0;
	return ptr >= buf && ptr <= buf + n && len <= (uint32_t)(buf + n - ptr);
}

void check_sane(const char *name, const struct dresult *r, const uint8_t *buf,
		uint32_t n)
{
	const struct rs_pkt *p = &r->p;
	const struct rs_decode_stats *st = &r->st;
	unsigned m = stats_mask(st);
	uint64_t errs = 0;

	SANE(name, (unsigned)r->e < RS_DERR__COUNT);
	SANE(name, p->ts_ns == TS_MARK);
	SANE(name, p->frame == buf && p->caplen == n);
	SANE(name, st->packets == 1 && st->bytes == p->wirelen);
	SANE(name, st->errors == (r->e != RS_DERR_NONE));
	for (unsigned i = 0; i < RS_DERR__COUNT; i++)
		errs += st->err[i];
	SANE(name, errs == st->errors);
	SANE(name, st->err[r->e] == (r->e != RS_DERR_NONE));

	/* Pointers stay inside the bytes given. */
	SANE(name, inside(p->l3, p->l3 ? p->l3_len : 0, buf, n));
	SANE(name, p->l3 || p->l3_len == 0);
	SANE(name, inside(p->l4, 0, buf, n));
	SANE(name, inside(p->payload, p->payload_len, buf, n));
	if (p->l4)
		SANE(name, p->l3 && p->l4 >= p->l3 + 20 &&
			   p->l4 <= p->l3 + p->l3_len);
	if (p->payload)
		SANE(name, p->l4 && p->payload > p->l4 &&
			   p->payload + p->payload_len <= p->l3 + p->l3_len);
	if (r->e != RS_DERR_NONE)
		SANE(name, !p->payload && p->payload_len == 0);

	/* The view and the counters tell the same story. */
	SANE(name, p->vlan_count <= RS_MAX_VLAN);
	SANE(name, !!(m & S_VLAN) == (p->vlan_count != 0));
	SANE(name, !!(m & S_FRAG) == !!(p->flags & RS_PKT_FRAGMENT));
	SANE(name, !!(m & S_IPV4) == (p->ip_version == 4));
	SANE(name, !!(m & S_IPV6) == (p->ip_version == 6));
	SANE(name, p->ip_version == 0 || p->ip_version == 4 ||
		   p->ip_version == 6);
	SANE(name, p->addr_len == (p->ip_version == 4 ? 4 :
				   p->ip_version == 6 ? 16 : 0));
	SANE(name, (p->ip_version != 0) == (p->l3 != NULL));
	if (p->ip_version == 4)
		for (int i = 4; i < 16; i++)
			SANE(name, p->src[i] == 0 && p->dst[i] == 0);
	if (m & S_TCP)
		SANE(name, p->l4proto == 6 && p->l4);
	if (m & S_UDP)
		SANE(name, p->l4proto == 17 && p->l4);
	if (m & (S_ICMP | S_ICMPV6))
		SANE(name, (p->l4proto == 1 || p->l4proto == 58) && p->l4);
	SANE(name, !(m & S_OTHER_L3) || (r->e == RS_DERR_NONE && !p->l3));
	/* (a bad IPv4 option is reported after decoding L4, like tshark) */
	SANE(name, !(m & S_OTHER_L4) || r->e == RS_DERR_NONE ||
		   r->e == RS_DERR_IPV4_OPT);
	if ((r->e == RS_DERR_NONE || r->e == RS_DERR_IPV4_OPT) &&
	    !(p->flags & RS_PKT_FRAGMENT && p->frag_offset) &&
	    !(r->e && p->ip_version == 4 && !p->l4))
		SANE(name, __builtin_popcount(m & (S_TCP | S_UDP | S_ICMP |
						   S_ICMPV6 | S_OTHER_L3 |
						   S_OTHER_L4)) == 1);
	if (p->flags & RS_PKT_FRAG_FIRST)
		SANE(name, (p->flags & RS_PKT_FRAGMENT) && !p->frag_offset);
	if (p->flags & RS_PKT_FRAGMENT && p->frag_offset)
		SANE(name, !p->l4 && !p->payload);
	if (p->tcpopt.sack_blocks)
		SANE(name, p->tcpopt.sack_blocks <= 4);
}
