/* run.c - the two ways to run: a capture file, or live rings with workers. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ringsniff.h"

/* Flow timeouts are checked at most this often (in packet or clock time). */
#define TICK_NS 1000000000ull
/* Live log lines wait in a worker's buffer at most this long. */
#define FLUSH_NS 100000000ull

/* Console counters at the interval, and the stop conditions of the clock.
 * Called from the main thread only.  Returns true when it is time to stop. */
struct reporter {
	struct rs_totals prev;
	double last, start;
};

static void reporter_init(struct reporter *r, struct rs_app *app)
{
	memset(&r->prev, 0, sizeof r->prev);
	r->start = r->last = rs_mono();
	(void)app;
}

static bool reporter_poll(struct reporter *r, struct rs_app *app)
{
	double now = rs_mono();
	const struct rs_opts *o = &app->opts;
	if (o->duration > 0 && now - r->start >= o->duration)
		atomic_store(&rs_stop, 1);
	if (atomic_exchange(&rs_reopen, 0)) {
		/* Whole buffers already handed over stay in the old file; lines
		 * still in worker buffers go to the new one. */
		rs_sink_reopen(&app->http_sink);
		rs_sink_reopen(&app->flow_sink);
		rs_live_filters_reload(app);
	}
	if (o->stats_interval > 0 && !o->quiet &&
	    now - r->last >= o->stats_interval) {
		struct rs_totals t;
		rs_totals_collect(app, &t);
		rs_report_line(app, &t, &r->prev, now - r->last, stderr);
		r->prev = t;
		r->last = now;
	}
	return atomic_load(&rs_stop);
}

/* Compile the expression once up front so a bad one is a usage error (2)
 * before any capture starts. */
static int check_filter(const struct rs_opts *o, int linktype)
{
	char err[256];
	struct rs_filter *f = NULL;
	if (!o->filter_expr)
		return 0;
	if (rs_filter_compile(&f, o->filter_expr, linktype, o->snaplen, err,
			      sizeof err) < 0) {
		fprintf(stderr, "ringsniff: invalid filter '%s': %s\n",
			o->filter_expr, err);
		return -EINVAL;
	}
	rs_filter_free(f);
	return 0;
}

/* Start one thread per worker running fn, pinned one per CPU when asked.
 * Returns how many started; on a failure it says why and sets rs_stop so
 * the ones already running end. */
static unsigned start_workers(struct rs_app *app, void *(*fn)(void *), bool pin)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned i;
	for (i = 0; i < app->nworkers; i++) {
		struct rs_worker *w = &app->workers[i];
		w->cpu = pin && ncpu > 0 ? (int)(i % (unsigned)ncpu) : -1;
		int rc = pthread_create(&w->thread, NULL, fn, w);
		if (rc != 0) {
			fprintf(stderr, "ringsniff: cannot start worker %u: %s\n",
				i, strerror(rc));
			atomic_store(&rs_stop, 1);
			break;
		}
	}
	return i;
}

/* One worker's pass over the file.  With several workers each maps the
 * file itself (the page cache is shared, nothing is copied) and keeps only
 * the frames whose flow hashes to it: no queue and no lock between workers,
 * and the same frames go to the same worker on every run. */
static int file_pass(struct rs_worker *w, struct reporter *rep)
{
	struct rs_app *app = w->app;
	struct rs_file *f = w->file;
	struct rs_frame fr;
	uint64_t next_tick = 0, n = 0;
	int rc = 0, status = RS_EXIT_OK;

	while (!atomic_load_explicit(&rs_stop, memory_order_relaxed)) {
		rc = rs_file_next(f, &fr);
		if (rc == -EAGAIN) {
			/* A stream with nothing new for 100 ms: what is logged
			 * so far goes out now, stats and signals are seen. */
			rc = 0;
			rs_outbuf_flush(&w->http_out);
			rs_outbuf_flush(&w->flow_out);
			rs_flow_quiescent(w->fw);
			if (rep)
				reporter_poll(rep, app);
			continue;
		}
		if (rc != 1)
			break;
		rs_worker_frame(w, &fr);
		/* File time drives the flow timeouts, so results do not depend
		 * on how fast the file is read. */
		if (fr.ts_ns >= next_tick) {
			rs_flow_tick(w->fw, fr.ts_ns);
			next_tick = fr.ts_ns + TICK_NS;
		}
		if ((++n & 1023) == 0) {
			rs_flow_quiescent(w->fw);
			if (rep)
				reporter_poll(rep, app);
		}
	}
	if (rc < 0) {
		snprintf(w->errmsg, sizeof w->errmsg, "%s", rs_file_error(f));
		status = RS_EXIT_USAGE;
	}
	return status;
}

