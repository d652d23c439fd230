/* replay.h - --replay: send every reconstructed HTTP request to one server, over a pool of keep-alive connections.
 *
 * Workers hand transactions to rs_replay_submit() on the hot path: it
 * copies the raw request head and kept body into that worker's bounded
 * lock-free queue and returns (full queue: a counted drop; never waits).
 * One replay thread moves them to a pool of non-blocking keep-alive
 * connections to the one address given (numeric, never resolved): every
 * captured connection maps to one pool connection (by flow hash), whose
 * requests go one at a time, in capture order, like HTTP/1.1 without
 * pipelining.  A target that is down or slow fills the queues and so costs
 * drops, never capture.
 *
 * When a request is sent: at transaction emission, i.e. once its response
 * ended in the capture (or the captured flow ended).  That is the order the
 * HTTP layer guarantees per connection, and it costs no extra state.
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "rs_reassembly.h"

struct rs_replay_opts {
	const char *target;      /* --replay HOST:PORT, as given */
	unsigned conns;          /* --replay-conns N (4) */
	double rate;             /* --replay-rate R req/s (0 = no limit) */
	double percent;          /* --replay-percent P of connections (100) */
	unsigned timeout_ms;     /* --replay-timeout MS per request (5000) */
	const char *host;        /* --replay-host NAME: Host rewrite */
	unsigned body_kb;        /* --replay-body-kb KB: longest body (64) */
	unsigned queue_mb;       /* --replay-queue-mb MB per worker (4) */
	double drain_s;          /* --replay-drain S: longest wait at exit (10) */
	bool given;              /* some --replay-* option was given */
	/* Filled by rs_replay_opts_check from target: */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

/* The --replay-* options (besides --replay itself). */
enum rs_replay_opt {
	RS_REPLAY_OPT_CONNS, RS_REPLAY_OPT_RATE, RS_REPLAY_OPT_PERCENT,
	RS_REPLAY_OPT_TIMEOUT, RS_REPLAY_OPT_HOST, RS_REPLAY_OPT_BODY_KB,
	RS_REPLAY_OPT_QUEUE_MB, RS_REPLAY_OPT_DRAIN,
};

void rs_replay_opts_default(struct rs_replay_opts *o);
/* One option's value.  Returns 0, or -EINVAL after saying why on stderr. */
int rs_replay_opt_set(struct rs_replay_opts *o, enum rs_replay_opt which,
		      const char *val);
/* After parsing: the target must be a numeric IPv4 "A.B.C.D:PORT" or IPv6
 * "[ADDR]:PORT" address (nothing is resolved), and --replay-* options need
 * --replay.  Returns 0 or -EINVAL after saying why on stderr. */
int rs_replay_opts_check(struct rs_replay_opts *o);
/* Parse a target; 0 or -EINVAL with the reason in err. */
int rs_replay_parse_target(const char *s, struct sockaddr_storage *sa,
			   socklen_t *len, char *err, size_t errlen);
/* Help text for the options. */
extern const char rs_replay_usage[];
/* Longest request body replayed, in bytes. */
size_t rs_replay_body_max(const struct rs_replay_opts *o);
/* What workers pass to rs_http_layer_set_keep_body when replaying. */
size_t rs_replay_keep_body(const struct rs_replay_opts *o);

struct rs_replay_stats {
	uint64_t offered;          /* transactions given to rs_replay_submit */
	uint64_t sampled_out;      /* not in --replay-percent */
	uint64_t skipped;          /* not replayable: head or body not kept
				    * whole, CONNECT/upgrade, bad request or
				    * smuggling, or the target's own traffic */
	uint64_t dropped;          /* = dropped_queue + dropped_exit */
	uint64_t dropped_queue;    /* queue full */
	uint64_t dropped_exit;     /* still unsent when the drain ended */
	uint64_t sent;             /* requests written whole to the target */
	uint64_t answered[6];      /* [1]..[5]: final status class */
	uint64_t failed;           /* no response: the reasons below */
	uint64_t failed_connect, failed_reset, failed_timeout, failed_protocol;
	uint64_t retries;          /* re-sent once after a stale keep-alive */
	uint64_t connects;         /* connections opened */
	uint64_t lat_count;
	double lat_mean_ms, lat_p50_ms, lat_p99_ms, lat_max_ms;
};

struct rs_replay;

/* Engine for nworkers producers.  Returns 0, -ENOMEM, or a negative errno
 * with err filled (epoll, eventfd).  Main thread. */
int rs_replay_new(struct rs_replay **out, const struct rs_replay_opts *o,
		  unsigned nworkers, char *err, size_t errlen);
/* Start the replay thread.  Returns 0 or a negative errno. */
int rs_replay_start(struct rs_replay *r);
/* Worker `worker`'s thread only (one producer per queue), from the HTTP
 * layer's callback: never blocks, allocates nothing; t is copied.  Safe
 * with r NULL (does nothing). */
void rs_replay_submit(struct rs_replay *r, unsigned worker,
		      const struct rs_flow_info *f, const struct rs_http_txn *t);
/* After the workers stopped submitting: send what is queued, waiting at
 * most --replay-drain seconds (less when the queues empty, or when no
 * response came for two --replay-timeout), count the rest, close every
 * connection and join the thread.  Idempotent.  Main thread. */
void rs_replay_stop(struct rs_replay *r);
/* Counters (exact once stopped; a snapshot before). */
void rs_replay_get_stats(const struct rs_replay *r, struct rs_replay_stats *s);
/* The counters as summary JSON members (",\n  \"replay_sent\": N" ...),
 * and as the final summary's lines on the console. */
void rs_replay_report_json(const struct rs_replay *r, FILE *fp);
void rs_replay_report_line(const struct rs_replay *r, FILE *fp);
/* Stops if needed and frees.  NULL is ignored. */
void rs_replay_free(struct rs_replay *r);

#endif /* REPLAY_H */
