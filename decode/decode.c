/* decode.c - the hot path: one frame -> struct rs_pkt (link layer to L4).
 *
 * Every step takes (bytes, cap, wire): cap = bytes captured from here on,
 * wire = bytes the frame had on the wire from here on (wire >= cap).  A
 * length is checked against cap before the bytes are read, so nothing past
 * caplen is ever touched.  Counters are collected as bits and added to the
 * caller's stats once at the end.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "rs_decode.h"
#include "decode_impl.h"

/* Bits of what a frame is counted as; see struct rs_decode_stats. */
enum {
	C_IPV4 = 1u << 0,
	C_IPV6 = 1u << 1,
	C_TCP = 1u << 2,
	C_UDP = 1u << 3,
	C_ICMP = 1u << 4,
	C_ICMPV6 = 1u << 5,
	C_OTHER_L3 = 1u << 6,
	C_OTHER_L4 = 1u << 7,
	C_VLAN = 1u << 8,
	C_FRAG = 1u << 9,
};

/* Where each C_* bit is counted, by bit number. */
static const uint8_t cnt_off[] = {
	offsetof(struct rs_decode_stats, ipv4),
	offsetof(struct rs_decode_stats, ipv6),
	offsetof(struct rs_decode_stats, tcp),
	offsetof(struct rs_decode_stats, udp),
	offsetof(struct rs_decode_stats, icmp),
	offsetof(struct rs_decode_stats, icmpv6),
	offsetof(struct rs_decode_stats, other_l3),
	offsetof(struct rs_decode_stats, other_l4),
	offsetof(struct rs_decode_stats, vlan),
	offsetof(struct rs_decode_stats, fragments),
};
static_assert(offsetof(struct rs_decode_stats, errors) < 256,
	      "cnt_off holds bytes");
static_assert(sizeof(cnt_off) == 10, "one offset per C_* bit");

typedef enum rs_decode_err derr;

/* ts_ns belongs to the caller: everything from `flags` on is ours. */
static_assert(offsetof(struct rs_pkt, ts_ns) < offsetof(struct rs_pkt, flags),
	      "rs_pkt: ts_ns must precede the fields rs_decode clears");

static inline void pkt_reset(struct rs_pkt *p)
{
	const size_t off = offsetof(struct rs_pkt, flags);
	const size_t n = sizeof(*p) - off, half = n / 2;

	/* ~150 bytes of constant size: a handful of vector stores to a line
	 * we write anyway, and no stale field can leak from the last frame.
	 * Two halves: GCC turns one memset this big into `rep stos`, which
	 * costs more to start than the ten stores it replaces. */
	memset((char *)p + off, 0, half);
	memset((char *)p + off + half, 0, n - half);
}

/* ---- L4 ------------------------------------------------------------- */

/* TCP options in b[0..n), n <= 40.  Known kinds must have their RFC length:
 * tshark flags the same as malformed. */
static derr tcp_options(struct rs_tcp_opts *o, const uint8_t *b, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		uint8_t kind = b[i], len;

		if (kind == 1) {        /* NOP */
			i++;
			continue;
		}
		if (kind == 0)          /* EOL */
			break;
		if (unlikely(n - i < 2))
			return RS_DERR_TCP_OPT;
		len = b[i + 1];
		if (unlikely(len < 2 || len > n - i))
			return RS_DERR_TCP_OPT;
		switch (kind) {
		case 2:                 /* MSS */
			if (unlikely(len != 4))
				return RS_DERR_TCP_OPT;
			o->mss = rd16(b + i + 2);
			o->has_mss = 1;
			break;
		case 3:                 /* window scale */
			if (unlikely(len != 3))
				return RS_DERR_TCP_OPT;
			o->wscale = b[i + 2];
			o->has_wscale = 1;
			break;
		case 4:                 /* SACK permitted */
			if (unlikely(len != 2))
				return RS_DERR_TCP_OPT;
			o->sack_permitted = 1;
			break;
		case 5: {               /* SACK: 1..4 blocks fit in 40 bytes */
			if (unlikely(len < 10 || (len - 2) % 8 != 0))
				return RS_DERR_TCP_OPT;
			uint8_t nb = (uint8_t)((len - 2) / 8);
			for (uint8_t k = 0; k < nb; k++) {
				o->sack[k][0] = rd32(b + i + 2 + 8 * k);
				o->sack[k][1] = rd32(b + i + 6 + 8 * k);
			}
			o->sack_blocks = nb;
			break;
		}
		case 8:                 /* timestamps */
			if (unlikely(len != 10))
				return RS_DERR_TCP_OPT;
			o->tsval = rd32(b + i + 2);
			o->tsecr = rd32(b + i + 6);
			o->has_ts = 1;
			break;
		default:                /* unknown kinds: skipped by length */
			break;
		}
		i += len;
	}
	return RS_DERR_NONE;
}

