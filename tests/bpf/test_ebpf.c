/* test_ebpf.c - cmocka tests of the --ebpf-filter spec parser and of the eBPF
 * socket filter and fanout programs, run on hand-built frames with
 * BPF_PROG_TEST_RUN.  Loading needs root; without it those tests skip. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "frames.h"
#include "rs_bpf.h"

#ifdef RS_HAVE_EBPF
#include <bpf/bpf.h>
#endif

/* ---- control: the spec grammar ---------------------------------------- */

static void test_spec_ok(void **state)
{
	static const struct {
		const char *text;
		size_t nports, ncidrs;
		const char *first_cidr;   /* canonical text of cidrs[0] */
		unsigned first_len;
	} cases[] = {
		{ NULL, 0, 0, NULL, 0 },
		{ "", 0, 0, NULL, 0 },
		{ " ; ;", 0, 0, NULL, 0 },
		{ "port=80", 1, 0, NULL, 0 },
		{ "port=80,443;port=80", 2, 0, NULL, 0 },
		{ " port = 8000 - 8009 , 22 ", 11, 0, NULL, 0 },
		{ "port=0,65535", 2, 0, NULL, 0 },
		{ "net=198.18.0.0/15", 0, 1, "198.18.0.0", 15 },
		{ "net=198.19.255.255/15", 0, 1, "198.18.0.0", 15 },
		{ "net=198.18.0.1", 0, 1, "198.18.0.1", 32 },
		{ "net=fe80::1/10,198.18.0.0/15;net=fe80::/10", 0, 2, "fe80::", 10 },
		{ "net=fe80::1", 0, 1, "fe80::1", 128 },
		{ "net=0.0.0.0/0", 0, 1, "0.0.0.0", 0 },
		{ "port=80,443;net=198.18.0.0/15,fe80::/10;", 2, 2, "198.18.0.0", 15 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rs_ebpf_spec spec;
		char err[256] = "";
		int ret = rs_ebpf_spec_parse(&spec, cases[i].text, err,
					     sizeof(err));

		if (ret != 0 || spec.nports != cases[i].nports ||
		    spec.ncidrs != cases[i].ncidrs)
			fail_msg("\"%s\": ret %d (%s) ports %zu cidrs %zu",
				 cases[i].text, ret, err, spec.nports,
				 spec.ncidrs);
		for (size_t p = 1; p < spec.nports; p++)
			assert_true(spec.ports[p - 1] < spec.ports[p]);
		if (cases[i].first_cidr) {
			char txt[64];
			int af = spec.cidrs[0].family;

			assert_non_null(inet_ntop(af, spec.cidrs[0].addr, txt,
						  sizeof(txt)));
			assert_string_equal(txt, cases[i].first_cidr);
			assert_int_equal(spec.cidrs[0].prefixlen,
					 cases[i].first_len);
		}
		rs_ebpf_spec_free(&spec);
	}
}

static void test_spec_ports_content(void **state)
{
	struct rs_ebpf_spec spec;

	(void)state;
	assert_int_equal(rs_ebpf_spec_parse(&spec, "port=443,80,8000-8002,80",
					    NULL, 0), 0);
	assert_int_equal(spec.nports, 5);
	assert_int_equal(spec.ports[0], 80);
	assert_int_equal(spec.ports[1], 443);
	assert_int_equal(spec.ports[2], 8000);
	assert_int_equal(spec.ports[4], 8002);
	rs_ebpf_spec_free(&spec);
	rs_ebpf_spec_free(&spec);      /* idempotent */
	rs_ebpf_spec_free(NULL);
}

static void test_spec_errors(void **state)
{
	static const struct {
		const char *text;
		int ret;
		const char *msg;          /* substring of err */
	} cases[] = {
		{ "port=99999", -EINVAL, "\"99999\" at offset 5" },
		{ "port=80;port=http", -EINVAL, "\"http\" at offset 13" },
		{ "port=90-80", -EINVAL, "backwards" },
		{ "port=80,", -EINVAL, "empty port" },
		{ "port=", -EINVAL, "empty port" },
		{ "port=-5", -EINVAL, "\"-5\"" },
		{ "host=1.2.3.4", -EINVAL, "\"host\" at offset 0: unknown key" },
		{ "port 80", -EINVAL, "expected port=" },
		{ "net=198.18.0.0/33", -EINVAL, "\"198.18.0.0/33\" at offset 4" },
		{ "net=fe80::/129", -EINVAL, "not an address" },
		{ "net=198.18.0.0/", -EINVAL, "not an address" },
		{ "net=example.com", -EINVAL, "\"example.com\"" },
		{ "net=198.18.0.0/15,,", -EINVAL, "empty prefix" },
		{ "port=1-4097", -E2BIG, "more than 4096 ports" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rs_ebpf_spec spec;
		char err[256] = "";
		int ret = rs_ebpf_spec_parse(&spec, cases[i].text, err,
					     sizeof(err));

		if (ret != cases[i].ret || !strstr(err, cases[i].msg) ||
		    spec.nports || spec.ncidrs || spec.ports || spec.cidrs)
			fail_msg("\"%s\": ret %d err \"%s\"", cases[i].text,
				 ret, err);
	}
}

static void test_cidr_parse(void **state)
{
	struct rs_ebpf_cidr c;

	(void)state;
	assert_int_equal(rs_ebpf_cidr_parse(&c, "198.18.7.9/20"), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefixlen, 20);
	assert_int_equal(c.addr[2], 0);      /* 7 & 0xf0 */
	assert_int_equal(c.addr[3], 0);
	assert_int_equal(rs_ebpf_cidr_parse(&c, "198.18.23.9/20"), 0);
	assert_int_equal(c.addr[2], 16);
	assert_int_equal(rs_ebpf_cidr_parse(&c, "fe80::ff/121"), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.addr[15], 0x80);
	assert_int_equal(rs_ebpf_cidr_parse(&c, "1.2.3"), -EINVAL);
	assert_int_equal(rs_ebpf_cidr_parse(&c, NULL), -EINVAL);
}

#ifndef RS_HAVE_EBPF
static void test_not_built(void **state)
{
	struct rs_ebpf_filter *f = (struct rs_ebpf_filter *)1;
	char err[256] = "";

	(void)state;
	assert_false(rs_ebpf_built());
	assert_int_equal(rs_ebpf_filter_open(&f, NULL, err, sizeof(err)),
			 -EOPNOTSUPP);
	assert_null(f);
	assert_non_null(strstr(err, "without eBPF"));
}
#else

/* ---- loading ------------------------------------------------------------ */

/* Skip (not fail) when this kernel or these privileges cannot load. */
static void open_or_skip(struct rs_ebpf_filter **f,
			 const struct rs_ebpf_spec *spec)
{
	char err[512] = "";
	int ret;

	if (geteuid() != 0)
		skip();
	ret = rs_ebpf_filter_open(f, spec, err, sizeof(err));
	if (ret == -EPERM || ret == -EOPNOTSUPP || ret == -ENOSYS) {
		print_message("skip: %s\n", err);
		skip();
	}
	if (ret != 0)
		fail_msg("rs_ebpf_filter_open: %d %s", ret, err);
}

/* Without privileges the error names the cause and carries libbpf's text. */
static void test_load_eperm(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rs_ebpf_filter *f = NULL;
		char err[512] = "";
		int ret;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(77);
		ret = rs_ebpf_filter_open(&f, NULL, err, sizeof(err));
		if (ret == -EPERM && f == NULL && strstr(err, "CAP_BPF") &&
		    strstr(err, "libbpf"))
			_exit(0);
		fprintf(stderr, "unprivileged open: %d \"%s\"\n", ret, err);
		_exit(ret == 0 ? 77 : 1);  /* unprivileged BPF allowed here */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Runs prog on one frame; returns the program's return value. */
static uint32_t run(int prog_fd, const struct frame_spec *fs, unsigned *len)
{
	uint8_t buf[1600];
	unsigned n = build_frame(buf, fs);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf,
		    .data_size_in = n, .repeat = 1);

	assert_true(n >= 14);
	if (len)
		*len = n;
	if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	return opts.retval;
}

/* ---- data path: the socket filter ------------------------------------- */

#define ACK TF_ACK
static const struct frame_spec ff[] = {
	/* 0 */ { 0, 4, "198.18.0.2", "198.18.0.1", 6, 40000, 80, ACK, 10, 0, 0, 0 },
	/* 1 */ { 0, 4, "198.18.0.1", "198.18.0.2", 6, 80, 40000, ACK, 100, 0, 0, 0 },
	/* 2 */ { 0, 4, "198.18.0.2", "198.18.1.1", 6, 40001, 443, ACK, 0, 0, 0, 0 },
	/* 3 */ { 0, 4, "198.18.0.2", "198.18.0.1", 17, 5353, 53, 0, 20, 0, 0, 0 },
	/* 4 */ { 0, 4, "198.18.0.2", "198.18.0.1", 1, 0, 0, 0, 8, 0, 0, 0 },
	/* 5 */ { 10, 4, "198.18.0.2", "198.18.0.1", 6, 40002, 80, ACK, 0, 0, 0, 0 },
	/* 6 */ { 20, 6, "fe80::2", "fe80::1", 17, 40003, 53, 0, 4, 1, 0, 0 },
	/* 7 */ { 0, 6, "fe80::2", "fe80::1", 6, 40004, 80, ACK, 0, 0, 1, 0 },
	/* 8 */ { 0, 6, "2001:db8::1", "fe80::1", 58, 0, 0, 0, 8, 0, 0, 0 },
	/* 9 */ { 0, 4, "198.18.0.2", "198.18.0.1", 17, 5353, 80, 0, 20, 0, 0, 1 },
	/* 10 */ { 0, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	/* 11 */ { 0, 4, "198.18.0.2", "198.18.0.1", 132, 40005, 80, 0, 12, 0, 0, 0 },
};
#define NFF (sizeof(ff) / sizeof(ff[0]))
/* Protocol class of each frame (fragment 9 is still UDP). */
static const int ff_class[NFF] = { 0, 0, 0, 1, 2, 0, 1, 0, 2, 1, 3, 3 };

static const struct {
	const char *spec;
	const char *expect;       /* '1' = frame passes */
} filter_table[] = {
	{ "", "111111111111" },
	{ "port=80", "110001010001" },
	{ "port=443", "001000000000" },
	{ "port=53,443", "001100100000" },
	{ "port=40000", "110000000000" },
	{ "port=5353", "000100000000" },    /* not the fragment */
	{ "net=198.18.0.1/32", "110111000101" },
	{ "net=198.18.1.0/24", "001000000000" },
	{ "net=198.18.0.0/15", "111111000101" },
	{ "net=fe80::/10", "000000111000" },
	{ "net=fe80::1", "000000111000" },
	{ "net=2001:db8::/32", "000000001000" },
	{ "net=fe80::2/128,198.18.1.1", "001000110000" },
	{ "port=80;net=fe80::/10", "000000010000" },
	{ "port=80;net=198.18.0.0/16", "110001000001" },
};

static void test_sockfilter_table(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof(filter_table) / sizeof(filter_table[0]);
	     t++) {
		struct rs_ebpf_counters c;
		struct rs_ebpf_filter *f = NULL;
		struct rs_ebpf_spec spec;
		char err[256];
		uint64_t want_pass[4] = { 0 }, want_drop[4] = { 0 };
		uint64_t want_pbytes[4] = { 0 }, want_dbytes[4] = { 0 };

		if (rs_ebpf_spec_parse(&spec, filter_table[t].spec, err,
				       sizeof(err)) != 0)
			fail_msg("%s", err);
		open_or_skip(&f, &spec);
		rs_ebpf_spec_free(&spec);
		for (size_t i = 0; i < NFF; i++) {
			unsigned len;
			uint32_t ret = run(rs_ebpf_filter_fd(f), &ff[i], &len);
			bool want = filter_table[t].expect[i] == '1';

			/* test_run hands socket filters the frame past its
			 * Ethernet header: skb->len is 14 less. */
			if (want ? ret != len - 14 : ret != 0)
				fail_msg("\"%s\" frame %zu: returned %u (len %u)",
					 filter_table[t].spec, i, ret, len);
			if (want) {
				want_pass[ff_class[i]]++;
				want_pbytes[ff_class[i]] += len - 14;
			} else {
				want_drop[ff_class[i]]++;
				want_dbytes[ff_class[i]] += len - 14;
			}
		}
		assert_int_equal(rs_ebpf_filter_counters(f, &c), 0);
		for (int p = 0; p < RS_EBPF_PROTOS; p++) {
			if (c.passed_pkts[p] != want_pass[p] ||
			    c.dropped_pkts[p] != want_drop[p] ||
			    c.passed_bytes[p] != want_pbytes[p] ||
			    c.dropped_bytes[p] != want_dbytes[p])
				fail_msg("\"%s\" class %d: pass %llu/%llu drop "
					 "%llu/%llu", filter_table[t].spec, p,
					 (unsigned long long)c.passed_pkts[p],
					 (unsigned long long)want_pass[p],
					 (unsigned long long)c.dropped_pkts[p],
					 (unsigned long long)want_drop[p]);
		}
		rs_ebpf_filter_close(f);
	}
}

/* Frames cut short: no read past the end, and a port set cannot match.
 * BPF_PROG_TEST_RUN itself refuses frames shorter than the IP header. */
static void test_sockfilter_short(void **state)
{
	static const struct {
		int frame;
		unsigned min_cut;         /* what the kernel's test run takes */
		unsigned ports_end;       /* bytes needed to see both ports */
	} cases[] = {
		{ 0, 14 + 20, 14 + 20 + 4 },
		{ 7, 14 + 40, 14 + 40 + 8 + 4 },  /* IPv6 + hop-by-hop */
		{ 6, 15, 22 + 40 + 4 },           /* QinQ, IPv6: any cut */
	};
	struct rs_ebpf_filter *f = NULL;
	struct rs_ebpf_spec spec;

	(void)state;
	assert_int_equal(rs_ebpf_spec_parse(&spec, "port=80,53", NULL, 0), 0);
	open_or_skip(&f, &spec);
	rs_ebpf_spec_free(&spec);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[1600];
		unsigned n = build_frame(buf, &ff[cases[i].frame]);

		for (unsigned cut = cases[i].min_cut; cut <= n; cut++) {
			LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf,
				    .data_size_in = cut, .repeat = 1);
			uint32_t want = cut >= cases[i].ports_end ? cut - 14 : 0;

			if (bpf_prog_test_run_opts(rs_ebpf_filter_fd(f),
						   &opts) != 0)
				fail_msg("frame %d cut %u: %s",
					 cases[i].frame, cut, strerror(errno));
			if (opts.retval != want)
				fail_msg("frame %d cut %u: returned %u",
					 cases[i].frame, cut, opts.retval);
		}
	}
	rs_ebpf_filter_close(f);
}

