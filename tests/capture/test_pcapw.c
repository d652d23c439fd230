/* test_pcapw.c - rs_pcapw_*: configuration and open errors, records read
 * back through rs_file_*, snaplen and VLAN tags, tcpdump's rotation and
 * names, drops on a full queue, several producers, write errors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capbuild.h"
#include "pcapwriter_impl.h"
#include "rs_capture.h"

#define LT_EN10MB 1

/* ---- helpers --------------------------------------------------------- */

/* Names in d, sorted, joined by spaces. */
static void list_dir(const char *d, char *out, size_t len)
{
	struct dirent **v;
	int n, i;
	size_t at = 0;

	n = scandir(d, &v, NULL, alphasort);
	assert_true(n >= 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (v[i]->d_name[0] != '.')
			at += (size_t)snprintf(out + at, len - at, "%s%s",
					       at ? " " : "", v[i]->d_name);
		free(v[i]);
	}
	free(v);
}

static void assert_has(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("\"%s\" lacks \"%s\"", msg, part);
}

/* A frame whose data starts with (producer, seq) and then a pattern. */
struct fbuf {
	uint8_t data[2048];
	struct rs_frame fr;
};

static void mkframe(struct fbuf *b, uint32_t producer, uint32_t seq,
		    uint32_t caplen, uint64_t ts_ns)
{
	uint32_t i;

	assert_true(caplen <= sizeof(b->data) && caplen >= 8);
	memcpy(b->data, &producer, 4);
	memcpy(b->data + 4, &seq, 4);
	for (i = 8; i < caplen; i++)
		b->data[i] = (uint8_t)(seq + i);
	b->fr = (struct rs_frame){ .data = b->data, .caplen = caplen,
				   .wirelen = caplen + 4, .ts_ns = ts_ns,
				   .linktype = LT_EN10MB };
}

static struct rs_pcapw *open_ok(const struct rs_pcapw_config *cfg,
				unsigned np)
{
	char err[RS_CAPTURE_ERRLEN] = "x";
	struct rs_pcapw *w = NULL;
	int rc = rs_pcapw_open(&w, cfg, np, err, sizeof(err));

	if (rc)
		fail_msg("rs_pcapw_open: %d %s", rc, err);
	assert_string_equal(err, "");
	assert_non_null(w);
	return w;
}

static void close_ok(struct rs_pcapw *w, struct rs_pcapw_stats *st)
{
	char err[RS_CAPTURE_ERRLEN] = "x";
	int rc = rs_pcapw_close(w, st, err, sizeof(err));

	if (rc)
		fail_msg("rs_pcapw_close: %d %s", rc, err);
	assert_string_equal(err, "");
}

/* Read `path` back: the frames' (producer, seq) into ids (if not NULL),
 * their count returned.  The file must end cleanly. */
static int read_back(const char *path, uint64_t *ids, int max)
{
	char err[RS_CAPTURE_ERRLEN];
	struct rs_file *f;
	struct rs_frame fr;
	uint32_t p, s;
	int n = 0, rc;

	rc = rs_file_open(&f, path, err, sizeof(err));
	if (rc)
		fail_msg("read back %s: %s", path, err);
	while ((rc = rs_file_next(f, &fr)) == 1) {
		assert_true(n < max);
		assert_true(fr.caplen >= 8);
		memcpy(&p, fr.data, 4);
		memcpy(&s, fr.data + 4, 4);
		if (ids)
			ids[n] = (uint64_t)p << 32 | s;
		n++;
	}
	if (rc)
		fail_msg("read back %s: %s", path, rs_file_error(f));
	rs_file_close(f);
	return n;
}

static void wait_written(struct rs_pcapw *w, uint64_t packets)
{
	struct rs_pcapw_stats st;
	struct timespec nap = { 0, 1000000 };
	int i;

	for (i = 0; i < 5000; i++) {
		rs_pcapw_stats(w, &st);
		if (st.packets + st.lost >= packets)
			return;
		nanosleep(&nap, NULL);
	}
	fail_msg("writer did not write %llu packets in 5 s",
		 (unsigned long long)packets);
}

