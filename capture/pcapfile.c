/* pcapfile.c - capture files: open/map/slurp the bytes, dispatch to the pcap
 * or pcapng parser, report damage with file name and offset. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pcapfile_impl.h"

int rs_file_fail(struct rs_file *f, int err, uint64_t off, bool eof,
		 const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(f->errbuf, sizeof(f->errbuf), "%s: offset %" PRIu64 ": ",
		     f->name, off);
	if (n >= 0 && (size_t)n < sizeof(f->errbuf)) {
		va_start(ap, fmt);
		vsnprintf(f->errbuf + n, sizeof(f->errbuf) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	f->err = err;
	f->err_eof = eof;
	f->fast = false;
	return err;
}

/* A failure that is about the file as a whole (open, stat, read), not a
 * place in it. */
static int fail_sys(struct rs_file *f, int err, const char *what)
{
	snprintf(f->errbuf, sizeof(f->errbuf), "%s: %s: %s", f->name, what,
		 strerror(-err));
	f->err = err;
	f->fast = false;
	return err;
}

static struct rs_file *file_new(const char *name)
{
	struct rs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = -1;
	f->sfd = -1;
	f->linktype = -1;
	f->name = strdup(name);
	if (!f->name) {
		free(f);
		return NULL;
	}
	return f;
}

/* Streams: 1 TiB of address space (less if that is refused), PROT_NONE
 * (no memory, no commit charge) until the reader gets there, and again
 * once it has passed; a stream longer than that ends with an error. */
#define STREAM_RESERVE ((size_t)1 << 40)
#define STREAM_GROW (1u << 20)
/* How long rs_file_next() waits for a stream before saying -EAGAIN, so
 * its caller can flush logs and see signals while the writer is idle. */
#define STREAM_WAIT_MS 100

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Read what the stream has, waiting at most wait_ms (-1: forever) for it.
 * Returns the bytes added, 0 at the stream's end, -EAGAIN if nothing came
 * in time (or a signal came: the caller may want to stop), or a negative
 * errno. */
static ssize_t stream_fill(struct rs_file *f, int wait_ms)
{
	struct pollfd pfd = { .fd = f->sfd, .events = POLLIN };
	ssize_t n;

	if (f->len == f->buf_rw) {
		if (f->buf_res - f->buf_rw < STREAM_GROW)
			return -EFBIG;
		if (mprotect(f->buf + f->buf_rw, STREAM_GROW,
			     PROT_READ | PROT_WRITE) < 0)
			return -errno;
		f->buf_rw += STREAM_GROW;
	}
	for (;;) {
		n = poll(&pfd, 1, wait_ms);
		if (n == 0 || (n < 0 && errno == EINTR))
			return -EAGAIN;
		if (n < 0)
			return -errno;
		n = read(f->sfd, f->buf + f->len, f->buf_rw - f->len);
		if (n > 0) {
			f->len += (size_t)n;
			return n;
		}
		if (n == 0) {
			f->seof = true;
			return 0;
		}
		if (errno == EINTR)
			return -EAGAIN;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
	}
}

/* Set up reading a non-seekable stream (pipe, FIFO, terminal, socket):
 * records are parsed as they arrive, so `tcpdump -w - | ringsniff -r -`
 * shows traffic while tcpdump runs, and memory stays bounded. */
static int stream_open(struct rs_file *f, int fd)
{
	size_t res = STREAM_RESERVE;
	void *m;

	/* Less address space if a limit (ulimit -v, valgrind) refuses 1 TiB. */
	while ((m = mmap(NULL, res, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0)) == MAP_FAILED &&
	       res > ((size_t)256 << 20))
		res /= 4;
	if (m == MAP_FAILED)
		return fail_sys(f, -errno, "cannot reserve a buffer");
	f->buf = m;
	f->buf_res = res;
	f->base = m;
	f->sfd = fd;
	return 0;
}

/* Read more of a stream for a parser that ran out of bytes; waits at most
 * wait_ms.  Returns as stream_fill(), with damage recorded on errors. */
