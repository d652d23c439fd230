/* ring.c - live capture: one AF_PACKET socket with a TPACKET_V3 receive ring
 * per worker, all in one fanout group, read block by block in place. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring_impl.h"

#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000  /* Linux 6.2 */
#endif
#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif
#ifndef ARPHRD_NETLINK
#define ARPHRD_NETLINK 824
#endif

/* pcap LINKTYPE_* values (tcpdump.org/linktypes.html). */
enum {
	LT_ETHERNET = 1, LT_RAW = 101, LT_IEEE802_11 = 105,
	LT_RADIOTAP = 127, LT_CAN = 227, LT_NETLINK = 253,
};

/* Where the kernel puts struct sockaddr_ll in each frame (af_packet.c,
 * tpacket_rcv: h.raw + TPACKET_ALIGN(sizeof(struct tpacket3_hdr))). */
#define SLL_OFF TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
#define SLL_END (SLL_OFF + sizeof(struct sockaddr_ll))
#define MIN_BLOCKS_ON_RETRY 2u
#define MAX_BLOCK_SIZE (1u << 30)   /* the kernel takes block size as int */

uint64_t rs_ring_test_fail_above;

static int set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void size_str(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
		snprintf(buf, len, "%" PRIu64 " MiB", bytes >> 20);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", bytes >> 10);
}

void rs_ring_config_default(struct rs_ring_config *c)
{
	memset(c, 0, sizeof(*c));
	c->block_size = RS_RING_DEFAULT_BLOCK_SIZE;
	c->block_nr = RS_RING_DEFAULT_BLOCK_NR;
	c->block_timeout_ms = RS_RING_DEFAULT_TIMEOUT_MS;
	c->fanout_mode = RS_FANOUT_HASH;
	c->fanout_id = (uint16_t)(getpid() & 0xffff);
	c->fanout_defrag = true;
	c->promisc = true;
}

/* ---- setup steps ------------------------------------------------------- */

static int check_config(const struct rs_ring_config *c, char *err,
			size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!c->ifname || !c->ifname[0])
		return set_err(err, errlen, -EINVAL, "no interface given");
	if (c->block_size == 0 || (c->block_size & (c->block_size - 1)) ||
	    (page > 0 && c->block_size < (unsigned long)page) ||
	    c->block_size > MAX_BLOCK_SIZE)
		return set_err(err, errlen, -EINVAL,
			       "block size %u: must be a power of two from "
			       "the page size (%ld) to 1 GiB", c->block_size,
			       page);
	if (c->block_nr == 0)
		return set_err(err, errlen, -EINVAL, "ring needs at least one block");
	if ((uint64_t)c->block_size * c->block_nr > SIZE_MAX / 2)
		return set_err(err, errlen, -EINVAL, "ring of %u x %u bytes is "
			       "too large", c->block_nr, c->block_size);
	switch (c->fanout_mode) {
	case RS_FANOUT_NONE: case RS_FANOUT_HASH: case RS_FANOUT_LB:
	case RS_FANOUT_CPU: case RS_FANOUT_QM: case RS_FANOUT_EBPF:
		return 0;
	default:
		return set_err(err, errlen, -EINVAL, "fanout mode %d is not "
			       "one of none, hash, lb, cpu, qm, ebpf",
			       c->fanout_mode);
	}
}

/* ARPHRD_* of the device -> pcap link type of what SOCK_RAW delivers. */
static int linktype_of(unsigned short hatype)
{
	switch (hatype) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:     /* lo carries a (zeroed) Ethernet header */
		return LT_ETHERNET;
	case ARPHRD_NONE:         /* tun, wireguard: bare IPv4/IPv6 */
	case ARPHRD_RAWIP:
	case ARPHRD_PPP:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
		return LT_RAW;
	case ARPHRD_IEEE80211:
		return LT_IEEE802_11;
	case ARPHRD_IEEE80211_RADIOTAP:
		return LT_RADIOTAP;
	case ARPHRD_CAN:
		return LT_CAN;
	case ARPHRD_NETLINK:
		return LT_NETLINK;
	default:
		return -1;
	}
}

