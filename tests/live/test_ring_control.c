/* test_ring_control.c - control tests of the live ring API: illegal configs
 * fail with the right errno and message, open/close on lo in a private
 * network namespace, error paths (down, missing, no privilege, ENOMEM
 * retry, fanout group mismatch, bad filters). */
#include <errno.h>
#include <linux/filter.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "live_util.h"
#include "ring_impl.h"

static bool g_netns;   /* this process has its own namespace with lo up */

static void need_netns(void)
{
	if (!g_netns)
		skip();
}

/* ---- config validation: no privilege needed, fails before any socket ---- */

struct bad_config {
	const char *what;
	const char *ifname;
	unsigned block_size, block_nr;
	int fanout_mode;
	const char *msg;            /* substring of the error text */
};

static const struct bad_config bad_configs[] = {
	{ "no interface", NULL, 1u << 20, 4, RS_FANOUT_HASH, "no interface" },
	{ "empty interface", "", 1u << 20, 4, RS_FANOUT_HASH, "no interface" },
	{ "block size 0", "lo", 0, 4, RS_FANOUT_HASH, "power of two" },
	{ "block size 3000", "lo", 3000, 4, RS_FANOUT_HASH, "power of two" },
	{ "block size 12288", "lo", 12288, 4, RS_FANOUT_HASH, "power of two" },
	{ "block size 2048 < page", "lo", 2048, 4, RS_FANOUT_HASH, "page size" },
	{ "block size 2 GiB", "lo", 1u << 31, 1, RS_FANOUT_HASH, "1 GiB" },
	{ "zero blocks", "lo", 1u << 20, 0, RS_FANOUT_HASH, "at least one block" },
	{ "fanout rollover mode", "lo", 1u << 20, 4, 3, "fanout mode 3" },
	{ "fanout rnd mode", "lo", 1u << 20, 4, 4, "fanout mode 4" },
	{ "fanout cbpf mode", "lo", 1u << 20, 4, 6, "fanout mode 6" },
	{ "fanout mode 99", "lo", 1u << 20, 4, 99, "fanout mode 99" },
	{ "fanout mode -2", "lo", 1u << 20, 4, -2, "fanout mode -2" },
};

static void t_bad_configs(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		const struct bad_config *b = &bad_configs[i];
		struct rs_ring_config c;
		struct rs_ring *r = (struct rs_ring *)&c;  /* must be reset */
		char err[RS_CAPTURE_ERRLEN] = "junk";
		int rc;

		rs_ring_config_default(&c);
		c.ifname = b->ifname;
		c.block_size = b->block_size;
		c.block_nr = b->block_nr;
		c.fanout_mode = b->fanout_mode;
		rc = rs_ring_open(&r, &c, err, sizeof(err));
		if (rc != -EINVAL || r != NULL || !strstr(err, b->msg))
			fail_msg("%s: rc %d, err '%s'", b->what, rc, err);
	}
}

