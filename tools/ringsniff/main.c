/* main.c - ringsniff: capture, decode, reassemble, report (see README). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringsniff.h"

atomic_int rs_stop;
atomic_int rs_reopen;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		atomic_store(&rs_reopen, 1);
	else
		atomic_store(&rs_stop, 1);
}

static void setup_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed log pipe must become a write error we report, not a kill. */
	signal(SIGPIPE, SIG_IGN);
}

/* -d: print the program for the source's link type and stop, like tcpdump. */
static int dump_filter(const struct rs_opts *o)
{
	int linktype = RS_LINKTYPE_ETHERNET;
	if (o->read_path) {
		char err[RS_CAPTURE_ERRLEN];
		struct rs_file *f;
		if (rs_file_open(&f, o->read_path, err, sizeof err) < 0) {
			fprintf(stderr, "ringsniff: %s\n", err);
			return RS_EXIT_USAGE;
		}
		if (rs_file_linktype(f) >= 0)
			linktype = rs_file_linktype(f);
		rs_file_close(f);
	}
	char err[256];
	struct rs_filter *f;
	if (rs_filter_compile(&f, o->filter_expr ? o->filter_expr : "", linktype,
			      o->snaplen, err, sizeof err) < 0) {
		fprintf(stderr, "ringsniff: invalid filter '%s': %s\n",
			o->filter_expr ? o->filter_expr : "", err);
		return RS_EXIT_USAGE;
	}
	rs_filter_dump(f, o->dump_filter, stdout);
	rs_filter_free(f);
	return RS_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct rs_app app;
	struct rs_totals tot;
	int status, rc;

	memset(&app, 0, sizeof app);
	app.http_sink.fd = app.flow_sink.fd = -1;  /* closed even if never opened */
	rc = rs_parse_opts(&app.opts, argc, argv);
	if (rc != 0) {
		rs_opts_free(&app.opts);
		return rc > 0 ? RS_EXIT_OK : RS_EXIT_USAGE;
	}
	if (app.opts.dump_filter) {
		status = dump_filter(&app.opts);
		rs_opts_free(&app.opts);
		return status;
	}
	setup_signals();
	app.live = app.opts.iface != NULL;
	unsigned n = app.opts.threads;
	if (app.opts.watch_dir && n > 1) {
		fprintf(stderr, "ringsniff: --watch reads with one worker; -T %u ignored\n", n);
		n = 1;
	}
	if (n == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = app.live && ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (app.opts.read_path && n > 1) {
		/* Each worker maps the file; stdin can be read only once, and -c
		 * means "the first N packets", which only one reader can keep. */
		struct stat st;
		bool stream = strcmp(app.opts.read_path, "-") == 0 ||
			      (stat(app.opts.read_path, &st) == 0 &&
			       !S_ISREG(st.st_mode));
		if (stream || app.opts.count) {
			fprintf(stderr, "ringsniff: %s needs one worker; -T %u ignored\n",
				app.opts.count ? "-c" : "reading a stream", n);
			n = 1;
		}
		app.shard_files = n > 1;
	}
	app.start_mono = rs_mono();
	app.start_ns = rs_wall_ns();

	status = RS_EXIT_RUNTIME;
	if (rs_sink_open(&app.http_sink, app.opts.http_log) < 0 ||
	    rs_sink_open(&app.flow_sink, app.opts.flow_log) < 0) {
		status = RS_EXIT_USAGE;
		goto out_sinks;
	}
	if (app.opts.summary_json) {
		/* Opened now: at exit we may no longer be allowed to (--user). */
		const char *p = app.opts.summary_json;
		app.summary_fp = strcmp(p, "-") == 0 ? stdout : fopen(p, "w");
		if (!app.summary_fp) {
			fprintf(stderr, "ringsniff: cannot open %s: %s\n", p,
				strerror(errno));
			status = RS_EXIT_USAGE;
			goto out_sinks;
		}
	}
	rc = rs_flow_table_new(&app.table, &app.opts.flow);
	if (rc < 0) {
		fprintf(stderr, "ringsniff: flow table: %s\n", strerror(-rc));
		goto out_sinks;
	}
	rc = rs_workers_init(&app, n);
	if (rc < 0) {
		fprintf(stderr, "ringsniff: workers: %s\n", strerror(-rc));
		goto out_workers;
	}
	if (app.opts.replay) {
		char err[160] = "";
		rc = rs_replay_new(&app.replay, &app.opts.replay_opts, n, err,
				   sizeof err);
		if (rc == 0 && (rc = rs_replay_start(app.replay)) < 0)
			snprintf(err, sizeof err, "replay thread: %s", strerror(-rc));
		if (rc < 0) {
			fprintf(stderr, "ringsniff: %s\n", err);
			goto out_workers;
		}
	}

	status = app.live ? rs_run_live(&app)
		 : app.opts.watch_dir ? rs_run_watch(&app) : rs_run_file(&app);
	/* Workers are done: what they queued for -w goes to disk now. */
	if (rs_pcap_out_close(&app) < 0 && status == RS_EXIT_OK)
		status = RS_EXIT_RUNTIME;

	/* Workers are done submitting: send what is queued (bounded wait). */
	rs_replay_stop(app.replay);
	rs_totals_collect(&app, &tot);
	if (!app.opts.quiet && app.started)
		rs_report_final(&app, &tot, stderr);
	if (app.summary_fp) {
		if (app.started && rs_report_json(&app, &tot, app.summary_fp) < 0 &&
		    status == RS_EXIT_OK)
			status = RS_EXIT_RUNTIME;
		app.summary_fp = NULL;   /* rs_report_json closed it */
	}
out_workers:
	rs_replay_free(app.replay);
	rs_watch_close(app.watch);
	rs_workers_fini(&app);          /* closes the rings ... */
	rs_live_filters_fini(&app);     /* ... before their programs */
	/* Every flow has ended and been logged by now; what is left is the
	 * index, and freeing it walks every bucket node (262144 by default),
	 * about 25 ms of cache misses that the kernel's exit does for free.
	 * Sanitizer builds free it, so leak checks still cover the table. */
#ifdef RS_FREE_AT_EXIT
	if (app.table)
		rs_flow_table_free(app.table);
#endif
out_sinks:
	if (app.summary_fp && app.summary_fp != stdout)
		fclose(app.summary_fp);
	rs_sink_close(&app.http_sink);
	rs_sink_close(&app.flow_sink);
	if ((app.http_sink.error || app.flow_sink.error) && status == RS_EXIT_OK)
		status = RS_EXIT_RUNTIME;
	rs_opts_free(&app.opts);
	return status;
}
