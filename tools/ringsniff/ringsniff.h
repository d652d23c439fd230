/* ringsniff.h - the program's private glue: options, workers, outputs. */
#ifndef RINGSNIFF_H
#define RINGSNIFF_H

#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "rs_bpf.h"
#include "rs_capture.h"
#include "rs_decode.h"
#include "rs_reassembly.h"
#include "replay.h"

/* Exit codes, as in the contract. */
enum { RS_EXIT_OK = 0, RS_EXIT_RUNTIME = 1, RS_EXIT_USAGE = 2 };

struct rs_opts {
	const char *iface;
	const char *read_path;
	const char *watch_dir;
	unsigned threads;             /* 0 = default for the mode */
	int fanout_mode;
	bool fanout_defrag, fanout_rollover;
	unsigned ring_mb, block_kb, block_timeout_ms;
	unsigned snaplen;
	bool promisc, ignore_outgoing;
	bool pin_cpus;                /* --pin-cpus */
	char *filter_expr;            /* joined trailing words or -f; owned */
	int dump_filter;              /* -d levels like tcpdump */
	const char *ebpf_filter;
	double stats_interval;
	const char *summary_json;
	const char *http_log;
	const char *flow_log;
	const char *replay;
	struct rs_replay_opts replay_opts; /* --replay-* (replay.h) */
	const char *write_path;
	uint64_t rotate_mb;           /* -C */
	unsigned rotate_files;        /* -W */
	const char *user;             /* --user: run as this user after set-up */
	uint64_t count;               /* -c: stop after N packets */
	double duration;              /* --duration seconds */
	int verbose;
	bool quiet;
	struct rs_flow_config flow;
};

/* A JSON-lines sink shared by workers.  Each worker formats into its own
 * buffer and hands whole buffers to the sink, so lines never interleave and
 * the lock is taken once per buffer, not per line. */
struct rs_sink {
	int fd;                       /* -1 = disabled */
	pthread_mutex_t lock;
	bool is_stdout;
	const char *path;
	uint64_t lines;               /* handed over by flushes; under lock */
	int error;                    /* first write errno, reported at exit */
};

#define RS_OUTBUF_SIZE (256 * 1024)
struct rs_outbuf {
	struct rs_sink *sink;
	size_t len;
	uint64_t lines;               /* in buf, added to the sink's at flush */
	char *buf;                    /* RS_OUTBUF_SIZE bytes, allocated once */
	size_t fast_below;            /* an HTTP line may take the fast way
					 * while len is below this (0: never) */
};

struct rs_app;

/* One decoding worker.  Counters live in the libraries' own per-thread,
 * cache-line aligned stats structs; the reporter sums snapshots of them. */
struct rs_worker {
	alignas(64) struct rs_decode_stats dstats;
	struct rs_http_layer http;
	alignas(64) uint64_t frames;        /* frames seen before the filter */
	uint64_t filtered;                  /* frames the user-space filter dropped */
	uint64_t last_ts_ns;
	/* Frames need more than decode and flows: sharding, a user filter,
	 * -c or -w (rs_workers_init, rs_pcap_out_open). */
	bool extras;
	unsigned id;
	int cpu;                            /* pinned CPU, -1 = none */
	struct rs_app *app;
	struct rs_flow_worker *fw;
	/* fw's counters while it runs, fstats_final after; NULL before.  The
	 * reporter dereferences it only under stats_lock, which the worker
	 * takes once, to swap it before fw (and its counters) is freed. */
	_Atomic(const struct rs_flow_stats *) fstats;
	struct rs_flow_stats fstats_final;
	pthread_mutex_t stats_lock;
	struct rs_ring *ring;
	struct rs_file *file;               /* files: this worker's own handle */
	struct rs_filter_set *fset;         /* user-space filter, or NULL */
	struct rs_outbuf http_out, flow_out;
	pthread_t thread;
	int error;                          /* negative errno that stopped it */
	char errmsg[RS_CAPTURE_ERRLEN];
};

struct rs_totals {
	struct rs_decode_stats d;
	struct rs_flow_stats f;
	struct rs_http_stats h;
	uint64_t frames, filtered;
	struct rs_ring_stats ring;
	uint64_t iface_drops;
	bool have_ebpf;
	struct rs_ebpf_counters ebpf;       /* kernel-side, --ebpf-filter */
	struct rs_pcapw_stats pcapw;
	struct rs_watch_stats watch;
};

