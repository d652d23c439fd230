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
#include <unistd.h>

#include "pcapfile_impl.h"

#define STREAM_CHUNK (64u * 1024u)

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
	return err;
}

/* A failure that is about the file as a whole (open, stat, read), not a
 * place in it. */
static int fail_sys(struct rs_file *f, int err, const char *what)
{
	snprintf(f->errbuf, sizeof(f->errbuf), "%s: %s: %s", f->name, what,
		 strerror(-err));
	f->err = err;
	return err;
}

static struct rs_file *file_new(const char *name)
{
	struct rs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = -1;
	f->linktype = -1;
	f->name = strdup(name);
	if (!f->name) {
		free(f);
		return NULL;
	}
	return f;
}

/* Read a non-seekable stream to its end into one growing buffer: the only
 * copy of packet data this reader makes.  The buffer is trimmed to the exact
 * length so nothing past the data is ever addressable. */
static int file_slurp(struct rs_file *f, int fd)
{
	size_t cap = STREAM_CHUNK, len = 0;
	uint8_t *buf = malloc(cap), *nb;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int rc = 0;

	if (!buf) {
		rc = fail_sys(f, -ENOMEM, "cannot buffer input");
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap > SIZE_MAX / 2) {
				rc = fail_sys(f, -EFBIG, "cannot buffer input");
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = fail_sys(f, -ENOMEM, "cannot buffer input");
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* A non-blocking stdin: wait for the writer. */
			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		rc = fail_sys(f, -errno, "read");
		goto out;
	}
	if (len > 0 && len < cap) {
		nb = realloc(buf, len);
		if (nb)
			buf = nb;
	}
	f->buf = buf;
	f->base = buf;
	f->len = len;
	buf = NULL;
out:
	free(buf);
	return rc;
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
	if (!S_ISREG(st.st_mode) || lseek(STDIN_FILENO, 0, SEEK_CUR) != 0)
		return file_slurp(f, STDIN_FILENO);
	f->fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0)
		return fail_sys(f, -errno, "cannot duplicate");
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
	/* FIFO, character device, socket: read it like stdin. */
	rc = file_slurp(f, f->fd);
	close(f->fd);
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
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", f->errbuf);
		rs_file_close(f);
		return rc;
	}
	f->errbuf[0] = '\0';
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
 * record can be) stay mapped: the frame just returned is in use. */
#define DROP_BEHIND (8u << 20)
#define DROP_KEEP (1u << 20)

static void drop_behind(struct rs_file *f)
{
	uint64_t end = (f->pos - DROP_KEEP) & ~(uint64_t)0xfffff;

	if (end > f->dropped && end <= f->maplen) {
		(void)madvise((uint8_t *)f->map + f->dropped,
			      (size_t)(end - f->dropped), MADV_DONTNEED);
		f->dropped = end;
	}
}

int rs_file_next(struct rs_file *f, struct rs_frame *fr)
{
	int rc;

	if (f->err)
		return f->err;
	rc = f->fmt == RS_FMT_PCAP ? rs_pcap_next(f, fr) : rs_ng_next(f, fr);
	if (rc == 1 && f->map && f->pos - f->dropped >= DROP_BEHIND)
		drop_behind(f);
	return rc;
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
	if (f->err && f->err_eof) {
		f->err = 0;
		f->err_eof = false;
		f->errbuf[0] = '\0';
	}
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
	free(f->buf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->name);
	free(f);
}
