#!/usr/bin/env bash
# bounds.sh - resource bounds of the real binary, measured: hostile capture
# files made at test time (tests/bounds/gen_traffic.c) are read with
# `ringsniff -r` under tight caps; the peak resident set (getrusage via
# /usr/bin/time %M) must stay under a bound derived from the caps, and the
# summary's counters must account for what was given up.
#
#   bounds.sh RINGSNIFF GEN_TRAFFIC [SANITIZE]
#
# SANITIZE is meson's b_sanitize of the build: with a sanitizer the RSS of
# the process is the sanitizer's (shadow memory, quarantine), so only the
# counters are checked.  RS_BOUNDS_TABLE=FILE appends a markdown table of
# the measured numbers (bench/bounds.sh records it in bench/RESULTS.md).
#
# The bound, per case (all sizes from `gen_traffic sizes`, in bytes):
#   base   = peak RSS of the same binary reading a 1-packet file (binary,
#            libraries, per-worker log buffers, liburcu), measured here
#          + 9 MiB (the reader gives mapped file pages back every 8 MiB and
#            keeps 1 MiB behind it: capture/pcapfile.c)
#          + 4 MiB slack for run-to-run noise of the above
#   flows  = F * (sizeof(struct rs_flow) + 32)          glibc chunk rounding
#          + H * (sizeof(struct rs_http_conn) + 32)     flows that carried payload
#          + buckets(max_flows) * 16                     the fixed hash index
#   ooo    = buffered out-of-order bytes * (1 + 48 / segment payload)
#   bound  = base + 1.25 * (flows + ooo)   (25% for allocator fragmentation)
# F is the number of flows alive at once: max_flows, or what the idle timeouts
# leave alive (timeout + 1 s tick) / spacing of new flows.
set -uo pipefail
RINGSNIFF=${1:?ringsniff}
GEN=${2:?gen_traffic}
SANITIZE=${3:-none}
for t in python3 /usr/bin/time; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check_rss=1
[ "$SANITIZE" != none ] && [ -n "$SANITIZE" ] && check_rss=0
[ $check_rss = 1 ] || echo "note: $SANITIZE build: peak RSS is the sanitizer's, only counters are checked"

eval "$("$GEN" sizes | awk '{print "SZ_" $1 "=" $2}')"
echo "sizes: rs_flow $SZ_flow B, rs_http_conn $SZ_http_conn B, rs_seg header $SZ_seg_header B"

# Peak RSS of a run on a 1-packet file: everything that does not grow.
"$GEN" syn "$work/one.pcap" 1 || exit 1
/usr/bin/time -o "$work/t" -f "%M" "$RINGSNIFF" -q -r "$work/one.pcap" >/dev/null 2>&1
# + 4 MiB of slack: the 1-packet run's peak and the file window vary by a
# few hundred KiB from run to run (readahead, glibc arenas); a fixed slack
# keeps the check about what grows with flows and buffered bytes.
base_kb=$(( $(tail -1 "$work/t") + 9 * 1024 + 4 * 1024 ))
echo "base: $base_kb KiB (1-packet run + 9 MiB file window + 4 MiB slack)"

buckets() {  # max_flows -> index buckets (reassembly/flow.c: pow2, 1024 .. 2^22)
	local n=1024
	while [ $n -lt "$1" ] && [ $n -lt 4194304 ]; do n=$((n * 2)); done
	echo $n
}

fail=0
names=() rows=()
mkdir "$work/sums"
# run NAME BOUND_KB TIMEOUT_S FILE ringsniff-args...: sets peak_kb, secs, $work/NAME.json
run() {
	local name=$1 bound=$2 tmo=$3 file=$4; shift 4
	local t0 t1 rc
	t0=$(date +%s.%N)
	timeout "$tmo" /usr/bin/time -o "$work/t" -f "%M" "$RINGSNIFF" -q -r "$file" \
		--summary-json "$work/$name.json" --flow-log "$work/$name.flows" \
		--http-log "$work/$name.http" "$@" 2>"$work/$name.err"
	rc=$?
	t1=$(date +%s.%N)
	secs=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
	peak_kb=$(tail -1 "$work/t" 2>/dev/null)
	[[ $peak_kb =~ ^[0-9]+$ ]] || peak_kb=0
	local verdict=ok
	if [ $rc != 0 ]; then
		echo "FAIL $name: exit status $rc ($( [ $rc = 124 ] && echo "timed out after ${tmo}s" || head -c 300 "$work/$name.err"))"
		verdict=FAIL
		fail=1
	elif [ $check_rss = 1 ] && [ "$peak_kb" -gt "$bound" ]; then
		echo "FAIL $name: peak RSS $peak_kb KiB > bound $bound KiB"
		verdict=FAIL
		fail=1
	fi
	echo "$name: peak RSS $peak_kb KiB (bound $bound KiB), ${secs}s"
	names+=("$name")
	rows+=("| $name | \`${*:-(defaults)}\` | $peak_kb | $bound | $secs | $verdict |")
}

