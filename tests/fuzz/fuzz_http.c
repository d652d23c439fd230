/* fuzz_http.c - libFuzzer harness for the HTTP/1.x parser (rs_http_conn_*).
 *
 * Input: one config byte (bit 0: the first connection is midstream; bits
 * 1-2: request bodies kept up to 0 (off), 16, 1024 or 65536 bytes), then
 * operations, each a kind byte and a 16-bit big-endian length:
 *   kind & 7 = 0/1  data of direction 0/1: the next `length` bytes (fewer
 *                   if the input ends), fed in chunks of kind >> 3
 *                   (0 = all at once; 1-16 bytes; 17-31 = 64 * (k - 16))
 *            2/3    gap of `length << (kind >> 3)` bytes in direction 0/1
 *            4/5    eof of direction 0/1
 *            6      end this connection and start another from the pool
 *                   (length bit 0: midstream)
 *            7      data of direction 1 in one-byte pieces
 * Every input runs twice, cut as the input says and with every operation's
 * data in one piece: the parser promises results that never depend on
 * where segments were cut, so both runs must give the same transactions
 * and counters.  Inputs up to 1 KiB run a third time, byte by byte.  The layer is
 * made and freed per run, so LeakSanitizer sees anything left behind.
 * FUZZ_VERBOSE=1 prints every transaction of every run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rs_reassembly.h"

enum { CUT_INPUT, CUT_NONE, CUT_BYTES };
static const size_t keep_sizes[4] = { 0, 16, 1024, 65536 };

#define MAX_TXN_HASHES 4096
/* struct rs_http_stats: uint64_t counters from requests to alloc_failures. */
#define NSTATS ((offsetof(struct rs_http_stats, alloc_failures) - \
		 offsetof(struct rs_http_stats, requests)) / sizeof(uint64_t) + 1)

struct run {
	size_t keep_body;         /* rs_http_layer_set_keep_body */
	uint64_t hash;            /* of every transaction, in order */
	unsigned ntxn;
	uint64_t txn_hash[MAX_TXN_HASHES];
	struct rs_http_stats stats;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_VERBOSE=1: print every transaction (to compare runs by eye). */
static bool verbose;

FZ_NOCOV static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* A logged field: len below its bound, NUL right after it. */
static void check_field(const char *s, uint16_t len, size_t max)
{
	FZ_CHECK(len < max);
	FZ_CHECK(s[len] == '\0');
}

static void on_txn(void *user, const struct rs_flow_info *f,
		   const struct rs_http_txn *t)
{
	struct run *r = user;
	uint64_t h = 1469598103934665603ull;

	FZ_CHECK(f != NULL);
	check_field(t->method, t->method_len, RS_HTTP_METHOD_MAX);
	check_field(t->uri, t->uri_len, RS_HTTP_URI_MAX);
	check_field(t->host, t->host_len, RS_HTTP_HOST_MAX);
	check_field(t->user_agent, t->ua_len, RS_HTTP_UA_MAX);
	check_field(t->version, t->version_len, RS_HTTP_VERSION_MAX);
	FZ_CHECK(t->status >= -1 && t->status <= 999);
	FZ_CHECK((t->flags >> 9) == 0);
	for (unsigned b = 0; b < 9; b++)
		if (t->flags & (1u << b))
			FZ_CHECK(rs_http_flag_name(b) != NULL);
	if (t->req_head) {
		FZ_CHECK(t->req_head_len > 0);
		FZ_CHECK(t->req_head_len <= RS_HTTP_REQ_STORE);
	}
	FZ_CHECK(t->req_body_kept <= r->keep_body);
	FZ_CHECK((t->req_body != NULL) == (t->req_body_kept > 0));
	FZ_CHECK(t->req_body_kept <= t->req_body_len);
	if (t->req_body_complete)
		FZ_CHECK(t->req_body_kept == t->req_body_len);
	if (!r->keep_body)
		FZ_CHECK(!t->req_body && !t->req_body_complete);
	/* What the transaction says, byte for byte (the head read whole, so
	 * ASan sees a bad pointer or length). */
	h = fnv(h, t->method, t->method_len);
	h = fnv(h, t->uri, t->uri_len);
	h = fnv(h, t->host, t->host_len);
	h = fnv(h, t->user_agent, t->ua_len);
	h = fnv(h, t->version, t->version_len);
	h = fnv(h, &t->ts_ns, sizeof(t->ts_ns));
	h = fnv(h, &t->resp_ts_ns, sizeof(t->resp_ts_ns));
	h = fnv(h, &t->req_body_len, sizeof(t->req_body_len));
	h = fnv(h, &t->resp_body_len, sizeof(t->resp_body_len));
	h = fnv(h, &t->status, sizeof(t->status));
	h = fnv(h, &t->flags, sizeof(t->flags));
	h = fnv(h, &t->req_head_len, sizeof(t->req_head_len));
	if (t->req_head)
		h = fnv(h, t->req_head, t->req_head_len);
	h = fnv(h, &t->req_body_kept, sizeof(t->req_body_kept));
	h = fnv(h, &t->req_body_complete, sizeof(t->req_body_complete));
	if (t->req_body)
		h = fnv(h, t->req_body, t->req_body_kept);
	if (verbose)
		fprintf(stderr, "txn %u: %.*s %.*s %.*s host=%.*s ua=%.*s "
			"status %d flags 0x%x req %llu resp %llu ts %llu/%llu "
			"head %zu\n", r->ntxn, t->method_len, t->method,
			t->uri_len, t->uri, t->version_len, t->version,
			t->host_len, t->host, t->ua_len, t->user_agent,
			t->status, t->flags,
			(unsigned long long)t->req_body_len,
			(unsigned long long)t->resp_body_len,
			(unsigned long long)t->ts_ns,
			(unsigned long long)t->resp_ts_ns,
			t->req_head ? t->req_head_len : 0);
	if (r->ntxn < MAX_TXN_HASHES)
		r->txn_hash[r->ntxn] = h;
	r->ntxn++;
	r->hash = fnv(r->hash, &h, sizeof(h));
}

static size_t chunk_of(unsigned k)
{
	return k <= 16 ? k : 64u * (k - 16);
}

static void feed(struct rs_http_conn *c, int dir, const uint8_t *p, size_t n,
		 size_t chunk, uint64_t ts)
{
	if (!chunk)
		chunk = n ? n : 1;
	do {
		size_t k = n < chunk ? n : chunk;

		rs_http_conn_data(c, dir, p, k, ts);
		p += k;
		n -= k;
	} while (n);
}

static void run_input(const uint8_t *data, size_t size, int cut,
		      struct run *r)
{
	struct rs_http_layer layer;
	struct rs_flow_info info = {
		.proto = 6, .addr_len = 4,
		.cli_addr = { 198, 18, 0, 1 }, .srv_addr = { 198, 18, 0, 2 },
		.cli_port = 40000, .srv_port = 80, .state = "established",
	};
	struct rs_http_conn *c;
	size_t i = 1;
	uint64_t ts = 1000;

