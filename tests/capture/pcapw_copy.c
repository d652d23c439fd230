/* pcapw_copy.c - copy a capture file through rs_pcapw_* (what
 * `tcpdump -r IN -w OUT -C MB -W N` does), for comparing with tcpdump.
 *
 *   pcapw_copy [-C MB] [-W N] [-P producers] [-n] IN OUT
 * Frames go to producer (index % P), all from this thread; a full queue is
 * waited out here (the library itself never waits).  Prints the writer's
 * totals on stderr.  Exit 0, 1 on a write error, 2 on bad usage or input. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "rs_capture.h"

static int usage(void)
{
	fprintf(stderr, "usage: pcapw_copy [-C MB] [-W N] [-P producers] [-n] "
		"IN OUT\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct rs_pcapw_config cfg = { 0 };
	struct rs_pcapw_stats st;
	struct timespec nap = { 0, 100000 };
	char err[RS_CAPTURE_ERRLEN];
	struct rs_pcapw *w;
	struct rs_file *f;
	struct rs_frame fr;
	unsigned producers = 1;
	uint64_t i = 0;
	int c, rc, status = 0;

	while ((c = getopt(argc, argv, "C:W:P:n")) != -1) {
		switch (c) {
		case 'C': cfg.rotate_bytes = strtoull(optarg, NULL, 10) * 1000000u; break;
		case 'W': cfg.max_files = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'P': producers = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': cfg.nanosecond = true; break;
		default: return usage();
		}
	}
	if (argc - optind != 2)
		return usage();
	rc = rs_file_open(&f, argv[optind], err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "pcapw_copy: %s\n", err);
		return 2;
	}
	cfg.path = argv[optind + 1];
	cfg.linktype = rs_file_linktype(f);
	cfg.snaplen = rs_file_snaplen(f);
	rc = rs_pcapw_open(&w, &cfg, producers, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "pcapw_copy: %s\n", err);
		rs_file_close(f);
		return 2;
	}
	while ((rc = rs_file_next(f, &fr)) == 1) {
		while (rs_pcapw_write(w, (unsigned)(i % producers), &fr) == -ENOBUFS)
			nanosleep(&nap, NULL);
		i++;
	}
	if (rc < 0) {
		fprintf(stderr, "pcapw_copy: %s\n", rs_file_error(f));
		status = 2;
	}
	if (rs_pcapw_close(w, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "pcapw_copy: %s\n", err);
		status = status ? status : 1;
	}
	fprintf(stderr, "packets %" PRIu64 " bytes %" PRIu64 " files %" PRIu64
		" dropped %" PRIu64 " lost %" PRIu64 "\n", st.packets, st.bytes,
		st.files, st.dropped, st.lost);
	rs_file_close(f);
	return status;
}
