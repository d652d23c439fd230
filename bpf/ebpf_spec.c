/* ebpf_spec.c - parser for --ebpf-filter specs ("port=80,443;net=198.18.0.0/15"). */
#include "rs_bpf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct parser {
	const char *text;
	char *err;
	size_t errlen;
	uint8_t seen[65536 / 8];  /* ports so far, a bitmap */
	size_t nports;
	struct rs_ebpf_cidr *cidrs;
	size_t ncidrs, cap;
};

__attribute__((format(printf, 5, 6)))
static int fail(struct parser *ps, int ret, const char *tok, size_t toklen,
		const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen,
			 "--ebpf-filter: \"%.*s\" at offset %zu: %s",
			 (int)(toklen > 64 ? 64 : toklen), tok,
			 (size_t)(tok - ps->text), why);
	return ret;
}

/* [*b, *e) without surrounding blanks. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* Decimal 0..65535 filling [b, e) exactly. */
static int parse_u16(const char *b, const char *e, unsigned *out)
{
	unsigned v = 0;

	if (b == e || e - b > 5)
		return -1;
	for (; b < e; b++) {
		if (!isdigit((unsigned char)*b))
			return -1;
		v = v * 10 + (unsigned)(*b - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

static int add_ports(struct parser *ps, const char *b, const char *e)
{
	const char *dash = memchr(b, '-', (size_t)(e - b));
	const char *b2, *e1;
	unsigned lo, hi;

	e1 = dash ? dash : e;
	b2 = dash ? dash + 1 : b;
	trim(&b, &e1);
	trim(&b2, &e);
	if (parse_u16(b, e1, &lo) || parse_u16(b2, e, &hi))
		return fail(ps, -EINVAL, b, (size_t)(e - b),
			    "a port is 0..65535, a range N-M");
	if (lo > hi)
		return fail(ps, -EINVAL, b, (size_t)(e - b),
			    "range %u-%u is backwards", lo, hi);
	for (unsigned p = lo; p <= hi; p++) {
		if (ps->seen[p / 8] & (1u << (p % 8)))
			continue;
		if (ps->nports == RS_EBPF_MAX_PORTS)
			return fail(ps, -E2BIG, b, (size_t)(e - b),
				    "more than %d ports", RS_EBPF_MAX_PORTS);
		ps->seen[p / 8] |= (uint8_t)(1u << (p % 8));
		ps->nports++;
	}
	return 0;
}

int rs_ebpf_cidr_parse(struct rs_ebpf_cidr *c, const char *text)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	unsigned len, max;
	size_t n;

	if (!c || !text)
		return -EINVAL;
	n = strlen(text);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, n + 1);
	slash = strchr(text, '/');
	if (slash)
		buf[slash - text] = 0;
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	len = max;
	if (slash) {
		const char *b = slash + 1;

		if (parse_u16(b, text + n, &len) || len > max)
			return -EINVAL;
	}
	c->prefixlen = (uint8_t)len;
	/* Clear host bits so that equal prefixes compare equal. */
	for (unsigned i = 0; i < max / 8; i++) {
		if (i * 8 >= len)
			c->addr[i] = 0;
		else if (i * 8 + 8 > len)
			c->addr[i] &= (uint8_t)(0xff00u >> (len - i * 8));
	}
	return 0;
}

static int add_cidr(struct parser *ps, const char *b, const char *e)
{
	struct rs_ebpf_cidr c;
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = (size_t)(e - b);

	if (n == 0 || n >= sizeof(buf))
		goto bad;
	memcpy(buf, b, n);
	buf[n] = 0;
	if (rs_ebpf_cidr_parse(&c, buf) != 0)
		goto bad;
	for (size_t i = 0; i < ps->ncidrs; i++)
		if (!memcmp(&ps->cidrs[i], &c, sizeof(c)))
			return 0;
	if (ps->ncidrs == RS_EBPF_MAX_NETS)
		return fail(ps, -E2BIG, b, n, "more than %d prefixes",
			    RS_EBPF_MAX_NETS);
	if (ps->ncidrs == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 8;
		struct rs_ebpf_cidr *nc = realloc(ps->cidrs, cap * sizeof(*nc));

		if (!nc)
			return fail(ps, -ENOMEM, b, n, "out of memory");
		ps->cidrs = nc;
		ps->cap = cap;
	}
	ps->cidrs[ps->ncidrs++] = c;
	return 0;
bad:
	return fail(ps, -EINVAL, b, n,
		    "not an address or prefix (198.18.0.0/15, fe80::/10)");
}

/* One clause [b, e): "key=item,item". */
static int parse_clause(struct parser *ps, const char *b, const char *e)
{
	const char *eq, *kb = b, *ke;
	int is_port;

	trim(&b, &e);
	if (b == e)
		return 0;       /* "a;;b" and a trailing ';' are fine */
	eq = memchr(b, '=', (size_t)(e - b));
	if (!eq)
		return fail(ps, -EINVAL, b, (size_t)(e - b),
			    "expected port=... or net=...");
	kb = b;
	ke = eq;
	trim(&kb, &ke);
	if (ke - kb == 4 && !memcmp(kb, "port", 4))
		is_port = 1;
	else if (ke - kb == 3 && !memcmp(kb, "net", 3))
		is_port = 0;
	else
		return fail(ps, -EINVAL, kb, (size_t)(ke - kb),
			    "unknown key (expected port or net)");
	for (const char *ib = eq + 1; ib <= e;) {
		const char *ie = memchr(ib, ',', (size_t)(e - ib));
		int ret;

		if (!ie)
			ie = e;
		{
			const char *tb = ib, *te = ie;

			trim(&tb, &te);
			if (tb == te)
				return fail(ps, -EINVAL, ib, 0, "empty %s",
					    is_port ? "port" : "prefix");
			ret = is_port ? add_ports(ps, tb, te) :
					add_cidr(ps, tb, te);
		}
		if (ret)
			return ret;
		ib = ie + 1;
	}
	return 0;
}

int rs_ebpf_spec_parse(struct rs_ebpf_spec *spec, const char *text, char *err,
		       size_t errlen)
{
	struct parser *ps;
	const char *b;
	int ret = 0;

	if (!spec)
		return -EINVAL;
	memset(spec, 0, sizeof(*spec));
	if (err && errlen)
		err[0] = 0;
	if (!text)
		return 0;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->text = text;
	ps->err = err;
	ps->errlen = errlen;
	for (b = text; *b;) {
		const char *e = strchr(b, ';');

		if (!e)
			e = b + strlen(b);
		ret = parse_clause(ps, b, e);
		if (ret)
			goto out;
		b = *e ? e + 1 : e;
	}
	if (ps->nports) {
		spec->ports = calloc(ps->nports, sizeof(*spec->ports));
		if (!spec->ports) {
			ret = -ENOMEM;
			goto out;
		}
		for (unsigned p = 0; p < 65536; p++)
			if (ps->seen[p / 8] & (1u << (p % 8)))
				spec->ports[spec->nports++] = (uint16_t)p;
	}
	spec->cidrs = ps->cidrs;
	spec->ncidrs = ps->ncidrs;
	ps->cidrs = NULL;
out:
	free(ps->cidrs);
	free(ps);
	if (ret == -ENOMEM && err && errlen)
		snprintf(err, errlen, "--ebpf-filter: out of memory");
	return ret;
}

void rs_ebpf_spec_free(struct rs_ebpf_spec *spec)
{
	if (!spec)
		return;
	free(spec->ports);
	free(spec->cidrs);
	memset(spec, 0, sizeof(*spec));
}