static ssize_t stream_more(struct rs_file *f, int wait_ms)
{
	ssize_t n = stream_fill(f, wait_ms);

	f->err_eof = false;
	if (n == -EFBIG)
		return rs_file_fail(f, -EFBIG, f->len, false,
				    "stream longer than its %zu-byte buffer",
				    f->buf_res);
	if (n < 0 && n != -EAGAIN)
		return fail_sys(f, (int)n, "reading the stream");
	return n;
}

/* Block for more of a stream while opening it (no timeout: the header
 * comes when the writer sends it); a signal ends the wait with -EINTR. */
static int stream_wait(struct rs_file *f, const char *what)
{
	ssize_t n = stream_more(f, -1);

	if (n == -EAGAIN)
		n = fail_sys(f, -EINTR, what);
	return n < 0 ? (int)n : 0;
}

static int file_map(struct rs_file *f, off_t size)
{
	void *m;

	if (size == 0)
		return 0;       /* empty: the header parser says so */
	if ((uint64_t)size > SIZE_MAX)
		return fail_sys(f, -EFBIG, "cannot map");
	m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, f->fd, 0);
	if (m == MAP_FAILED)
		return fail_sys(f, -errno, "cannot map");
	/* Only a hint: the parser walks front to back. */
	(void)madvise(m, (size_t)size, MADV_SEQUENTIAL);
	f->map = m;
	f->maplen = (size_t)size;
	f->base = m;
	f->len = (size_t)size;
	return 0;
}

/* Standard input: a redirected regular file (`-r - < x.pcap`) is mapped
 * like any file, through our own descriptor; a pipe is read to its end. */
static int file_load_stdin(struct rs_file *f)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return fail_sys(f, -errno, "cannot stat");
	/* Mapping needs offset 0; a shell may have read part of it already. */
	int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return fail_sys(f, -errno, "cannot duplicate");
	if (!S_ISREG(st.st_mode) || lseek(STDIN_FILENO, 0, SEEK_CUR) != 0) {
		int rc = stream_open(f, fd);
		if (rc < 0)
			close(fd);
		return rc;
	}
	f->fd = fd;
	return file_map(f, st.st_size);
}

/* Get the bytes of `path`: regular files are mapped, streams are slurped,
 * directories refused. */
static int file_load(struct rs_file *f, const char *path)
{
	struct stat st;
	int rc;

	if (strcmp(path, "-") == 0)
		return file_load_stdin(f);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return fail_sys(f, -errno, "cannot open");
	if (fstat(f->fd, &st) < 0)
		return fail_sys(f, -errno, "cannot stat");
	if (S_ISDIR(st.st_mode))
		return fail_sys(f, -EISDIR, "cannot read");
	if (S_ISREG(st.st_mode))
		return file_map(f, st.st_size);
	/* FIFO, character device, socket: read it like stdin (the descriptor
	 * moves to sfd, closed with the file). */
	rc = stream_open(f, f->fd);
	if (rc == 0)
		f->fd = -1;
	return rc;
}

/* Tell the format by the first four bytes, then parse the file header. */
static int file_header(struct rs_file *f)
{
	uint32_t magic;

	if (f->len == 0)
		return rs_file_fail(f, -EINVAL, 0, true, "empty file");
	if (f->len < 4)
		return rs_file_fail(f, -EINVAL, 0, true,
				    "truncated file header (%zu bytes)",
				    f->len);
	magic = rs_rd32(f->base, false);
	switch (magic) {
	case RS_PCAP_MAGIC_US:
	case RS_PCAP_MAGIC_NS:
	case 0xd4c3b2a1u:
	case 0x4d3cb2a1u:
		f->fmt = RS_FMT_PCAP;
		return rs_pcap_open(f);
	case RS_NG_SHB:
		f->fmt = RS_FMT_PCAPNG;
		return rs_ng_open(f);
	default:
		return rs_file_fail(f, -EINVAL, 0, false,
			"unknown file format (magic %02x %02x %02x %02x; "
			"not pcap or pcapng)", f->base[0], f->base[1],
			f->base[2], f->base[3]);
	}
}

