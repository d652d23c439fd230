/* test_pcapfile_damage.c - rs_file_next on damaged pcap/pcapng: the right
 * error, file name and offset, frames before the damage kept; then every
 * truncation and random corruption of valid files without a crash. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capbuild.h"
#include "pcapfile_impl.h"
#include "rs_capture.h"

/* What a damage case must produce. */
struct expect {
	int frames;               /* good frames before the damage */
	size_t off;               /* offset named in the message */
	const char *what;         /* part of the message */
};

typedef void (*build_fn)(struct cb *b, struct expect *e);

/* ---- classic pcap ---------------------------------------------------- */

static void pcap_start(struct cb *b, uint32_t snaplen)
{
	cb_pcap_hdr(b, RS_PCAP_MAGIC_US, 2, 4, snaplen, 1);
	cb_pcap_rec(b, 1, 1, 60, 60, 60, 1);
}

static void d_pcap_short_rec_hdr(struct cb *b, struct expect *e)
{
	pcap_start(b, 65535);
	cb_pcap_rec(b, 2, 2, 10, 10, 10, 2);
	*e = (struct expect){ 2, b->len,
			      "truncated record header (10 of 16 bytes)" };
	cb_fill(b, 10, 0);
}

static void d_pcap_short_rec_data(struct cb *b, struct expect *e)
{
	pcap_start(b, 65535);
	e->off = cb_pcap_rec(b, 2, 2, 100, 100, 40, 2);
	e->frames = 1;
	e->what = "record data truncated (caplen 100, 40 bytes left)";
}

static void d_pcap_caplen_max_first(struct cb *b, struct expect *e)
{
	cb_pcap_hdr(b, RS_PCAP_MAGIC_NS, 2, 4, 0x7fffffff, 1);
	cb_pcap_rec(b, 1, 1, 300000, 300000, 0, 0);
	*e = (struct expect){ 0, 24, "record caplen 300000 exceeds 262144" };
}

static void d_pcap_caplen_max(struct cb *b, struct expect *e)
{
	pcap_start(b, 0);
	e->off = cb_pcap_rec(b, 2, 2, RS_MAX_CAPLEN + 1, 300000,
			     RS_MAX_CAPLEN + 1, 0);
	e->frames = 1;
	e->what = "record caplen 262145 exceeds 262144";
}

static void d_pcap_caplen_snaplen(struct cb *b, struct expect *e)
{
	pcap_start(b, 128);
	cb_pcap_rec(b, 2, 2, 128, 1000, 128, 2);
	e->off = cb_pcap_rec(b, 2, 2, 200, 200, 200, 2);
	e->frames = 2;
	e->what = "record caplen 200 exceeds snapshot length 128";
}

/* ---- pcapng ------------------------------------------------------------ */

/* Section, one Ethernet interface, one good EPB. */
static void ng_start(struct cb *b, uint32_t snaplen)
{
	cb_ng_shb(b, 1);
	cb_ng_idb(b, 1, snaplen, 9, 0);
	cb_ng_epb(b, 0, 1, 60, 60, 60, 1);
}

static void d_ng_trailer(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_other(b, 0x0bad, 16, 0);
	cb_patch32(b, b->len - 4, 32);
	e->frames = 1;
	e->what = "block trailing length 32 disagrees with leading length 28";
}

static void d_ng_len_unaligned(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_other(b, 5, 20, 0);
	cb_patch32(b, e->off + 4, 30);
	e->frames = 1;
	e->what = "block total length 30 not a multiple of 4";
}

static void d_ng_len_small(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_other(b, 6, 20, 0);
	cb_patch32(b, e->off + 4, 8);
	e->frames = 1;
	e->what = "block total length 8 < 12";
}

static void d_ng_past_eof(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_epb(b, 0, 2, 100, 100, 100, 2);
	b->len -= 30;
	e->frames = 1;
	e->what = "(type 0x6, length 144) runs past end of file (114 bytes left)";
}

