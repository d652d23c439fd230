/* test_watch.c - rs_watch_*: opening, a file growing in small appends
 * (partial records), rotation to a new name, a name reused with truncation
 * (tcpdump -W), before and while it is read, deletion, files there at open,
 * damage, patterns, the directory going away. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capbuild.h"
#include "pcapfile_impl.h"
#include "rs_capture.h"
#include "watch_impl.h"

#define MAXF 1024

/* ---- helpers --------------------------------------------------------- */

static void assert_has(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("\"%s\" lacks \"%s\"", msg, part);
}

/* A writer like tcpdump: the file stays open while it grows. */
static int wopen(const char *d, const char *name)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", d, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	return fd;
}

static void wbytes(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void wunlink(const char *d, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", d, name);
	assert_int_equal(unlink(p), 0);
}

/* A pcap file of n records: record i has ts seconds id0 + i, caplen
 * 20 + (i * 13) % 200, data the pattern seeded by the id. */
static void mk_pcap(struct cb *b, uint32_t id0, int n)
{
	int i;

	cb_init(b, false);
	cb_pcap_hdr(b, RS_PCAP_MAGIC_US, 2, 4, 65535, 1);
	for (i = 0; i < n; i++) {
		uint32_t cap = 20 + (uint32_t)(i * 13) % 200;

		cb_pcap_rec(b, id0 + (uint32_t)i, 0, cap, cap + 10, cap,
			    (uint8_t)(id0 + (uint32_t)i));
	}
}

static void write_file(const char *d, const char *name, uint32_t id0, int n)
{
	struct cb b;
	int fd = wopen(d, name);

	mk_pcap(&b, id0, n);
	wbytes(fd, b.p, b.len);
	close(fd);
	cb_free(&b);
}

static struct rs_watch *watch_ok(const char *d, const char *pattern,
				 unsigned flags)
{
	char err[RS_CAPTURE_ERRLEN] = "x";
	struct rs_watch *w = NULL;
	int rc = rs_watch_open(&w, d, pattern, flags, err, sizeof(err));

	if (rc)
		fail_msg("rs_watch_open %s: %d %s", d, rc, err);
	assert_string_equal(err, "");
	assert_non_null(w);
	return w;
}

/* Check a frame made by mk_pcap (or the pcapng builder) and return its id. */
static uint32_t frame_id(const struct rs_frame *fr)
{
	uint32_t id = (uint32_t)(fr->ts_ns / 1000000000u);

	assert_int_equal(fr->ts_ns % 1000000000u, 0);
	assert_int_equal(fr->wirelen, fr->caplen + 10);
	if (!pattern_ok(fr->data, fr->caplen, (uint8_t)id))
		fail_msg("frame %u: data is not its own", id);
	return id;
}

/* Frames until nothing more is there (rs_watch_next returns 0 at once);
 * ids appended to ids[*n].  Returns the code that ended it. */
static int take(struct rs_watch *w, uint32_t *ids, int *n)
{
	struct rs_frame fr;
	int rc;

	while ((rc = rs_watch_next(w, &fr, 0)) == 1) {
		assert_true(*n < MAXF);
		ids[(*n)++] = frame_id(&fr);
	}
	return rc;
}

static void take_ok(struct rs_watch *w, uint32_t *ids, int *n)
{
	int rc = take(w, ids, n);

	if (rc != 0)
		fail_msg("rs_watch_next: %d %s", rc, rs_watch_error(w));
}

/* ids[from..from+count) == id0, id0 + 1, ... */
static void assert_run(const uint32_t *ids, int from, uint32_t id0, int count)
{
	int i;

	for (i = 0; i < count; i++)
		if (ids[from + i] != id0 + (uint32_t)i)
			fail_msg("frame %d: id %u, want %u", from + i,
				 ids[from + i], id0 + (uint32_t)i);
}

/* ---- control ----------------------------------------------------------- */

static void t_open_errors(void **state)
{
	char err[RS_CAPTURE_ERRLEN] = "";
	struct rs_watch *w = (struct rs_watch *)1;
	char *d = cb_tmpdir("watch"), p[512];

	(void)state;
	assert_int_equal(rs_watch_open(NULL, d, NULL, 0, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rs_watch_open(&w, NULL, NULL, 0, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rs_watch_open(&w, "/nonexistent-rs-dir", NULL, 0, err,
				       sizeof(err)), -ENOENT);
	assert_null(w);
	assert_has(err, "/nonexistent-rs-dir: cannot open directory");
	assert_has(err, strerror(ENOENT));
	write_file(d, "x.pcap", 1, 1);
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	assert_int_equal(rs_watch_open(&w, p, NULL, 0, err, sizeof(err)),
			 -ENOTDIR);
	assert_has(err, p);
	rs_watch_close(NULL);
	cb_rmdir_all(d);
}

static void t_empty_times_out(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, NULL, 0);
	struct rs_watch_stats st;
	struct timespec t0, t1;
	struct rs_frame fr;
	long ms;

	(void)state;
	assert_int_equal(rs_watch_next(w, &fr, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rs_watch_next(w, &fr, 60), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 50 && ms < 5000);
	assert_null(rs_watch_current(w));
	assert_string_equal(rs_watch_error(w), "");
	rs_watch_stats(w, &st);
	assert_int_equal(st.files + st.packets + st.bad_files, 0);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* ---- growth ------------------------------------------------------------ */

/* Feed `b` to a file `step` bytes at a time; after each write exactly the
 * records that are whole by then have come out, no more, no less. */
static void grow(const struct cb *b, const size_t *ends, int nrec,
		 size_t step, bool ng)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, NULL, 0);
	int fd = wopen(d, ng ? "x.pcapng" : "x.pcap");
	struct rs_watch_stats st;
	struct rs_frame fr;
	size_t at = 0, n;
	int got = 0, whole, rc;

	while (at < b->len) {
		n = b->len - at < step ? b->len - at : step;
		wbytes(fd, b->p + at, n);
		at += n;
		for (whole = 0; whole < nrec && ends[whole] <= at; whole++)
			;
		while ((rc = rs_watch_next(w, &fr, 0)) == 1) {
			assert_int_equal(frame_id(&fr), 100 + got);
			got++;
		}
		if (rc != 0)
			fail_msg("at %zu: %d %s", at, rc, rs_watch_error(w));
		assert_int_equal(got, whole);
	}
	assert_int_equal(got, nrec);
	assert_string_equal(rs_watch_current(w), ng ? "x.pcapng" : "x.pcap");
	close(fd);
	assert_int_equal(rs_watch_next(w, &fr, 0), 0);
	rs_watch_stats(w, &st);
	assert_int_equal(st.packets, nrec);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.files_done, 0);     /* the last file stays open */
	assert_int_equal(st.bad_files, 0);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

static void t_grow_pcap(void **state)
{
	static const size_t steps[] = { 1, 7, 16, 17, 100, 4096 };
	size_t ends[40], i;
	struct cb b;
	int k;

	(void)state;
	cb_init(&b, false);
	cb_pcap_hdr(&b, RS_PCAP_MAGIC_US, 2, 4, 65535, 1);
	for (k = 0; k < 40; k++) {
		uint32_t cap = 20 + (uint32_t)(k * 13) % 200;

		cb_pcap_rec(&b, 100 + (uint32_t)k, 0, cap, cap + 10, cap,
			    (uint8_t)(100 + k));
		ends[k] = b.len;
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		grow(&b, ends, 40, steps[i], false);
	cb_free(&b);
}

static void t_grow_pcapng(void **state)
{
	static const size_t steps[] = { 1, 5, 64, 1000 };
	size_t ends[20], i;
	struct cb b;
	int k, be;

	(void)state;
	for (be = 0; be < 2; be++) {
		cb_init(&b, be);
		cb_ng_shb(&b, 1);
		cb_ng_idb(&b, 1, 65535, -1, 0);
		for (k = 0; k < 20; k++) {
			uint32_t cap = 20 + (uint32_t)(k * 29) % 300;

			cb_ng_epb(&b, 0, (100u + (uint64_t)k) * 1000000u, cap,
				  cap + 10, cap, (uint8_t)(100 + k));
			ends[k] = b.len;
		}
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			grow(&b, ends, 20, steps[i], true);
		cb_free(&b);
	}
}

/* ---- rotation ------------------------------------------------------------ */

/* A new file appearing does not end the current one while its writer still
 * has it open; closing it does, and the new file follows. */
static void t_rotation(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct rs_watch_stats st;
	struct cb a, b;
	int fa, fb, n = 0;
	size_t half;

	(void)state;
	mk_pcap(&a, 0, 6);
	mk_pcap(&b, 100, 4);
	half = a.len / 2;
	fa = wopen(d, "x.pcap0");
	wbytes(fa, a.p, half);
	take_ok(w, ids, &n);
	fb = wopen(d, "x.pcap1");
	wbytes(fb, b.p, b.len);
	close(fb);
	take_ok(w, ids, &n);
	assert_string_equal(rs_watch_current(w), "x.pcap0");
	wbytes(fa, a.p + half, a.len - half);
	take_ok(w, ids, &n);
	assert_int_equal(n, 6);
	close(fa);
	take_ok(w, ids, &n);
	assert_int_equal(n, 10);
	assert_run(ids, 0, 0, 6);
	assert_run(ids, 6, 100, 4);
	assert_string_equal(rs_watch_current(w), "x.pcap1");
	rs_watch_stats(w, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.files_done, 1);
	cb_free(&a);
	cb_free(&b);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* tcpdump -C -W 2 with the reader keeping up: x.pcap0, x.pcap1, then
 * x.pcap0 truncated and rewritten, then x.pcap1: four files, each once. */
static void t_reuse_keeping_up(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, "x.pcap*", 0);
	uint32_t ids[MAXF];
	struct rs_watch_stats st;
	int n = 0;

	(void)state;
	write_file(d, "x.pcap0", 0, 3);
	take_ok(w, ids, &n);
	write_file(d, "x.pcap1", 100, 2);
	take_ok(w, ids, &n);
	write_file(d, "x.pcap0", 200, 4);
	take_ok(w, ids, &n);
	write_file(d, "x.pcap1", 300, 1);
	take_ok(w, ids, &n);
	assert_int_equal(n, 10);
	assert_run(ids, 0, 0, 3);
	assert_run(ids, 3, 100, 2);
	assert_run(ids, 5, 200, 4);
	assert_run(ids, 9, 300, 1);
	rs_watch_stats(w, &st);
	assert_int_equal(st.files, 4);
	assert_int_equal(st.files_done, 3);
	assert_int_equal(st.overwritten, 0);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* The same, but the reader looks only when all is written: the first
 * x.pcap0 and x.pcap1 are gone (rewritten in place), so they are counted
 * as overwritten and never parsed as the new contents twice. */
static void t_reuse_behind(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct rs_watch_stats st;
	int n = 0;

	(void)state;
	write_file(d, "x.pcap0", 0, 3);
	write_file(d, "x.pcap1", 100, 2);
	write_file(d, "x.pcap0", 200, 4);
	write_file(d, "x.pcap1", 300, 1);
	take_ok(w, ids, &n);
	assert_int_equal(n, 5);
	assert_run(ids, 0, 200, 4);
	assert_run(ids, 4, 300, 1);
	rs_watch_stats(w, &st);
	assert_int_equal(st.overwritten, 2);
	assert_int_equal(st.packets, 5);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* The name is reused while the reader is inside the file (its window holds
 * only part of it): what it read before stays, nothing after is taken from
 * the new contents, and the new contents come later as their own file. */
static void t_reuse_while_reading(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct rs_watch_stats st;
	int n = 0, i, gen1;

	(void)state;
	w->wcap = 4096;
	write_file(d, "x.pcap0", 0, 100);       /* ~12 KiB */
	write_file(d, "x.pcap1", 500, 2);
	{
		struct rs_frame fr;

		for (i = 0; i < 5; i++) {
			assert_int_equal(rs_watch_next(w, &fr, 0), 1);
			ids[n++] = frame_id(&fr);
		}
	}
	write_file(d, "x.pcap0", 1000, 50);
	take_ok(w, ids, &n);
	for (gen1 = 0; gen1 < n && ids[gen1] < 100; gen1++)
		;
	assert_true(gen1 >= 5 && gen1 < 100);
	assert_run(ids, 0, 0, gen1);
	assert_int_equal(n, gen1 + 2 + 50);
	assert_run(ids, gen1, 500, 2);
	assert_run(ids, gen1 + 2, 1000, 50);
	rs_watch_stats(w, &st);
	assert_int_equal(st.overwritten, 1);
	assert_int_equal(st.bad_files, 0);
	assert_has(rs_watch_error(w), "x.pcap0: offset ");
	assert_has(rs_watch_error(w), "name reused");
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* ---- deletion -------------------------------------------------------------- */

/* Files are opened when the reader learns of them (whenever it needs more
 * bytes, at least once per window): deleting them later, even while the
 * reader is inside one, takes nothing away. */
static void t_deleted(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct rs_watch_stats st;
	struct rs_frame fr;
	struct cb a;
	int fa, n = 0;

	(void)state;
	w->wcap = 4096;         /* x.pcap0 spans several windows */
	mk_pcap(&a, 0, 100);
	fa = wopen(d, "x.pcap0");
	wbytes(fa, a.p, a.len);
	assert_int_equal(rs_watch_next(w, &fr, 0), 1);
	ids[n++] = frame_id(&fr);
	write_file(d, "x.pcap1", 500, 2);
	while (n < 60) {        /* past a window: x.pcap1 is open now */
		assert_int_equal(rs_watch_next(w, &fr, 0), 1);
		ids[n++] = frame_id(&fr);
	}
	close(fa);
	wunlink(d, "x.pcap0");
	wunlink(d, "x.pcap1");
	/* Made and deleted before the reader heard of it: lost. */
	write_file(d, "x.pcap2", 200, 2);
	wunlink(d, "x.pcap2");
	take_ok(w, ids, &n);
	assert_int_equal(n, 102);
	assert_run(ids, 0, 0, 100);
	assert_run(ids, 100, 500, 2);
	rs_watch_stats(w, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.lost_files, 1);
	cb_free(&a);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* ---- files there at open ------------------------------------------------------ */

static void set_mtime(const char *d, const char *name, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", d, name);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void t_existing(void **state)
{
	char *d = cb_tmpdir("watch");
	uint32_t ids[MAXF];
	struct rs_watch *w;
	int n = 0;

	(void)state;
	write_file(d, "a.pcap", 300, 2);
	write_file(d, "b.pcap", 100, 2);
	write_file(d, "c.pcap", 200, 2);
	write_file(d, ".hidden.pcap", 900, 2);
	set_mtime(d, "a.pcap", 1700000300);
	set_mtime(d, "b.pcap", 1700000100);
	set_mtime(d, "c.pcap", 1700000200);
	w = watch_ok(d, NULL, 0);
	take_ok(w, ids, &n);
	assert_int_equal(n, 6);
	assert_run(ids, 0, 100, 2);
	assert_run(ids, 2, 200, 2);
	assert_run(ids, 4, 300, 2);
	rs_watch_close(w);

	/* RS_WATCH_NEW_ONLY: only what is written afterwards. */
	w = watch_ok(d, NULL, RS_WATCH_NEW_ONLY);
	n = 0;
	take_ok(w, ids, &n);
	assert_int_equal(n, 0);
	write_file(d, "d.pcap", 400, 3);
	take_ok(w, ids, &n);
	assert_int_equal(n, 3);
	assert_run(ids, 0, 400, 3);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* ---- damage and patterns ------------------------------------------------------ */

static void t_damaged(void **state)
{
	char *d = cb_tmpdir("watch"), want[600];
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct rs_watch_stats st;
	struct cb a;
	int fd, n = 0;

	(void)state;
	/* Not a capture file at all. */
	fd = wopen(d, "notes.txt");
	wbytes(fd, "just some notes\n", 16);
	close(fd);
	write_file(d, "x.pcap0", 0, 2);
	assert_int_equal(take(w, ids, &n), -EINVAL);
	snprintf(want, sizeof(want), "%s/notes.txt: offset 0: unknown file "
		 "format", d);
	assert_has(rs_watch_error(w), want);
	take_ok(w, ids, &n);
	assert_int_equal(n, 2);

	/* A closed file that ends inside a record, then a newer one. */
	mk_pcap(&a, 100, 3);
	fd = wopen(d, "x.pcap1");
	wbytes(fd, a.p, a.len - 5);
	close(fd);
	write_file(d, "x.pcap2", 200, 1);
	assert_int_equal(take(w, ids, &n), -EINVAL);
	assert_int_equal(n, 4);
	snprintf(want, sizeof(want), "%s/x.pcap1: offset %zu: file ends inside "
		 "a record", d, a.len - (16 + 20 + 26));
	assert_has(rs_watch_error(w), want);
	take_ok(w, ids, &n);
	assert_int_equal(n, 5);
	assert_run(ids, 0, 0, 2);
	assert_run(ids, 2, 100, 2);
	assert_run(ids, 4, 200, 1);
	rs_watch_stats(w, &st);
	assert_int_equal(st.bad_files, 2);
	assert_int_equal(st.files, 4);
	cb_free(&a);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

static void t_bad_record_offset(void **state)
{
	char *d = cb_tmpdir("watch"), want[600];
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct cb a;
	size_t at;
	int fd, n = 0;

	(void)state;
	w->wcap = 4096;         /* the damage lies past the first window */
	mk_pcap(&a, 0, 60);
	at = cb_pcap_rec(&a, 60, 0, 1000000, 1000000, 0, 0);
	fd = wopen(d, "x.pcap");
	wbytes(fd, a.p, a.len);
	assert_int_equal(take(w, ids, &n), -EINVAL);
	assert_int_equal(n, 60);
	snprintf(want, sizeof(want), "%s/x.pcap: offset %zu: record caplen "
		 "1000000 exceeds", d, at);
	assert_has(rs_watch_error(w), want);
	close(fd);
	cb_free(&a);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

static void t_pattern(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, "x.pcap[0-9]", 0);
	uint32_t ids[MAXF];
	int n = 0;

	(void)state;
	write_file(d, "y.pcap0", 100, 2);
	write_file(d, "x.pcap0", 200, 2);
	write_file(d, "x.pcap10", 300, 2);
	write_file(d, "x.pcap1", 400, 2);
	take_ok(w, ids, &n);
	assert_int_equal(n, 4);
	assert_run(ids, 0, 200, 2);
	assert_run(ids, 2, 400, 2);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* A file renamed inside the directory is the same file, not a new one. */
static void t_rename(void **state)
{
	char *d = cb_tmpdir("watch"), a[512], b[512];
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct rs_watch_stats st;
	int n = 0;

	(void)state;
	write_file(d, "x.tmp", 0, 3);
	take_ok(w, ids, &n);
	snprintf(a, sizeof(a), "%s/x.tmp", d);
	snprintf(b, sizeof(b), "%s/x.pcap", d);
	assert_int_equal(rename(a, b), 0);
	write_file(d, "y.pcap", 100, 1);
	take_ok(w, ids, &n);
	assert_int_equal(n, 4);
	assert_run(ids, 0, 0, 3);
	assert_run(ids, 3, 100, 1);
	rs_watch_stats(w, &st);
	assert_int_equal(st.files, 2);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

/* Events lost (as after IN_Q_OVERFLOW): the rescan finds the files made
 * meanwhile, in order, and does not read a finished file again. */
static void t_overflow_rescan(void **state)
{
	char *d = cb_tmpdir("watch"), ev[8192];
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	int n = 0;

	(void)state;
	write_file(d, "x.pcap0", 0, 3);
	take_ok(w, ids, &n);
	write_file(d, "x.pcap1", 100, 2);
	take_ok(w, ids, &n);            /* x.pcap0 done, x.pcap1 read */
	write_file(d, "x.pcap2", 200, 2);
	write_file(d, "x.pcap3", 300, 1);
	set_mtime(d, "x.pcap2", 1700000200);
	set_mtime(d, "x.pcap3", 1700000300);
	while (read(w->ifd, ev, sizeof(ev)) > 0)
		;                       /* the events are lost */
	assert_int_equal(watch_scan(w, false), 0);
	take_ok(w, ids, &n);
	assert_int_equal(watch_scan(w, false), 0);
	take_ok(w, ids, &n);
	assert_int_equal(n, 8);
	assert_run(ids, 0, 0, 3);
	assert_run(ids, 3, 100, 2);
	assert_run(ids, 5, 200, 2);
	assert_run(ids, 7, 300, 1);
	rs_watch_close(w);
	cb_rmdir_all(d);
}

static void t_dir_deleted(void **state)
{
	char *d = cb_tmpdir("watch");
	struct rs_watch *w = watch_ok(d, NULL, 0);
	uint32_t ids[MAXF];
	struct rs_frame fr;
	int n = 0;

	(void)state;
	write_file(d, "x.pcap0", 0, 2);
	assert_int_equal(rs_watch_next(w, &fr, 0), 1);
	write_file(d, "x.pcap1", 100, 2);
	assert_int_equal(rs_watch_next(w, &fr, 0), 1);
	assert_int_equal(rs_watch_next(w, &fr, 0), 1);  /* x.pcap1's first */
	assert_int_equal(frame_id(&fr), 100);
	wunlink(d, "x.pcap0");
	wunlink(d, "x.pcap1");
	assert_int_equal(rmdir(d), 0);
	/* What was opened is still read, then the end. */
	assert_int_equal(take(w, ids, &n), -ENOENT);
	assert_int_equal(n, 1);
	assert_run(ids, 0, 101, 1);
	assert_has(rs_watch_error(w), "directory deleted");
	assert_int_equal(rs_watch_next(w, &fr, 0), -ENOENT);
	rs_watch_close(w);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_open_errors),
		cmocka_unit_test(t_empty_times_out),
		cmocka_unit_test(t_grow_pcap),
		cmocka_unit_test(t_grow_pcapng),
		cmocka_unit_test(t_rotation),
		cmocka_unit_test(t_reuse_keeping_up),
		cmocka_unit_test(t_reuse_behind),
		cmocka_unit_test(t_reuse_while_reading),
		cmocka_unit_test(t_deleted),
		cmocka_unit_test(t_existing),
		cmocka_unit_test(t_damaged),
		cmocka_unit_test(t_bad_record_offset),
		cmocka_unit_test(t_pattern),
		cmocka_unit_test(t_rename),
		cmocka_unit_test(t_overflow_rescan),
		cmocka_unit_test(t_dir_deleted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