/* ---- control ----------------------------------------------------------- */

static void bad_config(const struct rs_pcapw_config *cfg, unsigned np,
		       const char *why)
{
	char err[RS_CAPTURE_ERRLEN] = "";
	struct rs_pcapw *w = (struct rs_pcapw *)1;

	assert_int_equal(rs_pcapw_open(&w, cfg, np, err, sizeof(err)),
			 -EINVAL);
	assert_null(w);
	assert_has(err, why);
}

static void t_config(void **state)
{
	struct rs_pcapw_config c = { .path = "/tmp/x.pcap", .linktype = 1 };

	(void)state;
	assert_int_equal(rs_pcapw_open(NULL, &c, 1, NULL, 0), -EINVAL);
	bad_config(NULL, 1, "no file name");
	c.path = "";
	bad_config(&c, 1, "no file name");
	c.path = "/tmp/x.pcap";
	bad_config(&c, 0, "no producers");
	c.max_files = 3;
	bad_config(&c, 1, "-W) needs a file size (-C)");
	c.max_files = 0;
	c.queue_bytes = (size_t)1 << 31;
	bad_config(&c, 1, "queue larger");
	c.queue_bytes = 0;
	c.linktype = -1;
	bad_config(&c, 1, "no link type");
	assert_int_equal(rs_pcapw_close(NULL, NULL, NULL, 0), 0);
}

static void open_fails(const char *path, int want)
{
	struct rs_pcapw_config c = { .path = path, .linktype = 1 };
	char err[RS_CAPTURE_ERRLEN] = "";
	struct rs_pcapw *w = (struct rs_pcapw *)1;

	assert_int_equal(rs_pcapw_open(&w, &c, 1, err, sizeof(err)), want);
	assert_null(w);
	assert_has(err, path);
	assert_has(err, strerror(-want));
}

static void t_open_errors(void **state)
{
	char *d = cb_tmpdir("pcapw"), p[256];

	(void)state;
	open_fails("/nonexistent-rs-dir/x.pcap", -ENOENT);
	open_fails(d, -EISDIR);
	/* The file header cannot be written: the disk is "full". */
	if (access("/dev/full", W_OK) == 0)
		open_fails("/dev/full", -ENOSPC);
	if (geteuid() != 0) {
		snprintf(p, sizeof(p), "%s/ro", d);
		assert_int_equal(mkdir(p, 0500), 0);
		snprintf(p, sizeof(p), "%s/ro/x.pcap", d);
		open_fails(p, -EACCES);
	}
	assert_int_equal(cb_rmdir_all(d), 0);
}

static void t_write_refusals(void **state)
{
	char *d = cb_tmpdir("pcapw"), p[256];
	struct rs_pcapw_config c = { .path = p, .linktype = LT_EN10MB };
	struct rs_pcapw_stats st;
	struct rs_pcapw *w;
	struct fbuf b;

	(void)state;
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	w = open_ok(&c, 2);
	mkframe(&b, 0, 0, 64, 0);
	assert_int_equal(rs_pcapw_write(w, 2, &b.fr), -EINVAL);
	b.fr.linktype = 113;    /* SLL into an Ethernet file */
	assert_int_equal(rs_pcapw_write(w, 1, &b.fr), -EINVAL);
	close_ok(w, &st);
	assert_int_equal(st.mismatched, 1);
	assert_int_equal(st.packets, 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.bytes, 24);
	assert_int_equal(read_back(p, NULL, 1), 0);
	assert_int_equal(cb_rmdir_all(d), 0);
}

/* ---- data: records ------------------------------------------------------ */

struct rec_case {
	uint64_t ts_ns;
	uint32_t caplen, wirelen;
	uint32_t snaplen;         /* file's */
	bool vlan;
	uint16_t tpid, tci;
	uint32_t want_caplen, want_wirelen;
};

