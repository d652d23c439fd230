/* watch.c - rs_watch: read the queued capture files in order, each while it
 * grows, through a pread() window.
 *
 * Why pread and not mmap (which rs_file_* uses, with rs_file_remap() for
 * growing files): tcpdump -W reuses names by opening them with O_TRUNC, and
 * a reader touching a mapped page past the new end of the file gets SIGBUS.
 * No check beforehand closes the race (the truncation can come right after
 * an fstat), and a SIGBUS handler is not a library's to install.  pread()
 * into our own buffer only ever sees a short read.  The cost is one copy of
 * the bytes, at the pace of a writer that itself goes through the disk.
 *
 * Telling old bytes from new ones: a reused name is first truncated (an
 * IN_MODIFY event queued by the truncating call itself), then written.  So
 * any byte of the new contents was written after that event was queued,
 * and the events are read after every pread(): if they say the name was
 * reused, the bytes that pread() returned are thrown away (they may be the
 * new file's), and the file ends at what was read before. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pcapfile_impl.h"
#include "watch_impl.h"

#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY | \
		    IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF | \
		    IN_EXCL_UNLINK | IN_ONLYDIR)

enum { STEP_WAIT = 0, STEP_FRAME = 1, STEP_AGAIN = 2 };

static bool is_final(const struct watch_entry *e)
{
	return e->state == W_CLOSED || e->gone;
}

/* Leave the head file (done: read to its end, or judged damaged). */
static void advance(struct rs_watch *w, bool done)
{
	struct watch_entry *e = w->head;

	if (done)
		w->st.files_done++;
	watch_remember_done(w, e);
	w->head = e->next;
	if (!w->head)
		w->tail = NULL;
	if (e->fd >= 0) {
		close(e->fd);
		w->nopen--;
	}
	free(e->name);
	free(e);
	rs_file_close(w->f);
	w->f = NULL;
	free(w->fpath);
	w->fpath = NULL;
	w->wlen = 0;
	w->woff = 0;
	w->counted = false;
}

static int damaged(struct rs_watch *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The head file is unusable from here on: say why, skip it. */
static int damaged(struct rs_watch *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->errbuf, sizeof(w->errbuf), fmt, ap);
	va_end(ap);
	w->st.bad_files++;
	advance(w, false);
	return -EINVAL;
}

/* The parser reports offsets in the window; make them file offsets. */
static int parse_damage(struct rs_watch *w)
{
	const char *m = rs_file_error(w->f);
	size_t nl = strlen(w->fpath);
	unsigned long long off;
	char *end;

	if (strncmp(m, w->fpath, nl) == 0 &&
	    strncmp(m + nl, ": offset ", 9) == 0) {
		off = strtoull(m + nl + 9, &end, 10);
		return damaged(w, "%s: offset %llu%s", w->fpath,
			       off + (unsigned long long)w->woff, end);
	}
	return damaged(w, "%s", m);
}

/* Bytes the file header needs, judged from what is there. */
static size_t header_need(const uint8_t *p, size_t len)
{
	uint32_t magic, bom, total;

	if (len < 4)
		return 4;
	magic = rs_rd32(p, false);
	if (magic == RS_NG_SHB) {
		if (len < 12)
			return 12;
		bom = rs_rd32(p + 8, false);
		if (bom != RS_NG_BOM && bom != __builtin_bswap32(RS_NG_BOM))
			return 12;      /* the parser says what is wrong */
		total = rs_rd32(p + 4, bom != RS_NG_BOM);
		return total < 12 ? 12 : total;
	}
	if (magic == RS_PCAP_MAGIC_US || magic == RS_PCAP_MAGIC_NS ||
	    magic == __builtin_bswap32(RS_PCAP_MAGIC_US) ||
	    magic == __builtin_bswap32(RS_PCAP_MAGIC_NS))
		return 24;
	return 4;               /* not a capture file: the parser says so */
}

/* Returns 1 when the parser is set up, 0 for more bytes, or an error. */
static int try_header(struct rs_watch *w)
{
	char err[RS_CAPTURE_ERRLEN];
	int rc;

	if (w->wlen < header_need(w->win, w->wlen))
		return 0;
	rc = rs_file_open_mem(&w->f, w->fpath, w->win, w->wlen, err,
			      sizeof(err));
	if (rc == -ENOMEM)
		return w->fatal = rc;
	if (rc < 0)
		return damaged(w, "%s", err);
	return 1;
}

/* Read more of the head file into the window.  Returns the bytes added
 * (0: none, or thrown away because the name was reused), or a negative
 * errno: file-level, or fatal (then also in w->fatal). */