static void *file_worker(void *arg)
{
	struct rs_worker *w = arg;
	int rc = rs_worker_start_flows(w);
	if (rc < 0) {
		w->error = RS_EXIT_RUNTIME;
		snprintf(w->errmsg, sizeof w->errmsg, "flow table: %s", strerror(-rc));
		atomic_store(&rs_stop, 1);
		return NULL;
	}
	w->error = file_pass(w, NULL);
	rs_worker_stop_flows(w, w->last_ts_ns);
	return NULL;
}

int rs_run_file(struct rs_app *app)
{
	char err[RS_CAPTURE_ERRLEN];
	struct reporter rep;
	int rc, status = RS_EXIT_OK;

	/* Every worker's handle is opened here, before any thread and before
	 * --user, so a bad file or filter fails first and then nothing needs
	 * privileges. */
	for (unsigned i = 0; i < app->nworkers; i++) {
		rc = rs_file_open(&app->workers[i].file, app->opts.read_path, err,
				  sizeof err);
		if (rc < 0) {
			fprintf(stderr, "ringsniff: %s\n", err);
			return RS_EXIT_USAGE;
		}
	}
	/* A pcapng file may name no interface before its first packet (-1):
	 * check the expression's syntax against Ethernet then. */
	int lt = rs_file_linktype(app->workers[0].file);
	if (check_filter(&app->opts, lt >= 0 ? lt : RS_LINKTYPE_ETHERNET) < 0)
		return RS_EXIT_USAGE;
	if (rs_pcap_out_open(app, lt >= 0 ? lt : RS_LINKTYPE_ETHERNET) < 0)
		return RS_EXIT_USAGE;
	if (rs_drop_privileges(app) < 0)
		return RS_EXIT_RUNTIME;
	app->started = true;
	reporter_init(&rep, app);

	if (app->nworkers == 1) {
		struct rs_worker *w = &app->workers[0];
		rc = rs_worker_start_flows(w);
		if (rc < 0) {
			fprintf(stderr, "ringsniff: flow table: %s\n", strerror(-rc));
			return RS_EXIT_RUNTIME;
		}
		status = file_pass(w, &rep);
		rs_worker_stop_flows(w, w->last_ts_ns);
		if (status != RS_EXIT_OK)
			fprintf(stderr, "ringsniff: %s\n", w->errmsg);
		return status;
	}

	unsigned started = start_workers(app, file_worker, false);
	if (started < app->nworkers)
		status = RS_EXIT_RUNTIME;
	/* Workers end on their own at the end of the file; poll until then. */
	for (unsigned i = 0; i < started; i++) {
		struct rs_worker *w = &app->workers[i];
		while (pthread_tryjoin_np(w->thread, NULL) == EBUSY) {
			reporter_poll(&rep, app);
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		/* Every worker meets the same damage; say it once. */
		if (w->error && status == RS_EXIT_OK) {
			fprintf(stderr, "ringsniff: %s\n", w->errmsg);
			status = w->error;
		}
	}
	return status;
}

/* --watch: one worker follows the directory's files as they are written,
 * on packet time like files, until a signal, -c or --duration. */
int rs_run_watch(struct rs_app *app)
{
	char err[RS_CAPTURE_ERRLEN];
	struct rs_worker *w = &app->workers[0];
	struct reporter rep;
	struct rs_frame fr;
	uint64_t next_tick = 0, n = 0;
	int rc, status = RS_EXIT_OK;

	if (check_filter(&app->opts, RS_LINKTYPE_ETHERNET) < 0)
		return RS_EXIT_USAGE;
	rc = rs_watch_open(&app->watch, app->opts.watch_dir, NULL, 0, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "ringsniff: --watch %s\n", err);
		return RS_EXIT_USAGE;
	}
	if (rs_drop_privileges(app) < 0)
		return RS_EXIT_RUNTIME;
	rc = rs_worker_start_flows(w);
	if (rc < 0) {
		fprintf(stderr, "ringsniff: flow table: %s\n", strerror(-rc));
		return RS_EXIT_RUNTIME;
	}
	app->started = true;
	if (!app->opts.quiet)
		fprintf(stderr, "ringsniff: watching %s\n", app->opts.watch_dir);
	reporter_init(&rep, app);
	while (!atomic_load_explicit(&rs_stop, memory_order_relaxed)) {
		rc = rs_watch_next(app->watch, &fr, 100);
		if (rc == 1) {
			/* The files' link type is known at their first frame. */
			if (app->opts.write_path && !app->pcapw &&
			    rs_pcap_out_open(app, fr.linktype) < 0) {
				status = RS_EXIT_RUNTIME;
				break;
			}
			rs_worker_frame(w, &fr);
			if (fr.ts_ns >= next_tick) {
				rs_flow_tick(w->fw, fr.ts_ns);
				next_tick = fr.ts_ns + TICK_NS;
			}
			if ((++n & 1023) != 0)
				continue;
		} else if (rc == -EINVAL) {
			/* A damaged file is skipped; the next one is read. */
			fprintf(stderr, "ringsniff: %s\n", rs_watch_error(app->watch));
		} else if (rc < 0) {
			fprintf(stderr, "ringsniff: --watch %s: %s\n", app->opts.watch_dir,
				rs_watch_error(app->watch)[0] ? rs_watch_error(app->watch)
							      : strerror(-rc));
			status = RS_EXIT_RUNTIME;
			break;
		} else {
			/* Idle: lines reach the logs while we wait. */
			rs_outbuf_flush(&w->http_out);
			rs_outbuf_flush(&w->flow_out);
		}
		rs_flow_quiescent(w->fw);
		reporter_poll(&rep, app);
	}
	rs_worker_stop_flows(w, w->last_ts_ns);
	return status;
}