/* decl = L4 bytes the IP header declares, cap = those captured. */
static derr dec_tcp(struct rs_pkt *p, const uint8_t *b, uint32_t cap,
		    uint32_t decl, unsigned *cnt)
{
	if (unlikely(cap < TCP_MIN_HLEN))
		return RS_DERR_TCP_TRUNC;
	*cnt |= C_TCP;
	p->l4 = b;
	p->sport = rd16(b);
	p->dport = rd16(b + 2);
	p->seq = rd32(b + 4);
	p->ack = rd32(b + 8);
	p->tcp_flags = b[13];
	p->window = rd16(b + 14);

	uint32_t hlen = (uint32_t)(b[12] >> 4) * 4;
	if (unlikely(hlen < TCP_MIN_HLEN || hlen > decl))
		return RS_DERR_TCP_HLEN;
	if (unlikely(hlen > cap))
		return RS_DERR_TCP_TRUNC;
	if (hlen == TCP_MIN_HLEN + 12 && rd32(b + 20) == 0x0101080a) {
		/* NOP NOP TS: nearly every Linux segment after the SYN */
		p->tcpopt.tsval = rd32(b + 24);
		p->tcpopt.tsecr = rd32(b + 28);
		p->tcpopt.has_ts = 1;
	} else if (hlen > TCP_MIN_HLEN) {
		derr e = tcp_options(&p->tcpopt, b + TCP_MIN_HLEN,
				     hlen - TCP_MIN_HLEN);
		if (unlikely(e))
			return e;
	}
	p->payload = b + hlen;
	p->payload_len = cap - hlen;
	return RS_DERR_NONE;
}

static derr dec_udp(struct rs_pkt *p, const uint8_t *b, uint32_t cap,
		    uint32_t decl, unsigned *cnt)
{
	if (unlikely(cap < UDP_HLEN))
		return RS_DERR_UDP_TRUNC;
	*cnt |= C_UDP;
	p->l4 = b;
	p->sport = rd16(b);
	p->dport = rd16(b + 2);

	uint32_t ulen = rd16(b + 4);
	if (unlikely(ulen == 0) && p->ip_version == 6)
		ulen = decl;    /* RFC 2675 jumbogram: length from IPv6 */
	if (unlikely(ulen < UDP_HLEN))
		return RS_DERR_UDP_LEN;
	/* A first fragment carries only part of the datagram ulen covers. */
	if (unlikely(ulen > decl) && !(p->flags & RS_PKT_FRAGMENT))
		return RS_DERR_UDP_LEN;
	p->payload = b + UDP_HLEN;
	p->payload_len = (ulen < cap ? ulen : cap) - UDP_HLEN;
	return RS_DERR_NONE;
}

static derr dec_icmp(struct rs_pkt *p, uint8_t proto, const uint8_t *b,
		     uint32_t cap, unsigned *cnt)
{
	if (unlikely(cap < ICMP_MIN_LEN))
		return RS_DERR_ICMP_TRUNC;
	*cnt |= proto == P_ICMP ? C_ICMP : C_ICMPV6;
	p->l4 = b;
	p->icmp_type = b[0];
	p->icmp_code = b[1];
	p->payload = b + ICMP_MIN_LEN;
	p->payload_len = cap - ICMP_MIN_LEN;
	return RS_DERR_NONE;
}

