#!/usr/bin/env bash
# watch_write.sh - the seed's workflow, done by ringsniff:
#  1. a real `tcpdump -C 1 -W 3` writes rotating files while traffic flows;
#     `ringsniff --watch` follows them and counts exactly the packets
#     tcpdump says it captured, and logs every request nginx served;
#  2. live `ringsniff -w -C 1` rotates like tcpdump (names, sizes) and the
#     files, read back by tcpdump, hold exactly the packets it counted;
#     with -W 3 the names wrap as tcpdump's do.
set -euo pipefail
RINGSNIFF=${1:?ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
RS_NO_IPV6=1 rs_net_up "rw$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
u="http://$RS_IP_SRV"
mkdir -p "$work/cap" "$work/out" "$work/wrap"
traffic() {
	for i in 1 2 3 4 5 6; do rs_in_cli curl -s -o /dev/null "$u/1m.bin?$i"; done
	rs_in_cli ab -q -k -n 100 -c 2 "$u/1k.txt" >/dev/null
}
wait_for() {  # file pattern
	for ((i = 0; i < 100; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "timed out waiting for '$2' in $1"; cat "$1"; return 1
}
fail=0

# 1. --watch behind a rotating tcpdump.
"$RINGSNIFF" --watch "$work/cap" --stats-interval 0 --summary-json "$work/watch.json" \
	--http-log "$work/watch.http" 2>"$work/watch.err" &
watcher=$!
rs_on_exit "kill $watcher"
wait_for "$work/watch.err" "watching"
# -Z root: tcpdump would otherwise switch users and fail to create file 2.
# --immediate-mode: without it tcpdump drops what still sits in its ring when
# it is stopped ("received by filter" > "captured"), and the files would
# miss requests that nginx served.  No -U: records cut at a file's growing
# end are part of what --watch must handle.
ip netns exec "$RS_NS_SRV" tcpdump -i "$RS_IF_SRV" -s 0 -C 1 -W 3 -Z root --immediate-mode \
	-w "$work/cap/x.pcap" 2>"$work/tcpdump.err" &
td=$!
wait_for "$work/tcpdump.err" "listening on"
traffic
sleep 0.5
kill -TERM $td; wait $td || true
captured=$(awk '/packets captured/ {print $1}' "$work/tcpdump.err")
sleep 1.5   # let the watcher read the last file to its end
kill -TERM $watcher; wait $watcher
python3 - "$work/watch.json" "$captured" "$(wc -l <"$work/access.log")" <<'PY' || fail=1
import json, sys
s, captured, served = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
errs = []
if s["packets"] != captured:
    errs.append(f"--watch counted {s['packets']} packets, tcpdump captured {captured}")
if s["watch_files"] < 4:
    errs.append(f"only {s['watch_files']} files: no wrap-around exercised")
if s["watch_overwritten"] or s["watch_bad_files"] or s["watch_lost_files"]:
    errs.append(f"files lost/overwritten/bad: {s['watch_lost_files']}/{s['watch_overwritten']}/{s['watch_bad_files']}")
if s["http_requests"] != served:
    errs.append(f"http_requests {s['http_requests']}, nginx served {served}")
print(f"watch: {s['packets']} packets in {s['watch_files']} files, tcpdump {captured}; "
      f"{s['http_requests']} requests, nginx {served}")
for e in errs: print("FAIL", e)
sys.exit(1 if errs else 0)
PY

# 2. live -w with rotation, read back by tcpdump.
for mode in grow wrap; do
	if [ $mode = grow ]; then opts=(-w "$work/out/r.pcap" -C 1); else opts=(-w "$work/wrap/r.pcap" -C 1 -W 3); fi
	ip netns exec "$RS_NS_SRV" "$RINGSNIFF" -i "$RS_IF_SRV" -T 2 --stats-interval 0 \
		--summary-json "$work/$mode.json" "${opts[@]}" 2>"$work/$mode.err" &
	pid=$!
	wait_for "$work/$mode.err" "capturing on"
	traffic
	sleep 0.3
	kill -TERM $pid; wait $pid
done
python3 - "$work" <<'PY' || fail=1
import json, os, re, subprocess, sys
work = sys.argv[1]
errs = []
def count(path):
    out = subprocess.run(["tcpdump", "-r", path, "--count"], capture_output=True, text=True)
    m = re.search(r"(\d+) packets?", out.stdout + out.stderr)
    return int(m.group(1)) if m else -1
s = json.load(open(f"{work}/grow.json"))
names = sorted(os.listdir(f"{work}/out"), key=lambda n: int(n[6:] or 0))
want = ["r.pcap"] + [f"r.pcap{i}" for i in range(1, len(names))]
if names != want:
    errs.append(f"-C names {names}, want {want}")
total = sum(count(f"{work}/out/{n}") for n in names)
if total != s["packets"] or s["pcap_packets"] != s["packets"]:
    errs.append(f"files hold {total} packets, ringsniff counted {s['packets']} (wrote {s['pcap_packets']})")
for n in names[:-1]:
    size = os.path.getsize(f"{work}/out/{n}")
    if not 1000000 < size <= 1000000 + 65536 + 16:
        errs.append(f"{n}: {size} bytes, not just past 1,000,000")
if len(names) < 3:
    errs.append(f"only {len(names)} files")
w = sorted(os.listdir(f"{work}/wrap"))
if w != ["r.pcap0", "r.pcap1", "r.pcap2"]:
    errs.append(f"-W 3 names {w}")
sw = json.load(open(f"{work}/wrap.json"))
if sw["pcap_files"] <= 3:
    errs.append(f"-W 3 opened {sw['pcap_files']} files: no wrap-around")
print(f"-w: {len(names)} files, {total} packets, ringsniff {s['packets']}; -W 3: {sw['pcap_files']} files opened")
for e in errs: print("FAIL", e)
sys.exit(1 if errs else 0)
PY
exit $fail
