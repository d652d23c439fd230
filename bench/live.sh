#!/usr/bin/env bash
# live.sh - live drop rate: a capture of real traffic is replayed with
# tcpreplay from one namespace into a veth at fixed rates and at top speed,
# while one tool at a time captures on the receiving end in the other
# namespace.  One TSV row per run in $BENCH_TMP/results/live.tsv.
#
#   BENCH_TMP=DIR RINGSNIFF=BIN bench/live.sh CAPTURE...
#
# Environment: BENCH_RUNS (3), BENCH_RATES ("50000 100000 200000 top"),
# BENCH_LIVE_TOOLS (the first six below), BENCH_TOP_EXTRA (the last two, run
# at top speed only, to see what limits ringsniff), BENCH_LIVE_SECS (10 s).
#   ringsniff    -i IF, default workers (online CPUs), HTTP and flow logs to files
#   tcpdump      tcpdump -i IF -w /dev/null (default 2 MiB buffer)
#   tcpdump-B    the same with -B 262144 (256 MiB)
#   netsniff-ng  netsniff-ng --in IF --out /dev/null --silent
#   tshark       tshark -i IF -Y http.request -T fields -e ... (HTTP extraction)
#   seed         bench/seed_sniffer.py -i IF (AF_PACKET socket + dpkt)
#   ringsniff-T1     ringsniff with one worker
#   ringsniff-nolog  ringsniff without HTTP and flow logs (still parsing)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$BENCH_ROOT/tests/lib/netns.sh"
: "${BENCH_TMP:?}" "${RINGSNIFF:?}"
runs=${BENCH_RUNS:-3}
rates=${BENCH_RATES:-50000 100000 200000 top}
tools=${BENCH_LIVE_TOOLS:-ringsniff tcpdump tcpdump-B netsniff-ng tshark seed}
top_extra=${BENCH_TOP_EXTRA-ringsniff-T1 ringsniff-nolog}
secs=${BENCH_LIVE_SECS:-10}
caps=("$@")
[ ${#caps[@]} -gt 0 ] || bench_die "usage: live.sh CAPTURE.pcap..."
for t in tcpreplay tcpdump netsniff-ng tshark capinfos; do
	command -v "$t" >/dev/null || bench_die "$t missing"
done
w=$BENCH_TMP/live
res=$BENCH_TMP/results
mkdir -p "$w/tmp" "$res"
tsv=$res/live.tsv
[ -s "$tsv" ] || printf 'capture\trate\trun\ttool\tactual_pps\tsend_s\toffered\tarrived\treceived\tkernel_drops\thttp_found\tcpu_s\tmaxrss_kb\tstatus\n' >"$tsv"

RS_NO_IPV6=1 rs_net_up "rbl$$"
# No ARP either: every frame that arrives on the link is tcpreplay's.
ip -n "$RS_NS_SRV" link set "$RS_IF_SRV" arp off
ip -n "$RS_NS_CLI" link set "$RS_IF_CLI" arp off
sleep 1
rx_a=$(bench_ifstat "$RS_NS_SRV" "$RS_IF_SRV" rx_packets)
sleep 1
rx_b=$(bench_ifstat "$RS_NS_SRV" "$RS_IF_SRV" rx_packets)
[ "$rx_a" = "$rx_b" ] || bench_log "WARNING: the bench link is not silent ($((rx_b - rx_a)) frames/s)"

# Sets cmd (the tool's command line), ready_re / ready_f (what it prints
# once its socket is open, and where) and grace (seconds it gets to exit
# after SIGTERM; tshark, far behind, is then killed: what it printed counts).
tool_setup() {  # TOOL PREFIX
	local d=$2
	grace=${BENCH_GRACE:-5}
	ready_f=$d.err
	case $1 in
	ringsniff)
		cmd=("$RINGSNIFF" -i "$RS_IF_SRV" --stats-interval 0
			--http-log "$d.http.jsonl" --flow-log "$d.flow.jsonl"
			--summary-json "$d.json")
		ready_re='capturing on' ;;
	ringsniff-T1)
		cmd=("$RINGSNIFF" -i "$RS_IF_SRV" -T 1 --stats-interval 0
			--http-log "$d.http.jsonl" --flow-log "$d.flow.jsonl"
			--summary-json "$d.json")
		ready_re='capturing on' ;;
	ringsniff-nolog)
		cmd=("$RINGSNIFF" -i "$RS_IF_SRV" --stats-interval 0
			--summary-json "$d.json")
		ready_re='capturing on' ;;
	tcpdump)
		cmd=(tcpdump -i "$RS_IF_SRV" -w /dev/null)
		ready_re='listening on' ;;
	tcpdump-B)
		cmd=(tcpdump -i "$RS_IF_SRV" -B 262144 -w /dev/null)
		ready_re='listening on' ;;
	netsniff-ng)
		cmd=(netsniff-ng --in "$RS_IF_SRV" --out /dev/null --silent)
		ready_re='Running!'
		ready_f=$d.out ;;
	tshark)
		# dumpcap's temporary file goes to TMPDIR: ours, removed with it.
		cmd=(env TMPDIR="$w/tmp" tshark -i "$RS_IF_SRV" -Y http.request
			-T fields -e http.request.method -e http.request.uri)
		ready_re='Capturing on' ;;
	seed)
		cmd=("$BENCH_PY" "$here/seed_sniffer.py" -i "$RS_IF_SRV"
			--stats-json "$d.json")
		ready_re='listening on'
		# It parses a client's buffer when the client sends a segment
		# without payload; wrk's keep-alive clients seldom do, so most
		# requests are parsed at exit: let it finish (bounded work).
		grace=${BENCH_SEED_GRACE:-60} ;;
	*) bench_die "unknown live tool $1" ;;
	esac
}