/* Up and of a known link type?  Uses the packet socket for the ioctls. */
static int check_iface(struct rs_ring *r, char *err, size_t errlen)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, r->ifname, sizeof(r->ifname));
	if (ioctl(r->fd, SIOCGIFFLAGS, &ifr) < 0)
		return set_err(err, errlen, errno == ENODEV ? -ENODEV : -errno,
			       "interface '%s': %s", r->ifname,
			       errno == ENODEV ? "not found" : strerror(errno));
	if (!(ifr.ifr_flags & IFF_UP))
		return set_err(err, errlen, -ENETDOWN,
			       "interface '%s' is down", r->ifname);
	if (ioctl(r->fd, SIOCGIFHWADDR, &ifr) < 0)
		return set_err(err, errlen, -errno, "interface '%s': link "
			       "type: %s", r->ifname, strerror(errno));
	r->linktype = linktype_of(ifr.ifr_hwaddr.sa_family);
	if (r->linktype < 0)
		return set_err(err, errlen, -EPROTONOSUPPORT,
			       "interface '%s': link type ARPHRD %u has no "
			       "pcap equivalent here", r->ifname,
			       ifr.ifr_hwaddr.sa_family);
	return 0;
}

static int attach_classic(int fd, struct sock_filter *insns, unsigned len)
{
	struct sock_fprog fp = { .len = (unsigned short)len, .filter = insns };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
		return -errno;
	return 0;
}

/* Before bind: "ret #0" drops everything until set_filter. */
static int attach_drop_all(struct rs_ring *r, char *err, size_t errlen)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	int rc = attach_classic(r->fd, &drop, 1);

	if (rc < 0)
		return set_err(err, errlen, rc, "attaching the drop-all "
			       "filter: %s", strerror(-rc));
	return 0;
}

/* PACKET_RX_RING + mmap with nr blocks; on failure nothing stays set up. */
static int ring_try(struct rs_ring *r, uint32_t bs, uint32_t nr,
		    unsigned tov_ms)
{
	/* V3 ignores frames, but the kernel checks frame_nr == blocks *
	 * (block_size / frame_size): one block-sized "frame" per block. */
	struct tpacket_req3 req = {
		.tp_block_size = bs, .tp_block_nr = nr,
		.tp_frame_size = bs, .tp_frame_nr = nr,
		.tp_retire_blk_tov = tov_ms,
	};
	struct tpacket_req3 none;
	size_t len = (size_t)bs * nr;
	void *map;
	int rc;

	if (rs_ring_test_fail_above && len > rs_ring_test_fail_above)
		return -ENOMEM;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		return -errno;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		memset(&none, 0, sizeof(none));
		(void)setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &none,
				 sizeof(none));
		return rc;
	}
	r->map = map;
	r->map_len = len;
	r->block_size = bs;
	r->block_nr = nr;
	return 0;
}

/* Create the ring, halving the block count while the kernel says ENOMEM. */
static int ring_create(struct rs_ring *r, const struct rs_ring_config *c,
		       char *err, size_t errlen)
{
	uint32_t nr = c->block_nr;
	uint32_t min = nr < MIN_BLOCKS_ON_RETRY ? nr : MIN_BLOCKS_ON_RETRY;
	char want[32], got[32], blk[32];
	int ver = TPACKET_V3, rc;

	if (setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0)
		return set_err(err, errlen, -EPROTONOSUPPORT, "TPACKET_V3 "
			       "not supported by this kernel: %s",
			       strerror(errno));
	for (;;) {
		rc = ring_try(r, c->block_size, nr, c->block_timeout_ms);
		if (rc != -ENOMEM || nr / 2 < min)
			break;
		nr /= 2;
	}
	size_str(want, sizeof(want), (uint64_t)c->block_size * c->block_nr);
	size_str(blk, sizeof(blk), c->block_size);
	if (rc == -ENOMEM && nr != c->block_nr)
		return set_err(err, errlen, rc, "ring on '%s': out of memory "
			       "for %u x %s blocks (%s requested, retried "
			       "down to %u blocks)", r->ifname, nr, blk, want,
			       nr);
	if (rc == -ENOMEM)
		return set_err(err, errlen, rc, "ring on '%s': out of memory "
			       "for %u x %s blocks (%s)", r->ifname, nr, blk,
			       want);
	if (rc < 0)
		return set_err(err, errlen, rc, "ring of %u x %s blocks on "
			       "'%s': %s", nr, blk, r->ifname, strerror(-rc));
	if (nr != c->block_nr) {
		size_str(got, sizeof(got), (uint64_t)c->block_size * nr);
		set_err(err, errlen, 0, "ring on '%s': %s (%u x %s) did not "
			"fit in memory; using %u blocks (%s)", r->ifname, want,
			c->block_nr, blk, nr, got);
	}
	return 0;
}

