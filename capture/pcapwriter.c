/* pcapwriter.c - pcap files written by one thread from per-worker lock-free
 * queues, rotated like tcpdump -w/-C/-W. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcapwriter_impl.h"

#define PW_MAGIC_US 0xa1b2c3d4u
#define PW_MAGIC_NS 0xa1b23c4du
#define PW_DEFAULT_SNAPLEN 262144u
#define PW_MAX_QUEUE (1ull << 30)
#define LINKTYPE_ETHERNET 1
/* The writer naps this long after a pass that moved less than
 * PW_BUSY_BYTES, so light traffic costs ~1000 write calls a second at most
 * and heavy traffic is written back to back. */
#define PW_NAP_NS 1000000L
#define PW_BUSY_BYTES (256u << 10)
/* Bytes per pwritev() when a ring holds more. */
#define PW_CHUNK (1u << 20)

/* ---- the ring: tiny verbs ---------------------------------------------- */

static void ring_put(const struct rs_pcapw *w, struct pw_ring *r, uint64_t pos,
		     const void *src, size_t n)
{
	size_t off = (size_t)(pos & (w->qcap - 1));
	size_t first = n < w->qcap - off ? n : (size_t)(w->qcap - off);

	memcpy(r->buf + off, src, first);
	if (n > first)
		memcpy(r->buf, (const uint8_t *)src + first, n - first);
}

static void ring_get(const struct rs_pcapw *w, const struct pw_ring *r,
		     uint64_t pos, void *dst, size_t n)
{
	size_t off = (size_t)(pos & (w->qcap - 1));
	size_t first = n < w->qcap - off ? n : (size_t)(w->qcap - off);

	memcpy(dst, r->buf + off, first);
	if (n > first)
		memcpy((uint8_t *)dst + first, r->buf, n - first);
}

/* Producer-side counter: only this thread writes it, so a relaxed load and
 * store is enough (no locked read-modify-write on the hot path). */
