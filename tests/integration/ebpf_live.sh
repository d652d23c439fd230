#!/usr/bin/env bash
# ebpf_live.sh - live capture with the eBPF socket filter: packets outside
# the filter never reach user space (kernel-side counters against
# ringsniff's own), changing the filter file + SIGHUP changes what is
# captured without a restart, and --fanout ebpf keeps both directions of
# every flow on one worker while using both.
set -euo pipefail
RINGSNIFF=${1:?ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
RS_NO_IPV6=1 rs_net_up "re$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
u="http://$RS_IP_SRV"

start() {  # name args...
	local name=$1; shift
	ip netns exec "$RS_NS_SRV" "$RINGSNIFF" -i "$RS_IF_SRV" --stats-interval 0 \
		--summary-json "$work/$name.json" --http-log "$work/$name.http" "$@" \
		2>"$work/$name.err" &
	pid=$!
	rs_on_exit "kill $pid"
	for ((i = 0; i < 100; i++)); do
		grep -q "capturing on" "$work/$name.err" && return 0
		grep -q "ringsniff: " "$work/$name.err" && ! kill -0 $pid 2>/dev/null && break
		sleep 0.05
	done
	cat "$work/$name.err"
	if grep -q "Operation not permitted\|not built" "$work/$name.err"; then
		echo "SKIP: eBPF cannot load here"; exit 77
	fi
	return 1
}
udp() { for i in $(seq "$2"); do rs_in_cli bash -c "echo x >/dev/udp/$RS_IP_SRV/$1"; done; }

fail=0
echo "port=80" >"$work/spec"
start filt -T 1 --ebpf-filter "@$work/spec"
grep -q "classic BPF instead" "$work/filt.err" && { echo "SKIP: eBPF did not load"; cat "$work/filt.err"; exit 77; }
for i in 1 2 3; do rs_in_cli curl -s -o /dev/null "$u/index.html?phase=1"; done
rs_in_cli ping -c 3 -i 0.2 "$RS_IP_SRV" >/dev/null
udp 9999 4
sleep 0.3
echo "port=9999" >"$work/spec"
kill -HUP $pid
for ((i = 0; i < 40; i++)); do grep -q "eBPF filter reloaded" "$work/filt.err" && break; sleep 0.05; done
udp 9999 5
rs_in_cli curl -s -o /dev/null "$u/index.html?phase=2"
rs_in_cli ping -c 2 -i 0.2 "$RS_IP_SRV" >/dev/null
sleep 0.3
kill -TERM $pid; wait $pid
python3 - "$work/filt.json" <<'PY' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))
errs = []
# What the kernel let through is exactly what reached user space.
if s["ebpf_passed_packets"] != s["packets"]:
    errs.append(f"kernel passed {s['ebpf_passed_packets']}, user space saw {s['packets']}")
if s["icmp"] != 0:
    errs.append(f"{s['icmp']} ICMP packets reached user space")
if s["ebpf_dropped_icmp"] < 10:   # 5 echo requests + 5 replies
    errs.append(f"kernel dropped only {s['ebpf_dropped_icmp']} ICMP packets")
# Phase 1 (port 80): 3 requests; phase 2 (port 9999): 5 datagrams, no HTTP.
if s["http_requests"] != 3:
    errs.append(f"http_requests {s['http_requests']}, want 3")
if s["udp"] != 5:
    errs.append(f"udp {s['udp']}, want the 5 sent after the reload")
if s["ebpf_dropped_udp"] != 4:
    errs.append(f"kernel dropped {s['ebpf_dropped_udp']} UDP, want the 4 before the reload")
for e in errs: print("FAIL filter:", e)
print("filter:", {k: s[k] for k in ("packets", "ebpf_passed_packets", "ebpf_dropped_packets", "udp", "icmp", "http_requests")})
sys.exit(1 if errs else 0)
PY

start fan -T 2 --fanout ebpf
rs_in_cli ab -q -n 200 -c 8 "$u/1k.txt" >/dev/null
for i in 1 2 3 4 5 6; do rs_in_cli curl -s -o /dev/null "$u/64k.bin?$i"; done
sleep 0.3
kill -TERM $pid; wait $pid
python3 - "$work/fan.json" <<'PY' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))
errs = []
if s["flows_wrong_worker"] != 0:
    errs.append(f"{s['flows_wrong_worker']} packets on the wrong worker")
if min(s["worker_packets"]) == 0:
    errs.append(f"one worker got nothing: {s['worker_packets']}")
if s["http_requests"] != 206 or s["http_responses"] != 206:
    errs.append(f"http {s['http_requests']}/{s['http_responses']}, want 206")
if s["tcp_gaps"] != 0:
    errs.append(f"tcp gaps {s['tcp_gaps']}")
for e in errs: print("FAIL fanout:", e)
print("fanout: worker packets", s["worker_packets"], "flows", s["flows"])
sys.exit(1 if errs else 0)
PY
exit $fail
