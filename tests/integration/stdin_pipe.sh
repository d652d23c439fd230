#!/usr/bin/env bash
# stdin_pipe.sh - `tcpdump -U -w - | ringsniff -r -`: the capture is decoded
# as it arrives, so requests are logged while tcpdump still runs (before the
# pipe ends), and when tcpdump stops ringsniff has every request nginx
# served and every packet tcpdump captured.
set -euo pipefail
RINGSNIFF=${1:?ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
rs_need_tools tcpdump curl ab
RS_NO_IPV6=1 rs_net_up "rp$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
u="http://$RS_IP_SRV"
wait_lines() {  # file n: until file has >= n lines (10 s deadline)
	for ((i = 0; i < 200; i++)); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "FAIL: $1 has $(wc -l <"$1" 2>/dev/null || echo 0) lines, want $2 (while tcpdump runs)"
	return 1
}
fail=0

# -U: tcpdump writes each packet as it comes (else its stdio buffer holds
# them); --immediate-mode: nothing left in its ring when it is stopped.
( ip netns exec "$RS_NS_SRV" tcpdump -i "$RS_IF_SRV" -s 0 -U --immediate-mode -w - \
	2>"$work/tcpdump.err" |
	"$RINGSNIFF" -r - --stats-interval 0 --http-log "$work/http.jsonl" \
		--summary-json "$work/sum.json" 2>"$work/rs.err" ) &
pipeline=$!
rs_on_exit "pkill -f 'tcpdump -i $RS_IF_SRV' ; kill $pipeline"
for ((i = 0; i < 100; i++)); do grep -q "listening on" "$work/tcpdump.err" 2>/dev/null && break; sleep 0.05; done

# First batch: ringsniff must log these while the pipe is still open.
for i in 1 2 3 4 5; do rs_in_cli curl -s -o /dev/null "$u/1k.txt?$i"; done
wait_lines "$work/http.jsonl" 5 || fail=1
pgrep -f "tcpdump -i $RS_IF_SRV" >/dev/null ||
	{ echo "FAIL: tcpdump is gone: not a test of a live pipe"; fail=1; }

# Second batch, then stop tcpdump: the pipe ends, ringsniff finishes.
rs_in_cli ab -q -k -n 200 -c 4 "$u/1k.txt" >/dev/null
rs_in_cli curl -s -o /dev/null "$u/1m.bin"
sleep 0.5
pkill -INT -f "tcpdump -i $RS_IF_SRV" || true
rc=0
wait $pipeline || rc=$?
[ $rc = 0 ] || { echo "FAIL: pipeline exit status $rc"; cat "$work/rs.err"; fail=1; }
captured=$(awk '/packets captured/ {print $1}' "$work/tcpdump.err")
python3 - "$work/sum.json" "$captured" "$(wc -l <"$work/access.log")" "$work/http.jsonl" <<'PY' || fail=1
import json, sys
s, captured, served = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
logged = sum(1 for _ in open(sys.argv[4]))
errs = []
if s["packets"] != captured:
    errs.append(f"ringsniff read {s['packets']} packets, tcpdump captured {captured}")
if s["http_requests"] != served or logged != served:
    errs.append(f"http_requests {s['http_requests']}, logged {logged}, nginx served {served}")
if served != 206:
    errs.append(f"nginx served {served}, the test sent 206")
for e in errs:
    print("FAIL", e)
print(f"pipe: {s['packets']} packets, tcpdump {captured}; {s['http_requests']} requests, nginx {served}")
sys.exit(1 if errs else 0)
PY
exit $fail
