/* rs_parse.bpf.h - Ethernet/VLAN/IPv4/IPv6 -> 5-tuple for the socket programs.
 *
 * Loads are relative to the MAC header (bpf_skb_load_bytes_relative with
 * BPF_HDR_START_MAC): where skb->data points differs between the callers --
 * the MAC header for a SOCK_RAW packet socket's filter and for outgoing
 * frames at fanout, the network header for incoming frames at fanout and in
 * BPF_PROG_TEST_RUN -- but the MAC header is the same in all of them.
 * Ethernet framing is assumed (as for the classic filter, LINKTYPE_ETHERNET).
 * A VLAN tag the kernel stripped into skb metadata is not in the bytes; tags
 * still inline (QinQ inner tags, transmit without offload) are skipped.
 */
#ifndef RS_PARSE_BPF_H
#define RS_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define RS_IPPROTO_ICMPV6 58
#define RS_IPPROTO_SCTP 132
#define RS_MAX_VLAN_TAGS 2
#define RS_MAX_EXT_HDRS 4

struct rs_flow {
	__u8 family;        /* 0 = not IP, 4, 6 */
	__u8 proto;         /* IPPROTO_*, after IPv6 extension headers */
	__u8 has_ports;     /* TCP/UDP/SCTP and not a fragment */
	__u8 pad;
	__u16 sport, dport; /* host order */
	__u32 src[4], dst[4]; /* network order; IPv4 uses [0] */
};

static __always_inline int rs_load(struct __sk_buff *skb, __u32 off, void *to,
				   __u32 len)
{
	return bpf_skb_load_bytes_relative(skb, off, to, len,
					   BPF_HDR_START_MAC);
}

/* Fills *fl.  Returns 0, or -1 when the frame is too short for the headers
 * it announces (fl->family then says how far parsing got). */
static __always_inline int rs_parse(struct __sk_buff *skb, struct rs_flow *fl)
{
	__u32 off = 12;
	__u16 eth;
	__u8 nh;
	int frag = 0;

	if (rs_load(skb, off, &eth, 2))
		return -1;
#pragma unroll
	for (int i = 0; i < RS_MAX_VLAN_TAGS; i++) {
		if (eth != bpf_htons(ETH_P_8021Q) &&
		    eth != bpf_htons(ETH_P_8021AD))
			break;
		off += 4;
		if (rs_load(skb, off, &eth, 2))
			return -1;
	}
	off += 2;

	if (eth == bpf_htons(ETH_P_IP)) {
		__u8 ip[20];
		__u32 ihl;

		if (rs_load(skb, off, ip, sizeof(ip)))
			return -1;
		ihl = (ip[0] & 0x0f) * 4;
		if ((ip[0] >> 4) != 4 || ihl < 20)
			return -1;
		fl->family = 4;
		fl->proto = ip[9];
		__builtin_memcpy(&fl->src[0], ip + 12, 4);
		__builtin_memcpy(&fl->dst[0], ip + 16, 4);
		/* More-fragments flag or an offset: no ports in every piece. */
		frag = ((ip[6] & 0x3f) | ip[7]) != 0;
		off += ihl;
	} else if (eth == bpf_htons(ETH_P_IPV6)) {
		__u8 ip6[40];

		if (rs_load(skb, off, ip6, sizeof(ip6)))
			return -1;
		if ((ip6[0] >> 4) != 6)
			return -1;
		fl->family = 6;
		__builtin_memcpy(fl->src, ip6 + 8, 16);
		__builtin_memcpy(fl->dst, ip6 + 24, 16);
		nh = ip6[6];
		off += 40;
#pragma unroll
		for (int i = 0; i < RS_MAX_EXT_HDRS; i++) {
			__u8 h[2];

			if (nh != 0 && nh != 43 && nh != 60 && nh != 44 &&
			    nh != 51)
				break;
			if (rs_load(skb, off, h, 2))
				return -1;
			if (nh == 44) {         /* fragment header: 8 bytes */
				frag = 1;
				off += 8;
			} else if (nh == 51) {  /* AH: 4-byte units + 2 */
				off += ((__u32)h[1] + 2) * 4;
			} else {                /* 8-byte units + 1 */
				off += ((__u32)h[1] + 1) * 8;
			}
			nh = h[0];
		}
		fl->proto = nh;
	} else {
		return 0;
	}

	if (!frag && (fl->proto == IPPROTO_TCP || fl->proto == IPPROTO_UDP ||
		      fl->proto == RS_IPPROTO_SCTP)) {
		__u16 ports[2];

		if (rs_load(skb, off, ports, sizeof(ports)))
			return -1;
		fl->sport = bpf_ntohs(ports[0]);
		fl->dport = bpf_ntohs(ports[1]);
		fl->has_ports = 1;
	}
	return 0;
}

#endif /* RS_PARSE_BPF_H */
