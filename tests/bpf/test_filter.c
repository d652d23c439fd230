/* test_filter.c - cmocka tests of bpf/filter.c: compile errors, matching
 * hand-built frames, the kernel layout, and dumps compared with tcpdump -d. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>

#include "frames.h"
#include "rs_bpf.h"

#define LT_ETHERNET 1
#define LT_RAW 101
#define LT_SLL2 276
#define LT_802_11 105

/* ---- control: compile errors ----------------------------------------- */

static const struct {
	const char *expr;
	int linktype;
	const char *msg;      /* substring of libpcap's message */
} bad_exprs[] = {
	{ "tcp port", LT_ETHERNET, "syntax error" },
	{ "port 99999", LT_ETHERNET, "illegal port number 99999" },
	{ "net 198.18.0.0/33", LT_ETHERNET, "mask length must be <= 32" },
	{ "tcp[tcpflags] & tcp-syn", LT_ETHERNET, "syntax error" },
	{ "ip", 9999, "unknown data link type 9999" },
	{ "ether host 02:00:00:00:00:01", LT_RAW,
	  "ethernet addresses supported only" },
};

static void test_compile_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_exprs) / sizeof(bad_exprs[0]); i++) {
		struct rs_filter *f = (struct rs_filter *)1;
		char err[256] = "";
		int ret;

		ret = rs_filter_compile(&f, bad_exprs[i].expr,
					bad_exprs[i].linktype, 0, err,
					sizeof(err));
		if (ret != -EINVAL || f != NULL ||
		    !strstr(err, bad_exprs[i].msg) ||
		    !strstr(err, bad_exprs[i].expr))
			fail_msg("\"%s\": ret %d err \"%s\"", bad_exprs[i].expr,
				 ret, err);
	}
}

static void test_compile_ok(void **state)
{
	struct rs_filter *f = NULL;
	char err[256] = "";
	const struct sock_fprog *fp;

	(void)state;
	/* NULL and "" accept everything: one instruction, ret #snaplen. */
	assert_int_equal(rs_filter_compile(&f, NULL, LT_ETHERNET, 0, err,
					   sizeof(err)), 0);
	fp = rs_filter_fprog(f);
	assert_int_equal(fp->len, 1);
	assert_int_equal(fp->filter[0].code, BPF_RET | BPF_K);
	assert_int_equal(fp->filter[0].k, 262144);
	assert_int_equal(rs_filter_linktype(f), LT_ETHERNET);
	assert_true(rs_filter_match(f, NULL, 0, 0));
	rs_filter_free(f);

	assert_int_equal(rs_filter_compile(&f, "", LT_ETHERNET, 1500, err,
					   sizeof(err)), 0);
	assert_int_equal(rs_filter_fprog(f)->filter[0].k, 1500);
	rs_filter_free(f);

	/* LINKTYPE_RAW (101) is DLT_RAW for libpcap. */
	assert_int_equal(rs_filter_compile(&f, "tcp port 80", LT_RAW, 0, err,
					   sizeof(err)), 0);
	rs_filter_free(f);
	rs_filter_free(NULL);
}

/* The kernel copy has the same instructions as libpcap's program. */
static void test_fprog_layout(void **state)
{
	struct rs_filter *f = NULL;
	const struct sock_fprog *fp;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	unsigned n, code, jt, jf, k;
	int pos;

	(void)state;
	assert_int_equal(rs_filter_compile(&f, "tcp port 80 or udp", LT_ETHERNET,
					   0, NULL, 0), 0);
	fp = rs_filter_fprog(f);
	assert_int_equal(fp->len, rs_filter_len(f));
	mem = open_memstream(&text, &len);
	assert_non_null(mem);
	rs_filter_dump(f, 3, mem);
	fclose(mem);
	assert_int_equal(sscanf(text, "%u%n", &n, &pos), 1);
	assert_int_equal(n, fp->len);
	for (unsigned i = 0; i < n; i++) {
		int adv;

		assert_int_equal(sscanf(text + pos, "%u %u %u %u%n", &code, &jt,
					&jf, &k, &adv), 4);
		pos += adv;
		assert_int_equal(fp->filter[i].code, code);
		assert_int_equal(fp->filter[i].jt, jt);
		assert_int_equal(fp->filter[i].jf, jf);
		assert_int_equal(fp->filter[i].k, k);
	}
	free(text);
	rs_filter_free(f);
}

