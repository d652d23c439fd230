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
 * already returned stay valid and counted).  A stream (stdin or a FIFO
 * that is not a redirected file) is parsed as it arrives: while it keeps
 * us waiting this returns -EAGAIN at least every ~100 ms, which is not
 * sticky (call again; the caller can flush, tick or stop meanwhile).
 * fr->data stays valid until rs_file_close() for files and memory; for a
 * stream, until the next call (older data is given back). */
int rs_file_next(struct rs_file *f, struct rs_frame *fr);

const char *rs_file_error(const struct rs_file *f);
enum rs_file_format rs_file_format(const struct rs_file *f);
/* Link type of the first interface (pcap: the file's link type). */
int rs_file_linktype(const struct rs_file *f);
/* Snapshot length from the header (first interface for pcapng). */
uint32_t rs_file_snaplen(const struct rs_file *f);
void rs_file_close(struct rs_file *f);

/* ---- Live capture: one AF_PACKET socket + TPACKET_V3 ring per worker ----
 *
 * Call order, per capture:
 *   1. rs_ring_config_default(&cfg), adjust, then rs_ring_open() once per
 *      worker with the same cfg (same fanout_id).  Each ring starts with a
 *      drop-all filter, so nothing is captured yet.
 *   2. (ebpf fanout) rs_ring_set_fanout_ebpf() on any one ring.
 *   3. rs_ring_set_filter() (or rs_ring_set_ebpf_filter()) on every ring,
 *      only after ALL rings are open: the fanout group spreads flows by the
 *      number of members, so a flow seen while members are still joining
 *      could be split across workers.
 *   4. Each worker thread: rs_ring_poll() in a loop.  Frames point into the
 *      ring block and are valid only inside the callback.
 *   5. Reporter thread: rs_ring_stats() at any time (see there).
 *   6. After the workers are joined and the reporter has read its last
 *      stats: rs_ring_close().
 * Threads: set_filter/set_ebpf_filter/poll/close on one ring must not run
 * concurrently with each other (the worker owns the ring walk); rs_ring_stats
 * and rs_iface_drops may run concurrently with anything but close.
 *
 * VLAN tags: the kernel strips the outer 802.1Q/802.1ad tag before AF_PACKET
 * sees an Ethernet frame (hardware offload on real NICs, skb_vlan_untag on
 * veth and software paths).  frame.vlan_valid says a tag was stripped;
 * vlan_tci is the tag (PCP/DEI/VID; 0 is a valid priority tag) and vlan_tpid
 * its ethertype (0x8100 or 0x88a8).  To restore the wire bytes, insert
 * tpid (big endian) + tci (big endian) after the two MAC addresses (at
 * byte 12), which makes the frame 4 bytes longer.
 */

enum rs_fanout_mode {
	RS_FANOUT_NONE = -1,
	RS_FANOUT_HASH = 0,       /* PACKET_FANOUT_HASH: symmetric flow hash */
	RS_FANOUT_LB = 1,
	RS_FANOUT_CPU = 2,
	RS_FANOUT_QM = 5,
	RS_FANOUT_EBPF = 7,
};

/* Defaults (rs_ring_config_default).  256 KiB blocks hold a 64 KiB frame
 * (loopback MTU, GRO/defragmented datagrams) whole with room for ~170
 * full-size Ethernet frames per block.  256 blocks = 64 MiB per worker
 * absorbs ~50 ms of a worker stall at 10 Gbit/s (~0.5 s at 1 Gbit/s).
 * The block count matters as much as the size: a 10 ms timeout retires a
 * partly filled block, so at light rates each block holds only 10 ms of
 * traffic and N blocks absorb a stall of N * 10 ms whatever their size:
 * 256 blocks give 2.5 s, where 64 x 1 MiB gave 0.64 s and dropped at a few
 * thousand packets/s when a worker was starved.  The kernel only retires
 * non-empty blocks, so an idle ring costs no wake-ups. */
#define RS_RING_DEFAULT_BLOCK_SIZE (256u << 10)
#define RS_RING_DEFAULT_BLOCK_NR 256u
#define RS_RING_DEFAULT_TIMEOUT_MS 10u

