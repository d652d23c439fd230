/* output.c - JSON-lines logs (HTTP transactions, flows) with exact escaping. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "ringsniff.h"

int rs_sink_open(struct rs_sink *s, const char *path)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (!path)
		return 0;
	s->path = path;
	if (strcmp(path, "-") == 0) {
		s->fd = STDOUT_FILENO;
		s->is_stdout = true;
		return 0;
	}
	s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		int e = errno;
		fprintf(stderr, "ringsniff: cannot open %s: %s\n", path, strerror(e));
		return -e;
	}
	return 0;
}

int rs_sink_reopen(struct rs_sink *s)
{
	if (s->fd < 0 || s->is_stdout)
		return 0;
	int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "ringsniff: cannot reopen %s: %s (still writing the old file)\n",
			s->path, strerror(e));
		return -e;
	}
	pthread_mutex_lock(&s->lock);
	/* dup2 swaps the file under the same descriptor number atomically. */
	int rc = dup2(fd, s->fd) < 0 ? -errno : 0;
	pthread_mutex_unlock(&s->lock);
	close(fd);
	return rc;
}

int rs_sink_chown(struct rs_sink *s, uid_t uid, gid_t gid)
{
	if (s->fd < 0 || s->is_stdout)
		return 0;
	return fchown(s->fd, uid, gid) < 0 ? -errno : 0;
}

void rs_sink_close(struct rs_sink *s)
{
	if (s->fd >= 0 && !s->is_stdout && close(s->fd) != 0 && !s->error)
		s->error = errno;
	if (s->error)
		fprintf(stderr, "ringsniff: writing %s failed: %s\n", s->path,
			strerror(s->error));
	s->fd = -1;
	pthread_mutex_destroy(&s->lock);
}

int rs_outbuf_init(struct rs_outbuf *b, struct rs_sink *s)
{
	memset(b, 0, sizeof *b);
	if (s->fd < 0)
		return 0;
	b->buf = malloc(RS_OUTBUF_SIZE);
	if (!b->buf)
		return -ENOMEM;
	b->sink = s;
	return 0;
}

/* Hand the buffer's whole lines to the sink with write(2), looping over
 * short writes: one lock per buffer, and no stdio buffer that could split a
 * line when another thread (or the console line on stderr) writes between. */
void rs_outbuf_flush(struct rs_outbuf *b)
{
	if (!b->sink || b->len == 0)
		return;
	struct rs_sink *s = b->sink;
	pthread_mutex_lock(&s->lock);
	for (size_t off = 0; off < b->len && !s->error;) {
		ssize_t n = write(s->fd, b->buf + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			s->error = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	pthread_mutex_unlock(&s->lock);
	b->len = 0;
}

void rs_outbuf_fini(struct rs_outbuf *b)
{
	rs_outbuf_flush(b);
	free(b->buf);
	b->buf = NULL;
	b->sink = NULL;
}

/* A line is built in place at the buffer's end; it is at most this long
 * (bounded fields, each byte escaped to at most 6), so flush before it. */
#define RS_MAX_LINE (6 * (RS_HTTP_URI_MAX + RS_HTTP_HOST_MAX + RS_HTTP_UA_MAX + \
			  RS_HTTP_METHOD_MAX + RS_HTTP_VERSION_MAX) + 1024)
_Static_assert(RS_MAX_LINE < RS_OUTBUF_SIZE, "line must fit the buffer");

struct line {
	char *p, *end;
};

static void put(struct line *l, const char *s, size_t n)
{
	if ((size_t)(l->end - l->p) < n)
		n = (size_t)(l->end - l->p);
	memcpy(l->p, s, n);
	l->p += n;
}

/* String literals, their length known at compile time. */
#define PUTL(l, lit) put((l), (lit), sizeof(lit) - 1)

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Decimal by hand: a log line holds a dozen numbers, and printf's format
 * interpretation cost more than the rest of the line together. */
