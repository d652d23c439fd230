/* pcapfile_impl.h - private state of the capture-file reader (pcap, pcapng). */
#ifndef RS_PCAPFILE_IMPL_H
#define RS_PCAPFILE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rs_capture.h"

/* Record and block headers sit at any byte offset, so every field is read
 * through memcpy (no unaligned loads) and swapped when the file's byte order
 * differs from ours. */
static inline uint16_t rs_rd16(const uint8_t *p, bool swap)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t rs_rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t rs_rd64(const uint8_t *p, bool swap)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap64(v) : v;
}

/* One pcapng interface (IDB) of the current section. */
struct rs_ng_if {
	int linktype;
	uint32_t snaplen;
	uint64_t units;           /* timestamp units per second (10^n or 2^n) */
	int64_t offset_s;         /* if_tsoffset, seconds */
};

/* A mapping replaced by rs_file_remap(); frames may still point into it. */
struct rs_old_map {
	void *addr;
	size_t len;
};

/* One reader, used by one thread at a time (nothing in it is shared). */
struct rs_file {
	/* The bytes we parse: [base, base + len).  Nothing beyond is read. */
	const uint8_t *base;
	size_t len;
	void *map;                /* current mmap of the file, or NULL */
	size_t maplen;
	/* A stream (stdin, FIFO) is read into an anonymous reservation of
	 * STREAM_RESERVE bytes at buf, made writable as it fills: base never
	 * moves, so offsets stay those of the stream and the parsers need not
	 * know.  Pages behind the reader are given back (drop_behind). */
	uint8_t *buf;
	size_t buf_res, buf_rw;   /* bytes reserved, bytes made writable */
	int sfd;                  /* the stream's descriptor, or -1 */
	bool seof;                /* the stream has ended */
	uint64_t yield_ms;        /* when rs_file_next last said -EAGAIN */
	struct rs_old_map *old;   /* superseded mappings, unmapped at close */
	size_t nold;
	int fd;                   /* regular file kept open to remap; else -1 */

	uint64_t pos;             /* offset of the next record / block */
	uint64_t pf;              /* bytes before this were prefetched */
	uint64_t dropped;         /* map pages before this were given back */
	uint64_t mapped;          /* page tables made up to here (populate) */
	uint64_t chores_at;       /* rs_file_next's housekeeping at this pos */
	bool no_populate;         /* MADV_POPULATE_READ refused: faults only */
	int err;                  /* sticky negative errno once damaged */
	/* rs_file_next's fast path applies: classic pcap in our byte order
	 * with the lengths in order (2.4+), not a stream, no damage seen. */
	bool fast;
	uint32_t fast_caplen;     /* for it: min(RS_MAX_CAPLEN, snaplen or
				   * none) - larger goes the slow way */
	bool err_eof;             /* damage was "ran past the end of data" */
	enum rs_file_format fmt;
	char *name;               /* path as given, or "<stdin>" */
	char errbuf[RS_CAPTURE_ERRLEN];

	int linktype;             /* first interface (-1: none seen yet) */
	uint32_t snaplen;

	/* classic pcap */
	bool pcap_swap;
	uint16_t pcap_minor;      /* < 2.3 stored len before caplen */
	uint32_t pcap_ts_mult;    /* 1000 (usec) or 1 (nsec) */

	/* pcapng: the current section */
	bool ng_swap;
	uint32_t ng_nif;
	uint32_t ng_cap;
	struct rs_ng_if *ng_ifs;
};

#define RS_PCAP_MAGIC_US 0xa1b2c3d4u
#define RS_PCAP_MAGIC_NS 0xa1b23c4du
#define RS_NG_SHB 0x0a0d0d0au
#define RS_NG_BOM 0x1a2b3c4du

/* Record damage at byte `off`: formats "<name>: offset <off>: <msg>" into
 * f->errbuf, makes `err` sticky and returns it.  `eof` marks damage that is
 * only the data ending too early (a growing file may complete it). */
int rs_file_fail(struct rs_file *f, int err, uint64_t off, bool eof,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Whether rs_file_next() may take its fast path: classic pcap in our byte
 * order from 2.4 on (the two lengths never stored swapped), a file or
 * memory (no stream to wait for), no damage recorded.  Damage clears it
 * (rs_file_fail); clearing the damage checks again. */
static inline void rs_file_fast_check(struct rs_file *f)
{
	f->fast_caplen = f->snaplen && f->snaplen < RS_MAX_CAPLEN ?
			 f->snaplen : RS_MAX_CAPLEN;
	f->fast = !f->err && f->fmt == RS_FMT_PCAP && !f->pcap_swap &&
		  f->pcap_minor >= 4 && f->sfd < 0;
}

/* Forget recorded damage: after the data grew past a record that was cut
 * short (the parsers leave no half-done state on such damage). */
static inline void rs_file_clear_err(struct rs_file *f)
{
	f->err = 0;
	f->err_eof = false;
	f->errbuf[0] = '\0';
	rs_file_fast_check(f);
}

/* Format parsers (file_pcap.c, file_pcapng.c).  *_open parses the file
 * header at offset 0 and sets f->pos past it; *_next returns 1 with a frame,
 * 0 at the end of the data, or the error from rs_file_fail(). */
#define RS_PCAP_REC_HDR 16u

/* A classic pcap record as struct rs_frame: lengths already in order and
 * checked, h = its header at byte `off`.  Shared by rs_pcap_next() and
 * rs_file_next()'s fast path. */
static inline void rs_pcap_frame(const struct rs_file *f, struct rs_frame *fr,
				 const uint8_t *h, uint64_t off, uint32_t sec,
				 uint32_t frac, uint32_t caplen,
				 uint32_t wirelen)
{
	*fr = (struct rs_frame){
		.data = h + RS_PCAP_REC_HDR,
		.caplen = caplen,
		.wirelen = wirelen,
		/* < 2^32 s * 10^9 + 2^32 * 1000: fits in 64 bits. */
		.ts_ns = (uint64_t)sec * 1000000000u +
			 (uint64_t)frac * f->pcap_ts_mult,
		.linktype = f->linktype,
		.offset = off,
	};
}

int rs_pcap_open(struct rs_file *f);
int rs_pcap_next(struct rs_file *f, struct rs_frame *fr);
int rs_ng_open(struct rs_file *f);
int rs_ng_next(struct rs_file *f, struct rs_frame *fr);
/* Look ahead from f->pos for the first interface (sets linktype/snaplen):
 * 1 found, 0 not there (another block first), -EAGAIN the data ended. */
int rs_ng_peek_first_if(struct rs_file *f);

/* Parse `len` bytes at `data` as a capture file named `name` (for
 * messages).  The bytes are not copied: they must outlive the rs_file.
 * Same returns and ownership as rs_file_open().  Used by tests (exact-size
 * buffers let ASan catch any over-read) and by callers holding a buffer. */
int rs_file_open_mem(struct rs_file **out, const char *name,
		     const void *data, size_t len, char *err, size_t errlen);

/* Pick up bytes appended to a regular file since it was opened (for a later
 * --watch).  Grows the mapping in place when it can, else maps the file anew
 * and keeps the old mapping until rs_file_close(), so frames already returned
 * stay valid.  If rs_file_next() had stopped on a record cut short by the end
 * of the data, that error is cleared and the record is read again.
 * Returns 1 if the data grew, 0 if not, -EOPNOTSUPP for streams and memory,
 * or another negative errno (the file is unchanged then).  The file must
 * not shrink while mapped: reading a page past its new end raises SIGBUS. */
int rs_file_remap(struct rs_file *f);

#endif /* RS_PCAPFILE_IMPL_H */
