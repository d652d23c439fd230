# http_traffic.sh - the HTTP mix the tests and benchmarks compare against
# nginx's access log.  Source after netns.sh; needs rs_net_up and
# rs_nginx_start/rs_www_fill done, and $work (a scratch dir).
#   rs_http_mix [WRK_SECONDS]
# GET, HEAD, POST (small, 20 KB, chunked request body), chunked responses,
# a 404, a non-UTF-8 User-Agent, keep-alive (ab -k), POSTs (ab -p), wrk for
# WRK_SECONDS (default 1; 0 = no wrk) and 12 pipelined requests.

RS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

rs_http_mix() {
	local secs=${1:-1} u="http://$RS_IP_SRV"
	[ -s "$work/body.txt" ] || head -c 20000 /dev/urandom | base64 >"$work/body.txt"
	rs_in_cli curl -s -o /dev/null -o /dev/null -o /dev/null \
		"$u/index.html" "$u/1k.txt?a=1&b=%20x" "$u/64k.bin"
	rs_in_cli curl -s -o /dev/null -I "$u/1k.txt"
	rs_in_cli curl -s -o /dev/null -d "field=value&other=1" "$u/echo"
	rs_in_cli curl -s -o /dev/null --data-binary "@$work/body.txt" "$u/echo?big=1"
	rs_in_cli curl -s -o /dev/null -H "Transfer-Encoding: chunked" \
		--data-binary "@$work/body.txt" "$u/echo?chunked-request=1"
	rs_in_cli curl -s -o /dev/null --compressed "$u/chunked/page.txt"
	rs_in_cli curl -s -o /dev/null "$u/missing-page"
	rs_in_cli curl -s -o /dev/null -A $'odd-agent \xff\xfe "quoted"' "$u/index.html?ua=odd"
	rs_in_cli ab -q -k -n 150 -c 3 "$u/1k.txt" >/dev/null
	rs_in_cli ab -q -n 30 -c 2 -p "$work/body.txt" -T text/plain "$u/echo?ab=post" >/dev/null
	rs_in_cli ab -q -k -i -n 20 -c 1 "$u/64k.bin" >/dev/null
	if [ "$secs" != 0 ]; then
		rs_in_cli wrk -t1 -c4 -d"${secs}s" "$u/index.html?wrk=1" >/dev/null
	fi
	local got
	got=$(rs_in_cli python3 "$RS_LIB_DIR/pipeline_client.py" "$RS_IP_SRV" 80 12)
	[ "$got" = 12 ] || echo "warning: pipelining client got $got responses" >&2
}

# Random loss of PCT% of each side's outgoing TCP packets (nftables in both
# namespaces), so TCP really retransmits; the capture on the server's veth
# then holds the retransmissions that repaired the streams.
rs_tcp_loss() {
	local pct=${1:?percent} ns
	for ns in "$RS_NS_SRV" "$RS_NS_CLI"; do
		ip netns exec "$ns" nft delete table inet rsloss 2>/dev/null || true
		ip netns exec "$ns" nft add table inet rsloss
		ip netns exec "$ns" nft add chain inet rsloss out '{ type filter hook output priority 0; }'
		ip netns exec "$ns" nft add rule inet rsloss out meta l4proto tcp numgen random mod 100 '<' "$pct" drop
	done
}
