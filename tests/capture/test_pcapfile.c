/* test_pcapfile.c - rs_file_*: opening, every pcap/pcapng variant, stdin,
 * FIFOs and growing files.  Damage cases are in test_pcapfile_damage.c. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capbuild.h"
#include "pcapfile_impl.h"
#include "rs_capture.h"

#define MAXF 256

struct got {
	struct rs_frame fr[MAXF];
	int n;
	int rc;                   /* what ended the loop: 0 or -errno */
};

static void read_all(struct rs_file *f, struct got *g)
{
	g->n = 0;
	/* -EAGAIN: a stream's writer has not caught up yet. */
	while ((g->rc = rs_file_next(f, &g->fr[g->n])) == 1 ||
	       g->rc == -EAGAIN) {
		if (g->rc == 1)
			g->n++;
		assert_true(g->n < MAXF);
	}
}

static struct rs_file *open_ok(const char *path)
{
	char err[RS_CAPTURE_ERRLEN] = "x";
	struct rs_file *f = NULL;
	int rc = rs_file_open(&f, path, err, sizeof(err));

	if (rc != 0)
		fail_msg("open %s: %d %s", path, rc, err);
	assert_non_null(f);
	assert_string_equal(err, "");
	assert_string_equal(rs_file_error(f), "");
	return f;
}

static void assert_has(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("error \"%s\" lacks \"%s\"", msg, part);
}

/* Open must fail with `want`, naming the file (and the offset if >= 0). */
static void open_fails(const char *path, int want, long long off,
		       const char *what)
{
	char err[RS_CAPTURE_ERRLEN] = "", o[48];
	struct rs_file *f = (struct rs_file *)1;
	int rc = rs_file_open(&f, path, err, sizeof(err));

	assert_int_equal(rc, want);
	assert_null(f);
	assert_has(err, path);
	if (off >= 0) {
		snprintf(o, sizeof(o), ": offset %lld: ", off);
		assert_has(err, o);
	}
	assert_has(err, what);
}

static void bytes_open_fails(const void *p, size_t len, int want,
			     long long off, const char *what)
{
	char *path = cb_write_tmp(p, len, "bad");

	open_fails(path, want, off, what);
	tmp_remove(path);
}

/* ---- control: opening ------------------------------------------------ */

static void t_open_args(void **state)
{
	struct rs_file *f = NULL;
	char err[RS_CAPTURE_ERRLEN];

	(void)state;
	assert_int_equal(rs_file_open(NULL, "x", err, sizeof(err)), -EINVAL);
	assert_int_equal(rs_file_open(&f, NULL, err, sizeof(err)), -EINVAL);
	assert_null(f);
	rs_file_close(NULL);
}

static void t_open_missing(void **state)
{
	(void)state;
	open_fails("/nonexistent-rs-dir/x.pcap", -ENOENT, -1,
		   strerror(ENOENT));
}

static void t_open_directory(void **state)
{
	(void)state;
	open_fails("/", -EISDIR, -1, strerror(EISDIR));
}

static void t_open_unreadable(void **state)
{
	char *path = cb_write_tmp("x", 1, "perm");

	(void)state;
	chmod(path, 0);
	if (geteuid() == 0) {   /* root reads anyway */
		tmp_remove(path);
		skip();
	}
	open_fails(path, -EACCES, -1, strerror(EACCES));
	tmp_remove(path);
}

static void t_open_empty(void **state)
{
	(void)state;
	bytes_open_fails("", 0, -EINVAL, 0, "empty file");
}

static void t_open_bad_magic(void **state)
{
	static const uint8_t txt[] = "GET / HTTP/1.1\r\n\r\nmore text here..";

	(void)state;
	bytes_open_fails(txt, sizeof(txt), -EINVAL, 0, "unknown file format");
	bytes_open_fails(txt, 3, -EINVAL, 0, "truncated file header (3 bytes)");
}

static void t_open_short_pcap_header(void **state)
{
	struct cb b;

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 4, 65535, 1);
	bytes_open_fails(b.p, 23, -EINVAL, 0,
			 "truncated pcap file header (23 of 24 bytes)");
	bytes_open_fails(b.p, 4, -EINVAL, 0, "truncated pcap file header");
	cb_free(&b);
	cb_init(&b, true);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 3, 0, 65535, 1);
	bytes_open_fails(b.p, b.len, -EINVAL, 4, "unsupported pcap version 3.0");
	cb_free(&b);
}

static void t_open_bad_shb(void **state)
{
	struct cb b;
	int be;

	(void)state;
	for (be = 0; be < 2; be++) {
		cb_init(&b, be);
		cb_ng_shb(&b, 1);
		bytes_open_fails(b.p, 10, -EINVAL, 0,
				 "truncated section header block");
		bytes_open_fails(b.p, 20, -EINVAL, 0, "runs past end of file");
		cb_patch32(&b, 4, 24);
		bytes_open_fails(b.p, b.len, -EINVAL, 0,
				 "section header block length 24 < 28");
		cb_patch32(&b, 4, 28);
		cb_patch32(&b, 8, 0x1a2b3c4e);
		bytes_open_fails(b.p, b.len, -EINVAL, 0, "byte-order magic");
		cb_free(&b);

		cb_init(&b, be);
		cb_ng_shb(&b, 2);
		bytes_open_fails(b.p, b.len, -EINVAL, 0,
				 "unsupported pcapng version 2.0");
		cb_free(&b);
	}
}

/* ---- classic pcap ------------------------------------------------------ */

struct pcap_case {
	uint32_t sec, frac, caplen, wirelen;
	uint64_t ts_us, ts_ns;    /* expected ts_ns for a usec / nsec file */
};

