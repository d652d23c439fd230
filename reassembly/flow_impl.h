/* flow_impl.h - private layout of the flow table, flows, TCP streams and workers. */
#ifndef RS_FLOW_IMPL_H
#define RS_FLOW_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The RCU flavour must be included before rculfhash.h: the table binds to it.
 * QSBR: see flow.c for why. */
#include <urcu-qsbr.h>
#include <urcu/list.h>
#include <urcu/rculfhash.h>

#include "rs_reassembly.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* Serial-number arithmetic (RFC 1982) on 32-bit TCP sequence numbers:
 * a is "before" b when the signed distance is negative.  Converting to
 * int32_t is modular on every compiler we use (GCC/Clang define it). */
static inline int32_t rs_seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}
#define SEQ_LT(a, b) (rs_seq_diff((a), (b)) < 0)
#define SEQ_LEQ(a, b) (rs_seq_diff((a), (b)) <= 0)
#define SEQ_GT(a, b) (rs_seq_diff((a), (b)) > 0)
#define SEQ_GEQ(a, b) (rs_seq_diff((a), (b)) >= 0)

/* Canonical 5-tuple + VLAN: the lower (address, port) end first, so both
 * directions build the same key.  w[4] = lo port | hi port << 16 |
 * vlan << 32 | proto << 48 | addr_len << 56. */
struct rs_flow_key {
	uint64_t w[5];
};

/* Idle-timeout classes: one LRU list per class per worker, so each list is
 * ordered by deadline and expiry only ever looks at list heads. */
enum rs_lru_class {
	RS_LRU_NEW, RS_LRU_EST, RS_LRU_CLOSED, RS_LRU_UDP, RS_LRU_OTHER,
	RS_LRU__COUNT
};

/* Flow states; names in rs_flow_state_name (flow.c). */
enum rs_flow_state {
	RS_ST_NEW,          /* udp/other: one direction seen */
	RS_ST_SYN_SENT,
	RS_ST_SYN_RECV,
	RS_ST_EST,          /* tcp established; udp/other: both directions */
	RS_ST_FIN_WAIT,     /* one FIN seen */
	RS_ST_CLOSING,      /* both FINs seen */
	RS_ST_CLOSED,       /* both FINs acknowledged, or RST */
	RS_ST__COUNT
};

/* One out-of-order segment, copied from the frame.  A stream's list is
 * sorted by seq, the segments are disjoint and all start after `next`. */
struct rs_seg {
	struct rs_seg *next;
	uint64_t ts_ns;     /* arrival time, handed on with the bytes */
	uint32_t seq, len;
	uint8_t data[];
};

/* One direction of a TCP connection. */
struct rs_stream {
	struct rs_seg *head, *tail;
	uint32_t next;      /* next expected seq: everything before is done */
	uint32_t fin_seq;   /* seq of the FIN, valid when fin */
	uint32_t peer_ack;  /* highest ACK the other side sent for us */
	uint8_t init : 1;   /* next is known */
	uint8_t fin : 1;
	uint8_t fin_acked : 1;
	uint8_t eof : 1;    /* ended: FIN reached, RST, or flushed */
	uint8_t ack_valid : 1;
	uint8_t data_seen : 1;
};

enum { RS_APP_NONE, RS_APP_OPEN, RS_APP_OFF };

struct rs_flow {
	/* Read by any worker during lookups; immutable once published.
	 * Exactly one cache line. */
	struct cds_lfht_node node;
	struct rs_flow_key key;
	struct rs_flow_worker *owner;
	/* Owner only from here on; per-packet fields first. */
	uint64_t touch_ns;          /* worker clock at the last packet */
	uint64_t queued_ns;         /* touch_ns when put at its list's tail */
	struct cds_list_head lru;
	uint32_t ooo_bytes;         /* buffered, both directions */
	uint8_t lo_dir;             /* direction (0 = from client) of what
				     * the key's lower end sends */
	uint8_t state;              /* enum rs_flow_state */
	uint8_t lru_class;
	uint8_t app_state;          /* RS_APP_* */
	uint8_t rst : 1;
	uint8_t fin_any : 1;
	uint16_t cache_slot;        /* the owner's fcache set it may be in */
	struct rs_flow_info info;
	struct rs_stream s[2];      /* [0] client to server */
	void *app;
	struct rcu_head rcu;        /* cold: used once, at the end */
};

