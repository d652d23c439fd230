/* gen_traffic.c - big synthetic pcap files for the resource-bound tests, made at test time.
 *
 *   gen_traffic syn OUT N            N SYNs, every one a new 5-tuple, 1 us apart
 *   gen_traffic flows OUT N [close]  N HTTP connections 100 us apart: handshake,
 *                                    GET, 200 with a body, ACKs; no FIN unless
 *                                    `close` (then FIN both ways)
 *   gen_traffic hole OUT K HOLE_MB AFTER_KB [SEG]
 *                                    K connections, each a POST whose body has
 *                                    a HOLE_MB MiB hole: 16 KiB in order, the
 *                                    hole, then AFTER_KB KiB in SEG-byte
 *                                    segments (default 1448, the K connections
 *                                    taking turns), then the server ACKs past
 *                                    it all, answers 200 and both sides FIN
 *   gen_traffic bighdr OUT URI_KB HDR_KB
 *                                    one GET with a URI_KB KiB URI and HDR_KB
 *                                    KiB of header lines, then a 200
 *   gen_traffic sizes                the per-flow sizes the bounds derive from
 *
 * Ethernet/IPv4/TCP, classic pcap (microseconds).  Clients are
 * 198.18.0.0/15, the server 198.19.255.1:80 (test addresses only; nothing is
 * sent anywhere).  Checksums are left zero: ringsniff does not check them.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_impl.h"
#include "http_impl.h"

#define SRV_IP 0xc613ff01u /* 198.19.255.1 */
#define MSS 1448u

static FILE *out;
static uint64_t now_us = 1700000000ull * 1000000ull;
static uint8_t frame[14 + 20 + 20 + 65536];

static void put_u32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }
static void put_u16(uint8_t *p, uint16_t v) { v = htons(v); memcpy(p, &v, 2); }

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void file_header(void)
{
	uint32_t h[6] = {0xa1b2c3d4u, 2u | 4u << 16, 0, 0, 262144, 1};
	if (fwrite(h, sizeof h, 1, out) != 1)
		die("write");
}

struct conn {
	uint32_t cli_ip;
	uint16_t cli_port;
	uint32_t cseq, sseq;     /* next seq of each side */
};

/* One TCP segment; dir 0 client -> server.  Advances that side's seq. */
static void seg(struct conn *c, int dir, uint8_t flags, const void *data,
		uint32_t len)
{
	uint8_t *e = frame, *ip = frame + 14, *tcp = ip + 20;
	uint32_t *seq = dir ? &c->sseq : &c->cseq;
	uint32_t ack = dir ? c->cseq : c->sseq;

	memset(frame, 0, 54);
	memcpy(e, dir ? "\x02\0\0\0\0\x02" "\x02\0\0\0\0\x01"
		      : "\x02\0\0\0\0\x01" "\x02\0\0\0\0\x02", 12);
	e[12] = 0x08;
	ip[0] = 0x45;
	put_u16(ip + 2, (uint16_t)(40 + len));
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	put_u32(ip + 12, dir ? SRV_IP : c->cli_ip);
	put_u32(ip + 16, dir ? c->cli_ip : SRV_IP);
	put_u16(tcp, dir ? 80 : c->cli_port);
	put_u16(tcp + 2, dir ? c->cli_port : 80);
	put_u32(tcp + 4, *seq);
	put_u32(tcp + 8, flags & RS_TCP_ACK ? ack : 0);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put_u16(tcp + 14, 65535);
	if (len)
		memcpy(tcp + 20, data, len);
	uint32_t caplen = 54 + len;
	uint32_t rec[4] = {(uint32_t)(now_us / 1000000), (uint32_t)(now_us % 1000000),
			   caplen, caplen};
	if (fwrite(rec, sizeof rec, 1, out) != 1 || fwrite(frame, caplen, 1, out) != 1)
		die("write");
	*seq += len + (flags & (RS_TCP_SYN | RS_TCP_FIN) ? 1 : 0);
}

/* Client number i: a distinct (address, port) for i < 2^17 * 50000. */
static void conn_init(struct conn *c, uint64_t i)
{
	c->cli_ip = 0xc6120000u + (uint32_t)(i % 131072);   /* 198.18.0.0/15 */
	c->cli_port = (uint16_t)(10000 + i / 131072);
	c->cseq = 1000 + (uint32_t)i * 7919u;
	c->sseq = 500000 + (uint32_t)i * 104729u;
}

static void handshake(struct conn *c)
{
	seg(c, 0, RS_TCP_SYN, NULL, 0);
	now_us += 1;
	seg(c, 1, RS_TCP_SYN | RS_TCP_ACK, NULL, 0);
	now_us += 1;
	seg(c, 0, RS_TCP_ACK, NULL, 0);
	now_us += 1;
}

static void send_bytes(struct conn *c, int dir, const uint8_t *p, size_t n,
		       uint32_t segsz)
{
	while (n) {
		uint32_t k = n < segsz ? (uint32_t)n : segsz;
		seg(c, dir, RS_TCP_ACK | RS_TCP_PSH, p, k);
		now_us += 1;
		p += k;
		n -= k;
	}
}

static void fin_both(struct conn *c)
{
	seg(c, 0, RS_TCP_FIN | RS_TCP_ACK, NULL, 0);
	seg(c, 1, RS_TCP_FIN | RS_TCP_ACK, NULL, 0);
	seg(c, 0, RS_TCP_ACK, NULL, 0);
	now_us += 1;
}