static void d_ng_short_block_hdr(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	*e = (struct expect){ 1, b->len,
			      "truncated block header (4 of 8 bytes)" };
	cb_u32(b, 6);
}

static void d_ng_epb_caplen_block(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_epb(b, 0, 2, 100, 100, 40, 2);
	e->frames = 1;
	/* room: 40 data + 8 comment option + 4 end of options */
	e->what = "EPB caplen 100 exceeds its block (52 bytes of room)";
}

static void d_ng_epb_interface(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_epb(b, 2, 2, 10, 10, 10, 2);
	e->frames = 1;
	e->what = "EPB interface id 2 not defined (1 interfaces in this section)";
}

/* A new section forgets the interfaces of the one before. */
static void d_ng_section_reset(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	cb_ng_idb(b, 101, 0, 6, 0);
	cb_ng_epb(b, 1, 2, 10, 10, 10, 2);
	b->be = !b->be;
	cb_ng_shb(b, 1);
	cb_ng_idb(b, 1, 0, 6, 0);
	cb_ng_epb(b, 0, 3, 10, 10, 10, 3);
	e->off = cb_ng_epb(b, 1, 4, 10, 10, 10, 4);
	e->frames = 3;
	e->what = "EPB interface id 1 not defined (1 interfaces in this section)";
}

static void d_ng_epb_snaplen(struct cb *b, struct expect *e)
{
	ng_start(b, 64);
	e->off = cb_ng_epb(b, 0, 2, 100, 100, 100, 2);
	e->frames = 1;
	e->what = "EPB caplen 100 exceeds snapshot length 64 of interface 0";
}

static void d_ng_epb_max(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_epb(b, 0, 2, 300000, 300000, 300000, 2);
	e->frames = 1;
	e->what = "EPB caplen 300000 exceeds 262144";
}

static void d_ng_spb_max(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_spb(b, 300000, 300000, 2);
	e->frames = 1;
	e->what = "SPB caplen 300000 exceeds 262144";
}

static void d_ng_opb_short(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_other(b, 2, 16, 0);
	e->frames = 1;
	e->what = "OPB too short (length 28)";
}

static void d_ng_epb_short(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_other(b, 6, 12, 0);
	e->frames = 1;
	e->what = "EPB too short (length 24)";
}

static void d_ng_idb_short(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_other(b, 1, 4, 0);
	e->frames = 1;
	e->what = "interface description block too short (length 16)";
}

static void d_ng_idb_option(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_begin(b, 1);
	cb_u16(b, 1);
	cb_u16(b, 0);
	cb_u32(b, 0);
	cb_u16(b, 2);           /* if_name claiming 100 bytes */
	cb_u16(b, 100);
	cb_u32(b, 0);
	cb_ng_end(b, e->off);
	e->frames = 1;
	e->what = "interface option 2 length 100 runs past its block (4 bytes left)";
}

static void d_ng_tsresol_dec(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_idb(b, 1, 0, 20, 0);
	e->frames = 1;
	e->what = "if_tsresol 10^-20 not supported";
}

static void d_ng_tsresol_bin(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_idb(b, 1, 0, 0xc0, 0);
	e->frames = 1;
	e->what = "if_tsresol 2^-64 not supported";
}

static void d_ng_spb_no_if(struct cb *b, struct expect *e)
{
	cb_ng_shb(b, 1);
	e->off = cb_ng_spb(b, 10, 10, 0);
	e->frames = 0;
	e->what = "SPB before any interface in this section";
}

static void d_ng_bom(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_shb(b, 1);
	memcpy(b->p + e->off + 8, "\x11\x22\x33\x44", 4);
	e->frames = 1;
	e->what = "byte-order magic 0x";
}

static void d_ng_shb_version(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_shb(b, 2);
	e->frames = 1;
	e->what = "unsupported pcapng version 2.0";
}

static void d_ng_shb_short(struct cb *b, struct expect *e)
{
	ng_start(b, 0);
	e->off = cb_ng_other(b, 0x0a0d0d0a, 12, 0);
	cb_patch32(b, e->off + 8, 0x1a2b3c4d);
	e->frames = 1;
	e->what = "section header block length 24 < 28";
}

