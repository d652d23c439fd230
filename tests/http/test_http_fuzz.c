/* test_http_fuzz.c - seeded damage, gaps and random cuts: the parser never fails and never depends on the cuts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_cases.h"
#include "http_gen.h"

static long iterations = 3000; /* argv[1] overrides */
static struct recs *ra, *rb;

/* One event of a connection: bytes of a stream, or a hole in it. */
struct ev {
	int dir, gap;
	size_t off, len;
};

#define MAXEV 256

struct script {
	struct buf s[2];   /* the (damaged) streams */
	struct ev ev[MAXEV];
	int nev, midstream, eof[2];
};

/* Cut both streams into events, interleaved at random, some lost. */
static void make_events(struct gen *g, struct script *sc)
{
	size_t off[2] = { 0, 0 };

	sc->nev = 0;
	while ((off[0] < sc->s[0].len || off[1] < sc->s[1].len) &&
	       sc->nev < MAXEV - 1) {
		int d = (int)gen_below(g, 2);
		size_t left, k;
		struct ev *e;

		if (off[d] >= sc->s[d].len)
			d = !d;
		left = sc->s[d].len - off[d];
		k = 1 + gen_below(g, left < 700 ? (unsigned)left : 700);
		e = &sc->ev[sc->nev++];
		e->dir = d;
		e->off = off[d];
		e->len = k;
		e->gap = gen_below(g, 25) == 0;
		off[d] += k;
	}
	/* Whatever did not fit goes in one last event per direction. */
	for (int d = 0; d < 2 && sc->nev < MAXEV; d++) {
		if (off[d] < sc->s[d].len) {
			sc->ev[sc->nev++] = (struct ev){ d, 0, off[d],
							 sc->s[d].len - off[d] };
		}
	}
}

/* Feed the script; cut_seed 0 = every event in one call, else random
 * pieces; bytewise = one byte per call. */
static void play(const struct script *sc, uint64_t cut_seed, int bytewise,
		 struct recs *out, struct rs_http_stats *st)
{
	struct rs_http_layer l;
	struct rs_http_conn *c;
	struct rs_flow_info fi;
	struct gen g = { cut_seed | 1 };

	memset(&fi, 0, sizeof(fi));
	fi.flags = sc->midstream ? RS_FLOW_MIDSTREAM : 0;
	memset(out, 0, sizeof(*out));
	assert_int_equal(rs_http_layer_init(&l, rec_txn, out), 0);
	c = rs_http_conn_new(&l, &fi);
	assert_non_null(c);
	for (int i = 0; i < sc->nev; i++) {
		const struct ev *e = &sc->ev[i];
		const uint8_t *p = (const uint8_t *)sc->s[e->dir].p + e->off;
		size_t done = 0;

		if (e->gap) {
			rs_http_conn_gap(c, e->dir, e->len);
			continue;
		}
		while (done < e->len) {
			size_t k = e->len - done;

			if (bytewise)
				k = 1;
			else if (cut_seed)
				k = 1 + gen_below(&g, (unsigned)k);
			rs_http_conn_data(c, e->dir, p + done, k,
					  1000 * (uint64_t)(i + 1));
			done += k;
		}
	}
	for (int d = 0; d < 2; d++)
		if (sc->eof[d])
			rs_http_conn_eof(c, d);
	rs_http_conn_free(c);
	*st = l.stats;
	rs_http_layer_fini(&l);
}

static void check_sane(const struct recs *r, const struct rs_http_stats *st)
{
	assert_int_equal(r->overflow, 0);
	assert_int_equal(st->txns, (uint64_t)r->n);
	for (int i = 0; i < r->n; i++) {
		const struct rs_http_txn *t = &r->r[i].t;

		assert_int_equal(t->flags & ~0x1ffu, 0);
		assert_true(t->status == -1 ||
			    (t->status >= 100 && t->status <= 999));
		assert_true(t->method_len < RS_HTTP_METHOD_MAX &&
			    t->method[t->method_len] == 0);
		assert_true(t->uri_len < RS_HTTP_URI_MAX && t->uri[t->uri_len] == 0);
		assert_true(t->host_len < RS_HTTP_HOST_MAX &&
			    t->host[t->host_len] == 0);
		assert_true(t->ua_len < RS_HTTP_UA_MAX &&
			    t->user_agent[t->ua_len] == 0);
		assert_true(t->version_len < RS_HTTP_VERSION_MAX &&
			    t->version[t->version_len] == 0);
		assert_true(r->r[i].head_len <= RS_HTTP_REQ_STORE);
		if (i)
			assert_true(t->ts_ns >= r->r[i - 1].t.ts_ns ||
				    (t->flags & RS_HTTP_F_GAP));
	}
}

