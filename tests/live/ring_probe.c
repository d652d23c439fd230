/* ring_probe.c - capture on an interface with the ring API and print what
 * arrived as key=value counters, for ring_veth.sh; or inject VLAN-tagged
 * UDP frames with a raw packet socket.
 *
 *   ring_probe -i IF -p PORT [--want-in N] [--want-out N] [-t MS] [-l MS]
 *              [--ignore-outgoing] [--rings K] [--ready FILE]
 *   ring_probe --inject -i IF --dst-mac MAC -p PORT -n N
 *              [--vlan TCI[:TPID]]... (outermost first)
 *
 * Capture counts TCP/UDP IPv4 frames to or from PORT: "in" = PACKET_HOST,
 * "out" = PACKET_OUTGOING.  It stops when both wants are met (then lingers
 * -l MS) or at the -t deadline.  Exit: 0 = ran (the script judges the
 * counters), 2 = could not open/send, 3 = a poll failed (message on
 * stderr).  Injected frames go from 198.18.0.2:40000 to 198.18.0.1:PORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rs_capture.h"

#define MAX_RINGS 8
#define FLOW_SLOTS 256

struct flow {
	uint32_t a, b;          /* address:port of each side, lower first */
	uint16_t pa, pb;
	unsigned mask;          /* rings that saw it */
	bool used;
};