static const struct rec_case recs[] = {
	{ 1700000000123456789ull, 60, 60, 0, false, 0, 0, 60, 60 },
	{ 1ull, 1514, 1514, 0, false, 0, 0, 1514, 1514 },
	{ 999999999ull, 100, 9000, 0, false, 0, 0, 100, 9000 },
	{ 5000000000ull, 0, 60, 0, false, 0, 0, 0, 60 },
	/* snaplen cuts caplen, never wirelen */
	{ 7ull, 200, 200, 96, false, 0, 0, 96, 200 },
	/* a stripped tag goes back after the MACs: 4 bytes longer */
	{ 8ull, 60, 60, 0, true, 0x8100, 0x2007, 64, 64 },
	{ 9ull, 60, 60, 0, true, 0, 7, 64, 64 },          /* no tpid: 8100 */
	{ 10ull, 60, 60, 0, true, 0x88a8, 0xe00a, 64, 64 },
	/* ... and the snaplen cuts the result: inside the tag, at it, after */
	{ 11ull, 60, 60, 14, true, 0x8100, 0x0005, 14, 64 },
	{ 12ull, 60, 60, 16, true, 0x8100, 0x0005, 16, 64 },
	{ 13ull, 60, 60, 12, true, 0x8100, 0x0005, 12, 64 },
	/* too short to hold MACs: left alone */
	{ 14ull, 10, 10, 0, true, 0x8100, 0x0005, 10, 10 },
};

static void expected_bytes(const struct rec_case *c, const uint8_t *in,
			   uint8_t *out)
{
	uint16_t tpid = c->tpid ? c->tpid : 0x8100;
	uint8_t full[4096];
	uint32_t n = 0;

	if (c->vlan && c->caplen >= 12) {
		memcpy(full, in, 12);
		full[12] = (uint8_t)(tpid >> 8);
		full[13] = (uint8_t)tpid;
		full[14] = (uint8_t)(c->tci >> 8);
		full[15] = (uint8_t)c->tci;
		memcpy(full + 16, in + 12, c->caplen - 12);
		n = c->caplen + 4;
	} else {
		memcpy(full, in, c->caplen);
		n = c->caplen;
	}
	assert_true(n >= c->want_caplen);
	memcpy(out, full, c->want_caplen);
}

static void one_record(const struct rec_case *c, bool ns, const char *path)
{
	struct rs_pcapw_config cfg = { .path = path, .linktype = LT_EN10MB,
				       .snaplen = c->snaplen, .nanosecond = ns };
	char err[RS_CAPTURE_ERRLEN];
	uint8_t in[2048], want[2048];
	struct rs_pcapw_stats st;
	struct rs_pcapw *w;
	struct rs_file *f;
	struct rs_frame fr = { 0 }, got;
	uint32_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	fr = (struct rs_frame){ .data = in, .caplen = c->caplen,
				.wirelen = c->wirelen, .ts_ns = c->ts_ns,
				.linktype = LT_EN10MB, .vlan_valid = c->vlan,
				.vlan_tpid = c->tpid, .vlan_tci = c->tci };
	w = open_ok(&cfg, 1);
	assert_int_equal(rs_pcapw_write(w, 0, &fr), 0);
	close_ok(w, &st);
	assert_int_equal(st.packets, 1);
	assert_int_equal(st.bytes, 24 + 16 + c->want_caplen);

	assert_int_equal(rs_file_open(&f, path, err, sizeof(err)), 0);
	assert_int_equal(rs_file_snaplen(f), c->snaplen ? c->snaplen : 262144);
	assert_int_equal(rs_file_linktype(f), LT_EN10MB);
	assert_int_equal(rs_file_next(f, &got), 1);
	assert_int_equal(got.caplen, c->want_caplen);
	assert_int_equal(got.wirelen, c->want_wirelen);
	assert_int_equal(got.ts_ns, ns ? c->ts_ns : c->ts_ns / 1000 * 1000);
	expected_bytes(c, in, want);
	if (c->want_caplen)
		assert_memory_equal(got.data, want, c->want_caplen);
	assert_int_equal(rs_file_next(f, &got), 0);
	rs_file_close(f);
}

