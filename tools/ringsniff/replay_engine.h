/* replay_engine.h - the replay engine's private state, shared by replay.c (queues in, thread, life cycle) and replay_pool.c (connections out). */
#ifndef REPLAY_ENGINE_H
#define REPLAY_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "replay.h"
#include "replay_impl.h"

#define PQ_MAX 256              /* requests waiting per pool connection */
#define PQ_BYTES (4u << 20)     /* and their bytes (one may be bigger) */
#define DISPATCH_BUDGET 256     /* records per queue per loop turn */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define IDLE_WAIT_MS 100        /* longest sleep: bounds every reaction */
#define RBUF_SIZE 65536

/* Only the owning thread writes a counter; others read it with atomic
 * loads, so single-writer increments need no read-modify-write. */
#define BUMP(x) __atomic_store_n(&(x), (x) + 1, __ATOMIC_RELAXED)
#define READ(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A queued record: this, then the raw head, then the body. */
struct rec {
	uint64_t hash;
	uint32_t head_len, body_len;
};

struct wq {
	struct rs_spsc q;
	alignas(64) uint64_t offered, sampled_out, skipped, dropped, queued;
};

/* A request for one pool connection, as it will be sent. */
struct preq {
	struct preq *next;
	uint32_t len, off;          /* bytes; bytes written */
	struct rs_req_info info;
	bool sent, retried, tokened;
	uint8_t data[];
};

enum { P_DOWN, P_CONNECTING, P_OPEN };

struct pconn {
	int fd;
	uint8_t state;
	bool cur;                   /* qh is under way (connect, write, read) */
	bool writing;
	bool got_resp;              /* response bytes came for cur */
	uint32_t ev;                /* epoll events registered, 0 = none */
	unsigned served;            /* responses on this socket */
	unsigned qn;
	size_t qbytes;
	struct preq *qh, *qt;
	uint64_t write_ns;          /* cur's first write */
	uint64_t deadline;          /* cur's timeout */
	uint64_t retry_at;          /* P_DOWN: no connect before this */
	uint32_t backoff_ms;
	struct rs_resp resp;
};

enum { F_CONNECT, F_RESET, F_TIMEOUT, F_PROTOCOL };

struct rs_replay {
	struct rs_replay_opts o;
	unsigned nworkers, npc;
	uint32_t pct_x100;          /* --replay-percent * 100 */
	size_t body_max;
	struct wq *wq;
	struct pconn *pc;
	int epfd, evfd;
	pthread_t thread;
	bool started, joined;
	alignas(64) atomic_int sleeping;
	atomic_int stopping;
	/* Replay thread only (others read them with READ). */
	alignas(64) uint64_t sent, answered[6], failed, fail_why[4];
	uint64_t retries, connects, unsent, skipped;
	uint64_t last_answer_ns;
	double tokens, burst;
	uint64_t tok_ns;
	struct rs_hist lat;         /* microseconds; read after the join */
	uint8_t rbuf[RBUF_SIZE];
};

static inline uint64_t rp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* replay_pool.c, replay thread only. */
/* Move queued records to their pool connections; true when a queue has
 * more that could be taken now. */
bool rp_dispatch(struct rs_replay *r);
/* Timeouts of pc, then its next request when it is free. */
void rp_step(struct rs_replay *r, struct pconn *pc, uint64_t now);
/* epoll reported ev on pc's socket. */
void rp_on_event(struct rs_replay *r, struct pconn *pc, uint32_t ev,
		 uint64_t now);
/* Milliseconds until a timeout, back-off or token is due (drain_end: 0 or
 * the drain's end), at most IDLE_WAIT_MS. */
int rp_next_wait_ms(struct rs_replay *r, uint64_t now, uint64_t drain_end);
/* In flight: failed; waiting: never sent; every socket closed. */
void rp_finish_pool(struct rs_replay *r);
/* Free a pool connection's waiting requests (no counting). */
void rp_pool_free(struct rs_replay *r);

#endif /* REPLAY_ENGINE_H */
