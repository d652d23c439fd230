/* filter_count.c - count the frames of a capture file that a filter accepts
 * (rs_filter_match), for comparison with tcpdump in the integration test.
 * Usage: filter_count FILE EXPR; prints the count; exit 2 on bad input. */
#include <stdio.h>
#include <stdlib.h>

#include <pcap/pcap.h>

#include "rs_bpf.h"

int main(int argc, char **argv)
{
	char perr[PCAP_ERRBUF_SIZE], err[256];
	struct rs_filter_set *set = NULL;
	const struct rs_filter *f;
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned long n = 0;
	pcap_t *p;
	int ret, rc = 2;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE EXPR\n", argv[0]);
		return 2;
	}
	p = pcap_open_offline(argv[1], perr);
	if (!p) {
		fprintf(stderr, "%s: %s\n", argv[1], perr);
		return 2;
	}
	if (rs_filter_set_new(&set, argv[2], (uint32_t)pcap_snapshot(p), err,
			      sizeof(err)) < 0 ||
	    rs_filter_set_get(set, pcap_datalink(p), &f, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	while ((ret = pcap_next_ex(p, &h, &data)) == 1) {
		if (rs_filter_match(f, data, h->caplen, h->len))
			n++;
	}
	if (ret != PCAP_ERROR_BREAK) {
		fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
		goto out;
	}
	printf("%lu\n", n);
	rc = 0;
out:
	rs_filter_set_free(set);
	pcap_close(p);
	return rc;
}
