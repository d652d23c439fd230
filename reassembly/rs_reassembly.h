/* rs_reassembly.h - flows, TCP byte streams, and the HTTP/1.x layer on top.
 *
 * A decoded packet (struct rs_pkt from decode/) goes to its worker's
 * rs_flow_worker: the flow is found or made in a lock-free table shared by
 * all workers (liburcu cds_lfht), the TCP segment is put in order per
 * direction, and in-order bytes go to an application layer through
 * struct rs_app_ops.  HTTP/1.x is one such layer (rs_http_*), and turns the
 * two byte streams of a connection into transactions.
 *
 * Threading: a flow is owned by the worker that created it; only that
 * worker touches its streams.  The table itself is shared.  Each worker
 * thread that calls rs_flow_* must be registered with RCU through
 * rs_flow_worker_new() on that thread.
 *
 * RCU flavour: QSBR (liburcu-qsbr).  Lookups cost nothing on the read side;
 * in exchange every worker must announce quiescent states: call
 * rs_flow_quiescent() between ring blocks / packet batches, and wrap any
 * blocking wait (poll, sleep, condition wait) in rs_flow_offline() /
 * rs_flow_online().  A worker that is online and never quiescent stalls
 * every grace period: ended flows are then never freed.
 */
#ifndef RS_REASSEMBLY_H
#define RS_REASSEMBLY_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rs_decode.h"

/* ---- Flows --------------------------------------------------------- */

enum rs_flow_end_reason {
	RS_END_FIN, RS_END_RST, RS_END_TIMEOUT, RS_END_EVICTED, RS_END_SHUTDOWN,
};
const char *rs_flow_end_reason_name(enum rs_flow_end_reason r);

/* rs_flow_info.flags */
enum {
	RS_FLOW_MIDSTREAM = 1u << 0,  /* handshake not seen; roles guessed */
	RS_FLOW_SYN_SEEN = 1u << 1,
	RS_FLOW_SYNACK_SEEN = 1u << 2,
	RS_FLOW_GAP = 1u << 3,        /* bytes were lost in a stream */
	RS_FLOW_OOO_CAPPED = 1u << 4, /* out-of-order buffering hit a cap */
	RS_FLOW_OVERLAP_DIFF = 1u << 5,/* retransmission with different bytes */
};

/* What a flow looks like to outputs and app layers.  Read-only for them,
 * and valid only during the callback that hands it over (it lives in the
 * flow, which is freed after it ends).  Direction 0 is client to server
 * (initiator to responder), 1 the reverse. */
struct rs_flow_info {
	uint8_t proto;              /* IPPROTO_* */
	uint8_t addr_len;           /* 4 or 16 */
	uint16_t vlan;              /* innermost VLAN id, 0 if none */
	uint8_t cli_addr[16], srv_addr[16];
	uint16_t cli_port, srv_port;
	uint64_t first_ts_ns, last_ts_ns;
	uint64_t pkts[2], bytes[2]; /* [0] to server, [1] to client */
	uint64_t gaps;              /* holes skipped, both directions */
	uint32_t flags;             /* RS_FLOW_* */
	const char *state;          /* "syn_sent", "established", "closed", ... */
};

struct rs_flow_config {
	uint64_t max_flows;          /* table cap; the stalest is evicted */
	uint64_t ooo_bytes_max;      /* global cap on buffered out-of-order bytes */
	uint64_t ooo_bytes_per_flow; /* per-flow cap on the same */
	uint64_t timeout_new_ns;     /* handshake not complete */
	uint64_t timeout_est_ns;     /* established */
	uint64_t timeout_closed_ns;  /* FIN/RST seen */
	uint64_t timeout_udp_ns;
	uint64_t timeout_other_ns;
};
/* Defaults near Suricata's: new 60 s, established 600 s, closed 60 s,
 * udp 300 s, other 300 s; max_flows 262144; ooo 64 MiB global, 1 MiB per
 * flow.  Timeouts are idle times: a flow ends once now - last packet is
 * greater than its state's timeout. */