/* Start receiving on the interface: until now the socket (protocol 0) had
 * no packet hook at all, and from here on the drop-all filter applies. */
static int ring_bind(struct rs_ring *r, char *err, size_t errlen)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)r->ifindex;
	if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return set_err(err, errlen, -errno, "bind to '%s': %s",
			       r->ifname, strerror(errno));
	return 0;
}

static int ring_options(struct rs_ring *r, const struct rs_ring_config *c,
			char *err, size_t errlen)
{
	struct packet_mreq mr;
	int one = 1;

	if (c->promisc) {
		memset(&mr, 0, sizeof(mr));
		mr.mr_ifindex = (int)r->ifindex;
		mr.mr_type = PACKET_MR_PROMISC;
		if (setsockopt(r->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
			       sizeof(mr)) < 0)
			return set_err(err, errlen, -errno, "promiscuous mode "
				       "on '%s': %s", r->ifname,
				       strerror(errno));
	}
	/* Linux >= 4.20, and only outside fanout; the filter guard
	 * (set_filter) covers the rest, so ENOPROTOOPT is no error. */
	if (c->ignore_outgoing &&
	    setsockopt(r->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)) < 0 && errno != ENOPROTOOPT)
		return set_err(err, errlen, -errno, "PACKET_IGNORE_OUTGOING: "
			       "%s", strerror(errno));
	return 0;
}

/* Join the group last: the kernel only lets a bound socket join. */
static int ring_fanout(struct rs_ring *r, const struct rs_ring_config *c,
		       char *err, size_t errlen)
{
	unsigned flags = 0, val;
	int arg, rc;

	if (c->fanout_mode == RS_FANOUT_NONE)
		return 0;
	if (c->fanout_defrag)
		flags |= PACKET_FANOUT_FLAG_DEFRAG;
	if (c->fanout_rollover)
		flags |= PACKET_FANOUT_FLAG_ROLLOVER;
	if (c->ignore_outgoing)
		flags |= PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	for (;;) {
		val = c->fanout_id | (((unsigned)c->fanout_mode | flags) << 16);
		memcpy(&arg, &val, sizeof(arg));
		if (setsockopt(r->fd, SOL_PACKET, PACKET_FANOUT, &arg,
			       sizeof(arg)) == 0)
			return 0;
		rc = -errno;
		/* A kernel that rejects the 6.2 flag: the filter guard does
		 * its job.  (All members retry alike, so flags still match.) */
		if (rc != -EINVAL || !(flags & PACKET_FANOUT_FLAG_IGNORE_OUTGOING))
			break;
		flags &= ~PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	}
	if (rc == -EINVAL)
		return set_err(err, errlen, rc, "fanout group %u on '%s': a "
			       "group with this id exists with another mode, "
			       "flags or interface (or the kernel lacks mode "
			       "%d); choose another id", c->fanout_id,
			       r->ifname, c->fanout_mode);
	if (rc == -ENOPROTOOPT)
		return set_err(err, errlen, -EPROTONOSUPPORT, "fanout: not "
			       "supported by this kernel");
	return set_err(err, errlen, rc, "fanout group %u on '%s': %s",
		       c->fanout_id, r->ifname, strerror(-rc));
}