static void t_records(void **state)
{
	char *d = cb_tmpdir("pcapw"), p[256];
	size_t i;

	(void)state;
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		one_record(&recs[i], false, p);
		one_record(&recs[i], true, p);
	}
	assert_int_equal(cb_rmdir_all(d), 0);
}

/* Many frames, one producer: all there, in order. */
static void t_many_in_order(void **state)
{
	enum { N = 20000 };
	char *d = cb_tmpdir("pcapw"), p[256];
	struct rs_pcapw_config c = { .path = p, .linktype = LT_EN10MB,
				     .queue_bytes = 64 << 10 };
	static uint64_t ids[N];
	struct rs_pcapw_stats st;
	struct timespec nap = { 0, 100000 };
	struct rs_pcapw *w;
	struct fbuf b;
	uint64_t bytes = 24;
	uint32_t i;

	(void)state;
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	w = open_ok(&c, 1);
	for (i = 0; i < N; i++) {
		mkframe(&b, 0, i, 8 + i % 1500, i * 1000ull);
		while (rs_pcapw_write(w, 0, &b.fr) == -ENOBUFS)
			nanosleep(&nap, NULL);
		bytes += 16 + 8 + i % 1500;
	}
	close_ok(w, &st);
	assert_int_equal(st.packets, N);
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(st.lost, 0);
	assert_int_equal(read_back(p, ids, N), N);
	for (i = 0; i < N; i++)
		assert_int_equal(ids[i], i);
	assert_int_equal(cb_rmdir_all(d), 0);
}

/* ---- data: rotation ------------------------------------------------------ */

/* tcpdump's rule, modelled independently of the writer: before each
 * packet, if the file (header included) is > C bytes, move to the next
 * number (back to 0 at W).  Returns the number of the last file. */
static unsigned model(const uint32_t *caplens, int n, uint64_t c, unsigned wf,
		      int *count, int *first)
{
	uint64_t size = 24;
	unsigned idx = 0;
	int i;

	count[0] = 0;
	first[0] = 0;
	for (i = 0; i < n; i++) {
		if (size > c) {
			idx = wf && idx + 1 >= wf ? 0 : idx + 1;
			count[idx] = 0;
			first[idx] = i;
			size = 24;
		}
		count[idx]++;
		size += 16 + caplens[i];
	}
	return idx;
}

struct rot_case {
	unsigned max_files;
	const char *names;        /* expected directory listing */
};

static const struct rot_case rots[] = {
	{ 0, "x.pcap x.pcap1 x.pcap10 x.pcap11 x.pcap2 x.pcap3 x.pcap4 "
	     "x.pcap5 x.pcap6 x.pcap7 x.pcap8 x.pcap9" },
	{ 1, "x.pcap" },
	{ 3, "x.pcap0 x.pcap1 x.pcap2" },
	{ 11, "x.pcap00 x.pcap01 x.pcap02 x.pcap03 x.pcap04 x.pcap05 x.pcap06 "
	      "x.pcap07 x.pcap08 x.pcap09 x.pcap10" },
	{ 12, "x.pcap00 x.pcap01 x.pcap02 x.pcap03 x.pcap04 x.pcap05 x.pcap06 "
	      "x.pcap07 x.pcap08 x.pcap09 x.pcap10 x.pcap11" },
};