struct rs_ring_config {
	const char *ifname;
	unsigned block_size;      /* bytes, power of two >= page size; frames
				   * longer than block_size - 48 - ~80 bytes of
				   * headers are truncated by the kernel, so
				   * use >= 128 KiB to hold 64 KiB frames */
	unsigned block_nr;        /* blocks in the ring, >= 1 */
	unsigned block_timeout_ms;/* retire a partly filled block after this
				   * (0 = the kernel derives it from the link
				   * speed, 8 ms when unknown) */
	unsigned snaplen;         /* 0 = whole frames (up to RS_MAX_CAPLEN);
				   * else caplen is cut to this (wirelen stays
				   * the original length) */
	int fanout_mode;          /* enum rs_fanout_mode; NONE ignores the
				   * fanout_* fields below */
	uint16_t fanout_id;       /* shared by all sockets of one capture and
				   * unique in the network namespace */
	bool fanout_defrag, fanout_rollover;
	bool promisc;
	bool ignore_outgoing;     /* do not capture frames this host sends */
};

struct rs_ring_stats {
	/* From the kernel (PACKET_STATISTICS, accumulated in 64 bits): */
	uint64_t packets;         /* frames the kernel put into the ring after
				   * the filter (its tp_packets - tp_drops),
				   * minus frames discarded by the drain in
				   * rs_ring_set_filter */
	uint64_t drops;           /* frames that passed the filter but were
				   * dropped because the ring was full
				   * (tp_drops; = kernel_drops) */
	uint64_t freezes;         /* times the ring froze (tp_freeze_q_cnt) */
	/* From this ring's walk (written by the worker, read relaxed): */
	uint64_t frames;          /* frames handed to the callback; lags
				   * packets by what is still in the ring
				   * (frames <= packets in every snapshot) */
	uint64_t blocks;          /* blocks walked and returned to the kernel */
	uint64_t bad_blocks;      /* blocks cut short by a bounds check (frame
				   * header/offsets outside the block) */
	uint64_t seq_gaps;        /* blocks whose seq_num was not the previous
				   * one + 1 (would mean lost sync) */
};

struct rs_ring;

/* Fill *c with the defaults above: fanout HASH with DEFRAG (fragments of a
 * datagram reach the same worker), no rollover (it breaks flow affinity),
 * fanout_id from the process id, promisc on (like tcpdump), snaplen 0,
 * ignore_outgoing off.  ifname is NULL: the caller sets it. */
void rs_ring_config_default(struct rs_ring_config *c);

/* Create the socket and ring and join the fanout group, with a drop-all
 * filter in place from before bind so no frame slips in unfiltered.
 * Returns 0 and sets *out (free with rs_ring_close()), or a negative errno
 * with a message in err and *out = NULL:
 *   -EINVAL  bad config (block size not a power of two or < page size, zero
 *            blocks, unknown fanout mode, fanout group exists with another
 *            mode/flags/interface)
 *   -ENODEV  interface not found      -ENETDOWN  interface is down
 *   -EPERM   not root / no CAP_NET_RAW
 *   -ENOMEM  no ring fits, even after halving the block count
 *   -EPROTONOSUPPORT  kernel lacks TPACKET_V3 or fanout, or the link type
 *            has no pcap equivalent.
 * On -ENOMEM from the kernel it retries with half the blocks (down to 2, or
 * 1 if asked for 1) and on success says so in err: err is written even on
 * success, so the caller prints it when err[0] != '\0'. */
int rs_ring_open(struct rs_ring **out, const struct rs_ring_config *cfg,
		 char *err, size_t errlen);

/* Replace the drop-all filter with `prog` (classic BPF, struct sock_fprog;
 * NULL = accept all), after draining what the drop-all phase left (only on
 * the first call; later calls swap filters without draining).  The kernel
 * swaps filters atomically; with ignore_outgoing a 4-instruction
 * "drop PACKET_OUTGOING" guard is put in front of prog (the kernel ignores
 * PACKET_IGNORE_OUTGOING for fanout members).  With snaplen and prog == NULL
 * the accept-all program returns snaplen, so the kernel copies no more.
 * Returns 0 or a negative errno (rs_ring_error() says why; -EINVAL for a
 * program the kernel rejects).  Worker-side call (see thread rules). */
struct sock_fprog;
int rs_ring_set_filter(struct rs_ring *r, const struct sock_fprog *prog);
/* Attach an eBPF socket filter program by fd instead (SO_ATTACH_BPF; the
 * caller keeps its fd).  ignore_outgoing is then up to the program on
 * kernels < 6.2 in fanout mode (skb->pkt_type == PACKET_OUTGOING). */
