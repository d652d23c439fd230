/* dump_frames.c - write the test frame tables as pcap files, with what rs_decode
 * counts for each frame, so tshark_oracle.py can compare against tshark.
 *
 * usage: dump_frames OUTDIR
 * Writes OUTDIR/{good,bad}_lt<linktype>.pcap and prints one line per frame:
 * "<file> <frame number> <S_* mask> <reason> <case name>".  Frames that need ring metadata are
 * left out (a pcap cannot say the kernel stripped a tag).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"

#define MAX_LT 16

struct out {
	int linktype;
	FILE *f;
	unsigned frames;
	char name[64];
};

static unsigned mask_of(const struct rs_decode_stats *st)
{
	return (st->ipv4 ? S_IPV4 : 0) | (st->ipv6 ? S_IPV6 : 0) |
	       (st->tcp ? S_TCP : 0) | (st->udp ? S_UDP : 0) |
	       (st->icmp ? S_ICMP : 0) | (st->icmpv6 ? S_ICMPV6 : 0) |
	       (st->vlan ? S_VLAN : 0) | (st->fragments ? S_FRAG : 0) |
	       (st->other_l3 ? S_OTHER_L3 : 0) | (st->other_l4 ? S_OTHER_L4 : 0);
}

static void put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);    /* host order: the magic tells readers which */
}

static struct out *out_for(struct out *outs, unsigned *n, const char *dir,
			   const char *set, int linktype)
{
	for (unsigned i = 0; i < *n; i++)
		if (outs[i].linktype == linktype)
			return &outs[i];
	if (*n == MAX_LT)
		return NULL;
	struct out *o = &outs[(*n)++];
	char path[4096];

	o->linktype = linktype;
	o->frames = 0;
	snprintf(o->name, sizeof(o->name), "%s_lt%d.pcap", set, linktype);
	snprintf(path, sizeof(path), "%s/%s", dir, o->name);
	o->f = fopen(path, "wb");
	if (!o->f)
		return NULL;
	put32(o->f, 0xa1b2c3d4);
	put32(o->f, 2 | 4u << 16);      /* version 2.4 (two u16, host order) */
	put32(o->f, 0);
	put32(o->f, 0);
	put32(o->f, 262144);
	put32(o->f, (uint32_t)linktype);
	return o;
}

static int dump(const char *dir, const char *set, const struct fcase *t,
		size_t n)
{
	struct out outs[MAX_LT];
	unsigned nouts = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct fcase *c = &t[i];
		uint32_t wire = c->wirelen ? c->wirelen : c->len;
		struct rs_decode_stats st;
		struct rs_pkt p;

		if (c->meta || c->linktype > 300 || wire < c->len)
			continue;       /* not expressible in a pcap */
		struct out *o = out_for(outs, &nouts, dir, set, c->linktype);
		if (!o) {
			fprintf(stderr, "dump_frames: %s: %s\n", dir,
				strerror(errno ? errno : ENOSPC));
			rc = 1;
			goto out;
		}
		memset(&st, 0, sizeof(st));
		rs_decode(&p, c->linktype, c->data, c->len, wire, &st);
		put32(o->f, 1700000000u + (uint32_t)i);
		put32(o->f, 0);
		put32(o->f, c->len);
		put32(o->f, wire);
		fwrite(c->data, 1, c->len, o->f);
		o->frames++;
		printf("%s %u %u %s %s\n", o->name, o->frames, mask_of(&st),
		       rs_decode_err_name(rs_decode(&p, c->linktype, c->data,
						    c->len, wire, NULL)),
		       c->name);
	}
out:
	for (unsigned i = 0; i < nouts; i++)
		if (outs[i].f && fclose(outs[i].f) != 0)
			rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dump_frames OUTDIR\n");
		return 2;
	}
	if (dump(argv[1], "good", good_frames, n_good_frames) ||
	    dump(argv[1], "bad", bad_frames, n_bad_frames))
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
