/* watch_count.c - follow DIR with rs_watch_* (what --watch does) and count
 * packets until SIGTERM/SIGINT; then read what is left and print
 *   packets N bytes B files F done D bad X lost L overwritten O overflows V
 * on stdout.  Damaged files are reported on stderr and skipped.
 *
 *   watch_count [-p PATTERN] [-n] DIR      (-n: skip files already there)
 * Exit 0, 1 on a fatal error, 2 on bad usage. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rs_capture.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char err[RS_CAPTURE_ERRLEN];
	const char *pattern = NULL;
	struct rs_watch_stats st;
	struct rs_watch *w;
	struct rs_frame fr;
	unsigned flags = 0;
	int c, rc, status = 0;

	while ((c = getopt(argc, argv, "p:n")) != -1) {
		switch (c) {
		case 'p': pattern = optarg; break;
		case 'n': flags |= RS_WATCH_NEW_ONLY; break;
		default: goto usage;
		}
	}
	if (argc - optind != 1)
		goto usage;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = rs_watch_open(&w, argv[optind], pattern, flags, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "watch_count: %s\n", err);
		return 1;
	}
	printf("watching\n");
	fflush(stdout);
	for (;;) {
		/* After the signal: take what is there, without waiting. */
		rc = rs_watch_next(w, &fr, stop ? 0 : 100);
		if (rc == 1)
			continue;
		if (rc == 0 && stop)
			break;
		if (rc == -EINVAL) {
			fprintf(stderr, "watch_count: %s\n", rs_watch_error(w));
		} else if (rc < 0) {
			fprintf(stderr, "watch_count: %s\n", rs_watch_error(w));
			status = 1;
			break;
		}
	}
	rs_watch_stats(w, &st);
	printf("packets %" PRIu64 " bytes %" PRIu64 " files %" PRIu64
	       " done %" PRIu64 " bad %" PRIu64 " lost %" PRIu64
	       " overwritten %" PRIu64 " overflows %" PRIu64 "\n",
	       st.packets, st.bytes, st.files, st.files_done, st.bad_files,
	       st.lost_files, st.overwritten, st.overflows);
	rs_watch_close(w);
	return status;
usage:
	fprintf(stderr, "usage: watch_count [-p PATTERN] [-n] DIR\n");
	return 2;
}
