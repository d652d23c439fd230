/* pcapwriter_impl.h - private state of the pcap writer (rs_pcapw_*). */
#ifndef RS_PCAPWRITER_IMPL_H
#define RS_PCAPWRITER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "rs_capture.h"

#define PW_FILE_HDR 24u
#define PW_REC_HDR 16u
#define PW_CACHELINE 64
/* iovecs per pwritev() (IOV_MAX is 1024); records that sit next to each
 * other in a ring merge into one, so this is rarely reached. */
#define PW_BATCH_IOV 256

/* One producer's single-producer/single-consumer byte ring.  It holds the
 * records exactly as they go into the file (16-byte pcap record header, then
 * the data), wrapping at the end of buf, so the writer hands ring memory
 * straight to pwritev().  head and tail only grow (64 bits never wrap);
 * position p lives at buf[p & mask].  The producer publishes a record with
 * a release store of head; the writer hands the space back with a release
 * store of tail once the bytes are in the file. */
struct pw_ring {
	/* Written by the producer only. */
	_Alignas(PW_CACHELINE) _Atomic uint64_t head;
	uint64_t tail_seen;       /* the producer's last look at tail */
	_Atomic uint64_t dropped; /* relaxed; single writer, so no RMW */
	_Atomic uint64_t mismatched;
	/* Written by the writer thread only. */
	_Alignas(PW_CACHELINE) _Atomic uint64_t tail;
	/* Fixed after open. */
	_Alignas(PW_CACHELINE) uint8_t *buf;
};

struct rs_pcapw {
	struct pw_ring *rings;
	unsigned nrings;
	uint64_t qcap;            /* bytes per ring, a power of two */

	/* Configuration. */
	char *path;
	uint64_t rotate;          /* bytes; 0 = never */
	unsigned max_files;       /* 0 = unlimited */
	int width;                /* digits of the file number (tcpdump's
				   * WflagChars) */
	int linktype;
	uint32_t snaplen;
	bool ns;

	/* The writer thread's (the opener's until the thread starts). */
	int fd;                   /* current file, -1 after a failed open */
	unsigned index;           /* number of the current file */
	char *name;               /* its name, PATH_MAX + 1 bytes */
	uint64_t size;            /* file size once the batch is written */
	uint64_t good;            /* bytes known to be in the file */
	/* The batch: records [batch_pos, ...) of batch_ring, as iovecs. */
	struct iovec iov[PW_BATCH_IOV];
	int niov;
	struct pw_ring *batch_ring;
	uint64_t batch_pos, batch_pkts, batch_bytes;

	pthread_t thread;
	bool started;
	_Atomic int stop;         /* close: drain and exit */
	_Atomic int hold;         /* tests: the writer leaves the rings alone */

	/* Totals, written by the writer thread only (relaxed). */
	_Atomic uint64_t packets, bytes, lost, files, write_errors;
	/* First failure: errmsg is written once, then first_err is published
	 * with a release store; readers load first_err with acquire. */
	_Atomic int first_err;
	char errmsg[RS_CAPTURE_ERRLEN];
};

#endif /* RS_PCAPWRITER_IMPL_H */