static const struct pcap_case pcap_recs[] = {
	{ 1700000000u, 123456u, 60, 60,
	  1700000000123456000ull, 1700000000000123456ull },
	{ 1700000001u, 999999u, 0, 64,
	  1700000001999999000ull, 1700000001000999999ull },
	{ 0, 0, 1514, 1514, 0, 0 },
	/* caplen > wirelen: decode's business, not damage */
	{ 1700000002u, 5u, 80, 60,
	  1700000002000005000ull, 1700000002000000005ull },
	{ UINT32_MAX, 999999999u, 14, 9000,
	  4294968294999999000ull, 4294967295999999999ull },
};

static void check_pcap_variant(bool be, bool nsec)
{
	size_t off[5], i;
	struct rs_file *f;
	struct got g;
	struct cb b;
	char *path;

	cb_init(&b, be);
	cb_pcap_hdr(&b, nsec ? RS_PCAP_MAGIC_NS : RS_PCAP_MAGIC_US, 2, 4,
		    65535, 1);
	for (i = 0; i < 5; i++)
		off[i] = cb_pcap_rec(&b, pcap_recs[i].sec, pcap_recs[i].frac,
				     pcap_recs[i].caplen, pcap_recs[i].wirelen,
				     pcap_recs[i].caplen, (uint8_t)(i * 40));
	path = cb_write_tmp(b.p, b.len, "var");
	f = open_ok(path);
	assert_int_equal(rs_file_format(f), RS_FMT_PCAP);
	assert_int_equal(rs_file_linktype(f), 1);
	assert_int_equal(rs_file_snaplen(f), 65535);
	read_all(f, &g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 5);
	for (i = 0; i < 5; i++) {
		const struct rs_frame *fr = &g.fr[i];

		assert_int_equal(fr->offset, off[i]);
		assert_int_equal(fr->caplen, pcap_recs[i].caplen);
		assert_int_equal(fr->wirelen, pcap_recs[i].wirelen);
		assert_true(fr->ts_ns == (nsec ? pcap_recs[i].ts_ns
					       : pcap_recs[i].ts_us));
		assert_int_equal(fr->linktype, 1);
		assert_int_equal(fr->ifindex, 0);
		assert_false(fr->vlan_valid);
		assert_true(pattern_ok(fr->data, fr->caplen, (uint8_t)(i * 40)));
	}
	/* A clean end stays a clean end. */
	assert_int_equal(rs_file_next(f, &g.fr[0]), 0);
	assert_int_equal(rs_file_next(f, &g.fr[0]), 0);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

static void t_pcap_le_us(void **state) { (void)state; check_pcap_variant(false, false); }
static void t_pcap_le_ns(void **state) { (void)state; check_pcap_variant(false, true); }
static void t_pcap_be_us(void **state) { (void)state; check_pcap_variant(true, false); }
static void t_pcap_be_ns(void **state) { (void)state; check_pcap_variant(true, true); }

/* Hand-written bytes, so a byte-order slip shared by capbuild and the
 * reader cannot hide. */
static const uint8_t lit_pcap_be_us[] = {
	0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x65,     /* LINKTYPE_RAW */
	0x65, 0x53, 0xf1, 0x00, 0x00, 0x01, 0xe2, 0x40,     /* 1700000000.123456 */
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x3c,     /* caplen 4, len 60 */
	0xde, 0xad, 0xbe, 0xef,
};
static const uint8_t lit_pcap_le_ns[] = {
	0x4d, 0x3c, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x00, 0x04, 0x00, 0x71, 0x00, 0x00, 0x00,     /* 262144, SLL */
	0x00, 0xf1, 0x53, 0x65, 0x15, 0xcd, 0x5b, 0x07,     /* .123456789 */
	0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0xca, 0xfe,
};

static void t_pcap_literal(void **state)
{
	struct rs_frame fr;
	struct rs_file *f;
	char *path;

	(void)state;
	path = cb_write_tmp(lit_pcap_be_us, sizeof(lit_pcap_be_us), "lit");
	f = open_ok(path);
	assert_int_equal(rs_file_linktype(f), 101);
	assert_int_equal(rs_file_snaplen(f), 65535);
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_true(fr.ts_ns == 1700000000123456000ull);
	assert_int_equal(fr.caplen, 4);
	assert_int_equal(fr.wirelen, 60);
	assert_int_equal(fr.offset, 24);
	assert_memory_equal(fr.data, "\xde\xad\xbe\xef", 4);
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);

	path = cb_write_tmp(lit_pcap_le_ns, sizeof(lit_pcap_le_ns), "lit");
	f = open_ok(path);
	assert_int_equal(rs_file_linktype(f), 113);
	assert_int_equal(rs_file_snaplen(f), 262144);
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_true(fr.ts_ns == 1700000000123456789ull);
	assert_int_equal(fr.caplen, 2);
	assert_memory_equal(fr.data, "\xca\xfe", 2);
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);
}

/* Link type field's upper bits (FCS length, flags) are not the link type;
 * versions before 2.3 stored len before caplen, 2.3 either way round. */
