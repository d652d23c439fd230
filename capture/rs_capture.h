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

/* Defaults (rs_ring_config_default).  1 MiB blocks hold a 64 KiB frame
 * (loopback MTU, GRO/defragmented datagrams) whole with room for ~700
 * full-size Ethernet frames per block; the kernel allocates each block as
 * one high-order chunk and falls back to vmalloc, so 1 MiB is safe on a
 * fragmented machine.  64 blocks = 64 MiB per worker absorbs ~50 ms of a
 * worker stall at 10 Gbit/s (~0.5 s at 1 Gbit/s).  A 10 ms block timeout
 * bounds delivery latency when traffic is light (the kernel only retires
 * non-empty blocks, so an idle ring costs no wake-ups). */
#define RS_RING_DEFAULT_BLOCK_SIZE (1u << 20)
#define RS_RING_DEFAULT_BLOCK_NR 64u
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
	unsigned snaplen;         /* 0 = whole frames; else caplen is cut to
				   * this (wirelen stays the original length) */
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
				   * packets by what is still in the ring */
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
 * fr->data is valid only during the callback.  Returns frames handled
 * (>= 0; 0 on timeout or EINTR) or a negative errno: -ENETDOWN when the
 * interface went down or away (sticky: every later call returns it too). */
int rs_ring_poll(struct rs_ring *r, int timeout_ms, rs_frame_fn fn,
		 void *user);

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

#endif /* RS_CAPTURE_H */
