/* flow.c - the shared lock-free flow table (cds_lfht), per-worker ownership, idle expiry and eviction.
 *
 * RCU flavour: QSBR.  A worker's read side is its whole packet loop; it
 * costs nothing per lookup (no counter updates, no barriers), and the
 * workers already have natural quiescent points between ring blocks, where
 * they hold no flow pointers.  The price is that an online worker must call
 * rs_flow_quiescent() regularly and go offline around blocking waits, which
 * the capture loop does anyway.  memb would cost a thread-local counter
 * update and compiler barriers per read-side section and would forgive a
 * forgotten quiescent call; for a lookup on every packet we take the free
 * read side, and the build links liburcu-qsbr.
 *
 * Ownership: the worker that inserts a flow owns it.  Only the owner touches
 * the flow's mutable part (info, streams, LRU links) and only the owner
 * removes it, so removal needs no lock: cds_lfht_del, then call_rcu frees
 * the memory once no other worker can still be looking at the node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "flow_impl.h"

/* The index (16 B a bucket) may grow to max_flows buckets, a power of two
 * (load factor <= 1 when full), within these bounds.  It starts at
 * RS_FLOW_INIT_BUCKETS: making all 262144 buckets of the default at start
 * took 10 ms, more than the rest of ringsniff's start-up, for runs that
 * mostly see a few flows.  It is grown by the workers themselves, at a
 * quiescent state (flow_grow), not by liburcu's automatic resize: its
 * lazy-resize launch stores its "resize initiated" flag after queueing the
 * work, so when the resize thread finishes first (the launcher was
 * preempted) the flag stays set and the table never grows again; seen here
 * as 1024-bucket tables holding 500k flows in about half of the runs on a
 * loaded 2-CPU machine (liburcu 0.13, and upstream has the same order). */
#define RS_FLOW_INIT_BUCKETS 4096UL
#define RS_FLOW_MIN_BUCKETS 1024UL
#define RS_FLOW_MAX_BUCKETS (1UL << 22)
/* Evictions tried before giving up on a slot other workers keep taking. */
#define RS_FLOW_EVICT_TRIES 16

/* ThreadSanitizer cannot see liburcu 0.13's synchronisation (an
 * uninstrumented library: inline-asm atomics, fences, futexes), so under
 * TSan we state the two happens-before edges this file relies on, as
 * liburcu >= 0.14 does itself when built with CMM_SANITIZE_THREAD:
 *  - publication: a flow's fields are written before cds_lfht_add_unique
 *    makes it visible, and read by whoever finds the node (key_match);
 *  - grace period: what a worker did before a quiescent state (or going
 *    offline, or unregistering) happens before every call_rcu callback
 *    that runs later, so the free in flow_free_rcu follows the last read.
 * Compiled out otherwise.  tests/tsan runs the concurrent tests this way. */
#if defined(__SANITIZE_THREAD__)
#define RS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RS_TSAN 1
#endif
#endif
#ifdef RS_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char rs_tsan_gp;     /* the grace-period edge's sync address */
#define TSAN_RELEASE(p) __tsan_release((void *)(p))
#define TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define TSAN_RELEASE(p) ((void)0)
#define TSAN_ACQUIRE(p) ((void)0)
#endif

/* Registration is per thread; tests and tools may run several workers on
 * one thread, so count them. */
static _Thread_local unsigned rs_rcu_refs;

static const char *const rs_state_names[RS_ST__COUNT] = {
	[RS_ST_NEW] = "new",
	[RS_ST_SYN_SENT] = "syn_sent",
	[RS_ST_SYN_RECV] = "syn_recv",
	[RS_ST_EST] = "established",
	[RS_ST_FIN_WAIT] = "fin_wait",
	[RS_ST_CLOSING] = "closing",
	[RS_ST_CLOSED] = "closed",
};

const char *rs_flow_state_name(unsigned st)
{
	return st < RS_ST__COUNT ? rs_state_names[st] : "unknown";
}

const char *rs_flow_end_reason_name(enum rs_flow_end_reason r)
{
	switch (r) {
	case RS_END_FIN: return "fin";
	case RS_END_RST: return "rst";
	case RS_END_TIMEOUT: return "timeout";
	case RS_END_EVICTED: return "evicted";
	case RS_END_SHUTDOWN: return "shutdown";
	}
	return "unknown";
}