/* Map updates while loaded change the verdict at once. */
static void test_sockfilter_update(void **state)
{
	struct rs_ebpf_filter *f = NULL;
	struct rs_ebpf_cidr c;
	int fd;

	(void)state;
	open_or_skip(&f, NULL);
	fd = rs_ebpf_filter_fd(f);
	assert_true(fd >= 0);
	assert_true(run(fd, &ff[2], NULL) > 0);           /* empty: pass */
	assert_int_equal(rs_ebpf_filter_add_port(f, 80), 0);
	assert_true(run(fd, &ff[0], NULL) > 0);
	assert_int_equal(run(fd, &ff[2], NULL), 0);        /* 443 */
	assert_int_equal(rs_ebpf_filter_add_port(f, 443), 0);
	assert_true(run(fd, &ff[2], NULL) > 0);
	assert_int_equal(rs_ebpf_filter_del_port(f, 80), 0);
	assert_int_equal(run(fd, &ff[0], NULL), 0);
	assert_int_equal(rs_ebpf_filter_del_port(f, 80), -ENOENT);
	assert_int_equal(rs_ebpf_filter_del_port(f, 443), 0);
	assert_true(run(fd, &ff[0], NULL) > 0);           /* empty again */
	assert_true(run(fd, &ff[10], NULL) > 0);          /* ARP too */

	assert_int_equal(rs_ebpf_cidr_parse(&c, "198.18.1.0/24"), 0);
	assert_int_equal(rs_ebpf_filter_add_cidr(f, &c), 0);
	assert_true(run(fd, &ff[2], NULL) > 0);
	assert_int_equal(run(fd, &ff[0], NULL), 0);
	assert_int_equal(run(fd, &ff[7], NULL), 0);        /* IPv6 */
	assert_int_equal(run(fd, &ff[10], NULL), 0);       /* ARP */
	assert_int_equal(rs_ebpf_cidr_parse(&c, "fe80::/64"), 0);
	assert_int_equal(rs_ebpf_filter_add_cidr(f, &c), 0);
	assert_true(run(fd, &ff[7], NULL) > 0);
	assert_int_equal(rs_ebpf_cidr_parse(&c, "198.18.1.0/24"), 0);
	assert_int_equal(rs_ebpf_filter_del_cidr(f, &c), 0);
	assert_int_equal(run(fd, &ff[2], NULL), 0);        /* v6 set remains */
	assert_int_equal(rs_ebpf_filter_del_cidr(f, &c), -ENOENT);
	assert_int_equal(rs_ebpf_cidr_parse(&c, "fe80::/64"), 0);
	assert_int_equal(rs_ebpf_filter_del_cidr(f, &c), 0);
	assert_true(run(fd, &ff[2], NULL) > 0);           /* all empty */
	c.family = 99;
	assert_int_equal(rs_ebpf_filter_add_cidr(f, &c), -EINVAL);
	rs_ebpf_filter_close(f);
	rs_ebpf_filter_close(NULL);
}