static ssize_t fill(struct rs_watch *w, struct watch_entry *e)
{
	struct stat st;
	uint8_t *nw;
	size_t keep, cap;
	ssize_t n;
	int rc;

	if (w->f && w->f->pos > 0) {
		keep = w->wlen - (size_t)w->f->pos;
		memmove(w->win, w->win + w->f->pos, keep);
		w->woff += w->f->pos;
		w->wlen = keep;
		w->f->pos = 0;
	}
	if (!w->win || w->wlen == w->wcap) {
		/* Full: one record or block is bigger than the window. */
		if (w->win && w->wcap >= WATCH_WIN_MAX)
			return -EFBIG;
		cap = w->win ? w->wcap * 2 : w->wcap;
		nw = realloc(w->win, cap);
		if (!nw)
			return w->fatal = -ENOMEM;
		w->win = nw;
		w->wcap = cap;
	}
	do
		n = pread(e->fd, w->win + w->wlen, w->wcap - w->wlen,
			  (off_t)(w->woff + w->wlen));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	rc = watch_drain(w);
	if (rc < 0)
		return w->fatal = rc;
	if (n > 0 && !e->overwritten) {
		/* Shrunk below what we just read: truncated under us before
		 * its event was queued; the bytes may be anything. */
		if (fstat(e->fd, &st) < 0)
			return -errno;
		if ((uint64_t)st.st_size < w->woff + w->wlen + (uint64_t)n)
			e->overwritten = true;
		else if ((uint64_t)st.st_size > e->seen)
			e->seen = (uint64_t)st.st_size;
	}
	if (e->overwritten)
		n = 0;
	w->wlen += (size_t)n;
	if (w->f) {
		w->f->base = w->win;
		w->f->len = w->wlen;
	}
	return n;
}

/* A file queued past the open-descriptor limit: open it now, if the name
 * still holds the same file. */
static int open_late(struct rs_watch *w, struct watch_entry *e)
{
	struct stat st;
	int fd;

	fd = openat(w->dfd, e->name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
		    O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_dev != e->dev || st.st_ino != e->ino) {
		close(fd);
		return -ENOENT;
	}
	e->fd = fd;
	w->nopen++;
	return 0;
}

/* At the end of the data the head file has now: move on, or wait. */
static int at_end(struct rs_watch *w, struct watch_entry *e, bool final)
{
	size_t left = w->f ? w->wlen - (size_t)w->f->pos : w->wlen;
	uint64_t off = w->woff + (w->f ? w->f->pos : 0);

	if (e->overwritten) {
		w->st.overwritten++;
		snprintf(w->errbuf, sizeof(w->errbuf),
			 "%s: offset %llu: name reused before the file was "
			 "read to its end", w->fpath, (unsigned long long)off);
		advance(w, false);
		return STEP_AGAIN;
	}
	if (!final || (!e->next && !w->dir_gone))
		return STEP_WAIT;
	if (left && w->f)
		return damaged(w, "%s: offset %llu: file ends inside a record "
			       "(%zu bytes)", w->fpath,
			       (unsigned long long)off, left);
	if (left)
		return damaged(w, "%s: file ends inside its file header "
			       "(%zu bytes)", w->fpath, left);
	advance(w, true);      /* whole, or empty (no header ever written) */
	return STEP_AGAIN;
}

/* The next frame among the bytes already read: STEP_FRAME, 0 when more
 * bytes are needed, or the damage error. */
static int from_window(struct rs_watch *w, struct rs_frame *fr)
{
	int rc = rs_file_next(w->f, fr);

	if (rc == 1) {
		fr->offset += w->woff;
		w->st.packets++;
		w->st.bytes += fr->caplen;
		return STEP_FRAME;
	}
	if (rc < 0 && !w->f->err_eof)
		return parse_damage(w);
	/* Cut short by the end of the data: wait for the rest. */
	rs_file_clear_err(w->f);
	return 0;
}

/* Work on the head file: a frame, STEP_AGAIN after progress, STEP_WAIT when
 * only more data or events can help, or a negative errno. */
