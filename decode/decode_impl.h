/* decode_impl.h - private helpers of decode/: byte readers, protocol numbers. */
#ifndef RS_DECODE_IMPL_H
#define RS_DECODE_IMPL_H

#include <stdint.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Big-endian loads from possibly unaligned frame bytes; compile to a load and
 * a byte swap. */
static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static inline uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

enum {
	ETH_HLEN_ = 14,
	SLL_HLEN = 16,
	SLL2_HLEN = 20,
	VLAN_TAG_LEN = 4,
	IPV4_MIN_HLEN = 20,
	IPV6_HLEN = 40,
	TCP_MIN_HLEN = 20,
	UDP_HLEN = 8,
	ICMP_MIN_LEN = 4,
};

enum {
	ETYPE_IPV4 = 0x0800,
	ETYPE_IPV6 = 0x86dd,
	ETYPE_8021Q = 0x8100,
	ETYPE_8021AD = 0x88a8,
	ETYPE_QINQ_OLD = 0x9100,
};

/* IPPROTO_* values, spelled out so this header needs no netinet/in.h. */
enum {
	P_HOPOPTS = 0,
	P_ICMP = 1,
	P_TCP = 6,
	P_UDP = 17,
	P_ROUTING = 43,
	P_FRAGMENT = 44,
	P_ESP = 50,
	P_AH = 51,
	P_ICMPV6 = 58,
	P_NONE = 59,
	P_DSTOPTS = 60,
};

/* Extension headers we walk before giving up with RS_DERR_IPV6_EXT.  Real
 * traffic uses at most three or four; the limit bounds work per frame. */
#define RS_IPV6_MAX_EXT 8

#define ARPHRD_NETLINK_ 824     /* SLL: protocol is a netlink family */
#define PACKET_OUTGOING_ 4      /* sll_pkttype / SLL packet type */

/* Address families a DLT_NULL/LOOP header may carry. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_LINUX 10
#define BSD_AF_INET6_BSD 24     /* NetBSD, OpenBSD, BSD/OS */
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

#endif /* RS_DECODE_IMPL_H */
