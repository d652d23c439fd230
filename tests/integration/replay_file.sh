#!/usr/bin/env bash
# replay_file.sh - ringsniff -r CAPTURE --replay: real clients (curl, ab,
# python http.client; GET, HEAD, POST with bodies, a chunked request body,
# Expect: 100-continue, keep-alive connections in parallel) talk to nginx on
# port 80 while tcpdump records; then `ringsniff -r` replays the capture,
# from the client namespace, to the same nginx on port 8080.  nginx's log of
# port 8080 must hold exactly the requests of port 80 (method, URI, status
# and the request body itself), minus one body over --replay-body-kb, with
# each client connection's requests in order on one connection.  Then with
# Host rewritten, with --replay-percent, with --replay-rate.
set -euo pipefail
RINGSNIFF=${1:?path to ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/make_capture.sh"
. "$here/replay_lib.sh"
rs_need_tools tcpdump nginx curl ab python3 timeout
rs_net_up "rf$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rp_nginx_start "$work"

rs_capture_start "$work/cap.pcap" tcp port 80
rp_traffic "$work"
rs_capture_stop

fail=0
replay() {  # name [options...]
	local name=$1; shift
	: >"$work/replay.log"
	# Every wait has a deadline: the drain is bounded, and so is this.
	rs_in_cli timeout 60 "$RINGSNIFF" -q -r "$work/cap.pcap" \
		--replay "$RS_IP_SRV:8080" --summary-json "$work/$name.json" "$@"
	sleep 0.3   # nginx writes its log line after the response
}

echo "== replay as captured"
replay plain
rp_compare "$work" || fail=1
rp_order "$work" || fail=1
rp_summary "$work/plain.json" 's["replay_failed"] == 0' 's["replay_dropped"] == 0' \
	's["replay_skipped"] == 1' 's["replay_sent"] == ans' \
	's["replay_latency_ms_p50"] > 0' \
	's["replay_latency_ms_max"] >= s["replay_latency_ms_p99"] >= s["replay_latency_ms_p50"]' ||
	fail=1

echo "== replay with --replay-host and one connection"
replay host --replay-host rewritten.example --replay-conns 1
rp_compare "$work" rewritten.example || fail=1
rp_summary "$work/host.json" 's["replay_failed"] == 0' 's["replay_connects"] >= 1' || fail=1

echo "== --replay-percent 50: whole client connections, fewer requests"
replay pct --replay-percent 50
rp_summary "$work/pct.json" 's["replay_sampled_out"] > 0' 's["replay_failed"] == 0' \
	'ans + s["replay_skipped"] + s["replay_sampled_out"] == s["replay_requests"]' || fail=1
python3 - "$work/replay.log" <<'PY' || fail=1
import re, sys
per = {}
for line in open(sys.argv[1], encoding="latin-1"):
    m = re.search(r"[?&]c=(\d+)&i=(\d+)\|", line)
    if m: per[m.group(1)] = per.get(m.group(1), 0) + 1
assert all(v == 12 for v in per.values()), per   # whole connections or none
print("percent: ordered connections kept whole:", sorted(per))
PY

echo "== --replay-rate 40: paced, nothing lost"
t0=$(date +%s.%N)
replay rate --replay-rate 40
t1=$(date +%s.%N)
rp_compare "$work" || fail=1
rp_summary "$work/rate.json" 's["replay_failed"] == 0' 's["replay_dropped"] == 0' || fail=1
# 139 requests at 40/s cannot take less than about 3.4 s.
python3 -c "import sys; t = $t1 - $t0; print('rate: %.1f s' % t); sys.exit(t < 3.2)" || fail=1
exit $fail