void rs_flow_config_default(struct rs_flow_config *c);

/* The application layer sees each TCP connection as two byte streams.
 * Every callback runs on the owning worker's thread.  `data` may point into
 * the captured frame: it is valid only during the call. */
struct rs_app_ops {
	/* First payload of a TCP flow: return per-connection state, or NULL to
	 * ignore this flow's payload. */
	void *(*open)(void *ctx, const struct rs_flow_info *f);
	/* In-order bytes for direction dir, in capture order across both. */
	void (*data)(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		     const uint8_t *data, size_t len, uint64_t ts_ns);
	/* `len` bytes of direction dir were lost and skipped. */
	void (*gap)(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		    uint64_t len, uint64_t ts_ns);
	/* Direction dir ended (FIN, RST, or flush at flow end). */
	void (*eof)(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		    uint64_t ts_ns);
	/* The flow is going away: finish and free app. */
	void (*close)(void *ctx, void *app, const struct rs_flow_info *f);
};

/* Called once per ended flow (any protocol), for --flow-log. */
typedef void (*rs_flow_end_fn)(void *ctx, const struct rs_flow_info *f,
			       enum rs_flow_end_reason why);

/* Per-worker counters, cache-line aligned; summed with rs_flow_stats_add. */
struct rs_flow_stats {
	alignas(64) uint64_t flows_created;
	uint64_t flows_ended;
	uint64_t flows_active;        /* created - ended, for this worker */
	uint64_t flows_evicted;       /* ended because max_flows was reached */
	uint64_t flows_timeout;
	uint64_t wrong_worker;        /* packets whose flow another worker owns */
	uint64_t tuple_reuse;         /* new SYN on a closed tuple */
	uint64_t midstream;
	uint64_t tcp_segments;
	uint64_t tcp_gaps;            /* holes skipped */
	uint64_t gap_bytes;
	uint64_t ooo_segments;        /* segments buffered out of order */
	uint64_t ooo_bytes;           /* bytes copied into out-of-order buffers */
	uint64_t ooo_dropped;         /* segments not buffered because of a cap */
	uint64_t retransmits;         /* segments wholly before the stream's edge */
	uint64_t overlaps;            /* partial overlaps with data already seen */
	uint64_t overlap_mismatch;    /* overlapping bytes that differed */
	uint64_t alloc_failures;
	/* Additions (append only). */
	uint64_t flows_refused;       /* not created: table full and this worker
				       * owned nothing to evict */
	uint64_t pkts_skipped;        /* not flow traffic: non-IP, later fragments */
	uint64_t insert_races;        /* lost an insert race (add_unique) */
};
void rs_flow_stats_add(struct rs_flow_stats *dst,
		       const struct rs_flow_stats *src);

struct rs_flow_table;
struct rs_flow_worker;

/* Create the shared table (cfg NULL = defaults).  Returns 0, -EINVAL
 * (max_flows 0) or -ENOMEM; *out is untouched on failure.  Any thread, no
 * RCU registration needed.  Free with rs_flow_table_free() after every
 * worker is freed; it waits for pending RCU frees (rcu_barrier) and must be
 * called from a thread that is not an online RCU reader. */
int rs_flow_table_new(struct rs_flow_table **out,
		      const struct rs_flow_config *cfg);
void rs_flow_table_free(struct rs_flow_table *t);
/* Flows in the table now (all workers). */
uint64_t rs_flow_table_count(const struct rs_flow_table *t);
/* Buckets of the flow index now: 4096 at first (fewer for a smaller
 * max_flows), grown by rs_flow_quiescent once flows outnumber them. */
unsigned long rs_flow_table_buckets(const struct rs_flow_table *t);

