/* watch_dir.c - the directory side of rs_watch: inotify events and scans
 * turned into a queue of files in creation order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch_impl.h"

static bool name_matches(const struct rs_watch *w, const char *name)
{
	if (w->pattern)
		return fnmatch(w->pattern, name, 0) == 0;
	return name[0] != '.';
}

/* The newest entry still called `name`. */
static struct watch_entry *latest(struct rs_watch *w, const char *name)
{
	struct watch_entry *e, *found = NULL;

	for (e = w->head; e; e = e->next)
		if (!e->gone && strcmp(e->name, name) == 0)
			found = e;
	return found;
}

static struct watch_entry *by_inode(struct rs_watch *w, dev_t dev, ino_t ino)
{
	struct watch_entry *e;

	for (e = w->head; e; e = e->next)
		if (!e->overwritten && e->dev == dev && e->ino == ino)
			return e;
	return NULL;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static bool was_done(const struct rs_watch *w, const struct stat *st)
{
	unsigned i, n = w->ndone < WATCH_DONE_RING ? w->ndone : WATCH_DONE_RING;

	for (i = 0; i < n; i++)
		if (w->done[i].dev == st->st_dev && w->done[i].ino == st->st_ino &&
		    w->done[i].mtime_ns == mtime_ns(st))
			return true;
	return false;
}

void watch_remember_done(struct rs_watch *w, const struct watch_entry *e)
{
	struct stat st;

	if (e->fd < 0 || fstat(e->fd, &st) < 0)
		return;
	w->done[w->ndone++ % WATCH_DONE_RING] = (struct watch_done){
		st.st_dev, st.st_ino, mtime_ns(&st) };
}

/* Open (or just stat, past WATCH_MAX_OPEN) `name`.  Returns 1 with *fd
 * (maybe -1) and *st for a regular file, 0 when it is gone (a new file
 * that went before we could open it is counted lost) or not a regular
 * file. */
static int entry_stat(struct rs_watch *w, const char *name, bool fresh,
		      int *fd, struct stat *st)
{
	*fd = -1;
	if (w->nopen < WATCH_MAX_OPEN) {
		/* O_NONBLOCK: a FIFO that matches must not hang us here. */
		*fd = openat(w->dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
			     O_NOCTTY);
		if (*fd >= 0 && fstat(*fd, st) == 0 && S_ISREG(st->st_mode)) {
			w->nopen++;
			return 1;
		}
		if (*fd >= 0) {
			close(*fd);
			*fd = -1;
			return 0;
		}
		if (errno == ENOENT && !fresh)
			w->st.lost_files++;
		if (errno != EMFILE && errno != ENFILE)
			return 0;
	}
	if (fstatat(w->dfd, name, st, 0) < 0)
		return 0;
	return S_ISREG(st->st_mode) ? 1 : 0;
}

/* Queue `name` as a file (a new one when `fresh`: the name's old contents
 * were replaced in place).  A name whose inode is queued already is a
 * rename (or an event that the scan at open saw too): the entry takes the
 * new name.  Returns 0 or -ENOMEM. */
int watch_add(struct rs_watch *w, const char *name, enum watch_state state,
	      bool fresh, bool skip)
{
	struct watch_entry *e, *old;
	struct stat st;
	int fd, rc;

	rc = entry_stat(w, name, fresh, &fd, &st);
	if (rc <= 0)
		return rc;
	old = by_inode(w, st.st_dev, st.st_ino);
	if (old && !fresh) {
		if (strcmp(old->name, name) != 0) {
			char *n = strdup(name);

			if (!n)
				goto nomem;
			free(old->name);
			old->name = n;
		}
		old->gone = false;
		if (fd >= 0) {
			close(fd);
			w->nopen--;
		}
		return 0;
	}
	for (; fresh && old; old = by_inode(w, st.st_dev, st.st_ino))
		old->overwritten = true;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		free(e);
		goto nomem;
	}
	e->fd = fd;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->seen = (uint64_t)st.st_size;
	e->state = state;
	e->skip = skip;
	/* A writer we knew nothing about has moved on to this new file. */
	for (old = w->head; old; old = old->next)
		if (old->state == W_UNKNOWN)
			old->state = W_CLOSED;
	if (w->tail)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	return 0;
nomem:
	if (fd >= 0) {
		close(fd);
		w->nopen--;
	}
	return -ENOMEM;
}