struct probe {
	uint16_t port;
	unsigned ring;          /* ring being polled */
	unsigned ifindex;
	unsigned long frames, in, out, vlan_meta, vlan_inline;
	unsigned long bad_linktype, bad_ifindex, truncated;
	unsigned tci, vid, tpid, inner_vid, inner_tpid;
	struct flow flows[FLOW_SLOTS];
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void note_flow(struct probe *pr, uint32_t s, uint16_t sp, uint32_t d,
		      uint16_t dp)
{
	struct flow k = { 0 };
	unsigned h, i;

	if (s < d || (s == d && sp < dp)) {
		k.a = s, k.pa = sp, k.b = d, k.pb = dp;
	} else {
		k.a = d, k.pa = dp, k.b = s, k.pb = sp;
	}
	h = (k.a ^ k.b ^ (unsigned)k.pa * 31u ^ (unsigned)k.pb * 17u) %
	    FLOW_SLOTS;
	for (i = 0; i < FLOW_SLOTS; i++) {
		struct flow *f = &pr->flows[(h + i) % FLOW_SLOTS];

		if (!f->used) {
			*f = k;
			f->used = true;
		}
		if (f->a == k.a && f->b == k.b && f->pa == k.pa &&
		    f->pb == k.pb) {
			f->mask |= 1u << pr->ring;
			return;
		}
	}
}

static void on_frame(void *user, const struct rs_frame *fr)
{
	struct probe *pr = user;
	const uint8_t *p = fr->data;
	uint32_t len = fr->caplen, ihl;
	uint16_t type, sp, dp;

	pr->frames++;
	if (fr->linktype != 1)
		pr->bad_linktype++;
	if (fr->ifindex != pr->ifindex)
		pr->bad_ifindex++;
	if (fr->caplen != fr->wirelen)
		pr->truncated++;
	if (len < 14)
		return;
	type = rd16(p + 12);
	if (fr->vlan_valid) {           /* the tag the kernel stripped */
		pr->vlan_meta++;
		pr->tci = fr->vlan_tci;
		pr->vid = fr->vlan_tci & 0x0fff;
		pr->tpid = fr->vlan_tpid;
	}
	while ((type == 0x8100 || type == 0x88a8) && len >= 18) {
		if (!pr->inner_tpid) {  /* first tag still in the bytes */
			pr->inner_vid = rd16(p + 14) & 0x0fff;
			pr->inner_tpid = type;
		}
		pr->vlan_inline++;
		p += 4;
		len -= 4;
		type = rd16(p + 12);
	}
	p += 14;
	len -= 14;
	if (type != 0x0800 || len < 20 || (p[9] != 6 && p[9] != 17))
		return;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	if (ihl < 20 || len < ihl + 4)
		return;
	sp = rd16(p + ihl);
	dp = rd16(p + ihl + 2);
	if (sp != pr->port && dp != pr->port)
		return;
	if (fr->pkttype == PACKET_OUTGOING)
		pr->out++;
	else if (fr->pkttype == PACKET_HOST)
		pr->in++;
	note_flow(pr, rd32(p + 12), sp, rd32(p + 16), dp);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int usage(void)
{
	fprintf(stderr, "usage: ring_probe -i IF -p PORT [--want-in N] "
		"[--want-out N] [-t MS] [-l MS] [--ignore-outgoing] "
		"[--rings K] [--ready FILE]\n"
		"       ring_probe --inject -i IF --dst-mac MAC -p PORT -n N "
		"[--vlan TCI[:TPID]]...\n");
	return 2;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += rd16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct inject {
	const char *ifname;
	uint8_t dst[6];
	unsigned ntags, tci[2], tpid[2], count;
	uint16_t port;
};

/* Ethernet (+ tags) + IPv4 + UDP with a 16-byte payload, sent raw. */
static int inject(const struct inject *in)
{
	uint8_t f[128];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr;
	size_t off = 12, ip;
	unsigned i;
	int fd, rc = 0;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("ring_probe: inject socket");
		return 2;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", in->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("ring_probe: inject SIOCGIFHWADDR");
		close(fd);
		return 2;
	}
	memset(f, 0, sizeof(f));
	memcpy(f, in->dst, 6);
	memcpy(f + 6, ifr.ifr_hwaddr.sa_data, 6);
	for (i = 0; i < in->ntags; i++, off += 4) {
		put16(f + off, in->tpid[i]);
		put16(f + off + 2, in->tci[i]);
	}
	put16(f + off, 0x0800);
	ip = off + 2;
	f[ip] = 0x45;
	put16(f + ip + 2, 20 + 8 + 16);
	f[ip + 8] = 64;
	f[ip + 9] = 17;
	inet_pton(AF_INET, "198.18.0.2", f + ip + 12);
	inet_pton(AF_INET, "198.18.0.1", f + ip + 16);
	put16(f + ip + 10, ip_csum(f + ip, 20));
	put16(f + ip + 20, 40000);
	put16(f + ip + 22, in->port);
	put16(f + ip + 24, 8 + 16);
	memcpy(f + ip + 28, "ring_probe vlan!", 16);
	sll.sll_ifindex = (int)if_nametoindex(in->ifname);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, in->dst, 6);
	for (i = 0; i < in->count; i++) {
		if (sendto(fd, f, ip + 44, 0, (struct sockaddr *)&sll,
			   sizeof(sll)) < 0) {
			perror("ring_probe: inject sendto");
			rc = 2;
			break;
		}
	}
	close(fd);
	return rc;
}

static int parse_vlan(struct inject *in, const char *s)
{
	char *end;
	unsigned long tci = strtoul(s, &end, 0), tpid = ETH_P_8021Q;

	if (*end == ':')
		tpid = strtoul(end + 1, &end, 0);
	if (*end || tci > 0xffff || tpid > 0xffff || in->ntags == 2)
		return -1;
	in->tci[in->ntags] = (unsigned)tci;
	in->tpid[in->ntags++] = (unsigned)tpid;
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_IN = 256, O_OUT, O_IGN, O_RINGS, O_READY, O_INJECT, O_MAC,
	       O_VLAN };
	static const struct option opts[] = {
		{ "inject", no_argument, NULL, O_INJECT },
		{ "dst-mac", required_argument, NULL, O_MAC },
		{ "vlan", required_argument, NULL, O_VLAN },
		{ "want-in", required_argument, NULL, O_IN },
		{ "want-out", required_argument, NULL, O_OUT },
		{ "ignore-outgoing", no_argument, NULL, O_IGN },
		{ "rings", required_argument, NULL, O_RINGS },
		{ "ready", required_argument, NULL, O_READY },
		{ NULL, 0, NULL, 0 },
	};
	static struct probe pr;
	struct rs_ring *rings[MAX_RINGS] = { NULL };
	struct rs_ring_config cfg;
	struct rs_ring_stats st, sum;
	unsigned long want_in = 1, want_out = 0;
	unsigned nrings = 1, deadline = 5000, linger = 200, i, split = 0;
	unsigned used_rings = 0;
	const char *ready = NULL;
	struct inject inj = { .count = 1 };
	bool injecting = false, have_mac = false;
	char err[RS_CAPTURE_ERRLEN];
	uint64_t end, drops = 0, missed = 0;
	int c, rc = 0, status = 0, drops_rc;