/* Create worker `id`'s context ON THE THREAD THAT WILL USE IT (registers the
 * thread with RCU).  ops/app_ctx may be NULL (no application layer);
 * end_fn may be NULL.  Returns 0 or a negative errno. */
int rs_flow_worker_new(struct rs_flow_worker **out, struct rs_flow_table *t,
		       unsigned id, const struct rs_app_ops *ops,
		       void *app_ctx, rs_flow_end_fn end_fn, void *end_ctx);
/* Ends every flow the worker still owns (reason shutdown, streams flushed),
 * unregisters the thread from RCU and frees.  Same thread as _new. */
void rs_flow_worker_free(struct rs_flow_worker *w);

/* Account one decoded packet to its flow, reassemble TCP payload and feed
 * the app layer.  Allocates only when a flow is created or a segment must
 * be buffered out of order.  Returns 0 (also for packets skipped, or whose
 * flow another worker owns: counted), -ENOSPC when the table is full and
 * nothing of this worker's could be evicted, -ENOMEM; both counted.
 * Worker thread, online.  p->ts_ns moves the worker's clock forward.
 * Reads only the fields that rs_decode_flow() writes (the worker decodes
 * with it): a new read of any other field of p needs rs_decode() there. */
int rs_flow_packet(struct rs_flow_worker *w, const struct rs_pkt *p);

/* Time moves to now_ns (packet time for files, clock for live): end this
 * worker's idle flows.  Cheap when nothing is due; call every packet batch. */
void rs_flow_tick(struct rs_flow_worker *w, uint64_t now_ns);
/* The worker holds no table references now (RCU quiescent state): call
 * between batches, e.g. after each ring block.  When this worker's inserts
 * made flows outnumber the index's buckets, it grows the index here to
 * twice the flows (a stall of ~25 ns per new bucket, once per growth). */
void rs_flow_quiescent(struct rs_flow_worker *w);
/* Block in an RCU-offline state (e.g. around a poll()) and come back. */
void rs_flow_offline(struct rs_flow_worker *w);
void rs_flow_online(struct rs_flow_worker *w);
/* End every flow this worker owns with reason `why` (e.g. end of file):
 * streams are flushed (gaps reported, eof, close) and end_fn is called.
 * Flows that already saw FIN or RST report fin or rst instead of `why`,
 * as they do whatever removes them. */
void rs_flow_flush(struct rs_flow_worker *w, uint64_t now_ns,
		   enum rs_flow_end_reason why);
const struct rs_flow_stats *rs_flow_worker_stats(const struct rs_flow_worker *w);

/* ---- HTTP/1.x transactions ---------------------------------------- */

/* Bounds on what a logged transaction keeps; longer fields are cut and the
 * transaction is flagged truncated. */
#define RS_HTTP_METHOD_MAX 32
#define RS_HTTP_URI_MAX 2048
#define RS_HTTP_HOST_MAX 256
#define RS_HTTP_UA_MAX 512
#define RS_HTTP_VERSION_MAX 16
#define RS_HTTP_HEADER_BLOCK_MAX (64 * 1024) /* beyond: stop parsing headers */
/* Requests waiting for a response, per connection; beyond, the oldest is
 * emitted unanswered (its response, if it comes, is counted as an orphan). */
#define RS_HTTP_PENDING_MAX 16
/* Bytes per connection that hold waiting requests' fields and raw heads
 * (req_head); a head that does not fit is not kept. */
#define RS_HTTP_REQ_STORE 8192
/* Bytes of direction 0 scanned for a request line before a connection that
 * never looked like HTTP is ignored (counted in not_http). */
#define RS_HTTP_SNIFF_MAX 8192