static void t_pcap_header_quirks(void **state)
{
	struct rs_frame fr;
	struct rs_file *f;
	struct cb b;
	char *path;

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 2, 0, 0x14000001u);
	cb_pcap_rec(&b, 1, 2, 100, 40, 40, 7);  /* stored: len, caplen */
	path = cb_write_tmp(b.p, b.len, "old");
	f = open_ok(path);
	assert_int_equal(rs_file_linktype(f), 1);
	assert_int_equal(rs_file_snaplen(f), 0);
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(fr.caplen, 40);
	assert_int_equal(fr.wirelen, 100);
	assert_true(pattern_ok(fr.data, 40, 7));
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);

	cb_init(&b, true);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 3, 0, 1);
	cb_pcap_rec(&b, 1, 2, 30, 60, 30, 1);   /* 2.3, normal order */
	cb_pcap_rec(&b, 1, 2, 60, 20, 20, 2);   /* 2.3, swapped order */
	path = cb_write_tmp(b.p, b.len, "v23");
	f = open_ok(path);
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(fr.caplen, 30);
	assert_int_equal(fr.wirelen, 60);
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(fr.caplen, 20);
	assert_int_equal(fr.wirelen, 60);
	assert_true(pattern_ok(fr.data, 20, 2));
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

/* A header-only file is a valid, empty capture. */
static void t_pcap_no_records(void **state)
{
	struct rs_frame fr;
	struct rs_file *f;
	char *path;

	(void)state;
	path = cb_write_tmp(lit_pcap_be_us, 24, "hdr");
	f = open_ok(path);
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);
}

/* ---- pcapng -------------------------------------------------------------- */

struct ng_want {
	uint64_t ts_ns;
	uint32_t caplen, wirelen, ifindex;
	int linktype;
	uint8_t seed;
};

/* Two interfaces (Ethernet at 10^-9, RAW at 2^-10 with if_tsoffset +100 s),
 * skipped NRB/ISB/custom blocks, EPB on both, SPB, OPB. */
static void check_ng_basic(bool be)
{
	static const struct ng_want want[] = {
		{ 1700000000123456789ull, 60, 60, 0, 1, 0x11 },
		{ 101000976562ull, 61, 100, 1, 101, 0x22 }, /* 1025/1024 s */
		{ 0, 50, 50, 0, 1, 0x33 },
		{ 102000000000ull, 10, 10, 1, 101, 0x44 },
		{ 1700000000000000000ull, 0, 0, 0, 1, 0 },
	};
	size_t off[5], i;
	struct rs_file *f;
	struct got g;
	struct cb b;
	char *path;

	cb_init(&b, be);
	cb_ng_shb(&b, 1);
	cb_ng_idb(&b, 1, 262144, 9, 0);
	cb_ng_other(&b, 4, 12, 0);                      /* NRB */
	cb_ng_idb(&b, 101, 65535, 0x8a, 100);
	cb_ng_other(&b, 0x40000badu, 10, 0);            /* custom/unknown */
	off[0] = cb_ng_epb(&b, 0, 1700000000123456789ull, 60, 60, 60, 0x11);
	off[1] = cb_ng_epb(&b, 1, 1025, 61, 100, 61, 0x22);
	off[2] = cb_ng_spb(&b, 50, 50, 0x33);
	cb_ng_other(&b, 5, 20, 0);                      /* ISB */
	off[3] = cb_ng_opb(&b, 1, 2048, 10, 10, 0x44);
	off[4] = cb_ng_epb(&b, 0, 1700000000000000000ull, 0, 0, 0, 0);
	path = cb_write_tmp(b.p, b.len, "ng");
	f = open_ok(path);
	assert_int_equal(rs_file_format(f), RS_FMT_PCAPNG);
	assert_int_equal(rs_file_linktype(f), 1);
	assert_int_equal(rs_file_snaplen(f), 262144);
	read_all(f, &g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 5);
	for (i = 0; i < 5; i++) {
		const struct rs_frame *fr = &g.fr[i];

		assert_int_equal(fr->offset, off[i]);
		assert_true(fr->ts_ns == want[i].ts_ns);
		assert_int_equal(fr->caplen, want[i].caplen);
		assert_int_equal(fr->wirelen, want[i].wirelen);
		assert_int_equal(fr->ifindex, want[i].ifindex);
		assert_int_equal(fr->linktype, want[i].linktype);
		assert_true(pattern_ok(fr->data, fr->caplen, want[i].seed));
	}
	assert_int_equal(rs_file_next(f, &g.fr[0]), 0);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

static void t_ng_le(void **state) { (void)state; check_ng_basic(false); }
static void t_ng_be(void **state) { (void)state; check_ng_basic(true); }

static const uint8_t lit_ng_be[] = {
	/* SHB, 28 bytes */
	0x0a, 0x0d, 0x0d, 0x0a, 0x00, 0x00, 0x00, 0x1c, 0x1a, 0x2b, 0x3c, 0x4d,
	0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x00, 0x00, 0x00, 0x1c,
	/* IDB, Ethernet, snaplen 0, no options: 10^-6 */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,
	/* IDB, LINKTYPE_IPV4 (228), if_tsresol 10^-9 */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x20, 0x00, 0xe4, 0x00, 0x00,
	0x00, 0x00, 0x05, 0xdc, 0x00, 0x09, 0x00, 0x01, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
	/* EPB on interface 1, ts 0x1_00000002 ns, caplen 3, len 5 */
	0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x05, 0x45, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x24,
	/* EPB on interface 0, ts 123456 us */
	0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x04,
	0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x24,
};

static void t_ng_literal(void **state)
{
	struct rs_frame fr;
	struct rs_file *f;
	char *path;

	(void)state;
	path = cb_write_tmp(lit_ng_be, sizeof(lit_ng_be), "lit");
	f = open_ok(path);
	assert_int_equal(rs_file_linktype(f), 1);
	assert_int_equal(rs_file_snaplen(f), 0);
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(fr.offset, 80);
	assert_int_equal(fr.linktype, 228);
	assert_int_equal(fr.ifindex, 1);
	assert_true(fr.ts_ns == 0x100000002ull);
	assert_int_equal(fr.caplen, 3);
	assert_int_equal(fr.wirelen, 5);
	assert_memory_equal(fr.data, "\x45\x00\x14", 3);
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(fr.offset, 116);
	assert_int_equal(fr.linktype, 1);
	assert_true(fr.ts_ns == 123456000ull);
	assert_memory_equal(fr.data, "\xde\xad\xbe\xef", 4);
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);
}

