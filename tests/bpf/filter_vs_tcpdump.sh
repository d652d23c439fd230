#!/bin/bash
# filter_vs_tcpdump.sh - rs_filter_match agrees with tcpdump on a real capture.
#
# Two namespaces joined by a veth pair: nginx serves in A, curl/ping/bash-UDP
# talk to it from B over IPv4 and IPv6 link-local; tcpdump records in A.  A
# first round is tagged with VLAN 10 by tcprewrite and replayed from B during
# the second round (the kernel may lack 802.1Q devices; tagged frames still
# cross the veth and reach the capture).  Then, for each expression of a
# table, the frames filter_count accepts in the second round's captures (on
# the veth and on "any") must equal `tcpdump -r FILE --count EXPR`.
# Usage: filter_vs_tcpdump.sh FILTER_COUNT_BINARY.  Exit 77 = skipped.
set -u

FC=${1:?usage: $0 filter_count}
TCPDUMP=${TCPDUMP:-$(command -v tcpdump)}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for p in ip ethtool nginx curl tcprewrite tcpreplay "$TCPDUMP"; do
	command -v "$p" >/dev/null 2>&1 || skip "$p not installed"
done

NSA=rsbpfA$$
NSB=rsbpfB$$
TMP=$(mktemp -d /tmp/rsbpf.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
inA() { ip netns exec "$NSA" "$@"; }
inB() { ip netns exec "$NSB" "$@"; }
die() { echo "FAIL: $*"; exit 1; }
# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# ---- network: A/vA 198.18.0.1 <-> B/vB 198.18.0.2 ------------------------
ip netns add "$NSA" || skip "cannot create network namespaces"
ip netns add "$NSB" || exit 1
ip -n "$NSA" link add vA type veth peer name vB netns "$NSB" || exit 1
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" link set lo up
done
# Link-local addresses usable at once (no duplicate detection delay).
inA sysctl -qw net.ipv6.conf.vA.accept_dad=0
inB sysctl -qw net.ipv6.conf.vB.accept_dad=0
inA ethtool -K vA tso off gso off gro off >/dev/null 2>&1
inB ethtool -K vB tso off gso off gro off >/dev/null 2>&1
ip -n "$NSA" addr add 198.18.0.1/30 dev vA
ip -n "$NSB" addr add 198.18.0.2/30 dev vB
ip -n "$NSA" link set vA up
ip -n "$NSB" link set vB up

lladdr() {
	ip -n "$1" -6 -o addr show dev "$2" scope link |
		sed -n 's/.* inet6 \(fe80::[0-9a-f:]*\)\/.*/\1/p' | head -n1
}
has_lladdr() { [ -n "$(lladdr "$1" "$2")" ]; }
wait_for 5 has_lladdr "$NSA" vA || die "no link-local address on vA"
wait_for 5 has_lladdr "$NSB" vB || die "no link-local address on vB"
LLA=$(lladdr "$NSA" vA)

# ---- nginx in A, everything in the temp dir ------------------------------
mkdir -p "$TMP/www"
head -c 3000 /dev/zero | tr '\0' x >"$TMP/www/index.html"
cat >"$TMP/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
events { worker_connections 64; }
http {
	access_log $TMP/access.log;
	client_body_temp_path $TMP/body;
	proxy_temp_path $TMP/proxy;
	fastcgi_temp_path $TMP/fastcgi;
	uwsgi_temp_path $TMP/uwsgi;
	scgi_temp_path $TMP/scgi;
	server {
		listen 198.18.0.1:80;
		listen [::]:80 ipv6only=on;
		root $TMP/www;
	}
}
EOF
# Started without the inA function so that $! is nginx itself.
ip netns exec "$NSA" nginx -e "$TMP/error.log" -p "$TMP" -c "$TMP/nginx.conf" \
	-g 'daemon off;' &
PIDS+=($!)
wait_for 10 inB curl -s -m 2 -o /dev/null http://198.18.0.1/ ||
	die "nginx did not answer: $(cat "$TMP/error.log")"

# ---- capture in A, then the traffic from B -------------------------------
start_tcpdump() { # IF FILE
	ip netns exec "$NSA" "$TCPDUMP" -i "$1" -n -U --immediate-mode -w "$2" 2>"$2.log" &
	PIDS+=($!)
	wait_for 10 grep -q "listening on" "$2.log" || die "tcpdump -i $1 did not start"
}
stop_tcpdumps() { # the PIDs after nginx's
	for p in "${PIDS[@]:1}"; do kill -INT "$p"; done
	for p in "${PIDS[@]:1}"; do wait "$p"; done
	PIDS=("${PIDS[0]}")
}
traffic() {
	for i in 1 2 3; do
		inB curl -s -m 5 -o /dev/null http://198.18.0.1/ || die "curl IPv4"
		inB curl -s -m 5 -o /dev/null -g "http://[$LLA%25vB]/" || die "curl IPv6"
		inB curl -s -m 5 -o /dev/null -d "a=$i" http://198.18.0.1/x || true
		# UDP to a closed port; A answers with ICMP port unreachable.
		inB bash -c "echo hello$i >/dev/udp/198.18.0.1/5353"
		inB bash -c "echo hello$i >/dev/udp/$LLA%vB/5353"
	done
	if command -v ping >/dev/null 2>&1; then
		inB ping -n -q -c 3 -i 0.2 -W 2 198.18.0.1 >/dev/null || die "ping"
		inB ping -n -q -c 2 -i 0.2 -W 2 -s 1200 198.18.0.1 >/dev/null || die "ping -s"
		inB ping -6 -n -q -c 3 -i 0.2 -W 2 "$LLA%vB" >/dev/null || die "ping -6"
	fi
	sleep 0.5   # let the last replies reach the capture
}

# Round 1, tagged with VLAN 10 for replay in round 2.
start_tcpdump vA "$TMP/round1.pcap"
traffic
stop_tcpdumps
tcprewrite --enet-vlan=add --enet-vlan-tag=10 --enet-vlan-cfi=0 \
	--enet-vlan-pri=0 -i "$TMP/round1.pcap" -o "$TMP/tagged.pcap" ||
	die "tcprewrite"
n1=$("$FC" "$TMP/tagged.pcap" "vlan 10") || die "cannot read tagged.pcap"
[ "$n1" -gt 0 ] || die "round 1 captured nothing to replay"
echo "round 1: $n1 frames tagged for replay"

start_tcpdump vA "$TMP/veth.pcap"
start_tcpdump any "$TMP/any.pcap"
traffic
inB tcpreplay -q -t -i vB "$TMP/tagged.pcap" >"$TMP/replay.log" 2>&1 ||
	die "tcpreplay: $(cat "$TMP/replay.log")"

sleep 0.5
stop_tcpdumps

# ---- compare -------------------------------------------------------------
EXPRS=(
	""
	"tcp"
	"tcp port 80"
	"tcp dst port 80"
	"src port 80 and greater 1000"
	"udp"
	"udp port 5353"
	"icmp"
	"icmp6"
	"host 198.18.0.1"
	"src host 198.18.0.2"
	"host $LLA"
	"net 198.18.0.0/30"
	"net 198.18.0.4/30"
	"net 198.18.0.0/15 and not tcp"
	"tcp[tcpflags] & tcp-syn != 0"
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)"
	"tcp[tcpflags] & tcp-fin != 0"
	"tcp[tcpflags] & tcp-push != 0 and port 80"
	"greater 100"
	"less 80"
	"greater 1000 and tcp"
	"vlan"
	"vlan 10"
	"vlan 10 and tcp port 80"
	"vlan and icmp"
	"vlan and ip6 and udp"
	"vlan and greater 1000"
	"vlan 20"
	"ip6"
	"ip6 and tcp"
	"ip6 and udp"
	"ip"
	"arp"
	"not ip and not ip6"
	"portrange 1-1024"
	"ether src host $(ip -n "$NSB" link show vB | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')"
	"ip[8] == 64"
	"ip6[7] == 64"
)
# Counts that must not be zero, so the comparison means something.
MUST=("" "tcp port 80" "udp" "icmp" "icmp6" "vlan 10" "ip6 and tcp"
	"tcp[tcpflags] & tcp-syn != 0" "greater 1000 and tcp" "vlan 10 and tcp port 80")

