/* fuzz_util.h - checks shared by the fuzz harnesses (tests only). */
#ifndef RS_FUZZ_UTIL_H
#define RS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rs_decode.h"

/* Harness loops over every payload byte: not instrumented for coverage
 * (their comparisons only slow libFuzzer down and tell it nothing). */
#if defined(__clang__)
#define FZ_NOCOV __attribute__((no_sanitize("coverage"), noinline))
#else
#define FZ_NOCOV
#endif

/* A broken promise of the library: say which and abort, so libFuzzer (or
 * the replay driver) stops with a crash naming the line. */
#define FZ_CHECK(cond)                                                      \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n",        \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

/* [p, p + n) lies inside [base, base + len).  Works on addresses as
 * integers: comparing pointers into different objects is undefined. */
static inline int fz_inside(const void *p, size_t n, const void *base,
			    size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

	return a >= b && a - b <= len && n <= len - (a - b);
}

/* Read every byte of [p, p + n), so ASan sees a bad bound. */
FZ_NOCOV static inline void fz_touch(const uint8_t *p, size_t n)
{
	volatile uint8_t sink = 0;

	for (size_t i = 0; i < n; i++)
		sink ^= p[i];
	(void)sink;
}

/* What rs_decode promises about the view of frame[0..caplen): every pointer
 * inside the captured bytes, the layers in order, the payload bounded. */
static inline void fz_check_pkt(const struct rs_pkt *p, int err,
				const uint8_t *frame, uint32_t caplen,
				uint32_t wirelen)
{
	FZ_CHECK(err >= 0 && err < RS_DERR__COUNT);
	FZ_CHECK(p->frame == frame);
	FZ_CHECK(p->caplen == caplen && p->wirelen == wirelen);
	FZ_CHECK(p->vlan_count <= RS_MAX_VLAN);
	FZ_CHECK(p->ip_version == 0 || p->ip_version == 4 ||
		 p->ip_version == 6);
	if (p->ip_version == 4)
		FZ_CHECK(p->addr_len == 4);
	if (p->ip_version == 6)
		FZ_CHECK(p->addr_len == 16);
	if (p->l3) {
		FZ_CHECK(fz_inside(p->l3, p->l3_len, frame, caplen));
	} else {
		FZ_CHECK(p->l3_len == 0);
	}
	if (p->l4) {
		FZ_CHECK(p->l3 != NULL);
		FZ_CHECK(fz_inside(p->l4, 0, frame, caplen));
		FZ_CHECK((uintptr_t)p->l4 >= (uintptr_t)p->l3);
	}
	if (p->payload) {
		FZ_CHECK(err == RS_DERR_NONE);
		FZ_CHECK(p->l4 != NULL);
		FZ_CHECK((uintptr_t)p->payload >= (uintptr_t)p->l4);
		FZ_CHECK(fz_inside(p->payload, p->payload_len, frame, caplen));
		FZ_CHECK(fz_inside(p->payload, p->payload_len, p->l3,
				   p->l3_len));
	} else {
		FZ_CHECK(p->payload_len == 0);
	}
	FZ_CHECK(p->tcpopt.sack_blocks <= 4);
	if (err == RS_DERR_CAPLEN)
		FZ_CHECK(caplen == 0 || caplen > wirelen);
	if (p->payload)
		fz_touch(p->payload, p->payload_len);
	if (p->l3)
		fz_touch(p->l3, p->l3_len);
}

/* Stats of exactly one decoded frame: counted once, error by reason. */
static inline void fz_check_stats1(const struct rs_decode_stats *st, int err,
				   uint32_t wirelen)
{
	uint64_t byreason = 0;

	FZ_CHECK(st->packets == 1);
	FZ_CHECK(st->bytes == wirelen);
	FZ_CHECK(st->errors == (err != RS_DERR_NONE));
	for (int i = 0; i < RS_DERR__COUNT; i++)
		byreason += st->err[i];
	FZ_CHECK(byreason == st->errors);
	if (err)
		FZ_CHECK(st->err[err] == 1);
	FZ_CHECK(st->ipv4 + st->ipv6 <= 1);
	FZ_CHECK(st->tcp + st->udp + st->icmp + st->icmpv6 + st->other_l4 <= 1);
}

#endif /* RS_FUZZ_UTIL_H */
