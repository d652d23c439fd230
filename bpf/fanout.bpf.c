/* fanout.bpf.c - eBPF fanout demux: symmetric 5-tuple hash -> member index.
 *
 * Attached with PACKET_FANOUT_DATA to an AF_PACKET fanout group of type
 * PACKET_FANOUT_EBPF.  Both directions of a flow (IPv4, IPv6, VLAN tags
 * inline or stripped) give the same index, like PACKET_FANOUT_HASH; IP
 * fragments hash on addresses only so all pieces go to one member.  Frames
 * that are not IP go to member 0.
 */
#include "rs_parse.bpf.h"
#include "rs_bpf_shared.h"

/* Set before load.  rs_nsockets: members of the group (0 = return the raw
 * hash; the kernel reduces it modulo the group size anyway).  rs_seed:
 * random per capture, so crafted traffic cannot aim at one member. */
const volatile __u32 rs_nsockets = 0;
const volatile __u32 rs_seed = 0;

static __always_inline __u32 rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* One round of murmur3's 32-bit block mix. */
static __always_inline __u32 mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = rotl32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 fmix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* < 0 when endpoint (a, pa) sorts before (b, pb): any fixed total order
 * makes the hash symmetric. */
static __always_inline int cmp_ends(const __u32 *a, __u16 pa, const __u32 *b,
				    __u16 pb)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return (int)pa - (int)pb;
}

SEC("socket")
int rs_fanout(struct __sk_buff *skb)
{
	struct rs_flow fl = {};
	const __u32 *lo, *hi;
	__u16 plo, phi;
	__u32 h = rs_seed;

	if (rs_parse(skb, &fl) < 0)
		fl.has_ports = 0;
	if (!fl.family)
		return 0;
	if (cmp_ends(fl.src, fl.sport, fl.dst, fl.dport) <= 0) {
		lo = fl.src, plo = fl.sport, hi = fl.dst, phi = fl.dport;
	} else {
		lo = fl.dst, plo = fl.dport, hi = fl.src, phi = fl.sport;
	}
#pragma unroll
	for (int i = 0; i < 4; i++)
		h = mix(h, lo[i]);
#pragma unroll
	for (int i = 0; i < 4; i++)
		h = mix(h, hi[i]);
	h = mix(h, ((__u32)plo << 16) | phi);
	h = mix(h, fl.proto);
	h = fmix(h ^ 40);
	if (rs_nsockets)
		h %= rs_nsockets;
	return h;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
