#!/usr/bin/env bash
# soak.sh - long live capture at full load: tcpreplay --topspeed --loop of a
# recorded real-traffic capture (nginx, curl, ab, between two namespaces) into
# a veth while `ringsniff -i` captures with the whole pipeline (HTTP log, flow
# log, summary; both logs rotated logrotate-style with SIGHUP every minute).
# RSS is sampled every 10 s: memory must stay flat.  A second, shorter run
# uses an ASan build, so LeakSanitizer checks that nothing leaks at exit.
# A benchmark, never a test (as root).
#
#   bench/soak.sh [RELEASE_BUILD [ASAN_BUILD [SECONDS [ASAN_SECONDS]]]]
#       defaults: build build-san 600 120; an empty ASAN_BUILD or an
#       ASAN_SECONDS of 0 skips the ASan run.
#   RECORD=1 bench/soak.sh ...   also writes the "Soak" section of
#                                bench/RESULTS.md (bench:soak markers)
#   RS_SOAK_ARGS="--ooo-mb 1"    extra ringsniff options for every run
#   RS_SOAK_TUNED="--timeout-established 60" [RS_SOAK_TUNED_SECS=300]
#                                one more release run with these options
#                                (recorded as "tuned")
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rel=${1:-$root/build}
san=${2-$root/build-san}
secs=${3:-600}
san_secs=${4:-120}
. "$root/tests/lib/netns.sh"
rs_need_root
for t in tcpreplay tcpdump nginx curl ab python3; do
	command -v $t >/dev/null || { echo "soak: $t missing" >&2; exit 1; }
done
for b in "$rel" ${san:+"$san"}; do
	[ -x "$b/tools/ringsniff" ] || { echo "soak: no $b/tools/ringsniff (build it first)" >&2; exit 1; }
done
work=$(mktemp -d /var/tmp/rs-soak.XXXXXX)
chmod 755 "$work"
rs_on_exit "rm -rf $work"
log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$work/soak.log" >&2; }