struct tsres_case {
	int tsresol;              /* -1: option absent */
	int64_t tsoff;
	uint64_t ts, want;
};

static const struct tsres_case tsres_cases[] = {
	{ -1, 0, 1234567, 1234567000ull },
	{ 6, 0, 1700000000123456ull, 1700000000123456000ull },
	{ 9, 0, 1700000000123456789ull, 1700000000123456789ull },
	{ 3, 0, 1700000000123ull, 1700000000123000000ull },
	{ 0, 0, 1700000000ull, 1700000000000000000ull },
	{ 12, 0, 1234567891234ull, 1234567891ull },       /* ps: floor */
	{ 19, 0, UINT64_MAX, 1844674407ull },
	{ 0x80, 0, 5, 5000000000ull },                    /* 2^0 */
	{ 0x8a, 0, 1025, 1000976562ull },                 /* 2^-10 */
	{ 0x94, 0, (1700000000ull << 20) + 524288, 1700000000500000000ull },
	{ 0xbf, 0, UINT64_MAX, 1999999999ull },           /* 2^-63 */
	{ 9, -1, 1500000000ull, 500000000ull },
	{ 6, 1000, 0, 1000000000000ull },
	{ 6, -10, 5000000, 0 },                           /* clamps at 0 */
	{ 0, 0, UINT64_MAX, UINT64_MAX },                 /* clamps at max */
};

static void t_ng_tsresol(void **state)
{
	struct rs_frame fr;
	struct rs_file *f;
	struct cb b;
	char *path;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tsres_cases) / sizeof(tsres_cases[0]); i++) {
		const struct tsres_case *c = &tsres_cases[i];

		cb_init(&b, i % 2);
		cb_ng_shb(&b, 1);
		cb_ng_idb(&b, 1, 0, c->tsresol, c->tsoff);
		cb_ng_epb(&b, 0, c->ts, 4, 4, 4, 0);
		path = cb_write_tmp(b.p, b.len, "res");
		f = open_ok(path);
		assert_int_equal(rs_file_next(f, &fr), 1);
		if (fr.ts_ns != c->want)
			fail_msg("case %zu: ts %llu, want %llu", i,
				 (unsigned long long)fr.ts_ns,
				 (unsigned long long)c->want);
		rs_file_close(f);
		tmp_remove(path);
		cb_free(&b);
	}
}

/* Each section has its own byte order and interfaces. */
static void t_ng_sections(void **state)
{
	struct rs_file *f;
	struct got g;
	struct cb b;
	char *path;

	(void)state;
	cb_init(&b, false);
	cb_ng_shb(&b, 1);
	cb_ng_idb(&b, 1, 0, 6, 0);
	cb_ng_idb(&b, 113, 0, 6, 0);
	cb_ng_epb(&b, 1, 1500000, 20, 20, 20, 1);
	b.be = true;
	cb_ng_shb(&b, 1);
	cb_ng_idb(&b, 101, 0, 9, 0);
	cb_ng_epb(&b, 0, 7, 30, 31, 30, 2);
	b.be = false;
	cb_ng_shb(&b, 1);
	cb_ng_idb(&b, 276, 0, -1, 0);                   /* SLL2 */
	cb_ng_idb(&b, 229, 0, 9, 0);                    /* IPv6 */
	cb_ng_epb(&b, 1, 9, 40, 40, 40, 3);
	cb_ng_spb(&b, 8, 8, 4);
	path = cb_write_tmp(b.p, b.len, "sect");
	f = open_ok(path);
	assert_int_equal(rs_file_linktype(f), 1);
	read_all(f, &g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.fr[0].linktype, 113);
	assert_true(g.fr[0].ts_ns == 1500000000ull);
	assert_int_equal(g.fr[1].linktype, 101);
	assert_int_equal(g.fr[1].ifindex, 0);
	assert_true(g.fr[1].ts_ns == 7);
	assert_int_equal(g.fr[1].wirelen, 31);
	assert_true(pattern_ok(g.fr[1].data, 30, 2));
	assert_int_equal(g.fr[2].linktype, 229);
	assert_int_equal(g.fr[2].ifindex, 1);
	assert_true(g.fr[2].ts_ns == 9);
	assert_int_equal(g.fr[3].linktype, 276);
	assert_true(pattern_ok(g.fr[3].data, 8, 4));
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

/* SPB: caplen = min(original length, room in the block, snaplen). */
static void t_ng_spb(void **state)
{
	struct rs_file *f;
	struct got g;
	struct cb b;
	char *path;

	(void)state;
	cb_init(&b, true);
	cb_ng_shb(&b, 1);
	cb_ng_idb(&b, 1, 0, 9, 0);
	cb_ng_spb(&b, 50, 50, 1);       /* padding is not data */
	cb_ng_spb(&b, 100, 64, 2);      /* writer cut it short */
	cb_ng_shb(&b, 1);
	cb_ng_idb(&b, 1, 40, 9, 0);
	cb_ng_spb(&b, 100, 48, 3);      /* snaplen 40 */
	cb_ng_spb(&b, 0, 4, 4);
	path = cb_write_tmp(b.p, b.len, "spb");
	f = open_ok(path);
	read_all(f, &g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.fr[0].caplen, 50);
	assert_int_equal(g.fr[0].wirelen, 50);
	assert_int_equal(g.fr[1].caplen, 64);
	assert_int_equal(g.fr[1].wirelen, 100);
	assert_true(pattern_ok(g.fr[1].data, 64, 2));
	assert_int_equal(g.fr[2].caplen, 40);
	assert_int_equal(g.fr[2].wirelen, 100);
	assert_true(pattern_ok(g.fr[2].data, 40, 3));
	assert_int_equal(g.fr[3].caplen, 0);
	assert_true(g.fr[0].ts_ns == 0 && g.fr[2].ts_ns == 0);
	assert_int_equal(g.fr[2].ifindex, 0);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

/* rs_file_linktype() looks past non-interface blocks for the first IDB,
 * and says -1 when the first section has none before a packet. */
static void t_ng_first_interface(void **state)
{
	struct rs_frame fr;
	struct rs_file *f;
	struct cb b;
	char *path;

	(void)state;
	cb_init(&b, false);
	cb_ng_shb(&b, 1);
	cb_ng_other(&b, 0x0bad, 40, 0);
	cb_ng_idb(&b, 276, 1234, -1, 0);
	path = cb_write_tmp(b.p, b.len, "peek");
	f = open_ok(path);
	assert_int_equal(rs_file_linktype(f), 276);
	assert_int_equal(rs_file_snaplen(f), 1234);
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);

	cb_init(&b, true);
	cb_ng_shb(&b, 1);
	path = cb_write_tmp(b.p, b.len, "peek");
	f = open_ok(path);
	assert_int_equal(rs_file_linktype(f), -1);
	assert_int_equal(rs_file_next(f, &fr), 0);
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

/* ---- streams: stdin, FIFO ------------------------------------------------ */

static void write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n <= 0)
			_exit(1);
		p += n;
		len -= (size_t)n;
	}
}

