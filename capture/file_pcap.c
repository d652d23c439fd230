/* file_pcap.c - classic pcap: file header and records, both byte orders,
 * microsecond and nanosecond timestamps. */
#include <errno.h>

#include "pcapfile_impl.h"

#define PCAP_FILE_HDR 24u
/* libpcap's LT_LINKTYPE(): the upper bits carry FCS length and flags. */
#define PCAP_LINKTYPE_MASK 0x03ffffffu

int rs_pcap_open(struct rs_file *f)
{
	const uint8_t *h = f->base;
	uint32_t magic = rs_rd32(h, false);
	uint16_t major, minor;

	f->pcap_swap = magic != RS_PCAP_MAGIC_US && magic != RS_PCAP_MAGIC_NS;
	magic = rs_rd32(h, f->pcap_swap);
	f->pcap_ts_mult = magic == RS_PCAP_MAGIC_NS ? 1u : 1000u;
	if (f->len < PCAP_FILE_HDR)
		return rs_file_fail(f, -EINVAL, 0, true,
				    "truncated pcap file header (%zu of %u bytes)",
				    f->len, PCAP_FILE_HDR);
	major = rs_rd16(h + 4, f->pcap_swap);
	minor = rs_rd16(h + 6, f->pcap_swap);
	if (major != 2)
		return rs_file_fail(f, -EINVAL, 4, false,
				    "unsupported pcap version %u.%u", major,
				    minor);
	/* Like libpcap and wiretap: before 2.3 the two lengths were stored
	 * swapped, and 2.3 files may have either order. */
	f->pcap_minor = minor;
	f->snaplen = rs_rd32(h + 16, f->pcap_swap);
	f->linktype = (int)(rs_rd32(h + 20, f->pcap_swap) & PCAP_LINKTYPE_MASK);
	f->pos = PCAP_FILE_HDR;
	return 0;
}

int rs_pcap_next(struct rs_file *f, struct rs_frame *fr)
{
	uint64_t off = f->pos;
	size_t left = f->len - (size_t)off;
	const uint8_t *h = f->base + off;
	uint32_t sec, frac, caplen, wirelen, t;

	if (left == 0)
		return 0;
	if (left < RS_PCAP_REC_HDR)
		return rs_file_fail(f, -EINVAL, off, true,
				    "truncated record header (%zu of %u bytes)",
				    left, RS_PCAP_REC_HDR);
	sec = rs_rd32(h, f->pcap_swap);
	frac = rs_rd32(h + 4, f->pcap_swap);
	caplen = rs_rd32(h + 8, f->pcap_swap);
	wirelen = rs_rd32(h + 12, f->pcap_swap);
	if (f->pcap_minor < 3 || (f->pcap_minor == 3 && caplen > wirelen)) {
		t = caplen;
		caplen = wirelen;
		wirelen = t;
	}
	if (caplen > RS_MAX_CAPLEN)
		return rs_file_fail(f, -EINVAL, off, false,
				    "record caplen %u exceeds %u", caplen,
				    RS_MAX_CAPLEN);
	if (f->snaplen && caplen > f->snaplen)
		return rs_file_fail(f, -EINVAL, off, false,
				    "record caplen %u exceeds snapshot length %u",
				    caplen, f->snaplen);
	if (left - RS_PCAP_REC_HDR < caplen)
		return rs_file_fail(f, -EINVAL, off, true,
				    "record data truncated (caplen %u, %zu bytes left)",
				    caplen, left - RS_PCAP_REC_HDR);
	rs_pcap_frame(f, fr, h, off, sec, frac, caplen, wirelen);
	f->pos = off + RS_PCAP_REC_HDR + caplen;
	return 1;
}