# 1. Real traffic, recorded once: small and large files, keep-alive and not,
#    POST bodies, chunked responses.
n0=${#RS_CLEANUP[@]}
rs_net_up "sk$$"
rs_www_fill "$work"
rs_nginx_start "$work"
ip netns exec "$RS_NS_SRV" tcpdump -i "$RS_IF_SRV" -s 0 -U -w "$work/traffic.pcap" \
	2>"$work/tcpdump.err" &
tcpdump_pid=$!
for ((i = 0; i < 100; i++)); do grep -q "listening on" "$work/tcpdump.err" && break; sleep 0.05; done
u="http://$RS_IP_SRV"
rs_in_cli curl -s -o /dev/null -o /dev/null -o /dev/null "$u/index.html" "$u/64k.bin" "$u/1m.bin"
rs_in_cli curl -s -o /dev/null --compressed "$u/chunked/page.txt"
rs_in_cli ab -q -k -n 3000 -c 8 "$u/1k.txt" >/dev/null
rs_in_cli ab -q -n 1000 -c 4 "$u/index.html" >/dev/null
head -c 4096 /dev/urandom >"$work/post.bin"
rs_in_cli ab -q -n 500 -c 4 -p "$work/post.bin" -T application/octet-stream "$u/echo" >/dev/null
sleep 0.5
kill -TERM $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
# Tear down the recording namespaces and nginx (registered since n0), keep $work.
for ((i = ${#RS_CLEANUP[@]} - 1; i >= n0; i--)); do
	eval "${RS_CLEANUP[i]}" >/dev/null 2>&1 || true
done
RS_CLEANUP=("${RS_CLEANUP[@]:0:n0}")
capinfo=$(capinfos -M -c -s "$work/traffic.pcap" 2>/dev/null |
	awk -F': *' '/Number of packets/ {p=$2} /File size/ {s=$2} END {print p " packets, " s}')
"$rel/tools/ringsniff" -q -r "$work/traffic.pcap" --summary-json "$work/traffic.json" \
	--flow-log "$work/traffic.flows"
reqs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_requests"])' "$work/traffic.json")
conns=$(grep -c '"proto":"tcp"' "$work/traffic.flows")
open_conns=$(grep '"proto":"tcp"' "$work/traffic.flows" | grep -vc '"end_reason":"fin"\|"end_reason":"rst"')
reqs="$reqs HTTP requests, $conns TCP connections ($open_conns not closed within the capture)"
log "capture: $capinfo, $reqs"

# 2. A silent link (no IPv6 chatter): every frame on it is tcpreplay's.
RS_NO_IPV6=1 rs_net_up "sr$$"

# soak LABEL RINGSNIFF SECONDS [OPTIONS...]: one run; writes $work/LABEL/*
# and prints a result line "LABEL key=value ...".
soak() {
	local label=$1 bin=$2 dur=$3 i
	shift 3
	local d="$work/$label"
	mkdir -p "$d"
	# shellcheck disable=SC2086  # RS_SOAK_ARGS: extra options, split on purpose
	ip netns exec "$RS_NS_SRV" "$bin" -i "$RS_IF_SRV" --stats-interval 10 ${RS_SOAK_ARGS:-} "$@" \
		--http-log "$d/http.jsonl" --flow-log "$d/flows.jsonl" \
		--summary-json "$d/summary.json" 2>"$d/stderr" &
	local pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "capturing on" "$d/stderr" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	grep -q "capturing on" "$d/stderr" || { log "$label: ringsniff did not start"; cat "$d/stderr" >&2; return 1; }
	ip netns exec "$RS_NS_CLI" tcpreplay -i "$RS_IF_CLI" --topspeed --loop 0 \
		--unique-ip --preload-pcap --duration "$dur" "$work/traffic.pcap" \
		>"$d/tcpreplay.out" 2>&1 &
	local rp=$! t0=$SECONDS next_rot=60
	: >"$d/rss.tsv"
	log "$label: ringsniff pid $pid, tcpreplay for ${dur}s"
	while kill -0 $rp 2>/dev/null; do
		sleep 10
		local el=$((SECONDS - t0))
		printf '%s\t%s\t%s\n' "$el" \
			"$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status)" \
			"$(awk '/^RssAnon:/ {print $2}' /proc/$pid/status)" >>"$d/rss.tsv"
		if [ $el -ge $next_rot ]; then
			# logrotate: move, SIGHUP (ringsniff reopens), drop the old one.
			mv "$d/http.jsonl" "$d/http.jsonl.1"; mv "$d/flows.jsonl" "$d/flows.jsonl.1"
			kill -HUP $pid
			sleep 1
			wc -l <"$d/http.jsonl.1" >>"$d/http.lines"
			rm -f "$d/http.jsonl.1" "$d/flows.jsonl.1"
			next_rot=$((next_rot + 60))
		fi
	done
	wait $rp
	sleep 1   # let the last blocks retire
	kill -TERM $pid
	wait $pid
	local rc=$?
	wc -l <"$d/http.jsonl" >>"$d/http.lines"
	python3 - "$label" "$rc" "$d" <<-'PY'
	import json, re, sys
	label, rc, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	s = json.load(open(f"{d}/summary.json"))
	rss = [tuple(map(int, l.split())) for l in open(f"{d}/rss.tsv") if l.strip()]
	out = open(f"{d}/tcpreplay.out").read()
	sent = re.search(r"Successful packets:\s+(\d+)", out)
	rate = re.search(r"Rated: [\d.]+ Bps, ([\d.]+) Mbps, ([\d.]+) pps", out)
	err = open(f"{d}/stderr").read()
	lines = sum(int(x) for x in open(f"{d}/http.lines").read().split())
	leak = "LeakSanitizer" in err or "AddressSanitizer" in err
	seen = s["packets"] + s["kernel_drops"]
	r = {
	    "exit": rc, "sent": int(sent.group(1)) if sent else -1,
	    "rate_pps": float(rate.group(2)) if rate else -1,
	    "packets": s["packets"], "kernel_drops": s["kernel_drops"],
	    "drop_pct": round(100.0 * s["kernel_drops"] / seen, 2) if seen else 0,
	    "interface_drops": s.get("interface_drops", 0),
	    "http_requests": s["http_requests"], "http_log_lines": lines,
	    "flows": s["flows"], "flows_active_at_end": s["flows_active"],
	    "rss_first_kb": rss[0][1] if rss else 0, "rss_last_kb": rss[-1][1] if rss else 0,
	    "rss_max_kb": max(x[1] for x in rss) if rss else 0,
	    "anon_first_kb": rss[0][2] if rss else 0, "anon_last_kb": rss[-1][2] if rss else 0,
	    "samples": len(rss), "sanitizer_report": leak,
	}
	json.dump(r, open(f"{d}/result.json", "w"))
	print(label, " ".join(f"{k}={v}" for k, v in r.items()))
	PY
	[ $rc = 0 ] || log "$label: ringsniff exited $rc"
	return $rc
}

fail=0
start=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git -C "$root" rev-parse --short HEAD)
soak release "$rel/tools/ringsniff" "$secs" | tee -a "$work/soak.log" || fail=1
if [ -n "$san" ] && [ "$san_secs" -gt 0 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
	export UBSAN_OPTIONS=print_stacktrace=1
	soak asan "$san/tools/ringsniff" "$san_secs" | tee -a "$work/soak.log" || fail=1
	grep -A30 "Sanitizer" "$work/asan/stderr" | head -60 >&2 || true
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi
if [ -n "${RS_SOAK_TUNED:-}" ]; then
	# shellcheck disable=SC2086
	soak tuned "$rel/tools/ringsniff" "${RS_SOAK_TUNED_SECS:-300}" $RS_SOAK_TUNED |
		tee -a "$work/soak.log" || fail=1
fi

if [ "${RECORD:-0}" = 1 ]; then
	python3 - "$work" "$root" "$start" "$rel" "$san" "$secs" "$san_secs" "$capinfo" "$reqs" \
		"${RS_SOAK_ARGS:+RS_SOAK_ARGS='$RS_SOAK_ARGS' }${RS_SOAK_TUNED:+RS_SOAK_TUNED='$RS_SOAK_TUNED' RS_SOAK_TUNED_SECS=${RS_SOAK_TUNED_SECS:-300} }bash bench/soak.sh $*" \
		"$commit" "${RS_SOAK_TUNED:-}" "${RS_SOAK_TUNED_SECS:-300}" >"$work/section" <<-'PY'
	import json, os, platform, subprocess, sys
	work, root, start, rel, san, secs, san_secs, capinfo, reqs, cmd, commit, tuned, tuned_secs = sys.argv[1:14]
	def sh(c):
	    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
	cpu = sh("grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'")
	mem = sh("free -g | awk '/^Mem:/ {print $2}'")
	runs = [(l, json.load(open(f"{work}/{l}/result.json"))) for l in ("release", "asan", "tuned")
	        if os.path.exists(f"{work}/{l}/result.json")]
	names = {"release": "release", "asan": "ASan+UBSan", "tuned": f"release, `{tuned}`"}
	durs = {"release": secs, "asan": san_secs, "tuned": tuned_secs}
	print("## Soak\n")
	print("`bench/soak.sh`: tcpreplay `--topspeed --loop 0 --unique-ip --preload-pcap` of a recorded")
	print("real-traffic capture (nginx in one namespace; curl, `ab -k`, `ab`, POSTs of 4 KiB from the")
	print("other) into a veth for the whole run, while `ringsniff -i IF --stats-interval 10 --http-log")
	print("F --flow-log F --summary-json F` (default workers: one per CPU) captures on the other end;")
	print("both logs are rotated every minute (mv, SIGHUP, rm). RSS sampled every 10 s from")
	print("/proc/PID/status. The ASan run uses a `-Db_sanitize=address,undefined` debug build with")
	print("`ASAN_OPTIONS=detect_leaks=1`: LeakSanitizer reports any leak at exit.\n")
	print(f"- Date: {start}. Commit: {commit}.")
	print(f"- Machine: {os.cpu_count()} vCPU \"{cpu}\", {mem} GB RAM, Linux {platform.release()};")
	print(f"  load average at the end: {' '.join(open('/proc/loadavg').read().split()[:3])} (shared VM).")
	print(f"- Capture: {capinfo}, {reqs}; replayed in a loop with new addresses each time.")
	print(f"- Command: `{cmd}` (release build `{rel}`, ASan build `{san}`; {secs} s and {san_secs} s).\n")
	print("| run | seconds | replayed pkts (pps) | captured | kernel drops | HTTP requests (log lines) | flows (open at end) | RSS first / last / max MiB | anon first / last MiB | exit | leaks |")
	print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for label, r in runs:
	    dur = durs[label]
	    mib = lambda k: f"{r[k] / 1024:.0f}"
	    print(f"| {names[label]} | {dur} | {r['sent']:,} ({r['rate_pps']:,.0f}) | {r['packets']:,} | "
	          f"{r['kernel_drops']:,} ({r['drop_pct']}%) | {r['http_requests']:,} ({r['http_log_lines']:,}) | "
	          f"{r['flows']:,} ({r['flows_active_at_end']}) | {mib('rss_first_kb')} / {mib('rss_last_kb')} / "
	          f"{mib('rss_max_kb')} | {mib('anon_first_kb')} / {mib('anon_last_kb')} | {r['exit']} | "
	          f"{'REPORTED' if r['sanitizer_report'] else 'none'} |")
	print()
	for label, _ in runs:
	    rows = [l.split() for l in open(f"{work}/{label}/rss.tsv") if l.strip()]
	    pts = ", ".join(f"{int(t)}s {int(v) // 1024}/{int(a) // 1024}"
	                    for t, v, a in rows[::6] + ([rows[-1]] if (len(rows) - 1) % 6 else []))
	    print(f"RSS/anon MiB over time ({names[label]}, every 60 s): {pts}.\n")
	for label, _ in runs:
	    rows = [list(map(int, l.split())) for l in open(f"{work}/{label}/rss.tsv") if l.strip()]
	    m = next((r for r in rows if r[0] >= 60), None)
	    if m and rows[-1][0] > m[0]:
	        print(f"{names[label]}: anon {m[2] // 1024} MiB at {m[0]} s, {rows[-1][2] // 1024} MiB at "
	              f"{rows[-1][0]} s ({(rows[-1][2] - m[2]) / 1024:+.0f} MiB in "
	              f"{(rows[-1][0] - m[0]) / 60:.0f} min after the first minute).\n")
	print("What the columns hold: VmRSS includes the rings (one 64 MiB ring per worker, all")
	print("touched within seconds at this rate); anon is the flow table (capped by --max-flows,")
	print("~350 B a flow; closed flows stay --timeout-closed, 60 s), the HTTP state of open")
	print("connections (~16 KiB each; given back when a connection ends), buffered out-of-order")
	print("bytes (capped by --ooo-mb) and the allocator's free space. Connections that never")
	print("close within the capture stay open in every loop, as idle established flows, until")
	print("--timeout-established (600 s by default) or eviction ends them. Kernel drops are the")
	print("ring being full while tcpreplay runs at top speed on the same 2 vCPUs. The ASan run's")
	print("RSS is mostly ASan's quarantine (256 MiB by default) and shadow; its `leaks` column is")
	print("what LeakSanitizer reported at exit.")
	PY
	python3 "$root/bench/results_section.py" soak "$work/section" "$root/bench/RESULTS.md"
	log "recorded in bench/RESULTS.md (bench:soak)"
fi
cp "$work/soak.log" "${SOAK_LOG:-/tmp/rs-soak-last.log}" 2>/dev/null || true
exit $fail