static int step(struct rs_watch *w, struct rs_frame *fr)
{
	struct watch_entry *e = w->head;
	uint64_t nev;
	bool final;
	ssize_t n;
	int rc;

	if (e->skip) {
		if (is_final(e) && (e->next || w->dir_gone)) {
			advance(w, false);
			return STEP_AGAIN;
		}
		return STEP_WAIT;
	}
	if (e->fd < 0 && open_late(w, e) < 0) {
		w->st.lost_files++;
		advance(w, false);
		return STEP_AGAIN;
	}
	if (!w->fpath) {
		if (asprintf(&w->fpath, "%s/%s", w->dir, e->name) < 0) {
			w->fpath = NULL;
			return w->fatal = -ENOMEM;
		}
	}
	if (!w->counted) {
		w->st.files++;
		w->counted = true;
	}
	if (w->f) {
		rc = from_window(w, fr);
		if (rc)
			return rc;
	} else if (w->wlen) {
		rc = try_header(w);
		if (rc)
			return rc > 0 ? STEP_AGAIN : rc;
	}
	final = is_final(e);
	nev = w->nevents;
	n = fill(w, e);
	if (w->fatal)
		return w->fatal;
	if (n == -EFBIG)
		return damaged(w, "%s: offset %llu: record or block larger "
			       "than %u bytes", w->fpath,
			       (unsigned long long)w->woff, WATCH_WIN_MAX);
	if (n < 0)
		return damaged(w, "%s: read: %s", w->fpath, strerror((int)-n));
	if (n > 0)
		return STEP_AGAIN;
	rc = at_end(w, e, final);
	/* Events read after the pread (closed, a new file) may let us on. */
	if (rc == STEP_WAIT && nev != w->nevents)
		return STEP_AGAIN;
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fatal(struct rs_watch *w, int err, const char *what)
{
	snprintf(w->errbuf, sizeof(w->errbuf), "%s: %s: %s", w->dir, what,
		 strerror(-err));
	return w->fatal = err;
}

static bool dir_deleted(struct rs_watch *w)
{
	struct stat st;

	if (fstat(w->dfd, &st) == 0 && st.st_nlink == 0)
		w->dir_gone = true;
	return w->dir_gone;
}

int rs_watch_next(struct rs_watch *w, struct rs_frame *fr, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	struct pollfd pfd = { .fd = w->ifd, .events = POLLIN };
	int rc, wait_ms;

	if (w->fatal)
		return w->fatal;
	/* Frames already in the window need no syscall: their bytes were
	 * checked against the events when they were read (see fill()). */
	if (w->f && w->head && !w->head->skip) {
		rc = from_window(w, fr);
		if (rc)
			return rc == STEP_FRAME ? 1 : rc;
	}
	for (;;) {
		rc = watch_drain(w);
		if (rc < 0)
			return fatal(w, rc, "watching");
		if (w->head) {
			rc = step(w, fr);
			if (rc == STEP_FRAME)
				return 1;
			if (rc == STEP_AGAIN)
				continue;
			if (rc < 0)
				return w->fatal ? fatal(w, w->fatal, "reading")
						: rc;
		} else if (w->dir_gone) {
			snprintf(w->errbuf, sizeof(w->errbuf),
				 "%s: directory deleted", w->dir);
			return w->fatal = -ENOENT;
		}
		/* Our descriptor keeps the directory's dentry alive, which
		 * holds back IN_DELETE_SELF: look at the link count instead. */
		if (!w->dir_gone && dir_deleted(w))
			continue;
		if (timeout_ms < 0)
			wait_ms = -1;
		else if (timeout_ms == 0 || (wait_ms = (int)(deadline - now_ms())) <= 0)
			return 0;
		rc = poll(&pfd, 1, wait_ms);
		if (rc < 0 && errno != EINTR)
			return fatal(w, -errno, "poll");
		if (rc <= 0)
			return 0;
	}
}

int rs_watch_open(struct rs_watch **out, const char *dir, const char *pattern,
		  unsigned flags, char *err, size_t errlen)
{
	struct rs_watch *w;
	const char *what = "";
	int rc = -ENOMEM;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !dir)
		return -EINVAL;
	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto fail;
	w->ifd = w->dfd = w->wd = -1;
	w->wcap = WATCH_WIN_INIT;
	w->skip_existing = flags & RS_WATCH_NEW_ONLY;
	w->dir = strdup(dir);
	if (!w->dir || (pattern && !(w->pattern = strdup(pattern))))
		goto fail;
	w->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dfd < 0) {
		rc = -errno;
		what = "cannot open directory";
		goto fail;
	}
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0) {
		rc = -errno;
		what = "inotify_init1 (fs.inotify.max_user_instances?)";
		goto fail;
	}
	/* Watch first, then list: a file made in between shows up in both,
	 * and the queue takes it once (by inode). */
	w->wd = inotify_add_watch(w->ifd, dir, WATCH_MASK);
	if (w->wd < 0) {
		rc = -errno;
		what = rc == -ENOSPC ? "inotify watch limit reached "
				       "(fs.inotify.max_user_watches)"
				     : "inotify_add_watch";
		goto fail;
	}
	rc = watch_scan(w, true);
	if (rc < 0) {
		what = "cannot list directory";
		goto fail;
	}
	*out = w;
	return 0;
fail:
	if (err && errlen && rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", dir);
	else if (err && errlen)
		snprintf(err, errlen, "%s: %s: %s", dir, what, strerror(-rc));
	rs_watch_close(w);
	return rc;
}

const char *rs_watch_error(const struct rs_watch *w)
{
	return w->errbuf;
}

const char *rs_watch_current(const struct rs_watch *w)
{
	return w->head ? w->head->name : NULL;
}

void rs_watch_stats(const struct rs_watch *w, struct rs_watch_stats *out)
{
	*out = w->st;
}

void rs_watch_close(struct rs_watch *w)
{
	struct watch_entry *e;

	if (!w)
		return;
	while ((e = w->head)) {
		w->head = e->next;
		if (e->fd >= 0)
			close(e->fd);
		free(e->name);
		free(e);
	}
	rs_file_close(w->f);
	free(w->fpath);
	free(w->win);
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->dfd >= 0)
		close(w->dfd);
	free(w->pattern);
	free(w->dir);
	free(w);
}
