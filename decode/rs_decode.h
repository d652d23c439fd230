/* rs_decode.h - L2-L4 packet decoding into a zero-copy view of the frame.
 *
 * decode/ turns one captured frame (Ethernet, 802.1Q/802.1ad, Linux cooked
 * SLL/SLL2, raw IPv4/IPv6) into a struct rs_pkt whose pointers go into the
 * frame itself.  It never reads past caplen, never allocates and never copies
 * payload.  Every malformed case is counted by reason in the caller's
 * per-thread struct rs_decode_stats.  Thread-safe: no global state.
 */
#ifndef RS_DECODE_H
#define RS_DECODE_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types we decode: values are the pcap LINKTYPE_* numbers. */
enum rs_linktype {
	RS_LINKTYPE_NULL = 0,       /* BSD loopback: 4-byte host-order family */
	RS_LINKTYPE_ETHERNET = 1,
	RS_LINKTYPE_DLT_RAW = 12,   /* DLT_RAW as some writers store it: raw IP */
	RS_LINKTYPE_DLT_RAW_OBSD = 14, /* OpenBSD's DLT_RAW: raw IP */
	RS_LINKTYPE_RAW = 101,      /* raw IP, version from the first nibble */
	RS_LINKTYPE_LOOP = 108,     /* OpenBSD loopback: 4-byte big-endian family */
	RS_LINKTYPE_LINUX_SLL = 113,
	RS_LINKTYPE_IPV4 = 228,
	RS_LINKTYPE_IPV6 = 229,
	RS_LINKTYPE_LINUX_SLL2 = 276,
};

/* Why a frame could not be decoded completely.  Order is ABI for the
 * summary JSON: append only.  RS_DERR_NONE is success. */
enum rs_decode_err {
	RS_DERR_NONE = 0,
	RS_DERR_LINKTYPE,        /* link type we do not decode */
	RS_DERR_CAPLEN,          /* caplen > wirelen, or zero-length frame */
	RS_DERR_ETH_TRUNC,       /* shorter than an Ethernet header */
	RS_DERR_VLAN_TRUNC,      /* 802.1Q/802.1ad tag cut short */
	RS_DERR_VLAN_DEPTH,      /* more stacked tags than we follow */
	RS_DERR_SLL_TRUNC,       /* Linux cooked header cut short */
	RS_DERR_IP_VERSION,      /* version nibble disagrees with ethertype */
	RS_DERR_IPV4_TRUNC,      /* shorter than 20 bytes */
	RS_DERR_IPV4_HLEN,       /* IHL < 5 or beyond the captured bytes */
	RS_DERR_IPV4_TOTLEN,     /* total length < IHL*4 */
	RS_DERR_IPV4_OPT,        /* an option's length runs past the header */
	RS_DERR_IPV6_TRUNC,      /* shorter than 40 bytes */
	RS_DERR_IPV6_EXT,        /* extension header cut short or too many */
	RS_DERR_TCP_TRUNC,       /* shorter than 20 bytes, or options cut by snaplen */
	RS_DERR_TCP_HLEN,        /* data offset < 5 or past the segment */
	RS_DERR_TCP_OPT,         /* an option's length is invalid */
	RS_DERR_UDP_TRUNC,       /* shorter than 8 bytes */
	RS_DERR_UDP_LEN,         /* length field < 8 or > IP payload */
	RS_DERR_ICMP_TRUNC,      /* shorter than 4 bytes (ICMP or ICMPv6) */
	RS_DERR_NULL_TRUNC,      /* BSD loopback family field cut short */
	RS_DERR_IPV4_AH,         /* AH after IPv4 cut short or past the datagram
				  * (after IPv6 it is an RS_DERR_IPV6_EXT) */
	RS_DERR__COUNT
};

/* Stable snake_case name of a reason, for logs and the summary JSON. */
const char *rs_decode_err_name(enum rs_decode_err e);

/* rs_pkt.flags */
enum {
	RS_PKT_FRAGMENT = 1u << 0,  /* IPv4 MF/offset or IPv6 fragment header */
	RS_PKT_FRAG_FIRST = 1u << 1,/* offset 0 fragment: L4 header present */
	RS_PKT_IPV4_OPTS = 1u << 2,
	RS_PKT_IPV6_EXT = 1u << 3,
	RS_PKT_L3_TRUNC = 1u << 4,  /* IP total length > captured bytes (snaplen) */
	RS_PKT_VLAN_HW = 1u << 5,   /* tag restored from ring metadata */
	RS_PKT_OUTGOING = 1u << 6,  /* SLL/ring says we sent it */
};

#define RS_MAX_VLAN 2   /* 802.1ad outer + 802.1Q inner */

struct rs_tcp_opts {
	uint16_t mss;
	uint8_t wscale;
	uint8_t sack_blocks;        /* number of valid entries in sack[] */
	uint32_t tsval, tsecr;
	uint32_t sack[4][2];        /* left, right edges (host order) */
	uint8_t has_mss : 1, has_wscale : 1, sack_permitted : 1, has_ts : 1;
};

