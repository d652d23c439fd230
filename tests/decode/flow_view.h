/* flow_view.h - the fields of struct rs_pkt that rs_decode_flow() writes on
 * every path (rs_decode.h), compared: shared by test_decode and the decode
 * fuzz harness, which both check rs_decode_flow() against rs_decode(). */
#ifndef RS_TEST_FLOW_VIEW_H
#define RS_TEST_FLOW_VIEW_H

#include <stdbool.h>
#include <string.h>

#include "rs_decode.h"

static inline bool flow_view_equal(const struct rs_pkt *a,
				   const struct rs_pkt *b)
{
#define EQ(f) (memcmp(&a->f, &b->f, sizeof(a->f)) == 0)
	if (!(EQ(frame) && EQ(caplen) && EQ(wirelen) && EQ(ts_ns) &&
	      EQ(flags) && EQ(ip_version) && EQ(l4proto) && EQ(addr_len) &&
	      EQ(src) && EQ(dst) && EQ(l3) && EQ(l4) && EQ(payload) &&
	      EQ(payload_len) && EQ(sport) && EQ(dport) && EQ(seq) &&
	      EQ(ack) && EQ(tcp_flags) && EQ(vlan_count)))
		return false;
#undef EQ
	for (unsigned i = 0; i < a->vlan_count && i < RS_MAX_VLAN; i++)
		if (a->vlan_id[i] != b->vlan_id[i])
			return false;
	return true;
}

#endif
