/* replay_impl.h - parts of the replay engine: SPSC record queue, latency histogram, request rewrite, response framing. */
#ifndef REPLAY_IMPL_H
#define REPLAY_IMPL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- single-producer single-consumer queue of variable-size records ----
 * One byte ring; each record is an 8-byte header and its payload rounded up
 * to 8 bytes, never split at the ring's end (a pad record fills the rest).
 * The producer publishes with a release store of head, the consumer frees
 * with a release store of tail; each side caches the other's index so the
 * shared cache lines are read only when the cached view is exhausted. */
struct rs_spsc {
	alignas(64) _Atomic uint64_t head;  /* bytes published (producer) */
	uint64_t tail_cache;                /* producer's view of tail */
	uint64_t res_at, res_size;          /* the reserved record */
	alignas(64) _Atomic uint64_t tail;  /* bytes released (consumer) */
	uint64_t head_cache;                /* consumer's view of head */
	uint64_t cur_size;                  /* the record being read */
	alignas(64) uint8_t *buf;
	uint64_t cap;                       /* power of two, >= 4096 */
};

/* cap is rounded up to a power of two (at least 4096).  Returns 0 or
 * -ENOMEM.  Any thread, before the queue is shared. */
int rs_spsc_init(struct rs_spsc *q, size_t cap);
void rs_spsc_fini(struct rs_spsc *q);
/* Largest payload a record may have: half the ring. */
size_t rs_spsc_max_payload(const struct rs_spsc *q);
/* Producer: room for a record of len bytes (8-aligned pointer), or NULL
 * when the queue has no room now (or len is over the maximum).  Nothing is
 * visible until rs_spsc_commit; a reservation not committed is forgotten at
 * the next reserve. */
void *rs_spsc_reserve(struct rs_spsc *q, size_t len);
void rs_spsc_commit(struct rs_spsc *q);
/* Consumer: the oldest record (its payload and length), or NULL when empty;
 * stays valid until rs_spsc_release. */
const void *rs_spsc_peek(struct rs_spsc *q, size_t *len);
void rs_spsc_release(struct rs_spsc *q);
/* Either side: is anything published and not yet released? */
bool rs_spsc_empty(struct rs_spsc *q);

/* ---- latency histogram ---------------------------------------------------
 * Values below 64 exact, then 32 buckets per power of two: any percentile is
 * within 1/32 (3.1%) of the true value.  Mean and max are exact. */
#define RS_HIST_SUB 32
#define RS_HIST_N (64 + 58 * RS_HIST_SUB)
struct rs_hist {
	uint64_t count, sum, max;
	uint64_t b[RS_HIST_N];
};
void rs_hist_add(struct rs_hist *h, uint64_t v);
/* The value at percentile p (0 < p <= 100): the top of its bucket, never
 * above the largest value seen; 0 when empty. */
uint64_t rs_hist_pct(const struct rs_hist *h, double p);

/* ---- the request as sent ------------------------------------------------ */
struct rs_req_info {
	bool head_method;  /* HEAD: the response has no body */
	bool http10;       /* HTTP/1.0: the server keeps the connection only
			    * when it says keep-alive */
};
/* Upper bound of rs_replay_build's output for these sizes. */
size_t rs_replay_build_max(size_t head_len, size_t body_len, size_t host_len);
/* Rewrite a captured request head (request line and header lines, CR LF or
 * LF endings, ending with an empty line) and its de-chunked body into the
 * bytes to send on a persistent connection:
 *  - line endings become CR LF; obs-fold lines stay with their header;
 *  - Content-Length and Transfer-Encoding go; when the request had either,
 *    or has a body, Content-Length gives the body's real length (a chunked
 *    request is sent with its de-chunked body; trailers are dropped);
 *  - hop-by-hop Connection, Keep-Alive, Proxy-Connection, Upgrade,
 *    HTTP2-Settings and Expect go (no 100-continue wait, no protocol
 *    switch, no close); an HTTP/1.0 request asks for keep-alive;
 *  - host (if not NULL) replaces the Host value, or is added.
 * out must have rs_replay_build_max() bytes.  Returns the length written,
 * or -1 when head is not a request head (no request line, no end). */
long rs_replay_build(uint8_t *out, const uint8_t *head, size_t head_len,
		     const uint8_t *body, size_t body_len, const char *host,
		     struct rs_req_info *info);

/* ---- where a response ends (RFC 9112 6.3) ------------------------------ */
enum rs_resp_state {
	RP_LINE, RP_HEADERS, RP_BODY_LEN, RP_CHUNK_SIZE, RP_CHUNK_DATA,
	RP_CHUNK_CRLF, RP_TRAILERS, RP_BODY_EOF, RP_DONE, RP_ERROR,
};
#define RS_RESP_LINE_KEEP 256          /* bytes of a line looked at */
#define RS_RESP_HEAD_MAX (64 * 1024)   /* head (or trailer block) bound */
struct rs_resp {
	uint8_t st;                /* enum rs_resp_state */
	bool head_req, req_http10;
	bool http10, close, keepalive, chunked, te_other;
	int status;                /* last status line's code, 0 before */
	int cl_state;              /* 0 none, 1 seen, -1 bad/conflict */
	uint64_t cl, remaining;
	uint64_t head_bytes;
	size_t line_len;           /* bytes kept in line */
	uint64_t line_total;       /* bytes of the line so far */
	char line[RS_RESP_LINE_KEEP];
};
/* Start reading the response to one request. */
void rs_resp_begin(struct rs_resp *r, const struct rs_req_info *req);
/* Feed the next n bytes.  Returns how many were used: fewer than n only
 * when the response ended inside them (the rest is not part of it), or -1
 * when it cannot be framed (r->st == RP_ERROR).  1xx interim responses
 * are skipped; 101 ends the response. */
long rs_resp_feed(struct rs_resp *r, const uint8_t *p, size_t n);
/* The server closed: true when that ends the response (read until close);
 * false when the response was cut. */
bool rs_resp_eof(struct rs_resp *r);
static inline bool rs_resp_done(const struct rs_resp *r)
{
	return r->st == RP_DONE;
}
/* After RP_DONE: may the connection carry the next request? */
bool rs_resp_reusable(const struct rs_resp *r);

#endif /* REPLAY_IMPL_H */