void rs_flow_config_default(struct rs_flow_config *c)
{
	const uint64_t s = 1000000000ULL;

	*c = (struct rs_flow_config){
		.max_flows = 262144,
		.ooo_bytes_max = 64ULL << 20,
		.ooo_bytes_per_flow = 1ULL << 20,
		.timeout_new_ns = 60 * s,
		.timeout_est_ns = 600 * s,
		.timeout_closed_ns = 60 * s,
		.timeout_udp_ns = 300 * s,
		.timeout_other_ns = 300 * s,
	};
}

void rs_flow_stats_add(struct rs_flow_stats *dst,
		       const struct rs_flow_stats *src)
{
#define ADD(f) dst->f += src->f
	ADD(flows_created); ADD(flows_ended); ADD(flows_active);
	ADD(flows_evicted); ADD(flows_timeout); ADD(wrong_worker);
	ADD(tuple_reuse); ADD(midstream); ADD(tcp_segments); ADD(tcp_gaps);
	ADD(gap_bytes); ADD(ooo_segments); ADD(ooo_bytes); ADD(ooo_dropped);
	ADD(retransmits); ADD(overlaps); ADD(overlap_mismatch);
	ADD(alloc_failures); ADD(flows_refused); ADD(pkts_skipped);
	ADD(insert_races);
#undef ADD
}

/* ---- keys ------------------------------------------------------------ */

/* MurmurHash3's 64-bit finalizer: every input bit flips each output bit
 * with probability ~1/2.  cds_lfht splits buckets on the bit-reversed hash,
 * so high and low bits must both be good. */
static inline uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

__extension__ typedef unsigned __int128 rs_u128;

/* Multiply-fold (as in wyhash): the 128-bit product of two words, halves
 * xored.  Each output bit depends on many bits of both inputs. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	rs_u128 r = (rs_u128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Two multiplies fold the addresses with secrets, a third mixes in ports,
 * VLAN and protocol: about a tenth of five rounds of fmix64, and per-table
 * secrets still keep peers from choosing colliding tuples.  cds_lfht uses
 * the low bits for the bucket and the bit-reversed hash for order: the
 * final fold spreads both. */
static inline uint64_t key_hash(const struct rs_flow_key *k,
				const uint64_t s[6])
{
	uint64_t h = mum(k->w[0] ^ s[0], k->w[2] ^ s[1]);

	if (k->w[1] | k->w[3])          /* IPv6 beyond the first 8 bytes */
		h ^= mum(k->w[1] ^ s[2], k->w[3] ^ s[3]);
	return mum(h ^ s[4], k->w[4] ^ s[5]);
}

static inline bool pkt_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17;
}

/* Network-order bytes as a number, so that comparing numbers compares the
 * bytes as memcmp would. */
static inline uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t be64(const uint8_t *b)
{
	return (uint64_t)be32(b) << 32 | be32(b + 4);
}

/* The innermost VLAN id, 0 untagged. */
static inline uint16_t key_vlan(const struct rs_pkt *p)
{
	if (unlikely(p->vlan_count > 0) && p->vlan_count <= RS_MAX_VLAN)
		return p->vlan_id[p->vlan_count - 1];
	return 0;
}

/* A key's last word: the lower end's port first (low 32 bits), the VLAN,
 * the protocol, the address length. */
static inline uint64_t key_w4(uint32_t ports, uint16_t vlan, uint8_t proto,
			      uint8_t addr_len)
{
	return (uint64_t)ports | (uint64_t)vlan << 32 | (uint64_t)proto << 48 |
	       (uint64_t)addr_len << 56;
}

/* Build the canonical key of p.  *src_is_lo tells which end sent p.
 * Returns false for packets that are not flow traffic. */