/* Live compile, in a child's own network namespace on its loopback (brought
 * up there; nothing else is touched): `vlan` must use the kernel's ancillary
 * VLAN loads, since the kernel strips the tag before socket filters run. */
static int live_child(void)
{
	struct rs_filter *f = NULL;
	const struct sock_fprog *fp;
	struct ifreq ifr = { .ifr_name = "lo" };
	char err[256] = "";
	int s, anc = 0, ret;

	if (unshare(CLONE_NEWNET) != 0)
		return 77;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		return 1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		return 1;
	close(s);
	ret = rs_filter_compile_live(&f, "vlan and", "lo", 0, err, sizeof(err));
	if (ret != -EINVAL || !strstr(err, "syntax error")) {
		fprintf(stderr, "bad expr: %d %s\n", ret, err);
		return 1;
	}
	ret = rs_filter_compile_live(&f, "vlan", "nosuchif0", 0, err,
				     sizeof(err));
	if (ret != -ENODEV || !strstr(err, "nosuchif0")) {
		fprintf(stderr, "no device: %d %s\n", ret, err);
		return 1;
	}
	ret = rs_filter_compile_live(&f, "tcp", "any", 0, err, sizeof(err));
	if (ret != -EOPNOTSUPP && ret != -EPERM) {
		fprintf(stderr, "any: %d %s\n", ret, err);
		return 1;
	}
	ret = rs_filter_compile_live(&f, "vlan 10 and tcp", "lo", 0, err,
				     sizeof(err));
	if (ret == -EPERM)
		return 77;
	if (ret != 0) {
		fprintf(stderr, "compile_live: %d %s\n", ret, err);
		return 1;
	}
	fp = rs_filter_fprog(f);
	for (unsigned i = 0; i < fp->len; i++)
		if (fp->filter[i].code == (BPF_LD | BPF_B | BPF_ABS) &&
		    fp->filter[i].k == (uint32_t)(SKF_AD_OFF +
						  SKF_AD_VLAN_TAG_PRESENT))
			anc++;
	ret = rs_filter_linktype(f) == 1 && anc > 0 ? 0 : 1;
	if (ret)
		fprintf(stderr, "linktype %d, %d ancillary loads\n",
			rs_filter_linktype(f), anc);
	rs_filter_free(f);
	return ret;
}