rate_name() { [ "$1" = top ] && echo "top speed" || echo "$1 pps"; }

json_key() {  # FILE KEY
	"$BENCH_PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2" 2>/dev/null || true
}

run_one() {  # CAPTURE RATE RUN TOOL
	local cap=$1 rate=$2 run=$3 tool=$4 name
	name=$(basename "$cap" .pcap)
	local d=$w/$name-$rate-$tool-$run
	rm -f "$d".*
	tool_setup "$tool" "$d"
	bench_cmd_note live "$tool" ip netns exec "$RS_NS_SRV" "${cmd[@]}"
	ip netns exec "$RS_NS_SRV" /usr/bin/time -o "$d.time" -f '%e %U %S %M' \
		"${cmd[@]}" >"$d.out" 2>"$d.err" &
	local tp=$! status=ok pid cpu0
	if ! bench_wait_for "$ready_re" "$ready_f" 30 "$tp"; then
		bench_log "$tool did not start: $(tail -2 "$d.err")"
		bench_stop "$tp" 2 KILL >/dev/null
		wait "$tp" 2>/dev/null || true
		printf '%s\t%s\t%s\t%s\t\t\t\t\t\t\t\t\t\tnostart\n' "$name" "$rate" "$run" "$tool" >>"$tsv"
		return 0
	fi
	sleep 0.3
	pid=$(cat /proc/"$tp"/task/*/children 2>/dev/null | awk '{print $1; exit}')
	cpu0=$(bench_cpu_s "$pid")
	local ropt=(--pps="$rate")
	[ "$rate" = top ] && ropt=(--topspeed)
	local rx0 rx1
	local gen=(ip netns exec "$RS_NS_CLI" tcpreplay -i "$RS_IF_CLI" --preload-pcap
		--loop 0 --duration "$secs" --unique-ip "${ropt[@]}" "$cap")
	bench_cmd_note live "tcpreplay, $(rate_name "$rate")" "${gen[@]}"
	rx0=$(bench_ifstat "$RS_NS_SRV" "$RS_IF_SRV" rx_packets)
	"${gen[@]}" >"$d.replay" 2>&1 || status=replayfail
	rx1=$(bench_ifstat "$RS_NS_SRV" "$RS_IF_SRV" rx_packets)
	sleep 1   # ring blocks retire, sockets drain
	[ "$(bench_stop "$pid" "$grace")" = killed ] && status=killed
	bench_reap "$tp" 10

	local offered pps sent_s arrived=$((rx1 - rx0)) received='' kd='' found='' t cpu rss
	offered=$(awk '/Successful packets:/ {print $3}' "$d.replay")
	pps=$(awk '/^Rated:/ {print $(NF-1)}' "$d.replay")
	sent_s=$(awk '/^Actual:/ {for (i = 1; i < NF; i++) if ($i == "in") print $(i+1)}' "$d.replay")
	case $tool in
	ringsniff*)
		received=$(json_key "$d.json" packets)
		kd=$(json_key "$d.json" kernel_drops)
		found=$(json_key "$d.json" http_requests)
		rm -f "$d.http.jsonl" "$d.flow.jsonl" ;;
	tcpdump*)
		received=$(awk '/packets captured/ {print $1}' "$d.err")
		kd=$(awk '/dropped by kernel/ {print $1}' "$d.err") ;;
	netsniff-ng)
		received=$(awk '/packets passed filter/ {gsub(/\r/, ""); print $1}' "$d.out")
		kd=$(awk '/failed filter/ {gsub(/\r/, ""); print $1}' "$d.out") ;;
	tshark)
		found=$(wc -l <"$d.out")
		local tmpf
		tmpf=$(grep -o '/[^"]*wireshark_[^"]*' "$d.err" | head -1 || true)
		if [ "$status" = killed ] && [ -n "$tmpf" ] && [ -f "$tmpf" ]; then
			# Still working through its backlog: what dumpcap captured is
			# in its file; the drop count it would print is lost.
			received=$(capinfos -T -r -M -c "$tmpf" 2>/dev/null | cut -f2)
		elif [ "$status" = ok ]; then
			kd=$(awk '/packets dropped from/ {s += $1} END {print s + 0}' "$d.err")
			received=$((arrived - kd))
		fi
		rm -f "$w"/tmp/wireshark_* ;;
	seed)
		received=$(json_key "$d.json" received)
		kd=$(json_key "$d.json" kernel_drops)
		found=$(json_key "$d.json" http_requests) ;;
	esac
	t=$(tail -1 "$d.time")
	cpu=$(awk -v c0="$cpu0" '{printf "%.3f", $2 + $3 - c0}' <<<"$t")
	rss=$(awk '{print $4}' <<<"$t")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rate" "$run" \
		"$tool" "$pps" "$sent_s" "$offered" "$arrived" "$received" "$kd" "$found" \
		"$cpu" "$rss" "$status" >>"$tsv"
	bench_log "live $name $rate run $run $tool: offered $offered at $pps pps, arrived $arrived, received ${received:-?}, kernel drops ${kd:-?}, http ${found:--}, cpu ${cpu}s ($status)"
}

for ((r = 1; r <= runs; r++)); do
	for cap in "${caps[@]}"; do
		for rate in $rates; do
			extra=''
			[ "$rate" = top ] && extra=$top_extra
			for tool in $tools $extra; do
				run_one "$cap" "$rate" "$r" "$tool"
			done
		done
	done
done
