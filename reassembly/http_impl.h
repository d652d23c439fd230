/* http_impl.h - private state of the HTTP/1.x parser (http.c, http_msg.c, http_parse.c, http_lex.c). */
#ifndef HTTP_IMPL_H
#define HTTP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rs_reassembly.h"

/* Lines and header names are scanned 16 bytes at a time where SSE2 is there
 * (and not turned off, so that tests cover the plain paths too). */
#if defined(__SSE2__) && !defined(HTTP_NO_SSE2)
#include <emmintrin.h>
#define HTTP_SSE2 1

static inline __m128i http_load16(const uint8_t *s)
{
	return _mm_loadu_si128((const __m128i *)(const void *)s);
}

/* Bit k set when byte k of x is LF. */
static inline unsigned http_lf_bits(__m128i x)
{
	return (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
}
#endif

/* A line that spans segments is copied here, up to these many bytes (the
 * rest is dropped, its last HTTP_TAIL bytes kept).  Requests need room for a
 * method and a whole logged URI; responses only for short framing headers. */
#define HTTP_LINE_CAP_REQ (RS_HTTP_METHOD_MAX + RS_HTTP_URI_MAX + 224)
#define HTTP_LINE_CAP_RESP 512
#define HTTP_TAIL 16
#define HTTP_FREE_MAX 64 /* connections kept for reuse per layer */
#define HTTP_BODY_POOL_MAX (64u << 10) /* bigger body buffers are not pooled */

enum http_state {
	ST_LINE,       /* expecting a start line; empty lines are skipped */
	ST_HEADERS,
	ST_BODY_LEN,   /* Content-Length body: `remaining` bytes left */
	ST_CHUNK_SIZE,
	ST_CHUNK_DATA, /* `remaining` bytes of chunk data left */
	ST_CHUNK_END,  /* the CRLF after a chunk's data */
	ST_TRAILERS,
	ST_BODY_EOF,   /* response body delimited by connection close */
	ST_RESYNC,     /* lost: scan lines for the next start line */
	ST_WAIT,       /* dir 0 after CONNECT, until its response */
	ST_STOP,       /* not parsed any more: upgrade, eof, not HTTP */
};

enum http_kind { K_OTHER, K_HEAD, K_CONNECT };
enum http_hdr { H_NONE, H_OTHER, H_HOST, H_UA, H_CL, H_TE };
enum http_cl { CL_NONE, CL_OK, CL_BAD, CL_CONFLICT };

/* RFC 9110 tchar (ALPHA DIGIT !#$%&'*+-.^_`|~) by byte: inline, because
 * header names are scanned byte by byte.  Bytes >= 0x80 are zero. */
static const uint8_t http_tchar_tab[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* 20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 30 */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, /* 50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, /* 70 */
};

static inline bool http_tchar(uint8_t ch)
{
	return http_tchar_tab[ch];
}

static inline uint64_t http_ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t http_ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#define HTTP_LC64 0x2020202020202020ull
#define HTTP_LC32 0x20202020u

/* Which framing or logged header a name is.  The name must be all tchar:
 * then OR 0x20 lower-cases exactly the letters and can make no other byte
 * match the lower-case literal ('-' | 0x20 is '-'; only CR also maps to
 * '-', and CR is no tchar).  Lengths first, so most names cost one switch. */
static inline int http_hdr_kind(const uint8_t *name, size_t n, int dir)
{
	const uint8_t *lit;

	switch (n) {
	case 4:
		lit = (const uint8_t *)"host";
		return dir == 0 &&
			       (http_ld32(name) | HTTP_LC32) == http_ld32(lit)
			       ? H_HOST : H_OTHER;
	case 10:
		lit = (const uint8_t *)"user-agent";
		return dir == 0 &&
			       (http_ld64(name) | HTTP_LC64) == http_ld64(lit) &&
			       (name[8] | 0x20) == 'n' && (name[9] | 0x20) == 't'
			       ? H_UA : H_OTHER;
	case 14:
		lit = (const uint8_t *)"content-length";
		return (http_ld64(name) | HTTP_LC64) == http_ld64(lit) &&
			       (http_ld64(name + 6) | HTTP_LC64) ==
				       http_ld64(lit + 6)
			       ? H_CL : H_OTHER;
	case 17:
		lit = (const uint8_t *)"transfer-encoding";
		return (http_ld64(name) | HTTP_LC64) == http_ld64(lit) &&
			       (http_ld64(name + 8) | HTTP_LC64) ==
				       http_ld64(lit + 8) &&
			       (name[16] | 0x20) == 'g'
			       ? H_TE : H_OTHER;
	default:
		return H_OTHER;
	}
}

/* A line being assembled across segments (prefix kept, plus the tail). */
struct http_line {
	uint8_t *buf;
	uint32_t cap, len;          /* bytes kept in buf */
	uint64_t total;             /* bytes of the line so far, LF excluded */
	uint64_t ts;                /* time of the line's first byte */
	uint8_t tail[HTTP_TAIL];    /* the line's last bytes */
	uint8_t tail_len;
	bool skip;                  /* discard up to the next LF */
};

/* A complete line as the handlers see it, CR/LF removed.  Built the same
 * way whether the line was contiguous or assembled, so results never depend
 * on where segments were cut. */
struct http_lv {
	const uint8_t *p;           /* first `len` bytes of the line */
	size_t len;
	/* The line's last `tail_len` bytes, read only when `over` (a line
	 * that is not over may come with an empty tail: start_line_direct). */
	const uint8_t *tail;
	size_t tail_len;
	uint64_t total;             /* real length */
	uint64_t raw;               /* bytes consumed, CR LF included */
	uint64_t ts;
	bool over;                  /* total > len: p is only a prefix */
	bool crlf;                  /* ended with CR LF */
};

/* Framing facts of the message whose head is being parsed. */
struct http_msg {
	uint64_t cl;
	uint8_t cl_state;           /* enum http_cl */
	uint8_t last_hdr;           /* enum http_hdr, for obs-fold */
	bool te, te_chunked, te_chunked_any, te_twice, http10, host_seen;
};

/* The usual Content-Length value, 1 to 18 digits (as one list element
 * would be read): applied, true.  Inline, so that the header loop needs no
 * call for it; when it declines, http_cl_apply reads the value. */
static inline bool http_cl_digits(struct http_msg *m, const uint8_t *v,
				  size_t n)
{
	uint64_t one = 0;

	if (!n || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned dg = (unsigned)v[i] - '0';

		if (dg > 9)
			return false;
		one = one * 10 + dg;
	}
	if (m->cl_state == CL_NONE) {
		m->cl_state = CL_OK;
		m->cl = one;
	} else if (m->cl_state == CL_OK && one != m->cl) {
		m->cl_state = CL_CONFLICT;
	}
	return true;
}

struct http_dir {
	uint8_t st;                 /* enum http_state */
	uint8_t after_req;          /* dir 0: state after this request ends */
	bool eof;
	bool synced;                /* a valid start line was seen here */
	bool wait_data;             /* dir 0: bytes ignored in ST_WAIT */
	bool resp_started;          /* dir 1: a response (maybe 1xx) is under way */
	bool has_target;            /* dir 1: it answers request resp_seq */
	bool damaged;               /* dir 1: it was cut by a gap or bad framing */
	uint8_t kind;               /* dir 1: enum http_kind of its request */
	int status;                 /* dir 1: its status code */
	struct http_line ln;
	struct http_msg m;
	uint64_t remaining;
	uint64_t head_bytes;        /* of the head or trailer block so far */
	uint64_t last_ts;
};

/* The request whose head is being parsed. */
struct http_req {
	uint64_t ts;
	uint64_t pos;               /* store region (virtual offset) */
	uint32_t used;              /* head bytes copied into it */
	uint32_t flags;
	uint8_t kind;
	bool keep;                  /* head still copied whole */
	/* The fields lie where the callback's struct has them (the same
	 * members in the same order: a common initial sequence), so that the
	 * usual request, emitted while its fields are still here (cur_held),
	 * is handed over as txn without copying them. */
	union {
		struct rs_http_txn txn;
		struct {
			uint64_t txn_ts_ns, txn_resp_ts_ns; /* txn's, unused */
			char method[RS_HTTP_METHOD_MAX], uri[RS_HTTP_URI_MAX];
			char host[RS_HTTP_HOST_MAX], ua[RS_HTTP_UA_MAX];
			char version[RS_HTTP_VERSION_MAX];
			uint16_t method_len, uri_len, host_len, ua_len,
				version_len;
		};
	};
};
#define HTTP_REQ_SAME(a, b)                                              \
	_Static_assert(offsetof(struct http_req, a) ==                    \
			       offsetof(struct http_req, txn.b),          \
		       "http_req." #a " is not txn." #b)
HTTP_REQ_SAME(method, method);
HTTP_REQ_SAME(uri, uri);
HTTP_REQ_SAME(host, host);
HTTP_REQ_SAME(ua, user_agent);
HTTP_REQ_SAME(version, version);
HTTP_REQ_SAME(method_len, method_len);
HTTP_REQ_SAME(uri_len, uri_len);
HTTP_REQ_SAME(host_len, host_len);
HTTP_REQ_SAME(ua_len, ua_len);
HTTP_REQ_SAME(version_len, version_len);
#undef HTTP_REQ_SAME

/* A request waiting for its response (and maybe the end of its body).
 * Its store region holds [raw head][method][uri][host][ua][version].
 * The field lengths are set when the fields leave cur (http_cur_flush).
 * Kept body (rs_http_layer_set_keep_body): at body[body_off], body_kept
 * bytes; body_full while every byte so far was kept; body_end once the
 * body ended where its framing said. */
struct http_pend {
	uint64_t pos, ts_ns;
	/* Zero when committed, side by side: a few wide stores clear them.
	 * The times and the lengths in pairs, as rs_http_txn has them. */
	uint64_t resp_ts_ns, req_body_len, resp_body_len;
	uint32_t body_kept;
	bool req_done, resp_done, resp_seen, body_end;
	uint32_t head_len, flags;
	int status;
	uint32_t body_off;
	uint16_t method_len, uri_len, host_len, ua_len, version_len;
	uint8_t kind;
	bool body_full;
};

struct rs_http_conn {
	struct rs_http_layer *l;
	const struct rs_flow_info *f;
	struct rs_http_conn *next_free;
	uint32_t cflags;            /* flags every txn gets (midstream) */
	bool http_seen, not_http, has_cur;
	/* The newest queued request's fields are still in cur, not yet in its
	 * store region (room kept): copied there only when the next request
	 * begins, so the usual keep-alive request is emitted from cur. */
	bool cur_held;
	uint64_t sniffed;           /* dir 0 bytes before anything HTTP */
	uint64_t next_seq;          /* seq of the next committed request */
	uint64_t resp_seq;          /* seq the next response answers */
	uint64_t req_seq;           /* seq of the request in dir 0's body */
	uint64_t wait_seq;          /* the CONNECT dir 0 waits on */
	uint64_t st_end;            /* virtual end of the last committed region */
	unsigned p_head, p_count;
	uint32_t b_base, b_end;     /* live kept bodies: body[b_base..b_end) */
	struct http_dir d[2];
	struct http_pend pend[RS_HTTP_PENDING_MAX];
	struct http_req cur;
	/* Not cleared on reuse: */
	uint8_t *body;              /* kept request bodies, grown on demand */
	uint32_t body_cap;
	uint8_t line_req[HTTP_LINE_CAP_REQ];
	uint8_t line_resp[HTTP_LINE_CAP_RESP];
	uint8_t store[RS_HTTP_REQ_STORE];
};

struct http_priv {
	struct rs_http_conn *free;
	unsigned nfree;
	uint32_t keep_body;         /* max body bytes kept per request, 0 = off */
	bool keep_head;             /* copy raw request heads (for req_head) */
	struct rs_http_txn txn;     /* filled for each callback */
};

/* ---- small inline helpers (hot: several calls per transaction) ------- */

/* memcpy for short fields (methods, versions, hosts, user agents): inline,
 * by moves that stay inside [0, n). */
static inline void http_copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n >= 8 && n <= 16) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n && n < 4) {
		uint8_t a = s[0], b = s[n / 2], e = s[n - 1];

		d[0] = a;
		d[n / 2] = b;
		d[n - 1] = e;
	} else if (n) {
		/* n > 16: 16-byte pieces, the last one overlapping.  A plain
		 * memcpy here is inlined by gcc as `rep movsq` (the size is
		 * bounded by the field), whose start-up cost was 3% of a run. */
		size_t i;

		for (i = 0; i + 16 < n; i += 16)
			memcpy(d + i, s + i, 16);
		/* gcc warns for fields under 17 bytes, where n > 16 never
		 * happens (set_field cuts n to the field). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
		memcpy(d + n - 16, s + n - 16, 16);
#pragma GCC diagnostic pop
	}
}

/* Copy a field, NUL-terminated, cut to max - 1 bytes (flagged). */
static inline void http_set_field(char *dst, uint16_t *dlen, size_t max,
				  const uint8_t *p, size_t n, uint32_t *flags)
{
	size_t k = n < max - 1 ? n : max - 1;

	http_copy(dst, p, k);
	dst[k] = 0;
	*dlen = (uint16_t)k;
	if (k < n)
		*flags |= RS_HTTP_F_TRUNCATED;
}

/* The waiting request with sequence number seq, or NULL.  The queue holds
 * seqs next_seq - p_count .. next_seq - 1 in order (requests join at the
 * end with the next seq and leave from the front), so one unsigned compare
 * finds it: below the first, k wraps past p_count. */
static inline struct http_pend *http_pend_seq(struct rs_http_conn *c,
					      uint64_t seq)
{
	uint64_t k = seq - (c->next_seq - c->p_count);

	if (k >= c->p_count)
		return NULL;
	return &c->pend[(c->p_head + k) % RS_HTTP_PENDING_MAX];
}

/* http.c: requests in flight (the store and the queue) */
void http_cur_flush(struct rs_http_conn *c);
void http_head_append(struct rs_http_conn *c, const uint8_t *p, size_t n);
void http_head_append_lines_kept(struct rs_http_conn *c, const uint8_t *p,
				 size_t n);

/* A new request starts: fresh fields and an empty region.  Inline (once
 * per request); only a request still holding cur's fields needs a call. */
static inline void http_cur_begin(struct rs_http_conn *c, uint64_t ts)
{
	struct http_req *r = &c->cur;

	if (c->cur_held)
		http_cur_flush(c);
	r->ts = ts;
	r->pos = c->p_count ? c->st_end : 0;
	r->used = 0;
	r->flags = 0;
	r->method_len = r->uri_len = r->host_len = r->ua_len = 0;
	r->version_len = 0;
	r->method[0] = r->uri[0] = r->host[0] = r->ua[0] = r->version[0] = 0;
	r->kind = K_OTHER;
	r->keep = ((const struct http_priv *)c->l->priv)->keep_head;
	c->has_cur = true;
}

/* n bytes of whole head lines, each of which http_head_append would have
 * been given alone.  Inline: heads are not kept unless replay is on. */
static inline void http_head_append_lines(struct rs_http_conn *c,
					  const uint8_t *p, size_t n)
{
	if (c->cur.keep && n)
		http_head_append_lines_kept(c, p, n);
}
uint64_t http_commit(struct rs_http_conn *c, uint32_t flags);
void http_emit_done(struct rs_http_conn *c);

/* Emit the requests at the front that are done both ways.  The test is
 * inline: when a request's head ends, its response is still to come. */
static inline void http_try_emit(struct rs_http_conn *c)
{
	const struct http_pend *e = &c->pend[c->p_head];

	if (c->p_count && e->req_done && e->resp_done)
		http_emit_done(c);
}
void http_emit_front(struct rs_http_conn *c);
/* Kept request bodies (only when the layer keeps them). */
void http_body_keep(struct rs_http_conn *c, const uint8_t *p, size_t n);
void http_body_lost(struct rs_http_conn *c);
void http_body_ended(struct rs_http_conn *c);

/* http_msg.c: messages and their pairing (used by http_parse.c) */
bool http_lost(const struct rs_http_conn *c, int dir);
void http_to_state(struct http_dir *d, uint8_t st);
void http_resp_flag(struct rs_http_conn *c, uint32_t fl);
void http_msg_flag(struct rs_http_conn *c, int dir, uint32_t fl);
void http_body_add(struct rs_http_conn *c, int dir, uint64_t n);
void http_req_finish(struct rs_http_conn *c);
void http_resp_finish(struct rs_http_conn *c);
void http_msg_end(struct rs_http_conn *c, int dir);
void http_abort_msg(struct rs_http_conn *c, int dir, uint32_t fl);
void http_set_not_http(struct rs_http_conn *c);
void http_request_line(struct rs_http_conn *c, const struct http_lv *lv);
void http_status_line(struct rs_http_conn *c, const struct http_lv *lv);
void http_header_line(struct rs_http_conn *c, int dir,
		      const struct http_lv *lv);
size_t http_headers_direct(struct rs_http_conn *c, int dir, const uint8_t *p,
			   size_t n, uint64_t ts, size_t pre);
void http_request_ok(struct rs_http_conn *c, const struct http_lv *lv);
void http_chunk_size_line(struct rs_http_conn *c, int dir,
			  const struct http_lv *lv);
void http_resync_line(struct rs_http_conn *c, int dir,
		      const struct http_lv *lv);

/* http_lex.c: lines, start lines, framing headers, resync scans */
void http_append_field(char *dst, uint16_t *dlen, size_t max,
		       const uint8_t *p, size_t n, uint32_t *flags);
void http_line_reset(struct http_line *ln);
void http_line_append(struct http_line *ln, const uint8_t *p, size_t n);
void http_lv_direct(struct http_lv *lv, const struct http_line *ln,
		    const uint8_t *p, size_t n, uint64_t ts);
void http_lv_buffered(struct http_lv *lv, const struct http_line *ln,
		      bool term);
bool http_plausible(const uint8_t *p, size_t n);
int http_parse_request(struct http_req *r, const struct http_lv *lv,
		       bool no_version);
bool http_req_is_10(const struct http_req *r);
bool http_parse_status(const uint8_t *p, size_t n, int *status, bool *http10);
void http_cl_apply(struct http_msg *m, const uint8_t *v, size_t n);
uint32_t http_te_apply(struct http_msg *m, const uint8_t *v, size_t n,
		       const struct http_lv *lv);
int http_chunk_size(const uint8_t *p, size_t n, uint64_t *size);
long http_find_request(const uint8_t *p, size_t n);
long http_find_status(const uint8_t *p, size_t n);

#endif /* HTTP_IMPL_H */
