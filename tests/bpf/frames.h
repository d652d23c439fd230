/* frames.h - hand-built Ethernet frames (IPv4/IPv6, TCP/UDP/ICMP, VLAN) for
 * the bpf/ tests.  Header-only so each test program builds what it needs. */
#ifndef RS_TEST_FRAMES_H
#define RS_TEST_FRAMES_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

struct frame_spec {
	uint16_t vlan;        /* 0 = untagged, else the VLAN id (802.1Q) */
	int ipver;            /* 4 or 6 */
	const char *src, *dst;
	uint8_t proto;        /* 6 tcp, 17 udp, 1 icmp, 58 icmpv6 */
	uint16_t sport, dport;
	uint8_t tcpflags;
	uint16_t payload;     /* bytes of zero payload after L4 header */
	uint8_t qinq;         /* outer 802.1ad tag (VID 100) before the 802.1Q */
	uint8_t ext6;         /* IPv6: a hop-by-hop header before L4 */
	uint8_t frag;         /* IPv4 MF flag / IPv6 fragment header (offset 0) */
};

#define TF_FIN 0x01
#define TF_SYN 0x02
#define TF_RST 0x04
#define TF_ACK 0x10

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Writes the frame into buf (>= 1600 bytes); returns its length, or 0 when
 * an address does not parse. */
static inline unsigned build_frame(uint8_t *buf, const struct frame_spec *s)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	unsigned off = 12, l4len, iphl;
	uint8_t *ip, *l4;

	memset(buf, 0, 1600);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	if (s->qinq) {
		put16(buf + off, 0x88a8);
		put16(buf + off + 2, 100);
		off += 4;
	}
	if (s->vlan) {
		put16(buf + off, 0x8100);
		put16(buf + off + 2, s->vlan & 0x0fff);
		off += 4;
	}
	if (s->ipver == 0) {            /* ARP request, 28 bytes */
		put16(buf + off, 0x0806);
		return off + 2 + 28;
	}
	put16(buf + off, s->ipver == 6 ? 0x86dd : 0x0800);
	off += 2;
	ip = buf + off;
	l4len = s->proto == 6 ? 20 : s->proto == 132 ? 12 : 8;
	l4len += s->payload;
	if (s->ipver == 6) {
		uint8_t *nh = ip + 6;

		iphl = 40;
		ip[0] = 0x60;
		ip[7] = 64;
		if (inet_pton(AF_INET6, s->src, ip + 8) != 1 ||
		    inet_pton(AF_INET6, s->dst, ip + 24) != 1)
			return 0;
		if (s->ext6) {          /* hop-by-hop, 8 bytes (PadN) */
			*nh = 0;
			nh = ip + iphl;
			ip[iphl + 2] = 1;
			ip[iphl + 3] = 4;
			iphl += 8;
		}
		if (s->frag) {          /* fragment, offset 0, more follow */
			*nh = 44;
			nh = ip + iphl;
			ip[iphl + 3] = 1;
			ip[iphl + 7] = 42;
			iphl += 8;
		}
		*nh = s->proto;
		put16(ip + 4, (uint16_t)(iphl - 40 + l4len));
	} else {
		iphl = 20;
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(iphl + l4len));
		ip[6] = s->frag ? 0x20 : 0;   /* MF */
		ip[8] = 64;
		ip[9] = s->proto;
		if (inet_pton(AF_INET, s->src, ip + 12) != 1 ||
		    inet_pton(AF_INET, s->dst, ip + 16) != 1)
			return 0;
	}
	l4 = ip + iphl;
	if (s->proto == 6 || s->proto == 17 || s->proto == 132) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
	}
	if (s->proto == 6) {
		l4[12] = 5 << 4;
		l4[13] = s->tcpflags;
		put16(l4 + 14, 65535);
	} else if (s->proto == 17) {
		put16(l4 + 4, (uint16_t)l4len);
	} else if (s->proto == 1 || s->proto == 58) {
		l4[0] = s->ipver == 6 ? 128 : 8;   /* echo request */
	}
	return off + iphl + l4len;
}

#endif /* RS_TEST_FRAMES_H */
