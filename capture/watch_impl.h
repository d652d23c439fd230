/* watch_impl.h - private state of the directory follower (rs_watch_*). */
#ifndef RS_WATCH_IMPL_H
#define RS_WATCH_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/types.h>

#include "rs_capture.h"

/* The read window starts at 1 MiB and grows (doubling) to hold one whole
 * record or block; pcap records are <= 16 + RS_MAX_CAPLEN bytes, pcapng
 * blocks are refused past WATCH_WIN_MAX. */
#define WATCH_WIN_INIT (1u << 20)
#define WATCH_WIN_MAX (64u << 20)
/* Files are opened when they appear (so a later unlink cannot take them
 * away), up to this many; later ones are opened when their turn comes. */
#define WATCH_MAX_OPEN 64u
/* Finished files remembered, so a rescan after an inotify overflow does not
 * read them again. */
#define WATCH_DONE_RING 256u

enum watch_state {
	W_WRITING,                /* a writer created it and has not closed it */
	W_UNKNOWN,                /* was there at open: maybe still written */
	W_CLOSED,                 /* its writer closed it (or it was moved in,
				   * or a newer file appeared) */
};

/* One file to read: a name at one time.  A name tcpdump reuses gets a new
 * entry for its new contents. */
struct watch_entry {
	struct watch_entry *next;
	char *name;               /* inside the directory */
	int fd;                   /* -1 until opened */
	dev_t dev;
	ino_t ino;
	uint64_t seen;            /* largest size observed */
	enum watch_state state;
	bool gone;                /* deleted, or renamed away from name */
	bool overwritten;         /* name reused in place: bytes past what we
				   * read before that belong to the new file */
	bool skip;                /* RS_WATCH_NEW_ONLY: there at open */
};

struct watch_done {
	dev_t dev;
	ino_t ino;
	int64_t mtime_ns;
};

struct rs_watch {
	int ifd;                  /* inotify */
	int wd;
	int dfd;                  /* the directory */
	char *dir;
	char *pattern;            /* fnmatch(3), or NULL */
	struct watch_entry *head, *tail;  /* head: the file being read */
	unsigned nopen;
	uint64_t nevents;         /* inotify events handled so far */
	bool dir_gone;
	bool skip_existing;       /* RS_WATCH_NEW_ONLY */
	int fatal;                /* sticky negative errno */

	/* The head file: bytes [woff, woff + wlen) of it are in win. */
	struct rs_file *f;        /* parser over win, after the file header */
	char *fpath;              /* "dir/name" for messages */
	uint8_t *win;
	size_t wcap, wlen;
	uint64_t woff;
	bool counted;             /* head counted in stats.files */

	struct watch_done done[WATCH_DONE_RING];
	unsigned ndone;

	struct rs_watch_stats st;
	char errbuf[RS_CAPTURE_ERRLEN];
	_Alignas(struct inotify_event) char evbuf[64 * 1024];
};

/* watch_dir.c: the queue.  Each returns 0 or a negative errno (fatal). */
/* Queue file `name` (see there). */
int watch_add(struct rs_watch *w, const char *name, enum watch_state state,
	      bool fresh, bool skip);
/* Handle every queued inotify event, without waiting. */
int watch_drain(struct rs_watch *w);
/* Queue the files in the directory we do not know yet. */
int watch_scan(struct rs_watch *w, bool initial);
/* Remember a finished file so a rescan skips it. */
void watch_remember_done(struct rs_watch *w, const struct watch_entry *e);

#endif /* RS_WATCH_IMPL_H */