static inline bool key_build(const struct rs_pkt *p, struct rs_flow_key *k,
			     bool *src_is_lo)
{
	uint16_t sp = 0, dp = 0, vlan;
	bool four = p->addr_len == 4;
	uint32_t ports;
	int c;

	/* IPv4 first: one test for the common case. */
	if (unlikely(!(four && p->ip_version == 4)) &&
	    ((p->ip_version != 4 && p->ip_version != 6) ||
	     (!four && p->addr_len != 16)))
		return false;
	/* Later fragments carry no ports: they cannot be placed in a flow. */
	if (unlikely((p->flags & (RS_PKT_FRAGMENT | RS_PKT_FRAG_FIRST)) ==
		     RS_PKT_FRAGMENT))
		return false;
	if (likely(pkt_has_ports(p->l4proto))) {
		if (unlikely(!p->l4))
			return false;
		sp = p->sport;
		dp = p->dport;
	}
	vlan = key_vlan(p);
	/* Addresses in byte order, then ports: the lower end first.  The key
	 * holds addr_len bytes of each address, the rest zero. */
	if (likely(four)) {
		uint32_t a = be32(p->src), b = be32(p->dst);
		uint64_t ra = 0, rb = 0;

		c = (a > b) - (a < b);
		if (c == 0)
			c = (sp > dp) - (sp < dp);
		*src_is_lo = c <= 0;
		memcpy(&ra, p->src, 4);
		memcpy(&rb, p->dst, 4);
		k->w[0] = *src_is_lo ? ra : rb;
		k->w[2] = *src_is_lo ? rb : ra;
		k->w[1] = k->w[3] = 0;
	} else {
		uint64_t a = be64(p->src), b = be64(p->dst);

		if (a == b) {
			a = be64(p->src + 8);
			b = be64(p->dst + 8);
		}
		c = (a > b) - (a < b);
		if (c == 0)
			c = (sp > dp) - (sp < dp);
		*src_is_lo = c <= 0;
		memcpy(&k->w[0], *src_is_lo ? p->src : p->dst, 16);
		memcpy(&k->w[2], *src_is_lo ? p->dst : p->src, 16);
	}
	ports = (uint32_t)sp | (uint32_t)dp << 16;
	if (!*src_is_lo)                /* the lower end's port first */
		ports = ports >> 16 | ports << 16;
	k->w[4] = key_w4(ports, vlan, p->l4proto, p->addr_len);
	return true;
}

static inline bool key_eq(const struct rs_flow_key *a,
			  const struct rs_flow_key *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) |
		(a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3]) |
		(a->w[4] ^ b->w[4])) == 0;
}

static int key_match(struct cds_lfht_node *node, const void *key)
{
	const struct rs_flow *f = caa_container_of(node, struct rs_flow, node);
	const struct rs_flow_key *k = key;

	TSAN_ACQUIRE(f);
	return key_eq(&f->key, k);
}

/* ---- table ----------------------------------------------------------- */

static unsigned long pow2_at_least(uint64_t n)
{
	unsigned long v = RS_FLOW_MIN_BUCKETS;

	while (v < n && v < RS_FLOW_MAX_BUCKETS)
		v <<= 1;
	return v;
}

static uint64_t table_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	/* A random seed keeps remote peers from choosing colliding tuples. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return fmix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32));
}

int rs_flow_table_new(struct rs_flow_table **out,
		      const struct rs_flow_config *cfg)
{
	struct rs_flow_table *t;
	unsigned long buckets;
	int err = -ENOMEM;

	if (!out)
		return -EINVAL;
	if (cfg && cfg->max_flows == 0)
		return -EINVAL;
	t = aligned_alloc(64, (sizeof(*t) + 63) & ~(size_t)63);
	if (!t)
		goto fail;
	memset(t, 0, sizeof(*t));
	if (cfg)
		t->cfg = *cfg;
	else
		rs_flow_config_default(&t->cfg);
	t->timeout[RS_LRU_NEW] = t->cfg.timeout_new_ns;
	t->timeout[RS_LRU_EST] = t->cfg.timeout_est_ns;
	t->timeout[RS_LRU_CLOSED] = t->cfg.timeout_closed_ns;
	t->timeout[RS_LRU_UDP] = t->cfg.timeout_udp_ns;
	t->timeout[RS_LRU_OTHER] = t->cfg.timeout_other_ns;
	uint64_t seed = table_seed();
	for (int i = 0; i < 6; i++)     /* odd: never a zero factor alone */
		t->seed[i] = fmix64(seed + (uint64_t)i * 0x9e3779b97f4a7c15ULL) | 1;
	atomic_init(&t->count, 0);
	atomic_init(&t->ooo_bytes, 0);
	t->buckets_max = pow2_at_least(t->cfg.max_flows);
	buckets = t->buckets_max < RS_FLOW_INIT_BUCKETS ? t->buckets_max
							: RS_FLOW_INIT_BUCKETS;
	atomic_init(&t->buckets, buckets);
	if (pthread_mutex_init(&t->grow_lock, NULL) != 0)
		goto fail_table;
	t->ht = cds_lfht_new(buckets, buckets, t->buckets_max, 0, NULL);
	if (!t->ht)
		goto fail_ht;
	*out = t;
	return 0;