struct damage_case {
	const char *name;
	build_fn build;
};

static const struct damage_case damage_cases[] = {
	{ "d_pcap_short_rec_hdr", d_pcap_short_rec_hdr },
	{ "d_pcap_short_rec_data", d_pcap_short_rec_data },
	{ "d_pcap_caplen_max_first", d_pcap_caplen_max_first },
	{ "d_pcap_caplen_max", d_pcap_caplen_max },
	{ "d_pcap_caplen_snaplen", d_pcap_caplen_snaplen },
	{ "d_ng_trailer", d_ng_trailer },
	{ "d_ng_len_unaligned", d_ng_len_unaligned },
	{ "d_ng_len_small", d_ng_len_small },
	{ "d_ng_past_eof", d_ng_past_eof },
	{ "d_ng_short_block_hdr", d_ng_short_block_hdr },
	{ "d_ng_epb_caplen_block", d_ng_epb_caplen_block },
	{ "d_ng_epb_interface", d_ng_epb_interface },
	{ "d_ng_section_reset", d_ng_section_reset },
	{ "d_ng_epb_snaplen", d_ng_epb_snaplen },
	{ "d_ng_epb_max", d_ng_epb_max },
	{ "d_ng_spb_max", d_ng_spb_max },
	{ "d_ng_opb_short", d_ng_opb_short },
	{ "d_ng_epb_short", d_ng_epb_short },
	{ "d_ng_idb_short", d_ng_idb_short },
	{ "d_ng_idb_option", d_ng_idb_option },
	{ "d_ng_tsresol_dec", d_ng_tsresol_dec },
	{ "d_ng_tsresol_bin", d_ng_tsresol_bin },
	{ "d_ng_spb_no_if", d_ng_spb_no_if },
	{ "d_ng_bom", d_ng_bom },
	{ "d_ng_shb_version", d_ng_shb_version },
	{ "d_ng_shb_short", d_ng_shb_short },
};