# counters NAME python-assertions...: the summary is `s`, flow log lines
# `flows`, HTTP log lines `http`; each line one assertion, all must hold.
counters() {
	local name=$1; shift
	python3 - "$work/$name.json" "$work/$name.flows" "$work/$name.http" "$name" "$@" <<-'PY' || fail=1
	import json, sys
	s = json.load(open(sys.argv[1]))
	flows = [json.loads(l) for l in open(sys.argv[2])]
	http = [json.loads(l) for l in open(sys.argv[3])]
	name, bad = sys.argv[4], 0
	for a in sys.argv[5:]:
	    if not eval(a):
	        print(f"FAIL {name}: {a}")
	        bad = 1
	keys = ("packets", "flows", "flows_evicted", "flows_timeout", "flows_ended",
	        "flows_refused", "tcp_gaps", "tcp_gap_bytes", "tcp_ooo_bytes",
	        "tcp_ooo_dropped", "http_transactions", "http_truncated",
	        "http_parse_errors", "http_not_http", "alloc_failures")
	line = ", ".join(f"{k} {s[k]}" for k in keys if s.get(k))
	print("  " + line)
	open(sys.argv[1].rsplit("/", 1)[0] + "/sums/" + name, "w").write(line)
	sys.exit(bad)
	PY
}

kb() { echo $(( ($1 + 1023) / 1024 )); }
bound_kb() {  # flow_bytes ooo_bytes
	echo $(( base_kb + $(kb $(( ($1 + $2) * 5 / 4 ))) ))
}

# 1. Two million SYNs, every one a new flow, against --max-flows 100000:
#    the table holds 100000, the other 1.9 million are evicted (stalest
#    first) and say so.
"$GEN" syn "$work/syn.pcap" 2000000 || exit 1
b=$(bound_kb $(( 100000 * (SZ_flow + 32) + $(buckets 100000) * 16 )) 0)
run syn_2m "$b" 600 "$work/syn.pcap" --max-flows 100000
counters syn_2m \
	's["packets"] == 2000000 and s["flows"] == 2000000' \
	's["flows_evicted"] == 2000000 - 100000' \
	's["flows_ended"] == 2000000 and s["flows_active"] == 0' \
	'sum(f["end_reason"] == "evicted" for f in flows) == 1900000' \
	'sum(f["end_reason"] == "shutdown" for f in flows) == 100000' \
	's["alloc_failures"] == 0 and s.get("flows_refused", 0) == 0'
rm -f "$work/syn.pcap" "$work"/syn_2m.*

# 2. 200000 HTTP connections that never close (handshake, GET, 200, ACK,
#    no FIN), a new one every 105 us of capture time (21 s in all).
"$GEN" flows "$work/flows.pcap" 200000 || exit 1
#  a. Idle timeouts of 1 s end them as the file goes on: at most
#     (1 s + 1 s tick) / 105 us = 19048 alive at once.
alive=19048
b=$(bound_kb $(( alive * (SZ_flow + 32 + SZ_http_conn + 32) + $(buckets 262144) * 16 )) 0)
run never_close_timeouts "$b" 600 "$work/flows.pcap" --timeout-new 1 --timeout-established 1
counters never_close_timeouts \
	's["flows"] == 200000 and s["flows_evicted"] == 0' \
	's["flows_timeout"] > 150000' \
	'sum(f["end_reason"] == "timeout" for f in flows) == s["flows_timeout"]' \
	'sum(f["end_reason"] == "shutdown" for f in flows) == 200000 - s["flows_timeout"]' \
	'len(http) == 200000 and all(t["status"] == 200 for t in http)'