static int open_finish(struct rs_file **out, struct rs_file *f, int rc,
		       char *err, size_t errlen)
{
	if (rc == 0)
		rc = file_header(f);
	/* A stream's header may not all be there yet: wait for it (as long
	 * as the writer takes, like reading any header). */
	while (rc < 0 && f->sfd >= 0 && f->err_eof && !f->seof) {
		rc = stream_wait(f, "waiting for the file header");
		if (rc < 0)
			break;
		rs_file_clear_err(f);
		rc = file_header(f);
	}
	/* pcapng: the link type is the first interface's, which may still be
	 * on its way (it decides -w's header and -d's program). */
	while (rc == 0 && f->sfd >= 0 && f->fmt == RS_FMT_PCAPNG &&
	       !f->seof && rs_ng_peek_first_if(f) == -EAGAIN)
		rc = stream_wait(f, "waiting for the first interface");
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", f->errbuf);
		rs_file_close(f);
		return rc;
	}
	f->errbuf[0] = '\0';
	rs_file_fast_check(f);
	*out = f;
	return 0;
}

int rs_file_open(struct rs_file **out, const char *path, char *err,
		 size_t errlen)
{
	struct rs_file *f;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !path)
		return -EINVAL;
	*out = NULL;
	f = file_new(strcmp(path, "-") == 0 ? "<stdin>" : path);
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	return open_finish(out, f, file_load(f, path), err, errlen);
}

int rs_file_open_mem(struct rs_file **out, const char *name,
		     const void *data, size_t len, char *err, size_t errlen)
{
	struct rs_file *f;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !name || (!data && len))
		return -EINVAL;
	*out = NULL;
	f = file_new(name);
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	f->base = data;
	f->len = len;
	return open_finish(out, f, 0, err, errlen);
}

/* The mapped pages the reader has left behind are given back to the kernel
 * every DROP_BEHIND bytes, so that reading a big file does not keep it all
 * resident in this process (RSS = file size): MADV_DONTNEED on a private,
 * never written file mapping only unmaps the pages, and touching one again
 * (a frame returned earlier) faults the same bytes back in from the file,
 * so frames stay valid.  DROP_KEEP bytes behind the reader (more than a
 * record can be) stay mapped: the frame just returned is in use.
 * Dropped ranges end on a DROP_ALIGN boundary: a page cache filled by
 * readahead holds 2 MiB folios that the kernel maps whole (one PMD, no page
 * tables), and giving back part of one would unmap all of it, the part
 * still ahead of us included. */
#define DROP_BEHIND (8u << 20)
#define DROP_KEEP (1u << 20)
#define DROP_ALIGN (2u << 20)

static void drop_behind(struct rs_file *f, uint64_t frame_off)
{
	/* Never the frame just returned (a pcapng block with big options
	 * can be longer than DROP_KEEP). */
	uint64_t end = f->pos - DROP_KEEP < frame_off ? f->pos - DROP_KEEP
						       : frame_off;

	end &= ~(uint64_t)(DROP_ALIGN - 1);
	if (f->map && end > f->dropped && end <= f->maplen) {
		(void)madvise((uint8_t *)f->map + f->dropped,
			      (size_t)(end - f->dropped), MADV_DONTNEED);
		f->dropped = end;
	} else if (f->buf && end > f->dropped && end <= f->buf_rw) {
		/* Anonymous pages: mapped anew as PROT_NONE, which frees them
		 * and their commit charge (MADV_DONTNEED would keep the
		 * charge under overcommit_memory=2). */
		if (mmap(f->buf + f->dropped, (size_t)(end - f->dropped),
			 PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
			 MAP_NORESERVE, -1, 0) != MAP_FAILED)
			f->dropped = end;
	}
}

/* Page tables for the next POPULATE_AHEAD bytes of the file mapping, by
 * one madvise, instead of a page fault every 64 KiB (the kernel's
 * fault-around).  Each fault is an exception into the kernel, and a dear
 * one under virtualisation: on a PVM guest faults were 10% of a -r run's
 * time, and this cut the run's wall time by 8% (bench/RESULTS.md).
 * Resident pages are only mapped; pages not yet read are read as a fault
 * would.  Kernels before 5.14 say EINVAL: we fault as before.  Errors
 * past the end of a file cut under us (EFAULT) are the parser's to
 * report, so they are ignored here. */
