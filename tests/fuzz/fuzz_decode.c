/* fuzz_decode.c - libFuzzer harness for rs_decode / rs_decode_ex.
 *
 * Input: one control byte, then the frame.
 *   bits 0-3  link type (table below; 10 is one we do not decode, 11-15
 *             repeat the common ones)
 *   bit 4     ring metadata says a VLAN tag was stripped; its TCI is the
 *             next two bytes (big endian), not part of the frame
 *   bit 5     ring metadata pkttype PACKET_OUTGOING
 *   bits 6-7  wirelen: = caplen, caplen + 1000 (snaplen cut), caplen - 1
 *             (invalid), UINT32_MAX
 * The frame is decoded in place: it ends where the fuzzer's buffer ends, so
 * ASan flags any read past caplen.  Checks: the view stays inside the frame
 * (fuzz_util.h), the counters match the result, rs_decode equals
 * rs_decode_ex without metadata and rs_decode_flow in the fields that one
 * writes, and metadata changes only what it should.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../decode/flow_view.h"
#include "fuzz_util.h"
#include "rs_decode.h"

static const int linktypes[16] = {
	RS_LINKTYPE_ETHERNET, RS_LINKTYPE_NULL, RS_LINKTYPE_DLT_RAW,
	RS_LINKTYPE_DLT_RAW_OBSD, RS_LINKTYPE_RAW, RS_LINKTYPE_LOOP,
	RS_LINKTYPE_LINUX_SLL, RS_LINKTYPE_IPV4, RS_LINKTYPE_IPV6,
	RS_LINKTYPE_LINUX_SLL2,
	105,                      /* IEEE 802.11: not decoded */
	RS_LINKTYPE_ETHERNET, RS_LINKTYPE_ETHERNET, RS_LINKTYPE_LINUX_SLL,
	RS_LINKTYPE_RAW, RS_LINKTYPE_LINUX_SLL2,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Views equal in every field (rs_decode clears the whole struct, padding
 * included, before filling it, so bytes compare). */
static bool same_view(const struct rs_pkt *a, const struct rs_pkt *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void check_addrs(const struct rs_pkt *p)
{
	char buf[46];

	if (p->addr_len != 4 && p->addr_len != 16)
		return;
	FZ_CHECK(rs_addr_str(p->src, p->addr_len, buf, sizeof(buf)) == buf);
	FZ_CHECK(buf[0] != '\0' && strlen(buf) < sizeof(buf));
	FZ_CHECK(rs_addr_str(p->dst, p->addr_len, buf, sizeof(buf)) == buf);
	FZ_CHECK(buf[0] != '\0');
	if (p->addr_len == 4)     /* the rest is zero, to hash all 16 */
		for (int i = 4; i < 16; i++)
			FZ_CHECK(p->src[i] == 0 && p->dst[i] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rs_decode_stats st0 = { 0 }, st1 = { 0 }, st2 = { 0 },
			       st3 = { 0 }, sum = { 0 };
	struct rs_decode_meta meta = { 0 };
	struct rs_pkt p0, p1, p2, p3;
	const uint8_t *frame;
	uint32_t caplen, wirelen;
	int lt, e0, e1, e2, e3;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	frame = data + 1;
	size--;
	if (ctl & 0x10) {
		if (size < 2)
			return 0;
		meta.vlan_valid = true;
		meta.vlan_tci = (uint16_t)(frame[0] << 8 | frame[1]);
		meta.vlan_tpid = (ctl & 1) ? 0x88a8 : 0x8100;
		frame += 2;
		size -= 2;
	}
	if (ctl & 0x20)
		meta.pkttype = 4;       /* PACKET_OUTGOING */
	if (size > UINT32_MAX - 1000)
		return 0;
	caplen = (uint32_t)size;
	switch (ctl >> 6) {
	case 0: wirelen = caplen; break;
	case 1: wirelen = caplen + 1000; break;
	case 2: wirelen = caplen ? caplen - 1 : 0; break;
	default: wirelen = UINT32_MAX; break;
	}
	lt = linktypes[ctl & 0x0f];
	/* Without data the pointer is never read; keep it inside the buffer. */
	if (caplen == 0)
		frame = data;

	memset(&p0, 0xa5, sizeof(p0));  /* every field must be written */
	p0.ts_ns = 42;
	e0 = rs_decode(&p0, lt, frame, caplen, wirelen, &st0);
	FZ_CHECK(p0.ts_ns == 42);       /* ts_ns is the caller's */
	fz_check_pkt(&p0, e0, frame, caplen, wirelen);
	fz_check_stats1(&st0, e0, wirelen);
	FZ_CHECK(rs_decode_err_name(e0) != NULL);
	FZ_CHECK(rs_decode_err_name(e0)[0] != '\0');
	check_addrs(&p0);
	if (lt == 105)
		FZ_CHECK(e0 == RS_DERR_LINKTYPE || e0 == RS_DERR_CAPLEN);
	if (caplen == 0 || caplen > wirelen)
		FZ_CHECK(e0 == RS_DERR_CAPLEN);

	/* No metadata: exactly rs_decode. */
	memset(&p1, 0x5a, sizeof(p1));
	p1.ts_ns = 42;
	e1 = rs_decode_ex(&p1, lt, frame, caplen, wirelen, NULL, &st1);
	FZ_CHECK(e1 == e0 && same_view(&p0, &p1));
	FZ_CHECK(memcmp(&st0, &st1, sizeof(st0)) == 0);

	/* rs_decode_flow: the same flow fields; the whole view but for
	 * Ethernet (its fast path leaves some fields). */
	memset(&p3, 0x3c, sizeof(p3));
	p3.ts_ns = 42;
	e3 = rs_decode_flow(&p3, lt, frame, caplen, wirelen, &st3);
	FZ_CHECK(e3 == e0 && flow_view_equal(&p0, &p3));
	FZ_CHECK(memcmp(&st0, &st3, sizeof(st0)) == 0);
	if (lt != RS_LINKTYPE_ETHERNET)
		FZ_CHECK(same_view(&p0, &p3));

	/* With metadata. */
	memset(&p2, 0, sizeof(p2));
	p2.ts_ns = 42;
	e2 = rs_decode_ex(&p2, lt, frame, caplen, wirelen, &meta, &st2);
	fz_check_pkt(&p2, e2, frame, caplen, wirelen);
	fz_check_stats1(&st2, e2, wirelen);
	check_addrs(&p2);
	if (!meta.vlan_valid && meta.pkttype != 4) {
		FZ_CHECK(e2 == e0 && same_view(&p0, &p2));
	} else if (e2 != RS_DERR_CAPLEN) {
		if (meta.vlan_valid) {
			FZ_CHECK(p2.flags & RS_PKT_VLAN_HW);
			FZ_CHECK(p2.vlan_count >= 1);
			FZ_CHECK(p2.vlan_id[0] == (meta.vlan_tci & 0x0fff));
			FZ_CHECK(st2.vlan == 1);
		}
		if (meta.pkttype == 4)
			FZ_CHECK(p2.flags & RS_PKT_OUTGOING);
	}
	if (!meta.vlan_valid)
		FZ_CHECK(!(p2.flags & RS_PKT_VLAN_HW));

	rs_decode_stats_add(&sum, &st0);
	rs_decode_stats_add(&sum, &st2);
	FZ_CHECK(sum.packets == 2 && sum.errors == st0.errors + st2.errors);
	FZ_CHECK(sum.bytes == 2 * (uint64_t)wirelen);

	/* NULL stats are allowed. */
	(void)rs_decode(&p1, lt, frame, caplen, wirelen, NULL);
	return 0;
}
