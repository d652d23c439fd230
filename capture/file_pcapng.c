/* file_pcapng.c - pcapng: sections in either byte order, interfaces with
 * their own link type and timestamp resolution, EPB/SPB/OPB packets; every
 * other block is framed, checked and skipped. */
#include <errno.h>
#include <stdlib.h>

#include "pcapfile_impl.h"

#define NG_IDB 0x00000001u
#define NG_OPB 0x00000002u
#define NG_SPB 0x00000003u
#define NG_EPB 0x00000006u
#define NG_SHB_MIN 28u        /* type, len, BOM, version, section len, len */
#define NG_PKT_HDR 20u        /* EPB/OPB body up to the packet data */
#define NG_OPT_TSRESOL 9u
#define NG_OPT_TSOFFSET 14u

__extension__ typedef __int128 s128;
__extension__ typedef unsigned __int128 u128;

/* One block, framed and checked: [off, off + total) lies in the data. */
struct ng_block {
	uint32_t type;
	uint32_t total;
	bool swap;                /* byte order of this block */
	const uint8_t *body;      /* after type and length */
	uint32_t body_len;        /* total - 12 */
};

/* Frame the block at `off` in byte order `swap` (a section header brings
 * its own).  Checks what every block must satisfy, so the callers only look
 * at their bodies.  Returns 0 or the error from rs_file_fail(). */
static int ng_frame(struct rs_file *f, uint64_t off, bool swap,
		    struct ng_block *b)
{
	size_t left = f->len - (size_t)off;
	const uint8_t *p = f->base + off;
	uint32_t bom, trail;

	if (left < 8)
		return rs_file_fail(f, -EINVAL, off, true,
				    "truncated block header (%zu of 8 bytes)",
				    left);
	b->type = rs_rd32(p, swap);
	if (b->type == RS_NG_SHB) {
		if (left < 12)
			return rs_file_fail(f, -EINVAL, off, true,
				"truncated section header block (%zu bytes)",
				left);
		bom = rs_rd32(p + 8, false);
		if (bom == RS_NG_BOM)
			swap = false;
		else if (bom == __builtin_bswap32(RS_NG_BOM))
			swap = true;
		else
			return rs_file_fail(f, -EINVAL, off, false,
				"section header byte-order magic 0x%08x is not "
				"1a2b3c4d in either byte order", bom);
	}
	b->swap = swap;
	b->total = rs_rd32(p + 4, swap);
	if (b->total < 12)
		return rs_file_fail(f, -EINVAL, off, false,
				    "block total length %u < 12 (type 0x%x)",
				    b->total, b->type);
	if (b->total % 4)
		return rs_file_fail(f, -EINVAL, off, false,
			"block total length %u not a multiple of 4 (type 0x%x)",
			b->total, b->type);
	if (b->type == RS_NG_SHB && b->total < NG_SHB_MIN)
		return rs_file_fail(f, -EINVAL, off, false,
				    "section header block length %u < %u",
				    b->total, NG_SHB_MIN);
	if (b->total > left)
		return rs_file_fail(f, -EINVAL, off, true,
			"block (type 0x%x, length %u) runs past end of file "
			"(%zu bytes left)", b->type, b->total, left);
	trail = rs_rd32(p + b->total - 4, swap);
	if (trail != b->total)
		return rs_file_fail(f, -EINVAL, off, false,
			"block trailing length %u disagrees with leading "
			"length %u (type 0x%x)", trail, b->total, b->type);
	b->body = p + 8;
	b->body_len = b->total - 12;
	return 0;
}

/* A new section: its byte order, and no interfaces yet. */
static int ng_shb(struct rs_file *f, uint64_t off, const struct ng_block *b)
{
	uint16_t major = rs_rd16(b->body + 4, b->swap);
	uint16_t minor = rs_rd16(b->body + 6, b->swap);

	if (major != 1)
		return rs_file_fail(f, -EINVAL, off, false,
				    "unsupported pcapng version %u.%u", major,
				    minor);
	f->ng_swap = b->swap;
	f->ng_nif = 0;
	return 0;
}

static int ng_tsresol(struct rs_file *f, uint64_t off, uint8_t v,
		      struct rs_ng_if *ifc)
{
	uint64_t units = 1;
	unsigned i;

	if (v & 0x80) {
		if ((v & 0x7f) > 63)
			return rs_file_fail(f, -EINVAL, off, false,
				"if_tsresol 2^-%u not supported", v & 0x7f);
		ifc->units = 1ull << (v & 0x7f);
		return 0;
	}
	if (v > 19)       /* 10^20 units per second do not fit 64 bits */
		return rs_file_fail(f, -EINVAL, off, false,
				    "if_tsresol 10^-%u not supported", v);
	for (i = 0; i < v; i++)
		units *= 10;
	ifc->units = units;
	return 0;
}

