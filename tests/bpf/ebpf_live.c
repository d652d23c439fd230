/* ebpf_live.c - the eBPF programs on real AF_PACKET sockets, for ebpf_live.sh.
 *
 *   ebpf_live filter IF SPEC MS [in]  one socket with the socket filter
 *       (`in` = ignore_outgoing); prints "frames=N" and the counters.
 *   ebpf_live fanout IF NSOCK MS      NSOCK sockets in a PACKET_FANOUT_EBPF
 *       group with the fanout program; prints "frames=N flows=F split=S
 *       used=U": S flows seen on more than one socket, U sockets that got any.
 * Prints "ready" once attached, then reads for MS milliseconds.
 * Exit 0 ok, 1 failure, 77 cannot load (skip).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "rs_bpf.h"

#define MAX_SOCKS 8
#define MAX_FLOWS 1024

struct flow {
	uint8_t key[37];              /* family, sorted endpoints */
	int sock;
	int split;
};
static struct flow flows[MAX_FLOWS];
static int nflows;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Protocol 0 until bind: no frame is queued before the filter is on. */
static int open_sock(void)
{
	return socket(AF_PACKET, SOCK_RAW, 0);
}

static int bind_sock(int fd, const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll,
				     sizeof(sll)) < 0) {
		return -1;
	}
	return 0;
}

/* Canonical TCP/UDP flow key of an untagged IPv4/IPv6 frame; 0 if none. */
static int flow_key(const uint8_t *p, ssize_t n, uint8_t key[37])
{
	const uint8_t *a, *b, *pa, *pb;
	int alen, l4;

	memset(key, 0, 37);
	if (n >= 14 + 20 && p[12] == 0x08 && p[13] == 0x00) {
		l4 = 14 + (p[14] & 0x0f) * 4;
		if ((p[23] != 6 && p[23] != 17) || n < l4 + 4)
			return 0;
		a = p + 26, b = p + 30, alen = 4;
	} else if (n >= 14 + 40 + 4 && p[12] == 0x86 && p[13] == 0xdd) {
		l4 = 14 + 40;
		if (p[20] != 6 && p[20] != 17)
			return 0;
		a = p + 22, b = p + 38, alen = 16;
	} else {
		return 0;
	}
	pa = p + l4, pb = p + l4 + 2;
	key[0] = (uint8_t)alen;
	if (memcmp(a, b, (size_t)alen) > 0 ||
	    (memcmp(a, b, (size_t)alen) == 0 && memcmp(pa, pb, 2) > 0)) {
		const uint8_t *t = a;

		a = b, b = t, t = pa, pa = pb, pb = t;
	}
	memcpy(key + 1, a, (size_t)alen);
	memcpy(key + 17, pa, 2);
	memcpy(key + 19, b, (size_t)alen);
	memcpy(key + 35, pb, 2);
	return 1;
}

static void note_flow(const uint8_t key[37], int sock)
{
	for (int i = 0; i < nflows; i++) {
		if (!memcmp(flows[i].key, key, 37)) {
			if (flows[i].sock != sock)
				flows[i].split = 1;
			return;
		}
	}
	if (nflows < MAX_FLOWS) {
		memcpy(flows[nflows].key, key, 37);
		flows[nflows++].sock = sock;
	}
}

/* Reads from every socket until the deadline; returns frames read. */
static long drain(const int *fds, int nfds, int ms, long *per_sock)
{
	int64_t end = now_ms() + ms;
	struct pollfd pfd[MAX_SOCKS];
	uint8_t buf[65536];
	long frames = 0;

	for (int i = 0; i < nfds; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	for (int64_t left; (left = end - now_ms()) > 0;) {
		if (poll(pfd, (nfds_t)nfds, (int)left) < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < nfds; i++) {
			uint8_t key[37];
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0)
				continue;
			frames++;
			per_sock[i]++;
			if (flow_key(buf, n, key))
				note_flow(key, i);
		}
	}
	return frames;
}