#  b. Without small timeouts (defaults: 600 s established) only the table
#     cap ends them: 20000 alive, the rest evicted with their transactions
#     logged.  (At the default cap of 262144 the same file would hold all
#     200000: about 200000 * 16 KiB = 3.2 GB; see README "Bad input".)
b=$(bound_kb $(( 20000 * (SZ_flow + 32 + SZ_http_conn + 32) + $(buckets 20000) * 16 )) 0)
run never_close_no_timeouts "$b" 600 "$work/flows.pcap" --max-flows 20000
counters never_close_no_timeouts \
	's["flows"] == 200000 and s["flows_timeout"] == 0' \
	's["flows_evicted"] == 180000' \
	'sum(f["end_reason"] == "evicted" for f in flows) == 180000' \
	'sum(f["end_reason"] == "shutdown" for f in flows) == 20000' \
	'len(http) == 200000 and all(t["status"] == 200 for t in http)'
rm -f "$work/flows.pcap" "$work"/never_close_*

# 3. Four uploads, each with a 100 MiB hole in the body (sequence jump) and
#    8 MiB of 1448-byte segments after it, taking turns; then the server
#    ACKs past everything.  Caps: 1 MiB per flow, 2 MiB for all: at most
#    2 MiB is ever buffered; each hole is given up on (a gap of 100 MiB),
#    the buffered bytes are handed on, the rest follows in order.
"$GEN" hole "$work/hole.pcap" 4 100 8192 || exit 1
b=$(bound_kb $(( 4 * (SZ_flow + 32 + SZ_http_conn + 32) )) $(( (2 << 20) * (1448 + 48) / 1448 )))
run hole_100m "$b" 600 "$work/hole.pcap" --ooo-mb 2 --ooo-flow-kb 1024
counters hole_100m \
	's["tcp_gaps"] >= 4 and s["tcp_gap_bytes"] >= 4 * (100 << 20)' \
	's["tcp_ooo_dropped"] >= 4' \
	'all("ooo_capped" in f["flags"] and "gap" in f["flags"] and f["gaps"] >= 1 for f in flows)' \
	'len(http) == 4 and all(t["status"] == 200 and "gap" in t["flags"] for t in http)' \
	'all(t["req_body_len"] == 16384 + (8 << 20) for t in http)'
rm -f "$work/hole.pcap"
#  The same hole with 256 KiB after it in 1-byte segments (262144 of them
#  buffered behind the hole): linear time (it was quadratic: minutes), and
#  memory is the cap times the per-segment overhead (48 B a segment here:
#  the caps count payload bytes, not allocations).
"$GEN" hole "$work/tiny.pcap" 1 100 256 1 || exit 1
b=$(bound_kb $(( SZ_flow + 32 + SZ_http_conn + 32 )) $(( (256 << 10) * (1 + 48) )))
run hole_tiny_segments "$b" 60 "$work/tiny.pcap" --ooo-flow-kb 256
counters hole_tiny_segments \
	's["tcp_gaps"] >= 1 and s["tcp_gap_bytes"] >= (100 << 20)' \
	's["tcp_ooo_bytes"] <= 256 << 10' \
	'len(http) == 1 and http[0]["status"] == 200'
rm -f "$work/tiny.pcap"

# 4. Huge heads.  a: a 4 KiB URI and 1 MiB of header lines: logged, URI cut
#    to RS_HTTP_URI_MAX - 1, flagged truncated (and bad_request: header
#    parsing stops at 64 KiB).  b: a 100 KiB URI: the request line does not
#    end within the 8 KiB sniff window, so the connection is not taken for
#    HTTP (counted, not logged).  Either way nothing grows with the input.
"$GEN" bighdr "$work/hdr4k.pcap" 4 1024 || exit 1
b=$(bound_kb $(( SZ_flow + 32 + SZ_http_conn + 32 )) 0)
run huge_headers "$b" 120 "$work/hdr4k.pcap"
counters huge_headers \
	'len(http) == 1 and "truncated" in http[0]["flags"]' \
	'len(http[0]["uri"]) == 2047 and http[0]["status"] == 200' \
	's["http_truncated"] == 1'
"$GEN" bighdr "$work/uri100k.pcap" 100 1024 || exit 1
run huge_uri "$b" 120 "$work/uri100k.pcap"
counters huge_uri \
	'len(http) == 0' \
	's["http_not_http"] == 1 and s["http_parse_errors"] >= 1'

if [ -n "${RS_BOUNDS_TABLE:-}" ]; then
	{
		echo "| case | options | peak RSS KiB | bound KiB | seconds | | counters |"
		echo "| --- | --- | --- | --- | --- | --- | --- |"
		for i in "${!names[@]}"; do
			echo "${rows[i]} $(cat "$work/sums/${names[i]}" 2>/dev/null) |"
		done
	} >>"$RS_BOUNDS_TABLE"
fi
exit $fail