/* rs_http_txn.flags */
enum {
	RS_HTTP_F_GAP = 1u << 0,
	RS_HTTP_F_TRUNCATED = 1u << 1,
	RS_HTTP_F_MIDSTREAM = 1u << 2,
	RS_HTTP_F_SMUGGLING = 1u << 3,
	RS_HTTP_F_UPGRADE = 1u << 4,     /* CONNECT or Upgrade: parsing stopped */
	RS_HTTP_F_NO_RESPONSE = 1u << 5, /* flow ended before a response */
	RS_HTTP_F_CHUNKED = 1u << 6,
	RS_HTTP_F_BAD_REQUEST = 1u << 7, /* malformed request line/headers */
	RS_HTTP_F_BAD_RESPONSE = 1u << 8,
};
/* Names of the flags above, for the log's "flags" array, bit by bit. */
const char *rs_http_flag_name(unsigned bit);

/* One request and (if seen) its response.  Strings are NUL-terminated and
 * may hold any bytes: outputs must escape them.  Every byte of each string
 * array is initialised, past the length too (what lies there is
 * unspecified), so a reader may load whole blocks of an array and mask off
 * what is past the length. */
struct rs_http_txn {
	uint64_t ts_ns;                 /* first byte of the request */
	uint64_t resp_ts_ns;            /* first byte of the response, or 0 */
	char method[RS_HTTP_METHOD_MAX];
	char uri[RS_HTTP_URI_MAX];
	char host[RS_HTTP_HOST_MAX];
	char user_agent[RS_HTTP_UA_MAX];
	char version[RS_HTTP_VERSION_MAX];
	uint16_t method_len, uri_len, host_len, ua_len, version_len;
	uint64_t req_body_len;          /* body bytes seen (after de-chunking) */
	uint64_t resp_body_len;
	int status;                     /* -1 when no response was seen */
	uint32_t flags;                 /* RS_HTTP_F_* */
	/* The raw request head (request line + headers) when it was kept whole,
	 * for replay; NULL otherwise, and always when the layer does not keep
	 * heads (rs_http_layer_set_keep_head).  Valid only during the callback. */
	const uint8_t *req_head;
	size_t req_head_len;
	/* Additions (append only).  The request body, de-chunked, when the
	 * layer keeps bodies (rs_http_layer_set_keep_body): its first
	 * req_body_kept bytes (NULL when none were kept).  req_body_complete:
	 * the whole body (maybe empty) was seen, ended where its framing said
	 * (no gap, no cut, not too long) and is all in req_body.  Always NULL,
	 * 0, false when keeping is off.  Valid only during the callback. */
	const uint8_t *req_body;
	size_t req_body_kept;
	bool req_body_complete;
};

/* Called when a transaction is complete (response ended, or flow ended),
 * always in request order per connection, on the thread that fed the
 * connection and from inside rs_http_conn_data/gap/eof/free (or the app
 * ops).  t and everything it points to are valid during the call only; the
 * callback must not call back into the same connection.  f is the flow info
 * last given for the connection (NULL if none was). */
typedef void (*rs_http_txn_fn)(void *user, const struct rs_flow_info *f,
			       const struct rs_http_txn *t);

struct rs_http_stats {
	alignas(64) uint64_t requests;   /* request heads parsed */
	uint64_t responses;              /* response heads parsed */
	uint64_t txns;                   /* transactions handed to the callback */
	uint64_t gaps;                   /* gaps seen inside HTTP streams */
	uint64_t resyncs;                /* header gaps recovered at a request line */
	uint64_t parse_errors;
	uint64_t truncated;
	uint64_t smuggling;
	uint64_t upgrades;
	uint64_t unanswered;
	uint64_t not_http;               /* connections that were not HTTP */
	uint64_t orphan_responses;       /* responses with no request to pair */
	uint64_t evicted;                /* requests emitted early: queue full */
	uint64_t alloc_failures;         /* connections not parsed: no memory */
};
void rs_http_stats_add(struct rs_http_stats *dst,
		       const struct rs_http_stats *src);

/* The HTTP layer as an application layer: one per worker.  Fill it with
 * rs_http_layer_init and pass rs_http_app_ops with it as app_ctx to
 * rs_flow_worker_new. */
