/* test_output.c - ringsniff's JSON log lines (tools/ringsniff/output.c)
 * against a plain reference written here byte by byte with snprintf.
 * Built twice: with the SSE2 string scan and with RS_OUTPUT_NO_SSE2. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ringsniff.h"

/* ---- the reference ------------------------------------------------ */

struct sb {
	char b[64 * 1024];
	size_t n;
};

static void sb_printf(struct sb *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->b + o->n, sizeof o->b - o->n, fmt, ap);
	va_end(ap);
	assert_true(k >= 0 && (size_t)k < sizeof o->b - o->n);
	o->n += (size_t)k;
}

/* Length of a valid UTF-8 sequence at s[0..n), or 0: no overlongs,
 * surrogates or code points above U+10FFFF. */
static size_t ref_utf8(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] < 0xe0) { len = 2; cp = s[0] & 0x1f; }
	else if (s[0] >= 0xe0 && s[0] < 0xf0) { len = 3; cp = s[0] & 0x0f; }
	else if (s[0] >= 0xf0 && s[0] < 0xf5) { len = 4; cp = s[0] & 0x07; }
	else return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)))
		return 0;
	if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
		return 0;
	return len;
}

static void ref_str(struct sb *o, const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t k = c >= 0x20 && c != '"' && c != '\\' ? ref_utf8(s + i, n - i) : 0;
		if (k) {
			memcpy(o->b + o->n, s + i, k);
			o->n += k;
			i += k;
			continue;
		}
		if (c == '"') sb_printf(o, "\\\"");
		else if (c == '\\') sb_printf(o, "\\\\");
		else if (c == '\n') sb_printf(o, "\\n");
		else if (c == '\r') sb_printf(o, "\\r");
		else if (c == '\t') sb_printf(o, "\\t");
		else sb_printf(o, "\\u%04x", c);
		i++;
	}
}

static void ref_ts(struct sb *o, uint64_t ns)
{
	sb_printf(o, "%" PRIu64 ".%06u", ns / 1000000000u,
		  (unsigned)(ns % 1000000000u / 1000u));
}

static void ref_endpoints(struct sb *o, const struct rs_flow_info *f)
{
	char a[64], b[64];
	int af = f->addr_len == 4 ? AF_INET : AF_INET6;
	assert_non_null(inet_ntop(af, f->cli_addr, a, sizeof a));
	assert_non_null(inet_ntop(af, f->srv_addr, b, sizeof b));
	sb_printf(o, ",\"src_ip\":\"%s\",\"src_port\":%u,\"dst_ip\":\"%s\",\"dst_port\":%u",
		  a, f->cli_port, b, f->srv_port);
}

static void ref_http(struct sb *o, const struct rs_flow_info *f,
		     const struct rs_http_txn *t)
{
	o->n = 0;
	sb_printf(o, "{\"ts\":");
	ref_ts(o, t->ts_ns);
	ref_endpoints(o, f);
	sb_printf(o, ",\"method\":\"");
	ref_str(o, t->method, t->method_len);
	sb_printf(o, "\",\"uri\":\"");
	ref_str(o, t->uri, t->uri_len);
	if (t->host_len) {
		sb_printf(o, "\",\"host\":\"");
		ref_str(o, t->host, t->host_len);
		sb_printf(o, "\"");
	} else {
		sb_printf(o, "\",\"host\":null");
	}
	sb_printf(o, ",\"version\":\"");
	ref_str(o, t->version, t->version_len);
	if (t->ua_len) {
		sb_printf(o, "\",\"user_agent\":\"");
		ref_str(o, t->user_agent, t->ua_len);
		sb_printf(o, "\"");
	} else {
		sb_printf(o, "\",\"user_agent\":null");
	}
	sb_printf(o, ",\"req_body_len\":%" PRIu64, t->req_body_len);
	if (t->status >= 0)
		sb_printf(o, ",\"status\":%d", t->status);
	else
		sb_printf(o, ",\"status\":null");
	sb_printf(o, ",\"resp_body_len\":%" PRIu64 ",\"flags\":[", t->resp_body_len);
	bool first = true;
	for (unsigned bit = 0; bit < 32; bit++) {
		const char *name;
		if (!(t->flags & (1u << bit)) || !(name = rs_http_flag_name(bit)))
			continue;
		sb_printf(o, "%s\"%s\"", first ? "" : ",", name);
		first = false;
	}
	sb_printf(o, "]}\n");
}

