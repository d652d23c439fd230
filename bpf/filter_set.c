/* filter_set.c - one compiled filter per link type, compiled on first use. */
#include "rs_bpf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_FSET_ERRLEN 256

struct rs_fset_entry {
	int linktype;
	int status;               /* 0, or the negative errno of compiling */
	struct rs_filter *f;      /* NULL when status < 0 */
	char err[RS_FSET_ERRLEN]; /* why it failed, kept for every lookup */
};

struct rs_filter_set {
	char *expr;
	uint32_t snaplen;
	unsigned n, cap;
	struct rs_fset_entry *e;
	unsigned last;            /* index of the last hit: files rarely mix */
};

int rs_filter_set_new(struct rs_filter_set **out, const char *expr,
		      uint32_t snaplen, char *err, size_t errlen)
{
	struct rs_filter_set *s;

	if (!out)
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->expr = strdup(expr ? expr : "");
	if (!s->expr)
		goto fail_set;
	s->snaplen = snaplen;
	*out = s;
	return 0;

fail_set:
	free(s);
fail:
	if (err && errlen)
		snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static struct rs_fset_entry *find(struct rs_filter_set *s, int linktype)
{
	if (s->n && s->e[s->last].linktype == linktype)
		return &s->e[s->last];
	for (unsigned i = 0; i < s->n; i++) {
		if (s->e[i].linktype == linktype) {
			s->last = i;
			return &s->e[i];
		}
	}
	return NULL;
}

int rs_filter_set_get(struct rs_filter_set *s, int linktype,
		      const struct rs_filter **out, char *err, size_t errlen)
{
	struct rs_fset_entry *e = find(s, linktype);

	if (!e) {
		if (s->n == s->cap) {
			unsigned cap = s->cap ? 2 * s->cap : 4;
			struct rs_fset_entry *ne;

			ne = realloc(s->e, cap * sizeof(*ne));
			if (!ne) {
				if (err && errlen)
					snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			s->e = ne;
			s->cap = cap;
		}
		e = &s->e[s->n];
		memset(e, 0, sizeof(*e));
		e->linktype = linktype;
		e->status = rs_filter_compile(&e->f, s->expr, linktype,
					      s->snaplen, e->err,
					      sizeof(e->err));
		s->last = s->n++;
	}
	*out = e->f;
	if (e->status < 0 && err && errlen)
		snprintf(err, errlen, "link type %d: %s", linktype, e->err);
	return e->status;
}

void rs_filter_set_free(struct rs_filter_set *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n; i++)
		rs_filter_free(s->e[i].f);
	free(s->e);
	free(s->expr);
	free(s);
}