static void t_null_args(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *r;
	char err[RS_CAPTURE_ERRLEN];

	(void)state;
	rs_ring_config_default(&c);
	c.ifname = "lo";
	assert_int_equal(rs_ring_open(NULL, &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(rs_ring_open(&r, NULL, err, sizeof(err)), -EINVAL);
	rs_ring_close(NULL);
}

static void t_defaults(void **state)
{
	struct rs_ring_config c;

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	rs_ring_config_default(&c);
	assert_null(c.ifname);
	/* 64 MiB in 256 KiB blocks: a 64 KiB frame fits a block, and 256
	 * blocks x 10 ms timeout survive a 2.5 s stall at light rates. */
	assert_int_equal(c.block_size, 256u << 10);
	assert_int_equal(c.block_nr, 256);
	assert_int_equal((uint64_t)c.block_size * c.block_nr, 64u << 20);
	assert_int_equal(c.block_timeout_ms, 10);
	assert_int_equal(c.snaplen, 0);
	assert_int_equal(c.fanout_mode, RS_FANOUT_HASH);
	assert_int_equal(c.fanout_id, (uint16_t)(getpid() & 0xffff));
	assert_true(c.fanout_defrag);
	assert_false(c.fanout_rollover);
	assert_true(c.promisc);
	assert_false(c.ignore_outgoing);
}

static void t_missing_interface(void **state)
{
	static const char *const names[] = {
		"rsnope0", "averyveryverylongname0",
	};
	struct rs_ring_config c;
	struct rs_ring *r;
	char err[RS_CAPTURE_ERRLEN], want[64];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		lu_default_config(&c);
		c.ifname = names[i];
		assert_int_equal(rs_ring_open(&r, &c, err, sizeof(err)), -ENODEV);
		assert_null(r);
		snprintf(want, sizeof(want), "interface '%s' not found", names[i]);
		if (!strstr(err, want))
			fail_msg("err '%s'", err);
	}
}

static void t_iface_drops(void **state)
{
	uint64_t d = 7, m = 7;

	(void)state;
	/* /sys shows the namespace it was mounted in; lo exists in all. */
	assert_int_equal(rs_iface_drops("lo", &d, &m), 0);
	assert_int_equal(rs_iface_drops("rsnope0", &d, &m), -ENODEV);
	assert_int_equal(rs_iface_drops("../../etc", &d, &m), -EINVAL);
	assert_int_equal(rs_iface_drops("..", &d, &m), -EINVAL);
	assert_int_equal(rs_iface_drops("", &d, &m), -EINVAL);
	assert_int_equal(rs_iface_drops("averyveryverylongname0", &d, &m),
			 -EINVAL);
}

/* ---- open/close and error paths on lo (root, private namespace) -------- */

static void t_open_close(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *r = NULL;
	struct rs_ring_stats st;
	char err[RS_CAPTURE_ERRLEN] = "junk";

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.fanout_mode = RS_FANOUT_HASH;
	c.fanout_id = 101;
	c.promisc = true;
	c.ignore_outgoing = true;
	c.snaplen = 128;
	assert_int_equal(rs_ring_open(&r, &c, err, sizeof(err)), 0);
	assert_non_null(r);
	assert_string_equal(err, "");      /* no retry: err cleared */
	assert_true(rs_ring_fd(r) >= 0);
	assert_int_equal(rs_ring_linktype(r), 1);  /* lo is Ethernet-like */
	/* Nothing arrives through the drop-all filter. */
	assert_int_equal(rs_ring_poll(r, 20, NULL, NULL), 0);
	assert_int_equal(rs_ring_stats(r, &st), 0);
	assert_int_equal(st.packets, 0);
	assert_int_equal(st.drops, 0);
	assert_int_equal(st.frames, 0);
	assert_int_equal(st.seq_gaps, 0);
	assert_int_equal(rs_ring_set_filter(r, NULL), 0);
	rs_ring_close(r);
}

static void t_interface_down(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *r = NULL;
	char err[RS_CAPTURE_ERRLEN];
	int rc;

	(void)state;
	need_netns();
	lu_default_config(&c);
	assert_int_equal(lu_lo_set(false), 0);
	rc = rs_ring_open(&r, &c, err, sizeof(err));
	assert_int_equal(lu_lo_set(true), 0);
	assert_int_equal(rc, -ENETDOWN);
	assert_null(r);
	assert_string_equal(err, "interface 'lo' is down");
}

/* Without CAP_NET_RAW (a child that became nobody): -EPERM and the hint. */
static bool open_is_eperm(void)
{
	struct rs_ring_config c;
	struct rs_ring *r;
	char err[RS_CAPTURE_ERRLEN];
	int rc;

	lu_default_config(&c);
	rc = rs_ring_open(&r, &c, err, sizeof(err));
	return rc == -EPERM && r == NULL && !strcmp(err, "AF_PACKET socket: "
		"Operation not permitted (need root or CAP_NET_RAW)");
}

static void t_no_privilege(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (!lu_is_root()) {
		assert_true(open_is_eperm());
		return;
	}
	need_netns();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		_exit(open_is_eperm() ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ENOMEM from the kernel (simulated by the test seam): half the blocks
 * until it fits, and say so in err although the open succeeds. */
struct enomem_case {
	uint64_t fail_above;
	unsigned block_nr;
	int rc;
	unsigned got_blocks;
	const char *msg;
};

static const struct enomem_case enomem_cases[] = {
	{ 8u << 16, 64, 0, 8, "ring on 'lo': 4 MiB (64 x 64 KiB) did not fit "
	  "in memory; using 8 blocks (512 KiB)" },
	{ 5u << 16, 64, 0, 4, "using 4 blocks (256 KiB)" },
	{ 1u << 16, 64, -ENOMEM, 0, "ring on 'lo': out of memory for 2 x 64 "
	  "KiB blocks (4 MiB requested, retried down to 2 blocks)" },
	{ 1u << 15, 1, -ENOMEM, 0, "out of memory for 1 x 64 KiB" },
	{ 64u << 16, 64, 0, 64, "" },
};

static void t_enomem_retry(void **state)
{
	size_t i;

	(void)state;
	need_netns();
	for (i = 0; i < sizeof(enomem_cases) / sizeof(enomem_cases[0]); i++) {
		const struct enomem_case *e = &enomem_cases[i];
		struct rs_ring_config c;
		struct rs_ring *r = NULL;
		char err[RS_CAPTURE_ERRLEN] = "junk";
		int rc;

		lu_default_config(&c);
		c.block_size = 64u << 10;
		c.block_nr = e->block_nr;
		rs_ring_test_fail_above = e->fail_above;
		rc = rs_ring_open(&r, &c, err, sizeof(err));
		rs_ring_test_fail_above = 0;
		if (rc != e->rc || !strstr(err, e->msg) ||
		    (e->msg[0] == '\0' && err[0] != '\0'))
			fail_msg("case %zu: rc %d err '%s'", i, rc, err);
		if (rc == 0) {
			assert_int_equal(r->block_nr, e->got_blocks);
			/* The smaller ring works: nothing is ready yet. */
			assert_int_equal(rs_ring_poll(r, 1, NULL, NULL), 0);
		} else {
			assert_null(r);
		}
		rs_ring_close(r);
	}
}

/* All members of a group must agree on mode, flags and interface. */
static void t_fanout_mismatch(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *a = NULL, *b = NULL;
	char err[RS_CAPTURE_ERRLEN];

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.fanout_mode = RS_FANOUT_HASH;
	c.fanout_id = 202;
	c.fanout_defrag = true;
	assert_int_equal(rs_ring_open(&a, &c, err, sizeof(err)), 0);

	c.fanout_mode = RS_FANOUT_LB;
	assert_int_equal(rs_ring_open(&b, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fanout group 202 on 'lo'"));
	assert_null(b);

	c.fanout_mode = RS_FANOUT_HASH;
	c.fanout_defrag = false;
	assert_int_equal(rs_ring_open(&b, &c, err, sizeof(err)), -EINVAL);

	c.fanout_defrag = true;
	c.fanout_rollover = true;
	assert_int_equal(rs_ring_open(&b, &c, err, sizeof(err)), -EINVAL);

	c.fanout_rollover = false;
	assert_int_equal(rs_ring_open(&b, &c, err, sizeof(err)), 0);
	/* Not an ebpf group: no demux program. */
	assert_int_equal(rs_ring_set_fanout_ebpf(b, 0), -EINVAL);
	assert_non_null(strstr(rs_ring_error(b), "not in an ebpf fanout"));
	rs_ring_close(b);
	rs_ring_close(a);
}

/* An ebpf group accepts members; a bad fd is refused by the kernel. */
static void t_fanout_ebpf_group(void **state)
{
	struct rs_ring_config c;
	struct rs_ring *a = NULL, *b = NULL;
	char err[RS_CAPTURE_ERRLEN];
	int rc;

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.fanout_mode = RS_FANOUT_EBPF;
	c.fanout_defrag = false;
	c.fanout_id = 303;
	rc = rs_ring_open(&a, &c, err, sizeof(err));
	if (rc == -EINVAL || rc == -EPROTONOSUPPORT)
		skip();                 /* kernel < 4.5 */
	assert_int_equal(rc, 0);
	assert_int_equal(rs_ring_open(&b, &c, err, sizeof(err)), 0);
	assert_int_equal(rs_ring_set_fanout_ebpf(a, -1), -EBADF);
	assert_non_null(strstr(rs_ring_error(a), "fanout program"));
	rs_ring_close(b);
	rs_ring_close(a);
}

/* Filters the library or the kernel must refuse. */
static void t_bad_filters(void **state)
{
	struct sock_filter jump_out[] = {
		BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_filter no_ret[] = {
		BPF_STMT(BPF_LD | BPF_IMM, 1),
	};
	struct sock_filter ok = BPF_STMT(BPF_RET | BPF_K, 0xffff);
	struct sock_fprog empty = { 0, NULL }, oob = { 2, jump_out },
			  nr = { 1, no_ret }, good = { 1, &ok };
	struct sock_fprog huge = { BPF_MAXINSNS, NULL };
	struct rs_ring_config c;
	struct rs_ring *r = NULL;
	char err[RS_CAPTURE_ERRLEN];
	struct sock_filter *big;
	unsigned i;
	int rc;

	(void)state;
	need_netns();
	lu_default_config(&c);
	c.ignore_outgoing = true;     /* the guard makes room tighter */
	assert_int_equal(rs_ring_open(&r, &c, err, sizeof(err)), 0);
	assert_int_equal(rs_ring_set_filter(r, &empty), -EINVAL);
	assert_non_null(strstr(rs_ring_error(r), "empty"));
	assert_int_equal(rs_ring_set_filter(r, &oob), -EINVAL);
	assert_non_null(strstr(rs_ring_error(r), "rejected"));
	assert_int_equal(rs_ring_set_filter(r, &nr), -EINVAL);

	big = calloc(BPF_MAXINSNS, sizeof(*big));
	assert_non_null(big);
	for (i = 0; i < BPF_MAXINSNS; i++)
		big[i] = ok;
	huge.filter = big;
	assert_int_equal(rs_ring_set_filter(r, &huge), -EINVAL);
	assert_non_null(strstr(rs_ring_error(r), "too long"));
	huge.len = BPF_MAXINSNS - 3;
	assert_int_equal(rs_ring_set_filter(r, &huge), -EINVAL);
	assert_non_null(strstr(rs_ring_error(r), "too long"));
	/* Exactly fits with the guard; the kernel may still refuse to
	 * charge that much filter memory (net.core.optmem_max). */
	huge.len = BPF_MAXINSNS - 4;
	rc = rs_ring_set_filter(r, &huge);
	if (rc != 0 && rc != -ENOMEM)
		fail_msg("%d: %s", rc, rs_ring_error(r));
	free(big);

	assert_int_equal(rs_ring_set_filter(r, &good), 0);
	assert_int_equal(rs_ring_set_ebpf_filter(r, -1), -EBADF);
	rs_ring_close(r);
}

/* A signal during the wait is no error: poll returns 0 early. */
static void on_alarm(int sig)
{
	(void)sig;
}

static void t_poll_eintr(void **state)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { 0, 50 * 1000 } };
	struct rs_ring_config c;
	struct rs_ring *r = NULL;
	char err[RS_CAPTURE_ERRLEN];
	uint64_t t0, dt;
	int rc;

	(void)state;
	need_netns();
	lu_default_config(&c);
	assert_int_equal(rs_ring_open(&r, &c, err, sizeof(err)), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;      /* no SA_RESTART (poll never restarts) */
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	t0 = lu_now_ms();
	rc = rs_ring_poll(r, 3000, NULL, NULL);
	dt = lu_now_ms() - t0;
	signal(SIGALRM, SIG_DFL);
	assert_int_equal(rc, 0);
	assert_true(dt < 2000);         /* woke by the signal, not the timeout */
	rs_ring_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_defaults),
		cmocka_unit_test(t_bad_configs),
		cmocka_unit_test(t_null_args),
		cmocka_unit_test(t_missing_interface),
		cmocka_unit_test(t_iface_drops),
		cmocka_unit_test(t_open_close),
		cmocka_unit_test(t_interface_down),
		cmocka_unit_test(t_no_privilege),
		cmocka_unit_test(t_enomem_retry),
		cmocka_unit_test(t_fanout_mismatch),
		cmocka_unit_test(t_fanout_ebpf_group),
		cmocka_unit_test(t_bad_filters),
		cmocka_unit_test(t_poll_eintr),
	};
	int rc;

	if (lu_is_root()) {
		rc = lu_private_netns();
		if (rc < 0)
			fprintf(stderr, "no private network namespace (%s): "
				"skipping the lo tests\n", strerror(-rc));
		g_netns = rc == 0;
	}
	return cmocka_run_group_tests_name("ring_control", tests, NULL, NULL);
}
