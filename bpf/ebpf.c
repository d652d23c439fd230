/* ebpf.c - loads the eBPF socket filter and fanout programs (libbpf skeletons). */
#include "rs_bpf.h"
#include "bpf_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fanout.skel.h"
#include "sockfilter.skel.h"

struct rs_ebpf_filter {
	struct rs_sockfilter_bpf *skel;
	int ncpus;
};

struct rs_ebpf_fanout {
	struct rs_fanout_bpf *skel;
};

bool rs_ebpf_built(void)
{
	return true;
}

/* ---- libbpf's messages into the caller's err buffer ------------------ */

/* libbpf has one print callback per process; while an open call runs it
 * points here and keeps libbpf's first warning and the verifier's reason:
 * the log's last lines, without the statistics that follow it. */
struct libbpf_msgs {
	char first[2][200];       /* libbpf's first two messages */
	char last[2][160];        /* the verifier log's last two lines */
};
static _Thread_local struct libbpf_msgs *cur_msgs;

static void keep_log_line(struct libbpf_msgs *m, const char *b, size_t n)
{
	while (n && (b[n - 1] == ' ' || b[n - 1] == '\t'))
		n--;
	if (!n || !strncmp(b, "processed ", 10) ||
	    !strncmp(b, "verification time", 17) ||
	    !strncmp(b, "stack depth", 11))
		return;
	memcpy(m->last[0], m->last[1], sizeof(m->last[0]));
	snprintf(m->last[1], sizeof(m->last[1]), "%.*s", (int)n, b);
}

static int capture_print(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	static const char begin[] = "-- BEGIN PROG LOAD LOG --";
	static const char end[] = "-- END PROG LOAD LOG --";
	struct libbpf_msgs *m = cur_msgs;
	char *msg = NULL, *log, *stop, *nl;

	if (!m || level == LIBBPF_DEBUG || vasprintf(&msg, fmt, ap) < 0)
		return 0;
	log = strstr(msg, begin);
	if (!log) {
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		for (int i = 0; i < 2; i++) {
			if (!m->first[i][0]) {
				snprintf(m->first[i], sizeof(m->first[i]), "%s",
					 msg);
				break;
			}
		}
		goto out;
	}
	/* The verifier log arrives as one message, between the markers. */
	log += sizeof(begin) - 1;
	stop = strstr(log, end);
	if (!stop)
		stop = log + strlen(log);
	for (char *b = log; b < stop; b = nl + 1) {
		nl = memchr(b, '\n', (size_t)(stop - b));
		if (!nl)
			nl = stop;
		keep_log_line(m, b, (size_t)(nl - b));
	}
out:
	free(msg);
	return 0;
}

static libbpf_print_fn_t capture_begin(struct libbpf_msgs *m)
{
	memset(m, 0, sizeof(*m));
	cur_msgs = m;
	return libbpf_set_print(capture_print);
}

static void capture_end(libbpf_print_fn_t prev)
{
	libbpf_set_print(prev);
	cur_msgs = NULL;
}

/* err = "what: strerror(-ret) (libbpf: ...; ...)". */
static void load_error(char *err, size_t errlen, const char *what, int ret,
		       const struct libbpf_msgs *m)
{
	const char *hint = "";

	if (ret == -EPERM || ret == -EACCES)
		hint = " (needs CAP_BPF or root)";
	set_err(err, errlen, "%s: %s%s%s%s%s%s%s%s%s%s", what, strerror(-ret),
		hint, m->first[0][0] ? "; " : "", m->first[0],
		m->first[1][0] ? "; " : "", m->first[1],
		m->last[0][0] ? "; " : "", m->last[0],
		m->last[1][0] ? "; " : "", m->last[1]);
}

/* libbpf 1.x returns -errno and sets errno; older ones NULL + errno. */
static int neg_errno(int fallback)
{
	return errno > 0 ? -errno : fallback;
}

/* ---- socket filter ---------------------------------------------------- */

static int set_flag(struct rs_ebpf_filter *f, uint32_t flag, bool on)
{
	struct rs_ebpf_config cfg = { 0 };
	uint32_t key = 0;
	int fd = bpf_map__fd(f->skel->maps.rs_config);

	if (bpf_map_lookup_elem(fd, &key, &cfg) < 0)
		return neg_errno(-EIO);
	cfg.flags = on ? (cfg.flags | flag) : (cfg.flags & ~flag);
	if (bpf_map_update_elem(fd, &key, &cfg, BPF_ANY) < 0)
		return neg_errno(-EIO);
	return 0;
}