fail_ht:
	pthread_mutex_destroy(&t->grow_lock);
fail_table:
	free(t);
fail:
	return err;
}

static void flow_free_rcu(struct rcu_head *head)
{
	TSAN_ACQUIRE(&rs_tsan_gp);
	free(caa_container_of(head, struct rs_flow, rcu));
}

void rs_flow_table_free(struct rs_flow_table *t)
{
	struct cds_lfht_iter iter;
	struct rs_flow *f;

	if (!t)
		return;
	/* Flows removed by workers are freed by call_rcu callbacks that may
	 * not have run yet: wait for all of them before the table goes. */
	rcu_barrier();
	/* Workers end their flows when freed; anything left means a worker
	 * was never freed.  No reader can remain, so free directly.  (The
	 * walk visits every bucket: skip it when the count says empty.) */
	if (atomic_load(&t->count) == 0)
		goto destroy;
	/* Not cds_lfht_for_each_entry: it applies container_of to the NULL
	 * that ends the walk (UB that clang's UBSan reports). */
	struct cds_lfht_node *node;
	cds_lfht_for_each(t->ht, &iter, node) {
		f = caa_container_of(node, struct rs_flow, node);
		if (cds_lfht_del(t->ht, &f->node) == 0) {
			rs_tcp_free_segs(t, f);
			free(f);
		}
	}
destroy:
	cds_lfht_destroy(t->ht, NULL);
	pthread_mutex_destroy(&t->grow_lock);
	free(t);
}

uint64_t rs_flow_table_count(const struct rs_flow_table *t)
{
	return atomic_load_explicit(&((struct rs_flow_table *)t)->count,
				    memory_order_relaxed);
}

unsigned long rs_flow_table_buckets(const struct rs_flow_table *t)
{
	return atomic_load_explicit(&((struct rs_flow_table *)t)->buckets,
				    memory_order_relaxed);
}

/* Grow the index to twice the flows (rounded up to a power of two, at most
 * buckets_max).  Called at a quiescent state: cds_lfht_resize takes the
 * caller offline while it links the new buckets, so it must hold no
 * reference then.  Other workers go on looking up and inserting meanwhile
 * (the split-ordered list stays valid at every step).  One resizer at a
 * time: cds_lfht_resize sets the target size rather than raising it, so
 * two at once could shrink the index; a worker that finds the lock taken
 * asks again at its next quiescent state.  The caller stalls for the new
 * buckets' set-up, ~25 ns each (6 ms for the last doubling to 262144). */
static void flow_grow(struct rs_flow_worker *w)
{
	struct rs_flow_table *t = w->t;
	unsigned long have, want;

	if (pthread_mutex_trylock(&t->grow_lock) != 0)
		return;         /* w->grow stays: asked again next time */
	w->grow = false;
	/* Again while flows came faster than the buckets. */
	for (;;) {
		have = atomic_load_explicit(&t->buckets, memory_order_relaxed);
		want = pow2_at_least(2 * atomic_load_explicit(&t->count,
						memory_order_relaxed));
		if (want > t->buckets_max)
			want = t->buckets_max;
		if (want <= have)
			break;
		cds_lfht_resize(t->ht, want);
		atomic_store_explicit(&t->buckets, want, memory_order_relaxed);
	}
	pthread_mutex_unlock(&t->grow_lock);
}

/* ---- workers --------------------------------------------------------- */

int rs_flow_worker_new(struct rs_flow_worker **out, struct rs_flow_table *t,
		       unsigned id, const struct rs_app_ops *ops,
		       void *app_ctx, rs_flow_end_fn end_fn, void *end_ctx)
{
	struct rs_flow_worker *w;

	if (!out || !t)
		return -EINVAL;
	w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	if (!w)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	w->t = t;
	w->id = id;
	w->ops = ops;
	w->app_ctx = app_ctx;
	w->end_fn = end_fn;
	w->end_ctx = end_ctx;
	for (int c = 0; c < RS_LRU__COUNT; c++)
		CDS_INIT_LIST_HEAD(&w->lru[c]);
	if (rs_rcu_refs++ == 0)
		rcu_register_thread();
	*out = w;
	return 0;
}

