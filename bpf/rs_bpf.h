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
 * Returns 0 and *out; -EINVAL (bad expression, libpcap's message in err),
 * -EPERM, -ENODEV, -ENETDOWN or -EIO (cannot open the interface; err
 * says why).  The program is
 * for SO_ATTACH_FILTER on a SOCK_RAW packet socket; rs_filter_match() on it
 * rejects frames that need the ancillary loads, so use rs_filter_compile()
 * for frames matched in user space. */
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

#endif /* RS_BPF_H */