static inline derr dec_l4(struct rs_pkt *p, uint8_t proto, const uint8_t *b,
			  uint32_t cap, uint32_t decl, unsigned *cnt)
{
	p->l4proto = proto;
	switch (proto) {
	case P_TCP:
		return dec_tcp(p, b, cap, decl, cnt);
	case P_UDP:
		return dec_udp(p, b, cap, decl, cnt);
	case P_ICMP:
	case P_ICMPV6:
		return dec_icmp(p, proto, b, cap, cnt);
	case P_NONE:
		break;
	default:
		if (cap)
			p->l4 = b;
		break;
	}
	*cnt |= C_OTHER_L4;
	return RS_DERR_NONE;
}

/* ---- L3 ------------------------------------------------------------- */

/* Options in b[0..n): EOL ends them, NOP is one byte, the rest carry a
 * length >= 2 that must stay inside the header. */
static derr ipv4_options(const uint8_t *b, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		if (b[i] == 0)
			break;
		if (b[i] == 1) {
			i++;
			continue;
		}
		if (n - i < 2 || b[i + 1] < 2 || b[i + 1] > n - i)
			return RS_DERR_IPV4_OPT;
		i += b[i + 1];
	}
	return RS_DERR_NONE;
}

static derr dec_ipv4(struct rs_pkt *p, const uint8_t *b, uint32_t cap,
		     uint32_t wire, unsigned *cnt)
{
	if (unlikely(cap < IPV4_MIN_HLEN))
		return RS_DERR_IPV4_TRUNC;
	if (unlikely(b[0] >> 4 != 4))
		return RS_DERR_IP_VERSION;
	*cnt |= C_IPV4;
	p->ip_version = 4;
	p->addr_len = 4;
	p->l3 = b;
	p->ttl = b[8];
	p->l4proto = b[9];
	p->ip_id = rd16(b + 4);
	memcpy(p->src, b + 12, 4);
	memcpy(p->dst, b + 16, 4);

	uint32_t hlen = (uint32_t)(b[0] & 0x0f) * 4;
	if (unlikely(hlen < IPV4_MIN_HLEN || hlen > cap))
		return RS_DERR_IPV4_HLEN;
	uint32_t tot = rd16(b + 2);
	if (unlikely(tot < hlen)) {
		/* 0 = the length did not fit (TSO, BIG TCP): tshark's default
		 * reading, and ours, is "the rest of the frame". */
		if (tot != 0)
			return RS_DERR_IPV4_TOTLEN;
		tot = wire;
	}
	uint32_t present = tot;
	if (unlikely(tot > cap)) {
		present = cap;
		p->flags |= RS_PKT_L3_TRUNC;
	}
	p->l3_len = present;
	/* A bad option is reported, but IHL still says where L4 starts:
	 * decode on, as tshark does, so the counters agree with it. */
	derr eopt = RS_DERR_NONE;
	if (unlikely(hlen > IPV4_MIN_HLEN)) {
		p->flags |= RS_PKT_IPV4_OPTS;
		eopt = ipv4_options(b + IPV4_MIN_HLEN, hlen - IPV4_MIN_HLEN);
	}
	uint16_t off = rd16(b + 6);
	if (unlikely(off & 0x3fff)) {           /* MF or an offset */
		p->flags |= RS_PKT_FRAGMENT;
		p->frag_offset = (uint16_t)((off & 0x1fff) << 3);
		if (p->frag_offset)
			return eopt;            /* no L4 header here */
		p->flags |= RS_PKT_FRAG_FIRST;
	}
	uint8_t proto = b[9];
	if (unlikely(proto == P_AH)) {  /* IPsec AH: L4 follows it */
		if (present - hlen < 2 ||
		    ((uint32_t)b[hlen + 1] + 2) * 4 > present - hlen)
			return eopt ? eopt : RS_DERR_IPV4_AH;
		proto = b[hlen];
		hlen += ((uint32_t)b[hlen + 1] + 2) * 4;
	}
	derr e = dec_l4(p, proto, b + hlen, present - hlen, tot - hlen, cnt);
	return unlikely(eopt) ? eopt : e;
}

