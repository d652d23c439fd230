/* rs_bpf_shared.h - map layouts shared by the eBPF programs and their loader.
 *
 * Included by bpf/ *.bpf.c (clang -target bpf) and by bpf/ebpf.c; only fixed
 * width types from <linux/types.h>, so both sides agree on every byte.
 */
#ifndef RS_BPF_SHARED_H
#define RS_BPF_SHARED_H

#include <linux/types.h>

/* Map sizes: ports and prefixes that can be active at once. */
#define RS_EBPF_MAX_PORTS 4096
#define RS_EBPF_MAX_NETS 1024

/* rs_config[0].flags: which sets are active.  An inactive (empty) set passes
 * everything; active sets must all match (ports AND nets). */
#define RS_EBPF_F_PORTS (1u << 0)  /* src or dst port in rs_ports */
#define RS_EBPF_F_NETS (1u << 1)   /* src or dst address in rs_net4/rs_net6 */

struct rs_ebpf_config {
	__u32 flags;
	__u32 pad;
};

/* LPM trie keys: prefixlen in bits, then the address in network order. */
struct rs_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct rs_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* rs_stats (per-CPU array) index: protocol * 2 + verdict. */
#define RS_EBPF_P_TCP 0
#define RS_EBPF_P_UDP 1
#define RS_EBPF_P_ICMP 2           /* ICMP and ICMPv6 */
#define RS_EBPF_P_OTHER 3          /* anything else, non-IP included */
#define RS_EBPF_NPROTO 4
#define RS_EBPF_V_PASS 0
#define RS_EBPF_V_DROP 1
#define RS_EBPF_NSTATS (RS_EBPF_NPROTO * 2)

struct rs_ebpf_stat {
	__u64 packets;
	__u64 bytes;
};

#endif /* RS_BPF_SHARED_H */
