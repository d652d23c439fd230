/* frames.h - hand-built test frames for decode/, and what each must decode to. */
#ifndef RS_TEST_FRAMES_H
#define RS_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "rs_decode.h"

/* ---- Byte builders: each expands to a comma-separated byte list ---- */
#define B16(x) (uint8_t)((x) >> 8), (uint8_t)(x)
#define B32(x) (uint8_t)((uint32_t)(x) >> 24), (uint8_t)((uint32_t)(x) >> 16), \
	(uint8_t)((uint32_t)(x) >> 8), (uint8_t)(x)
#define MAC_A 0x02, 0x00, 0x00, 0x00, 0x00, 0x01
#define MAC_B 0x02, 0x00, 0x00, 0x00, 0x00, 0x02
#define ETH(type) MAC_A, MAC_B, B16(type)
#define VTAG(tci, type) B16(tci), B16(type)
#define IP4_A 198, 18, 0, 1
#define IP4_B 198, 19, 255, 254
/* version/IHL, tos, total length, id, flags+offset, ttl, proto, csum, addrs */
#define IPV4X(ihl, tot, id, frag, ttl, proto) (uint8_t)(0x40 | (ihl)), 0, \
	B16(tot), B16(id), B16(frag), ttl, proto, 0, 0, IP4_A, IP4_B
#define IPV4(tot, proto) IPV4X(5, tot, 0x1234, 0x4000, 64, proto)
#define IP6_A 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define IP6_B 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02
#define IPV6(plen, nh) 0x60, 0, 0, 0, B16(plen), nh, 63, IP6_A, IP6_B
/* Generic extension header of 8 bytes (HBH, routing, dst opts): len 0 */
#define EXT8(nh) nh, 0, 1, 4, 0, 0, 0, 0        /* PadN option */
#define FRAG6(nh, off_m, id) nh, 0, B16(off_m), B32(id)
#define TCP(sp, dp, seq, ack, doff, fl, win) B16(sp), B16(dp), B32(seq), \
	B32(ack), (uint8_t)((doff) << 4), fl, B16(win), 0, 0, 0, 0
#define TCPS(fl) TCP(40000, 80, 1000, 2000, 5, fl, 512)
#define UDP(sp, dp, len) B16(sp), B16(dp), B16(len), 0, 0
#define ICMP(type, code) type, code, 0, 0
#define SLL(pkttype, hatype, proto) B16(pkttype), B16(hatype), B16(6), \
	MAC_A, 0, 0, B16(proto)
#define SLL2(proto, hatype, pkttype) B16(proto), 0, 0, B32(2), B16(hatype), \
	pkttype, 6, MAC_A, 0, 0

/* Frame bytes as a static array plus its length, for a table entry. */
#define FRAME(...) .data = (const uint8_t[]){ __VA_ARGS__ }, \
	.len = sizeof((const uint8_t[]){ __VA_ARGS__ })

/* ---- Expectations ---- */
#define AT(off) ((off) + 1)     /* offset into the frame; 0 = NULL */

enum {                          /* counters a frame must bump (each by 1) */
	S_IPV4 = 1u << 0,
	S_IPV6 = 1u << 1,
	S_TCP = 1u << 2,
	S_UDP = 1u << 3,
	S_ICMP = 1u << 4,
	S_ICMPV6 = 1u << 5,
	S_VLAN = 1u << 6,
	S_FRAG = 1u << 7,
	S_OTHER_L3 = 1u << 8,
	S_OTHER_L4 = 1u << 9,
};

struct fexp {
	enum rs_decode_err err;
	unsigned cnt;               /* S_* */
	uint16_t flags;             /* RS_PKT_*, compared exactly */
	uint16_t ethertype;
	uint8_t vlan_count;
	uint16_t vlan_id[RS_MAX_VLAN];
	uint8_t ip_version, l4proto;
	uint32_t l3, l3_len;        /* AT() */
	uint32_t l4;                /* AT() */
	uint16_t sport, dport;
	uint32_t pl, pl_len;        /* AT() */
	uint16_t frag_offset;
};

struct fcase {
	const char *name;
	int linktype;
	const uint8_t *data;
	uint32_t len;               /* = caplen */
	uint32_t wirelen;           /* 0 = len */
	const struct rs_decode_meta *meta;
	struct fexp x;
};

extern const struct fcase good_frames[];
extern const size_t n_good_frames;
extern const struct fcase bad_frames[];
extern const size_t n_bad_frames;

#endif /* RS_TEST_FRAMES_H */