static derr dec_ipv6(struct rs_pkt *p, const uint8_t *b, uint32_t cap,
		     uint32_t wire, unsigned *cnt)
{
	if (unlikely(cap < IPV6_HLEN))
		return RS_DERR_IPV6_TRUNC;
	if (unlikely(b[0] >> 4 != 6))
		return RS_DERR_IP_VERSION;
	*cnt |= C_IPV6;
	p->ip_version = 6;
	p->addr_len = 16;
	p->l3 = b;
	p->ttl = b[7];
	memcpy(p->src, b + 8, 16);
	memcpy(p->dst, b + 24, 16);

	uint8_t nh = b[6];
	uint32_t tot = IPV6_HLEN + (uint32_t)rd16(b + 4);
	if (unlikely(tot == IPV6_HLEN) && nh != P_NONE)
		tot = wire;     /* jumbogram / BIG TCP: 0 means "the rest" */
	uint32_t present = tot;
	if (unlikely(tot > cap)) {
		present = cap;
		p->flags |= RS_PKT_L3_TRUNC;
	}
	p->l3_len = present;

	uint32_t off = IPV6_HLEN;
	for (unsigned n = 0;; n++) {
		uint32_t len;

		switch (nh) {
		case P_HOPOPTS:
		case P_ROUTING:
		case P_DSTOPTS:
		case P_AH:
			if (unlikely(n == RS_IPV6_MAX_EXT || present - off < 2))
				return RS_DERR_IPV6_EXT;
			len = nh == P_AH ? ((uint32_t)b[off + 1] + 2) * 4
					 : ((uint32_t)b[off + 1] + 1) * 8;
			if (unlikely(len > present - off))
				return RS_DERR_IPV6_EXT;
			p->flags |= RS_PKT_IPV6_EXT;
			nh = b[off];
			off += len;
			continue;
		case P_FRAGMENT: {
			if (unlikely(n == RS_IPV6_MAX_EXT || present - off < 8))
				return RS_DERR_IPV6_EXT;
			uint16_t fo = rd16(b + off + 2);
			p->flags |= RS_PKT_IPV6_EXT;
			p->ip_id = rd32(b + off + 4);
			nh = b[off];
			off += 8;
			/* Offset 0 without M is an atomic fragment (RFC 6946):
			 * a whole datagram, not a fragment. */
			if (fo & 0xfff9) {
				p->flags |= RS_PKT_FRAGMENT;
				p->frag_offset = fo & 0xfff8;
				if (p->frag_offset) {
					/* (a second fragment header may
					 * follow a first-fragment one) */
					p->flags &= (uint16_t)~RS_PKT_FRAG_FIRST;
					p->l4proto = nh;
					return RS_DERR_NONE;
				}
				p->flags |= RS_PKT_FRAG_FIRST;
			}
			continue;
		}
		default:
			break;
		}
		break;
	}
	return dec_l4(p, nh, b + off, present - off, tot - off, cnt);
}

/* ---- Link layers -------------------------------------------------------- */

static inline int is_vlan_tpid(uint16_t t)
{
	return t == ETYPE_8021Q || t == ETYPE_8021AD || t == ETYPE_QINQ_OLD;
}

/* `type` is the ethertype just read; b is what follows it. */
static derr dec_ethertype(struct rs_pkt *p, uint16_t type, const uint8_t *b,
			  uint32_t cap, uint32_t wire, unsigned *cnt)
{
	for (;;) {
		p->ethertype = type;
		if (likely(type == ETYPE_IPV4))
			return dec_ipv4(p, b, cap, wire, cnt);
		if (type == ETYPE_IPV6)
			return dec_ipv6(p, b, cap, wire, cnt);
		if (!is_vlan_tpid(type))
			break;
		if (unlikely(p->vlan_count == RS_MAX_VLAN))
			return RS_DERR_VLAN_DEPTH;
		if (unlikely(cap < VLAN_TAG_LEN))
			return RS_DERR_VLAN_TRUNC;
		p->vlan_id[p->vlan_count++] = rd16(b) & 0x0fff;
		type = rd16(b + 2);
		b += VLAN_TAG_LEN;
		cap -= VLAN_TAG_LEN;
		wire -= VLAN_TAG_LEN;
	}
	*cnt |= C_OTHER_L3;     /* ARP, LLC (type <= 1500), ... */
	return RS_DERR_NONE;
}