static int stats_same(const struct rs_http_stats *a,
		      const struct rs_http_stats *b)
{
	return a->requests == b->requests && a->responses == b->responses &&
	       a->txns == b->txns && a->gaps == b->gaps &&
	       a->resyncs == b->resyncs && a->parse_errors == b->parse_errors &&
	       a->truncated == b->truncated && a->smuggling == b->smuggling &&
	       a->upgrades == b->upgrades && a->unanswered == b->unanswered &&
	       a->not_http == b->not_http &&
	       a->orphan_responses == b->orphan_responses &&
	       a->evicted == b->evicted;
}

/* A base conversation: generated, or one of the scripted cases (its data
 * steps concatenated per direction). */
static void base_streams(struct gen *g, struct script *sc, struct conv *cv)
{
	sc->s[0].len = sc->s[1].len = 0;
	sc->midstream = 0;
	sc->eof[0] = sc->eof[1] = 1;
	if (gen_below(g, 2)) {
		const struct tcase *tc = &cases[gen_below(g, NCASES)];

		sc->midstream = tc->midstream;
		for (int i = 0; i < MAX_STEPS && tc->steps[i].kind != S_END;
		     i++) {
			const struct step *s = &tc->steps[i];

			if (s->kind == S_D0 || s->kind == S_D1)
				buf_put(&sc->s[s->kind == S_D1], s->data,
					step_len(s));
		}
		buf_need(&sc->s[0], 0);
		buf_need(&sc->s[1], 0);
		return;
	}
	gen_conv(g, cv, 1 + (int)gen_below(g, 8), 3000);
	buf_put(&sc->s[0], cv->req.p, cv->req.len);
	buf_put(&sc->s[1], cv->resp.p, cv->resp.len);
	sc->eof[1] = gen_below(g, 4) != 0;
}

/* Damage: replaced bytes, drawn from bytes that matter to HTTP. */
static void damage(struct gen *g, struct script *sc)
{
	static const char nasty[] = "\r\n :;,0123456789aAfF\t\x00\xff-HTTP/";
	int n = (int)gen_below(g, 5);

	for (int i = 0; i < n; i++) {
		struct buf *b = &sc->s[gen_below(g, 2)];

		if (!b->len)
			continue;
		b->p[gen_below(g, (unsigned)b->len)] =
			gen_below(g, 2) ? (char)(gen_next(g) >> 56)
					: nasty[gen_below(g, sizeof(nasty) - 1)];
	}
}

/* Sometimes a long run of one byte is inserted: lines beyond the parser's
 * line buffers, long values, long chunk extensions. */
static void stretch(struct gen *g, struct script *sc)
{
	struct buf *b = &sc->s[gen_below(g, 2)];
	size_t at, n = 300 + gen_below(g, 2700);
	char ch = " a0;,\t"[gen_below(g, 6)];

	if (gen_below(g, 8) || !b->len)
		return;
	at = gen_below(g, (unsigned)b->len);
	buf_need(b, n);
	memmove(b->p + at + n, b->p + at, b->len - at);
	memset(b->p + at, ch, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void test_fuzz(void **state)
{
	struct script sc;
	struct conv cv;
	struct rs_http_stats sa, sb;
	long txns = 0, flagged = 0;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	memset(&cv, 0, sizeof(cv));
	for (long it = 0; it < iterations; it++) {
		struct gen g = { 0x9e3779b97f4a7c15ull ^ (uint64_t)(it + 1) };
		const char *why;

		base_streams(&g, &sc, &cv);
		damage(&g, &sc);
		stretch(&g, &sc);
		make_events(&g, &sc);
		play(&sc, 0, 0, ra, &sa);
		check_sane(ra, &sa);
		play(&sc, (uint64_t)it + 7, 0, rb, &sb);
		check_sane(rb, &sb);
		why = recs_diff(ra, rb);
		if (why)
			fail_msg("iteration %ld: random cuts: %s", it, why);
		if (!stats_same(&sa, &sb))
			fail_msg("iteration %ld: random cuts: counters differ", it);
		if (it % 16 == 0) {
			play(&sc, 0, 1, rb, &sb);
			why = recs_diff(ra, rb);
			if (why)
				fail_msg("iteration %ld: byte by byte: %s", it, why);
		}
		txns += ra->n;
		for (int i = 0; i < ra->n; i++)
			flagged += ra->r[i].t.flags != 0;
	}
	/* The corpus did reach the parser's paths. */
	assert_true(txns > iterations);
	assert_true(flagged > iterations / 10);
	free(sc.s[0].p);
	free(sc.s[1].p);
	conv_free(&cv);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz),
	};
	int rc;

	if (argc > 1)
		iterations = strtol(argv[1], NULL, 10);
	ra = calloc(1, sizeof(*ra));
	rb = calloc(1, sizeof(*rb));
	if (!ra || !rb)
		return 1;
	rc = cmocka_run_group_tests_name("http_fuzz", tests, NULL, NULL);
	free(ra);
	free(rb);
	return rc;
}