static void rotation(const struct rot_case *rc)
{
	enum { N = 300, C = 9000 };   /* 12 files without -W */
	char *d = cb_tmpdir("pcapw"), p[256], names[1024], f[300];
	struct rs_pcapw_config c = { .path = p, .linktype = LT_EN10MB,
				     .rotate_bytes = C,
				     .max_files = rc->max_files };
	static uint64_t ids[N];
	uint32_t caplens[N];
	int count[64], first[64], i, k, got;
	struct rs_pcapw_stats st;
	struct rs_pcapw *w;
	struct fbuf b;
	unsigned nfiles, width = rc->max_files > 10 ? 2 : 1;

	snprintf(p, sizeof(p), "%s/x.pcap", d);
	for (i = 0; i < N; i++)
		caplens[i] = 8 + (uint32_t)(i * 37 % 700);
	model(caplens, N, C, rc->max_files, count, first);
	w = open_ok(&c, 1);
	for (i = 0; i < N; i++) {
		mkframe(&b, 0, (uint32_t)i, caplens[i], 0);
		assert_int_equal(rs_pcapw_write(w, 0, &b.fr), 0);
	}
	close_ok(w, &st);
	list_dir(d, names, sizeof(names));
	assert_string_equal(names, rc->names);
	nfiles = rc->max_files ? rc->max_files : 12;
	for (k = 0; k < (int)nfiles; k++) {
		if (rc->max_files == 1 || (rc->max_files == 0 && k == 0))
			snprintf(f, sizeof(f), "%s", p);
		else
			snprintf(f, sizeof(f), "%s%0*d", p,
				 rc->max_files ? (int)width : 0, k);
		got = read_back(f, ids, N);
		assert_int_equal(got, count[k]);
		for (i = 0; i < got; i++)
			assert_int_equal(ids[i], (uint64_t)(first[k] + i));
	}
	assert_int_equal(st.packets, N);
	assert_int_equal(cb_rmdir_all(d), 0);
}

static void t_rotation(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rots) / sizeof(rots[0]); i++)
		rotation(&rots[i]);
}

/* ---- data: queues ---------------------------------------------------------- */

/* With the writer held, a 4 KiB queue takes floor(4096 / 116) frames of
 * 100 bytes; the rest are dropped and counted, and what was queued is
 * written in order once the writer goes on. */
static void t_full_queue_drops(void **state)
{
	char *d = cb_tmpdir("pcapw"), p[256];
	struct rs_pcapw_config c = { .path = p, .linktype = LT_EN10MB,
				     .snaplen = 1000, .queue_bytes = 1 };
	uint64_t ids[200];
	struct rs_pcapw_stats st;
	struct rs_pcapw *w;
	struct fbuf b;
	int i, ok = 0, drop = 0, rc;

	(void)state;
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	w = open_ok(&c, 1);
	assert_int_equal(w->qcap, 4096);
	atomic_store(&w->hold, 1);
	for (i = 0; i < 100; i++) {
		mkframe(&b, 0, (uint32_t)i, 100, 0);
		rc = rs_pcapw_write(w, 0, &b.fr);
		assert_true(rc == 0 || rc == -ENOBUFS);
		if (rc == 0)
			assert_int_equal(drop, 0);  /* no gaps before full */
		ok += rc == 0;
		drop += rc != 0;
	}
	assert_int_equal(ok, 4096 / 116);
	rs_pcapw_stats(w, &st);
	assert_int_equal(st.dropped, 100 - ok);
	assert_int_equal(st.packets, 0);
	atomic_store(&w->hold, 0);
	wait_written(w, (uint64_t)ok);
	/* Room again. */
	mkframe(&b, 0, 1000, 100, 0);
	assert_int_equal(rs_pcapw_write(w, 0, &b.fr), 0);
	close_ok(w, &st);
	assert_int_equal(st.packets, ok + 1);
	assert_int_equal(st.dropped, 100 - ok);
	assert_int_equal(read_back(p, ids, 200), ok + 1);
	for (i = 0; i < ok; i++)
		assert_int_equal(ids[i], (uint64_t)i);
	assert_int_equal(ids[ok], 1000);
	assert_int_equal(cb_rmdir_all(d), 0);
}