static derr dec_raw(struct rs_pkt *p, const uint8_t *b, uint32_t cap,
		    uint32_t wire, unsigned *cnt)
{
	switch (b[0] >> 4) {    /* cap >= 1 here */
	case 4:
		return dec_ipv4(p, b, cap, wire, cnt);
	case 6:
		return dec_ipv6(p, b, cap, wire, cnt);
	default:
		return RS_DERR_IP_VERSION;
	}
}

/* DLT_NULL stores the family in the writer's byte order, LOOP in network
 * order; families are small, so a value with high bits set is swapped. */
static derr dec_null(struct rs_pkt *p, const uint8_t *b, uint32_t cap,
		     uint32_t wire, int loop, unsigned *cnt)
{
	if (unlikely(cap < 4))
		return RS_DERR_NULL_TRUNC;
	uint32_t af = rd32(b);
	if (!loop && (af & 0xffff0000u))
		af = __builtin_bswap32(af);
	b += 4;
	cap -= 4;
	wire -= 4;
	switch (af) {
	case BSD_AF_INET:
		return dec_ipv4(p, b, cap, wire, cnt);
	case BSD_AF_INET6_LINUX:
	case BSD_AF_INET6_BSD:
	case BSD_AF_INET6_FREEBSD:
	case BSD_AF_INET6_DARWIN:
		return dec_ipv6(p, b, cap, wire, cnt);
	default:
		*cnt |= C_OTHER_L3;
		return RS_DERR_NONE;
	}
}

/* SLL: pkttype(2) hatype(2) halen(2) addr(8) protocol(2).
 * SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1)
 * addr(8). */
static derr dec_sll(struct rs_pkt *p, const uint8_t *b, uint32_t cap,
		    uint32_t wire, int v2, unsigned *cnt)
{
	uint32_t hl = v2 ? SLL2_HLEN : SLL_HLEN;
	uint16_t pkttype, hatype, proto;

	if (unlikely(cap < hl))
		return RS_DERR_SLL_TRUNC;
	if (v2) {
		proto = rd16(b);
		hatype = rd16(b + 8);
		pkttype = b[10];
	} else {
		pkttype = rd16(b);
		hatype = rd16(b + 2);
		proto = rd16(b + 14);
	}
	if (pkttype == PACKET_OUTGOING_)
		p->flags |= RS_PKT_OUTGOING;
	if (unlikely(hatype == ARPHRD_NETLINK_)) {
		*cnt |= C_OTHER_L3;
		return RS_DERR_NONE;
	}
	return dec_ethertype(p, proto, b + hl, cap - hl, wire - hl, cnt);
}

/* ---- Entry ---------------------------------------------------------- */

/* A frame bumps two to four counters: visit only the bits set, instead of
 * adding 0 to ten of them. */
static inline void account(struct rs_decode_stats *st, const struct rs_pkt *p,
			   unsigned cnt, derr e)
{
	RS_STAT_INC(st->packets);
	RS_STAT_ADD(st->bytes, p->wirelen);
	cnt |= (p->vlan_count ? C_VLAN : 0) |
	       (p->flags & RS_PKT_FRAGMENT ? C_FRAG : 0);
	while (cnt) {
		uint64_t *c = (uint64_t *)(void *)((char *)st +
					   cnt_off[__builtin_ctz(cnt)]);
		RS_STAT_INC(*c);
		cnt &= cnt - 1;
	}
	if (unlikely(e)) {
		RS_STAT_INC(st->errors);
		RS_STAT_INC(st->err[e]);
	}
}

