/* ebpf_stub.c - rs_ebpf_* when the eBPF programs were not built (no clang/bpftool). */
#include "rs_bpf.h"

#include <errno.h>
#include <stdio.h>

#define RS_EBPF_MISSING "ringsniff was built without eBPF programs " \
	"(clang or bpftool missing at build time, or -Debpf=disabled); " \
	"rebuild with -Debpf=enabled"

bool rs_ebpf_built(void)
{
	return false;
}

static int missing(char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", RS_EBPF_MISSING);
	return -EOPNOTSUPP;
}

int rs_ebpf_filter_open(struct rs_ebpf_filter **out,
			const struct rs_ebpf_spec *spec, char *err,
			size_t errlen)
{
	(void)spec;
	if (out)
		*out = NULL;
	return missing(err, errlen);
}

/* No handle can exist, so the calls below are never reached with one. */
int rs_ebpf_filter_fd(const struct rs_ebpf_filter *f)
{
	(void)f;
	return -EOPNOTSUPP;
}

int rs_ebpf_filter_add_port(struct rs_ebpf_filter *f, uint16_t port)
{
	(void)f, (void)port;
	return -EOPNOTSUPP;
}

int rs_ebpf_filter_del_port(struct rs_ebpf_filter *f, uint16_t port)
{
	(void)f, (void)port;
	return -EOPNOTSUPP;
}

int rs_ebpf_filter_add_cidr(struct rs_ebpf_filter *f,
			    const struct rs_ebpf_cidr *c)
{
	(void)f, (void)c;
	return -EOPNOTSUPP;
}

int rs_ebpf_filter_del_cidr(struct rs_ebpf_filter *f,
			    const struct rs_ebpf_cidr *c)
{
	(void)f, (void)c;
	return -EOPNOTSUPP;
}

int rs_ebpf_filter_counters(const struct rs_ebpf_filter *f,
			    struct rs_ebpf_counters *out)
{
	(void)f, (void)out;
	return -EOPNOTSUPP;
}

void rs_ebpf_filter_close(struct rs_ebpf_filter *f)
{
	(void)f;
}

int rs_ebpf_fanout_open_seeded(struct rs_ebpf_fanout **out, unsigned nsockets,
			       uint32_t seed, char *err, size_t errlen)
{
	(void)nsockets, (void)seed;
	if (out)
		*out = NULL;
	return missing(err, errlen);
}

int rs_ebpf_fanout_open(struct rs_ebpf_fanout **out, unsigned nsockets,
			char *err, size_t errlen)
{
	return rs_ebpf_fanout_open_seeded(out, nsockets, 0, err, errlen);
}

int rs_ebpf_fanout_fd(const struct rs_ebpf_fanout *p)
{
	(void)p;
	return -EOPNOTSUPP;
}

void rs_ebpf_fanout_close(struct rs_ebpf_fanout *p)
{
	(void)p;
}