/* The decoded view.  Every pointer points into the frame given to
 * rs_decode() and is valid only as long as that frame is. */
struct rs_pkt {
	const uint8_t *frame;
	uint32_t caplen, wirelen;
	uint64_t ts_ns;             /* filled by the caller, not by rs_decode */

	/* Laid out for decode's fast path (Ethernet, IPv4, TCP): the fields it
	 * writes come first with no padding between them, and from window on
	 * it clears one run of bytes (then writes window, tcp_flags and the
	 * timestamp option), not all of them. */
	uint16_t flags;             /* RS_PKT_* */
	uint16_t ethertype;         /* innermost, host order; 0 for raw IP */
	uint8_t ip_version;         /* 4, 6, or 0 for non-IP */
	uint8_t ttl;
	uint8_t l4proto;            /* IPPROTO_* of the final header (after IPv6
				     * extensions; also set for non-first
				     * fragments); 0 if not IP */
	uint8_t addr_len;           /* 4 or 16 */
	uint8_t src[16], dst[16];   /* network order; IPv4 in the first 4 bytes,
				     * the rest zero (hash all 16 freely) */
	const uint8_t *l3;          /* IP header */
	const uint8_t *l4;          /* L4 header (also ESP, GRE, ...), NULL for
				     * non-first fragments and no-next-header */
	const uint8_t *payload;     /* L4 payload (TCP/UDP data; ICMP: after the
				     * 4-byte type/code/checksum); else NULL */
	uint32_t l3_len;            /* IP datagram bytes present (header+payload) */
	uint32_t ip_id;             /* IPv4 id or IPv6 fragment id */
	uint32_t payload_len;       /* bytes present, bounded by caplen and IP length */
	uint16_t sport, dport;      /* host order, TCP/UDP */
	uint32_t seq, ack;          /* TCP, host order */
	uint16_t window;            /* TCP raw window (unscaled) */
	uint8_t tcp_flags;          /* FIN=0x01 SYN=0x02 RST=0x04 PSH ACK URG ECE CWR */

	uint8_t vlan_count;
	uint16_t vlan_id[RS_MAX_VLAN]; /* outermost first, 12-bit VID */
	uint16_t frag_offset;       /* in bytes */
	uint8_t icmp_type, icmp_code;
	struct rs_tcp_opts tcpopt;
};

#define RS_TCP_FIN 0x01
#define RS_TCP_SYN 0x02
#define RS_TCP_RST 0x04
#define RS_TCP_PSH 0x08
#define RS_TCP_ACK 0x10
#define RS_TCP_URG 0x20

/* Per-thread counters, one cache line apart so workers never share lines.
 * Summed by the reporter with rs_decode_stats_add().
 * A protocol counts as soon as its fixed header was captured, even if a
 * later check of that header fails (as a tshark display filter matches a
 * malformed layer): ipv4/ipv6 = 20/40 bytes with the right version, tcp = 20
 * bytes, udp = 8, icmp/icmpv6 = 4 (IP protocol 1/58 in either IP version),
 * L4 only in unfragmented datagrams and first fragments.  vlan = at least
 * one tag (frame or restored).  fragments = RS_PKT_FRAGMENT.  other_l3 =
 * decoded link layer carrying neither IPv4 nor IPv6 (ARP, LLC, ...).
 * other_l4 = IP datagram or first fragment whose final header is not
 * TCP/UDP/ICMP/ICMPv6 (ESP, no-next-header, GRE, ...).  errors = frames
 * whose rs_decode returned non-zero, err[reason] the same by reason.
 * tshark (ip.defragment/ipv6.defragment off) agrees frame by frame on every
 * well-formed frame of the unit tables (tests/decode/tshark_oracle.py).  On
 * malformed frames it differs where tshark shows a layer whose fixed header
 * is cut short, follows the IP version nibble against the link type, or
 * follows more than RS_MAX_VLAN tags; tshark's "vlan" filter also misses
 * 802.1ad (0x88a8) tags, which it names "ieee8021ad". */
/* Updating a per-thread counter that another thread reads.  Every counter
 * struct here (rs_decode_stats, rs_flow_stats, rs_http_stats, the
 * program's own) has ONE writer, its worker, while a reporter thread reads
 * it with relaxed atomic loads.  A plain `c++` against those loads is a
 * data race (undefined behaviour in C11, reported by ThreadSanitizer); a
 * relaxed atomic store of c + n is not, and costs the same: a plain load,
 * add and store (no lock prefix on x86, no exclusive pair on arm64).  The
 * read of c is the writer's own, so it needs no atomic.  Single writer
 * only: two threads adding to one counter this way lose counts (use
 * atomic_fetch_add there).  c must be an lvalue without side effects. */