static void test_compile_live(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(live_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- data path: expressions x frames --------------------------------- */

static const struct frame_spec frames[] = {
	/* 0 */ { 0, 4, "198.18.0.2", "198.18.0.1", 6, 40000, 80, TF_ACK, 0, 0, 0, 0 },
	/* 1 */ { 0, 4, "198.18.0.2", "198.18.0.1", 6, 40000, 80, TF_SYN, 0, 0, 0, 0 },
	/* 2 */ { 0, 4, "198.18.0.2", "198.18.1.1", 6, 40001, 443, TF_ACK, 200, 0, 0, 0 },
	/* 3 */ { 0, 4, "198.18.0.2", "198.18.0.1", 17, 5353, 53, 0, 20, 0, 0, 0 },
	/* 4 */ { 0, 4, "198.18.0.2", "198.18.0.1", 1, 0, 0, 0, 8, 0, 0, 0 },
	/* 5 */ { 10, 4, "198.18.0.2", "198.18.0.1", 6, 40002, 80, TF_ACK, 0, 0, 0, 0 },
	/* 6 */ { 0, 6, "fe80::2", "fe80::1", 6, 40003, 80, TF_SYN, 0, 0, 0, 0 },
	/* 7 */ { 0, 6, "fe80::2", "fe80::1", 17, 40004, 53, 0, 20, 0, 0, 0 },
};
#define NFRAMES (sizeof(frames) / sizeof(frames[0]))

/* expect[i] is '1' when frames[i] passes. */
static const struct {
	const char *expr;
	const char *expect;
} match_table[] = {
	{ "", "11111111" },
	{ "tcp port 80", "11000010" },
	{ "port 443", "00100000" },
	{ "udp", "00010001" },
	{ "icmp", "00001000" },
	{ "host 198.18.0.1", "11011000" },
	{ "src host 198.18.0.2 and dst port 53", "00010000" },
	{ "net 198.18.1.0/24", "00100000" },
	{ "net 198.18.0.0/15", "11111000" },
	{ "not ip", "00000111" },
	{ "vlan", "00000100" },
	{ "vlan 10 and tcp port 80", "00000100" },
	{ "vlan 20", "00000000" },
	{ "ip6", "00000011" },
	{ "ip6 and tcp", "00000010" },
	{ "host fe80::1 and udp", "00000001" },
	{ "tcp[tcpflags] & tcp-syn != 0", "01000000" },
	{ "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-ack", "10100000" },
	{ "greater 100", "00100000" },
	{ "less 60", "11001100" },
	{ "portrange 50-60", "00010001" },
};

static void test_match_table(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof(match_table) / sizeof(match_table[0]);
	     t++) {
		struct rs_filter *f = NULL;
		char err[256] = "";

		if (rs_filter_compile(&f, match_table[t].expr, LT_ETHERNET, 0,
				      err, sizeof(err)) != 0)
			fail_msg("\"%s\": %s", match_table[t].expr, err);
		for (size_t i = 0; i < NFRAMES; i++) {
			uint8_t buf[1600], *exact;
			unsigned len = build_frame(buf, &frames[i]);
			bool want = match_table[t].expect[i] == '1';
			bool got;

			assert_true(len > 0);
			/* Exactly len bytes on the heap: ASan catches a read
			 * past caplen. */
			exact = malloc(len);
			assert_non_null(exact);
			memcpy(exact, buf, len);
			got = rs_filter_match(f, exact, len, len);
			free(exact);
			if (got != want)
				fail_msg("\"%s\" frame %zu: got %d want %d",
					 match_table[t].expr, i, got, want);
		}
		rs_filter_free(f);
	}
}

/* Short captures: loads past caplen reject; `greater` uses wirelen. */
static void test_match_truncated(void **state)
{
	static const struct {
		const char *expr;
		uint32_t caplen;
		bool want;
	} cases[] = {
		{ "tcp port 80", 54, true },
		{ "tcp port 80", 34, false },   /* ports cut off */
		{ "tcp port 80", 14, false },
		{ "ip", 13, false },            /* ethertype cut off */
		{ "ip", 14, true },
		{ "greater 50", 14, true },     /* wirelen 54 */
		{ "greater 50", 0, true },
		{ "less 50", 14, false },
		{ "", 0, true },
	};
	uint8_t buf[1600];
	unsigned len = build_frame(buf, &frames[0]);

	(void)state;
	assert_int_equal(len, 54);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rs_filter *f = NULL;
		uint8_t *exact = cases[i].caplen ? malloc(cases[i].caplen) : NULL;
		bool got;

		assert_int_equal(rs_filter_compile(&f, cases[i].expr,
						   LT_ETHERNET, 0, NULL, 0), 0);
		if (exact)
			memcpy(exact, buf, cases[i].caplen);
		got = rs_filter_match(f, exact, cases[i].caplen, len);
		free(exact);
		rs_filter_free(f);
		if (got != cases[i].want)
			fail_msg("\"%s\" caplen %u: got %d", cases[i].expr,
				 cases[i].caplen, got);
	}
}

/* ---- filter sets: one program per link type ---------------------------- */

