/* live_util.h - helpers for the ring tests: a private network namespace with
 * its own loopback, UDP senders with marked payloads, frame parsing, polls
 * with deadlines. */
#ifndef LIVE_UTIL_H
#define LIVE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rs_capture.h"

/* Move this process into a new network namespace and bring its lo up.
 * Returns 0 or a negative errno (then the caller skips). */
int lu_private_netns(void);
/* Set lo up or down (in the current namespace).  0 or -errno. */
int lu_lo_set(bool up);
bool lu_is_root(void);

uint64_t lu_now_ms(void);       /* CLOCK_MONOTONIC */
uint64_t lu_wall_ns(void);      /* CLOCK_REALTIME */

/* A UDP socket bound to 127.0.0.1:port (0 = any port).  Returns fd or -errno. */
int lu_udp_socket(uint16_t port);
uint16_t lu_udp_port(int fd);
/* Send `len` payload bytes from fd to 127.0.0.1:dport.  The payload starts
 * with an lu_mark (magic, marker, seq) when len allows, then a byte pattern
 * derived from seq.  Returns 0 or -errno. */
int lu_send(int fd, uint16_t dport, uint32_t marker, uint32_t seq,
	    size_t len);

#define LU_MAGIC 0x52534e46u   /* "RSNF" */
struct lu_mark {
	uint32_t magic, marker, seq;
};

/* A parsed Ethernet/IPv4/UDP frame from lo. */
struct lu_udp {
	uint32_t saddr, daddr;  /* network order */
	uint16_t sport, dport;  /* host order */
	const uint8_t *payload;
	size_t payload_len;     /* as captured (may be cut by snaplen) */
	size_t udp_len;         /* from the UDP header */
	bool has_mark;
	struct lu_mark mark;
};
/* Parse fr as Ethernet + IPv4 + UDP.  Returns true if it is one. */
bool lu_parse_udp(const struct rs_frame *fr, struct lu_udp *u);
/* Does the payload equal what lu_send() wrote for this seq and length? */
bool lu_payload_ok(const struct lu_udp *u, uint32_t seq);

/* Poll r until stop(user) is true or deadline_ms (from now) passes.
 * Returns the last rs_ring_poll() result if negative, else frames handled. */
int lu_poll_until(struct rs_ring *r, unsigned deadline_ms, rs_frame_fn fn,
		  void *user, bool (*stop)(void *user));

/* Test defaults: lo, 8 x 256 KiB blocks (a 64 KiB loopback frame fits),
 * 10 ms block timeout, no fanout, no promisc. */
void lu_default_config(struct rs_ring_config *c);

#endif /* LIVE_UTIL_H */
