/* check.h - shared assertions for the decode tests (include after cmocka.h). */
#ifndef RS_TEST_CHECK_H
#define RS_TEST_CHECK_H

#include <stdint.h>

#include "frames.h"

#define TS_MARK 0x1122334455667788ull

struct dresult {
	enum rs_decode_err e;
	struct rs_pkt p;
	struct rs_decode_stats st;
};

/* Copy `n` bytes into a heap buffer of exactly n bytes, so ASan sees any
 * read past caplen.  Caller frees. */
uint8_t *dup_exact(const uint8_t *data, uint32_t n);

/* Decode buf[0..n) (wirelen as given) into *r, starting from a garbage-filled
 * rs_pkt (all 0xa5) with ts_ns = TS_MARK and zeroed stats. */
void decode_into(struct dresult *r, int linktype, const uint8_t *buf,
		 uint32_t n, uint32_t wirelen,
		 const struct rs_decode_meta *meta);

/* Decode a table case from an exact-size copy and compare every expected
 * field and counter; fails the test naming the case and the field. */
void check_case(const struct fcase *c);

/* Properties that must hold for any input: error in range, counters
 * consistent with the view, every pointer inside buf[0..n). */
void check_sane(const char *name, const struct dresult *r, const uint8_t *buf,
		uint32_t n);

/* The S_* mask the stats of one decode show. */
unsigned stats_mask(const struct rs_decode_stats *st);

#endif /* RS_TEST_CHECK_H */
