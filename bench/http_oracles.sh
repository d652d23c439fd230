#!/usr/bin/env bash
# http_oracles.sh - how many of the requests nginx served does each tool find
# in the same capture?  Real traffic (tests/lib/http_traffic.sh: curl, ab,
# wrk, pipelining) recorded on the server's veth, with 0%, 3% and 10% random
# loss made by nftables (TCP retransmits; the capture holds the repairs).
# ringsniff -r vs tshark -Y http.request (default preferences, reassembly
# on), both matched one for one (method, URI) against nginx's access log.
# Writes the "HTTP requests found" section of bench/RESULTS.md.
# Usage (root): bench/http_oracles.sh [RINGSNIFF]
set -euo pipefail
cd "$(dirname "$0")/.."
RINGSNIFF=${1:-build/tools/ringsniff}
. tests/lib/netns.sh
. tests/integration/make_capture.sh
. tests/lib/http_traffic.sh
rs_net_up "ho$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"

rows=()
for loss in 0 3 10; do
	: >"$work/access.log"
	rs_tcp_loss "$loss"
	rs_capture_start "$work/l$loss.pcap"
	rs_http_mix 1
	rs_capture_stop
	"$RINGSNIFF" -q -r "$work/l$loss.pcap" --http-log "$work/l$loss.rs"
	tshark -r "$work/l$loss.pcap" -Y http.request -T fields \
		-e http.request.method -e http.request.uri >"$work/l$loss.ts" 2>/dev/null
	cp "$work/access.log" "$work/l$loss.nginx"
	rows+=("$(python3 - "$work" "$loss" <<-'PY'
	import collections, json, subprocess, sys
	work, loss = sys.argv[1], sys.argv[2]
	p = f"{work}/l{loss}"
	nginx = collections.Counter(" ".join(l.split()[:2]) for l in open(p + ".nginx"))
	rs = collections.Counter(f"{t['method']} {t['uri']}" for t in map(json.loads, open(p + ".rs", encoding="utf-8")))
	ts = collections.Counter(" ".join(l.rstrip("\n").split("\t")[:2]) for l in open(p + ".ts", errors="replace"))
	n = sum(nginx.values())
	found_rs, found_ts = sum((nginx & rs).values()), sum((nginx & ts).values())
	retrans = subprocess.run(["tshark", "-r", p + ".pcap", "-Y", "tcp.analysis.retransmission"],
	                         capture_output=True, text=True).stdout.count("\n")
	missed = (nginx - ts).most_common(3)
	miss_ts, miss_rs = nginx - ts, nginx - rs
	pipe = sum(v for k, v in miss_ts.items() if "pipe=" in k)
	with open(f"{work}/reading", "a") as f:
	    f.write(f"{loss} {sum(miss_rs.values())} {sum(miss_ts.values())} {pipe}\n")
	print(f"| {loss}% | {retrans} | {n} | {found_rs} ({100*found_rs/n:.1f}%) | {found_ts} ({100*found_ts/n:.1f}%) | "
	      + ", ".join(f"`{k}` x{v}" for k, v in missed) + " |")
	PY
	)")
done

{
	echo "## HTTP requests found: ringsniff and tshark against nginx's access log"
	echo
	echo "$(date -u +%F), commit $(git rev-parse --short HEAD), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r)."
	echo "Command: \`bench/http_oracles.sh\` (as root). Same capture for both tools; a request is found when"
	echo "its method and URI match one of nginx's log lines (multiset). tshark 4.0 with default preferences."
	echo
	echo "| loss | retransmissions in capture | nginx served | ringsniff found | tshark found | tshark missed most (nginx line x count) |"
	echo "| --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${rows[@]}"
	echo
	python3 - "$work/reading" <<-'PY'
	rows = [list(map(int, l.split()[1:])) for l in open(__import__("sys").argv[1])]
	rs_miss = sum(r[0] for r in rows)
	ts_miss = [r[1] for r in rows]
	pipe = [r[2] for r in rows]
	print("Reading: ringsniff " + ("found every request nginx served at every loss level" if rs_miss == 0
	      else f"missed {rs_miss} requests in all") + f"; tshark missed {', '.join(map(str, ts_miss))} "
	      f"(clean, 3%, 10% loss), of which {', '.join(map(str, pipe))} were pipelined requests "
	      "(12 GETs written in one segment by tests/lib/pipeline_client.py): tshark reported none of "
	      "them as http.request, ringsniff logged each one; the rest of tshark's misses (if any) are "
	      "listed in the last column.")
	PY
} >"$work/section.md"
python3 bench/results_section.py http-oracles "$work/section.md"
cat "$work/section.md"
