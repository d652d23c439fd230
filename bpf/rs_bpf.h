/* rs_bpf.h - packet filters: tcpdump expressions compiled to classic BPF.
 *
 * bpf/ turns a tcpdump filter expression into a classic BPF program (with
 * libpcap) that the kernel runs on every socket of a live capture, and that
 * the file reader runs on each frame, so live and offline results agree.
 * The eBPF socket and fanout programs (bpf/NAME.bpf.c) are loaded from here too.
 * Functions return 0 or a negative errno and never exit.
 */
#ifndef RS_BPF_H
#define RS_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rs_bpf_shared.h"

struct sock_fprog;

struct rs_filter;

/* Compile `expr` for link type `linktype` (LINKTYPE_* or DLT_*) and
 * snapshot length `snaplen` (0 = 262144).  An empty or NULL expr compiles to
 * "accept all".  Returns 0 and *out, or -EINVAL with libpcap's message in
 * err (-ENOMEM, -E2BIG likewise); *out is NULL on failure. */
int rs_filter_compile(struct rs_filter **out, const char *expr, int linktype,
		      uint32_t snaplen, char *err, size_t errlen);

/* True when the frame passes.  Reads only data[0..caplen). */
bool rs_filter_match(const struct rs_filter *f, const uint8_t *data,
		     uint32_t caplen, uint32_t wirelen);

/* The program in the kernel's layout, for SO_ATTACH_FILTER.  Valid until
 * rs_filter_free(). */
const struct sock_fprog *rs_filter_fprog(const struct rs_filter *f);

/* Print the program like `tcpdump -d` (level 1), -dd (2) or -ddd (3). */
void rs_filter_dump(const struct rs_filter *f, int level, void *stdio_file);

void rs_filter_free(struct rs_filter *f);

/* ---- Additions (additive to the agreed API) -------------------------- */

/* Thread notes for everything above: compile/dump may be called from any
 * thread (they serialise on an internal lock); rs_filter_match,
 * rs_filter_fprog and the accessors only read the filter, so any number of
 * threads may use one filter at once.  The filter is freed by its owner with
 * rs_filter_free() (NULL is fine).
 *
 * Compiling may resolve host names (getaddrinfo) when the expression names
 * one; numeric addresses never touch the network. */

/* Compile for a live socket on `ifname`, the way tcpdump -i does: libpcap
 * opens and activates a capture handle briefly (needs CAP_NET_RAW) so that
 * the code uses the kernel's ancillary loads where frames differ from the
 * wire (e.g. `vlan`, whose tag the kernel strips into skb metadata).
 * Returns 0 and *out; -EINVAL (bad expression, libpcap's message in err);
 * -EPERM, -ENODEV, -ENETDOWN or -EIO (cannot open the interface; err says
 * why); -EOPNOTSUPP for "any" and other cooked-mode devices, whose programs
 * libpcap rewrites for SOCK_DGRAM.  The program is for SO_ATTACH_FILTER on
 * a SOCK_RAW packet socket; rs_filter_match() on it rejects frames that
 * need the ancillary loads, so match frames in user space with a program
 * from rs_filter_compile(). */
int rs_filter_compile_live(struct rs_filter **out, const char *expr,
			   const char *ifname, uint32_t snaplen, char *err,
			   size_t errlen);

/* Link type the filter was compiled for; instruction count. */
int rs_filter_linktype(const struct rs_filter *f);
unsigned rs_filter_len(const struct rs_filter *f);

/* One expression, one program per link type (pcapng files may mix link
 * types).  Programs are compiled on first use and kept, failures too, so a
 * link type the expression cannot apply to costs one compile, not one per
 * frame.  A set is used by one thread at a time (it grows on lookups). */
struct rs_filter_set;

/* Returns 0 and *out, or -ENOMEM.  Nothing is compiled yet: call
 * rs_filter_set_get() with the file's first link type at once to report a
 * bad expression before reading.  Free with rs_filter_set_free(). */