/* The port map holds RS_EBPF_MAX_PORTS; one more is refused. */
static void test_sockfilter_full(void **state)
{
	struct rs_ebpf_filter *f = NULL;

	(void)state;
	open_or_skip(&f, NULL);
	for (unsigned p = 0; p < RS_EBPF_MAX_PORTS; p++)
		assert_int_equal(rs_ebpf_filter_add_port(f, (uint16_t)p), 0);
	assert_int_equal(rs_ebpf_filter_add_port(f, 60000), -E2BIG);
	assert_int_equal(rs_ebpf_filter_add_port(f, 80), 0);  /* update */
	rs_ebpf_filter_close(f);
}

/* ---- data path: the fanout program ------------------------------------ */

static void open_fanout_or_skip(struct rs_ebpf_fanout **p, unsigned n,
				uint32_t seed)
{
	char err[512] = "";
	int ret;

	if (geteuid() != 0)
		skip();
	ret = rs_ebpf_fanout_open_seeded(p, n, seed, err, sizeof(err));
	if (ret == -EPERM || ret == -EOPNOTSUPP) {
		print_message("skip: %s\n", err);
		skip();
	}
	if (ret != 0)
		fail_msg("rs_ebpf_fanout_open: %d %s", ret, err);
}

static struct frame_spec reversed(const struct frame_spec *s)
{
	struct frame_spec r = *s;