static bool map_empty(struct bpf_map *map, void *keybuf)
{
	return bpf_map_get_next_key(bpf_map__fd(map), NULL, keybuf) < 0;
}

static bool nets_empty(struct rs_ebpf_filter *f)
{
	struct rs_lpm6_key k6;

	return map_empty(f->skel->maps.rs_net4, &k6) &&
	       map_empty(f->skel->maps.rs_net6, &k6);
}

static int map_add(struct bpf_map *map, const void *key)
{
	uint8_t one = 1;

	if (bpf_map_update_elem(bpf_map__fd(map), key, &one, BPF_ANY) < 0)
		return errno == ENOSPC ? -E2BIG : neg_errno(-EIO);
	return 0;
}

int rs_ebpf_filter_add_port(struct rs_ebpf_filter *f, uint16_t port)
{
	int ret = map_add(f->skel->maps.rs_ports, &port);

	return ret ? ret : set_flag(f, RS_EBPF_F_PORTS, true);
}

int rs_ebpf_filter_del_port(struct rs_ebpf_filter *f, uint16_t port)
{
	uint16_t k;

	if (bpf_map_delete_elem(bpf_map__fd(f->skel->maps.rs_ports), &port) < 0)
		return neg_errno(-EIO);
	if (map_empty(f->skel->maps.rs_ports, &k))
		return set_flag(f, RS_EBPF_F_PORTS, false);
	return 0;
}

/* The map and key for a prefix; key is a struct rs_lpm6_key-sized buffer. */
static struct bpf_map *cidr_key(struct rs_ebpf_filter *f,
				const struct rs_ebpf_cidr *c, void *key)
{
	if (c->family == AF_INET && c->prefixlen <= 32) {
		struct rs_lpm4_key *k = key;

		k->prefixlen = c->prefixlen;
		memcpy(k->addr, c->addr, 4);
		return f->skel->maps.rs_net4;
	}
	if (c->family == AF_INET6 && c->prefixlen <= 128) {
		struct rs_lpm6_key *k = key;

		k->prefixlen = c->prefixlen;
		memcpy(k->addr, c->addr, 16);
		return f->skel->maps.rs_net6;
	}
	return NULL;
}

int rs_ebpf_filter_add_cidr(struct rs_ebpf_filter *f,
			    const struct rs_ebpf_cidr *c)
{
	struct rs_lpm6_key key = { 0 };
	struct bpf_map *map = cidr_key(f, c, &key);
	int ret;

	if (!map)
		return -EINVAL;
	ret = map_add(map, &key);
	return ret ? ret : set_flag(f, RS_EBPF_F_NETS, true);
}

int rs_ebpf_filter_del_cidr(struct rs_ebpf_filter *f,
			    const struct rs_ebpf_cidr *c)
{
	struct rs_lpm6_key key = { 0 };
	struct bpf_map *map = cidr_key(f, c, &key);

	if (!map)
		return -EINVAL;
	if (bpf_map_delete_elem(bpf_map__fd(map), &key) < 0)
		return neg_errno(-EIO);
	if (nets_empty(f))
		return set_flag(f, RS_EBPF_F_NETS, false);
	return 0;
}

int rs_ebpf_filter_open(struct rs_ebpf_filter **out,
			const struct rs_ebpf_spec *spec, char *err,
			size_t errlen)
{
	struct libbpf_msgs msgs;
	libbpf_print_fn_t prev;
	struct rs_ebpf_filter *f;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f) {
		set_err(err, errlen, "eBPF filter: out of memory");
		return -ENOMEM;
	}
	f->ncpus = libbpf_num_possible_cpus();
	if (f->ncpus <= 0) {
		ret = f->ncpus < 0 ? f->ncpus : -EINVAL;
		set_err(err, errlen, "eBPF filter: cannot count CPUs: %s",
			strerror(-ret));
		goto fail_free;
	}

	/* open -> read-only config -> load, as libbpf-bootstrap does. */
	prev = capture_begin(&msgs);
	f->skel = rs_sockfilter_bpf__open();
	if (!f->skel) {
		ret = neg_errno(-EINVAL);
	} else {
		f->skel->rodata->rs_ignore_outgoing = spec && spec->ignore_outgoing;
		ret = rs_sockfilter_bpf__load(f->skel);
		if (ret > 0)
			ret = neg_errno(-EINVAL);
	}
	capture_end(prev);
	if (ret) {
		load_error(err, errlen, f->skel ? "eBPF filter: load" :
			   "eBPF filter: open", ret, &msgs);
		goto fail_skel;
	}

	for (size_t i = 0; spec && i < spec->nports; i++) {
		ret = rs_ebpf_filter_add_port(f, spec->ports[i]);
		if (ret) {
			set_err(err, errlen, "eBPF filter: port %u: %s",
				spec->ports[i], strerror(-ret));
			goto fail_skel;
		}
	}
	for (size_t i = 0; spec && i < spec->ncidrs; i++) {
		ret = rs_ebpf_filter_add_cidr(f, &spec->cidrs[i]);
		if (ret) {
			set_err(err, errlen, "eBPF filter: prefix %zu: %s", i,
				strerror(-ret));
			goto fail_skel;
		}
	}
	*out = f;
	return 0;