int rs_filter_set_new(struct rs_filter_set **out, const char *expr,
		      uint32_t snaplen, char *err, size_t errlen);

/* The filter for `linktype`: returns 0 and *out (owned by the set, valid
 * until rs_filter_set_free()), or the compile error (-EINVAL with libpcap's
 * message prefixed by the link type in err, *out = NULL) -- the same error
 * on every call for that link type. */
int rs_filter_set_get(struct rs_filter_set *s, int linktype,
		      const struct rs_filter **out, char *err, size_t errlen);

void rs_filter_set_free(struct rs_filter_set *s);

/* ---- eBPF socket filter and fanout programs (bpf/NAME.bpf.c) ---------
 *
 * Built only when clang and bpftool were found (meson option `ebpf`);
 * otherwise the open calls return -EOPNOTSUPP with a message saying so
 * (the spec parser always works).  Loading needs CAP_BPF (or root) and a
 * kernel with BPF_PROG_TYPE_SOCKET_FILTER programs and LPM tries (>= 4.11).
 *
 * Order for a live capture with --ebpf-filter SPEC (see rs_capture.h):
 *   rs_ebpf_spec_parse(&spec, SPEC) -> exit 2 with err on failure
 *   rs_ebpf_filter_open(&ef, &spec) -> rs_ebpf_spec_free(&spec)
 *   rings open -> rs_ring_set_ebpf_filter(r, rs_ebpf_filter_fd(ef)) on each
 *   (instead of rs_ring_set_filter: a socket has one filter)
 *   while running: rs_ebpf_filter_add_port/..., rs_ebpf_filter_counters()
 *   rings closed -> rs_ebpf_filter_close(ef)
 * and for --fanout ebpf: rs_ebpf_fanout_open(&fo, nworkers) before the
 * rings' filters, rs_ring_set_fanout_ebpf(any ring, rs_ebpf_fanout_fd(fo)),
 * rs_ebpf_fanout_close(fo) after the rings.  The kernel keeps attached
 * programs alive by itself; closing early only loses the maps' handles.
 *
 * Opening installs a libbpf print callback for the duration of the call
 * (libbpf has one per process) to put libbpf's message into err; call the
 * open functions from one thread at a time.  Other calls on one handle: one
 * thread at a time; the kernel side runs concurrently with all of them. */

/* --ebpf-filter grammar (whitespace around tokens is ignored):
 *   spec   := "" | clause { ";" clause }
 *   clause := "port=" port { "," port } | "net=" cidr { "," cidr }
 *   port   := N | N "-" M          (0 <= N <= M <= 65535)
 *   cidr   := IPv4 [ "/" 0..32 ] | IPv6 [ "/" 0..128 ]   (no "/": host)
 * e.g. "port=80,443,8000-8080;net=198.18.0.0/15,fe80::/10".  Clauses of the
 * same key add up.  A frame passes when its src or dst port is listed (if
 * any port is) and its src or dst address is inside a listed prefix (if any
 * is); non-IP frames and fragments without ports fail an active set. */
struct rs_ebpf_cidr {
	uint8_t family;           /* AF_INET or AF_INET6 */
	uint8_t prefixlen;        /* bits */
	uint8_t addr[16];         /* network order; IPv4 in addr[0..3] */
};

struct rs_ebpf_spec {
	uint16_t *ports;          /* sorted, no duplicates */
	size_t nports;
	struct rs_ebpf_cidr *cidrs;  /* host bits cleared, no duplicates */
	size_t ncidrs;
	bool ignore_outgoing;     /* not in the grammar: set by the caller */
};

/* Parse `text` (NULL or "" = pass everything) into *spec.  Returns 0, or
 * -EINVAL with a message naming the bad token and its byte offset in err,
 * -E2BIG over RS_EBPF_MAX_PORTS ports or RS_EBPF_MAX_NETS prefixes, -ENOMEM.
 * On failure *spec is empty.  Free with rs_ebpf_spec_free(). */