	r.src = s->dst;
	r.dst = s->src;
	r.sport = s->dport;
	r.dport = s->sport;
	return r;
}

static const struct frame_spec flows[] = {
	{ 0, 4, "198.18.0.2", "198.18.0.1", 6, 40000, 80, ACK, 0, 0, 0, 0 },
	{ 0, 4, "198.18.0.2", "198.18.0.1", 6, 40001, 80, ACK, 0, 0, 0, 0 },
	{ 0, 4, "198.18.0.2", "198.18.0.1", 17, 40000, 80, 0, 0, 0, 0, 0 },
	{ 0, 4, "198.18.0.9", "198.18.0.1", 6, 40000, 80, ACK, 0, 0, 0, 0 },
	{ 0, 4, "198.18.0.2", "198.18.0.2", 6, 80, 80, ACK, 0, 0, 0, 0 },
	{ 0, 4, "198.18.0.2", "198.18.0.1", 1, 0, 0, 0, 8, 0, 0, 0 },
	{ 0, 6, "fe80::2", "fe80::1", 6, 40000, 80, ACK, 0, 0, 0, 0 },
	{ 0, 6, "fe80::2", "fe80::1", 6, 40002, 80, ACK, 0, 0, 1, 0 },
	{ 0, 6, "fe80::1:2", "fe80::1", 17, 5353, 5353, 0, 8, 0, 0, 0 },
	{ 0, 6, "2001:db8::1", "fe80::1", 132, 1, 2, 0, 8, 0, 0, 0 },
};
#define NFLOWS (sizeof(flows) / sizeof(flows[0]))