static derr decode(struct rs_pkt *p, int linktype, const uint8_t *frame,
		   uint32_t caplen, uint32_t wirelen,
		   const struct rs_decode_meta *meta, unsigned *cnt)
{
	if (unlikely(caplen == 0 || caplen > wirelen))
		return RS_DERR_CAPLEN;
	if (meta) {
		if (meta->pkttype == PACKET_OUTGOING_)
			p->flags |= RS_PKT_OUTGOING;
		if (meta->vlan_valid) {
			p->flags |= RS_PKT_VLAN_HW;
			p->vlan_id[0] = meta->vlan_tci & 0x0fff;
			p->vlan_count = 1;
		}
	}
	/* Ethernet first: the sparse link type values make the switch a
	 * binary search. */
	if (likely(linktype == RS_LINKTYPE_ETHERNET)) {
		if (unlikely(caplen < ETH_HLEN_))
			return RS_DERR_ETH_TRUNC;
		return dec_ethertype(p, rd16(frame + 12), frame + ETH_HLEN_,
				     caplen - ETH_HLEN_, wirelen - ETH_HLEN_,
				     cnt);
	}
	switch (linktype) {
	case RS_LINKTYPE_LINUX_SLL:
		return dec_sll(p, frame, caplen, wirelen, 0, cnt);
	case RS_LINKTYPE_LINUX_SLL2:
		return dec_sll(p, frame, caplen, wirelen, 1, cnt);
	case RS_LINKTYPE_RAW:
	case RS_LINKTYPE_DLT_RAW:
	case RS_LINKTYPE_DLT_RAW_OBSD:
		return dec_raw(p, frame, caplen, wirelen, cnt);
	case RS_LINKTYPE_IPV4:
		return dec_ipv4(p, frame, caplen, wirelen, cnt);
	case RS_LINKTYPE_IPV6:
		return dec_ipv6(p, frame, caplen, wirelen, cnt);
	case RS_LINKTYPE_NULL:
		return dec_null(p, frame, caplen, wirelen, 0, cnt);
	case RS_LINKTYPE_LOOP:
		return dec_null(p, frame, caplen, wirelen, 1, cnt);
	default:
		return RS_DERR_LINKTYPE;
	}
}

/* The fast path below writes every field of struct rs_pkt before window
 * (the layout leaves no padding between them) and clears the rest; for
 * rs_decode_flow it writes only the fields the flow layer reads. */
#define FAST_TAIL offsetof(struct rs_pkt, window)
#define PKT_SZ(m) sizeof(((struct rs_pkt *)0)->m)
static_assert(FAST_TAIL - offsetof(struct rs_pkt, flags) ==
	      PKT_SZ(flags) + PKT_SZ(ethertype) + PKT_SZ(ip_version) +
	      PKT_SZ(ttl) + PKT_SZ(l4proto) + PKT_SZ(addr_len) +
	      PKT_SZ(src) + PKT_SZ(dst) + PKT_SZ(l3) + PKT_SZ(l4) +
	      PKT_SZ(payload) + PKT_SZ(l3_len) + PKT_SZ(ip_id) +
	      PKT_SZ(payload_len) + PKT_SZ(sport) + PKT_SZ(dport) +
	      PKT_SZ(seq) + PKT_SZ(ack),
	      "rs_pkt: padding among the fields the fast path writes");

/* An IPv4 address in 16 bytes, the rest zero. */
static inline void addr4(uint8_t dst[16], const uint8_t *src)
{
	memset(dst, 0, 16);
	memcpy(dst, src, 4);
}

/* Ethernet, IPv4 without options, not a fragment, whole datagram captured,
 * TCP with no options or only NOP NOP TS: nearly every frame of a web
 * capture.  Decodes such a frame exactly as the general path would (same
 * fields, same counters) in one pass without calls; returns false, having
 * written nothing, for any other frame.  Every check is made before the
 * bytes it covers are read.  flow_only (rs_decode_flow): only the fields
 * the flow layer reads. */
static inline bool fast_eth_ipv4_tcp(struct rs_pkt *p, const uint8_t *frame,
				     uint32_t caplen, uint32_t wirelen,
				     struct rs_decode_stats *st, bool flow_only)
{
	enum { L3 = ETH_HLEN_, L4 = ETH_HLEN_ + IPV4_MIN_HLEN };

	if (caplen < L4 + TCP_MIN_HLEN || caplen > wirelen)
		return false;
	const uint8_t *b = frame + L3, *t = frame + L4;
	/* ethertype 0x0800, version 4 IHL 5; MF and offset clear; TCP */
	if (rd16(frame + 12) != ETYPE_IPV4 || b[0] != 0x45 ||
	    (rd16(b + 6) & 0x3fff) || b[9] != P_TCP)
		return false;
	uint32_t tot = rd16(b + 2);
	uint32_t thl = (uint32_t)(t[12] >> 4) * 4;
	/* tot <= captured IP bytes also puts the TCP header in the frame. */
	if (tot > caplen - L3 || thl + IPV4_MIN_HLEN > tot)
		return false;
	bool ts = false;
	if (thl != TCP_MIN_HLEN) {
		if (thl != TCP_MIN_HLEN + 12 || rd32(t + 20) != 0x0101080a)
			return false;
		ts = true;
	}

