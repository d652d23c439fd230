/* fuzz_pcapfile.c - libFuzzer harness: the input is a whole capture file.
 *
 * 1. rs_file_open_mem over the exact input bytes (ASan catches any read
 *    past the end), every frame checked against the input and decoded.
 * 2. The same bytes as a growing regular file (a memfd opened by path, so
 *    the mmap path runs): written in up to three pieces, rs_file_remap after
 *    each, the reader resuming where the data ran out.  The frames and the
 *    final status must be exactly those of step 1, and frames returned
 *    before a remap must still hold their bytes at the end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "pcapfile_impl.h"
#include "rs_capture.h"
#include "rs_decode.h"

#define MEM_NAME "fuzz"

struct fz_frames {
	struct rs_frame *v;
	size_t n, cap;
	int rc;                   /* last rs_file_next result: 0 or < 0 */
	const char *msg;          /* rs_file_error() after the name */
};

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz_pcapfile", MFD_CLOEXEC);
	if (memfd >= 0)
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d",
			 memfd);
	return 0;
}

static void frames_push(struct fz_frames *fs, const struct rs_frame *fr)
{
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 64;
		struct rs_frame *v = realloc(fs->v, cap * sizeof(*v));

		FZ_CHECK(v != NULL);
		fs->v = v;
		fs->cap = cap;
	}
	fs->v[fs->n++] = *fr;
}

/* The message without "<name>: " in front, so two readers of the same
 * bytes under different names compare equal. */
static const char *msg_after_name(const struct rs_file *f, const char *name)
{
	const char *m = rs_file_error(f);
	size_t n = strlen(name);

	if (strncmp(m, name, n) == 0 && m[n] == ':')
		return m + n;
	return m;
}

/* Decode one frame as a capture run would (with and without ring meta)
 * and check the view. */
static void decode_frame(const struct rs_frame *fr,
			 struct rs_decode_stats *st)
{
	struct rs_decode_meta meta = {
		.vlan_tci = fr->vlan_tci, .vlan_tpid = fr->vlan_tpid,
		.vlan_valid = fr->vlan_valid, .pkttype = fr->pkttype,
	};
	struct rs_pkt p;
	int e;

	e = rs_decode(&p, fr->linktype, fr->data, fr->caplen, fr->wirelen, st);
	fz_check_pkt(&p, e, fr->data, fr->caplen, fr->wirelen);
	e = rs_decode_ex(&p, fr->linktype, fr->data, fr->caplen, fr->wirelen,
			 &meta, NULL);
	fz_check_pkt(&p, e, fr->data, fr->caplen, fr->wirelen);
}

/* Read f to its end or first damage; every frame must lie in data. */
static void read_all(struct rs_file *f, struct fz_frames *fs,
		     const uint8_t *base, size_t len, bool decode)
{
	struct rs_decode_stats st = { 0 };
	struct rs_frame fr;
	int rc;

	while ((rc = rs_file_next(f, &fr)) == 1) {
		FZ_CHECK(fr.caplen <= RS_MAX_CAPLEN);
		if (base) {
			FZ_CHECK(fz_inside(fr.data, fr.caplen, base, len));
			FZ_CHECK(fr.offset < len);
		}
		FZ_CHECK(fr.offset + fr.caplen <= len);
		if (decode)
			decode_frame(&fr, &st);
		frames_push(fs, &fr);
	}
	FZ_CHECK(rc <= 0);
	/* Damage is sticky: asking again gives the same answer. */
	FZ_CHECK(rs_file_next(f, &fr) == rc);
	if (rc < 0)
		FZ_CHECK(rs_file_error(f)[0] != '\0');
	fs->rc = rc;
	FZ_CHECK(st.packets == (decode ? fs->n : 0));
}

static bool write_all(int fd, const uint8_t *p, size_t n, off_t at)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
		at += w;
	}
	return true;
}

/* Cut points from the input's own bytes: deterministic per input, and
 * they move as the fuzzer mutates it. */