static void test_fanout_symmetric(void **state)
{
	struct rs_ebpf_fanout *p = NULL;
	uint32_t h[NFLOWS];
	int fd;

	(void)state;
	open_fanout_or_skip(&p, 0, 12345);       /* raw 32-bit hashes */
	fd = rs_ebpf_fanout_fd(p);
	for (size_t i = 0; i < NFLOWS; i++) {
		struct frame_spec r = reversed(&flows[i]), tagged = flows[i];

		h[i] = run(fd, &flows[i], NULL);
		if (run(fd, &r, NULL) != h[i])
			fail_msg("flow %zu: directions differ", i);
		/* A tag inline (one or two) or not: the same flow. */
		tagged.vlan = 7;
		assert_int_equal(run(fd, &tagged, NULL), h[i]);
		tagged.qinq = 1;
		r = reversed(&tagged);
		assert_int_equal(run(fd, &r, NULL), h[i]);
	}
	for (size_t i = 0; i < NFLOWS; i++)
		for (size_t j = i + 1; j < NFLOWS; j++)
			if (h[i] == h[j])
				fail_msg("flows %zu and %zu hash alike", i, j);

	/* Fragments of one datagram hash alike whatever sits where ports
	 * would be: the later pieces have none. */
	{
		struct frame_spec a = flows[2], b = flows[2];

		a.frag = b.frag = 1;
		b.sport = 1;
		b.dport = 2;
		assert_int_equal(run(fd, &a, NULL), run(fd, &b, NULL));
		a.ipver = b.ipver = 6;
		a.src = b.src = "fe80::2";
		a.dst = b.dst = "fe80::1";
		assert_int_equal(run(fd, &a, NULL), run(fd, &b, NULL));
		b = reversed(&a);
		assert_int_equal(run(fd, &a, NULL), run(fd, &b, NULL));
	}
	/* Not IP: member 0. */
	assert_int_equal(run(fd, &ff[10], NULL), 0);
	rs_ebpf_fanout_close(p);

	/* Another seed, other hashes. */
	open_fanout_or_skip(&p, 0, 54321);
	assert_int_not_equal(run(rs_ebpf_fanout_fd(p), &flows[0], NULL), h[0]);
	rs_ebpf_fanout_close(p);
	rs_ebpf_fanout_close(NULL);
}