struct rs_app {
	struct rs_opts opts;
	struct rs_worker *workers;
	unsigned nworkers;
	struct rs_flow_table *table;
	struct rs_sink http_sink, flow_sink;
	atomic_uint_fast64_t counted;      /* for -c across workers */
	double start_mono;
	uint64_t start_ns;                  /* wall clock at start */
	bool live;
	bool started;                       /* source open, filter valid */
	bool shard_files;                   /* several workers read one file */
	FILE *summary_fp;                   /* --summary-json, opened at start */
	struct rs_ebpf_filter *ebpf;        /* --ebpf-filter in the kernel */
	struct rs_ebpf_spec ebpf_spec;      /* what ebpf holds now */
	struct rs_ebpf_fanout *fanout;      /* --fanout ebpf */
	struct rs_pcapw *pcapw;             /* -w */
	struct rs_pcapw_stats pcapw_final;  /* after close */
	struct rs_watch *watch;             /* --watch */
	struct rs_replay *replay;           /* --replay */
};

/* Set by signals, -c, --duration or a failing worker; read by every loop. */
extern atomic_int rs_stop;
/* Set by SIGHUP; the reporter reopens the logs. */
extern atomic_int rs_reopen;

/* filters.c */
bool rs_user_filter_needed(const struct rs_app *app);
int rs_live_filters_setup(struct rs_app *app);
void rs_live_filters_reload(struct rs_app *app);
void rs_live_filters_fini(struct rs_app *app);

/* privs.c: --user; after every socket and file is open. */
int rs_drop_privileges(struct rs_app *app);

/* opts.c */
int rs_parse_opts(struct rs_opts *o, int argc, char **argv);
void rs_usage(FILE *fp);
void rs_opts_free(struct rs_opts *o);

/* output.c */
int rs_sink_open(struct rs_sink *s, const char *path);
/* SIGHUP: open the path again (appending) and swap it in under the lock,
 * so a rotated log continues in a fresh file. */
int rs_sink_reopen(struct rs_sink *s);
/* --user: make the log files the user's, so a reopen still works. */
int rs_sink_chown(struct rs_sink *s, uid_t uid, gid_t gid);
void rs_sink_close(struct rs_sink *s);
int rs_outbuf_init(struct rs_outbuf *b, struct rs_sink *s);
void rs_outbuf_flush(struct rs_outbuf *b);
void rs_outbuf_fini(struct rs_outbuf *b);
void rs_log_http(struct rs_outbuf *b, const struct rs_flow_info *f,
		 const struct rs_http_txn *t);
void rs_log_flow(struct rs_outbuf *b, const struct rs_flow_info *f,
		 enum rs_flow_end_reason why);

/* worker.c */
int rs_workers_init(struct rs_app *app, unsigned n);
void rs_workers_fini(struct rs_app *app);
int rs_worker_start_flows(struct rs_worker *w);
void rs_worker_stop_flows(struct rs_worker *w, uint64_t now_ns);
void rs_worker_frame(struct rs_worker *w, const struct rs_frame *fr);
/* Reporter: add w's flow counters to *acc (nothing before it started). */
void rs_worker_flow_stats(struct rs_worker *w, struct rs_flow_stats *acc);
int rs_run_file(struct rs_app *app);
int rs_run_live(struct rs_app *app);
int rs_run_watch(struct rs_app *app);
/* -w: open before capture (linktype of the source), close after. */
int rs_pcap_out_open(struct rs_app *app, int linktype);
int rs_pcap_out_close(struct rs_app *app);

/* report.c */
void rs_totals_collect(struct rs_app *app, struct rs_totals *t);
void rs_report_line(struct rs_app *app, const struct rs_totals *now,
		    const struct rs_totals *prev, double dt, FILE *fp);
void rs_report_final(struct rs_app *app, const struct rs_totals *t, FILE *fp);
/* Write the summary to fp (opened at start, before privileges are dropped)
 * and close it unless it is stdout.  Returns 0 or a negative errno. */
int rs_report_json(struct rs_app *app, const struct rs_totals *t, FILE *fp);
double rs_mono(void);
uint64_t rs_wall_ns(void);

#endif /* RINGSNIFF_H */