/* Fork a writer of `len` bytes into a pipe that becomes our stdin. */
static pid_t stdin_from(const void *p, size_t len, int *saved)
{
	int pfd[2];
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		write_all(pfd[1], p, len);
		_exit(0);
	}
	close(pfd[1]);
	*saved = dup(STDIN_FILENO);
	assert_true(*saved >= 0);
	assert_true(dup2(pfd[0], STDIN_FILENO) == STDIN_FILENO);
	close(pfd[0]);
	return pid;
}

static void stdin_restore(int saved, pid_t pid)
{
	int st;

	assert_true(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
	close(saved);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* 100 records of 1500 bytes: well past the first 64 KiB buffer. */
static void build_big_pcap(struct cb *b)
{
	uint32_t i;

	cb_init(b, true);
	cb_pcap_hdr(b, RS_PCAP_MAGIC_NS, 2, 4, 1500, 1);
	for (i = 0; i < 100; i++)
		cb_pcap_rec(b, 1700000000u + i, i, 1500, 1500, 1500,
			    (uint8_t)i);
}

static void check_big_pcap(struct rs_file *f)
{
	struct got g;
	int i;

	read_all(f, &g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 100);
	for (i = 0; i < 100; i++) {
		assert_int_equal(g.fr[i].offset, 24 + (size_t)i * 1516);
		assert_true(g.fr[i].ts_ns ==
			    (1700000000ull + (unsigned)i) * 1000000000ull +
			    (unsigned)i);
		assert_true(pattern_ok(g.fr[i].data, 1500, (uint8_t)i));
	}
}

static void t_stdin_pcap(void **state)
{
	struct rs_file *f;
	struct cb b;
	int saved;
	pid_t pid;

	(void)state;
	build_big_pcap(&b);
	pid = stdin_from(b.p, b.len, &saved);
	f = open_ok("-");
	assert_int_equal(rs_file_format(f), RS_FMT_PCAP);
	assert_null(f->map);    /* a pipe is read into our buffer */
	assert_non_null(f->buf);
	check_big_pcap(f);
	rs_file_close(f);
	stdin_restore(saved, pid);
	cb_free(&b);
}

/* Stdin redirected from a regular file is mapped, not copied. */
static void t_stdin_regular_file(void **state)
{
	struct rs_file *f;
	struct cb b;
	char *path;
	int saved, fd;

	(void)state;
	build_big_pcap(&b);
	path = cb_write_tmp(b.p, b.len, "stdin");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	saved = dup(STDIN_FILENO);
	assert_true(dup2(fd, STDIN_FILENO) == STDIN_FILENO);
	close(fd);
	f = open_ok("-");
	assert_non_null(f->map);
	assert_null(f->buf);
	check_big_pcap(f);
	rs_file_close(f);
	/* Our descriptor was a duplicate: stdin itself is still open. */
	assert_int_equal(fcntl(STDIN_FILENO, F_GETFD), 0);
	assert_true(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
	close(saved);
	tmp_remove(path);
	cb_free(&b);
}

static void t_stdin_pcapng_damaged(void **state)
{
	char err[RS_CAPTURE_ERRLEN];
	struct rs_file *f;
	size_t off;
	struct got g;
	struct cb b;
	int saved;
	pid_t pid;

	(void)state;
	cb_init(&b, false);
	cb_ng_shb(&b, 1);
	cb_ng_idb(&b, 1, 0, 9, 0);
	cb_ng_epb(&b, 0, 1, 10, 10, 10, 1);
	off = cb_ng_epb(&b, 0, 2, 10, 10, 10, 2);
	pid = stdin_from(b.p, b.len - 8, &saved);
	f = open_ok("-");
	read_all(f, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rc, -EINVAL);
	snprintf(err, sizeof(err), "<stdin>: offset %zu: ", off);
	assert_has(rs_file_error(f), err);
	assert_has(rs_file_error(f), "runs past end of file");
	rs_file_close(f);
	stdin_restore(saved, pid);
	cb_free(&b);
}

static void t_stdin_empty(void **state)
{
	char err[RS_CAPTURE_ERRLEN];
	struct rs_file *f = NULL;
	int saved;
	pid_t pid;

	(void)state;
	pid = stdin_from("", 0, &saved);
	assert_int_equal(rs_file_open(&f, "-", err, sizeof(err)), -EINVAL);
	assert_null(f);
	assert_string_equal(err, "<stdin>: offset 0: empty file");
	stdin_restore(saved, pid);
}

static void t_fifo(void **state)
{
	char *dir, *path;
	struct rs_file *f;
	struct cb b;
	pid_t pid;
	int st, fd;

	(void)state;
	build_big_pcap(&b);
	dir = cb_tmpdir("fifo");
	assert_true(asprintf(&path, "%s/p", dir) > 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(path, O_WRONLY);
		if (fd < 0)
			_exit(1);
		write_all(fd, b.p, b.len);
		_exit(0);
	}
	f = open_ok(path);
	check_big_pcap(f);
	rs_file_close(f);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
	free(path);
	rmdir(dir);
	free(dir);
	cb_free(&b);
}

/* A stream is parsed as it arrives.  The writer sends the header and two
 * records, then half of a third, and waits until we say we saw -EAGAIN
 * (so no sleeps decide the outcome); then the rest. */
static void t_stream_incremental(void **state)
{
	int data[2], go[2], saved, again = 0, rc;
	struct rs_frame fr;
	struct rs_file *f;
	size_t cut;
	struct cb b;
	pid_t pid;
	char c = 'g';

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 4, 65535, 1);
	cb_pcap_rec(&b, 1, 1, 100, 100, 100, 1);
	cb_pcap_rec(&b, 2, 2, 200, 200, 200, 2);
	cut = cb_pcap_rec(&b, 3, 3, 3000, 3000, 3000, 3) + 16 + 1000;
	assert_int_equal(pipe(data), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(data[0]);
		close(go[1]);
		write_all(data[1], b.p, cut);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		write_all(data[1], b.p + cut, b.len - cut);
		_exit(0);
	}
	close(data[1]);
	close(go[0]);
	saved = dup(STDIN_FILENO);
	assert_true(dup2(data[0], STDIN_FILENO) == STDIN_FILENO);
	close(data[0]);
	f = open_ok("-");
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_true(fr.caplen == 100 && pattern_ok(fr.data, 100, 1));
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_true(fr.caplen == 200 && pattern_ok(fr.data, 200, 2));
	/* The third record is cut: not an error, only "nothing yet". */
	while ((rc = rs_file_next(f, &fr)) == -EAGAIN && ++again < 2)
		;
	assert_int_equal(rc, -EAGAIN);
	assert_string_equal(rs_file_error(f), "");
	assert_int_equal(write(go[1], &c, 1), 1);
	while ((rc = rs_file_next(f, &fr)) == -EAGAIN)
		;
	assert_int_equal(rc, 1);
	assert_true(fr.caplen == 3000 && pattern_ok(fr.data, 3000, 3));
	assert_int_equal(fr.offset, cut - 16 - 1000);
	while ((rc = rs_file_next(f, &fr)) == -EAGAIN)
		;
	assert_int_equal(rc, 0);
	rs_file_close(f);
	close(go[1]);
	stdin_restore(saved, pid);
	cb_free(&b);
}

/* A pcapng stream whose first interface comes after a pause: open waits
 * for it, so the link type (for -w and -d) is the interface's, not -1. */
static void t_stream_pcapng_linktype(void **state)
{
	struct rs_file *f;
	int data[2], saved, st;
	size_t shb_end;
	struct got g;
	struct cb b;
	pid_t pid;

	(void)state;
	cb_init(&b, false);
	cb_ng_shb(&b, 1);
	shb_end = b.len;
	cb_ng_idb(&b, 101, 65535, 9, 0);   /* LINKTYPE_RAW */
	cb_ng_epb(&b, 0, 1, 40, 40, 40, 4);
	assert_int_equal(pipe(data), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(data[0]);
		write_all(data[1], b.p, shb_end);
		usleep(200 * 1000);   /* the test holds whatever the timing */
		write_all(data[1], b.p + shb_end, b.len - shb_end);
		_exit(0);
	}
	close(data[1]);
	saved = dup(STDIN_FILENO);
	assert_true(dup2(data[0], STDIN_FILENO) == STDIN_FILENO);
	close(data[0]);
	f = open_ok("-");
	assert_int_equal(rs_file_linktype(f), 101);
	assert_int_equal(rs_file_snaplen(f), 65535);
	read_all(f, &g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.fr[0].linktype, 101);
	rs_file_close(f);
	assert_true(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
	close(saved);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cb_free(&b);
}

/* 48 MiB through a pipe: every frame right when returned, and the pages
 * behind the reader given back (memory does not grow with the stream). */
static void t_stream_bounded(void **state)
{
	enum { N = 24000, LEN = 2000 };
	struct rs_frame fr;
	struct rs_file *f;
	int saved, n = 0, rc;
	struct cb b;
	pid_t pid;

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 4, 65535, 1);
	for (uint32_t i = 0; i < N; i++)
		cb_pcap_rec(&b, i, 0, LEN, LEN, LEN, (uint8_t)i);
	pid = stdin_from(b.p, b.len, &saved);
	f = open_ok("-");
	while ((rc = rs_file_next(f, &fr)) == 1 || rc == -EAGAIN) {
		if (rc != 1)
			continue;
		assert_true(fr.caplen == LEN &&
			    pattern_ok(fr.data, LEN, (uint8_t)n));
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, N);
	/* All but the last DROP_BEHIND + DROP_KEEP (9 MiB) given back. */
	assert_true(f->dropped + (10u << 20) >= b.len);
	rs_file_close(f);
	stdin_restore(saved, pid);
	cb_free(&b);
}

/* Resident KiB of the mapping that starts at `addr` (/proc/self/smaps). */
static long map_rss_kib(const void *addr)
{
	char line[256], want[32];
	long kib = -1;
	bool in = false;
	FILE *sm = fopen("/proc/self/smaps", "r");

	if (!sm)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)addr);
	while (fgets(line, sizeof(line), sm)) {
		if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' '))
			in = strncmp(line, want, strlen(want)) == 0;
		else if (in && sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	}
	fclose(sm);
	return kib;
}

