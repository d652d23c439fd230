#!/usr/bin/env bash
# live_replay.sh - live capture on a veth: a capture of real HTTP traffic is
# replayed with tcpreplay from one namespace into the other, where ringsniff
# captures (TPACKET_V3 rings, fanout hash).  It must count every packet
# tcpreplay sent, report no kernel drops at this moderate rate, log the same
# HTTP transactions as reading the capture file does, and, with two workers,
# never see a packet of a flow on the wrong worker.
set -euo pipefail
RINGSNIFF=${1:?path to ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/make_capture.sh"
rs_need_tools tcpreplay tcpdump nginx curl ab
work=$(mktemp -d)   # removal registered after phase 1's cleanup

# 1. Real traffic, recorded.
rs_net_up "rl$$"
rs_www_fill "$work"
rs_nginx_start "$work"
rs_capture_start "$work/http.pcap"
rs_in_cli curl -s -o /dev/null -o /dev/null "http://$RS_IP_SRV/index.html" "http://$RS_IP_SRV/64k.bin"
rs_in_cli curl -s -o /dev/null -d "a=1" "http://$RS_IP_SRV/echo"
rs_in_cli ab -q -k -n 200 -c 4 "http://$RS_IP_SRV/1k.txt" >/dev/null
rs_in_cli ab -q -n 100 -c 4 "http://$RS_IP_SRV/index.html" >/dev/null
rs_capture_stop
rs_cleanup
rs_on_exit "rm -rf $work"

# 2. A silent link (no IPv6 chatter), so every frame on it is tcpreplay's.
RS_NO_IPV6=1 rs_net_up "rm$$"
expected_file() {
	"$RINGSNIFF" -q -r "$work/http.pcap" --http-log "$work/file.jsonl" --summary-json "$work/file.json"
}
expected_file

run_live() {  # name threads [tcpreplay rate options...]
	local name=$1 threads=$2; shift 2
	ip netns exec "$RS_NS_SRV" "$RINGSNIFF" -i "$RS_IF_SRV" -T "$threads" \
		--stats-interval 0 --http-log "$work/$name.jsonl" \
		--summary-json "$work/$name.json" 2>"$work/$name.err" &
	local pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "capturing on" "$work/$name.err" && break
		sleep 0.05
	done
	ip netns exec "$RS_NS_CLI" tcpreplay -i "$RS_IF_CLI" "$@" "$work/http.pcap" >"$work/$name.replay" 2>&1
	sleep 0.5   # let the last block retire (block timeout)
	kill -TERM $pid
	wait $pid
	sent=$(awk '/Successful packets:/ {print $3}' "$work/$name.replay")
	echo "$name: tcpreplay sent $sent; $(tail -n +1 "$work/$name.err" | grep -m1 packets)"
}

check() {  # name
	python3 - "$work/$1.json" "$work/file.json" "$sent" "$work/$1.jsonl" "$work/file.jsonl" <<-'PY'
	import json, sys
	live, f, sent = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
	errs = []
	if live["packets"] != sent:
	    errs.append(f"captured {live['packets']} packets, tcpreplay sent {sent}")
	if live["kernel_drops"] != 0:
	    errs.append(f"kernel drops: {live['kernel_drops']}")
	for k in ("tcp", "http_requests", "http_responses", "flows"):
	    if live[k] != f[k]:
	        errs.append(f"{k}: live {live[k]}, file {f[k]}")
	if live["flows_wrong_worker"] != 0:
	    errs.append(f"wrong-worker packets: {live['flows_wrong_worker']}")
	def txns(p):
	    out = []
	    for line in open(p):
	        t = json.loads(line)
	        out.append((t["src_ip"], t["src_port"], t["method"], t["uri"], t["status"],
	                    t["req_body_len"], t["resp_body_len"]))
	    return sorted(out)
	a, b = txns(sys.argv[4]), txns(sys.argv[5])
	if a != b:
	    errs.append(f"HTTP logs differ: live {len(a)} lines, file {len(b)}")
	if len(b) < 300:
	    errs.append(f"too few transactions in the file: {len(b)}")
	for e in errs:
	    print("FAIL", sys.argv[1], e)
	sys.exit(1 if errs else 0)
	PY
}

fail=0
run_live one 1 --pps=2000
check one || fail=1
run_live two 2 --pps=2000
check two || fail=1
exit $fail