/* ---- the code under test ------------------------------------------ */

struct fx {
	struct rs_sink sink;
	struct rs_outbuf out;
	struct rs_http_txn *t;      /* on the heap, as the HTTP layer's is */
	struct sb ref;
	uint64_t rng;
};

static uint64_t rnd(struct fx *x)
{
	x->rng ^= x->rng << 13;
	x->rng ^= x->rng >> 7;
	x->rng ^= x->rng << 17;
	return x->rng;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);
	assert_non_null(x);
	assert_int_equal(rs_sink_open(&x->sink, "/dev/null"), 0);
	assert_int_equal(rs_outbuf_init(&x->out, &x->sink), 0);
	x->t = calloc(1, sizeof *x->t);
	assert_non_null(x->t);
	x->rng = 0x9e3779b97f4a7c15ull;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	rs_outbuf_fini(&x->out);
	rs_sink_close(&x->sink);
	free(x->t);
	free(x);
	return 0;
}

/* One line through rs_log_http, compared with the reference. */
static void check_http(struct fx *x, const struct rs_flow_info *f)
{
	size_t before = x->out.len;
	rs_log_http(&x->out, f, x->t);
	ref_http(&x->ref, f, x->t);
	size_t got = x->out.len - before;
	if (got != x->ref.n || memcmp(x->out.buf + before, x->ref.b, got) != 0) {
		fprintf(stderr, "want: %.*s", (int)x->ref.n, x->ref.b);
		fprintf(stderr, "got:  %.*s\n", (int)got, x->out.buf + before);
		fail_msg("line differs");
	}
	/* Keep the buffer short: the next line starts at its beginning
	 * sometimes and deep inside it other times. */
	if (x->out.len > RS_OUTBUF_SIZE / 2)
		x->out.len = 0;
}

/* A field set to s[0..n) with junk after it in the array (the HTTP layer
 * leaves earlier, longer values there): the log must stop at n.  Junk 0
 * is a NUL after the string; other junk comes after a plain 'z' at s[n],
 * so that the first byte needing care past the end is not at n (where
 * stopping would be right by luck). */
#define SET(t, fld, lfld, s, n, junk)                                  \
	do {                                                           \
		memset((t)->fld, (junk), sizeof (t)->fld);             \
		memcpy((t)->fld, (s), (n));                            \
		if ((n) < sizeof (t)->fld)                             \
			(t)->fld[(n)] = (junk) ? 'z' : 0;              \
		(t)->lfld = (uint16_t)(n);                             \
	} while (0)

static void flow_v4(struct rs_flow_info *f, uint32_t cli, uint32_t srv,
		    uint16_t cport, uint16_t sport)
{
	memset(f, 0, sizeof *f);
	f->proto = 6;
	f->addr_len = 4;
	cli = htonl(cli);
	srv = htonl(srv);
	memcpy(f->cli_addr, &cli, 4);
	memcpy(f->srv_addr, &srv, 4);
	f->cli_port = cport;
	f->srv_port = sport;
}

static void basic_txn(struct rs_http_txn *t)
{
	SET(t, method, method_len, "GET", 3, 0);
	SET(t, uri, uri_len, "/index.html", 11, 0);
	SET(t, host, host_len, "198.18.0.1", 10, 0);
	SET(t, version, version_len, "HTTP/1.1", 8, 0);
	SET(t, user_agent, ua_len,
	    "Mozilla/5.0 (X11; Linux x86_64) ringsniff-bench/1", 49, 0);
	t->ts_ns = 1764849545002874123ull;
	t->req_body_len = 0;
	t->status = 200;
	t->resp_body_len = 615;
	t->flags = 0;
}