static int ng_idb_options(struct rs_file *f, uint64_t off,
			  const struct ng_block *b, struct rs_ng_if *ifc)
{
	const uint8_t *p = b->body + 8;
	uint32_t room = b->body_len - 8, adv;
	uint16_t code, olen;
	int rc;

	while (room >= 4) {
		code = rs_rd16(p, b->swap);
		olen = rs_rd16(p + 2, b->swap);
		if (code == 0)
			break;
		if (olen > room - 4)
			return rs_file_fail(f, -EINVAL, off, false,
				"interface option %u length %u runs past its "
				"block (%u bytes left)", code, olen, room - 4);
		if (code == NG_OPT_TSRESOL && olen >= 1) {
			rc = ng_tsresol(f, off, p[4], ifc);
			if (rc < 0)
				return rc;
		} else if (code == NG_OPT_TSOFFSET && olen >= 8) {
			ifc->offset_s = (int64_t)rs_rd64(p + 4, b->swap);
		}
		adv = 4u + ((olen + 3u) & ~3u);
		if (adv > room)
			break;
		p += adv;
		room -= adv;
	}
	return 0;
}

static int ng_idb(struct rs_file *f, uint64_t off, const struct ng_block *b)
{
	struct rs_ng_if ifc = { .units = 1000000u }, *ifs;
	uint32_t cap;
	int rc;

	if (b->body_len < 8)
		return rs_file_fail(f, -EINVAL, off, false,
				    "interface description block too short "
				    "(length %u)", b->total);
	ifc.linktype = rs_rd16(b->body, b->swap);
	ifc.snaplen = rs_rd32(b->body + 4, b->swap);
	rc = ng_idb_options(f, off, b, &ifc);
	if (rc < 0)
		return rc;
	if (f->ng_nif == UINT32_MAX)
		return rs_file_fail(f, -EINVAL, off, false,
				    "too many interfaces");
	if (f->ng_nif == f->ng_cap) {
		cap = f->ng_cap == 0 ? 4
		    : f->ng_cap > UINT32_MAX / 2 ? UINT32_MAX : f->ng_cap * 2;
		ifs = reallocarray(f->ng_ifs, cap, sizeof(*ifs));
		if (!ifs)
			return rs_file_fail(f, -ENOMEM, off, false,
				"out of memory for interface %u", f->ng_nif);
		f->ng_ifs = ifs;
		f->ng_cap = cap;
	}
	f->ng_ifs[f->ng_nif++] = ifc;
	return 0;
}

/* Exact: ts * 10^9 / units in 128 bits (2^-n resolutions have no short
 * decimal form), plus if_tsoffset; clamped to the 64-bit UNIX ns range. */
static uint64_t ng_ts_ns(const struct rs_ng_if *ifc, uint64_t ts)
{
	s128 ns;

	if (ifc->units == 1000000000u)
		ns = ts;
	else if (ifc->units == 1000000u)
		ns = (s128)ts * 1000;
	else
		ns = (s128)((u128)ts * 1000000000u / ifc->units);
	ns += (s128)ifc->offset_s * 1000000000;
	if (ns < 0)
		return 0;
	if (ns > (s128)UINT64_MAX)
		return UINT64_MAX;
	return (uint64_t)ns;
}

static int ng_check_caplen(struct rs_file *f, uint64_t off, const char *what,
			   uint32_t caplen, uint32_t ifid)
{
	uint32_t snaplen = f->ng_ifs[ifid].snaplen;

	if (caplen > RS_MAX_CAPLEN)
		return rs_file_fail(f, -EINVAL, off, false,
				    "%s caplen %u exceeds %u", what, caplen,
				    RS_MAX_CAPLEN);
	if (snaplen && caplen > snaplen)
		return rs_file_fail(f, -EINVAL, off, false,
			"%s caplen %u exceeds snapshot length %u of interface %u",
			what, caplen, snaplen, ifid);
	return 0;
}

/* Enhanced (EPB) and obsolete (OPB) packet blocks: same layout but for the
 * width of the interface id. */
static int ng_epb(struct rs_file *f, uint64_t off, const struct ng_block *b,
		  struct rs_frame *fr)
{
	const char *what = b->type == NG_EPB ? "EPB" : "OPB";
	uint32_t ifid, caplen, room;
	uint64_t ts;
	int rc;