struct rs_http_layer {
	rs_http_txn_fn on_txn;
	void *user;
	struct rs_http_stats stats;
	void *priv;                      /* the parser's per-worker pools */
};
/* Returns 0, -EINVAL (l NULL) or -ENOMEM (then rs_http_conn_new on it
 * returns NULL).  on_txn may be NULL (transactions are only counted).  Any
 * thread; afterwards the layer belongs to one worker thread: not thread-safe.
 * Free with rs_http_layer_fini once every connection is freed (frees the
 * connection pool; calling it twice is harmless). */
int rs_http_layer_init(struct rs_http_layer *l, rs_http_txn_fn on_txn,
		       void *user);
void rs_http_layer_fini(struct rs_http_layer *l);
/* Keep request bodies (de-chunked) for transactions, up to max_bytes per
 * request; 0 turns keeping off (the default).  Bodies are copied into a
 * per-connection buffer that grows on demand up to 2 * max_bytes (so that
 * pipelined requests' bodies fit together) and is kept with the connection
 * in the layer's pool.  A body longer than what fits keeps its first bytes
 * and is not complete.  Call on the layer's thread, before connections
 * exist.  Returns 0, or -EINVAL (l not initialised, or max_bytes over
 * RS_HTTP_BODY_KEEP_MAX). */
#define RS_HTTP_BODY_KEEP_MAX (256u << 20)
int rs_http_layer_set_keep_body(struct rs_http_layer *l, size_t max_bytes);
/* Keep each request's raw head for rs_http_txn.req_head (the default), or
 * not: without it only the logged fields are copied, and req_head is NULL.
 * Call on the layer's thread, before connections exist.  Returns 0, or
 * -EINVAL when l was not initialised. */
int rs_http_layer_set_keep_head(struct rs_http_layer *l, bool keep);
extern const struct rs_app_ops rs_http_app_ops;

/* The parser alone, for tests and fuzzing: feed a connection's two streams
 * and get transactions through the layer's callback.  rs_http_app_ops does
 * exactly this, passing the flow's info at every call. */
struct rs_http_conn;
/* One connection's state, about 16 KiB, taken from the layer's pool (malloc
 * only when the pool is empty).  Returns NULL without memory (counted in
 * alloc_failures) or if l was not initialised.  f may be NULL; otherwise it
 * must stay valid until the connection is freed.  RS_FLOW_MIDSTREAM in
 * f->flags makes every transaction midstream. */
struct rs_http_conn *rs_http_conn_new(struct rs_http_layer *l,
				      const struct rs_flow_info *f);
/* In-order bytes of direction dir (0 client to server, 1 back), in capture
 * order across both.  Reads exactly data[0..len); keeps no pointer into it;
 * copies only a line that spans segments (bounded), the transaction's
 * fields, and when the layer keeps them, the request head (into the
 * connection's store) and request body bytes (into its body buffer).
 * Other dir values, NULL c or data are ignored. */
void rs_http_conn_data(struct rs_http_conn *c, int dir, const uint8_t *data,
		       size_t len, uint64_t ts_ns);
/* len bytes of direction dir were lost: skipped inside a body of known
 * length; otherwise the transaction is flagged gap and parsing resumes at
 * the next request line (dir 0) or status line (dir 1). */
void rs_http_conn_gap(struct rs_http_conn *c, int dir, uint64_t len);
/* Direction dir ended (FIN, RST or flush): a last line without LF counts, a
 * close-delimited response ends; after dir 1 ends, waiting requests are
 * emitted as they complete, with RS_HTTP_F_NO_RESPONSE.  Idempotent. */
void rs_http_conn_eof(struct rs_http_conn *c, int dir);
/* Ends both directions (as eof), emits what is left in request order and
 * gives the state back to the pool.  NULL is ignored. */
void rs_http_conn_free(struct rs_http_conn *c);

#endif /* RS_REASSEMBLY_H */