/* Setup order, and why (net/packet/af_packet.c; the psock_fanout selftest
 * opens its sockets the same way: socket(.., 0), filter, bind, fanout):
 *  1. socket(AF_PACKET, SOCK_RAW, 0): protocol 0 registers no packet hook,
 *     so nothing at all is received until bind.
 *  2. SO_ATTACH_FILTER "ret #0".  The socket filter is per socket: in a
 *     fanout group packet_rcv_fanout() picks a member and that member's
 *     tpacket_rcv() runs its own filter, so it applies in or out of a group
 *     (and a frame a member's filter drops is not offered to another).
 *  3. PACKET_VERSION, PACKET_RX_RING, mmap (ENOMEM: halve and retry).
 *  4. bind(ETH_P_ALL, ifindex): the hook goes live behind the filter.
 *  5. promisc, ignore_outgoing.
 *  6. PACKET_FANOUT: fanout_add() refuses a socket that is not bound and
 *     running, so joining comes after bind and hence after the filter;
 *     between bind and join the socket receives alone, and drops it all. */
int rs_ring_open(struct rs_ring **out, const struct rs_ring_config *cfg,
		 char *err, size_t errlen)
{
	struct rs_ring *r = NULL;
	void *mem;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !cfg)
		return -EINVAL;
	*out = NULL;
	rc = check_config(cfg, err, errlen);
	if (rc < 0)
		return rc;
	if (strlen(cfg->ifname) >= IF_NAMESIZE)
		return set_err(err, errlen, -ENODEV, "interface '%s' not found "
			       "(name too long)", cfg->ifname);
	if (posix_memalign(&mem, RS_CACHELINE, sizeof(*r)) != 0)
		return set_err(err, errlen, -ENOMEM, "out of memory");
	r = memset(mem, 0, sizeof(*r));
	r->fd = -1;
	pthread_mutex_init(&r->stats_lock, NULL);
	snprintf(r->ifname, sizeof(r->ifname), "%s", cfg->ifname);
	r->fanout_mode = cfg->fanout_mode;
	r->ignore_outgoing = cfg->ignore_outgoing;
	r->snaplen = cfg->snaplen && cfg->snaplen < RS_MAX_CAPLEN ?
		     cfg->snaplen : RS_MAX_CAPLEN;

	r->ifindex = if_nametoindex(cfg->ifname);
	if (r->ifindex == 0) {
		rc = set_err(err, errlen, -ENODEV, "interface '%s' not found",
			     cfg->ifname);
		goto fail;
	}
	/* Protocol 0: no packet hook until bind, so not one frame arrives
	 * before the drop-all filter is in place. */
	r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (r->fd < 0 && (errno == EPERM || errno == EACCES)) {
		rc = set_err(err, errlen, -EPERM, "AF_PACKET socket: %s (need "
			     "root or CAP_NET_RAW)", strerror(EPERM));
		goto fail;
	}
	if (r->fd < 0) {
		rc = set_err(err, errlen, -errno, "AF_PACKET socket: %s",
			     strerror(errno));
		goto fail;
	}
	rc = check_iface(r, err, errlen);
	if (rc == 0)
		rc = attach_drop_all(r, err, errlen);
	if (rc == 0)
		rc = ring_create(r, cfg, err, errlen);
	if (rc == 0)
		rc = ring_bind(r, err, errlen);
	if (rc == 0)
		rc = ring_options(r, cfg, err, errlen);
	if (rc == 0)
		rc = ring_fanout(r, cfg, err, errlen);
	if (rc < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	rs_ring_close(r);
	return rc;
}

/* ---- the data path ----------------------------------------------------- */

/* Hand the frames of one block to fn.  Every offset and length comes from
 * memory the kernel (or anything else mapping the ring) wrote, so each is
 * checked against the block before use; a bad one ends the block. */