fails=0
for cap in veth any; do
	f="$TMP/$cap.pcap"
	for e in "${EXPRS[@]}"; do
		want=$("$TCPDUMP" -r "$f" --count "$e" 2>"$TMP/td.err" | awk '/packets?$/ {print $1}')
		if [ -z "$want" ]; then
			# tcpdump refuses it (e.g. `vlan` on "any" with no tag); we must too.
			if "$FC" "$f" "$e" >/dev/null 2>&1; then
				echo "FAIL [$cap] '$e': tcpdump refused ($(cat "$TMP/td.err")), we accepted"
				fails=$((fails + 1))
			else
				echo "ok   [$cap] '$e': both refuse it"
			fi
			continue
		fi
		got=$("$FC" "$f" "$e") || { echo "FAIL [$cap] '$e': filter_count failed"; fails=$((fails + 1)); continue; }
		if [ "$got" != "$want" ]; then
			echo "FAIL [$cap] '$e': rs_filter_match $got, tcpdump $want"
			fails=$((fails + 1))
		else
			echo "ok   [$cap] '$e': $got"
		fi
		if [ "$cap" = veth ]; then
			for m in "${MUST[@]}"; do
				if [ "$m" = "$e" ] && [ "$want" = 0 ]; then
					echo "FAIL [$cap] '$e': no packets; the capture is wrong"
					fails=$((fails + 1))
				fi
			done
		fi
	done
done
[ $fails = 0 ] || die "$fails mismatches"
echo "PASS"