fail_skel:
	rs_sockfilter_bpf__destroy(f->skel);   /* NULL is fine */
fail_free:
	free(f);
	return ret;
}

int rs_ebpf_filter_fd(const struct rs_ebpf_filter *f)
{
	return bpf_program__fd(f->skel->progs.rs_sockfilter);
}

int rs_ebpf_filter_counters(const struct rs_ebpf_filter *f,
			    struct rs_ebpf_counters *out)
{
	struct rs_ebpf_stat *vals;
	int fd = bpf_map__fd(f->skel->maps.rs_stats);
	int ret = 0;

	memset(out, 0, sizeof(*out));
	vals = calloc((size_t)f->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t idx = 0; idx < RS_EBPF_NSTATS; idx++) {
		uint32_t proto = idx / 2;
		uint64_t pk = 0, by = 0;

		if (bpf_map_lookup_elem(fd, &idx, vals) < 0) {
			ret = neg_errno(-EIO);
			break;
		}
		for (int c = 0; c < f->ncpus; c++) {
			pk += vals[c].packets;
			by += vals[c].bytes;
		}
		if (idx % 2 == RS_EBPF_V_PASS) {
			out->passed_pkts[proto] = pk;
			out->passed_bytes[proto] = by;
		} else {
			out->dropped_pkts[proto] = pk;
			out->dropped_bytes[proto] = by;
		}
	}
	free(vals);
	return ret;
}

void rs_ebpf_filter_close(struct rs_ebpf_filter *f)
{
	if (!f)
		return;
	rs_sockfilter_bpf__destroy(f->skel);
	free(f);
}

/* ---- fanout ------------------------------------------------------------ */

int rs_ebpf_fanout_open_seeded(struct rs_ebpf_fanout **out, unsigned nsockets,
			       uint32_t seed, char *err, size_t errlen)
{
	struct libbpf_msgs msgs;
	libbpf_print_fn_t prev;
	struct rs_ebpf_fanout *p;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		set_err(err, errlen, "eBPF fanout: out of memory");
		return -ENOMEM;
	}
	prev = capture_begin(&msgs);
	p->skel = rs_fanout_bpf__open();
	if (!p->skel) {
		ret = neg_errno(-EINVAL);
	} else {
		p->skel->rodata->rs_nsockets = nsockets;
		p->skel->rodata->rs_seed = seed;
		ret = rs_fanout_bpf__load(p->skel);
		if (ret > 0)
			ret = neg_errno(-EINVAL);
	}
	capture_end(prev);
	if (ret) {
		load_error(err, errlen, p->skel ? "eBPF fanout: load" :
			   "eBPF fanout: open", ret, &msgs);
		goto fail_skel;
	}
	*out = p;
	return 0;

fail_skel:
	rs_fanout_bpf__destroy(p->skel);       /* NULL is fine */
	free(p);
	return ret;
}

int rs_ebpf_fanout_open(struct rs_ebpf_fanout **out, unsigned nsockets,
			char *err, size_t errlen)
{
	uint32_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint32_t)getpid() * 2654435761u;
	return rs_ebpf_fanout_open_seeded(out, nsockets, seed, err, errlen);
}

int rs_ebpf_fanout_fd(const struct rs_ebpf_fanout *p)
{
	return bpf_program__fd(p->skel->progs.rs_fanout);
}

void rs_ebpf_fanout_close(struct rs_ebpf_fanout *p)
{
	if (!p)
		return;
	rs_fanout_bpf__destroy(p->skel);
	free(p);
}
