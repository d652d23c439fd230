#!/usr/bin/env bash
# capture.sh - record the benchmark's real traffic: nginx in one namespace,
# wrk and ab in the other, tcpdump on the server's veth (offloads off, so
# every frame is one that could cross a wire).
#
#   bench/capture.sh OUTDIR SMALL_MB MIXED_MB
#
# OUTDIR/small.pcap  (a) small keep-alive GETs: wrk, 32 connections, 4 s
#                    passes until the file holds SMALL_MB (at most 10 passes)
# OUTDIR/mixed.pcap  (b) mixed sizes (35 B .. 1 MiB), POST bodies, chunked
#                    responses over keep-alive (wrk + bench/mixed.lua, 3 s
#                    passes until MIXED_MB), then one connection per
#                    request: ab POSTs and ab GETs
# (Sizes, not durations: how many requests wrk makes in a second depends on
# what else this machine is doing, and ringsniff must read for >= 1 s.)
# OUTDIR/NAME.reqframes  frame number of every HTTP request (tshark), the
#                    oracle for "requests found"
# OUTDIR/captures.txt    what ran, tcpdump's own drop count, sizes
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$BENCH_ROOT/tests/lib/netns.sh"
out=${1:?outdir} small_mb=${2:?small MB} mixed_mb=${3:?mixed MB}
for t in tcpdump nginx wrk ab tshark capinfos; do
	command -v "$t" >/dev/null || bench_die "$t missing"
done
mkdir -p "$out"
: >"$out/captures.txt"

rs_net_up "rbc$$"
www=$out/nginx
rs_www_fill "$www"
head -c 4096 /dev/urandom | base64 -w 76 >"$www/www/4k.txt"
head -c 4096 /dev/urandom >"$out/post4k.bin"
rs_nginx_start "$www"
srv=http://$RS_IP_SRV

cap_start() {  # NAME
	# -B 256 MiB: the recording itself must not drop (checked below).
	ip netns exec "$RS_NS_SRV" tcpdump -i "$RS_IF_SRV" -Z root -s 0 -B 262144 \
		-w "$out/$1.pcap" 2>"$out/$1.tcpdump.log" &
	cap_pid=$!
	bench_wait_for "listening on" "$out/$1.tcpdump.log" 10 "$cap_pid" ||
		bench_die "tcpdump did not start: $(cat "$out/$1.tcpdump.log")"
}

cap_stop() {  # NAME
	sleep 0.5
	kill -TERM "$cap_pid" 2>/dev/null || true
	bench_reap "$cap_pid" 30
	local drops
	drops=$(awk '/dropped by kernel/ {print $1}' "$out/$1.tcpdump.log")
	read -r pk by < <(bench_capinfo "$out/$1.pcap")
	echo "$1: $pk packets, $by bytes; tcpdump dropped ${drops:-?} while recording" \
		>>"$out/captures.txt"
	[ "${drops:-1}" = 0 ] || bench_log "WARNING: the $1 recording dropped $drops frames"
}

client() {  # command... (logged, run in the client namespace)
	echo "  client: $*" >>"$out/captures.txt"
	rs_in_cli "$@" >"$out/client.log" 2>&1 || bench_die "client failed: $* ($(tail -3 "$out/client.log"))"
	grep -E 'requests in|Requests per second|Complete requests|Failed requests|Non-2xx' \
		"$out/client.log" | sed 's/^/    /' >>"$out/captures.txt" || true
}

ua=(-H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) ringsniff-bench/1"
	-H "Accept: text/html,application/xhtml+xml,*/*;q=0.8"
	-H "Accept-Language: en-US,en;q=0.5")

until_size() {  # NAME MB command...: passes of command until NAME.pcap holds MB
	local f=$out/$1.pcap min=$(($2 * 1000000)) i
	shift 2
	for ((i = 1; i <= 10; i++)); do
		client "$@"
		(($(stat -c %s "$f") >= min)) && return 0
	done
	bench_log "WARNING: $f is still under $((min / 1000000)) MB after 10 passes"
}

bench_log "capture (a) small keep-alive GETs: wrk until ${small_mb} MB"
cap_start small
until_size small "$small_mb" wrk -t 2 -c 32 -d 4s "${ua[@]}" "$srv/index.html"
cap_stop small

bench_log "capture (b) mixed sizes and POSTs: wrk until ${mixed_mb} MB, then ab"
cap_start mixed
until_size mixed "$mixed_mb" wrk -t 2 -c 16 -d 3s "${ua[@]}" -s "$here/mixed.lua" "$srv/"
client ab -q -n 2000 -c 8 -p "$out/post4k.bin" -T application/octet-stream "$srv/echo"
client ab -q -n 2000 -c 8 -H "Accept-Encoding: identity" "$srv/1k.txt"
cap_stop mixed

rs_cleanup
trap - EXIT INT TERM

# The oracle: which frames hold an HTTP request (tshark's reassembly).  The
# two files are counted at once: nothing is being measured yet.
bench_log "counting HTTP requests with tshark (the oracle)"
pids=()
for n in small mixed; do
	tshark -r "$out/$n.pcap" -Y http.request -T fields -e frame.number \
		>"$out/$n.reqframes" 2>/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || bench_die "tshark failed counting requests"
done
for n in small mixed; do
	echo "$n: $(wc -l <"$out/$n.reqframes") HTTP requests (tshark -r -Y http.request)" \
		>>"$out/captures.txt"
done
cat "$out/captures.txt" >&2