static void run_case(const struct damage_case *dc, bool be)
{
	char err[RS_CAPTURE_ERRLEN], want[96], first[RS_CAPTURE_ERRLEN];
	struct expect e = { -1, 0, NULL };
	struct rs_frame fr;
	struct rs_file *f = NULL;
	struct cb b;
	char *path;
	int n = 0, rc;

	cb_init(&b, be);
	dc->build(&b, &e);
	path = cb_write_tmp(b.p, b.len, dc->name);
	rc = rs_file_open(&f, path, err, sizeof(err));
	if (rc)
		fail_msg("%s: open: %s", dc->name, err);
	while ((rc = rs_file_next(f, &fr)) == 1) {
		/* Frames before the damage are whole and correct. */
		assert_true(pattern_ok(fr.data, fr.caplen, (uint8_t)(n + 1)));
		n++;
	}
	if (rc != -EINVAL || n != e.frames)
		fail_msg("%s (%s): rc %d after %d frames, want -EINVAL after %d: %s",
			 dc->name, be ? "be" : "le", rc, n,
			 e.frames, rs_file_error(f));
	snprintf(want, sizeof(want), "%s: offset %zu: ", path, e.off);
	if (strncmp(rs_file_error(f), want, strlen(want)) ||
	    !strstr(rs_file_error(f), e.what))
		fail_msg("%s (%s): error \"%s\", want \"%s%s\"",
			 dc->name, be ? "be" : "le",
			 rs_file_error(f), want, e.what);
	/* Sticky: the same answer again. */
	snprintf(first, sizeof(first), "%s", rs_file_error(f));
	assert_int_equal(rs_file_next(f, &fr), -EINVAL);
	assert_string_equal(rs_file_error(f), first);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

/* One cmocka test per case, each in both byte orders. */
static void t_damage(void **state)
{
	run_case(*state, false);
	run_case(*state, true);
}

#define NDAMAGE (sizeof(damage_cases) / sizeof(damage_cases[0]))

/* ---- every truncation ---------------------------------------------------- */

/* A valid file and the offsets where its blocks end (prefixes ending
 * there are clean ends) and where its frames end. */
struct sample {
	struct cb b;
	size_t hdr_end;
	size_t ends[32], nends;
	size_t frame_ends[32], nframes;
};

static void sample_mark(struct sample *s, bool frame)
{
	s->ends[s->nends++] = s->b.len;
	if (frame)
		s->frame_ends[s->nframes++] = s->b.len;
}

static void sample_pcap(struct sample *s, bool be)
{
	memset(s, 0, sizeof(*s));
	cb_init(&s->b, be);
	cb_pcap_hdr(&s->b, RS_PCAP_MAGIC_NS, 2, 4, 1000, 1);
	s->hdr_end = s->b.len;
	sample_mark(s, false);
	cb_pcap_rec(&s->b, 1, 1, 60, 60, 60, 1);
	sample_mark(s, true);
	cb_pcap_rec(&s->b, 2, 2, 0, 60, 0, 2);
	sample_mark(s, true);
	cb_pcap_rec(&s->b, 3, 3, 33, 99, 33, 3);
	sample_mark(s, true);
}

static void sample_ng(struct sample *s, bool be)
{
	memset(s, 0, sizeof(*s));
	cb_init(&s->b, be);
	cb_ng_shb(&s->b, 1);
	s->hdr_end = s->b.len;
	sample_mark(s, false);
	cb_ng_idb(&s->b, 1, 0, 0x8a, 5);
	sample_mark(s, false);
	cb_ng_epb(&s->b, 0, 1, 61, 61, 61, 1);
	sample_mark(s, true);
	cb_ng_other(&s->b, 0x0bad, 7, 0);
	sample_mark(s, false);
	cb_ng_spb(&s->b, 30, 30, 2);
	sample_mark(s, true);
	s->b.be = !be;
	cb_ng_shb(&s->b, 1);
	sample_mark(s, false);
	cb_ng_idb(&s->b, 101, 100, 9, 0);
	sample_mark(s, false);
	cb_ng_idb(&s->b, 113, 100, -1, 0);
	sample_mark(s, false);
	cb_ng_opb(&s->b, 1, 7, 9, 9, 3);
	sample_mark(s, true);
	cb_ng_epb(&s->b, 0, 8, 17, 17, 17, 4);
	sample_mark(s, true);
}

/* Parse `len` bytes from an exact-size heap copy (ASan sees any
 * over-read); returns the final rc and counts frames. */
static int parse_copy(const uint8_t *p, size_t len, int *frames,
		      int *open_rc)
{
	uint8_t *copy = malloc(len ? len : 1);
	char err[RS_CAPTURE_ERRLEN];
	struct rs_file *f = NULL;
	struct rs_frame fr;
	int rc, n = 0;

	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	*open_rc = rs_file_open_mem(&f, "mem.cap", copy, len, err,
				    sizeof(err));
	if (*open_rc) {
		assert_null(f);
		assert_true(strncmp(err, "mem.cap: offset ", 16) == 0);
		rc = *open_rc;
		goto out;
	}
	while ((rc = rs_file_next(f, &fr)) == 1) {
		assert_true(fr.data >= copy && fr.caplen <= len &&
			    fr.data + fr.caplen <= copy + len);
		assert_true(fr.caplen <= RS_MAX_CAPLEN);
		assert_true(fr.offset < len);
		n++;
		/* Every frame eats >= 12 bytes: more would be a loop. */
		assert_true((size_t)n <= len / 12);
	}
	if (rc < 0)
		assert_true(strncmp(rs_file_error(f), "mem.cap: offset ",
				    16) == 0);
	else
		assert_string_equal(rs_file_error(f), "");
	rs_file_close(f);
out:
	free(copy);
	*frames = n;
	return rc;
}

static void check_truncations(struct sample *s)
{
	int rc, n, orc, want_n;
	size_t len, i;
	bool boundary;

	for (len = 0; len <= s->b.len; len++) {
		rc = parse_copy(s->b.p, len, &n, &orc);
		want_n = 0;
		for (i = 0; i < s->nframes; i++)
			want_n += s->frame_ends[i] <= len;
		boundary = false;
		for (i = 0; i < s->nends; i++)
			boundary |= s->ends[i] == len;
		if (len < s->hdr_end) {
			assert_int_equal(orc, -EINVAL);
			continue;
		}
		assert_int_equal(orc, 0);
		if (n != want_n || rc != (boundary ? 0 : -EINVAL))
			fail_msg("prefix %zu: %d frames rc %d, want %d rc %d",
				 len, n, rc, want_n, boundary ? 0 : -EINVAL);
	}
}

static void t_truncations(void **state)
{
	struct sample s;
	int be;

	(void)state;
	for (be = 0; be < 2; be++) {
		sample_pcap(&s, be);
		check_truncations(&s);
		cb_free(&s.b);
		sample_ng(&s, be);
		check_truncations(&s);
		cb_free(&s.b);
	}
}

/* ---- random corruption ---------------------------------------------------- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 11);
}

/* Lengths and ids at their edges are what breaks parsers. */
static const uint32_t edgy[] = {
	0, 1, 3, 4, 8, 11, 12, 13, 16, 20, 24, 28, 32, 0x7f, 0x80, 0x8a, 0xbf,
	0xff, 0xffff, 262144, 262145, 0x7fffffff, 0x80000000, 0xfffffff0,
	0xfffffffc, 0xffffffff, 0x0a0d0d0a, 0x1a2b3c4d, 0x4d3c2b1a,
};

static void mutate(uint8_t *p, size_t len)
{
	unsigned k, nmut = 1 + rnd() % 4;
	size_t at;
	uint32_t v;

	for (k = 0; k < nmut; k++) {
		at = rnd() % len;
		if (rnd() % 2 || len - at < 4) {
			p[at] ^= (uint8_t)(1u << (rnd() % 8));
			continue;
		}
		at &= ~(size_t)3;
		v = rnd() % 3 ? edgy[rnd() % (sizeof(edgy) / sizeof(edgy[0]))]
			      : rnd();
		if (rnd() % 2)
			v = __builtin_bswap32(v);
		memcpy(p + at, &v, 4);
	}
}

/* Corrupt the sample `rounds` times; every outcome must occur, else the
 * mutations are not reaching the parser. */
static void fuzz_sample(struct sample *s, unsigned rounds)
{
	uint8_t *work = malloc(s->b.len);
	unsigned r, clean = 0, damaged = 0, refused = 0;
	int n, orc, rc;

	assert_non_null(work);
	for (r = 0; r < rounds; r++) {
		memcpy(work, s->b.p, s->b.len);
		mutate(work, s->b.len);
		rc = parse_copy(work, s->b.len - rnd() % 3 * (rnd() % 8), &n,
				&orc);
		clean += rc == 0;
		damaged += rc < 0 && orc == 0;
		refused += orc < 0;
	}
	free(work);
	print_message("%u rounds: %u clean, %u damaged, %u refused at open\n",
		      rounds, clean, damaged, refused);
	assert_true(clean > 0 && damaged > 0 && refused > 0);
}

static void t_fuzz(void **state)
{
	struct sample s;
	int be;

	(void)state;
	for (be = 0; be < 2; be++) {
		sample_pcap(&s, be);
		fuzz_sample(&s, 5000);
		cb_free(&s.b);
		sample_ng(&s, be);
		fuzz_sample(&s, 20000);
		cb_free(&s.b);
	}
}

int main(void)
{
	struct CMUnitTest tests[NDAMAGE + 2];
	size_t i;

	for (i = 0; i < NDAMAGE; i++)
		tests[i] = (struct CMUnitTest){
			.name = damage_cases[i].name,
			.test_func = t_damage,
			.initial_state = (void *)&damage_cases[i],
		};
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(t_truncations);
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(t_fuzz);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