static uint32_t walk_block(struct rs_ring *r, const uint8_t *blk,
			   rs_frame_fn fn, void *user)
{
	const struct tpacket_block_desc *bd = (const void *)blk;
	const uint32_t bs = r->block_size;
	uint32_t n = bd->hdr.bh1.num_pkts, off = bd->hdr.bh1.offset_to_first_pkt;
	uint32_t i, mac, snap, next, done = 0;
	struct rs_frame fr;

	memset(&fr, 0, sizeof(fr));
	fr.linktype = r->linktype;
	fr.ifindex = r->ifindex;
	for (i = 0; i < n; i++) {
		const struct tpacket3_hdr *h;
		const struct sockaddr_ll *sll;

		if (off < sizeof(*bd) || off > bs - SLL_END ||
		    off % _Alignof(struct tpacket3_hdr))
			goto bad;
		h = (const void *)(blk + off);
		mac = h->tp_mac;
		snap = h->tp_snaplen;
		if (mac < SLL_END || mac > bs - off || snap > bs - off - mac)
			goto bad;
		sll = (const void *)(blk + off + SLL_OFF);
		fr.data = blk + off + mac;
		fr.caplen = snap < r->snaplen ? snap : r->snaplen;
		fr.wirelen = h->tp_len;
		fr.ts_ns = (uint64_t)h->tp_sec * 1000000000u + h->tp_nsec;
		fr.pkttype = sll->sll_pkttype;
		fr.vlan_valid = h->tp_status & TP_STATUS_VLAN_VALID;
		fr.vlan_tci = fr.vlan_valid ? h->hv1.tp_vlan_tci : 0;
		fr.vlan_tpid = !fr.vlan_valid ? 0 :
			       h->tp_status & TP_STATUS_VLAN_TPID_VALID ?
			       h->hv1.tp_vlan_tpid : ETH_P_8021Q;
		fn(user, &fr);
		done++;
		if (i + 1 == n)
			break;
		next = h->tp_next_offset;
		if (next < sizeof(*h) || next > bs - off)
			goto bad;
		off += next;
	}
	return done;
bad:
	__atomic_store_n(&r->bad_blocks, r->bad_blocks + 1, __ATOMIC_RELAXED);
	return done;
}

static void note_seq(struct rs_ring *r, const struct tpacket_block_desc *bd)
{
	uint64_t seq = bd->hdr.bh1.seq_num;

	if (seq != r->last_seq + 1)
		__atomic_store_n(&r->seq_gaps, r->seq_gaps + 1,
				 __ATOMIC_RELAXED);
	r->last_seq = seq;
}

/* Every ready block in ring order, at most one lap; fn NULL = discard. */
static uint64_t walk_ready(struct rs_ring *r, rs_frame_fn fn, void *user)
{
	uint64_t frames = 0;
	uint32_t b;

	for (b = 0; b < r->block_nr; b++) {
		struct tpacket_block_desc *bd = ring_block(r, r->cur);

		if (!user_may_pull(bd))
			break;
		note_seq(r, bd);
		if (fn)
			frames += walk_block(r, (const uint8_t *)bd, fn, user);
		else    /* count only: bounded, the value is not trusted */
			frames += bd->hdr.bh1.num_pkts < r->block_size / 8 ?
				  bd->hdr.bh1.num_pkts : r->block_size / 8;
		kernel_may_pull(bd);
		r->cur = r->cur + 1 == r->block_nr ? 0 : r->cur + 1;
	}
	if (b)
		__atomic_store_n(&r->blocks, r->blocks + b, __ATOMIC_RELAXED);
	return frames;
}