void rs_flow_worker_free(struct rs_flow_worker *w)
{
	if (!w)
		return;
	/* Removing flows needs an online reader (cds_lfht_del, call_rcu). */
	if (!rcu_read_ongoing())
		rcu_thread_online();
	rs_flow_flush(w, w->now_ns, RS_END_SHUTDOWN);
	if (rs_rcu_refs > 0 && --rs_rcu_refs == 0) {
		TSAN_RELEASE(&rs_tsan_gp);
		rcu_unregister_thread();
	}
	free(w);
}

const struct rs_flow_stats *rs_flow_worker_stats(const struct rs_flow_worker *w)
{
	return &w->st;
}

void rs_flow_quiescent(struct rs_flow_worker *w)
{
	if (w->grow)
		flow_grow(w);
	TSAN_RELEASE(&rs_tsan_gp);
	rcu_quiescent_state();
}

void rs_flow_offline(struct rs_flow_worker *w)
{
	(void)w;
	TSAN_RELEASE(&rs_tsan_gp);
	rcu_thread_offline();
}

void rs_flow_online(struct rs_flow_worker *w)
{
	(void)w;
	rcu_thread_online();
}

/* ---- lifecycle ------------------------------------------------------- */

static unsigned lru_class_of(const struct rs_flow *f)
{
	if (f->info.proto == 17)
		return RS_LRU_UDP;
	if (f->info.proto != 6)
		return RS_LRU_OTHER;
	switch (f->state) {
	case RS_ST_SYN_SENT:
	case RS_ST_SYN_RECV:
	case RS_ST_NEW:
		return RS_LRU_NEW;
	case RS_ST_EST:
		return RS_LRU_EST;
	default:
		return RS_LRU_CLOSED;
	}
}

/* Per-class LRU lists, kept lazily: a packet only stamps touch_ns (no list
 * surgery, which would touch two neighbouring flows' cache lines per
 * packet).  Lists are ordered by queued_ns; a head stamped since it was
 * queued goes back to the tail when found.  When the head is unstamped,
 * every flow behind it was queued, hence touched, no earlier: the head is
 * the stalest of its class.  Each requeue pays for a packet: O(1)
 * amortised. */
static struct rs_flow *lru_head(struct rs_flow_worker *w, int c)
{
	while (!cds_list_empty(&w->lru[c])) {
		struct rs_flow *f = cds_list_first_entry(&w->lru[c],
							 struct rs_flow, lru);

		if (f->queued_ns == f->touch_ns)
			return f;
		f->queued_ns = f->touch_ns;
		cds_list_del(&f->lru);
		cds_list_add_tail(&f->lru, &w->lru[c]);
	}
	return NULL;
}

static void lru_queue(struct rs_flow_worker *w, struct rs_flow *f)
{
	f->lru_class = (uint8_t)lru_class_of(f);
	f->queued_ns = f->touch_ns;
	cds_list_add_tail(&f->lru, &w->lru[f->lru_class]);
}

/* End f: flush its streams, report it, unlink it; the memory goes after a
 * grace period.  `why` is the mechanism (counted); flows that saw FIN or
 * RST report that instead. */
static void flow_end(struct rs_flow_worker *w, struct rs_flow *f,
		     enum rs_flow_end_reason why)
{
	enum rs_flow_end_reason reason = why;

