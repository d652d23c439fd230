/* test_decode_bad.c - decode/ on malformed, truncated and mutated frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"

/* Every malformed frame: the exact reason, counted once, and the layers
 * before the damage still in the view. */
static void test_bad_frames(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_bad_frames; i++)
		check_case(&bad_frames[i]);
}

/* Every reason is produced by at least one table entry (or a control test
 * for the zero-length frame). */
static void test_every_reason_covered(void **state)
{
	int seen[RS_DERR__COUNT] = { 0 };

	(void)state;
	for (size_t i = 0; i < n_bad_frames; i++)
		seen[bad_frames[i].x.err]++;
	for (int e = 1; e < RS_DERR__COUNT; e++)
		if (!seen[e])
			fail_msg("no bad frame for %s",
				 rs_decode_err_name((enum rs_decode_err)e));
}

/* Cut a frame at every length 0..len, as a truly short frame (wirelen = n)
 * and as a snaplen cut (wirelen = original), each from an exact-size heap
 * copy so ASan sees any over-read. */
static void sweep(const struct fcase *c)
{
	uint32_t wire_full = c->wirelen ? c->wirelen : c->len;
	struct dresult *r = malloc(sizeof(*r));

	assert_non_null(r);
	for (uint32_t n = 0; n <= c->len; n++) {
		uint8_t *buf = dup_exact(c->data, n);
		uint32_t wires[2] = { n, wire_full < n ? n : wire_full };

		for (int w = 0; w < 2; w++) {
			decode_into(r, c->linktype, buf, n, wires[w], c->meta);
			check_sane(c->name, r, buf, n);
		}
		free(buf);
	}
	free(r);
}

static void test_truncated_bad_frames(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_bad_frames; i++)
		sweep(&bad_frames[i]);
}

static void test_truncated_good_frames(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_good_frames; i++)
		sweep(&good_frames[i]);
}

/* A snaplen cut anywhere inside the payload of a good frame still decodes:
 * the same view, payload bounded by what was captured, and L3_TRUNC set
 * exactly when the datagram lost bytes. */
static void test_snaplen_inside_payload(void **state)
{
	struct dresult *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < n_good_frames; i++) {
		const struct fcase *c = &good_frames[i];
		const struct fexp *x = &c->x;
		uint32_t wire = c->wirelen ? c->wirelen : c->len;

		if (!x->pl)
			continue;
		for (uint32_t n = x->pl - 1; n <= c->len; n++) {
			uint8_t *buf = dup_exact(c->data, n);
			uint32_t keep = n - (x->pl - 1);
			uint32_t l3_end = x->l3 - 1 + x->l3_len;

			decode_into(r, c->linktype, buf, n, wire, c->meta);
			check_sane(c->name, r, buf, n);
			if (r->e != RS_DERR_NONE)
				fail_msg("%s cut at %u: %s", c->name, n,
					 rs_decode_err_name(r->e));
			assert_int_equal(r->p.payload_len,
					 keep < x->pl_len ? keep : x->pl_len);
			assert_ptr_equal(r->p.payload, buf + x->pl - 1);
			assert_int_equal(r->p.l3_len,
					 n < l3_end ? n - (x->l3 - 1) : x->l3_len);
			assert_int_equal(r->p.flags,
					 x->flags | (n < l3_end ? RS_PKT_L3_TRUNC
								: 0));
			assert_int_equal(stats_mask(&r->st), x->cnt);
			free(buf);
		}
	}
	free(r);
}

/* Deterministic mutation fuzz: flip, overwrite and cut bytes of every
 * table frame; only the sanity properties are checked. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fuzz_one(const struct fcase *c, unsigned rounds)
{
	static const uint8_t magic[] = { 0x00, 0x01, 0x05, 0x06, 0x08, 0x0a,
					 0x11, 0x2c, 0x33, 0x3a, 0x3b, 0x3c,
					 0x45, 0x4f, 0x60, 0x81, 0x86, 0x88,
					 0xa8, 0xdd, 0xf0, 0xff };
	struct dresult *r = malloc(sizeof(*r));
	uint8_t *work = malloc(c->len ? c->len : 1);

	assert_non_null(r);
	assert_non_null(work);
	for (unsigned k = 0; k < rounds && c->len; k++) {
		memcpy(work, c->data, c->len);
		unsigned edits = 1 + rng() % 4;
		for (unsigned e = 0; e < edits; e++) {
			uint32_t at = (uint32_t)(rng() % c->len);
			if (rng() & 1)
				work[at] ^= (uint8_t)(1u << (rng() % 8));
			else
				work[at] = magic[rng() % sizeof(magic)];
		}
		uint32_t n = (rng() & 3) ? c->len : (uint32_t)(rng() % (c->len + 1));
		uint32_t wire = n + (uint32_t)((rng() & 1) ? 0 : rng() % 2000);
		uint8_t *buf = dup_exact(work, n);

		decode_into(r, c->linktype, buf, n, wire, c->meta);
		check_sane(c->name, r, buf, n);
		free(buf);
	}
	free(work);
	free(r);
}

static void test_mutation_fuzz(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_good_frames; i++)
		fuzz_one(&good_frames[i], 2000);
	for (size_t i = 0; i < n_bad_frames; i++)
		fuzz_one(&bad_frames[i], 500);
}

/* Bad frames counted into one stats block: errors and err[] add up. */
static void test_bad_stats_totals(void **state)
{
	struct rs_decode_stats st;
	uint64_t want[RS_DERR__COUNT] = { 0 };
	struct rs_pkt p;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < n_bad_frames; i++) {
		const struct fcase *c = &bad_frames[i];

		rs_decode_ex(&p, c->linktype, c->data, c->len,
			     c->wirelen ? c->wirelen : c->len, c->meta, &st);
		want[c->x.err]++;
	}
	assert_int_equal(st.packets, n_bad_frames);
	assert_int_equal(st.errors, n_bad_frames);
	for (int e = 0; e < RS_DERR__COUNT; e++)
		assert_int_equal(st.err[e], want[e]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_every_reason_covered),
		cmocka_unit_test(test_bad_stats_totals),
		cmocka_unit_test(test_truncated_bad_frames),
		cmocka_unit_test(test_truncated_good_frames),
		cmocka_unit_test(test_snaplen_inside_payload),
		cmocka_unit_test(test_mutation_fuzz),
	};

	return cmocka_run_group_tests_name("decode_bad", tests, NULL, NULL);
}