static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

static void gen_syn(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct conn c;
		conn_init(&c, i);
		seg(&c, 0, RS_TCP_SYN, NULL, 0);
		now_us += 1;
	}
}

static void gen_flows(uint64_t n, int close)
{
	char req[128];
	for (uint64_t i = 0; i < n; i++) {
		struct conn c;
		conn_init(&c, i);
		handshake(&c);
		int len = snprintf(req, sizeof req,
				   "GET /f/%llu HTTP/1.1\r\nHost: bounds\r\n\r\n",
				   (unsigned long long)i);
		send_bytes(&c, 0, (const uint8_t *)req, (size_t)len, MSS);
		send_bytes(&c, 1, (const uint8_t *)resp, sizeof resp - 1, MSS);
		seg(&c, 0, RS_TCP_ACK, NULL, 0);
		if (close)
			fin_both(&c);
		now_us += 100;
	}
}

static void gen_hole(unsigned k, uint64_t hole, uint64_t after, uint32_t segsz)
{
	static uint8_t body[65536];
	const uint64_t first = 16384;
	struct conn *c = calloc(k, sizeof(*c));
	if (!c)
		die("calloc");
	memset(body, 'b', sizeof body);
	for (unsigned i = 0; i < k; i++) {
		char head[160];
		conn_init(&c[i], i);
		handshake(&c[i]);
		int len = snprintf(head, sizeof head,
				   "POST /upload/%u HTTP/1.1\r\nHost: bounds\r\n"
				   "Content-Length: %llu\r\n\r\n", i,
				   (unsigned long long)(first + hole + after));
		send_bytes(&c[i], 0, (const uint8_t *)head, (size_t)len, MSS);
		send_bytes(&c[i], 0, body, first, MSS);
		c[i].cseq += (uint32_t)hole;         /* the hole: never sent */
	}
	/* After the holes, the connections take turns, so that together they
	 * press on the global cap while each presses on its own. */
	for (uint64_t done = 0; done < after;) {
		uint32_t n = after - done < 16384 ? (uint32_t)(after - done) : 16384;
		for (unsigned i = 0; i < k; i++)
			send_bytes(&c[i], 0, body, n, segsz);
		done += n;
	}
	/* The server has it all: its ACK names the end, past the hole. */
	for (unsigned i = 0; i < k; i++) {
		send_bytes(&c[i], 1, (const uint8_t *)resp, sizeof resp - 1, MSS);
		fin_both(&c[i]);
	}
	free(c);
}

static void gen_bighdr(uint64_t uri_kb, uint64_t hdr_kb)
{
	struct conn c;
	conn_init(&c, 1);
	handshake(&c);
	size_t cap = (uri_kb + hdr_kb) * 1024 + 4096, n = 0;
	char *m = malloc(cap);
	if (!m)
		die("malloc");
	n += (size_t)sprintf(m, "GET /");
	for (uint64_t i = 0; i < uri_kb * 1024; i++)
		m[n++] = (char)('a' + i % 26);
	n += (size_t)sprintf(m + n, " HTTP/1.1\r\nHost: bounds\r\n");
	for (uint64_t line = 0; n < (uri_kb + hdr_kb) * 1024; line++)
		n += (size_t)sprintf(m + n, "X-Pad-%06llu: %0100llu\r\n",
				     (unsigned long long)line,
				     (unsigned long long)line);
	n += (size_t)sprintf(m + n, "\r\n");
	send_bytes(&c, 0, (const uint8_t *)m, n, MSS);
	send_bytes(&c, 1, (const uint8_t *)resp, sizeof resp - 1, MSS);
	fin_both(&c);
	free(m);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || end == s) {
		fprintf(stderr, "gen_traffic: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static char obuf[1 << 20];
	if (argc == 2 && strcmp(argv[1], "sizes") == 0) {
		printf("flow %zu\nhttp_conn %zu\nseg_header %zu\n",
		       sizeof(struct rs_flow), sizeof(struct rs_http_conn),
		       sizeof(struct rs_seg));
		return 0;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: gen_traffic syn|flows|hole|bighdr OUT ARGS... | sizes\n");
		return 2;
	}
	out = fopen(argv[2], "wb");
	if (!out)
		die(argv[2]);
	setvbuf(out, obuf, _IOFBF, sizeof obuf);
	file_header();
	const char *mode = argv[1];
	if (strcmp(mode, "syn") == 0)
		gen_syn(num(argv[3]));
	else if (strcmp(mode, "flows") == 0)
		gen_flows(num(argv[3]), argc > 4 && strcmp(argv[4], "close") == 0);
	else if (strcmp(mode, "hole") == 0 && argc >= 6)
		gen_hole((unsigned)num(argv[3]), num(argv[4]) << 20, num(argv[5]) << 10,
			 argc > 6 ? (uint32_t)num(argv[6]) : MSS);
	else if (strcmp(mode, "bighdr") == 0 && argc >= 5)
		gen_bighdr(num(argv[3]), num(argv[4]));
	else {
		fprintf(stderr, "gen_traffic: bad mode or arguments\n");
		return 2;
	}
	if (fclose(out) != 0)
		die("close");
	return 0;
}