int rs_ebpf_spec_parse(struct rs_ebpf_spec *spec, const char *text, char *err,
		       size_t errlen);
void rs_ebpf_spec_free(struct rs_ebpf_spec *spec);

/* One prefix "198.18.0.0/15", "fe80::1" ...  Returns 0 or -EINVAL. */
int rs_ebpf_cidr_parse(struct rs_ebpf_cidr *c, const char *text);

/* True when the eBPF programs were built in. */
bool rs_ebpf_built(void);

struct rs_ebpf_filter;

/* Open, configure (spec may be NULL = pass all) and load the socket filter.
 * Returns 0 and *out; -EOPNOTSUPP (not built), -EPERM (no CAP_BPF), -EINVAL
 * (verifier refused) ... with libbpf's message in err; *out NULL then.  The
 * caller frees with rs_ebpf_filter_close(). */
int rs_ebpf_filter_open(struct rs_ebpf_filter **out,
			const struct rs_ebpf_spec *spec, char *err,
			size_t errlen);

/* The program fd for SO_ATTACH_BPF; owned by the filter. */
int rs_ebpf_filter_fd(const struct rs_ebpf_filter *f);

/* Change the sets while frames flow.  Adding to an empty set activates it
 * (from then on only matching frames pass); deleting its last entry makes
 * it pass everything again.  Return 0; -ENOENT (del: not there), -E2BIG
 * (map full), -EINVAL (bad prefix), or another negative errno. */
int rs_ebpf_filter_add_port(struct rs_ebpf_filter *f, uint16_t port);
int rs_ebpf_filter_del_port(struct rs_ebpf_filter *f, uint16_t port);
int rs_ebpf_filter_add_cidr(struct rs_ebpf_filter *f,
			    const struct rs_ebpf_cidr *c);
int rs_ebpf_filter_del_cidr(struct rs_ebpf_filter *f,
			    const struct rs_ebpf_cidr *c);

/* Counters summed over CPUs, by protocol class and verdict. */
enum rs_ebpf_proto {
	RS_EBPF_TCP, RS_EBPF_UDP, RS_EBPF_ICMP, RS_EBPF_OTHER, RS_EBPF_PROTOS
};
struct rs_ebpf_counters {
	uint64_t passed_pkts[RS_EBPF_PROTOS], passed_bytes[RS_EBPF_PROTOS];
	uint64_t dropped_pkts[RS_EBPF_PROTOS], dropped_bytes[RS_EBPF_PROTOS];
};
/* Bytes are skb->len: the whole frame as the packet socket sees it (MAC
 * header included, a stripped VLAN tag not).  Returns 0 or -errno; any
 * thread, any time before close. */
int rs_ebpf_filter_counters(const struct rs_ebpf_filter *f,
			    struct rs_ebpf_counters *out);

void rs_ebpf_filter_close(struct rs_ebpf_filter *f);

struct rs_ebpf_fanout;

/* Load the fanout demux program for a group of `nsockets` members (the
 * program returns hash % nsockets; 0 = the raw 32-bit hash), with a random
 * hash seed.  Returns 0 and *out, or as rs_ebpf_filter_open(). */
int rs_ebpf_fanout_open(struct rs_ebpf_fanout **out, unsigned nsockets,
			char *err, size_t errlen);

/* Same, with a given seed (tests, reproducible benchmarks). */
int rs_ebpf_fanout_open_seeded(struct rs_ebpf_fanout **out, unsigned nsockets,
			       uint32_t seed, char *err, size_t errlen);

/* The program fd for PACKET_FANOUT_DATA; owned by the handle. */
int rs_ebpf_fanout_fd(const struct rs_ebpf_fanout *p);

void rs_ebpf_fanout_close(struct rs_ebpf_fanout *p);

#endif /* RS_BPF_H */
