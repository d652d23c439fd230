/* bench_http.c - HTTP/1.x parsing speed: rs_http_conn_* against libhtp on the same streams.
 *
 * usage: bench_http [-c conversations] [-b body_max] [-s segment] [-r rounds]
 *
 * Builds the conversations once (tests/http/http_gen.h, fixed seed: the
 * same bytes every run), then for each parser and each round feeds every
 * conversation as a new connection: its request stream, then its response
 * stream, in `segment`-byte pieces (1448 = an Ethernet MSS with TCP
 * timestamps), then closes it.  Reports the best round: MB/s over both
 * directions' bytes and transactions per second, one thread (the parser is
 * per connection; a worker runs one).  Both parsers must see the same
 * number of transactions or the run fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <htp/htp.h>

#include "rs_reassembly.h"
#include "../tests/http/http_gen.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct corpus {
	struct conv *cv;
	int n;
	uint64_t bytes, txns;
};

static uint64_t ours_txns;

static void on_txn(void *user, const struct rs_flow_info *f,
		   const struct rs_http_txn *t)
{
	(void)user;
	(void)f;
	ours_txns += t->method_len > 0;
}

static void feed_ours(struct rs_http_layer *l, const struct conv *cv,
		      size_t seg)
{
	struct rs_http_conn *c = rs_http_conn_new(l, NULL);
	const struct buf *s[2] = { &cv->req, &cv->resp };

	if (!c)
		abort();
	for (int d = 0; d < 2; d++)
		for (size_t off = 0; off < s[d]->len; off += seg) {
			size_t k = s[d]->len - off < seg ? s[d]->len - off : seg;

			rs_http_conn_data(c, d, (const uint8_t *)s[d]->p + off,
					  k, 1);
		}
	rs_http_conn_free(c);
}

static uint64_t htp_txns;

static int htp_done(htp_tx_t *tx)
{
	(void)tx;
	htp_txns++;
	return HTP_OK;
}

static void feed_htp(htp_cfg_t *cfg, const struct conv *cv, size_t seg)
{
	htp_connp_t *cp = htp_connp_create(cfg);
	struct timeval tv = { 1, 0 };
	const struct buf *s[2] = { &cv->req, &cv->resp };

	if (!cp)
		abort();
	htp_connp_open(cp, "198.18.0.1", 40000, "198.18.0.2", 80, &tv);
	for (int d = 0; d < 2; d++)
		for (size_t off = 0; off < s[d]->len; off += seg) {
			size_t k = s[d]->len - off < seg ? s[d]->len - off : seg;

			if (d == 0)
				htp_connp_req_data(cp, &tv, s[d]->p + off, k);
			else
				htp_connp_res_data(cp, &tv, s[d]->p + off, k);
		}
	htp_connp_close(cp, &tv);
	htp_connp_destroy_all(cp);
}

int main(int argc, char **argv)
{
	int nconv = 2000, rounds = 5, opt;
	size_t body_max = 4096, seg = 1448;
	struct corpus cp = { 0 };
	struct gen g = { 0xbe7c4b1d };
	struct rs_http_layer l;
	htp_cfg_t *cfg;
	double best_ours = 0, best_htp = 0;

	while ((opt = getopt(argc, argv, "c:b:s:r:")) != -1) {
		switch (opt) {
		case 'c': nconv = atoi(optarg); break;
		case 'b': body_max = (size_t)atol(optarg); break;
		case 's': seg = (size_t)atol(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-c conversations] [-b body_max]"
				" [-s segment] [-r rounds]\n", argv[0]);
			return 2;
		}
	}
	if (nconv < 1 || rounds < 1 || !seg)
		return 2;
	cp.cv = calloc((size_t)nconv, sizeof(*cp.cv));
	if (!cp.cv)
		return 1;
	for (int i = 0; i < nconv; i++) {
		/* Skip 304s with a Content-Length: libhtp reads a body there
		 * (tests/http/test_http_libhtp.c) and would do other work. */
		do
			gen_conv(&g, &cp.cv[i], 1 + (int)gen_below(&g, 8),
				 body_max);
		while (cp.cv[i].quirks);
		cp.bytes += cp.cv[i].req.len + cp.cv[i].resp.len;
		cp.txns += (uint64_t)cp.cv[i].n;
	}
	if (rs_http_layer_init(&l, on_txn, NULL))
		return 1;
	cfg = htp_config_create();
	if (!cfg)
		return 1;
	htp_config_set_server_personality(cfg, HTP_SERVER_APACHE_2);
	htp_config_set_response_decompression(cfg, 0);
	htp_config_register_transaction_complete(cfg, htp_done);

	for (int r = 0; r < rounds; r++) {
		uint64_t t0, t1;
		double s;

		ours_txns = 0;
		t0 = now_ns();
		for (int i = 0; i < nconv; i++)
			feed_ours(&l, &cp.cv[i], seg);
		t1 = now_ns();
		s = (double)(t1 - t0) / 1e9;
		if (cp.bytes / s > best_ours)
			best_ours = (double)cp.bytes / s;

		htp_txns = 0;
		t0 = now_ns();
		for (int i = 0; i < nconv; i++)
			feed_htp(cfg, &cp.cv[i], seg);
		t1 = now_ns();
		s = (double)(t1 - t0) / 1e9;
		if (cp.bytes / s > best_htp)
			best_htp = (double)cp.bytes / s;
	}
	printf("corpus: %d conversations, %llu transactions, %.1f MB, "
	       "bodies <= %zu B, %zu-byte segments, best of %d\n",
	       nconv, (unsigned long long)cp.txns, cp.bytes / 1e6, body_max,
	       seg, rounds);
	printf("ours    %9.1f MB/s %10.0f txn/s (%llu txns)\n", best_ours / 1e6,
	       best_ours / (double)cp.bytes * (double)cp.txns,
	       (unsigned long long)ours_txns);
	printf("libhtp  %9.1f MB/s %10.0f txn/s (%llu txns)\n", best_htp / 1e6,
	       best_htp / (double)cp.bytes * (double)cp.txns,
	       (unsigned long long)htp_txns);
	printf("ratio   %9.2fx\n", best_ours / best_htp);
	htp_config_destroy(cfg);
	rs_http_layer_fini(&l);
	for (int i = 0; i < nconv; i++)
		conv_free(&cp.cv[i]);
	free(cp.cv);
	return ours_txns == cp.txns && htp_txns == cp.txns ? 0 : 1;
}
