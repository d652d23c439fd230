/* replay_opts.c - the --replay options: values, the numeric target address, help text. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

const char rs_replay_usage[] =
"Replay (every reconstructed HTTP request, sent again):\n"
"      --replay ADDR:PORT    send requests to this numeric address\n"
"                            (A.B.C.D:PORT or [IPv6]:PORT; no names)\n"
"      --replay-conns N      keep-alive connections in the pool (default 4)\n"
"      --replay-rate R       at most R requests per second (default: no limit)\n"
"      --replay-percent P    replay P% of the captured connections, chosen\n"
"                            by flow hash (default 100)\n"
"      --replay-timeout MS   per request, connect included (default 5000)\n"
"      --replay-host NAME    send NAME as the Host header\n"
"      --replay-body-kb KB   longer request bodies are not replayed (default 64)\n"
"      --replay-queue-mb MB  queue per worker; full = dropped (default 4)\n"
"      --replay-drain S      at exit, wait at most S seconds (default 10)\n";

void rs_replay_opts_default(struct rs_replay_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = 4;
	o->percent = 100;
	o->timeout_ms = 5000;
	o->body_kb = 64;
	o->queue_mb = 4;
	o->drain_s = 10;
}

static const char *const names[] = {
	"--replay-conns", "--replay-rate", "--replay-percent",
	"--replay-timeout", "--replay-host", "--replay-body-kb",
	"--replay-queue-mb", "--replay-drain",
};

static int bad(enum rs_replay_opt which, const char *val, const char *why)
{
	fprintf(stderr, "ringsniff: invalid value '%s' for %s: %s\n", val,
		names[which], why);
	return -EINVAL;
}

static int uint_in(enum rs_replay_opt which, const char *s, unsigned lo,
		   unsigned hi, unsigned *out)
{
	char *end, why[64];
	unsigned long v;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return bad(which, s, "expected a non-negative integer");
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return bad(which, s, "expected a non-negative integer");
	if (v < lo || v > hi) {
		snprintf(why, sizeof(why), "must be between %u and %u", lo, hi);
		return bad(which, s, why);
	}
	*out = (unsigned)v;
	return 0;
}

static int num_in(enum rs_replay_opt which, const char *s, double lo,
		  double hi, bool lo_open, double *out)
{
	char *end, why[80];
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return bad(which, s, "expected a number");
	if (v > hi || v < lo || (lo_open && v == lo)) {
		snprintf(why, sizeof(why), "must be %s %g and at most %g",
			 lo_open ? "above" : "at least", lo, hi);
		return bad(which, s, why);
	}
	*out = v;
	return 0;
}

/* A header value we can send as is: visible ASCII, no separators that
 * would end the line or the header. */
static bool host_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
			return false;
	return true;
}

int rs_replay_opt_set(struct rs_replay_opts *o, enum rs_replay_opt which,
		      const char *val)
{
	o->given = true;
	switch (which) {
	case RS_REPLAY_OPT_CONNS:
		return uint_in(which, val, 1, 1024, &o->conns);
	case RS_REPLAY_OPT_RATE:
		return num_in(which, val, 0, 1e7, false, &o->rate);
	case RS_REPLAY_OPT_PERCENT:
		return num_in(which, val, 0, 100, true, &o->percent);
	case RS_REPLAY_OPT_TIMEOUT:
		return uint_in(which, val, 1, 600000, &o->timeout_ms);
	case RS_REPLAY_OPT_HOST:
		if (!host_ok(val))
			return bad(which, val, "expected 1 to 255 visible "
				   "ASCII characters, no spaces");
		o->host = val;
		return 0;
	case RS_REPLAY_OPT_BODY_KB:
		return uint_in(which, val, 0, 65536, &o->body_kb);
	case RS_REPLAY_OPT_QUEUE_MB:
		return uint_in(which, val, 1, 4096, &o->queue_mb);
	case RS_REPLAY_OPT_DRAIN:
		return num_in(which, val, 0, 86400, false, &o->drain_s);
	}
	return -EINVAL;
}

int rs_replay_parse_target(const char *s, struct sockaddr_storage *sa,
			   socklen_t *len, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *colon;
	size_t hn;
	unsigned long p;
	char *end;

	memset(sa, 0, sizeof(*sa));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':') {
			snprintf(err, errlen, "expected [IPv6]:PORT");
			return -EINVAL;
		}
		hn = (size_t)(rb - s - 1);
		if (hn >= sizeof(host)) {
			snprintf(err, errlen, "not an IPv6 address");
			return -EINVAL;
		}
		memcpy(host, s + 1, hn);
		host[hn] = 0;
		port = rb + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon) {
			snprintf(err, errlen, "expected A.B.C.D:PORT or [IPv6]:PORT");
			return -EINVAL;
		}
		hn = (size_t)(colon - s);
		if (hn >= sizeof(host)) {
			snprintf(err, errlen, "not an IPv4 address");
			return -EINVAL;
		}
		memcpy(host, s, hn);
		host[hn] = 0;
		port = colon + 1;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p == 0 || p > 65535 || *port == '-' ||
	    *port == '+') {
		snprintf(err, errlen, "port must be 1 to 65535");
		return -EINVAL;
	}
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
			snprintf(err, errlen, "'%s' is not a numeric IPv6 address", host);
			return -EINVAL;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)sa;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
			snprintf(err, errlen, "'%s' is not a numeric IPv4 address "
				 "(names are not resolved)", host);
			return -EINVAL;
		}
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		*len = sizeof(*a4);
	}
	return 0;
}

size_t rs_replay_body_max(const struct rs_replay_opts *o)
{
	return (size_t)o->body_kb << 10;
}

size_t rs_replay_keep_body(const struct rs_replay_opts *o)
{
	/* At least 1: keeping must be on for empty bodies to be complete. */
	return o->body_kb ? (size_t)o->body_kb << 10 : 1;
}

int rs_replay_opts_check(struct rs_replay_opts *o)
{
	char err[128];

	if (!o->target) {
		if (o->given) {
			fprintf(stderr, "ringsniff: --replay-* options need --replay ADDR:PORT\n");
			return -EINVAL;
		}
		return 0;
	}
	if (rs_replay_parse_target(o->target, &o->addr, &o->addr_len, err,
				   sizeof(err)) < 0) {
		fprintf(stderr, "ringsniff: invalid value '%s' for --replay: %s\n",
			o->target, err);
		return -EINVAL;
	}
	/* A record (head, body, header) must fit half a queue. */
	if (((uint64_t)o->body_kb << 10) + (16u << 10) >
	    ((uint64_t)o->queue_mb << 20) / 2) {
		fprintf(stderr, "ringsniff: --replay-body-kb %u needs a bigger "
			"--replay-queue-mb (more than twice the body)\n", o->body_kb);
		return -EINVAL;
	}
	return 0;
}