/* The file mapping's page tables are made ahead of the reader, by
 * populate_ahead's madvise, not a fault every 64 KiB: after the first
 * record, the whole first MiB is mapped; when the reader passes half of
 * it, the next MiB.  Frames read and counted as ever. */
static void t_populate_ahead(void **state)
{
	enum { N = 2600, LEN = 1500 };     /* ~3.9 MiB */
	struct rs_frame fr;
	struct rs_file *f;
	struct cb b;
	char *path;
	int n = 0;

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 4, 65535, 1);
	for (uint32_t i = 0; i < N; i++)
		cb_pcap_rec(&b, i, 0, LEN, LEN, LEN, (uint8_t)i);
	path = cb_write_tmp(b.p, b.len, "pop");
	f = open_ok(path);
	assert_int_equal(rs_file_next(f, &fr), 1);
	if (f->no_populate) {
		rs_file_close(f);
		tmp_remove(path);
		cb_free(&b);
		skip();         /* kernel before 5.14: faults only */
	}
	assert_int_equal(f->mapped, 1u << 20);
	long kib = map_rss_kib(f->map);
	if (kib < 0)
		fail_msg("no smaps entry for the mapping");
	assert_true(kib >= 1024);
	/* Half of the first MiB read: the second MiB is mapped too. */
	while (f->pos < (1u << 19))
		assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(f->mapped, 2u << 20);
	n = (int)(fr.ts_ns / 1000000000u) + 1;
	while (rs_file_next(f, &fr) == 1) {
		assert_true(fr.caplen == LEN && pattern_ok(fr.data, LEN, (uint8_t)n));
		n++;
	}
	assert_int_equal(n, N);
	assert_int_equal(f->mapped, b.len);
	assert_string_equal(rs_file_error(f), "");
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

