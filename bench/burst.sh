#!/usr/bin/env bash
# burst.sh - how big a burst does the default ring absorb while ringsniff's
# workers are stopped?  tcpreplay sends a capture of real HTTP traffic into
# a veth at a fixed rate for 4 s; 1 s in, ringsniff (default ring, default
# workers, full pipeline: flows, reassembly, HTTP log) is SIGSTOPped for one
# second, then continued.  Per rate: packets and bytes that arrived during
# the stop, kernel drops.  Writes the "Ring burst" section of RESULTS.md.
# Usage (root): bench/burst.sh [RINGSNIFF] [RATES...]
set -euo pipefail
cd "$(dirname "$0")/.."
RINGSNIFF=${1:-build/tools/ringsniff}; shift || true
RATES=("${@:-10000 25000 50000 100000 200000 topspeed}")
read -r -a RATES <<<"${RATES[*]}"
. tests/lib/netns.sh
. tests/integration/make_capture.sh
work=$(mktemp -d)

# 1. Real traffic to replay: 5000 short connections for a 1 KiB file, so
# the fanout hash spreads the burst evenly over the workers.
rs_net_up "bc$$"
rs_www_fill "$work"
rs_nginx_start "$work"
rs_capture_start "$work/http.pcap"
rs_in_cli ab -q -n 5000 -c 8 "http://$RS_IP_SRV/1k.txt" >/dev/null
rs_capture_stop
rs_cleanup
rs_on_exit "rm -rf $work"
avg=$(tshark -r "$work/http.pcap" -T fields -e frame.len 2>/dev/null | awk '{s+=$1; n++} END {printf "%d", s/n}')

# 2. A silent link; replay at each rate with a 1 s stop of ringsniff.
RS_NO_IPV6=1 rs_net_up "bd$$"
rows=()
for rate in "${RATES[@]}"; do
	ip netns exec "$RS_NS_SRV" "$RINGSNIFF" -i "$RS_IF_SRV" --stats-interval 0 \
		--http-log "$work/http.log" --flow-log "$work/flow.log" \
		--summary-json "$work/s.json" 2>"$work/err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do grep -q "capturing on" "$work/err" && break; sleep 0.05; done
	if [ "$rate" = topspeed ]; then ropt=(--topspeed); else ropt=(--pps="$rate"); fi
	ip netns exec "$RS_NS_CLI" tcpreplay -i "$RS_IF_CLI" "${ropt[@]}" --loop=1000 \
		--duration=4 "$work/http.pcap" >"$work/replay" 2>&1 &
	rp=$!
	sleep 1
	kill -STOP $pid; t0=$(date +%s.%N)
	sleep 1
	kill -CONT $pid; t1=$(date +%s.%N)
	wait $rp || true
	sleep 0.5
	kill -TERM $pid; wait $pid
	sent=$(awk '/Successful packets:/ {print $3}' "$work/replay")
	secs=$(awk '/Actual:/ {for (i=1;i<=NF;i++) if ($i=="seconds") print $(i-1)}' "$work/replay")
	rows+=("$(python3 - "$work/s.json" "$sent" "$secs" "$t0" "$t1" "$rate" "$avg" <<-'PY'
	import json, sys
	s = json.load(open(sys.argv[1]))
	sent, secs, t0, t1, rate, avg = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], int(sys.argv[7])
	pps = sent / secs if secs else 0
	stopped = t1 - t0
	burst = pps * stopped
	drops = s["kernel_drops"]
	print(f"| {rate} | {pps:,.0f} | {stopped:.2f} | {burst:,.0f} | {burst*avg/2**20:.1f} | {sent:,} | {s['packets']:,} | {drops:,} ({100*drops/max(sent,1):.2f}%) |")
	PY
	)")
	echo "${rows[-1]}"
done

{
	echo "## Ring burst: workers stopped (SIGSTOP) for one second"
	echo
	echo "$(date -u +%F), commit $(git rev-parse --short HEAD), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r)."
	echo "Command: \`bench/burst.sh\` (as root). ringsniff with the default ring (per worker 64 MiB in 256 x"
	echo "256 KiB blocks, 10 ms block timeout), $(nproc) workers, full pipeline; tcpreplay of short HTTP connections"
	echo "(average frame $avg bytes) into a veth for 4 s; ringsniff stopped from 1 s to 2 s. \"In the burst\""
	echo "is what arrived while it was stopped (measured rate x measured stop)."
	echo
	echo "| rate asked | rate achieved (pps) | stopped (s) | packets in the burst | MiB in the burst | sent | captured | kernel drops |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Reading: a worker's ring holds 256 blocks; a 256 KiB block takes ~$((262144 / (avg + 48))) frames of this size"
	echo "(frame + ~48 bytes of TPACKET_V3 header, aligned), so the $(nproc) rings hold about"
	echo "$(( $(nproc) * 256 * (262144 / (avg + 48)) )) such frames: a stop costs drops once rate x stop passes that, or"
	echo "earlier where the fanout hash gives one worker more than its share. The stop is measured, not"
	echo "assumed: on a loaded machine a 1 s sleep can last longer. At top speed the drops also include"
	echo "what the workers could not catch up with after the stop while new frames kept coming (see"
	echo "\"Live drop rate\" for the rate they sustain without a stop). Larger bursts need --ring-mb."
} >"$work/section.md"
python3 bench/results_section.py burst "$work/section.md"
cat "$work/section.md"