FZ_NOCOV static void cut_points(const uint8_t *data, size_t size, size_t cut[2])
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	cut[0] = size ? (size_t)(h % (size + 1)) : 0;
	cut[1] = size ? (size_t)((h >> 32) % (size + 1)) : 0;
	if (cut[0] > cut[1]) {
		size_t t = cut[0];

		cut[0] = cut[1];
		cut[1] = t;
	}
}

/* Step 2: the growing file.  `whole` is what step 1 saw. */
static void grow_compare(const uint8_t *data, size_t size, int open_rc,
			 const struct fz_frames *whole)
{
	struct fz_frames g = { 0 };
	struct rs_file *f = NULL;
	char err[RS_CAPTURE_ERRLEN];
	size_t cut[2], have = 0;
	int rc;

	if (memfd < 0 || ftruncate(memfd, 0) < 0)
		return;
	cut_points(data, size, cut);
	/* Open on the first piece; a file header cut short is legitimately
	 * refused, then the whole file is written before opening. */
	for (int step = 0; step < 3 && !f; step++) {
		size_t upto = step < 2 ? cut[step] : size;

		FZ_CHECK(write_all(memfd, data + have, upto - have, have));
		have = upto;
		rc = rs_file_open(&f, memfd_path, err, sizeof(err));
		if (rc < 0) {
			FZ_CHECK(f == NULL && err[0] != '\0');
			if (have == size)
				FZ_CHECK(rc == open_rc);
		}
	}
	if (!f) {
		FZ_CHECK(open_rc < 0);
		return;
	}
	FZ_CHECK(open_rc == 0);
	for (;;) {
		read_all(f, &g, NULL, have, false);
		if (have == size)
			break;
		size_t upto = have < cut[1] ? cut[1] : size;
		bool grew = upto > have;

		FZ_CHECK(write_all(memfd, data + have, upto - have, have));
		have = upto;
		rc = rs_file_remap(f);
		FZ_CHECK(rc == (grew ? 1 : 0));
	}
	FZ_CHECK(g.rc == whole->rc);
	FZ_CHECK(g.n == whole->n);
	if (g.rc < 0)
		FZ_CHECK(strcmp(msg_after_name(f, memfd_path), whole->msg) == 0);
	for (size_t i = 0; i < g.n; i++) {
		const struct rs_frame *a = &g.v[i], *b = &whole->v[i];

		FZ_CHECK(a->offset == b->offset && a->caplen == b->caplen);
		FZ_CHECK(a->wirelen == b->wirelen && a->ts_ns == b->ts_ns);
		FZ_CHECK(a->linktype == b->linktype);
		FZ_CHECK(a->ifindex == b->ifindex);
		/* Old mappings stay valid until close. */
		FZ_CHECK(memcmp(a->data, b->data, a->caplen) == 0);
	}
	rs_file_close(f);
	free(g.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_frames whole = { 0 };
	struct rs_file *f = NULL;
	char err[RS_CAPTURE_ERRLEN];
	int rc;

	rc = rs_file_open_mem(&f, MEM_NAME, data, size, err, sizeof(err));
	if (rc < 0) {
		FZ_CHECK(f == NULL && err[0] != '\0');
		FZ_CHECK(strncmp(err, MEM_NAME ":", strlen(MEM_NAME ":")) == 0);
		grow_compare(data, size, rc, &whole);
		return 0;
	}
	FZ_CHECK(f != NULL);
	FZ_CHECK(rs_file_format(f) == RS_FMT_PCAP ||
		 rs_file_format(f) == RS_FMT_PCAPNG);
	(void)rs_file_linktype(f);
	(void)rs_file_snaplen(f);
	FZ_CHECK(rs_file_remap(f) == -EOPNOTSUPP);
	read_all(f, &whole, data, size, true);
	whole.msg = msg_after_name(f, MEM_NAME);
	grow_compare(data, size, 0, &whole);
	rs_file_close(f);
	free(whole.v);
	return 0;
}
