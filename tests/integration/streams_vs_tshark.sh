#!/usr/bin/env bash
# streams_vs_tshark.sh - on captures of real traffic (clean, and with random
# loss so TCP retransmits), the number of TCP flows ringsniff ends equals
# tshark's TCP conversation count, and every rebuilt byte stream equals what
# `tshark -z follow,tcp,raw` gives for that connection.
set -euo pipefail
RINGSNIFF=${1:?ringsniff}
DUMP=${2:?stream_dump}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/make_capture.sh"
. "$here/../lib/http_traffic.sh"
rs_need_tools tshark tcpdump nginx curl ab nft
rs_net_up "rt$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
u="http://$RS_IP_SRV"

traffic() {
	rs_in_cli curl -s -o /dev/null -o /dev/null "$u/index.html" "$u/64k.bin"
	rs_in_cli curl -s -o /dev/null "$u/1m.bin"
	rs_in_cli curl -s -o /dev/null -d "x=1" "$u/echo"
	rs_in_cli ab -q -k -n 40 -c 2 "$u/1k.txt" >/dev/null
	rs_in_cli ab -q -n 20 -c 2 "$u/index.html" >/dev/null
}

check() {  # name pcap
	local name=$1 cap=$2
	local out=$work/$name.d
	mkdir -p "$out"
	"$DUMP" "$cap" "$out" >"$work/$name.flows"
	"$RINGSNIFF" -q -r "$cap" --flow-log "$work/$name.flowlog" --summary-json "$work/$name.json"
	python3 "$here/follow_compare.py" "$cap" "$out" "$work/$name.flowlog" "$work/$name.json"
}

fail=0
rs_capture_start "$work/clean.pcap"
traffic
rs_capture_stop
check clean "$work/clean.pcap" || fail=1

rs_tcp_loss 3
rs_capture_start "$work/loss.pcap"
traffic
rs_capture_stop
check loss "$work/loss.pcap" || fail=1
exit $fail
