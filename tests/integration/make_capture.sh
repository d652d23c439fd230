# make_capture.sh - record real traffic between two namespaces into a pcap.
# Source after tests/lib/netns.sh and rs_net_up/rs_nginx_start; then
#   rs_capture_mixed OUT.pcap
# records, on the server's veth: HTTP (GET, HEAD, POST, keep-alive, chunked),
# ICMP and ICMPv6 echo (with IPv4 and IPv6 fragments), UDP; then a second
# recording of one HTTP exchange and pings, tagged 802.1Q VLAN 7 with
# tcprewrite (this kernel has no 8021q module to make tagged frames itself)
# and appended.

rs_capture_start() {  # OUT [tcpdump filter...]
	local out=$1; shift
	# Started directly (not through a shell function) so $! is tcpdump.
	ip netns exec "$RS_NS_SRV" tcpdump -i "$RS_IF_SRV" -s 0 -U --immediate-mode -w "$out" "$@" 2>"$out.log" &
	RS_TCPDUMP_PID=$!
	rs_on_exit "kill $RS_TCPDUMP_PID"
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q "listening on" "$out.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tcpdump did not start: $(cat "$out.log")" >&2
	return 1
}

rs_capture_stop() {
	sleep 0.5
	# SIGTERM: background jobs of a script ignore SIGINT; tcpdump flushes on TERM.
	kill -TERM "$RS_TCPDUMP_PID" 2>/dev/null
	wait "$RS_TCPDUMP_PID" 2>/dev/null || true
}

rs_capture_mixed() {
	local out=${1:?out}
	# UDP probes go to a port nobody listens on: drop them quietly so no
	# ICMP errors (which embed a UDP header) muddy the counts.
	rs_in_srv nft add table inet rstest
	rs_in_srv nft add chain inet rstest in '{ type filter hook input priority 0; }'
	rs_in_srv nft add rule inet rstest in udp dport 9999 drop
	local ll6
	ll6=$(ip -n "$RS_NS_SRV" -6 addr show dev "$RS_IF_SRV" scope link | awk '/inet6/{print $2}' | cut -d/ -f1)

	rs_capture_start "$out" || return 1
	local u="http://$RS_IP_SRV"
	rs_in_cli curl -s -o /dev/null -o /dev/null -o /dev/null "$u/index.html" "$u/1k.txt" "$u/64k.bin"
	rs_in_cli curl -s -o /dev/null -I "$u/1k.txt"
	rs_in_cli curl -s -o /dev/null -d "field=value&other=1" "$u/echo"
	rs_in_cli curl -s -o /dev/null --compressed "$u/chunked/page.txt"
	rs_in_cli ping -c 3 -i 0.2 -W 1 "$RS_IP_SRV" >/dev/null
	rs_in_cli ping -c 2 -i 0.2 -W 1 -s 3000 "$RS_IP_SRV" >/dev/null   # fragments
	if [ -n "$ll6" ]; then
		rs_in_cli ping -6 -c 2 -i 0.2 -W 1 "$ll6%$RS_IF_CLI" >/dev/null || true
		rs_in_cli ping -6 -c 2 -i 0.2 -W 1 -s 3000 "$ll6%$RS_IF_CLI" >/dev/null || true
	fi
	local i
	for i in 1 2 3; do
		rs_in_cli bash -c "echo probe-$i >/dev/udp/$RS_IP_SRV/9999"
	done
	rs_capture_stop

	rs_capture_start "$out.v" || return 1
	rs_in_cli curl -s -o /dev/null "$u/index.html?vlan=7"
	rs_in_cli ping -c 2 -i 0.2 -W 1 "$RS_IP_SRV" >/dev/null
	rs_capture_stop
	tcprewrite --enet-vlan=add --enet-vlan-tag=7 --enet-vlan-cfi=0 \
		--enet-vlan-pri=0 -i "$out.v" -o "$out.v7"
	mergecap -a -F pcap -w "$out.all" "$out" "$out.v7"
	mv "$out.all" "$out"
	rm -f "$out.v" "$out.v7"
}
