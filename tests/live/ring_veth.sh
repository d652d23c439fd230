#!/bin/bash
# ring_veth.sh - the ring on a real interface: two namespaces joined by a
# veth pair (198.18.0.0/24), ring_probe in A, curl in B knocking on closed
# ports of A (each knock: SYN in, RST out) and raw VLAN-tagged UDP frames.
# Checks counts, direction, ignore_outgoing, stripped VLAN tags (802.1Q,
# QinQ, priority tag), fanout flow affinity, and that deleting the interface
# ends the capture with ENETDOWN.
# Usage: ring_veth.sh PATH/TO/ring_probe.  Exit 77 = skipped.
set -u
PROBE=$1

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "not root"
for t in ip curl ethtool; do
	command -v "$t" >/dev/null || skip "no $t"
done

A=rsring-a-$$
B=rsring-b-$$
TMP=$(mktemp -d)
cleanup() {
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$A" 2>/dev/null || skip "cannot create network namespaces"
ip netns add "$B" || exit 1
ip -n "$A" link add va type veth peer name vb netns "$B" 2>/dev/null ||
	skip "no veth support"
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip netns exec "$A" ethtool -K va tso off gso off gro off >/dev/null 2>&1
ip netns exec "$B" ethtool -K vb tso off gso off gro off >/dev/null 2>&1
ip -n "$A" addr add 198.18.0.1/24 dev va
ip -n "$B" addr add 198.18.0.2/24 dev vb
ip -n "$A" link set va up
ip -n "$B" link set vb up
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# knock ADDR PORT N: N refused connections from B to A.
knock() {
	local i
	for ((i = 0; i < $3; i++)); do
		ip netns exec "$B" curl -s -m 2 "http://$1:$2/" >/dev/null 2>&1
	done
}

# start NAME ARGS...: run the probe in A on va; wait (bounded) until ready.
start() {
	local name=$1 i
	shift
	ip netns exec "$A" "$PROBE" -i va --ready "$TMP/ready.$name" "$@" \
		>"$TMP/out.$name" 2>"$TMP/err.$name" &
	PID=$!
	for ((i = 0; i < 50; i++)); do
		[ -e "$TMP/ready.$name" ] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "$name: probe not ready: $(cat "$TMP/err.$name")"
	return 1
}

# finish NAME: wait for the probe (its own -t deadline bounds this).
finish() {
	wait "$PID"
	RC=$?
	OUT=$(cat "$TMP/out.$1")
	echo "$1: rc=$RC $OUT"
}

# want NAME KEY OP VALUE: compare a counter of the last probe output.
want() {
	local v
	v=$(sed -n "s/.*\\b$2=\\([0-9a-fx]*\\).*/\\1/p" <<<"$OUT")
	[ -n "$v" ] || { fail "$1: no $2 in output"; return; }
	[ "$((v))" "$3" "$(($4))" ] || fail "$1: $2=$v, want $3 $4"
}

# 1. Both directions, exact counts, link type, ifindex, iface counters.
if start basic -p 8080 --want-in 3 --want-out 3 -t 8000; then
	knock 198.18.0.1 8080 3
	finish basic
	want basic in -eq 3
	want basic out -eq 3
	want basic bad_linktype -eq 0
	want basic bad_ifindex -eq 0
	want basic truncated -eq 0
	want basic vlan_meta -eq 0
	want basic seq_gaps -eq 0
	want basic bad_blocks -eq 0
	want basic drops -eq 0
	want basic iface_drops_rc -eq 0
	want basic packets -ge 6
fi

# 2. ignore_outgoing: the RSTs A sends are not captured.
if start ignore -p 8081 --want-in 3 --want-out 0 -l 300 --ignore-outgoing \
	-t 8000; then
	knock 198.18.0.1 8081 3
	finish ignore
	want ignore in -eq 3
	want ignore out -eq 0
fi

# 3. VLAN: B sends tagged frames with a raw socket (no 8021q module
# needed); A's kernel strips the outer tag before the taps and the ring
# reports it (vlan_valid, tci, tpid), inner tags stay in the bytes.
MAC_A=$(ip -n "$A" link show va | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
# inject PORT N TAG...: N tagged UDP frames from B to A:PORT.
inject() {
	local port=$1 n=$2 tags=() t
	shift 2
	for t in "$@"; do tags+=(--vlan "$t"); done
	ip netns exec "$B" "$PROBE" --inject -i vb --dst-mac "$MAC_A" \
		-p "$port" -n "$n" "${tags[@]}" || fail "inject $port"
}
if start vlan -p 8082 --want-in 4 -t 8000; then
	inject 8082 4 100
	finish vlan
	want vlan in -eq 4
	want vlan vlan_meta -eq 4
	want vlan tci -eq 100
	want vlan vid -eq 100
	want vlan tpid -eq 0x8100
	want vlan vlan_inline -eq 0
fi
if start qinq -p 8084 --want-in 4 -t 8000; then
	inject 8084 4 200:0x88a8 100
	finish qinq
	want qinq in -eq 4
	want qinq vlan_meta -eq 4
	want qinq vid -eq 200
	want qinq tpid -eq 0x88a8
	want qinq inner_vid -eq 100
	want qinq inner_tpid -eq 0x8100
fi
if start prio -p 8085 --want-in 2 -t 8000; then
	inject 8085 2 0x2000         # PCP 1, VID 0: a priority tag
	finish prio
	want prio in -eq 2
	want prio vlan_meta -eq 2
	want prio tci -eq 0x2000
	want prio vid -eq 0
fi

# 4. Fanout hash over two rings: each connection stays on one ring.
if start fanout -p 8083 --rings 2 --want-in 8 --want-out 8 -t 8000; then
	knock 198.18.0.1 8083 8
	finish fanout
	want fanout in -eq 8
	want fanout out -eq 8
	want fanout split_flows -eq 0
fi

# 5. The interface disappears under the capture: ENETDOWN, exit 3, quickly.
if start gone -p 9 --want-in 1000000 -t 10000; then
	t0=$(date +%s%N)
	ip -n "$A" link del va
	finish gone
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$RC" -eq 3 ] || fail "gone: exit $RC, want 3"
	grep -q "went down or away" "$TMP/err.gone" ||
		fail "gone: stderr '$(cat "$TMP/err.gone")'"
	[ "$ms" -lt 5000 ] || fail "gone: noticed after $ms ms"
fi

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "ring_veth: all passed"