/* The line of the benchmark, spelled out once. */
static void test_known_line(void **state)
{
	struct fx *x = *state;
	struct rs_flow_info f;
	flow_v4(&f, 0xc6120002, 0xc6120001, 47400, 80);
	basic_txn(x->t);
	x->out.len = 0;
	rs_log_http(&x->out, &f, x->t);
	static const char want[] =
		"{\"ts\":1764849545.002874,\"src_ip\":\"198.18.0.2\",\"src_port\":47400,"
		"\"dst_ip\":\"198.18.0.1\",\"dst_port\":80,\"method\":\"GET\","
		"\"uri\":\"/index.html\",\"host\":\"198.18.0.1\",\"version\":\"HTTP/1.1\","
		"\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) ringsniff-bench/1\","
		"\"req_body_len\":0,\"status\":200,\"resp_body_len\":615,\"flags\":[]}\n";
	assert_int_equal(x->out.len, sizeof want - 1);
	assert_memory_equal(x->out.buf, want, sizeof want - 1);
	check_http(x, &f);
	/* Empty host and user agent are null; no status; flags. */
	SET(x->t, host, host_len, "", 0, 'x');
	SET(x->t, user_agent, ua_len, "", 0, '"');
	x->t->status = -1;
	x->t->flags = RS_HTTP_F_GAP | RS_HTTP_F_NO_RESPONSE | 0x80000000u;
	check_http(x, &f);
	SET(x->t, method, method_len, "", 0, 1);
	SET(x->t, uri, uri_len, "", 0, 0xff);
	SET(x->t, version, version_len, "", 0, '\\');
	check_http(x, &f);
}

/* Timestamps around second boundaries, in and out of order: the text of
 * the last line's second is reused, and the range's last second is cut
 * short (ns - its start must not wrap around to small values). */
static void test_ts(void **state)
{
	struct fx *x = *state;
	struct rs_flow_info f;
	flow_v4(&f, 0xc6120002, 0xc6120001, 47400, 80);
	basic_txn(x->t);
	static const uint64_t ts[] = {
		0, 999, 1000, 999999999, 1000000000, 1000000001, 5, UINT64_MAX,
		0, 709551615, 709551616, 18446744073000000000ull - 1,
		18446744073000000000ull, UINT64_MAX - 1, 290448384, 1764849545002874123ull,
		1764849545999999999ull, 1764849546000000000ull, 1764849545000000000ull,
	};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		x->t->ts_ns = ts[i];
		check_http(x, &f);
	}
}

/* Every length of every field, from empty to the whole array (a length
 * is clamped to its array), plain and with a byte that needs care at the
 * start, in the middle, at the end and in each 16-byte block, and with
 * junk that needs care right after the end. */
static void sweep(struct fx *x, const struct rs_flow_info *f, int which)
{
	static char src[RS_HTTP_URI_MAX + 1];
	static const uint8_t specials[] = {'"', '\\', 0, 1, '\n', 0x1f, 0x7f, 0x80,
					   0xc3, 0xe2, 0xf0, 0xff};
	size_t max = which == 0 ? sizeof x->t->method : which == 1 ? sizeof x->t->uri :
		     which == 2 ? sizeof x->t->host : which == 3 ? sizeof x->t->version :
		     sizeof x->t->user_agent;
	for (size_t n = 0; n <= max; n++) {
		for (int v = 0; v < 6; v++) {
			for (size_t i = 0; i < n; i++)
				src[i] = (char)('A' + (i * 7 + n) % 26);
			int junk = v == 0 ? 'z' : specials[(n + (size_t)v) % sizeof specials];
			if (n && v == 1)
				src[0] = (char)specials[n % sizeof specials];
			else if (n && v == 2)
				src[n - 1] = (char)specials[(n + 3) % sizeof specials];
			else if (n && v == 3)
				src[n / 2] = (char)specials[(n + 5) % sizeof specials];
			else if (n && v == 4)   /* one in every block */
				for (size_t i = n % 16 / 2; i < n; i += 16)
					src[i] = (char)specials[(i / 16 + n) % sizeof specials];
			else if (n >= 2 && v == 5) {   /* UTF-8 cut by the end */
				src[n - 2] = (char)0xc3;
				src[n - 1] = (char)0xa9;
				if (n >= 3 && n % 2)
					src[n - 1] = (char)0xe2;
			}
			switch (which) {
			case 0: SET(x->t, method, method_len, src, n, junk); break;
			case 1: SET(x->t, uri, uri_len, src, n, junk); break;
			case 2: SET(x->t, host, host_len, src, n, junk); break;
			case 3: SET(x->t, version, version_len, src, n, junk); break;
			default: SET(x->t, user_agent, ua_len, src, n, junk); break;
			}
			check_http(x, f);
		}
	}
}