/* Did the file shrink below what we saw of it (truncated for reuse)? */
static bool shrunk(struct watch_entry *e)
{
	struct stat st;

	if (e->fd < 0 || fstat(e->fd, &st) < 0)
		return false;
	if ((uint64_t)st.st_size < e->seen)
		return true;
	e->seen = (uint64_t)st.st_size;
	return false;
}

static void entry_gone(struct rs_watch *w, struct watch_entry *e)
{
	struct watch_entry **pp;

	e->gone = true;
	if (e->fd >= 0 || e == w->head)
		return;         /* still readable through its descriptor */
	/* Never opened and now unreachable: lost. */
	for (pp = &w->head; *pp != e; pp = &(*pp)->next)
		;
	*pp = e->next;
	if (w->tail == e)
		for (w->tail = w->head; w->tail && w->tail->next;
		     w->tail = w->tail->next)
			;
	free(e->name);
	free(e);
	w->st.lost_files++;
}

static int on_event(struct rs_watch *w, const struct inotify_event *ev)
{
	struct watch_entry *e;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->st.overflows++;
		return watch_scan(w, false);
	}
	if (ev->wd != w->wd)
		return 0;
	if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_UNMOUNT)) {
		w->dir_gone = true;
		return 0;
	}
	if (!ev->len || (ev->mask & IN_ISDIR) || !name_matches(w, ev->name))
		return 0;
	if (ev->mask & IN_CREATE)
		return watch_add(w, ev->name, W_WRITING, false, false);
	if (ev->mask & IN_MOVED_TO)
		return watch_add(w, ev->name, W_CLOSED, false, false);
	e = latest(w, ev->name);
	if (ev->mask & IN_MODIFY) {
		/* Written after its writer closed it, or a file we no longer
		 * hold: tcpdump -W reopened the name with O_TRUNC. */
		if (!e || e->state == W_CLOSED ||
		    (e->state == W_UNKNOWN && shrunk(e)))
			return watch_add(w, ev->name, W_WRITING, true, false);
		return 0;
	}
	if (!e)
		return 0;
	if (ev->mask & IN_CLOSE_WRITE)
		e->state = W_CLOSED;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		entry_gone(w, e);
	return 0;
}

int watch_drain(struct rs_watch *w)
{
	const struct inotify_event *ev;
	ssize_t n;
	char *p;
	int rc;

	for (;;) {
		n = read(w->ifd, w->evbuf, sizeof(w->evbuf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		for (p = w->evbuf; p < w->evbuf + n;
		     p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			w->nevents++;
			rc = on_event(w, ev);
			if (rc < 0)
				return rc;
		}
	}
}

struct scanned {
	char *name;
	struct stat st;
};

static int by_mtime(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;
	int64_t tx = mtime_ns(&x->st), ty = mtime_ns(&y->st);

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Read the directory: the matching regular files, oldest first. */
static int scan_list(struct rs_watch *w, struct scanned **out, size_t *nout)
{
	struct scanned *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	fd = openat(w->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(d))) {
		if (!name_matches(w, de->d_name) ||
		    fstatat(w->dfd, de->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		v[n].name = strdup(de->d_name);
		if (!v[n].name)
			goto nomem;
		v[n++].st = st;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), by_mtime);
	*out = v;
	*nout = n;
	return 0;
nomem:
	closedir(d);
	while (n > 0)
		free(v[--n].name);
	free(v);
	return -ENOMEM;
}

/* At open (initial) and after an inotify overflow: queue the files we do
 * not know yet, oldest first.  All but the newest are complete; the newest
 * may still be written.  After an overflow, CLOSE_WRITE events may be
 * lost, so every queued file but the newest is taken as closed too. */
int watch_scan(struct rs_watch *w, bool initial)
{
	struct scanned *v = NULL;
	struct watch_entry *e, *known;
	size_t n = 0, i;
	int rc;

	rc = scan_list(w, &v, &n);
	if (rc < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		known = by_inode(w, v[i].st.st_dev, v[i].st.st_ino);
		if (known && (uint64_t)v[i].st.st_size < known->seen)
			rc = watch_add(w, v[i].name, W_WRITING, true, false);
		else if (!known && !was_done(w, &v[i].st))
			rc = watch_add(w, v[i].name,
				       i + 1 == n ? W_UNKNOWN : W_CLOSED,
				       false, initial && w->skip_existing);
	}
	for (e = w->head; e && rc == 0; e = e->next)
		if (!initial && e != w->tail)
			e->state = W_CLOSED;
		else if (!initial && e->state == W_WRITING)
			e->state = W_UNKNOWN;
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}
