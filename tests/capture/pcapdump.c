/* pcapdump.c - print each frame rs_file_* reads, for comparing with tshark.
 *
 *   pcapdump [-l] FILE|-   ->  "<sec>.<nsec9>\t<caplen>\t<wirelen>[\t<linktype>\t<ifindex>]"
 * Exit 0 at a clean end, 2 on an open error or damage (message on stderr). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rs_capture.h"

int main(int argc, char **argv)
{
	char err[RS_CAPTURE_ERRLEN];
	struct rs_file *f;
	struct rs_frame fr;
	int rc, ext = 0;

	if (argc == 3 && strcmp(argv[1], "-l") == 0)
		ext = 1;
	if (argc != 2 + ext) {
		fprintf(stderr, "usage: pcapdump [-l] FILE|-\n");
		return 2;
	}
	rc = rs_file_open(&f, argv[1 + ext], err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pcapdump: %s\n", err);
		return 2;
	}
	while ((rc = rs_file_next(f, &fr)) == 1 || rc == -EAGAIN) {
		if (rc != 1)
			continue;   /* a pipe's writer is behind */
		printf("%" PRIu64 ".%09" PRIu64 "\t%" PRIu32 "\t%" PRIu32,
		       fr.ts_ns / 1000000000u, fr.ts_ns % 1000000000u,
		       fr.caplen, fr.wirelen);
		if (ext)
			printf("\t%d\t%" PRIu32, fr.linktype, fr.ifindex);
		putchar('\n');
	}
	if (rc < 0)
		fprintf(stderr, "pcapdump: %s\n", rs_file_error(f));
	rs_file_close(f);
	return rc < 0 ? 2 : 0;
}
