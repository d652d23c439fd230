/* live_util.c - helpers for the ring tests (see live_util.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "live_util.h"

bool lu_is_root(void)
{
	return geteuid() == 0;
}

int lu_lo_set(bool up)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
out:
	close(fd);
	return rc;
}

int lu_private_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	return lu_lo_set(true);
}

uint64_t lu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t lu_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int lu_udp_socket(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 4 << 20;

	if (fd < 0)
		return -errno;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Room for many datagrams nobody reads: the tests look at the ring. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

uint16_t lu_udp_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return 0;
	return ntohs(a.sin_port);
}

static uint8_t pattern(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 31u + i * 7u + 1u);
}

int lu_send(int fd, uint16_t dport, uint32_t marker, uint32_t seq,
	    size_t len)
{
	static uint8_t buf[65536];
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct lu_mark m = { LU_MAGIC, marker, seq };
	size_t i;

	if (len > sizeof(buf))
		return -EINVAL;
	for (i = 0; i < len; i++)
		buf[i] = pattern(seq, i);
	if (len >= sizeof(m))
		memcpy(buf, &m, sizeof(m));
	a.sin_port = htons(dport);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	return 0;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

bool lu_parse_udp(const struct rs_frame *fr, struct lu_udp *u)
{
	const uint8_t *p = fr->data;
	size_t len = fr->caplen, ihl;

	memset(u, 0, sizeof(*u));
	if (len < 14 + 20 + 8 || rd16(p + 12) != 0x0800)
		return false;
	p += 14;
	len -= 14;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	if ((p[0] >> 4) != 4 || ihl < 20 || len < ihl + 8 || p[9] != 17)
		return false;
	memcpy(&u->saddr, p + 12, 4);
	memcpy(&u->daddr, p + 16, 4);
	p += ihl;
	len -= ihl;
	u->sport = rd16(p);
	u->dport = rd16(p + 2);
	u->udp_len = rd16(p + 4);
	u->payload = p + 8;
	u->payload_len = len - 8;
	if (u->payload_len >= sizeof(u->mark)) {
		memcpy(&u->mark, u->payload, sizeof(u->mark));
		u->has_mark = u->mark.magic == LU_MAGIC;
	}
	return true;
}

bool lu_payload_ok(const struct lu_udp *u, uint32_t seq)
{
	size_t i = u->payload_len >= sizeof(struct lu_mark) ?
		   sizeof(struct lu_mark) : 0;

	for (; i < u->payload_len; i++)
		if (u->payload[i] != pattern(seq, i))
			return false;
	return true;
}

int lu_poll_until(struct rs_ring *r, unsigned deadline_ms, rs_frame_fn fn,
		  void *user, bool (*stop)(void *user))
{
	uint64_t end = lu_now_ms() + deadline_ms;
	int total = 0, rc;

	while (!(stop && stop(user))) {
		uint64_t now = lu_now_ms();

		if (now >= end)
			break;
		rc = rs_ring_poll(r, (int)(end - now < 50 ? end - now : 50),
				  fn, user);
		if (rc < 0)
			return rc;
		total += rc;
	}
	return total;
}

void lu_default_config(struct rs_ring_config *c)
{
	rs_ring_config_default(c);
	c->ifname = "lo";
	c->block_size = 256u << 10;   /* holds a 64 KiB loopback frame */
	c->block_nr = 8;
	c->block_timeout_ms = 10;
	c->fanout_mode = RS_FANOUT_NONE;
	c->promisc = false;
}
