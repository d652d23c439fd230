/* replay_queue.c - lock-free SPSC record queue (workers to the replay thread) and the latency histogram. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay_impl.h"

#define HDR 8u
#define PAD_KIND 1u

struct rec_hdr {
	uint32_t len;   /* payload bytes */
	uint32_t kind;  /* 0 data, PAD_KIND filler up to the ring's end */
};

static uint64_t rec_size(size_t len)
{
	return HDR + (((uint64_t)len + 7) & ~(uint64_t)7);
}

int rs_spsc_init(struct rs_spsc *q, size_t cap)
{
	uint64_t c = 4096;

	memset(q, 0, sizeof(*q));
	while (c < cap)
		c <<= 1;
	q->buf = aligned_alloc(64, c);
	if (!q->buf)
		return -ENOMEM;
	q->cap = c;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

void rs_spsc_fini(struct rs_spsc *q)
{
	free(q->buf);
	q->buf = NULL;
	q->cap = 0;
}

size_t rs_spsc_max_payload(const struct rs_spsc *q)
{
	return (size_t)(q->cap / 2 - HDR);
}

void *rs_spsc_reserve(struct rs_spsc *q, size_t len)
{
	uint64_t h, off, to_end, size, need;

	if (!q->buf || len > rs_spsc_max_payload(q))
		return NULL;
	size = rec_size(len);
	h = atomic_load_explicit(&q->head, memory_order_relaxed);
	off = h & (q->cap - 1);
	to_end = q->cap - off;
	/* Offsets are 8-aligned, so to_end >= 8 holds a pad header. */
	need = to_end < size ? to_end + size : size;
	if (h + need - q->tail_cache > q->cap) {
		q->tail_cache = atomic_load_explicit(&q->tail, memory_order_acquire);
		if (h + need - q->tail_cache > q->cap)
			return NULL;
	}
	if (to_end < size) {
		struct rec_hdr pad = {(uint32_t)(to_end - HDR), PAD_KIND};

		memcpy(q->buf + off, &pad, HDR);
		h += to_end;
		off = 0;
	}
	struct rec_hdr rh = {(uint32_t)len, 0};

	memcpy(q->buf + off, &rh, HDR);
	q->res_at = h;
	q->res_size = size;
	return q->buf + off + HDR;
}

void rs_spsc_commit(struct rs_spsc *q)
{
	if (!q->res_size)
		return;
	atomic_store_explicit(&q->head, q->res_at + q->res_size,
			      memory_order_release);
	q->res_size = 0;
}

const void *rs_spsc_peek(struct rs_spsc *q, size_t *len)
{
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	struct rec_hdr rh;

	for (;;) {
		if (t == q->head_cache) {
			q->head_cache = atomic_load_explicit(
				&q->head, memory_order_acquire);
			if (t == q->head_cache)
				return NULL;
		}
		memcpy(&rh, q->buf + (t & (q->cap - 1)), HDR);
		if (rh.kind != PAD_KIND)
			break;
		t += HDR + rh.len;
		atomic_store_explicit(&q->tail, t, memory_order_release);
	}
	q->cur_size = rec_size(rh.len);
	*len = rh.len;
	return q->buf + (t & (q->cap - 1)) + HDR;
}

void rs_spsc_release(struct rs_spsc *q)
{
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (!q->cur_size)
		return;
	atomic_store_explicit(&q->tail, t + q->cur_size, memory_order_release);
	q->cur_size = 0;
}

bool rs_spsc_empty(struct rs_spsc *q)
{
	return atomic_load_explicit(&q->tail, memory_order_acquire) ==
	       atomic_load_explicit(&q->head, memory_order_acquire);
}

/* ---- histogram ------------------------------------------------------- */

static unsigned bucket(uint64_t v)
{
	unsigned e;

	if (v < 64)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);  /* >= 6 */
	return 64 + (e - 6) * RS_HIST_SUB +
	       (unsigned)((v >> (e - 5)) - RS_HIST_SUB);
}

/* Largest value that falls in bucket i. */
static uint64_t bucket_top(unsigned i)
{
	unsigned e, sub;

	if (i < 64)
		return i;
	e = (i - 64) / RS_HIST_SUB + 6;
	sub = (i - 64) % RS_HIST_SUB;
	return (((uint64_t)RS_HIST_SUB + sub + 1) << (e - 5)) - 1;
}

void rs_hist_add(struct rs_hist *h, uint64_t v)
{
	h->b[bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

uint64_t rs_hist_pct(const struct rs_hist *h, double p)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (p > 100)
		p = 100;
	/* The smallest value with at least p% of the values at or below it. */
	rank = (uint64_t)((double)h->count * p / 100.0 + 0.999999);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < RS_HIST_N; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t top = bucket_top(i);

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}