int rs_ring_set_ebpf_filter(struct rs_ring *r, int prog_fd);
/* Attach the fanout demux program (BPF_PROG_TYPE_SOCKET_FILTER; returns the
 * member index) of an RS_FANOUT_EBPF group via PACKET_FANOUT_DATA.  One call
 * on any ring sets it for the whole group.  Until then every frame goes to
 * the first member.  Returns 0 or a negative errno (-EINVAL if the ring is
 * not in an ebpf fanout group). */
int rs_ring_set_fanout_ebpf(struct rs_ring *r, int prog_fd);

typedef void (*rs_frame_fn)(void *user, const struct rs_frame *fr);

/* Wait up to timeout_ms for a block (skipped when one is ready), then hand
 * every frame of every ready block (at most one lap of the ring) to fn, in
 * ring order, returning each block to the kernel right after its frames.
 * fr->data is valid only during the callback; fn NULL discards the frames.
 * Returns frames handled (>= 0; 0 on timeout or EINTR) or a negative errno:
 * -ENETDOWN when the interface went down or away (sticky: every later call
 * returns it too). */
int rs_ring_poll(struct rs_ring *r, int timeout_ms, rs_frame_fn fn,
		 void *user);
/* Only the wait of rs_ring_poll: returns 1 when a block is ready (or the
 * socket has an error for the next rs_ring_poll to report), 0 on timeout or
 * EINTR, or a negative errno.  For callers that must do something around
 * the blocking part, e.g. leave an RCU read-side state while asleep. */
int rs_ring_wait(struct rs_ring *r, int timeout_ms);

/* Read the kernel's counters (which reset on read) into the ring's 64-bit
 * totals and copy the totals to *out.  Only this reads PACKET_STATISTICS.
 * Safe to call from a reporter thread while the worker polls, and from
 * several threads (a mutex serialises the read-and-add); not during or after
 * rs_ring_close().  The kernel's counters die with the socket: read the
 * final stats before closing.  Returns 0 or a negative errno. */
int rs_ring_stats(struct rs_ring *r, struct rs_ring_stats *out);
int rs_ring_fd(const struct rs_ring *r);
/* pcap LINKTYPE_* of the ring's interface (every frame carries it too). */
int rs_ring_linktype(const struct rs_ring *r);
/* Why the last set_filter/set_ebpf_filter/set_fanout_ebpf/poll failed. */
const char *rs_ring_error(const struct rs_ring *r);
/* Closes the socket (leaving the fanout group, dropping promisc) and unmaps
 * the ring.  NULL is fine. */
void rs_ring_close(struct rs_ring *r);

/* The interface's own drop counters from
 * /sys/class/net/IF/statistics/{rx_dropped,rx_missed_errors} (frames the
 * NIC/driver lost before any socket saw them).  Note /sys shows the network
 * namespace it was mounted in (`ip netns exec` remounts it).  Returns 0, or
 * -EINVAL (bad name), -ENODEV (no such interface in /sys), -EIO (unreadable
 * counter).  A counter the driver lacks reads as 0. */
int rs_iface_drops(const char *ifname, uint64_t *rx_dropped,
		   uint64_t *rx_missed);

/* ---- Writing pcap files, rotating like tcpdump -w/-C/-W --------------
 *
 * Workers hand frames to rs_pcapw_write(); each copies the frame (the ring
 * block goes back to the kernel right after) into its own lock-free
 * single-producer ring and returns at once.  One writer thread drains all
 * rings with batched pwritev() calls and rotates the files.
 *
 * Call order:
 *   1. rs_pcapw_open() once (any thread): creates the first file, so a bad
 *      path fails here, before the capture starts; starts the writer thread.
 *   2. Producer i (0 <= i < nproducers) calls rs_pcapw_write(w, i, fr) from
 *      one thread at a time (normally: worker i, from its frame callback).
 *   3. rs_pcapw_stats() and rs_pcapw_error() from any thread, at any time.
 *   4. When no producer calls rs_pcapw_write() any more (workers joined):
 *      rs_pcapw_close(), once.
 *
 * Files and rotation are tcpdump 4.99's, checked against it in
 * tests/capture/pcapw_vs_tcpdump.sh:
 *   - no rotation (rotate_bytes 0): one file, `path`.
 *   - rotate_bytes, max_files 0: path, path1, path2, ...
 *   - rotate_bytes and max_files N: path0 ... path(N-1), the number
 *     zero-padded to the digits of N-1 (N = 11: path00 ... path10), then
 *     path0 again (truncated and rewritten); N = 1: always `path` itself.
 *   - before writing a packet, the current file (file header included) is
 *     closed and the next one opened if its size is > rotate_bytes; a file
 *     therefore ends just past rotate_bytes, not below it.
 * Records are written in the file's header byte order (the host's), with
 * microsecond or nanosecond timestamps.  A frame whose VLAN tag the kernel
 * stripped (vlan_valid, Ethernet) gets its tag back, as libpcap does.
 *
 * Order: frames of one producer are written in the order given.  Frames of
 * different producers interleave in batches (one batch per producer per
 * writer pass, every ~1 ms under light load), so timestamps in the file can
 * step back by about that much where the producer changes (tcpdump, with one
 * thread, writes in capture order; `reordercap` sorts a file if needed).
 */

