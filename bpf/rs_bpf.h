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

/* Compile `expr` for link type `linktype` and snapshot length `snaplen`
 * (0 = 262144).  An empty or NULL expr compiles to "accept all".
 * Returns 0 and *out, or -EINVAL with libpcap's message in err. */
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

#endif /* RS_BPF_H */
