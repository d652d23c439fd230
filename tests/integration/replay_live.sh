#!/usr/bin/env bash
# replay_live.sh - ringsniff -i on the server's veth, --replay to the same
# nginx on port 8080, while real clients (curl, ab, python http.client) talk
# to port 80: after SIGTERM (flows flushed, queue drained) nginx's log of
# port 8080 holds exactly the requests of port 80 (method, URI, status,
# body), minus the one body over --replay-body-kb, each client connection's
# requests in order on one connection.  Run with one and with two workers.
set -euo pipefail
RINGSNIFF=${1:?path to ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/replay_lib.sh"
rs_need_tools nginx curl ab python3 timeout
rs_net_up "rv$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rp_nginx_start "$work"

fail=0
live() {  # name threads
	local name=$1 threads=$2 pid i
	: >"$work/orig.log"
	: >"$work/replay.log"
	# In the server's namespace the target is local: the replayed requests
	# never cross the captured veth (and the filter keeps port 80 only).
	# Started directly (not through a shell function) so $! is ringsniff's
	# timeout, which passes SIGTERM on and waits for it.
	ip netns exec "$RS_NS_SRV" timeout 120 "$RINGSNIFF" -i "$RS_IF_SRV" -T "$threads" \
		--stats-interval 0 --replay "$RS_IP_SRV:8080" \
		--summary-json "$work/$name.json" tcp port 80 2>"$work/$name.err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "capturing on" "$work/$name.err" && break
		sleep 0.05
	done
	rp_traffic "$work"
	sleep 0.5   # the last blocks retire (block timeout)
	kill -TERM $pid
	wait $pid || { echo "FAIL $name: ringsniff exit $?"; cat "$work/$name.err"; fail=1; }
	sleep 0.3
	echo "== $name: $(grep -m1 'replay to' "$work/$name.err" || true)"
	rp_compare "$work" || fail=1
	rp_order "$work" || fail=1
	rp_summary "$work/$name.json" 's["replay_failed"] == 0' 's["replay_dropped"] == 0' \
		's["replay_skipped"] == 1' 's["replay_sent"] == ans' \
		's["kernel_drops"] == 0' || fail=1
}

live one 1
live two 2
exit $fail