int rs_pcap_out_open(struct rs_app *app, int linktype)
{
	const struct rs_opts *o = &app->opts;
	char err[RS_CAPTURE_ERRLEN];
	if (!o->write_path)
		return 0;
	struct rs_pcapw_config cfg = {
		.path = o->write_path,
		.rotate_bytes = o->rotate_mb * 1000000u,
		.max_files = o->rotate_files,
		.linktype = linktype,
		.snaplen = o->snaplen,
	};
	int rc = rs_pcapw_open(&app->pcapw, &cfg, app->nworkers, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "ringsniff: -w %s\n", err);
	/* Before the workers' first frame, or (--watch) on their thread. */
	for (unsigned i = 0; rc == 0 && i < app->nworkers; i++)
		app->workers[i].extras = true;
	return rc;
}

/* After the workers are joined: the rest of the queue goes to disk. */
int rs_pcap_out_close(struct rs_app *app)
{
	char err[RS_CAPTURE_ERRLEN] = "";
	if (!app->pcapw)
		return 0;
	int rc = rs_pcapw_close(app->pcapw, &app->pcapw_final, err, sizeof err);
	app->pcapw = NULL;
	if (rc < 0)
		fprintf(stderr, "ringsniff: -w: %s\n", err[0] ? err : strerror(-rc));
	return rc;
}

/* ---- live ------------------------------------------------------------ */

static void frame_cb(void *user, const struct rs_frame *fr)
{
	rs_worker_frame(user, fr);
}

static void pin_to_cpu(struct rs_worker *w)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	/* Not fatal: a worker that cannot be pinned still works. */
	if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
		fprintf(stderr, "ringsniff: worker %u: cannot pin to CPU %d\n",
			w->id, w->cpu);
}

static void *live_worker(void *arg)
{
	struct rs_worker *w = arg;
	uint64_t next_tick = 0, next_flush = 0;

	if (w->cpu >= 0)
		pin_to_cpu(w);
	int rc = rs_worker_start_flows(w);
	if (rc < 0) {
		w->error = rc;
		snprintf(w->errmsg, sizeof w->errmsg, "flow table: %s",
			 strerror(-rc));
		atomic_store(&rs_stop, 1);
		return NULL;
	}
	while (!atomic_load_explicit(&rs_stop, memory_order_relaxed)) {
		/* Asleep in poll() the worker holds no flow: say so to RCU, or
		 * an idle ring would hold back every deferred free. */
		rc = rs_ring_wait(w->ring, 0);
		if (rc == 0) {
			rs_flow_offline(w->fw);
			rc = rs_ring_wait(w->ring, 100);
			rs_flow_online(w->fw);
		}
		if (rc > 0)
			rc = rs_ring_poll(w->ring, 0, frame_cb, w);
		if (rc < 0) {
			w->error = rc;
			snprintf(w->errmsg, sizeof w->errmsg,
				 "capture on %s failed: %s", w->app->opts.iface,
				 rc == -ENETDOWN ? "interface went down or away"
						 : strerror(-rc));
			atomic_store(&rs_stop, 1);
			break;
		}
		/* A block is done: no table reference survives this point. */
		rs_flow_quiescent(w->fw);
		uint64_t now = rs_wall_ns();
		if (now >= next_tick) {
			rs_flow_tick(w->fw, now);
			next_tick = now + TICK_NS;
		}
		/* Lines reach the logs within FLUSH_NS, or at once when idle, so
		 * `tail -f` is live and a SIGHUP splits the log where expected. */
		if (rc == 0 || now >= next_flush) {
			rs_outbuf_flush(&w->http_out);
			rs_outbuf_flush(&w->flow_out);
			next_flush = now + FLUSH_NS;
		}
	}
	rs_worker_stop_flows(w, rs_wall_ns());
	return NULL;
}