	rs_ring_config_default(&cfg);
	cfg.block_size = 256u << 10;
	cfg.block_nr = 8;
	cfg.fanout_mode = RS_FANOUT_NONE;
	while ((c = getopt_long(argc, argv, "i:p:t:l:n:", opts, NULL)) != -1) {
		switch (c) {
		case O_INJECT: injecting = true; break;
		case O_MAC:
			have_mac = sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
					  &inj.dst[0], &inj.dst[1], &inj.dst[2],
					  &inj.dst[3], &inj.dst[4],
					  &inj.dst[5]) == 6;
			break;
		case O_VLAN:
			if (parse_vlan(&inj, optarg) < 0)
				return usage();
			break;
		case 'n': inj.count = (unsigned)atoi(optarg); break;
		case 'i': cfg.ifname = optarg; break;
		case 'p': pr.port = (uint16_t)atoi(optarg); break;
		case 't': deadline = (unsigned)atoi(optarg); break;
		case 'l': linger = (unsigned)atoi(optarg); break;
		case O_IN: want_in = strtoul(optarg, NULL, 10); break;
		case O_OUT: want_out = strtoul(optarg, NULL, 10); break;
		case O_IGN: cfg.ignore_outgoing = true; break;
		case O_RINGS: nrings = (unsigned)atoi(optarg); break;
		case O_READY: ready = optarg; break;
		default: return usage();
		}
	}
	if (!cfg.ifname || !pr.port || nrings < 1 || nrings > MAX_RINGS)
		return usage();
	if (injecting) {
		if (!have_mac)
			return usage();
		inj.ifname = cfg.ifname;
		inj.port = pr.port;
		return inject(&inj);
	}
	if (nrings > 1)
		cfg.fanout_mode = RS_FANOUT_HASH;
	pr.ifindex = if_nametoindex(cfg.ifname);
	for (i = 0; i < nrings; i++) {
		rc = rs_ring_open(&rings[i], &cfg, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "ring_probe: %s\n", err);
			status = 2;
			goto out;
		}
	}
	for (i = 0; i < nrings; i++) {
		rc = rs_ring_set_filter(rings[i], NULL);
		if (rc < 0) {
			fprintf(stderr, "ring_probe: %s\n",
				rs_ring_error(rings[i]));
			status = 2;
			goto out;
		}
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	end = now_ms() + deadline;
	while (now_ms() < end) {
		if (pr.in >= want_in && pr.out >= want_out) {
			uint64_t l = now_ms() + linger;

			end = l < end ? l : end;
			want_in = want_out = ~0ul;   /* linger once */
		}
		for (pr.ring = 0; pr.ring < nrings; pr.ring++) {
			rc = rs_ring_poll(rings[pr.ring], 20, on_frame, &pr);
			if (rc < 0) {
				fprintf(stderr, "ring_probe: %s\n",
					rs_ring_error(rings[pr.ring]));
				status = 3;
				goto out;
			}
		}
	}
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < nrings; i++) {
		if (rs_ring_stats(rings[i], &st) == 0) {
			sum.packets += st.packets;
			sum.drops += st.drops;
			sum.seq_gaps += st.seq_gaps;
			sum.bad_blocks += st.bad_blocks;
		}
	}
	for (i = 0; i < FLOW_SLOTS; i++) {
		unsigned m = pr.flows[i].mask;

		if (pr.flows[i].used && (m & (m - 1)))
			split++;
		used_rings |= m;
	}
	drops_rc = rs_iface_drops(cfg.ifname, &drops, &missed);
	printf("frames=%lu in=%lu out=%lu vlan_meta=%lu vlan_inline=%lu "
	       "tci=0x%04x vid=%u tpid=0x%04x inner_vid=%u inner_tpid=0x%04x "
	       "bad_linktype=%lu bad_ifindex=%lu truncated=%lu split_flows=%u "
	       "rings_used=%d packets=%llu drops=%llu seq_gaps=%llu "
	       "bad_blocks=%llu iface_drops_rc=%d\n", pr.frames, pr.in,
	       pr.out, pr.vlan_meta, pr.vlan_inline, pr.tci, pr.vid, pr.tpid,
	       pr.inner_vid, pr.inner_tpid, pr.bad_linktype, pr.bad_ifindex,
	       pr.truncated, split, __builtin_popcount(used_rings),
	       (unsigned long long)sum.packets, (unsigned long long)sum.drops,
	       (unsigned long long)sum.seq_gaps,
	       (unsigned long long)sum.bad_blocks, drops_rc);
out:
	for (i = 0; i < nrings; i++)
		rs_ring_close(rings[i]);
	return status;
}
