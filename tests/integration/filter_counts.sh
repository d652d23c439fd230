#!/usr/bin/env bash
# filter_counts.sh - over a table of tcpdump expressions (ports, hosts, nets,
# tcp flags, greater/less, vlan, ip6, icmp), the packets ringsniff counts in
# a capture of real traffic equal `tcpdump -r FILE EXPR`'s, for the file as
# pcap and as pcapng; and an invalid expression is exit 2 with libpcap's
# message.
set -euo pipefail
RINGSNIFF=${1:?ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/make_capture.sh"
rs_need_tools tcpdump editcap mergecap tcprewrite nginx curl
rs_net_up "rf$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
rs_capture_mixed "$work/cap.pcap"
editcap -F pcapng "$work/cap.pcap" "$work/cap.pcapng"

exprs=(
	"tcp port 80"
	"tcp dst port 80"
	"udp port 9999"
	"host 198.18.0.1"
	"src host 198.18.0.2 and tcp"
	"net 198.18.0.0/24"
	"not net 198.18.0.0/16"
	"tcp[tcpflags] & tcp-syn != 0"
	"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0"
	"greater 1000"
	"less 100"
	"icmp"
	"ip6"
	"icmp6"
	"vlan"
	"vlan 7 and tcp"
	"ip[6:2] & 0x1fff != 0 or ip[6] & 0x20 != 0"
	"ether broadcast"
	"arp"
)
fail=0
for f in cap.pcap cap.pcapng; do
	for e in "${exprs[@]}"; do
		want=$(tcpdump -r "$work/$f" "$e" 2>/dev/null | wc -l)
		"$RINGSNIFF" -q -r "$work/$f" --summary-json "$work/s.json" "$e"
		got=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['packets'])" "$work/s.json")
		if [ "$got" != "$want" ]; then
			echo "FAIL $f '$e': ringsniff $got, tcpdump $want"; fail=1
		fi
		[ $f = cap.pcap ] && printf '  %-45s %s\n' "$e" "$want"
	done
done
# The table must match something for most rows, or it proves little.
zero=$(for e in "${exprs[@]}"; do tcpdump -r "$work/cap.pcap" "$e" 2>/dev/null | wc -l; done | grep -cx 0 || true)
[ "$zero" -le 3 ] || { echo "FAIL: $zero expressions match nothing"; fail=1; }
set +e
"$RINGSNIFF" -q -r "$work/cap.pcap" "tcp port" 2>"$work/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q "syntax error" "$work/err" || { echo "FAIL: invalid filter gave $rc: $(cat "$work/err")"; fail=1; }
exit $fail