/* ---- growing files (groundwork for --watch) ------------------------------ */

static void t_remap_growing(void **state)
{
	struct rs_frame fr, first;
	struct rs_file *f;
	struct cb b;
	size_t cut;
	char *path;

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 4, 65535, 1);
	cb_pcap_rec(&b, 1, 1, 100, 100, 100, 1);
	cut = cb_pcap_rec(&b, 2, 2, 5000, 5000, 5000, 2) + 16 + 100;
	cb_pcap_rec(&b, 3, 3, 9000, 9000, 9000, 3);
	path = cb_write_tmp(b.p, cut, "grow");
	f = open_ok(path);
	assert_int_equal(rs_file_next(f, &first), 1);
	assert_int_equal(rs_file_next(f, &fr), -EINVAL);
	assert_has(rs_file_error(f), "record data truncated");
	assert_int_equal(rs_file_remap(f), 0);  /* nothing new yet */
	assert_int_equal(rs_file_next(f, &fr), -EINVAL);

	cb_append_file(path, b.p + cut, b.len - cut);
	assert_int_equal(rs_file_remap(f), 1);
	assert_string_equal(rs_file_error(f), "");
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(fr.caplen, 5000);
	assert_true(pattern_ok(fr.data, 5000, 2));
	assert_int_equal(rs_file_next(f, &fr), 1);
	assert_int_equal(fr.caplen, 9000);
	assert_true(pattern_ok(fr.data, 9000, 3));
	assert_int_equal(rs_file_next(f, &fr), 0);
	/* The first frame still points at valid bytes. */
	assert_true(pattern_ok(first.data, 100, 1));
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);
}

/* Damage that is not about the end of the data stays after a remap. */
static void t_remap_keeps_damage(void **state)
{
	struct rs_frame fr;
	struct rs_file *f;
	struct cb b;
	char *path;

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 4, 100, 1);
	cb_pcap_rec(&b, 1, 1, 200, 200, 200, 1);
	path = cb_write_tmp(b.p, b.len, "dmg");
	f = open_ok(path);
	assert_int_equal(rs_file_next(f, &fr), -EINVAL);
	cb_append_file(path, b.p, 64);
	assert_int_equal(rs_file_remap(f), 1);
	assert_int_equal(rs_file_next(f, &fr), -EINVAL);
	assert_has(rs_file_error(f), "exceeds snapshot length 100");
	rs_file_close(f);
	tmp_remove(path);
	cb_free(&b);

	assert_int_equal(rs_file_open_mem(&f, "mem", lit_pcap_be_us,
					  sizeof(lit_pcap_be_us), NULL, 0), 0);
	assert_int_equal(rs_file_remap(f), -EOPNOTSUPP);
	rs_file_close(f);
}

/* rs_file_next() has a fast path for native-order pcap from 2.4 on; the
 * same records as 2.3 (lengths in order) and big-endian go the general
 * way.  All three must give the same frames and, at a bad record the fast
 * path declines, the same error; then the error stays. */