static int ring_fail(struct rs_ring *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ring_fail(struct rs_ring *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* POLLERR with no frames: the socket error says why.  The kernel sets
 * ENETDOWN when the bound interface goes down or is deleted. */
static int poll_error(struct rs_ring *r)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return ring_fail(r, -errno, "'%s': reading the socket error: "
				 "%s", r->ifname, strerror(errno));
	if (e == 0)
		return 0;
	if (e == ENETDOWN || e == ENODEV || e == ENXIO) {
		r->dead = -ENETDOWN;
		return ring_fail(r, -ENETDOWN, "interface '%s' went down or "
				 "away", r->ifname);
	}
	return ring_fail(r, -e, "'%s': %s", r->ifname, strerror(e));
}

/* Wait for the current block: 1 when it is ready (or the socket reports an
 * error, left in *revents for the caller), 0 on timeout or EINTR, or the
 * ring's sticky error. */
static int wait_block(struct rs_ring *r, int timeout_ms, short *revents)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN | POLLERR };

	*revents = 0;
	if (r->dead)
		return r->dead;
	if (user_may_pull(ring_block(r, r->cur)))
		return 1;
	int rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 :
		       ring_fail(r, -errno, "poll: %s", strerror(errno));
	if (rc == 0)
		return 0;
	if (pfd.revents & POLLNVAL)
		return ring_fail(r, -EBADF, "poll: ring socket closed");
	*revents = pfd.revents;
	return 1;
}

int rs_ring_wait(struct rs_ring *r, int timeout_ms)
{
	short revents;
	return wait_block(r, timeout_ms, &revents);
}

int rs_ring_poll(struct rs_ring *r, int timeout_ms, rs_frame_fn fn,
		 void *user)
{
	short revents;
	uint64_t n;
	int rc = wait_block(r, timeout_ms, &revents);

	if (rc <= 0)
		return rc;
	n = walk_ready(r, fn, user);
	if (n) {
		__atomic_store_n(&r->frames, r->frames + n, __ATOMIC_RELEASE);
		return (int)n;
	}
	/* Frames first: an error only once nothing is left to hand out. */
	if (revents & (POLLERR | POLLHUP))
		return poll_error(r);
	return 0;
}

/* ---- filters ----------------------------------------------------------- */

/* Classic BPF "if pkttype == OUTGOING: drop; A = 0", then the program
 * (which may expect A = 0 on entry).  Jumps in classic BPF are relative,
 * so a prefix leaves the program's own jumps valid. */
#define GUARD_LEN 4u
static const struct sock_filter outgoing_guard[GUARD_LEN] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_LD | BPF_IMM, 0),
};

/* First filter only: discard what the drop-all phase let into the ring.
 * With the socket created with protocol 0 and "ret #0" attached before bind
 * that is nothing, but a frame seen now would be one the caller's filter
 * never judged.  A ring socket queues nothing on sk_receive_queue (no
 * PACKET_COPY_THRESH), so the ring is the only place to drain. */
static void drain(struct rs_ring *r)
{
	uint64_t n;

	if (r->filtered)
		return;
	n = walk_ready(r, NULL, NULL);
	if (n)
		__atomic_store_n(&r->drained, r->drained + n, __ATOMIC_RELAXED);
	r->filtered = true;
}

int rs_ring_set_filter(struct rs_ring *r, const struct sock_fprog *prog)
{
	struct sock_filter accept = BPF_STMT(BPF_RET | BPF_K, r->snaplen);
	const struct sock_filter *body = prog ? prog->filter : &accept;
	unsigned body_len = prog ? prog->len : 1, pre, len;
	struct sock_filter *insns;
	int rc;

	if (prog && (!prog->filter || prog->len == 0))
		return ring_fail(r, -EINVAL, "empty BPF program");
	pre = r->ignore_outgoing ? GUARD_LEN : 0;
	len = pre + body_len;
	if (len > BPF_MAXINSNS)
		return ring_fail(r, -EINVAL, "BPF program of %u instructions "
				 "is too long (max %u%s)", body_len,
				 BPF_MAXINSNS - pre,
				 pre ? " with ignore_outgoing" : "");
	insns = malloc(len * sizeof(*insns));
	if (!insns)
		return ring_fail(r, -ENOMEM, "out of memory");
	memcpy(insns, outgoing_guard, pre * sizeof(*insns));
	memcpy(insns + pre, body, body_len * sizeof(*insns));
	drain(r);
	rc = attach_classic(r->fd, insns, len);
	free(insns);
	if (rc < 0)
		return ring_fail(r, rc, "attaching the BPF filter on '%s': %s%s",
				 r->ifname, strerror(-rc), rc == -EINVAL ?
				 " (the kernel rejected the program)" : "");
	return 0;
}