#define POPULATE_AHEAD (1u << 20)

static void populate_ahead(struct rs_file *f)
{
	uint64_t from = f->mapped > f->pos ? f->mapped : f->pos & ~(uint64_t)4095;
	uint64_t to = from + POPULATE_AHEAD;

	if (to > f->maplen)
		to = f->maplen;
	if (from < to && madvise((uint8_t *)f->map + from, (size_t)(to - from),
				 MADV_POPULATE_READ) < 0 && errno == EINVAL)
		f->no_populate = true;
	f->mapped = from < to ? to : from;
}

/* Housekeeping between records, at most every POPULATE_AHEAD / 2 bytes:
 * the mapping ahead populated, the pages behind given back.  One compare
 * per record decides (chores_at). */
static __attribute__((noinline)) void file_chores(struct rs_file *f,
						  uint64_t frame_off)
{
	uint64_t next = UINT64_MAX;

	if (f->map || f->buf) {
		if (f->pos - f->dropped >= DROP_BEHIND)
			drop_behind(f, frame_off);
		next = f->dropped + DROP_BEHIND;
	}
	if (f->map && !f->no_populate) {
		if (f->pos + POPULATE_AHEAD / 2 >= f->mapped)
			populate_ahead(f);
		if (f->mapped < f->maplen &&
		    f->mapped - POPULATE_AHEAD / 2 < next)
			next = f->mapped - POPULATE_AHEAD / 2;
	}
	f->chores_at = next;
}

/* Ask now for the bytes of the next few records.  Their first read by the
 * decoder and the HTTP parser would otherwise wait on memory: page cache
 * pages are in no cache, and the hardware prefetcher stops at each 4 KiB
 * page.  Never past what we parse.  A chunk of PF_CHUNK bytes at a time,
 * so a record costs one compare, not a loop: the reader keeps between
 * RS_PREFETCH_AHEAD and RS_PREFETCH_AHEAD + PF_CHUNK bytes prefetched. */
#ifndef RS_PREFETCH_AHEAD
#define RS_PREFETCH_AHEAD 4096
#endif
#define PF_CHUNK 1024u

static __attribute__((noinline)) void prefetch_more(struct rs_file *f)
{
	uint64_t want = f->pos + RS_PREFETCH_AHEAD, pf = f->pf;

	if (pf < f->pos)
		pf = f->pos & ~(uint64_t)(PF_CHUNK - 1);
	/* Mostly one chunk is due: one per 128 bytes, as the L2 fetches a
	 * line's pair with it. */
	if (pf < want && pf + PF_CHUNK <= f->len) {
		const uint8_t *q = f->base + pf;

		for (unsigned k = 0; k < PF_CHUNK; k += 128)
			__builtin_prefetch(q + k);
		pf += PF_CHUNK;
	}
	/* More (the start, a long record) or the data's last bytes: by line. */
	for (; pf < want && pf < f->len; pf += 128)
		__builtin_prefetch(f->base + pf);
	f->pf = pf;
}

/* A record was returned, ending at f->pos: the housekeeping and the
 * prefetching that may be due. */
static inline void record_done(struct rs_file *f, uint64_t frame_off)
{
	if (f->pos >= f->chores_at)
		file_chores(f, frame_off);
	if (f->pos + RS_PREFETCH_AHEAD > f->pf)
		prefetch_more(f);
}

/* Everything the fast path of rs_file_next() does not take: other formats
 * and byte orders, streams, the end of the data, damage. */
static __attribute__((noinline)) int file_next_slow(struct rs_file *f,
						    struct rs_frame *fr)
{
	int rc;

