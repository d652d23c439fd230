/* filters.c - which filter runs where: classic BPF or the eBPF program in
 * the kernel for live capture, the same expression in user space for files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "ringsniff.h"

/* --ebpf-filter @PATH reads the spec from PATH (and again at SIGHUP). */
static char *spec_text(const char *arg, char *err, size_t errlen)
{
	if (arg[0] != '@')
		return strdup(arg);
	FILE *fp = fopen(arg + 1, "r");
	if (!fp) {
		snprintf(err, errlen, "--ebpf-filter: cannot read %s: %s", arg + 1,
			 strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&text, &cap, '\0', fp);
	fclose(fp);
	if (n < 0) {
		free(text);
		return strdup("");
	}
	/* One spec per file; newlines separate clauses like ';' does. */
	for (ssize_t i = 0; i < n; i++)
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = i + 1 < n ? ';' : '\0';
	size_t len = strlen(text);
	while (len && text[len - 1] == ';')
		text[--len] = '\0';
	return text;
}

static int parse_spec(struct rs_app *app, struct rs_ebpf_spec *spec)
{
	char err[256] = "";
	char *text = spec_text(app->opts.ebpf_filter, err, sizeof err);
	if (!text) {
		fprintf(stderr, "ringsniff: %s\n", err);
		return -EINVAL;
	}
	int rc = rs_ebpf_spec_parse(spec, text, err, sizeof err);
	free(text);
	if (rc < 0)
		fprintf(stderr, "ringsniff: %s\n", err[0] ? err : strerror(-rc));
	spec->ignore_outgoing = app->opts.ignore_outgoing;
	return rc;
}

/* The spec as a tcpdump expression, for classic BPF when eBPF cannot load:
 * "(portrange 80-81 or port 443) and (net 198.18.0.0/15)".  Returns a
 * malloc'd string ("" = everything), or NULL on ENOMEM. */
static char *spec_to_expr(const struct rs_ebpf_spec *s)
{
	size_t cap = 64 + s->nports * 24 + s->ncidrs * 64;
	char *e = malloc(cap);
	if (!e)
		return NULL;
	size_t n = 0;
	e[0] = '\0';
	if (s->nports) {
		n += (size_t)snprintf(e + n, cap - n, "(");
		for (size_t i = 0; i < s->nports;) {
			size_t j = i;
			while (j + 1 < s->nports && s->ports[j + 1] == s->ports[j] + 1)
				j++;
			if (j > i)
				n += (size_t)snprintf(e + n, cap - n, "%sportrange %u-%u",
						      i ? " or " : "", s->ports[i], s->ports[j]);
			else
				n += (size_t)snprintf(e + n, cap - n, "%sport %u",
						      i ? " or " : "", s->ports[i]);
			i = j + 1;
		}
		n += (size_t)snprintf(e + n, cap - n, ")");
	}
	if (s->ncidrs) {
		n += (size_t)snprintf(e + n, cap - n, "%s(", n ? " and " : "");
		for (size_t i = 0; i < s->ncidrs; i++) {
			char a[INET6_ADDRSTRLEN];
			const struct rs_ebpf_cidr *c = &s->cidrs[i];
			inet_ntop(c->family, c->addr, a, sizeof a);
			n += (size_t)snprintf(e + n, cap - n, "%snet %s/%u",
					      i ? " or " : "", a, c->prefixlen);
		}
		snprintf(e + n, cap - n, ")");
	}
	return e;
}

/* User-space filtering: files always; live only when the kernel runs the
 * eBPF spec and the expression must still apply on top of it. */
bool rs_user_filter_needed(const struct rs_app *app)
{
	return app->opts.filter_expr &&
	       (!app->live || app->opts.ebpf_filter);
}

/* The classic program for the rings: the expression, the spec, or both. */
static int classic_for_rings(struct rs_app *app, const char *spec_expr,
			     struct rs_filter **out)
{
	const char *expr = app->opts.filter_expr;
	char err[512];
	*out = NULL;
	if (spec_expr) {
		/* The expression runs in user space then (rs_user_filter_needed). */
		expr = spec_expr;
	}
	if (!expr || !*expr)
		return 0;
	int rc = rs_filter_compile_live(out, expr, app->opts.iface,
					app->opts.snaplen, err, sizeof err);
	if (rc == -EOPNOTSUPP)   /* cooked devices: the plain program serves */
		rc = rs_filter_compile(out, expr, rs_ring_linktype(app->workers[0].ring),
				       app->opts.snaplen, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "ringsniff: invalid filter '%s': %s\n", expr, err);
	return rc;
}

/* After every ring is open, before the workers start: fanout program, then
 * the filter on every ring.  Returns an exit status. */
int rs_live_filters_setup(struct rs_app *app)
{
	char err[1024] = "";
	struct rs_filter *classic = NULL;
	char *spec_expr = NULL;
	int rc, status = RS_EXIT_OK;

	if (app->opts.fanout_mode == RS_FANOUT_EBPF) {
		rc = rs_ebpf_fanout_open(&app->fanout, app->nworkers, err, sizeof err);
		if (rc == 0)
			rc = rs_ring_set_fanout_ebpf(app->workers[0].ring,
						     rs_ebpf_fanout_fd(app->fanout));
		if (rc < 0) {
			fprintf(stderr, "ringsniff: --fanout ebpf: %s\n",
				err[0] ? err : strerror(-rc));
			return RS_EXIT_RUNTIME;
		}
	}
	if (app->opts.ebpf_filter) {
		struct rs_ebpf_spec spec;
		if (parse_spec(app, &spec) < 0)
			return RS_EXIT_USAGE;
		err[0] = '\0';
		rc = rs_ebpf_filter_open(&app->ebpf, &spec, err, sizeof err);
		if (rc < 0) {
			/* Ports and prefixes are plain tcpdump: classic BPF serves,
			 * only changes at run time are lost. */
			spec_expr = spec_to_expr(&spec);
			fprintf(stderr, "ringsniff: %s\nringsniff: using classic BPF "
				"instead: '%s' (no changes at run time)\n",
				err[0] ? err : strerror(-rc), spec_expr ? spec_expr : "");
			app->ebpf = NULL;
		}
		if (rc == 0)
			app->ebpf_spec = spec;   /* the base for SIGHUP reloads */
		else
			rs_ebpf_spec_free(&spec);
		if (rc < 0 && !spec_expr)
			return RS_EXIT_RUNTIME;
	}
	if (!app->ebpf && classic_for_rings(app, spec_expr, &classic) < 0) {
		free(spec_expr);
		return RS_EXIT_USAGE;
	}
	for (unsigned i = 0; i < app->nworkers && status == RS_EXIT_OK; i++) {
		struct rs_ring *r = app->workers[i].ring;
		rc = app->ebpf ? rs_ring_set_ebpf_filter(r, rs_ebpf_filter_fd(app->ebpf))
			       : rs_ring_set_filter(r, classic ? rs_filter_fprog(classic) : NULL);
		if (rc < 0) {
			fprintf(stderr, "ringsniff: attaching the filter: %s\n",
				strerror(-rc));
			status = RS_EXIT_RUNTIME;
		}
	}
	rs_filter_free(classic);
	free(spec_expr);
	return status;
}

static int u16_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

/* SIGHUP with --ebpf-filter @PATH: apply the file's new sets to the loaded
 * program's maps, without a restart and without losing a packet. */
void rs_live_filters_reload(struct rs_app *app)
{
	if (!app->ebpf || app->opts.ebpf_filter[0] != '@')
		return;
	struct rs_ebpf_spec now, was = app->ebpf_spec;
	if (parse_spec(app, &now) < 0) {
		fprintf(stderr, "ringsniff: keeping the previous eBPF filter\n");
		return;
	}
	/* Add first, then delete, so a port moved between ranges is never
	 * missing for a moment. */
	for (size_t i = 0; i < now.nports; i++)
		rs_ebpf_filter_add_port(app->ebpf, now.ports[i]);
	for (size_t i = 0; i < now.ncidrs; i++)
		rs_ebpf_filter_add_cidr(app->ebpf, &now.cidrs[i]);
	for (size_t i = 0; i < was.nports; i++)
		if (!bsearch(&was.ports[i], now.ports, now.nports, sizeof *now.ports,
			     u16_cmp))
			rs_ebpf_filter_del_port(app->ebpf, was.ports[i]);
	for (size_t i = 0; i < was.ncidrs; i++) {
		bool keep = false;
		for (size_t k = 0; k < now.ncidrs && !keep; k++)
			keep = memcmp(&was.cidrs[i], &now.cidrs[k], sizeof now.cidrs[k]) == 0;
		if (!keep)
			rs_ebpf_filter_del_cidr(app->ebpf, &was.cidrs[i]);
	}
	rs_ebpf_spec_free(&app->ebpf_spec);
	app->ebpf_spec = now;
	fprintf(stderr, "ringsniff: eBPF filter reloaded: %zu ports, %zu prefixes\n",
		now.nports, now.ncidrs);
}

/* After the rings are closed. */
void rs_live_filters_fini(struct rs_app *app)
{
	if (app->ebpf)
		rs_ebpf_filter_close(app->ebpf);
	if (app->fanout)
		rs_ebpf_fanout_close(app->fanout);
	rs_ebpf_spec_free(&app->ebpf_spec);
	app->ebpf = NULL;
	app->fanout = NULL;
}