enum { NPROD = 4, PER = 50000 };

struct prod {
	struct rs_pcapw *w;
	unsigned id;
	uint32_t ok, dropped;
	pthread_barrier_t *start;
};

static void *producer(void *arg)
{
	struct prod *pr = arg;
	struct timespec nap = { 0, 200000 };
	struct fbuf b;
	uint32_t i;
	int rc;

	pthread_barrier_wait(pr->start);
	for (i = 0; i < PER; i++) {
		/* A paced burst, so producers overlap in the file. */
		if (i % 1000 == 999)
			nanosleep(&nap, NULL);
		mkframe(&b, pr->id, i, 60 + i % 200, i);
		rc = rs_pcapw_write(pr->w, pr->id, &b.fr);
		if (rc == 0)
			pr->ok++;
		else if (rc == -ENOBUFS)
			pr->dropped++;
		else
			abort();
	}
	return NULL;
}

/* Producers interleave in the file; each one's frames stay in order, and
 * written + dropped is exactly what they offered. */
static void t_producers(void **state)
{
	char *d = cb_tmpdir("pcapw"), p[256];
	struct rs_pcapw_config c = { .path = p, .linktype = LT_EN10MB,
				     .queue_bytes = 4 << 20 };
	static uint64_t ids[NPROD * PER];
	struct prod pr[NPROD];
	pthread_t th[NPROD];
	pthread_barrier_t start;
	uint32_t next[NPROD] = { 0 }, seq, total = 0, dropped = 0;
	struct rs_pcapw_stats st;
	struct rs_pcapw *w;
	int i, n, switches = 0;
	unsigned id;

	(void)state;
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	w = open_ok(&c, NPROD);
	pthread_barrier_init(&start, NULL, NPROD);
	for (i = 0; i < NPROD; i++) {
		pr[i] = (struct prod){ .w = w, .id = (unsigned)i,
				       .start = &start };
		assert_int_equal(pthread_create(&th[i], NULL, producer, &pr[i]),
				 0);
	}
	for (i = 0; i < NPROD; i++) {
		pthread_join(th[i], NULL);
		total += pr[i].ok;
		dropped += pr[i].dropped;
	}
	pthread_barrier_destroy(&start);
	close_ok(w, &st);
	assert_int_equal(st.packets, total);
	assert_int_equal(st.dropped, dropped);
	assert_int_equal(total + dropped, NPROD * PER);
	n = read_back(p, ids, NPROD * PER);
	assert_int_equal(n, total);
	for (i = 0; i < n; i++) {
		id = (unsigned)(ids[i] >> 32);
		seq = (uint32_t)ids[i];
		assert_true(id < NPROD);
		if (seq < next[id])
			fail_msg("producer %u: seq %u after %u", id, seq,
				 next[id]);
		next[id] = seq + 1;
		switches += i > 0 && (ids[i - 1] >> 32) != id;
	}
	for (i = 0; i < NPROD; i++)
		assert_true(pr[i].ok > 0);
	print_message("%u written, %u dropped, %d producer switches\n", total,
		      dropped, switches);
	assert_int_equal(cb_rmdir_all(d), 0);
}

/* ---- data: write errors ----------------------------------------------------- */

/* RLIMIT_FSIZE stands in for a full disk: writes past it fail (EFBIG), the
 * first one short.  The writer reports it, counts what it lost, keeps the
 * file a valid pcap that ends on a whole record, and survives. */