	for (;;) {
		if (f->err)
			return f->err;
		rc = f->fmt == RS_FMT_PCAP ? rs_pcap_next(f, fr)
					    : rs_ng_next(f, fr);
		/* A stream that ran dry, between records (0) or inside one
		 * (a cut record): read on and parse again.  The parsers
		 * leave nothing half-done on such an error, as for a file
		 * that grows (rs_file_remap). */
		if (f->sfd < 0 || f->seof || rc == 1 ||
		    (rc < 0 && !f->err_eof))
			break;
		ssize_t n = stream_more(f, STREAM_WAIT_MS);
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		rs_file_clear_err(f);
		/* Also when bytes trickle in: the caller gets a turn at least
		 * every STREAM_WAIT_MS while the stream keeps us waiting.  The
		 * bytes read stay; nothing is sticky: call again. */
		uint64_t now = mono_ms();
		if (n == -EAGAIN || now - f->yield_ms >= STREAM_WAIT_MS) {
			f->yield_ms = now;
			return -EAGAIN;
		}
	}
	if (rc == 1)
		record_done(f, fr->offset);
	return rc;
}

/* The fast path is rs_pcap_next() for a record that passes every check
 * (rs_file_fast_check() says which files): the same frame, in fewer steps.
 * Any other record, the end of the data included, goes to rs_pcap_next()
 * for its error or 0. */
int rs_file_next(struct rs_file *f, struct rs_frame *fr)
{
	if (__builtin_expect(f->fast, 1)) {
		uint64_t off = f->pos;
		size_t left = f->len - (size_t)off;
		const uint8_t *h = f->base + off;

		if (__builtin_expect(left >= RS_PCAP_REC_HDR, 1)) {
			uint32_t caplen = rs_rd32(h + 8, false);

			if (__builtin_expect(caplen <= f->fast_caplen &&
					     caplen <= left - RS_PCAP_REC_HDR,
					     1)) {
				rs_pcap_frame(f, fr, h, off, rs_rd32(h, false),
					      rs_rd32(h + 4, false), caplen,
					      rs_rd32(h + 12, false));
				f->pos = off + RS_PCAP_REC_HDR + caplen;
				record_done(f, off);
				return 1;
			}
		}
	}
	return file_next_slow(f, fr);
}

int rs_file_remap(struct rs_file *f)
{
	struct rs_old_map *old;
	struct stat st;
	void *m;
	size_t size;

	if (f->fd < 0)
		return -EOPNOTSUPP;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	size = (size_t)st.st_size;
	if (size <= f->len)
		return 0;
	m = f->map ? mremap(f->map, f->maplen, size, 0) : MAP_FAILED;
	if (m == MAP_FAILED) {
		/* Cannot grow in place: map anew, keep the old one alive. */
		old = realloc(f->old, (f->nold + 1) * sizeof(*old));
		if (!old)
			return -ENOMEM;
		f->old = old;
		m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, f->fd, 0);
		if (m == MAP_FAILED)
			return -errno;
		if (f->map)
			f->old[f->nold++] = (struct rs_old_map){ f->map,
								 f->maplen };
	}
	(void)madvise(m, size, MADV_SEQUENTIAL);
	f->map = m;
	f->maplen = size;
	f->base = m;
	f->len = size;
	/* A new mapping has no page tables yet; the grown part never had. */
	f->mapped = f->pos & ~(uint64_t)4095;
	f->chores_at = f->pos;
	if (f->err && f->err_eof)
		rs_file_clear_err(f);
	return 1;
}

const char *rs_file_error(const struct rs_file *f)
{
	return f->errbuf;
}

enum rs_file_format rs_file_format(const struct rs_file *f)
{
	return f->fmt;
}

int rs_file_linktype(const struct rs_file *f)
{
	return f->linktype;
}

uint32_t rs_file_snaplen(const struct rs_file *f)
{
	return f->snaplen;
}

void rs_file_close(struct rs_file *f)
{
	size_t i;

	if (!f)
		return;
	free(f->ng_ifs);
	for (i = f->nold; i > 0; i--)
		munmap(f->old[i - 1].addr, f->old[i - 1].len);
	free(f->old);
	if (f->map)
		munmap(f->map, f->maplen);
	if (f->buf)
		munmap(f->buf, f->buf_res);
	if (f->fd >= 0)
		close(f->fd);
	if (f->sfd >= 0)
		close(f->sfd);
	free(f->name);
	free(f);
}
