/* sockfilter.bpf.c - eBPF socket filter: port and address-prefix sets, counters.
 *
 * Attached with SO_ATTACH_BPF to each capture socket.  A frame passes when
 * every active set matches it (ports: src or dst port; nets: src or dst
 * address in the IPv4 or IPv6 trie); inactive sets (rs_config flags clear)
 * pass everything.  User space changes the sets at run time through the maps.
 * Returns skb->len (keep the whole frame) or 0 (drop).
 */
#include "rs_parse.bpf.h"
#include "rs_bpf_shared.h"

#include <linux/if_packet.h>

/* Set before load: drop frames the host sent (PACKET_OUTGOING), for fanout
 * members on kernels that ignore PACKET_IGNORE_OUTGOING there. */
const volatile __u8 rs_ignore_outgoing = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rs_ebpf_config);
} rs_config SEC(".maps");

/* Port in host order -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RS_EBPF_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} rs_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, RS_EBPF_MAX_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rs_lpm4_key);
	__type(value, __u8);
} rs_net4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, RS_EBPF_MAX_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rs_lpm6_key);
	__type(value, __u8);
} rs_net6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RS_EBPF_NSTATS);
	__type(key, __u32);
	__type(value, struct rs_ebpf_stat);
} rs_stats SEC(".maps");

static __always_inline int port_match(const struct rs_flow *fl)
{
	__u16 p;

	if (!fl->has_ports)
		return 0;
	p = fl->sport;
	if (bpf_map_lookup_elem(&rs_ports, &p))
		return 1;
	p = fl->dport;
	return bpf_map_lookup_elem(&rs_ports, &p) != 0;
}

static __always_inline int net_match(const struct rs_flow *fl)
{
	if (fl->family == 4) {
		struct rs_lpm4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, &fl->src[0], 4);
		if (bpf_map_lookup_elem(&rs_net4, &k))
			return 1;
		__builtin_memcpy(k.addr, &fl->dst[0], 4);
		return bpf_map_lookup_elem(&rs_net4, &k) != 0;
	}
	if (fl->family == 6) {
		struct rs_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, fl->src, 16);
		if (bpf_map_lookup_elem(&rs_net6, &k))
			return 1;
		__builtin_memcpy(k.addr, fl->dst, 16);
		return bpf_map_lookup_elem(&rs_net6, &k) != 0;
	}
	return 0;
}

static __always_inline __u32 proto_class(const struct rs_flow *fl)
{
	if (!fl->family)
		return RS_EBPF_P_OTHER;
	switch (fl->proto) {
	case IPPROTO_TCP:
		return RS_EBPF_P_TCP;
	case IPPROTO_UDP:
		return RS_EBPF_P_UDP;
	case IPPROTO_ICMP:
	case RS_IPPROTO_ICMPV6:
		return RS_EBPF_P_ICMP;
	default:
		return RS_EBPF_P_OTHER;
	}
}

SEC("socket")
int rs_sockfilter(struct __sk_buff *skb)
{
	struct rs_flow fl = {};
	struct rs_ebpf_config *cfg;
	struct rs_ebpf_stat *st;
	__u32 key = 0, flags, idx;
	int pass = 1;

	cfg = bpf_map_lookup_elem(&rs_config, &key);
	flags = cfg ? cfg->flags : 0;
	/* A short frame keeps what was parsed: family 0 counts as other. */
	if (rs_parse(skb, &fl) < 0)
		fl.has_ports = 0;

	if (rs_ignore_outgoing && skb->pkt_type == PACKET_OUTGOING)
		pass = 0;
	if (pass && (flags & RS_EBPF_F_PORTS))
		pass = port_match(&fl);
	if (pass && (flags & RS_EBPF_F_NETS))
		pass = net_match(&fl);

	idx = proto_class(&fl) * 2 + (pass ? RS_EBPF_V_PASS : RS_EBPF_V_DROP);
	st = bpf_map_lookup_elem(&rs_stats, &idx);
	if (st) {
		st->packets++;
		st->bytes += skb->len;
	}
	return pass ? skb->len : 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
