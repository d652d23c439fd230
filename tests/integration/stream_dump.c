/* stream_dump.c - test tool: read a capture through capture/, decode/ and
 * reassembly/, and write each TCP connection's two rebuilt byte streams to
 * OUTDIR/<cli_ip>_<cli_port>_<srv_ip>_<srv_port>.<n>.{c2s,s2c} plus one line
 * per ended flow to stdout, so a test can compare them with tshark's
 * "follow,tcp,raw".  Usage: stream_dump FILE OUTDIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_capture.h"
#include "rs_decode.h"
#include "rs_reassembly.h"

struct conn {
	FILE *fp[2];
	uint64_t gaps;
};

static const char *outdir;
static unsigned long nconn;

static void *c_open(void *ctx, const struct rs_flow_info *f)
{
	(void)ctx;
	char a[64], b[64], path[512];
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	rs_addr_str(f->cli_addr, f->addr_len, a, sizeof a);
	rs_addr_str(f->srv_addr, f->addr_len, b, sizeof b);
	for (int d = 0; d < 2; d++) {
		snprintf(path, sizeof path, "%s/%s_%u_%s_%u.%lu.%s", outdir, a,
			 f->cli_port, b, f->srv_port, nconn, d ? "s2c" : "c2s");
		c->fp[d] = fopen(path, "w");
		if (!c->fp[d]) {
			perror(path);
			exit(1);
		}
	}
	nconn++;
	return c;
}

static void c_data(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		   const uint8_t *data, size_t len, uint64_t ts)
{
	(void)ctx; (void)f; (void)ts;
	struct conn *c = app;
	fwrite(data, 1, len, c->fp[dir]);
}

static void c_gap(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		  uint64_t len, uint64_t ts)
{
	(void)ctx; (void)f; (void)dir; (void)ts;
	struct conn *c = app;
	c->gaps += len;
}

static void c_eof(void *ctx, void *app, const struct rs_flow_info *f, int dir,
		  uint64_t ts)
{
	(void)ctx; (void)app; (void)f; (void)dir; (void)ts;
}

static void c_close(void *ctx, void *app, const struct rs_flow_info *f)
{
	(void)ctx; (void)f;
	struct conn *c = app;
	fclose(c->fp[0]);
	fclose(c->fp[1]);
	free(c);
}

static const struct rs_app_ops ops = {
	.open = c_open, .data = c_data, .gap = c_gap, .eof = c_eof,
	.close = c_close,
};

static void on_end(void *ctx, const struct rs_flow_info *f,
		   enum rs_flow_end_reason why)
{
	(void)ctx;
	char a[64], b[64];
	rs_addr_str(f->cli_addr, f->addr_len, a, sizeof a);
	rs_addr_str(f->srv_addr, f->addr_len, b, sizeof b);
	printf("flow %u %s %u %s %u %s gaps=%llu\n", f->proto, a, f->cli_port, b,
	       f->srv_port, rs_flow_end_reason_name(why),
	       (unsigned long long)f->gaps);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stream_dump FILE OUTDIR\n");
		return 2;
	}
	outdir = argv[2];
	char err[RS_CAPTURE_ERRLEN];
	struct rs_file *f;
	if (rs_file_open(&f, argv[1], err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct rs_flow_config cfg;
	rs_flow_config_default(&cfg);
	struct rs_flow_table *t;
	struct rs_flow_worker *w;
	struct rs_decode_stats st;
	memset(&st, 0, sizeof st);
	if (rs_flow_table_new(&t, &cfg) < 0 ||
	    rs_flow_worker_new(&w, t, 0, &ops, NULL, on_end, NULL) < 0) {
		fprintf(stderr, "flow table setup failed\n");
		return 1;
	}
	struct rs_frame fr;
	int rc;
	uint64_t last = 0;
	while ((rc = rs_file_next(f, &fr)) == 1 || rc == -EAGAIN) {
		if (rc != 1)
			continue;   /* a pipe's writer is behind */
		struct rs_pkt p;
		if (rs_decode(&p, fr.linktype, fr.data, fr.caplen, fr.wirelen,
			      &st) != RS_DERR_NONE)
			continue;
		p.ts_ns = fr.ts_ns;
		last = fr.ts_ns;
		rs_flow_packet(w, &p);
		rs_flow_tick(w, fr.ts_ns);
	}
	rs_flow_flush(w, last, RS_END_SHUTDOWN);
	rs_flow_worker_free(w);
	rs_flow_table_free(t);
	rs_file_close(f);
	return rc < 0 ? 2 : 0;
}