static void test_lengths(void **state)
{
	struct fx *x = *state;
	struct rs_flow_info f;
	flow_v4(&f, 0x0a000001, 0x0a000002, 1, 65535);
	for (int which = 0; which < 5; which++) {
		basic_txn(x->t);
		sweep(x, &f, which);
	}
}

/* Every field at once at its longest, every byte escaped to six: the
 * longest line there is. */
static void test_longest(void **state)
{
	struct fx *x = *state;
	struct rs_flow_info f;
	memset(&f, 0, sizeof f);
	f.addr_len = 16;
	memset(f.cli_addr, 0x12, 16);
	memset(f.srv_addr, 0xfe, 16);
	f.cli_port = 65535;
	f.srv_port = 65535;
	struct rs_http_txn *t = x->t;
	basic_txn(t);
	memset(t->method, 1, sizeof t->method);
	memset(t->uri, 0xff, sizeof t->uri);
	memset(t->host, 0x1f, sizeof t->host);
	memset(t->user_agent, 0x80, sizeof t->user_agent);
	memset(t->version, 0x7, sizeof t->version);
	t->method_len = sizeof t->method;
	t->uri_len = sizeof t->uri;
	t->host_len = sizeof t->host;
	t->ua_len = sizeof t->user_agent;
	t->version_len = sizeof t->version;
	t->req_body_len = UINT64_MAX;
	t->resp_body_len = UINT64_MAX;
	t->ts_ns = UINT64_MAX;
	t->status = 0x7fffffff;
	t->flags = UINT32_MAX;
	check_http(x, &f);
	/* Lengths beyond the arrays are cut to them. */
	t->method_len = t->uri_len = t->host_len = t->ua_len = t->version_len = 65535;
	x->out.len = 0;
	rs_log_http(&x->out, &f, t);
	t->method_len = sizeof t->method;
	t->uri_len = sizeof t->uri;
	t->host_len = sizeof t->host;
	t->ua_len = sizeof t->user_agent;
	t->version_len = sizeof t->version;
	ref_http(&x->ref, &f, t);
	assert_int_equal(x->out.len, x->ref.n);
	assert_memory_equal(x->out.buf, x->ref.b, x->ref.n);
	/* Lines fill the buffer: each starts with room for the longest. */
	x->out.len = 0;
	for (int i = 0; i < 100; i++) {
		size_t before = x->out.len;
		rs_log_http(&x->out, &f, t);
		if (x->out.len > before)
			assert_memory_equal(x->out.buf + before, x->ref.b, x->ref.n);
		else
			assert_int_equal(x->out.len, x->ref.n);   /* flushed */
	}
	x->out.len = 0;
}

/* Random fields: mostly text, with quotes, backslashes, controls, valid
 * and broken UTF-8, at random lengths; random numbers and endpoints. */
static void rand_field(struct fx *x, char *dst, size_t cap, uint16_t *len)
{
	static const char *const pieces[] = {
		"\"", "\\", "\n", "\r", "\t", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe0\x80\xaf", "\xc3", "\xe2\x82", "\xff", "\x80", "\xf5\x80\x80\x80",
	};
	uint64_t r = rnd(x);
	size_t n = (r & 3) == 0 ? r >> 8 & 15 : (r & 3) == 1 ? (size_t)(r >> 8) % 48 :
		   (size_t)(r >> 8) % (cap + 1);
	if (n > cap)
		n = cap;
	memset(dst, (int)(rnd(x) & 0xff), cap);   /* junk after the end */
	unsigned density = (unsigned)(rnd(x) % 4);   /* 0: plain text */
	size_t i = 0;
	while (i < n) {
		uint64_t q = rnd(x);
		if (density && q % (density == 1 ? 64 : density == 2 ? 8 : 2) == 0) {
			const char *p = pieces[(q >> 8) % (sizeof pieces / sizeof pieces[0])];
			size_t k = strlen(p) ? strlen(p) : 1;
			if (k > n - i)
				k = n - i;
			memcpy(dst + i, p, k);
			i += k;
		} else {
			dst[i++] = (char)(0x20 + (q >> 16) % 95);
		}
	}
	/* Not always NUL-terminated: a plain byte, then the junk. */
	if (n < cap)
		dst[n] = rnd(x) & 1 ? 0 : 'z';
	*len = (uint16_t)n;
}