#define RS_PCAPW_DEFAULT_QUEUE (16u << 20)  /* bytes per producer */

struct rs_pcapw_config {
	const char *path;         /* -w; copied */
	uint64_t rotate_bytes;    /* 0 = never rotate; -C MB is MB * 1000000 */
	unsigned max_files;       /* -W; 0 = unlimited; needs rotate_bytes */
	int linktype;             /* LINKTYPE_* of the file (and of every
				   * frame written to it) */
	uint32_t snaplen;         /* file header; frames are cut to it;
				   * 0 = 262144 (tcpdump's default) */
	bool nanosecond;          /* nanosecond timestamps (magic a1b23c4d) */
	size_t queue_bytes;       /* per producer, rounded up to a power of
				   * two; 0 = RS_PCAPW_DEFAULT_QUEUE */
};

struct rs_pcapw_stats {
	uint64_t packets;         /* records written to the files */
	uint64_t bytes;           /* bytes written, file headers included */
	uint64_t dropped;         /* frames not queued: producer ring full */
	uint64_t mismatched;      /* frames refused: linktype not the file's */
	uint64_t lost;            /* queued records lost to write errors */
	uint64_t files;           /* files opened (first one included) */
	uint64_t write_errors;    /* failed open/write/close calls */
};

struct rs_pcapw;

/* Check cfg, allocate nproducers rings (touched up front, so the hot path
 * takes no page faults), create the first file and write its header, start
 * the writer thread (with all signals blocked).  Returns 0 and sets *out, or
 * a negative errno with *out = NULL and a message in err naming the file:
 * -EINVAL (bad config: no path, nproducers 0, max_files without
 * rotate_bytes, queue_bytes too large), -ENOMEM, or open()/write()'s errno
 * (-ENOENT, -EACCES, -ENOSPC ...).  Free *out with rs_pcapw_close(). */
int rs_pcapw_open(struct rs_pcapw **out, const struct rs_pcapw_config *cfg,
		  unsigned nproducers, char *err, size_t errlen);

/* Hot path: queue one frame for writing.  Copies the record header and
 * min(caplen (+4 with a restored VLAN tag), snaplen) bytes into producer's
 * ring; never blocks, allocates or locks.  Returns 0 when queued,
 * -ENOBUFS when the ring is full (counted in dropped), -EINVAL when
 * fr->linktype is not the file's (counted in mismatched).  Only producer's
 * own thread may call this for a given producer index. */
int rs_pcapw_write(struct rs_pcapw *w, unsigned producer,
		   const struct rs_frame *fr);

/* Totals so far (relaxed reads; exact once rs_pcapw_close() has run, see
 * there).  Any thread, until close. */
void rs_pcapw_stats(const struct rs_pcapw *w, struct rs_pcapw_stats *out);

/* The first write-side failure ("PATH: write: No space left on device"),
 * or "" while there was none.  The text never changes once set.  Any
 * thread, until close.  After an error the writer keeps going: the records
 * of the failed write that did not make it to the file whole are lost
 * (counted), the file is cut back to its last whole record (a valid pcap
 * file), and later writes are tried again, so the caller decides whether a
 * full disk ends the capture (write_errors > 0). */
const char *rs_pcapw_error(const struct rs_pcapw *w);

/* Write everything still queued, close the file, join the writer thread and
 * free w.  Call only after the last rs_pcapw_write() of every producer has
 * returned.  If `final` is not NULL it gets the final totals; if err is not
 * NULL it gets rs_pcapw_error()'s text.  Returns 0, or the negative errno of
 * the first write-side failure.  NULL w is fine (returns 0). */
int rs_pcapw_close(struct rs_pcapw *w, struct rs_pcapw_stats *final,
		   char *err, size_t errlen);