static void count1(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void add_relaxed(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

int rs_pcapw_write(struct rs_pcapw *w, unsigned producer,
		   const struct rs_frame *fr)
{
	struct pw_ring *r;
	uint32_t caplen = fr->caplen, wirelen = fr->wirelen, hdr[4], n;
	uint64_t head, need, pos;
	bool tag;

	if (producer >= w->nrings)
		return -EINVAL;
	r = &w->rings[producer];
	if (fr->linktype != w->linktype) {
		count1(&r->mismatched);
		return -EINVAL;
	}
	/* libpcap puts the tag the kernel stripped back after the MACs. */
	tag = fr->vlan_valid && w->linktype == LINKTYPE_ETHERNET &&
	      caplen >= 12 && caplen <= UINT32_MAX - 4;
	if (tag) {
		caplen += 4;
		wirelen = wirelen > UINT32_MAX - 4 ? UINT32_MAX : wirelen + 4;
	}
	if (caplen > w->snaplen)
		caplen = w->snaplen;
	need = PW_REC_HDR + (uint64_t)caplen;
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (head + need - r->tail_seen > w->qcap) {
		r->tail_seen = atomic_load_explicit(&r->tail,
						    memory_order_acquire);
		if (head + need - r->tail_seen > w->qcap) {
			count1(&r->dropped);
			return -ENOBUFS;
		}
	}
	hdr[0] = (uint32_t)(fr->ts_ns / 1000000000u);
	hdr[1] = (uint32_t)(fr->ts_ns % 1000000000u);
	if (!w->ns)
		hdr[1] /= 1000u;
	hdr[2] = caplen;
	hdr[3] = wirelen;
	ring_put(w, r, head, hdr, sizeof(hdr));
	pos = head + PW_REC_HDR;
	if (tag) {
		uint16_t tpid = fr->vlan_tpid ? fr->vlan_tpid : 0x8100;
		uint8_t t[4] = { (uint8_t)(tpid >> 8), (uint8_t)tpid,
				 (uint8_t)(fr->vlan_tci >> 8),
				 (uint8_t)fr->vlan_tci };

		/* caplen may have been cut anywhere: MACs, tag, rest. */
		n = caplen < 12 ? caplen : 12;
		ring_put(w, r, pos, fr->data, n);
		pos += n;
		caplen -= n;
		n = caplen < 4 ? caplen : 4;
		ring_put(w, r, pos, t, n);
		pos += n;
		caplen -= n;
		ring_put(w, r, pos, fr->data + 12, caplen);
	} else {
		ring_put(w, r, pos, fr->data, caplen);
	}
	atomic_store_explicit(&r->head, head + need, memory_order_release);
	return 0;
}

/* ---- files --------------------------------------------------------------- */

/* Keep the first failure's text; count every one. */
static void pw_fail(struct rs_pcapw *w, int err, const char *what)
{
	add_relaxed(&w->write_errors, 1);
	if (atomic_load_explicit(&w->first_err, memory_order_relaxed))
		return;
	snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s: %s", w->name, what,
		 strerror(-err));
	atomic_store_explicit(&w->first_err, err, memory_order_release);
}

/* tcpdump's MakeFilename(): the bare path for file 0 without -W (or with
 * -W 1), else path + the number zero-padded to `width` digits. */
static int pw_make_name(struct rs_pcapw *w)
{
	int n;

	if (w->index == 0 && w->width == 0)
		n = snprintf(w->name, PATH_MAX + 1, "%s", w->path);
	else
		n = snprintf(w->name, PATH_MAX + 1, "%s%0*u", w->path,
			     w->width, w->index);
	return n < 0 || n > PATH_MAX ? -ENAMETOOLONG : 0;
}

/* pwritev() all of iov at off; *done gets the bytes written, also when it
 * fails part way. */
static int write_all(int fd, struct iovec *iov, int niov, uint64_t off,
		     uint64_t *done)
{
	ssize_t n;

	*done = 0;
	while (niov > 0) {
		n = pwritev(fd, iov, niov > IOV_MAX ? IOV_MAX : niov,
			    (off_t)(off + *done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		*done += (uint64_t)n;
		while (niov > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof(v)); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof(v)); }

/* Create (or truncate, like fopen "w") the current file and write the file
 * header, in host byte order like libpcap.  On failure fd stays -1 and the
 * error is recorded. */
static int pw_file_open(struct rs_pcapw *w)
{
	uint8_t h[PW_FILE_HDR] = { 0 };
	struct iovec iov = { h, sizeof(h) };
	uint64_t done;
	int rc;

	put32(h, w->ns ? PW_MAGIC_NS : PW_MAGIC_US);
	put16(h + 4, 2);
	put16(h + 6, 4);
	put32(h + 16, w->snaplen);
	put32(h + 20, (uint32_t)w->linktype);
	w->size = w->good = 0;
	rc = pw_make_name(w);
	if (rc < 0) {
		pw_fail(w, rc, "file name");
		return rc;
	}
	w->fd = open(w->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (w->fd < 0) {
		rc = -errno;
		pw_fail(w, rc, "cannot create");
		return rc;
	}
	add_relaxed(&w->files, 1);
	rc = write_all(w->fd, &iov, 1, 0, &done);
	if (rc < 0) {
		pw_fail(w, rc, "write");
		close(w->fd);
		w->fd = -1;
		return rc;
	}
	w->size = w->good = PW_FILE_HDR;
	add_relaxed(&w->bytes, PW_FILE_HDR);
	return 0;
}

static void pw_file_close(struct rs_pcapw *w)
{
	if (w->fd < 0)
		return;
	if (close(w->fd) < 0 && errno != EINTR)
		pw_fail(w, -errno, "close");
	w->fd = -1;
}

/* The whole records at the start of the batch that fit in `done` bytes:
 * the batch is one stretch of one ring, so walk it again. */
static uint64_t pw_whole(const struct rs_pcapw *w, uint64_t done,
			 uint64_t *pkts)
{
	uint64_t keep = 0, pos = w->batch_pos, len;
	uint32_t caplen;

	for (*pkts = 0; *pkts < w->batch_pkts; (*pkts)++, pos += len) {
		ring_get(w, w->batch_ring, pos + 8, &caplen, sizeof(caplen));
		len = PW_REC_HDR + (uint64_t)caplen;
		if (keep + len > done)
			break;
		keep += len;
	}
	return keep;
}

/* Write the batch.  On failure (disk full, I/O error) the records that made
 * it whole are kept, the file is cut back to the last of them, so it stays
 * a valid pcap file and a later batch can go on from there, and the rest
 * is lost (counted).  After a failed open (fd -1) the file is tried again
 * first. */
static void pw_flush(struct rs_pcapw *w)
{
	uint64_t done = 0, keep, pkts = 0;
	int rc = -EBADF;

	if (w->niov == 0)
		return;
	if (w->fd < 0 && pw_file_open(w) == 0)
		w->size = w->good + w->batch_bytes;
	if (w->fd >= 0) {
		rc = write_all(w->fd, w->iov, w->niov, w->good, &done);
		if (rc < 0)
			pw_fail(w, rc, "write");
	}
	if (rc == 0) {
		keep = w->batch_bytes;
		pkts = w->batch_pkts;
	} else {
		keep = pw_whole(w, done, &pkts);
		if (w->fd >= 0 && done != keep &&
		    ftruncate(w->fd, (off_t)(w->good + keep)) < 0)
			pw_fail(w, -errno, "truncate after error");
		w->size = w->good + keep;
	}
	w->good += keep;
	add_relaxed(&w->packets, pkts);
	add_relaxed(&w->bytes, keep);
	add_relaxed(&w->lost, w->batch_pkts - pkts);
	w->niov = 0;
	w->batch_pkts = 0;
	w->batch_bytes = 0;
}

/* tcpdump's rotation: close, next number (wrapping at max_files), open. */
static void pw_rotate(struct rs_pcapw *w)
{
	pw_file_close(w);
	w->index++;
	if (w->max_files && w->index >= w->max_files)
		w->index = 0;
	(void)pw_file_open(w);
}

static void pw_add_iov(struct rs_pcapw *w, uint8_t *p, size_t len)
{
	struct iovec *last = w->niov ? &w->iov[w->niov - 1] : NULL;

	if (last && (uint8_t *)last->iov_base + last->iov_len == p) {
		last->iov_len += len;
		return;
	}
	w->iov[w->niov++] = (struct iovec){ p, len };
}

/* Queue the record at ring position pos for the current file. */
static void pw_add(struct rs_pcapw *w, struct pw_ring *r, uint64_t pos,
		   uint64_t len)
{
	size_t off = (size_t)(pos & (w->qcap - 1));
	size_t first = len < w->qcap - off ? (size_t)len : (size_t)(w->qcap - off);

	if (w->niov > PW_BATCH_IOV - 2)
		pw_flush(w);
	if (w->niov == 0) {
		w->batch_ring = r;
		w->batch_pos = pos;
	}
	pw_add_iov(w, r->buf + off, first);
	if (len > first)
		pw_add_iov(w, r->buf, (size_t)len - first);
	w->size += len;
	w->batch_bytes += len;
	w->batch_pkts++;
}

/* Move everything the producers published so far into the files.  Returns
 * the ring bytes moved. */
static uint64_t pw_pass(struct rs_pcapw *w)
{
	uint64_t moved = 0, head, tail, pos, len;
	uint32_t caplen;
	unsigned i;

	for (i = 0; i < w->nrings; i++) {
		struct pw_ring *r = &w->rings[i];

		head = atomic_load_explicit(&r->head, memory_order_acquire);
		tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		for (pos = tail; pos < head; pos += len) {
			ring_get(w, r, pos + 8, &caplen, sizeof(caplen));
			len = PW_REC_HDR + (uint64_t)caplen;
			/* tcpdump: before each packet, is the file > -C? */
			if (w->rotate && w->size > w->rotate) {
				pw_flush(w);
				pw_rotate(w);
			}
			pw_add(w, r, pos, len);
			/* Hand space back as we go, so the producer refills
			 * while we write the next chunk. */
			if (w->batch_bytes >= PW_CHUNK) {
				pw_flush(w);
				atomic_store_explicit(&r->tail, pos + len,
						      memory_order_release);
			}
		}
		pw_flush(w);
		atomic_store_explicit(&r->tail, head, memory_order_release);
		moved += head - tail;
	}
	return moved;
}

static void *pw_main(void *arg)
{
	struct rs_pcapw *w = arg;
	struct timespec nap = { 0, PW_NAP_NS };
	uint64_t moved;
	int stop;

	for (;;) {
		/* Producers are done before stop is set (close's contract), so
		 * a pass that starts after seeing stop and finds nothing has
		 * seen everything. */
		stop = atomic_load_explicit(&w->stop, memory_order_acquire);
		moved = 0;
		if (stop || !atomic_load_explicit(&w->hold, memory_order_acquire))
			moved = pw_pass(w);
		if (stop && moved == 0)
			break;
		if (!stop && moved < PW_BUSY_BYTES)
			nanosleep(&nap, NULL);
	}
	pw_file_close(w);
	return NULL;
}

/* ---- open / close -------------------------------------------------------- */

static void pw_free(struct rs_pcapw *w)
{
	unsigned i;

	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (i = 0; w->rings && i < w->nrings; i++)
		free(w->rings[i].buf);
	free(w->rings);
	free(w->name);
	free(w->path);
	free(w);
}

static int pw_check(const struct rs_pcapw_config *cfg, unsigned nproducers,
		    char *err, size_t errlen)
{
	const char *why = NULL;

	if (!cfg || !cfg->path || !cfg->path[0])
		why = "no file name";
	else if (nproducers == 0)
		why = "no producers";
	else if (cfg->max_files && !cfg->rotate_bytes)
		why = "a file count (-W) needs a file size (-C)";
	else if (cfg->queue_bytes > PW_MAX_QUEUE)
		why = "queue larger than 1 GiB per producer";
	else if (cfg->linktype < 0)
		why = "no link type";
	if (!why)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "pcap writer: %s", why);
	return -EINVAL;
}

static unsigned digits(unsigned x)
{
	unsigned c = 0;

	for (; x > 0; x /= 10)
		c++;
	return c;
}

/* A power of two >= want that holds at least one largest record. */
static uint64_t queue_size(size_t want, uint32_t snaplen)
{
	uint64_t need = want ? want : RS_PCAPW_DEFAULT_QUEUE, q = 4096;

	if (need < PW_REC_HDR + (uint64_t)snaplen)
		need = PW_REC_HDR + (uint64_t)snaplen;
	while (q < need)
		q <<= 1;
	return q;
}

static int pw_start(struct rs_pcapw *w)
{
	sigset_t all, old;
	int rc;

	/* The writer never handles signals: they stay with the app's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, pw_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	w->started = true;
	return 0;
}

int rs_pcapw_open(struct rs_pcapw **out, const struct rs_pcapw_config *cfg,
		  unsigned nproducers, char *err, size_t errlen)
{
	struct rs_pcapw *w = NULL;
	unsigned i;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	*out = NULL;
	rc = pw_check(cfg, nproducers, err, errlen);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto fail;
	w->fd = -1;
	w->path = strdup(cfg->path);
	w->name = malloc(PATH_MAX + 1);
	if (!w->path || !w->name)
		goto fail;
	w->name[0] = '\0';
	w->rotate = cfg->rotate_bytes;
	w->max_files = cfg->max_files;
	w->width = cfg->max_files ? (int)digits(cfg->max_files - 1) : 0;
	w->linktype = cfg->linktype;
	w->snaplen = cfg->snaplen ? cfg->snaplen : PW_DEFAULT_SNAPLEN;
	w->ns = cfg->nanosecond;
	w->qcap = queue_size(cfg->queue_bytes, w->snaplen);
	w->nrings = nproducers;
	w->rings = aligned_alloc(PW_CACHELINE, nproducers * sizeof(*w->rings));
	if (!w->rings)
		goto fail;
	memset(w->rings, 0, nproducers * sizeof(*w->rings));
	for (i = 0; i < nproducers; i++) {
		w->rings[i].buf = aligned_alloc(4096, (size_t)w->qcap);
		if (!w->rings[i].buf)
			goto fail;
		/* Fault the pages in now, not on the hot path. */
		memset(w->rings[i].buf, 0, (size_t)w->qcap);
	}
	rc = pw_file_open(w);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", w->errmsg);
		goto out;
	}
	rc = pw_start(w);
	if (rc < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: pcap writer: %s",
			 cfg->path, strerror(-rc));
out:
	pw_free(w);
	return rc;
}

void rs_pcapw_stats(const struct rs_pcapw *w, struct rs_pcapw_stats *out)
{
	unsigned i;

	*out = (struct rs_pcapw_stats){
		.packets = atomic_load_explicit(&w->packets, memory_order_relaxed),
		.bytes = atomic_load_explicit(&w->bytes, memory_order_relaxed),
		.lost = atomic_load_explicit(&w->lost, memory_order_relaxed),
		.files = atomic_load_explicit(&w->files, memory_order_relaxed),
		.write_errors = atomic_load_explicit(&w->write_errors,
						     memory_order_relaxed),
	};
	for (i = 0; i < w->nrings; i++) {
		out->dropped += atomic_load_explicit(&w->rings[i].dropped,
						     memory_order_relaxed);
		out->mismatched += atomic_load_explicit(&w->rings[i].mismatched,
							memory_order_relaxed);
	}
}

const char *rs_pcapw_error(const struct rs_pcapw *w)
{
	if (!atomic_load_explicit(&w->first_err, memory_order_acquire))
		return "";
	return w->errmsg;
}

int rs_pcapw_close(struct rs_pcapw *w, struct rs_pcapw_stats *final,
		   char *err, size_t errlen)
{
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!w)
		return 0;
	atomic_store_explicit(&w->stop, 1, memory_order_release);
	if (w->started)
		pthread_join(w->thread, NULL);
	if (final)
		rs_pcapw_stats(w, final);
	if (err && errlen)
		snprintf(err, errlen, "%s", rs_pcapw_error(w));
	rc = atomic_load_explicit(&w->first_err, memory_order_acquire);
	pw_free(w);
	return rc;
}