static void rand_flow(struct fx *x, struct rs_flow_info *f)
{
	memset(f, 0, sizeof *f);
	uint64_t r = rnd(x);
	f->addr_len = r & 1 ? 16 : 4;
	uint64_t a = rnd(x), b = rnd(x);
	/* Few distinct values, so that the endpoint cache hits and misses. */
	memcpy(f->cli_addr, &a, 8);
	memcpy(f->srv_addr + 8, &b, 8);
	if (f->addr_len == 4) {
		memset(f->cli_addr + 4, 0, 12);
		memset(f->srv_addr + 4, 0, 12);
		memcpy(f->srv_addr, &b, 4);
	}
	f->cli_port = (uint16_t)(r >> 8) % 600;
	f->srv_port = (uint16_t)((r >> 24) % 3 == 0 ? 80 : r >> 32);
	f->cli_addr[3] = (uint8_t)(r >> 48 & 3);
}

static uint64_t rand_num(struct fx *x)
{
	uint64_t r = rnd(x);
	switch (r & 7) {
	case 0: return 0;
	case 1: return r >> 60;
	case 2: return r >> 56;
	case 3: return r >> 50;
	case 4: return r >> 40;
	case 5: return r >> 20;
	case 6: return UINT64_MAX - (r >> 62);
	default: return r;
	}
}

static void random_lines(struct fx *x, int rounds)
{
	struct rs_http_txn *t = x->t;
	struct rs_flow_info flows[64];
	for (size_t i = 0; i < 64; i++)
		rand_flow(x, &flows[i]);
	for (int i = 0; i < rounds; i++) {
		rand_field(x, t->method, sizeof t->method, &t->method_len);
		rand_field(x, t->uri, sizeof t->uri, &t->uri_len);
		rand_field(x, t->host, sizeof t->host, &t->host_len);
		rand_field(x, t->user_agent, sizeof t->user_agent, &t->ua_len);
		rand_field(x, t->version, sizeof t->version, &t->version_len);
		t->ts_ns = rnd(x) % 8 == 0 ? rand_num(x) : 1764849545000000000ull + (uint64_t)i * 7919;
		t->req_body_len = rand_num(x);
		t->resp_body_len = rand_num(x);
		t->status = rnd(x) % 8 == 0 ? -1 : (int)(rand_num(x) & 0x7fffffff);
		t->flags = rnd(x) % 4 == 0 ? (uint32_t)rnd(x) : 0;
		struct rs_flow_info *f = &flows[rnd(x) % 64];
		if (rnd(x) % 16 == 0)
			rand_flow(x, f);
		check_http(x, f);
	}
}

static void test_random(void **state)
{
	random_lines(*state, getenv("RS_TEST_QUICK") ? 3000 : 30000);
}

/* rs_log_http has a fast way for the usual line and a general way for
 * any line; the other tests reach both (the fast way hands a line over at
 * a byte that needs care, a flush, new endpoints or a new second).  Here
 * every line goes the general way, as on stdout (fast_below 0), plain
 * ones too: the same bytes.  A finished buffer takes no line. */
static void test_general_way(void **state)
{
	struct fx *x = *state;
	struct rs_sink so;
	struct rs_outbuf ob;
	assert_int_equal(rs_sink_open(&so, "-"), 0);
	assert_int_equal(rs_outbuf_init(&ob, &so), 0);
	assert_int_equal(ob.fast_below, 0);
	rs_outbuf_fini(&ob);
	rs_sink_close(&so);

	struct rs_flow_info f;
	flow_v4(&f, 0xc6120002, 0xc6120001, 47400, 80);
	basic_txn(x->t);
	check_http(x, &f);
	x->out.fast_below = 0;
	check_http(x, &f);
	for (int which = 0; which < 5; which++) {
		basic_txn(x->t);
		sweep(x, &f, which);
	}
	random_lines(x, 3000);

	rs_outbuf_fini(&x->out);
	assert_int_equal(x->out.fast_below, 0);
	rs_log_http(&x->out, &f, x->t);
	assert_int_equal(x->out.len, 0);
	assert_int_equal(x->out.lines, 0);
}

/* ---- flow lines --------------------------------------------------- */