#if defined(__SANITIZE_THREAD__)
#define RS_STAT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RS_STAT_TSAN 1
#endif
#endif
#if defined(__x86_64__) && !defined(RS_STAT_TSAN)
/* x86-64: the same in one instruction, an add to memory.  Compilers never
 * fold an atomic store with the load and add before it (three
 * instructions, on every packet's few counters); an aligned 8-byte store is
 * single-copy atomic on x86 whichever instruction makes it, so readers see
 * the old or the new value, as with the relaxed store.  (ThreadSanitizer
 * cannot see into asm: its builds keep the C form.)  Counters are
 * uint64_t: anything else does not compile. */
static inline void rs_stat_add(uint64_t *c, uint64_t n)
{
	__asm__ volatile("addq %1, %0" : "+m"(*c) : "er"(n));
}

static inline void rs_stat_sub(uint64_t *c, uint64_t n)
{
	__asm__ volatile("subq %1, %0" : "+m"(*c) : "er"(n));
}
#define RS_STAT_ADD(c, n) rs_stat_add(&(c), (n))
#define RS_STAT_SUB(c, n) rs_stat_sub(&(c), (n))
#else
#define RS_STAT_ADD(c, n) __atomic_store_n(&(c), (c) + (n), __ATOMIC_RELAXED)
#define RS_STAT_SUB(c, n) __atomic_store_n(&(c), (c) - (n), __ATOMIC_RELAXED)
#endif
#define RS_STAT_INC(c) RS_STAT_ADD(c, 1)

struct rs_decode_stats {
	alignas(64) uint64_t packets;   /* frames given to rs_decode */
	uint64_t bytes;                 /* wire bytes of those frames */
	uint64_t ipv4, ipv6, tcp, udp, icmp, icmpv6, vlan, fragments;
	uint64_t other_l3, other_l4;
	uint64_t errors;                /* frames with any decode error */
	uint64_t err[RS_DERR__COUNT];
};

/* Decode one frame of link type `linktype` into *p.
 * Returns RS_DERR_NONE (0) on success, or the reason the frame is malformed;
 * on error *p holds whatever layers decoded before the damage (payload is
 * then NULL/0; a bad IPv4 option is the one damage decoded past, since IHL
 * still locates L4).  Either way the frame is counted in *st (may be NULL).
 * Reads only frame[0..caplen).  Every field of *p except ts_ns is written
 * (zero when absent), so *p needs no clearing beforehand; ts_ns is left
 * alone for the caller.  Allocates nothing, no global state: call from any
 * number of threads, each with its own *p and *st. */
enum rs_decode_err rs_decode(struct rs_pkt *p, int linktype,
			     const uint8_t *frame, uint32_t caplen,
			     uint32_t wirelen, struct rs_decode_stats *st);

/* rs_decode() for a view that only rs_flow_packet() reads: the same result,
 * counters and fields, except that a frame of rs_decode's fast path
 * (Ethernet, IPv4 without options, TCP without options but timestamps)
 * leaves ethertype, ttl, ip_id, l3_len, window, vlan_id, frag_offset,
 * icmp_type, icmp_code and tcpopt as they were: the flow layer reads none
 * of them, and not writing them is a quarter of the decoding.  Any
 * other frame gets the whole view. */
enum rs_decode_err rs_decode_flow(struct rs_pkt *p, int linktype,
				  const uint8_t *frame, uint32_t caplen,
				  uint32_t wirelen,
				  struct rs_decode_stats *st);

/* What a live ring knows about a frame that the frame itself no longer says.
 * Fill it straight from struct rs_frame (capture/); all-zero = nothing. */
struct rs_decode_meta {
	uint16_t vlan_tci;          /* tag the kernel stripped (tp_vlan_tci) */
	uint16_t vlan_tpid;         /* its TPID (informational; 0 = 0x8100) */
	bool vlan_valid;            /* TP_STATUS_VLAN_VALID: vlan_tci is a tag */
	uint8_t pkttype;            /* sll_pkttype; PACKET_OUTGOING (4) sets
				     * RS_PKT_OUTGOING */
};

/* rs_decode() with ring metadata (meta may be NULL = rs_decode()).  A valid
 * stripped tag becomes the outermost tag: vlan_id[0], RS_PKT_VLAN_HW set,
 * counted in vlan and in the RS_MAX_VLAN depth limit, any tags still in the
 * frame following it (the kernel strips only the outer one). */
enum rs_decode_err rs_decode_ex(struct rs_pkt *p, int linktype,
				const uint8_t *frame, uint32_t caplen,
				uint32_t wirelen,
				const struct rs_decode_meta *meta,
				struct rs_decode_stats *st);

/* dst += src, field by field. */
void rs_decode_stats_add(struct rs_decode_stats *dst,
			 const struct rs_decode_stats *src);

/* Format p's addresses as text ("198.18.0.1", "2001:db8::1").
 * buf needs 46 bytes (INET6_ADDRSTRLEN).  Returns buf. */
const char *rs_addr_str(const uint8_t *addr, uint8_t addr_len, char *buf,
			size_t len);
/* (A bad addr_len or a too small buf gives "" when len > 0.) */

#endif /* RS_DECODE_H */