static void test_fanout_spread(void **state)
{
	enum { MEMBERS = 4, NFL = 512 };
	unsigned count[MEMBERS] = { 0 };
	struct rs_ebpf_fanout *p = NULL;
	int fd;

	(void)state;
	open_fanout_or_skip(&p, MEMBERS, 777);
	fd = rs_ebpf_fanout_fd(p);
	for (unsigned i = 0; i < NFL; i++) {
		struct frame_spec s = flows[i % 2 ? 0 : 6], r;
		uint32_t m;

		s.sport = (uint16_t)(30000 + i);
		m = run(fd, &s, NULL);
		assert_true(m < MEMBERS);
		r = reversed(&s);
		assert_int_equal(run(fd, &r, NULL), m);
		count[m]++;
	}
	/* 128 expected per member; a usable hash stays well above 64. */
	for (unsigned m = 0; m < MEMBERS; m++)
		if (count[m] < NFL / MEMBERS / 2)
			fail_msg("member %u got %u of %u flows", m, count[m],
				 NFL);
	rs_ebpf_fanout_close(p);
}
#endif /* RS_HAVE_EBPF */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_ok),
		cmocka_unit_test(test_spec_ports_content),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_cidr_parse),
#ifndef RS_HAVE_EBPF
		cmocka_unit_test(test_not_built),
#else
		cmocka_unit_test(test_load_eperm),
		cmocka_unit_test(test_sockfilter_table),
		cmocka_unit_test(test_sockfilter_short),
		cmocka_unit_test(test_sockfilter_update),
		cmocka_unit_test(test_sockfilter_full),
		cmocka_unit_test(test_fanout_symmetric),
		cmocka_unit_test(test_fanout_spread),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
