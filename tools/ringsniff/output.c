/* output.c - JSON-lines logs (HTTP transactions, flows) with exact escaping. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <inttypes.h>
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

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putf(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(struct line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->p, (size_t)(l->end - l->p), fmt, ap);
	va_end(ap);
	if (n > 0)
		l->p += (size_t)n < (size_t)(l->end - l->p) ? (size_t)n
							     : (size_t)(l->end - l->p);
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

static void put_ts(struct line *l, const char *key, uint64_t ns)
{
	putf(l, "\"%s\":%" PRIu64 ".%06" PRIu64, key, ns / 1000000000u,
	     (ns % 1000000000u) / 1000u);
}

static void put_addr(struct line *l, const char *key, const uint8_t *a,
		     uint8_t alen)
{
	char buf[64];
	rs_addr_str(a, alen, buf, sizeof buf);
	putf(l, "\"%s\":\"%s\"", key, buf);
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

void rs_log_http(struct rs_outbuf *b, const struct rs_flow_info *f,
		 const struct rs_http_txn *t)
{
	if (!b->sink)
		return;
	struct line l = line_begin(b);
	put(&l, "{", 1);
	put_ts(&l, "ts", t->ts_ns);
	put(&l, ",", 1);
	put_addr(&l, "src_ip", f->cli_addr, f->addr_len);
	putf(&l, ",\"src_port\":%u,", f->cli_port);
	put_addr(&l, "dst_ip", f->srv_addr, f->addr_len);
	putf(&l, ",\"dst_port\":%u,\"method\":", f->srv_port);
	put_jstr(&l, t->method, t->method_len);
	puts_(&l, ",\"uri\":");
	put_jstr(&l, t->uri, t->uri_len);
	puts_(&l, ",\"host\":");
	if (t->host_len)
		put_jstr(&l, t->host, t->host_len);
	else
		puts_(&l, "null");
	puts_(&l, ",\"version\":");
	put_jstr(&l, t->version, t->version_len);
	puts_(&l, ",\"user_agent\":");
	if (t->ua_len)
		put_jstr(&l, t->user_agent, t->ua_len);
	else
		puts_(&l, "null");
	putf(&l, ",\"req_body_len\":%" PRIu64 ",\"status\":", t->req_body_len);
	if (t->status >= 0)
		putf(&l, "%d", t->status);
	else
		puts_(&l, "null");
	putf(&l, ",\"resp_body_len\":%" PRIu64 ",\"flags\":[", t->resp_body_len);
	bool first = true;
	for (unsigned bit = 0; bit < 32; bit++) {
		const char *name;
		if (!(t->flags & (1u << bit)) || !(name = rs_http_flag_name(bit)))
			continue;
		putf(&l, "%s\"%s\"", first ? "" : ",", name);
		first = false;
	}
	puts_(&l, "]}");
	line_end(b, &l);
}

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_GRE: return "gre";
	case IPPROTO_ESP: return "esp";
	default: snprintf(buf, len, "%u", p); return buf;
	}
}

static const struct { uint32_t bit; const char *name; } flow_flags[] = {
	{RS_FLOW_MIDSTREAM, "midstream"},
	{RS_FLOW_GAP, "gap"},
	{RS_FLOW_OOO_CAPPED, "ooo_capped"},
	{RS_FLOW_OVERLAP_DIFF, "overlap_mismatch"},
};

void rs_log_flow(struct rs_outbuf *b, const struct rs_flow_info *f,
		 enum rs_flow_end_reason why)
{
	if (!b->sink)
		return;
	char pbuf[8];
	struct line l = line_begin(b);
	putf(&l, "{\"proto\":\"%s\",", proto_name(f->proto, pbuf, sizeof pbuf));
	put_addr(&l, "src_ip", f->cli_addr, f->addr_len);
	putf(&l, ",\"src_port\":%u,", f->cli_port);
	put_addr(&l, "dst_ip", f->srv_addr, f->addr_len);
	putf(&l, ",\"dst_port\":%u,", f->srv_port);
	if (f->vlan)
		putf(&l, "\"vlan\":%u,", f->vlan);
	put_ts(&l, "first_ts", f->first_ts_ns);
	put(&l, ",", 1);
	put_ts(&l, "last_ts", f->last_ts_ns);
	putf(&l, ",\"pkts_to_server\":%" PRIu64 ",\"pkts_to_client\":%" PRIu64
		 ",\"bytes_to_server\":%" PRIu64 ",\"bytes_to_client\":%" PRIu64,
	     f->pkts[0], f->pkts[1], f->bytes[0], f->bytes[1]);
	putf(&l, ",\"state\":\"%s\",\"end_reason\":\"%s\",\"gaps\":%" PRIu64
		 ",\"flags\":[",
	     f->state ? f->state : "unknown", rs_flow_end_reason_name(why),
	     f->gaps);
	bool first = true;
	for (size_t i = 0; i < sizeof flow_flags / sizeof flow_flags[0]; i++) {
		if (!(f->flags & flow_flags[i].bit))
			continue;
		putf(&l, "%s\"%s\"", first ? "" : ",", flow_flags[i].name);
		first = false;
	}
	puts_(&l, "]}");
	line_end(b, &l);
}