	if (f->rst)
		reason = RS_END_RST;
	else if (f->fin_any)
		reason = RS_END_FIN;
	if (f->info.proto == 6)
		rs_tcp_end(w, f, w->now_ns);
	if (w->end_fn)
		w->end_fn(w->end_ctx, &f->info, reason);
	cds_list_del(&f->lru);
	for (unsigned i = 0; i < RS_FCACHE_WAYS; i++)
		if (w->fcache[f->cache_slot * RS_FCACHE_WAYS + i] == f)
			w->fcache[f->cache_slot * RS_FCACHE_WAYS + i] = NULL;
	rcu_read_lock();
	if (cds_lfht_del(w->t->ht, &f->node) == 0)
		atomic_fetch_sub_explicit(&w->t->count, 1,
					  memory_order_relaxed);
	rcu_read_unlock();
	call_rcu(&f->rcu, flow_free_rcu);
	RS_STAT_INC(w->st.flows_ended);
	RS_STAT_SUB(w->st.flows_active, 1);
	if (why == RS_END_TIMEOUT)
		RS_STAT_INC(w->st.flows_timeout);
	else if (why == RS_END_EVICTED)
		RS_STAT_INC(w->st.flows_evicted);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* End the flow of this worker nearest to its idle deadline ("stalest"
 * relative to its state's timeout).  Returns false when it owns none. */
static bool evict_one(struct rs_flow_worker *w)
{
	struct rs_flow *best = NULL, *f;
	uint64_t best_dl = UINT64_MAX, dl;

	for (int c = 0; c < RS_LRU__COUNT; c++) {
		f = lru_head(w, c);
		if (!f)
			continue;
		dl = sat_add(f->touch_ns, w->t->timeout[c]);
		if (!best || dl < best_dl) {
			best = f;
			best_dl = dl;
		}
	}
	if (!best)
		return false;
	flow_end(w, best, RS_END_EVICTED);
	return true;
}

/* Take one of max_flows slots, evicting our own stalest flows if needed.
 * The count is shared and only ever raised by CAS below the cap, so the
 * table never exceeds max_flows however many workers insert at once. */
static int slot_reserve(struct rs_flow_worker *w)
{
	struct rs_flow_table *t = w->t;

	for (int tries = 0; tries < RS_FLOW_EVICT_TRIES; tries++) {
		uint_fast64_t n = atomic_load_explicit(&t->count,
						       memory_order_relaxed);

		while (n < t->cfg.max_flows) {
			if (atomic_compare_exchange_weak_explicit(&t->count,
					&n, n + 1, memory_order_relaxed,
					memory_order_relaxed)) {
				if (n >= atomic_load_explicit(&t->buckets,
						memory_order_relaxed) &&
				    n < t->buckets_max)
					w->grow = true;
				return 0;
			}
		}
		if (!evict_one(w))
			break;
	}
	RS_STAT_INC(w->st.flows_refused);
	return -ENOSPC;
}

static void fill_info(struct rs_flow *f, const struct rs_pkt *p,
		      bool src_is_cli, uint16_t vlan)
{
	struct rs_flow_info *i = &f->info;
	const uint8_t *ca = src_is_cli ? p->src : p->dst;
	const uint8_t *sa = src_is_cli ? p->dst : p->src;

	i->proto = p->l4proto;
	i->addr_len = p->addr_len;
	i->vlan = vlan;
	memcpy(i->cli_addr, ca, p->addr_len);
	memcpy(i->srv_addr, sa, p->addr_len);
	if (pkt_has_ports(p->l4proto)) {
		i->cli_port = src_is_cli ? p->sport : p->dport;
		i->srv_port = src_is_cli ? p->dport : p->sport;
	}
	i->first_ts_ns = p->ts_ns;
	i->last_ts_ns = p->ts_ns;
}

/* Make and insert the flow for p.  Returns the flow, or NULL with *err set
 * (0 when another worker won the insert race and owns the flow). */
static struct rs_flow *flow_create(struct rs_flow_worker *w,
				   const struct rs_pkt *p,
				   const struct rs_flow_key *k, uint64_t hash,
				   bool src_is_lo, int *err)
{
	struct cds_lfht_node *node;
	struct rs_flow *f;
	bool src_is_cli = true, midstream = false;

	*err = slot_reserve(w);
	if (*err)
		goto fail;
	f = calloc(1, sizeof(*f));
	if (!f) {
		RS_STAT_INC(w->st.alloc_failures);
		*err = -ENOMEM;
		goto fail_slot;
	}
	f->key = *k;
	f->owner = w;
	cds_lfht_node_init(&f->node);
	if (p->l4proto == 6) {
		src_is_cli = rs_tcp_first(f, p, &midstream);
		if (midstream)
			RS_STAT_INC(w->st.midstream);
	} else {
		rs_flow_set_state(f, RS_ST_NEW);
	}
	fill_info(f, p, src_is_cli, (uint16_t)(k->w[4] >> 32));
	f->lo_dir = src_is_cli != src_is_lo;
	TSAN_RELEASE(f);
	node = cds_lfht_add_unique(w->t->ht, hash, key_match, k, &f->node);
	if (node != &f->node) {
		/* Never published: no grace period needed. */
		free(f);
		RS_STAT_INC(w->st.insert_races);
		atomic_fetch_sub_explicit(&w->t->count, 1,
					  memory_order_relaxed);
		f = caa_container_of(node, struct rs_flow, node);
		if (f->owner == w)
			return f;
		RS_STAT_INC(w->st.wrong_worker);
		*err = 0;
		return NULL;
	}
	f->touch_ns = w->now_ns;
	lru_queue(w, f);
	RS_STAT_INC(w->st.flows_created);
	RS_STAT_INC(w->st.flows_active);
	return f;

fail_slot:
	atomic_fetch_sub_explicit(&w->t->count, 1, memory_order_relaxed);
fail:
	return NULL;
}

static struct rs_flow *flow_lookup(struct rs_flow_table *t,
				   const struct rs_flow_key *k, uint64_t hash)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_lookup(t->ht, hash, key_match, k, &iter);
	node = cds_lfht_iter_get_node(&iter);
	return node ? caa_container_of(node, struct rs_flow, node) : NULL;
}

/* The cache's set from one multiply of the key (key_hash is three, in a
 * chain that every packet waited for); the full hash is made only on a
 * miss.  Peers choosing colliding tuples only cost themselves misses.
 * For IPv4 keys the set is symmetric in the two ends (sums of addresses
 * and of ports), so that fcache_probe4 gets it from a packet without
 * ordering the ends first: every key with addr_len 4 has its set from
 * fcache_set4, whichever path computes it. */
static inline unsigned fcache_set4(uint32_t a, uint32_t b, uint32_t pa,
				   uint32_t pb, uint64_t meta,
				   const uint64_t s[6])
{
	return (unsigned)(mum(((uint64_t)a + b) ^ s[1],
			      ((pa + pb) | meta) ^ s[4]) >>
			  (64 - RS_FCACHE_SET_BITS));
}

static inline unsigned fcache_set(const struct rs_flow_key *k,
				  const uint64_t s[6])
{
	uint64_t a;

	if (k->w[4] >> 56 == 4)
		return fcache_set4((uint32_t)k->w[0], (uint32_t)k->w[2],
				   k->w[4] & 0xffff, k->w[4] >> 16 & 0xffff,
				   k->w[4] & ~0xffffffffULL, s);
	a = k->w[0] ^ (k->w[2] << 32 | k->w[2] >> 32) ^ k->w[1] ^ k->w[3];
	return (unsigned)(mum(a ^ s[1], k->w[4] ^ s[4]) >>
			  (64 - RS_FCACHE_SET_BITS));
}

/* Most packets: IPv4 TCP or UDP, not a fragment, no SYN (a SYN may start a
 * new connection on the tuple: the general path sees to it), of a cached
 * flow.  Compares the packet's ends with the cached keys in both orders
 * instead of building its canonical key (ordering the ends, swapping the
 * ports): an IPv4 key is w[0] = lower address, w[2] = the other, w[1] =
 * w[3] = 0 and w[4] as key_build makes it, with addr_len 4 in it, so other
 * keys never match.  The key is canonical, so the sender is the lower end
 * (key_build's src_is_lo) when the packet matches it in that order, which
 * is tried first for a flow to itself (same address and port at both
 * ends); *dir follows from that.  NULL: ask the general path. */
static inline struct rs_flow *fcache_probe4(struct rs_flow_worker *w,
					    const struct rs_pkt *p, int *dir)
{
	struct rs_flow **e, *f;
	uint64_t m, fwd, rev;
	uint32_t a, b;

	if (unlikely(!(p->addr_len == 4 && p->ip_version == 4 &&
		       pkt_has_ports(p->l4proto) && p->l4 &&
		       !(p->flags & RS_PKT_FRAGMENT) &&
		       !(p->tcp_flags & RS_TCP_SYN))))
		return NULL;
	memcpy(&a, p->src, 4);
	memcpy(&b, p->dst, 4);
	m = key_w4(0, key_vlan(p), p->l4proto, 4);
	fwd = ((uint32_t)p->sport | (uint32_t)p->dport << 16) | m;
	rev = ((uint32_t)p->dport | (uint32_t)p->sport << 16) | m;
	e = &w->fcache[fcache_set4(a, b, p->sport, p->dport, m, w->t->seed) *
		       RS_FCACHE_WAYS];
	for (unsigned i = 0; i < RS_FCACHE_WAYS; i++) {
		f = e[i];
		if (!f)
			continue;
		if (((f->key.w[0] ^ a) | (f->key.w[2] ^ b) |
		     (f->key.w[4] ^ fwd)) == 0) {
			*dir = f->lo_dir;
			return f;
		}
		if (((f->key.w[0] ^ b) | (f->key.w[2] ^ a) |
		     (f->key.w[4] ^ rev)) == 0) {
			*dir = f->lo_dir ^ 1;
			return f;
		}
	}
	return NULL;
}

/* Newest in way 0; the one it pushes out of way 0 goes to way 1, so two
 * busy flows of one set both stay. */
static inline void fcache_put(struct rs_flow_worker *w, struct rs_flow *f,
			      unsigned set)
{
	struct rs_flow **e = &w->fcache[set * RS_FCACHE_WAYS];

	if (e[0])
		e[1] = e[0];
	e[0] = f;
	f->cache_slot = (uint16_t)set;
}

int rs_flow_packet(struct rs_flow_worker *w, const struct rs_pkt *p)
{
	struct rs_flow_key k;
	struct rs_flow *f, **e;
	uint64_t hash;
	unsigned set;
	uint8_t state0;
	bool src_is_lo;
	int dir, err = 0;

	/* QSBR: this is free; it documents (and in debug builds checks) that
	 * the flow pointers below are only used while we are online. */
	rcu_read_lock();
	f = fcache_probe4(w, p, &dir);
	if (likely(f)) {
		if (p->ts_ns > w->now_ns)
			w->now_ns = p->ts_ns;
		goto found;
	}
	if (unlikely(!key_build(p, &k, &src_is_lo))) {
		RS_STAT_INC(w->st.pkts_skipped);
		goto out;
	}
	if (p->ts_ns > w->now_ns)
		w->now_ns = p->ts_ns;
	set = fcache_set(&k, w->t->seed);
	e = &w->fcache[set * RS_FCACHE_WAYS];
	/* A cached flow is ours and still in the table: the lookup would
	 * find the same (keys are unique). */
	f = e[0];
	if (unlikely(!f || !key_eq(&f->key, &k))) {
		f = e[1];
		if (likely(f && key_eq(&f->key, &k)))
			goto hit;
		hash = key_hash(&k, w->t->seed);
		f = flow_lookup(w->t, &k, hash);
		if (f && f->owner != w) {
			RS_STAT_INC(w->st.wrong_worker);
			goto out;
		}
		if (f)
			fcache_put(w, f, set);
	}
hit:
	if (f && p->l4proto == 6 && unlikely(rs_tcp_reuse(f, p))) {
		RS_STAT_INC(w->st.tuple_reuse);
		flow_end(w, f, f->rst ? RS_END_RST : RS_END_FIN);
		f = NULL;
	}
	if (unlikely(!f)) {
		f = flow_create(w, p, &k, key_hash(&k, w->t->seed), src_is_lo,
				&err);
		if (!f)
			goto out;
		fcache_put(w, f, set);
	}
	dir = src_is_lo ? f->lo_dir : f->lo_dir ^ 1;
found:
	/* The app's connection state is next after the stream's: start its
	 * first line now (a prefetch never faults, NULL included). */
	__builtin_prefetch(f->app);
	state0 = f->state;
	f->info.pkts[dir]++;
	f->info.bytes[dir] += p->wirelen;
	if (p->ts_ns > f->info.last_ts_ns)
		f->info.last_ts_ns = p->ts_ns;
	if (likely(p->l4proto == 6))
		rs_tcp_packet(w, f, p, dir);
	else if (dir == 1 && f->state == RS_ST_NEW)
		rs_flow_set_state(f, RS_ST_EST);
	/* Touch; a new timeout class means a new list.  The class follows
	 * the state alone, and matched it before this packet. */
	f->touch_ns = w->now_ns;
	if (unlikely(f->state != state0) && lru_class_of(f) != f->lru_class) {
		cds_list_del(&f->lru);
		lru_queue(w, f);
	}
out:
	rcu_read_unlock();
	return err;
}

void rs_flow_tick(struct rs_flow_worker *w, uint64_t now_ns)
{
	if (now_ns > w->now_ns)
		w->now_ns = now_ns;
	for (int c = 0; c < RS_LRU__COUNT; c++) {
		uint64_t to = w->t->timeout[c];

		struct rs_flow *f;

		while ((f = lru_head(w, c)) && w->now_ns - f->touch_ns > to)
			flow_end(w, f, RS_END_TIMEOUT);
	}
}

void rs_flow_flush(struct rs_flow_worker *w, uint64_t now_ns,
		   enum rs_flow_end_reason why)
{
	if (now_ns > w->now_ns)
		w->now_ns = now_ns;
	for (int c = 0; c < RS_LRU__COUNT; c++) {
		while (!cds_list_empty(&w->lru[c]))
			flow_end(w, cds_list_first_entry(&w->lru[c],
					struct rs_flow, lru), why);
	}
}