	/* Not pkt_reset: the fields written below fill the struct up to
	 * window; from there on it is zero but for window, tcp_flags and the
	 * timestamp option.  The flow layer reads only tcp_flags and
	 * vlan_count there. */
	if (flow_only)
		p->vlan_count = 0;
	else
		memset((char *)p + FAST_TAIL, 0, sizeof(*p) - FAST_TAIL);
	/* The flow layer's fields. */
	p->frame = frame;
	p->caplen = caplen;
	p->wirelen = wirelen;
	p->flags = 0;
	p->ip_version = 4;
	p->l4proto = P_TCP;
	p->addr_len = 4;
	addr4(p->src, b + 12);
	addr4(p->dst, b + 16);
	p->l3 = b;
	p->l4 = t;
	p->payload = t + thl;
	p->payload_len = tot - IPV4_MIN_HLEN - thl;
	p->sport = rd16(t);
	p->dport = rd16(t + 2);
	p->seq = rd32(t + 4);
	p->ack = rd32(t + 8);
	p->tcp_flags = t[13];
	if (!flow_only) {
		p->ethertype = ETYPE_IPV4;
		p->ttl = b[8];
		p->ip_id = rd16(b + 4);
		p->l3_len = tot;
		p->window = rd16(t + 14);
		if (ts) {
			p->tcpopt.tsval = rd32(t + 24);
			p->tcpopt.tsecr = rd32(t + 28);
			p->tcpopt.has_ts = 1;
		}
	}
	if (st) {
		RS_STAT_INC(st->packets);
		RS_STAT_ADD(st->bytes, wirelen);
		RS_STAT_INC(st->ipv4);
		RS_STAT_INC(st->tcp);
	}
	return true;
}

/* Every frame the fast path declines.  Out of line so that the fast path
 * saves no registers for it. */
static __attribute__((noinline)) derr decode_full(struct rs_pkt *p,
		int linktype, const uint8_t *frame, uint32_t caplen,
		uint32_t wirelen, const struct rs_decode_meta *meta,
		struct rs_decode_stats *st)
{
	unsigned cnt = 0;

	pkt_reset(p);
	p->frame = frame;
	p->caplen = caplen;
	p->wirelen = wirelen;
	derr e = decode(p, linktype, frame, caplen, wirelen, meta, &cnt);
	if (unlikely(e)) {      /* a damaged frame has no trusted payload */
		p->payload = NULL;
		p->payload_len = 0;
	}
	if (st)
		account(st, p, cnt, e);
	return e;
}

enum rs_decode_err rs_decode_ex(struct rs_pkt *p, int linktype,
				const uint8_t *frame, uint32_t caplen,
				uint32_t wirelen,
				const struct rs_decode_meta *meta,
				struct rs_decode_stats *st)
{
	if (!meta)
		return rs_decode(p, linktype, frame, caplen, wirelen, st);
	return decode_full(p, linktype, frame, caplen, wirelen, meta, st);
}

inline enum rs_decode_err rs_decode(struct rs_pkt *p, int linktype,
			     const uint8_t *frame, uint32_t caplen,
			     uint32_t wirelen, struct rs_decode_stats *st)
{
	if (likely(linktype == RS_LINKTYPE_ETHERNET) &&
	    likely(fast_eth_ipv4_tcp(p, frame, caplen, wirelen, st, false)))
		return RS_DERR_NONE;
	return decode_full(p, linktype, frame, caplen, wirelen, NULL, st);
}

inline enum rs_decode_err rs_decode_flow(struct rs_pkt *p, int linktype,
			     const uint8_t *frame, uint32_t caplen,
			     uint32_t wirelen, struct rs_decode_stats *st)
{
	if (likely(linktype == RS_LINKTYPE_ETHERNET) &&
	    likely(fast_eth_ipv4_tcp(p, frame, caplen, wirelen, st, true)))
		return RS_DERR_NONE;
	return decode_full(p, linktype, frame, caplen, wirelen, NULL, st);
}
