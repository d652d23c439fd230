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
. "$(dirname "$0")/netns_lib.sh"
need_root_and ip ethtool nginx curl tcprewrite tcpreplay "$TCPDUMP"
netns_setup
nginx_start

# ---- capture in A, then the traffic from B -------------------------------
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
	"ether src host $(mac_of "$NSB" vB)"
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
