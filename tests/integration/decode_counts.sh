#!/usr/bin/env bash
# decode_counts.sh - on a capture of real traffic (made here with nginx, curl
# and ping in two namespaces, recorded by tcpdump), ringsniff's per-protocol
# counts equal tshark's, and are the same for the file as classic pcap (us),
# pcapng and nanosecond pcap.
set -euo pipefail
RINGSNIFF=${1:?path to ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/make_capture.sh"
rs_need_tools tshark editcap mergecap tcprewrite tcpdump nginx curl
rs_net_up "rd$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
rs_capture_mixed "$work/cap.pcap"
editcap -F pcapng "$work/cap.pcap" "$work/cap.pcapng"
editcap -F nsecpcap "$work/cap.pcap" "$work/cap.ns.pcap"

# tshark's view: one count per display filter, reassembly off so each frame
# is dissected as it is (first fragments keep their ICMP/UDP header).
tshark_count() {
	tshark -r "$work/cap.pcap" -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
		-Y "$1" 2>/dev/null | wc -l
}
declare -A want
want[packets]=$(tshark_count "frame")
want[ipv4]=$(tshark_count "ip")
want[ipv6]=$(tshark_count "ipv6")
want[tcp]=$(tshark_count "tcp")
want[udp]=$(tshark_count "udp")
want[icmp]=$(tshark_count "icmp")
want[icmpv6]=$(tshark_count "icmpv6")
want[vlan]=$(tshark_count "vlan")
want[fragments]=$(tshark_count "(ip.flags.mf == 1 or ip.frag_offset > 0) or ipv6.fraghdr")
want[bytes]=$(tshark -r "$work/cap.pcap" -T fields -e frame.len | awk '{s+=$1} END {print s+0}')
want[decode_errors]=0

fail=0
for f in cap.pcap cap.pcapng cap.ns.pcap; do
	"$RINGSNIFF" -q -r "$work/$f" --summary-json "$work/$f.json"
	for k in "${!want[@]}"; do
		got=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/$f.json" "$k")
		if [ "$got" != "${want[$k]}" ]; then
			echo "FAIL $f: $k = $got, tshark says ${want[$k]}"
			fail=1
		fi
	done
done
for k in "${!want[@]}"; do echo "  $k: ${want[$k]}"; done
# The capture must really hold every kind, or the comparison proves little.
for k in ipv4 ipv6 tcp udp icmp icmpv6 vlan fragments; do
	[ "${want[$k]}" -gt 0 ] || { echo "FAIL: capture has no $k frames"; fail=1; }
done
exit $fail