/* ---- Following rotating capture files in a directory (--watch) -------
 *
 * Reads every capture file written into a directory, in creation order,
 * each while it grows, as `tcpdump -C N [-W M] -w DIR/x.pcap` writes them,
 * using inotify.  Single-threaded: one thread calls everything on one
 * rs_watch.
 *
 *   rs_watch_open(&w, dir, pattern, flags, err, len);
 *   while (!stop) {
 *       rc = rs_watch_next(w, &fr, 100);
 *       if (rc == 1) -> use fr (valid until the next rs_watch_* call)
 *       if (rc == 0) -> nothing new within the timeout: check stop, tick
 *       if (rc == -EINVAL) -> a damaged or unreadable file was skipped:
 *                             print rs_watch_error(w) and go on
 *       else if (rc < 0) -> fatal (directory gone, inotify failure, ENOMEM)
 *   }
 *   rs_watch_close(w);
 *
 * What counts as a file:
 *   - A file is finished when its writer has closed it (or it was deleted
 *     or renamed away, or a newer file appeared while its writer was
 *     unknown) AND a newer file is queued AND a read found no more bytes.
 *     Until then a record cut short by the end of the data is waited for,
 *     not an error.  A finished file that ends inside a record is damaged.
 *   - A name written again after its writer closed it (tcpdump -W wrapping
 *     around and truncating x.pcap0) is a new file, read from its start,
 *     queued after the files before it.  Files are opened when the reader
 *     hears of them (each time it needs more bytes or waits, so at least
 *     once per 1 MiB read), so one deleted later is still read to its end.
 *   - Files already in the directory at open are read first, oldest
 *     modification time first (unless RS_WATCH_NEW_ONLY).
 * Files are read with pread() into a buffer, never mapped: tcpdump's
 * wrap-around truncates a file that may be mapped, and touching a mapped
 * page past the new end would raise SIGBUS.  If the watcher falls so far
 * behind that tcpdump reuses the name of the file it is reading, the rest
 * of that file is gone: it stops there (counted in `overwritten`) and never
 * parses the new contents as the old file's. */

#define RS_WATCH_NEW_ONLY 1u      /* skip files already in the directory */

struct rs_watch_stats {
	uint64_t packets;         /* frames returned */
	uint64_t bytes;           /* their captured bytes */
	uint64_t files;           /* files started (each reuse of a name too) */
	uint64_t files_done;      /* files read to their end and left */
	uint64_t bad_files;       /* damaged or unreadable files skipped */
	uint64_t lost_files;      /* deleted before they could be opened */
	uint64_t overwritten;     /* name reused before the file was read to
				   * its end: its last packets are missing */
	uint64_t overflows;       /* inotify queue overflows (dir rescanned) */
};

struct rs_watch;

/* Watch `dir` for files whose name matches the fnmatch(3) `pattern` (NULL:
 * every name not starting with '.').  Returns 0 and sets *out (free with
 * rs_watch_close()), or a negative errno with *out = NULL and a message in
 * err: -ENOENT, -ENOTDIR, -EACCES, -EMFILE (inotify limits), -ENOMEM. */
int rs_watch_open(struct rs_watch **out, const char *dir, const char *pattern,
		  unsigned flags, char *err, size_t errlen);

/* Next frame, waiting up to timeout_ms (< 0: forever; 0: no wait) for one.
 * Returns 1 and fills *fr (fr->data valid until the next call on w;
 * fr->offset is the record's offset in its file), 0 when none arrived in
 * time (or a signal interrupted the wait), -EINVAL when a file turned out
 * damaged or unreadable (rs_watch_error() names it, the offset and why; it
 * is skipped and the next call goes on with the next file), or another
 * negative errno that is fatal and sticky: -ENOENT when the directory
 * itself was deleted (after every file still open was read), -ENOMEM, or
 * inotify's errno. */
int rs_watch_next(struct rs_watch *w, struct rs_frame *fr, int timeout_ms);

/* The last error message, "" before any; also says where a file was cut
 * short by the reuse of its name (stats.overwritten). */
const char *rs_watch_error(const struct rs_watch *w);
/* Name (inside dir) of the file being read, or NULL between files. */
const char *rs_watch_current(const struct rs_watch *w);
void rs_watch_stats(const struct rs_watch *w, struct rs_watch_stats *out);
/* Close every descriptor and free w.  NULL is fine. */
void rs_watch_close(struct rs_watch *w);

#endif /* RS_CAPTURE_H */
