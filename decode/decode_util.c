/* decode_util.c - the cold side of decode/: reason names, stats, addresses. */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "rs_decode.h"

static const char *const err_names[RS_DERR__COUNT] = {
	[RS_DERR_NONE] = "none",
	[RS_DERR_LINKTYPE] = "linktype",
	[RS_DERR_CAPLEN] = "caplen",
	[RS_DERR_ETH_TRUNC] = "eth_trunc",
	[RS_DERR_VLAN_TRUNC] = "vlan_trunc",
	[RS_DERR_VLAN_DEPTH] = "vlan_depth",
	[RS_DERR_SLL_TRUNC] = "sll_trunc",
	[RS_DERR_IP_VERSION] = "ip_version",
	[RS_DERR_IPV4_TRUNC] = "ipv4_trunc",
	[RS_DERR_IPV4_HLEN] = "ipv4_hlen",
	[RS_DERR_IPV4_TOTLEN] = "ipv4_totlen",
	[RS_DERR_IPV4_OPT] = "ipv4_opt",
	[RS_DERR_IPV6_TRUNC] = "ipv6_trunc",
	[RS_DERR_IPV6_EXT] = "ipv6_ext",
	[RS_DERR_TCP_TRUNC] = "tcp_trunc",
	[RS_DERR_TCP_HLEN] = "tcp_hlen",
	[RS_DERR_TCP_OPT] = "tcp_opt",
	[RS_DERR_UDP_TRUNC] = "udp_trunc",
	[RS_DERR_UDP_LEN] = "udp_len",
	[RS_DERR_ICMP_TRUNC] = "icmp_trunc",
	[RS_DERR_NULL_TRUNC] = "null_trunc",
	[RS_DERR_IPV4_AH] = "ipv4_ah",
};

/* Returns a static string; "unknown" for values outside the enum (or a
 * reason appended without a name, which the unit tests catch). */
const char *rs_decode_err_name(enum rs_decode_err e)
{
	if ((unsigned)e >= RS_DERR__COUNT || !err_names[e])
		return "unknown";
	return err_names[e];
}

void rs_decode_stats_add(struct rs_decode_stats *dst,
			 const struct rs_decode_stats *src)
{
	dst->packets += src->packets;
	dst->bytes += src->bytes;
	dst->ipv4 += src->ipv4;
	dst->ipv6 += src->ipv6;
	dst->tcp += src->tcp;
	dst->udp += src->udp;
	dst->icmp += src->icmp;
	dst->icmpv6 += src->icmpv6;
	dst->vlan += src->vlan;
	dst->fragments += src->fragments;
	dst->other_l3 += src->other_l3;
	dst->other_l4 += src->other_l4;
	dst->errors += src->errors;
	for (unsigned i = 0; i < RS_DERR__COUNT; i++)
		dst->err[i] += src->err[i];
}

const char *rs_addr_str(const uint8_t *addr, uint8_t addr_len, char *buf,
			size_t len)
{
	int af = addr_len == 4 ? AF_INET : addr_len == 16 ? AF_INET6 : -1;

	if (!buf || len == 0)
		return buf;
	/* inet_ntop never needs more than INET6_ADDRSTRLEN. */
	socklen_t n = len > INET6_ADDRSTRLEN ? INET6_ADDRSTRLEN : (socklen_t)len;
	if (af < 0 || !inet_ntop(af, addr, buf, n))
		buf[0] = '\0';
	return buf;
}