	memset(r, 0, sizeof(*r));
	r->hash = 1469598103934665603ull;
	FZ_CHECK(rs_http_layer_init(&layer, on_txn, r) == 0);
	r->keep_body = keep_sizes[(data[0] >> 1) & 3];
	FZ_CHECK(rs_http_layer_set_keep_body(&layer, r->keep_body) == 0);
	if (data[0] & 1)
		info.flags |= RS_FLOW_MIDSTREAM;
	c = rs_http_conn_new(&layer, &info);
	FZ_CHECK(c != NULL);
	while (i + 3 <= size) {
		uint8_t kind = data[i];
		unsigned hint = kind >> 3;
		size_t len = (size_t)data[i + 1] << 8 | data[i + 2];

		i += 3;
		ts += 1000;
		switch (kind & 7) {
		case 0:
		case 1:
		case 7:
			if (len > size - i)
				len = size - i;
			feed(c, kind & 1, data + i, len,
			     cut == CUT_BYTES ? 1 : cut == CUT_NONE ? 0 :
			     (kind & 7) == 7 ? 1 : chunk_of(hint), ts);
			i += len;
			break;
		case 2:
		case 3:
			rs_http_conn_gap(c, kind & 1, (uint64_t)len << hint);
			break;
		case 4:
		case 5:
			rs_http_conn_eof(c, kind & 1);
			break;
		case 6:
			rs_http_conn_free(c);
			info.flags = (len & 1) ? RS_FLOW_MIDSTREAM : 0;
			c = rs_http_conn_new(&layer, &info);
			FZ_CHECK(c != NULL);
			break;
		}
	}
	rs_http_conn_free(c);
	r->stats = layer.stats;
	FZ_CHECK(layer.stats.txns == r->ntxn);
	FZ_CHECK(layer.stats.alloc_failures == 0);
	rs_http_layer_fini(&layer);
}

static void compare(const struct run *a, const struct run *b, const char *what)
{
	struct rs_http_stats sa = a->stats, sb = b->stats;

	if (a->ntxn != b->ntxn || a->hash != b->hash) {
		unsigned i = 0;

		while (i < a->ntxn && i < b->ntxn && i < MAX_TXN_HASHES &&
		       a->txn_hash[i] == b->txn_hash[i])
			i++;
		fprintf(stderr, "%s: %u vs %u transactions, first difference "
			"at transaction %u\n", what, a->ntxn, b->ntxn, i);
		FZ_CHECK(!"transactions depend on where the data was cut");
	}
	/* Every counter, field by field (the struct has padding). */
	const uint64_t *x = &sa.requests, *y = &sb.requests;
	const size_t n = NSTATS;
	bool same = true;

	for (size_t k = 0; k < n; k++) {
		if (x[k] == y[k])
			continue;
		fprintf(stderr, "%s: stats field %zu: %llu vs %llu\n", what, k,
			(unsigned long long)x[k], (unsigned long long)y[k]);
		same = false;
	}
	FZ_CHECK(same || !"counters depend on where the data was cut");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run a, b;

	if (size < 1)
		return 0;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	/* FUZZ_HTTP_NO_DIFF=1: memory checks only, for hunting other bugs
	 * while a reported cut dependence is still unfixed. */
	if (getenv("FUZZ_HTTP_NO_DIFF")) {
		run_input(data, size, CUT_INPUT, &a);
		return 0;
	}
	if (verbose)
		fprintf(stderr, "-- cut as the input says\n");
	run_input(data, size, CUT_INPUT, &a);
	if (verbose)
		fprintf(stderr, "-- whole operations\n");
	run_input(data, size, CUT_NONE, &b);
	compare(&a, &b, "input cuts vs whole");
	if (size <= 1024) {
		if (verbose)
			fprintf(stderr, "-- byte by byte\n");
		run_input(data, size, CUT_BYTES, &b);
		compare(&a, &b, "input cuts vs bytewise");
	}
	return 0;
}