static void t_pcap_fast_path(void **state)
{
	static const uint32_t caps[] = { 0, 1, 15, 16, 60, 299, 300 };
	/* the last record: what ends each file */
	static const struct { uint32_t snap, cap; size_t ndata; int rc;
			      const char *what; } ends[] = {
		{ 300, 0, 0, 0, NULL },
		{ 300, 301, 301, -EINVAL, "exceeds snapshot length 300" },
		{ 0, 262145, 0, -EINVAL, "record caplen 262145 exceeds 262144" },
		{ 0, 100, 99, -EINVAL, "record data truncated (caplen 100" },
		{ 300, 10, 0, -EINVAL, "truncated record header (10 of 16" },
	};
	static const struct { bool be; uint16_t minor; bool fast; } vs[] = {
		{ false, 4, true }, { false, 3, false }, { true, 4, false },
	};
	struct got g[3];
	char err[3][RS_CAPTURE_ERRLEN];
	(void)state;
	for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
		for (size_t v = 0; v < 3; v++) {
			struct rs_file *f;
			struct cb b;

			cb_init(&b, vs[v].be);
			cb_pcap_hdr(&b, RS_PCAP_MAGIC_NS, 2, vs[v].minor,
				    ends[e].snap, 1);
			for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
				cb_pcap_rec(&b, 1700000000u + (uint32_t)i, 7,
					    caps[i], 400, caps[i], (uint8_t)i);
			if (ends[e].what && ends[e].cap == 10)
				cb_fill(&b, 10, 0);     /* a cut header */
			else if (ends[e].what)
				cb_pcap_rec(&b, 1, 2, ends[e].cap, 400000,
					    ends[e].ndata, 9);
			assert_int_equal(rs_file_open_mem(&f, "mem", b.p, b.len,
							  NULL, 0), 0);
			assert_int_equal(f->fast, vs[v].fast);
			read_all(f, &g[v]);
			assert_int_equal(g[v].rc, ends[e].rc);
			assert_int_equal(g[v].n, sizeof(caps) / sizeof(caps[0]));
			snprintf(err[v], sizeof(err[v]), "%s", rs_file_error(f));
			if (ends[e].what) {
				assert_has(err[v], ends[e].what);
				assert_false(f->fast);
				/* sticky */
				assert_int_equal(rs_file_next(f, &g[v].fr[0]),
						 ends[e].rc);
				/* Cleared (as --watch does for a record cut
				 * by its window): the fast path is back. */
				rs_file_clear_err(f);
				assert_int_equal(f->fast, vs[v].fast);
			}
			for (int i = 0; i < g[v].n; i++) {
				const struct rs_frame *a = &g[v].fr[i];

				assert_true(a->data == b.p + a->offset + 16);
				assert_true(pattern_ok(a->data, a->caplen,
						       (uint8_t)i));
			}
			rs_file_close(f);
			cb_free(&b);
		}
		for (size_t v = 1; v < 3; v++) {
			assert_string_equal(err[v], err[0]);
			for (int i = 0; i < g[0].n; i++) {
				const struct rs_frame *a = &g[0].fr[i];
				const struct rs_frame *c = &g[v].fr[i];

				assert_int_equal(a->caplen, caps[i]);
				assert_int_equal(a->caplen, c->caplen);
				assert_int_equal(a->wirelen, c->wirelen);
				assert_true(a->ts_ns == c->ts_ns);
				assert_int_equal(a->linktype, c->linktype);
				assert_int_equal(a->ifindex, c->ifindex);
				assert_int_equal(a->vlan_tci, c->vlan_tci);
				assert_int_equal(a->vlan_tpid, c->vlan_tpid);
				assert_int_equal(a->vlan_valid, c->vlan_valid);
				assert_int_equal(a->pkttype, c->pkttype);
				assert_int_equal(a->offset, c->offset);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_open_args),
		cmocka_unit_test(t_open_missing),
		cmocka_unit_test(t_open_directory),
		cmocka_unit_test(t_open_unreadable),
		cmocka_unit_test(t_open_empty),
		cmocka_unit_test(t_open_bad_magic),
		cmocka_unit_test(t_open_short_pcap_header),
		cmocka_unit_test(t_open_bad_shb),
		cmocka_unit_test(t_pcap_le_us),
		cmocka_unit_test(t_pcap_le_ns),
		cmocka_unit_test(t_pcap_be_us),
		cmocka_unit_test(t_pcap_be_ns),
		cmocka_unit_test(t_pcap_literal),
		cmocka_unit_test(t_pcap_header_quirks),
		cmocka_unit_test(t_pcap_no_records),
		cmocka_unit_test(t_pcap_fast_path),
		cmocka_unit_test(t_ng_le),
		cmocka_unit_test(t_ng_be),
		cmocka_unit_test(t_ng_literal),
		cmocka_unit_test(t_ng_tsresol),
		cmocka_unit_test(t_ng_sections),
		cmocka_unit_test(t_ng_spb),
		cmocka_unit_test(t_ng_first_interface),
		cmocka_unit_test(t_stdin_pcap),
		cmocka_unit_test(t_stdin_regular_file),
		cmocka_unit_test(t_stdin_pcapng_damaged),
		cmocka_unit_test(t_stdin_empty),
		cmocka_unit_test(t_fifo),
		cmocka_unit_test(t_stream_incremental),
		cmocka_unit_test(t_stream_pcapng_linktype),
		cmocka_unit_test(t_stream_bounded),
		cmocka_unit_test(t_populate_ahead),
		cmocka_unit_test(t_remap_growing),
		cmocka_unit_test(t_remap_keeps_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