int rs_ring_set_ebpf_filter(struct rs_ring *r, int prog_fd)
{
	drain(r);
	if (setsockopt(r->fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd,
		       sizeof(prog_fd)) < 0)
		return ring_fail(r, -errno, "attaching the eBPF filter (fd %d) "
				 "on '%s': %s", prog_fd, r->ifname,
				 strerror(errno));
	return 0;
}

int rs_ring_set_fanout_ebpf(struct rs_ring *r, int prog_fd)
{
	if (r->fanout_mode != RS_FANOUT_EBPF)
		return ring_fail(r, -EINVAL, "'%s': not in an ebpf fanout "
				 "group", r->ifname);
	if (setsockopt(r->fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog_fd,
		       sizeof(prog_fd)) < 0)
		return ring_fail(r, -errno, "attaching the fanout program (fd "
				 "%d) on '%s': %s", prog_fd, r->ifname,
				 strerror(errno));
	return 0;
}

/* ---- counters, accessors, teardown -------------------------------------- */

int rs_ring_stats(struct rs_ring *r, struct rs_ring_stats *out)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);
	uint64_t drained;
	int rc = 0;

	/* The walk's counters first: every frame walked was counted by the
	 * kernel before it reached the ring, so frames <= packets holds in
	 * the snapshot. */
	out->frames = __atomic_load_n(&r->frames, __ATOMIC_ACQUIRE);
	out->blocks = __atomic_load_n(&r->blocks, __ATOMIC_RELAXED);
	out->bad_blocks = __atomic_load_n(&r->bad_blocks, __ATOMIC_RELAXED);
	out->seq_gaps = __atomic_load_n(&r->seq_gaps, __ATOMIC_RELAXED);
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&r->stats_lock);
	if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
		rc = -errno;
	} else {
		/* The kernel adds its drops into tp_packets when read, so
		 * this difference is exactly the frames it put in the ring. */
		r->k_packets += st.tp_packets >= st.tp_drops ?
				st.tp_packets - st.tp_drops : 0;
		r->k_drops += st.tp_drops;
		r->k_freezes += st.tp_freeze_q_cnt;
	}
	drained = __atomic_load_n(&r->drained, __ATOMIC_RELAXED);
	out->packets = r->k_packets > drained ? r->k_packets - drained : 0;
	out->drops = r->k_drops;
	out->freezes = r->k_freezes;
	pthread_mutex_unlock(&r->stats_lock);
	return rc;
}

int rs_ring_fd(const struct rs_ring *r)
{
	return r->fd;
}

int rs_ring_linktype(const struct rs_ring *r)
{
	return r->linktype;
}

const char *rs_ring_error(const struct rs_ring *r)
{
	return r->err;
}

void rs_ring_close(struct rs_ring *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	pthread_mutex_destroy(&r->stats_lock);
	free(r);
}

/* ---- the interface's own counters --------------------------------------- */

static int read_counter(const char *ifname, const char *name, uint64_t *v)
{
	char path[128], buf[32], *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 ifname, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EIO;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EIO;
	return 0;
}

int rs_iface_drops(const char *ifname, uint64_t *rx_dropped,
		   uint64_t *rx_missed)
{
	char path[64];
	int rc;

	if (!ifname || !ifname[0] || strlen(ifname) >= IF_NAMESIZE ||
	    strchr(ifname, '/') || !strcmp(ifname, ".") ||
	    !strcmp(ifname, ".."))
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	if (access(path, F_OK) < 0)
		return -ENODEV;
	rc = read_counter(ifname, "rx_dropped", rx_dropped);
	if (rc == -ENOENT) {
		*rx_dropped = 0;
		rc = 0;
	}
	if (rc == 0)
		rc = read_counter(ifname, "rx_missed_errors", rx_missed);
	if (rc == -ENOENT) {
		*rx_missed = 0;
		rc = 0;
	}
	return rc;
}
