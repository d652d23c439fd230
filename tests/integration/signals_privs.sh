#!/usr/bin/env bash
# signals_privs.sh - live capture as --user nobody: after set-up the process
# runs as nobody with no capabilities and still captures; SIGHUP reopens the
# HTTP log (logrotate-style: the old file keeps what came before); SIGTERM
# flushes the logs and writes the summary.
set -euo pipefail
RINGSNIFF=${1:?ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
rs_net_up "rp$$"
work=$(mktemp -d)
chmod 755 "$work"
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"
# As in a real deployment, the log directory belongs to the service user, so
# it can create the new file at SIGHUP.
mkdir "$work/logs"
chown nobody "$work/logs"
u="http://$RS_IP_SRV"

ip netns exec "$RS_NS_SRV" "$RINGSNIFF" -i "$RS_IF_SRV" -T 2 --user nobody \
	--stats-interval 0 --http-log "$work/logs/http.log" --summary-json "$work/sum.json" \
	tcp port 80 2>"$work/err" &
pid=$!
rs_on_exit "kill $pid"
for ((i = 0; i < 100; i++)); do grep -q "capturing on" "$work/err" && break; sleep 0.05; done
fail=0
uid=$(awk '/^Uid:/ {print $2}' /proc/$pid/status)
capeff=$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)
[ "$uid" = "$(id -u nobody)" ] || { echo "FAIL: runs as uid $uid, not nobody"; fail=1; }
[ "$capeff" = 0000000000000000 ] || { echo "FAIL: capabilities left: $capeff"; fail=1; }

for i in 1 2 3; do rs_in_cli curl -s -o /dev/null "$u/index.html?before=$i"; done
sleep 0.5
mv "$work/logs/http.log" "$work/logs/http.log.1"
kill -HUP $pid
sleep 0.5
for i in 1 2; do rs_in_cli curl -s -o /dev/null "$u/index.html?after=$i"; done
sleep 0.5
kill -TERM $pid
wait $pid || { echo "FAIL: exit status $?"; fail=1; }

before=$(grep -c '"uri":"/index.html?before=' "$work/logs/http.log.1" || true)
after=$(grep -c '"uri":"/index.html?after=' "$work/logs/http.log" || true)
misplaced=$(grep -c 'after=' "$work/logs/http.log.1" || true)
echo "rotated log: $before before-requests; new log: $after after-requests"
[ "$before" = 3 ] || { echo "FAIL: rotated log holds $before of 3"; fail=1; }
[ "$after" = 2 ] || { echo "FAIL: new log holds $after of 2"; fail=1; }
[ "$misplaced" = 0 ] || { echo "FAIL: later requests in the rotated log"; fail=1; }
python3 - "$work/sum.json" <<'PY' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))
assert s["http_requests"] == 5, s["http_requests"]
assert s["kernel_drops"] == 0, s["kernel_drops"]
PY
grep -q "packets" "$work/err" || { echo "FAIL: no final summary on stderr"; fail=1; }
exit $fail