static void put_u64(struct line *l, uint64_t v)
{
	char b[20];
	size_t i = sizeof b;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(l, b + i, sizeof b - i);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one.
 * Rejects overlongs, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string from arbitrary bytes: valid UTF-8 passes through, control
 * characters and every byte that is not valid UTF-8 become \u00XX (the
 * byte read as Latin-1), so the line is valid JSON whatever the capture held. */
static void put_jstr(struct line *l, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	put(l, "\"", 1);
	for (size_t i = 0; i < n;) {
		/* Runs of printable ASCII (nearly every byte of real HTTP) go in
		 * one copy; only the rest is looked at byte by byte. */
		size_t j = i;
		while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i) {
			put(l, (const char *)s + i, j - i);
			i = j;
			if (i == n)
				break;
		}
		uint8_t c = s[i];
		size_t k = c >= 0x20 && c != '"' && c != '\\' ? utf8_len(s + i, n - i) : 0;
		if (k) {
			put(l, (const char *)s + i, k);
			i += k;
			continue;
		}
		char e[6];
		switch (c) {
		case '"': put(l, "\\\"", 2); break;
		case '\\': put(l, "\\\\", 2); break;
		case '\n': put(l, "\\n", 2); break;
		case '\r': put(l, "\\r", 2); break;
		case '\t': put(l, "\\t", 2); break;
		default:
			e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
			e[4] = hex[c >> 4]; e[5] = hex[c & 15];
			put(l, e, 6);
		}
		i++;
	}
	put(l, "\"", 1);
}

/* "key": with the key a literal that already holds quotes and colon. */
static void put_ts(struct line *l, uint64_t ns)
{
	uint64_t us = (ns % 1000000000u) / 1000u;
	char frac[7] = {'.'};
	for (int i = 6; i >= 1; i--, us /= 10)
		frac[i] = (char)('0' + us % 10);
	put_u64(l, ns / 1000000000u);
	put(l, frac, sizeof frac);
}

static void put_addr(struct line *l, const uint8_t *a, uint8_t alen)
{
	put(l, "\"", 1);
	if (alen == 4) {
		for (int i = 0; i < 4; i++) {
			if (i)
				put(l, ".", 1);
			put_u64(l, a[i]);
		}
	} else {
		char buf[64];
		puts_(l, rs_addr_str(a, alen, buf, sizeof buf));
	}
	put(l, "\"", 1);
}

/* ,"src_ip":..,"src_port":..,"dst_ip":..,"dst_port":.. (the client is src). */
static void put_endpoints(struct line *l, const struct rs_flow_info *f)
{
	PUTL(l, ",\"src_ip\":");
	put_addr(l, f->cli_addr, f->addr_len);
	PUTL(l, ",\"src_port\":");
	put_u64(l, f->cli_port);
	PUTL(l, ",\"dst_ip\":");
	put_addr(l, f->srv_addr, f->addr_len);
	PUTL(l, ",\"dst_port\":");
	put_u64(l, f->srv_port);
}

/* JSON array of the names of the bits set in flags. */
static void put_flags(struct line *l, uint32_t flags,
		      const char *(*name_of)(unsigned bit))
{
	bool first = true;
	put(l, "[", 1);
	for (unsigned bit = 0; bit < 32; bit++) {
		const char *name;
		if (!(flags & (1u << bit)) || !(name = name_of(bit)))
			continue;
		if (!first)
			put(l, ",", 1);
		put(l, "\"", 1);
		puts_(l, name);
		put(l, "\"", 1);
		first = false;
	}
	put(l, "]", 1);
}

static struct line line_begin(struct rs_outbuf *b)
{
	if (RS_OUTBUF_SIZE - b->len < RS_MAX_LINE)
		rs_outbuf_flush(b);
	return (struct line){b->buf + b->len, b->buf + RS_OUTBUF_SIZE - 1};
}

static void line_end(struct rs_outbuf *b, struct line *l)
{
	put(l, "\n", 1);
	b->len = (size_t)(l->p - b->buf);
	/* Every worker's lines count in the one sink, outside its lock. */
	__atomic_fetch_add(&b->sink->lines, 1, __ATOMIC_RELAXED);
	/* stdout is for people watching: do not sit on their lines. */
	if (b->sink->is_stdout)
		rs_outbuf_flush(b);
}