static int open_rings(struct rs_app *app)
{
	const struct rs_opts *o = &app->opts;
	struct rs_ring_config cfg;
	char err[RS_CAPTURE_ERRLEN];

	rs_ring_config_default(&cfg);
	cfg.ifname = o->iface;
	if (o->block_kb)
		cfg.block_size = o->block_kb * 1024u;
	if (o->ring_mb)
		cfg.block_nr = (unsigned)(((uint64_t)o->ring_mb << 20) / cfg.block_size);
	if (cfg.block_nr == 0)
		cfg.block_nr = 1;
	if (o->block_timeout_ms)
		cfg.block_timeout_ms = o->block_timeout_ms;
	cfg.snaplen = o->snaplen;
	cfg.fanout_mode = o->fanout_mode;
	cfg.fanout_id = (uint16_t)(getpid() & 0xffff);
	cfg.fanout_defrag = o->fanout_defrag;
	cfg.fanout_rollover = o->fanout_rollover;
	cfg.promisc = o->promisc;
	cfg.ignore_outgoing = o->ignore_outgoing;

	for (unsigned i = 0; i < app->nworkers; i++) {
		err[0] = '\0';
		int rc = rs_ring_open(&app->workers[i].ring, &cfg, err, sizeof err);
		if (rc < 0) {
			fprintf(stderr, "ringsniff: %s\n", err[0] ? err : strerror(-rc));
			return rc;
		}
		if (err[0] && i == 0)  /* e.g. a smaller ring after ENOMEM */
			fprintf(stderr, "ringsniff: %s\n", err);
	}
	return 0;
}

int rs_run_live(struct rs_app *app)
{
	struct reporter rep;
	unsigned started = 0;
	int rc, status = RS_EXIT_OK;

	/* Syntax first, so a typo is a usage error before any socket. */
	if (check_filter(&app->opts, RS_LINKTYPE_ETHERNET) < 0)
		return RS_EXIT_USAGE;
	rc = open_rings(app);
	if (rc < 0) {
		status = rc == -EINVAL ? RS_EXIT_USAGE : RS_EXIT_RUNTIME;
		goto out;
	}
	/* Every ring exists and holds a drop-all filter; now the real one. */
	status = rs_live_filters_setup(app);
	if (status != RS_EXIT_OK)
		goto out;
	if (rs_pcap_out_open(app, rs_ring_linktype(app->workers[0].ring)) < 0) {
		status = RS_EXIT_USAGE;
		goto out;
	}
	if (rs_drop_privileges(app) < 0) {
		status = RS_EXIT_RUNTIME;
		goto out;
	}
	app->started = true;
	/* Not pinned by default: with the CPUs shared (a generator, other
	 * jobs), pinned workers dropped in 6 of 10 top-speed runs and free
	 * ones in 0 of 10 (bench/RESULTS.md, "worker pinning"). */
	started = start_workers(app, live_worker, app->opts.pin_cpus);
	if (started < app->nworkers)
		status = RS_EXIT_RUNTIME;
	/* Announce only once every worker consumes its ring: anyone who waits
	 * for this line (a test, an operator) may start traffic at once. */
	for (unsigned i = 0; i < started; i++)
		while (!atomic_load_explicit(&app->workers[i].fstats, memory_order_acquire) &&
		       !atomic_load(&rs_stop)) {   /* a failing worker sets rs_stop */
			struct timespec ts = {0, 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	if (!app->opts.quiet)
		fprintf(stderr, "ringsniff: capturing on %s with %u worker%s%s%s\n",
			app->opts.iface, app->nworkers,
			app->nworkers == 1 ? "" : "s",
			app->opts.filter_expr ? ", filter: " : "",
			app->opts.filter_expr ? app->opts.filter_expr : "");
	reporter_init(&rep, app);
	while (!reporter_poll(&rep, app)) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (unsigned i = 0; i < started; i++) {
		struct rs_worker *w = &app->workers[i];
		pthread_join(w->thread, NULL);
		if (w->error) {
			fprintf(stderr, "ringsniff: worker %u: %s\n", i, w->errmsg);
			status = RS_EXIT_RUNTIME;
		}
	}
out:
	return status;
}