static void test_filter_set(void **state)
{
	struct rs_filter_set *s = NULL;
	const struct rs_filter *f1 = NULL, *f2 = NULL, *f3 = NULL;
	char err[256] = "";
	uint8_t buf[1600];
	unsigned len = build_frame(buf, &frames[0]);

	(void)state;
	assert_int_equal(rs_filter_set_new(&s, "ether host 02:00:00:00:00:01",
					   0, err, sizeof(err)), 0);
	assert_int_equal(rs_filter_set_get(s, LT_ETHERNET, &f1, err,
					   sizeof(err)), 0);
	assert_non_null(f1);
	assert_true(rs_filter_match(f1, buf, len, len));
	/* Cached: the same object again. */
	assert_int_equal(rs_filter_set_get(s, LT_ETHERNET, &f2, NULL, 0), 0);
	assert_ptr_equal(f1, f2);
	/* No MAC addresses on raw IP: an error, the same each time. */
	for (int i = 0; i < 2; i++) {
		err[0] = 0;
		f3 = f1;
		assert_int_equal(rs_filter_set_get(s, LT_RAW, &f3, err,
						   sizeof(err)), -EINVAL);
		assert_null(f3);
		assert_non_null(strstr(err, "link type 101"));
	}
	assert_int_equal(rs_filter_set_get(s, LT_802_11, &f3, err,
					   sizeof(err)), 0);
	assert_int_equal(rs_filter_linktype(f3), LT_802_11);
	assert_ptr_not_equal(f3, f1);
	assert_int_equal(rs_filter_set_get(s, LT_ETHERNET, &f2, NULL, 0), 0);
	assert_ptr_equal(f1, f2);
	rs_filter_set_free(s);
	rs_filter_set_free(NULL);
}

/* ---- dumps equal tcpdump -d / -dd / -ddd ------------------------------- */

static char *run_tcpdump(const char *tcpdump, const char *dlt, int level,
			 const char *expr)
{
	char cmd[512], *text = NULL;
	size_t len = 0;
	FILE *p, *mem;
	int c;

	snprintf(cmd, sizeof(cmd), "'%s' -y %s -%s '%s' 2>/dev/null", tcpdump,
		 dlt, level == 1 ? "d" : level == 2 ? "dd" : "ddd", expr);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	mem = open_memstream(&text, &len);
	while ((c = fgetc(p)) != EOF)
		fputc(c, mem);
	fclose(mem);
	if (pclose(p) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static void test_dump_equals_tcpdump(void **state)
{
	static const struct {
		const char *dlt;
		int linktype;
		const char *expr;
	} cases[] = {
		{ "EN10MB", LT_ETHERNET, "tcp port 80" },
		{ "EN10MB", LT_ETHERNET, "host 198.18.0.1 and not udp" },
		{ "EN10MB", LT_ETHERNET, "vlan 10 and tcp[tcpflags] & tcp-syn != 0" },
		{ "EN10MB", LT_ETHERNET, "ip6 or greater 100" },
		{ "EN10MB", LT_ETHERNET, "net 198.18.0.0/15 and portrange 1-1024" },
		{ "LINUX_SLL2", LT_SLL2, "icmp or udp port 53" },
	};
	const char *tcpdump = getenv("TCPDUMP");

	(void)state;
	if (!tcpdump || !*tcpdump)
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rs_filter *f = NULL;

		assert_int_equal(rs_filter_compile(&f, cases[i].expr,
						   cases[i].linktype, 0, NULL,
						   0), 0);
		for (int level = 1; level <= 3; level++) {
			char *want = run_tcpdump(tcpdump, cases[i].dlt, level,
						 cases[i].expr);
			char *got = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&got, &len);

			assert_non_null(want);
			assert_non_null(mem);
			rs_filter_dump(f, level, mem);
			fclose(mem);
			assert_true(len > 0);
			if (strcmp(got, want) != 0)
				fail_msg("\"%s\" -d level %d:\n%s\n--- tcpdump:\n%s",
					 cases[i].expr, level, got, want);
			free(got);
			free(want);
		}
		rs_filter_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_compile_ok),
		cmocka_unit_test(test_fprog_layout),
		cmocka_unit_test(test_compile_live),
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_match_truncated),
		cmocka_unit_test(test_filter_set),
		cmocka_unit_test(test_dump_equals_tcpdump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