static void t_write_error(void **state)
{
	enum { N = 200, LIMIT = 50000 };
	char *d = cb_tmpdir("pcapw"), p[256], err[RS_CAPTURE_ERRLEN];
	struct rs_pcapw_config c = { .path = p, .linktype = LT_EN10MB };
	struct rlimit old, lim = { LIMIT, LIMIT };
	struct rs_pcapw_stats st;
	struct sigaction ign = { .sa_handler = SIG_IGN }, oldsa;
	struct stat sb;
	struct rs_pcapw *w;
	struct fbuf b;
	int i, rc, n;

	(void)state;
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < LIMIT)
		skip();
	lim.rlim_max = old.rlim_max;
	sigaction(SIGXFSZ, &ign, &oldsa);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	w = open_ok(&c, 1);
	for (i = 0; i < N; i++) {
		mkframe(&b, 0, (uint32_t)i, 1000, 0);
		assert_int_equal(rs_pcapw_write(w, 0, &b.fr), 0);
		if (i % 10 == 9)        /* several batches, so some go in */
			wait_written(w, (uint64_t)i + 1);
	}
	rc = rs_pcapw_close(w, &st, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	sigaction(SIGXFSZ, &oldsa, NULL);
	assert_int_equal(rc, -EFBIG);
	assert_has(err, p);
	assert_has(err, "write");
	assert_has(err, strerror(EFBIG));
	assert_true(st.write_errors >= 1);
	assert_true(st.lost > 0);
	assert_int_equal(st.packets + st.lost, N);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(sb.st_size <= LIMIT);
	assert_int_equal((uint64_t)sb.st_size, 24 + st.packets * 1016);
	n = read_back(p, NULL, N);
	assert_int_equal(n, st.packets);
	assert_int_equal(cb_rmdir_all(d), 0);
}

/* A real full disk: a 64 KiB tmpfs in a private mount namespace (root
 * only), in a child so nothing leaks out.  The child exits 0 when all
 * checks hold, 77 when it cannot set up, else the failed CHECK's number. */
static int disk_full_child(const char *d)
{
	enum { N = 300 };
	char p[256], err[RS_CAPTURE_ERRLEN];
	struct rs_pcapw_config c = { .path = p, .linktype = LT_EN10MB };
	struct rs_pcapw_stats st;
	struct rs_pcapw *w;
	struct stat sb;
	struct fbuf b;
	int i, rc;

	int check = 0;

#define CHECK(x) do { check++; if (!(x)) return check; } while (0)
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("rs-pcapw", d, "tmpfs", 0, "size=64k") < 0)
		return 77;
	snprintf(p, sizeof(p), "%s/x.pcap", d);
	CHECK(rs_pcapw_open(&w, &c, 1, err, sizeof(err)) == 0);
	for (i = 0; i < N; i++) {
		mkframe(&b, 0, (uint32_t)i, 1000, 0);
		while (rs_pcapw_write(w, 0, &b.fr) == -ENOBUFS)
			;
	}
	rc = rs_pcapw_close(w, &st, err, sizeof(err));
	CHECK(rc == -ENOSPC);
	CHECK(strstr(err, p) && strstr(err, strerror(ENOSPC)));
	CHECK(st.write_errors >= 1 && st.lost > 0);
	CHECK(st.packets > 0 && st.packets + st.lost == N);
	CHECK(stat(p, &sb) == 0);
	CHECK((uint64_t)sb.st_size == 24 + st.packets * 1016);
	umount(d);
	return 0;
#undef CHECK
}

static void t_disk_full(void **state)
{
	char *d = cb_tmpdir("pcapw");
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0) {
		assert_int_equal(cb_rmdir_all(d), 0);
		skip();
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(disk_full_child(d));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(cb_rmdir_all(d), 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	if (WEXITSTATUS(status) != 0)
		fail_msg("disk full: CHECK number %d failed",
			 WEXITSTATUS(status));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_config),
		cmocka_unit_test(t_open_errors),
		cmocka_unit_test(t_write_refusals),
		cmocka_unit_test(t_records),
		cmocka_unit_test(t_many_in_order),
		cmocka_unit_test(t_rotation),
		cmocka_unit_test(t_full_queue_drops),
		cmocka_unit_test(t_producers),
		cmocka_unit_test(t_write_error),
		cmocka_unit_test(t_disk_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
