#!/usr/bin/env bash
# where.sh - where ringsniff's time goes: instructions per packet per stage
# (decode, flow table, TCP reassembly, HTTP parsing, JSON logs, ...), from
# callgrind on the first BENCH_PROF_PKTS packets of each capture, with the
# full file pipeline (-T 1, HTTP and flow logs), minus the same run on a
# 1-packet file (start-up and teardown).  When the CPU's counters
# are usable (perf stat -e instructions), the whole capture is also counted
# with perf.  Results: $BENCH_TMP/results/where-NAME.json.
#
#   BENCH_TMP=DIR RINGSNIFF=BIN bench/where.sh CAPTURE...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${BENCH_TMP:?}" "${RINGSNIFF:?}"
prof_pkts=${BENCH_PROF_PKTS:-20000}
w=$BENCH_TMP/where
res=$BENCH_TMP/results
mkdir -p "$w" "$res"
command -v valgrind >/dev/null || bench_die "valgrind missing"
readelf -S "$RINGSNIFF" | grep -q debug_line ||
	bench_log "WARNING: $RINGSNIFF has no debug info: stages cannot be told apart (build with -Ddebug=true)"

perf_ok=0
if command -v perf >/dev/null &&
	perf stat -x, -e instructions true 2>&1 >/dev/null | grep -q '^[0-9]'; then
	perf_ok=1
fi
echo "$perf_ok" >"$res/perf_ok"

json_key() {  # FILE KEY
	"$BENCH_PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}

prof() {  # NAME PCAP TAG: callgrind on ringsniff reading PCAP
	local name=$1 pcap=$2 tag=$3
	local cmd=(valgrind --tool=callgrind --callgrind-out-file="$w/callgrind.$name.$tag.out"
		"$RINGSNIFF" -q -r "$pcap" -T 1 --http-log "$w/$name.http.jsonl"
		--flow-log "$w/$name.flow.jsonl" --summary-json "$w/$name.$tag.json")
	bench_cmd_note where "callgrind ($tag)" "${cmd[@]}"
	"${cmd[@]}" 2>"$w/$name.$tag.valgrind.log" ||
		bench_die "callgrind failed: $(tail -3 "$w/$name.$tag.valgrind.log")"
}

for cap in "$@"; do
	name=$(basename "$cap" .pcap)
	editcap -F pcap -r "$cap" "$w/$name.prof.pcap" "1-$prof_pkts"
	editcap -F pcap -r "$cap" "$w/$name.one.pcap" 1
	bench_log "callgrind: ringsniff on the first $prof_pkts packets of $name, and on its first packet"
	prof "$name" "$w/$name.prof.pcap" prof
	# The same run on one packet: start-up, table set-up and teardown,
	# subtracted by cg_stages.py so what remains is the packets' cost.
	prof "$name" "$w/$name.one.pcap" one
	"$BENCH_PY" "$here/cg_stages.py" \
		"$w/callgrind.$name.prof.out" "$(json_key "$w/$name.prof.json" packets)" \
		"$(json_key "$w/$name.prof.json" http_requests)" \
		"$w/callgrind.$name.one.out" "$(json_key "$w/$name.one.json" packets)" \
		"$(json_key "$w/$name.one.json" http_requests)" >"$res/where-$name.json"
	if [ "$perf_ok" = 1 ]; then
		perf stat -x, -e instructions,cycles -o "$w/$name.perf" \
			"$RINGSNIFF" -q -r "$cap" -T 1 --http-log "$w/$name.http.jsonl" \
			--flow-log "$w/$name.flow.jsonl" --summary-json "$w/$name.full.json"
		cp "$w/$name.perf" "$res/perf-$name.csv"
	fi
	rm -f "$w/$name.http.jsonl" "$w/$name.flow.jsonl"
done