struct rs_flow_table {
	struct cds_lfht *ht;
	struct rs_flow_config cfg;
	/* The index starts small and doubles as flows outnumber its buckets
	 * (flow_grow), up to buckets_max. */
	atomic_ulong buckets;
	unsigned long buckets_max;
	pthread_mutex_t grow_lock;  /* one resizer at a time */
	uint64_t seed[6];           /* key_hash's secrets */
	uint64_t timeout[RS_LRU__COUNT];
	/* Shared by all workers: each on its own cache line. */
	alignas(64) atomic_uint_fast64_t count;     /* flows in the table */
	alignas(64) atomic_uint_fast64_t ooo_bytes; /* buffered, all flows */
};

/* 8 KiB a worker, 512 sets of 2 ways.  Direct-mapped, the 33 connections
 * of a keep-alive test capture collided in some runs (random seed): a pair
 * in one slot missed on every packet. */
#define RS_FCACHE_SET_BITS 9
#define RS_FCACHE_WAYS 2
#define RS_FCACHE_SLOTS (RS_FCACHE_WAYS << RS_FCACHE_SET_BITS)
_Static_assert(RS_FCACHE_SET_BITS <= 16, "rs_flow.cache_slot is 16 bits");

struct rs_flow_worker {
	struct rs_flow_stats st;    /* first: cache-line aligned */
	struct rs_flow_table *t;
	const struct rs_app_ops *ops;
	void *app_ctx;
	rs_flow_end_fn end_fn;
	void *end_ctx;
	uint64_t now_ns;            /* monotonic: max of packet and tick times */
	unsigned id;
	bool grow;                  /* flows outnumber buckets: grow at the
				     * next quiescent state */
	struct cds_list_head lru[RS_LRU__COUNT];
	/* Direct-mapped cache of this worker's own flows, by key hash: most
	 * packets skip cds_lfht_lookup.  Only the owner ends (and frees) its
	 * flows, and flow_end clears the flow's slot first, so an entry never
	 * outlives its flow; other workers' flows are never cached. */
	struct rs_flow *fcache[RS_FCACHE_SLOTS];
};

/* stream.c: TCP state and reassembly, called by flow.c on the owner. */

/* Roles for a new TCP flow from its first packet: true when the sender is
 * the client.  Sets RS_FLOW_* flags and the initial state in f. */
bool rs_tcp_first(struct rs_flow *f, const struct rs_pkt *p, bool *midstream);
/* One segment of flow f in direction dir (0 = from client). */
void rs_tcp_packet(struct rs_flow_worker *w, struct rs_flow *f,
		   const struct rs_pkt *p, int dir);
/* A SYN without ACK on this flow starts a new connection.  (Inline: asked
 * for every TCP packet.) */
static inline bool rs_tcp_reuse(const struct rs_flow *f,
				const struct rs_pkt *p)
{
	return (p->tcp_flags & (RS_TCP_SYN | RS_TCP_ACK)) == RS_TCP_SYN &&
	       (f->rst || f->fin_any);
}
/* Flush both streams (gaps, eof), close the app, free buffers. */
void rs_tcp_end(struct rs_flow_worker *w, struct rs_flow *f, uint64_t ts_ns);
/* Free buffered segments without callbacks (table teardown). */
void rs_tcp_free_segs(struct rs_flow_table *t, struct rs_flow *f);

/* flow.c */
const char *rs_flow_state_name(unsigned st);
static inline void rs_flow_set_state(struct rs_flow *f, unsigned st)
{
	f->state = (uint8_t)st;
	f->info.state = rs_flow_state_name(st);
}

#endif /* RS_FLOW_IMPL_H */