static int run_filter(const char *ifname, const char *text, int ms, int in)
{
	static const char *names[] = { "tcp", "udp", "icmp", "other" };
	struct rs_ebpf_filter *f = NULL;
	struct rs_ebpf_counters c;
	struct rs_ebpf_spec spec;
	char err[512];
	long per[1] = { 0 }, frames;
	int fd, pfd, ret;

	if (rs_ebpf_spec_parse(&spec, text, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	spec.ignore_outgoing = in;
	ret = rs_ebpf_filter_open(&f, &spec, err, sizeof(err));
	rs_ebpf_spec_free(&spec);
	if (ret < 0) {
		fprintf(stderr, "%s\n", err);
		return ret == -EPERM || ret == -EOPNOTSUPP ? 77 : 1;
	}
	fd = open_sock();
	pfd = rs_ebpf_filter_fd(f);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &pfd,
				 sizeof(pfd)) < 0 || bind_sock(fd, ifname) < 0) {
		perror("socket/SO_ATTACH_BPF/bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	frames = drain(&fd, 1, ms, per);
	if (rs_ebpf_filter_counters(f, &c) < 0)
		return 1;
	printf("frames=%ld", frames);
	for (int p = 0; p < RS_EBPF_PROTOS; p++)
		printf(" %s_pass=%llu %s_drop=%llu", names[p],
		       (unsigned long long)c.passed_pkts[p], names[p],
		       (unsigned long long)c.dropped_pkts[p]);
	printf("\n");
	close(fd);
	rs_ebpf_filter_close(f);
	return 0;
}

static int run_fanout(const char *ifname, int nsock, int ms)
{
	struct rs_ebpf_fanout *p = NULL;
	int fds[MAX_SOCKS], pfd, used = 0, split = 0, ret;
	int arg = (int)((getpid() & 0xffff) | (PACKET_FANOUT_EBPF << 16));
	long per[MAX_SOCKS] = { 0 }, frames;
	char err[512];

	if (nsock < 1 || nsock > MAX_SOCKS)
		return 1;
	ret = rs_ebpf_fanout_open(&p, (unsigned)nsock, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "%s\n", err);
		return ret == -EPERM || ret == -EOPNOTSUPP ? 77 : 1;
	}
	pfd = rs_ebpf_fanout_fd(p);
	for (int i = 0; i < nsock; i++) {
		fds[i] = open_sock();
		if (fds[i] < 0 || bind_sock(fds[i], ifname) < 0 ||
		    setsockopt(fds[i], SOL_PACKET, PACKET_FANOUT, &arg,
			       sizeof(arg)) < 0) {
			perror("socket/PACKET_FANOUT");
			return 1;
		}
	}
	if (setsockopt(fds[0], SOL_PACKET, PACKET_FANOUT_DATA, &pfd,
		       sizeof(pfd)) < 0) {
		perror("PACKET_FANOUT_DATA");
		return 1;
	}
	/* Frames from before the program was set all went to member 0. */
	drain(fds, nsock, 1, per);
	memset(per, 0, sizeof(per));
	nflows = 0;
	printf("ready\n");
	fflush(stdout);
	frames = drain(fds, nsock, ms, per);
	for (int i = 0; i < nsock; i++)
		used += per[i] > 0;
	for (int i = 0; i < nflows; i++)
		split += flows[i].split;
	printf("frames=%ld flows=%d split=%d used=%d\n", frames, nflows, split,
	       used);
	for (int i = 0; i < nsock; i++)
		close(fds[i]);
	rs_ebpf_fanout_close(p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "filter"))
		return run_filter(argv[2], argv[3], atoi(argv[4]),
				  argc > 5 && !strcmp(argv[5], "in"));
	if (argc == 5 && !strcmp(argv[1], "fanout"))
		return run_fanout(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: %s filter IF SPEC MS [in] | fanout IF N MS\n",
		argv[0]);
	return 1;
}
