#!/usr/bin/env bash
# http_vs_nginx.sh - real HTTP traffic between two namespaces (nginx; curl,
# ab, wrk and a pipelining client; GET, HEAD, POST with bodies, keep-alive,
# pipelining, chunked responses), captured by tcpdump: the requests ringsniff
# logs from the capture equal, one for one (method, URI, status), the
# requests in nginx's access log, and -T 2 and -T 3 log what -T 1 logs.  Run
# twice: clean, and with random loss made by nftables in both namespaces so
# TCP really retransmits.
set -euo pipefail
RINGSNIFF=${1:?path to ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/make_capture.sh"
. "$here/../lib/http_traffic.sh"
rs_need_tools tcpdump nginx curl ab wrk python3 nft
rs_net_up "rh$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
u="http://$RS_IP_SRV"

traffic() { rs_http_mix 1; }

# method uri status, sorted, from nginx and from ringsniff's log.
compare() {  # name capture
	local name=$1 cap=$2
	"$RINGSNIFF" -q -r "$cap" --http-log "$work/$name.jsonl" \
		--summary-json "$work/$name.json"
	sort "$work/access.log" >"$work/$name.nginx"
	python3 - "$work/$name.jsonl" >"$work/$name.rs" <<-'PY'
	import json, sys
	for line in open(sys.argv[1], encoding="utf-8"):
	    t = json.loads(line)
	    print(t["method"], t["uri"], t["status"] if t["status"] is not None else "-")
	PY
	sort -o "$work/$name.rs" "$work/$name.rs"
	local n_nginx n_rs
	n_nginx=$(wc -l <"$work/$name.nginx")
	n_rs=$(wc -l <"$work/$name.rs")
	echo "$name: nginx logged $n_nginx requests, ringsniff $n_rs"
	if ! diff -u "$work/$name.nginx" "$work/$name.rs" >"$work/$name.diff"; then
		echo "FAIL $name: logs differ:"; head -40 "$work/$name.diff"
		return 1
	fi
	[ "$n_nginx" -ge 250 ] || { echo "FAIL $name: too little traffic ($n_nginx)"; return 1; }
	same_with_workers "$name" "$cap"
}

# Several workers on one file (one reader hands each frame to the worker of
# its flow): the same HTTP and flow log lines as one worker, in another
# order, and the same counters.
same_with_workers() {  # name capture
	local name=$1 cap=$2 t
	"$RINGSNIFF" -q -r "$cap" -T 1 --http-log "$work/$name.t1.jsonl" \
		--flow-log "$work/$name.t1.flows" --summary-json "$work/$name.t1.json"
	for t in 2 3; do
		"$RINGSNIFF" -q -r "$cap" -T $t --http-log "$work/$name.t$t.jsonl" \
			--flow-log "$work/$name.t$t.flows" --summary-json "$work/$name.t$t.json"
		python3 - "$work/$name.t1" "$work/$name.t$t" "$t" <<-'PY' || return 1
		import json, sys
		a, b, t = sys.argv[1], sys.argv[2], sys.argv[3]
		for ext in (".jsonl", ".flows"):
		    la, lb = sorted(open(a + ext)), sorted(open(b + ext))
		    if la != lb:
		        sys.exit("FAIL -T %s: %s lines differ from -T 1's (%d vs %d)" % (t, ext, len(lb), len(la)))
		sa, sb = json.load(open(a + ".json")), json.load(open(b + ".json"))
		for k in ("packets", "bytes", "flows", "tcp_gaps", "http_requests", "http_responses", "decode_errors"):
		    if sa[k] != sb[k]:
		        sys.exit("FAIL -T %s: %s %s, -T 1 %s" % (t, k, sb[k], sa[k]))
		print("-T %s: %d HTTP and %d flow lines, as -T 1" % (t, len(open(a + ".jsonl").readlines()), len(open(a + ".flows").readlines())))
		PY
	done
}

fail=0
rs_capture_start "$work/clean.pcap"
traffic
rs_capture_stop
compare clean "$work/clean.pcap" || fail=1
python3 - "$work/clean.json" <<-'PY' || fail=1
	import json, sys
	s = json.load(open(sys.argv[1]))
	assert s["tcp_gaps"] == 0, s["tcp_gaps"]
	assert s["http_requests"] == s["http_responses"], (s["http_requests"], s["http_responses"])
	PY

# Random loss in both directions: 3% of each side's outgoing packets.  The
# capture (server side) then holds the retransmissions that repaired it.
: >"$work/access.log"
rs_tcp_loss 3
rs_capture_start "$work/loss.pcap"
traffic
rs_capture_stop
compare loss "$work/loss.pcap" || fail=1
retrans=$(tshark -r "$work/loss.pcap" -Y tcp.analysis.retransmission 2>/dev/null | wc -l)
echo "loss: $retrans retransmissions in the capture"
[ "$retrans" -gt 0 ] || { echo "FAIL: loss run made no retransmissions"; fail=1; }
exit $fail