/* A string field, or null when empty. */
static void put_jstr_or_null(struct line *l, const char *s, size_t n)
{
	if (n)
		put_jstr(l, s, n);
	else
		PUTL(l, "null");
}

void rs_log_http(struct rs_outbuf *b, const struct rs_flow_info *f,
		 const struct rs_http_txn *t)
{
	if (!b->sink)
		return;
	struct line l = line_begin(b);
	PUTL(&l, "{\"ts\":");
	put_ts(&l, t->ts_ns);
	put_endpoints(&l, f);
	PUTL(&l, ",\"method\":");
	put_jstr(&l, t->method, t->method_len);
	PUTL(&l, ",\"uri\":");
	put_jstr(&l, t->uri, t->uri_len);
	PUTL(&l, ",\"host\":");
	put_jstr_or_null(&l, t->host, t->host_len);
	PUTL(&l, ",\"version\":");
	put_jstr(&l, t->version, t->version_len);
	PUTL(&l, ",\"user_agent\":");
	put_jstr_or_null(&l, t->user_agent, t->ua_len);
	PUTL(&l, ",\"req_body_len\":");
	put_u64(&l, t->req_body_len);
	PUTL(&l, ",\"status\":");
	if (t->status >= 0)
		put_u64(&l, (uint64_t)t->status);
	else
		PUTL(&l, "null");
	PUTL(&l, ",\"resp_body_len\":");
	put_u64(&l, t->resp_body_len);
	PUTL(&l, ",\"flags\":");
	put_flags(&l, t->flags, rs_http_flag_name);
	PUTL(&l, "}");
	line_end(b, &l);
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_GRE: return "gre";
	case IPPROTO_ESP: return "esp";
	default: return NULL;   /* logged as its number */
	}
}

/* The flow flags a log reader cares about; the handshake bits are not. */
static const char *flow_flag_name(unsigned bit)
{
	switch (1u << bit) {
	case RS_FLOW_MIDSTREAM: return "midstream";
	case RS_FLOW_GAP: return "gap";
	case RS_FLOW_OOO_CAPPED: return "ooo_capped";
	case RS_FLOW_OVERLAP_DIFF: return "overlap_mismatch";
	default: return NULL;
	}
}

void rs_log_flow(struct rs_outbuf *b, const struct rs_flow_info *f,
		 enum rs_flow_end_reason why)
{
	if (!b->sink)
		return;
	struct line l = line_begin(b);
	const char *proto = proto_name(f->proto);
	PUTL(&l, "{\"proto\":\"");
	if (proto)
		puts_(&l, proto);
	else
		put_u64(&l, f->proto);
	PUTL(&l, "\"");
	put_endpoints(&l, f);
	if (f->vlan) {
		PUTL(&l, ",\"vlan\":");
		put_u64(&l, f->vlan);
	}
	PUTL(&l, ",\"first_ts\":");
	put_ts(&l, f->first_ts_ns);
	PUTL(&l, ",\"last_ts\":");
	put_ts(&l, f->last_ts_ns);
	PUTL(&l, ",\"pkts_to_server\":");
	put_u64(&l, f->pkts[0]);
	PUTL(&l, ",\"pkts_to_client\":");
	put_u64(&l, f->pkts[1]);
	PUTL(&l, ",\"bytes_to_server\":");
	put_u64(&l, f->bytes[0]);
	PUTL(&l, ",\"bytes_to_client\":");
	put_u64(&l, f->bytes[1]);
	PUTL(&l, ",\"state\":\"");
	puts_(&l, f->state ? f->state : "unknown");
	PUTL(&l, "\",\"end_reason\":\"");
	puts_(&l, rs_flow_end_reason_name(why));
	PUTL(&l, "\",\"gaps\":");
	put_u64(&l, f->gaps);
	PUTL(&l, ",\"flags\":");
	put_flags(&l, f->flags, flow_flag_name);
	PUTL(&l, "}");
	line_end(b, &l);
}
