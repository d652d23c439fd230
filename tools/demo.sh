#!/usr/bin/env bash
# demo.sh - set up a fresh Debian 12 machine (as root), build ringsniff and
# watch it capture live HTTP traffic: two network namespaces joined by a
# veth pair, nginx in one, curl and ab in the other, ringsniff on the
# server's veth printing its counters (stderr) and one JSON line per HTTP
# transaction (stdout).  Everything it creates is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
[ -d build ] || meson setup build -Dbuildtype=release >/dev/null
ninja -C build >/dev/null

. tests/lib/netns.sh
rs_net_up rsdemo
work=$(mktemp -d /tmp/ringsniff-demo.XXXXXX)
rs_on_exit "rm -rf $work"
rs_www_fill "$work"
rs_nginx_start "$work"

echo "== ringsniff -i $RS_IF_SRV (namespace $RS_NS_SRV), nginx at $RS_IP_SRV, clients at $RS_IP_CLI"
rs_in_srv build/tools/ringsniff -i "$RS_IF_SRV" --http-log - --stats-interval 1 \
	--duration 6 --summary-json "$work/summary.json" tcp port 80 &
sniffer=$!
rs_on_exit "kill $sniffer"
sleep 1
rs_in_cli curl -s -o /dev/null "http://$RS_IP_SRV/index.html?from=curl"
rs_in_cli curl -s -o /dev/null -A "demo-agent/1.0" -d "name=ringsniff" "http://$RS_IP_SRV/echo"
rs_in_cli curl -s -o /dev/null --compressed "http://$RS_IP_SRV/chunked/page.txt"
rs_in_cli curl -s -o /dev/null -I "http://$RS_IP_SRV/64k.bin"
rs_in_cli ab -q -k -n 20 -c 2 "http://$RS_IP_SRV/1k.txt" >/dev/null
wait "$sniffer" || true
echo "== nginx logged $(wc -l <"$work/access.log") requests; ringsniff's summary:"
cat "$work/summary.json"