	if (b->body_len < NG_PKT_HDR)
		return rs_file_fail(f, -EINVAL, off, false,
				    "%s too short (length %u)", what, b->total);
	ifid = b->type == NG_EPB ? rs_rd32(b->body, b->swap)
				 : rs_rd16(b->body, b->swap);
	if (ifid >= f->ng_nif)
		return rs_file_fail(f, -EINVAL, off, false,
			"%s interface id %u not defined (%u interfaces in "
			"this section)", what, ifid, f->ng_nif);
	ts = (uint64_t)rs_rd32(b->body + 4, b->swap) << 32 |
	     rs_rd32(b->body + 8, b->swap);
	caplen = rs_rd32(b->body + 12, b->swap);
	room = b->body_len - NG_PKT_HDR;
	if (caplen > room)
		return rs_file_fail(f, -EINVAL, off, false,
			"%s caplen %u exceeds its block (%u bytes of room)",
			what, caplen, room);
	rc = ng_check_caplen(f, off, what, caplen, ifid);
	if (rc < 0)
		return rc;
	*fr = (struct rs_frame){
		.data = b->body + NG_PKT_HDR,
		.caplen = caplen,
		.wirelen = rs_rd32(b->body + 16, b->swap),
		.ts_ns = ng_ts_ns(&f->ng_ifs[ifid], ts),
		.linktype = f->ng_ifs[ifid].linktype,
		.ifindex = ifid,
		.offset = off,
	};
	return 1;
}

/* Simple packet block: interface 0, no timestamp (0), captured length
 * implied by the original length, the snapshot length and the block. */
static int ng_spb(struct rs_file *f, uint64_t off, const struct ng_block *b,
		  struct rs_frame *fr)
{
	uint32_t wirelen, caplen, snaplen;
	int rc;

	if (b->body_len < 4)
		return rs_file_fail(f, -EINVAL, off, false,
				    "SPB too short (length %u)", b->total);
	if (f->ng_nif == 0)
		return rs_file_fail(f, -EINVAL, off, false,
				    "SPB before any interface in this section");
	wirelen = rs_rd32(b->body, b->swap);
	caplen = b->body_len - 4;
	if (wirelen < caplen)
		caplen = wirelen;
	snaplen = f->ng_ifs[0].snaplen;
	if (snaplen && snaplen < caplen)
		caplen = snaplen;
	rc = ng_check_caplen(f, off, "SPB", caplen, 0);
	if (rc < 0)
		return rc;
	*fr = (struct rs_frame){
		.data = b->body + 4,
		.caplen = caplen,
		.wirelen = wirelen,
		.linktype = f->ng_ifs[0].linktype,
		.offset = off,
	};
	return 1;
}

int rs_ng_next(struct rs_file *f, struct rs_frame *fr)
{
	struct ng_block b = { 0 };
	uint64_t off;
	int rc;

	/* Each pass consumes >= 12 bytes, so this ends. */
	while ((off = f->pos) < f->len) {
		rc = ng_frame(f, off, f->ng_swap, &b);
		if (rc < 0)
			return rc;
		switch (b.type) {
		case RS_NG_SHB:
			rc = ng_shb(f, off, &b);
			break;
		case NG_IDB:
			rc = ng_idb(f, off, &b);
			break;
		case NG_EPB:
		case NG_OPB:
			rc = ng_epb(f, off, &b, fr);
			break;
		case NG_SPB:
			rc = ng_spb(f, off, &b, fr);
			break;
		default:
			rc = 0;   /* NRB, ISB, DSB, custom, unknown: skip */
			break;
		}
		if (rc < 0)
			return rc;
		f->pos = off + b.total;
		if (rc == 1)
			return 1;
	}
	return 0;
}

/* rs_file_linktype()/rs_file_snaplen() describe the first interface, which
 * follows the section header: look ahead for it without consuming
 * anything.  Damage found here is left for rs_file_next() to report.
 * Returns 1 if found, 0 if another block or damage came first, -EAGAIN if
 * the data ended first (a stream may bring the rest: call again). */
int rs_ng_peek_first_if(struct rs_file *f)
{
	uint64_t off = f->pos;
	struct ng_block b = { 0 };
	int rc = -EAGAIN;

	while (off < f->len) {
		if (ng_frame(f, off, f->ng_swap, &b) < 0) {
			rc = f->err_eof ? -EAGAIN : 0;
			break;
		}
		if (b.type == NG_IDB && b.body_len >= 8) {
			f->linktype = rs_rd16(b.body, b.swap);
			f->snaplen = rs_rd32(b.body + 4, b.swap);
			rc = 1;
			break;
		}
		if (b.type == RS_NG_SHB || b.type == NG_EPB ||
		    b.type == NG_OPB || b.type == NG_SPB) {
			rc = 0;
			break;
		}
		off += b.total;
	}
	rs_file_clear_err(f);
	return rc;
}

int rs_ng_open(struct rs_file *f)
{
	struct ng_block b = { 0 };
	int rc;

	rc = ng_frame(f, 0, false, &b);
	if (rc < 0)
		return rc;
	rc = ng_shb(f, 0, &b);
	if (rc < 0)
		return rc;
	f->pos = b.total;
	(void)rs_ng_peek_first_if(f);
	return 0;
}