static void ref_flow(struct sb *o, const struct rs_flow_info *f,
		     enum rs_flow_end_reason why)
{
	o->n = 0;
	sb_printf(o, "{\"proto\":\"%s\"", f->proto == 6 ? "tcp" : "udp");
	ref_endpoints(o, f);
	if (f->vlan)
		sb_printf(o, ",\"vlan\":%u", f->vlan);
	sb_printf(o, ",\"first_ts\":");
	ref_ts(o, f->first_ts_ns);
	sb_printf(o, ",\"last_ts\":");
	ref_ts(o, f->last_ts_ns);
	sb_printf(o, ",\"pkts_to_server\":%" PRIu64 ",\"pkts_to_client\":%" PRIu64
		  ",\"bytes_to_server\":%" PRIu64 ",\"bytes_to_client\":%" PRIu64
		  ",\"state\":\"%s\",\"end_reason\":\"%s\",\"gaps\":%" PRIu64 ",\"flags\":[",
		  f->pkts[0], f->pkts[1], f->bytes[0], f->bytes[1],
		  f->state ? f->state : "unknown", rs_flow_end_reason_name(why), f->gaps);
	static const char *const names[] = {"midstream", NULL, NULL, "gap", "ooo_capped",
					    "overlap_mismatch"};
	bool first = true;
	for (unsigned bit = 0; bit < 6; bit++) {
		if (!(f->flags & (1u << bit)) || !names[bit])
			continue;
		sb_printf(o, "%s\"%s\"", first ? "" : ",", names[bit]);
		first = false;
	}
	sb_printf(o, "]}\n");
}

static void test_flow_lines(void **state)
{
	struct fx *x = *state;
	struct rs_flow_info f;
	for (int i = 0; i < 5000; i++) {
		rand_flow(x, &f);
		f.proto = rnd(x) & 1 ? 6 : 17;
		f.vlan = rnd(x) % 3 == 0 ? (uint16_t)(rnd(x) % 4096) : 0;
		f.first_ts_ns = rand_num(x);
		f.last_ts_ns = rand_num(x);
		f.pkts[0] = rand_num(x);
		f.pkts[1] = rand_num(x);
		f.bytes[0] = rand_num(x);
		f.bytes[1] = rand_num(x);
		f.gaps = rand_num(x);
		f.flags = (uint32_t)rnd(x) & 0x3f;
		f.state = rnd(x) % 4 ? "established" : NULL;
		enum rs_flow_end_reason why = (enum rs_flow_end_reason)(rnd(x) % 5);
		size_t before = x->out.len;
		rs_log_flow(&x->out, &f, why);
		ref_flow(&x->ref, &f, why);
		assert_int_equal(x->out.len - before, x->ref.n);
		assert_memory_equal(x->out.buf + before, x->ref.b, x->ref.n);
		if (x->out.len > RS_OUTBUF_SIZE / 2)
			x->out.len = 0;
	}
}

/* The endpoint text is cached per flow key: a flow that differs from the
 * cached one in any single byte of an address or a port (the same client
 * port to another server, say) gets its own text, in HTTP and flow lines,
 * not the cached one. */
static void test_endpoint_keys(void **state)
{
	struct fx *x = *state;
	basic_txn(x->t);
	for (int v6 = 0; v6 < 2; v6++) {
		struct rs_flow_info f0, f1;
		flow_v4(&f0, 0xc6120002, 0xc6120001, 47400, 80);
		if (v6) {
			f0.addr_len = 16;
			for (int i = 0; i < 16; i++) {
				f0.cli_addr[i] = (uint8_t)(0x20 + i);
				f0.srv_addr[i] = (uint8_t)(0x60 + i);
			}
		}
		uint8_t *fld[] = {f1.cli_addr, f1.srv_addr,
				  (uint8_t *)&f1.cli_port, (uint8_t *)&f1.srv_port};
		size_t len[] = {f0.addr_len, f0.addr_len, 2, 2};
		for (size_t k = 0; k < 4; k++) {
			for (size_t i = 0; i < len[k]; i++) {
				f1 = f0;
				fld[k][i] ^= 0x41;
				check_http(x, &f0);
				check_http(x, &f1);
				check_http(x, &f0);
				check_http(x, &f1);
				size_t before = x->out.len;
				rs_log_flow(&x->out, &f0, RS_END_FIN);
				ref_flow(&x->ref, &f0, RS_END_FIN);
				assert_int_equal(x->out.len - before, x->ref.n);
				assert_memory_equal(x->out.buf + before, x->ref.b,
						    x->ref.n);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_general_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_lines, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
