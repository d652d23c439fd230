/* rs_capture.h - where frames come from: capture files and TPACKET_V3 rings.
 *
 * capture/ hands out frames as struct rs_frame, pointing into memory owned
 * by the source (an mmap'd file, or a ring block) and valid until the next
 * call on that source.  Nothing here copies packet data, except reading a
 * non-seekable stream (stdin), which must be buffered once.
 * All functions return 0 (or a count) on success and a negative errno on
 * failure; none exits.  Error text goes into the source's error buffer.
 */
#ifndef RS_CAPTURE_H
#define RS_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One captured frame. */
struct rs_frame {
	const uint8_t *data;
	uint32_t caplen;          /* bytes at data */
	uint32_t wirelen;         /* original length on the wire */
	uint64_t ts_ns;           /* UNIX time in nanoseconds */
	int linktype;             /* pcap LINKTYPE_* of this frame */
	uint32_t ifindex;         /* pcapng interface id, or ring ifindex */
	uint16_t vlan_tci;        /* tag the kernel stripped (ring only) */
	uint16_t vlan_tpid;
	bool vlan_valid;
	uint8_t pkttype;          /* PACKET_HOST/OUTGOING/... (ring, SLL) */
	uint64_t offset;          /* byte offset of the record in the file */
};

#define RS_CAPTURE_ERRLEN 256
/* Hard limit on a record's captured length, whatever the header claims. */
#define RS_MAX_CAPLEN (256u * 1024u)

/* ---- Capture files: pcap (both byte orders, us/ns), pcapng ---------- */

struct rs_file;

enum rs_file_format { RS_FMT_PCAP, RS_FMT_PCAPNG };

/* Open `path` ("-" = stdin) and read its file header.
 * Returns 0 and sets *out, or a negative errno with a message naming the
 * file and offset in err (-EINVAL for a damaged/unknown format, -ENOENT,
 * -EACCES ...).  The caller frees *out with rs_file_close(). */
int rs_file_open(struct rs_file **out, const char *path, char *err,
		 size_t errlen);

/* Next frame.  Returns 1 and fills *fr; 0 at a clean end of file; a negative
 * errno on damage (then rs_file_error() says what and where, and frames
 * already returned stay valid and counted).  fr->data stays valid until
 * rs_file_close(). */
int rs_file_next(struct rs_file *f, struct rs_frame *fr);

const char *rs_file_error(const struct rs_file *f);
enum rs_file_format rs_file_format(const struct rs_file *f);
/* Link type of the first interface (pcap: the file's link type). */
int rs_file_linktype(const struct rs_file *f);
/* Snapshot length from the header (first interface for pcapng). */
uint32_t rs_file_snaplen(const struct rs_file *f);
void rs_file_close(struct rs_file *f);

/* ---- Live capture: one AF_PACKET socket + TPACKET_V3 ring per worker ---- */

enum rs_fanout_mode {
	RS_FANOUT_NONE = -1,
	RS_FANOUT_HASH = 0,       /* PACKET_FANOUT_HASH: symmetric flow hash */
	RS_FANOUT_LB = 1,
	RS_FANOUT_CPU = 2,
	RS_FANOUT_QM = 5,
	RS_FANOUT_EBPF = 7,
};

struct rs_ring_config {
	const char *ifname;
	unsigned block_size;      /* bytes, power of two >= 64 KiB */
	unsigned block_nr;        /* blocks in the ring */
	unsigned block_timeout_ms;/* retire a partly filled block after this */
	unsigned snaplen;         /* 0 = whole frames */
	int fanout_mode;          /* enum rs_fanout_mode */
	uint16_t fanout_id;       /* shared by all sockets of one capture */
	bool fanout_defrag, fanout_rollover;
	bool promisc;
	bool ignore_outgoing;
};

struct rs_ring_stats {
	uint64_t packets;         /* frames the kernel delivered to the ring */
	uint64_t drops;           /* frames the kernel dropped (ring full) */
	uint64_t freezes;         /* times the queue froze */
};

struct rs_ring;

/* Create the socket and ring and join the fanout group, with a drop-all
 * filter in place from before bind so no frame slips in unfiltered.  On
 * -ENOMEM it retries with fewer blocks and says so in err.  Returns 0 or a
 * negative errno with a message in err. */
int rs_ring_open(struct rs_ring **out, const struct rs_ring_config *cfg,
		 char *err, size_t errlen);

/* Replace the drop-all filter with `prog` (classic BPF, struct sock_fprog;
 * NULL = accept all), after draining what the drop-all phase left.  */
struct sock_fprog;
int rs_ring_set_filter(struct rs_ring *r, const struct sock_fprog *prog);
/* Attach an eBPF socket filter program by fd instead. */
int rs_ring_set_ebpf_filter(struct rs_ring *r, int prog_fd);

typedef void (*rs_frame_fn)(void *user, const struct rs_frame *fr);

/* Wait up to timeout_ms for a block, then hand every frame of every ready
 * block to fn, in ring order, returning each block to the kernel right after
 * its frames.  Returns frames handled (>= 0) or a negative errno (-ENETDOWN
 * when the interface went away). */
int rs_ring_poll(struct rs_ring *r, int timeout_ms, rs_frame_fn fn,
		 void *user);

/* Read the kernel's counters (which reset on read) into the ring's 64-bit
 * totals and copy the totals to *out.  Only this reads PACKET_STATISTICS. */
int rs_ring_stats(struct rs_ring *r, struct rs_ring_stats *out);
int rs_ring_fd(const struct rs_ring *r);
void rs_ring_close(struct rs_ring *r);

#endif /* RS_CAPTURE_H */
