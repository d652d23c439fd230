#!/usr/bin/env bash
# replay_down.sh - a replay target that is down or a black hole never stalls
# capture: ringsniff -r on a capture of ~20000 keep-alive requests (ab)
# finishes in bounded time with --replay to a port nothing listens on
# (connection refused) and to a port nftables drops (connect time-outs),
# with the same packet and HTTP counts as without --replay, failures and
# drops counted, every transaction accounted for once.
set -euo pipefail
RINGSNIFF=${1:?path to ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
. "$here/make_capture.sh"
. "$here/replay_lib.sh"
rs_need_tools tcpdump nginx ab python3 nft timeout
rs_net_up "rd$$"
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
rp_nginx_start "$work"

rs_capture_start "$work/big.pcap" tcp port 80
rs_in_cli timeout 120 ab -q -k -n 20000 -c 4 "http://$RS_IP_SRV/index.html" >/dev/null
rs_in_cli timeout 60 ab -q -n 200 -c 2 -p "$work/www/1k.txt" -T text/plain \
	"http://$RS_IP_SRV/echo?post=1" >/dev/null
rs_capture_stop

# The reference: no replay.
rs_in_cli timeout 120 "$RINGSNIFF" -q -r "$work/big.pcap" --summary-json "$work/ref.json"

# Nothing listens on 8099; 8098 is dropped by nftables (SYNs vanish).
rs_in_srv nft add table inet rprep
rs_in_srv nft add chain inet rprep in '{ type filter hook input priority 0; }'
rs_in_srv nft add rule inet rprep in tcp dport 8098 drop

fail=0
run() {  # name port
	local name=$1 port=$2 t0 t1
	t0=$(date +%s.%N)
	# A small queue so that it fills; the drain gives up after two time-outs
	# without an answer.
	rs_in_cli timeout 60 "$RINGSNIFF" -q -r "$work/big.pcap" \
		--replay "$RS_IP_SRV:$port" --replay-timeout 300 --replay-queue-mb 1 \
		--summary-json "$work/$name.json" || { echo "FAIL $name: exit $?"; fail=1; }
	t1=$(date +%s.%N)
	python3 - "$work/ref.json" "$work/$name.json" "$t0" "$t1" "$name" <<'PY' || fail=1
import json, sys
ref, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
t, name = float(sys.argv[4]) - float(sys.argv[3]), sys.argv[5]
for k in ("packets", "bytes", "tcp", "flows", "http_requests", "http_responses", "http_transactions"):
    assert s[k] == ref[k], "%s: %s %d with --replay, %d without" % (name, k, s[k], ref[k])
assert s["http_requests"] >= 20000, s["http_requests"]
print("%s: %.1f s, %d packets as without --replay; replay: %d requests, %d failed "
      "(connect %d, timeout %d), %d dropped (%d queue full), %d answered" % (
    name, t, s["packets"], s["replay_requests"], s["replay_failed"], s["replay_failed_connect"],
    s["replay_failed_timeout"], s["replay_dropped"], s["replay_dropped_queue_full"],
    sum(s["replay_%dxx" % c] for c in range(1, 6))))
# Bounded: reading, then at most a few time-outs of draining.
assert t < 20, "%s took %.1f s" % (name, t)
PY
}

run refused 8099
rp_summary "$work/refused.json" 's["replay_failed_connect"] >= 1' \
	's["replay_dropped"] > 0' 'ans == 0' 's["replay_sent"] == 0' || fail=1
run blackhole 8098
rp_summary "$work/blackhole.json" 's["replay_failed_timeout"] >= 1' \
	's["replay_dropped"] > 0' 'ans == 0' 's["replay_sent"] == 0' || fail=1
exit $fail
