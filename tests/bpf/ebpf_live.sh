#!/bin/bash
# ebpf_live.sh - the eBPF socket filter and fanout program on real sockets.
#
# nginx in namespace A, curl and bash-UDP from B over IPv4 and IPv6
# link-local.  The filter ("port=80", then with ignore_outgoing) must pass
# exactly the frames tcpdump counts for the same expression, and the socket
# must receive exactly what the counters say passed.  The fanout program
# must keep both directions of every flow on one of 4 sockets and use more
# than one.  Usage: ebpf_live.sh EBPF_LIVE_BINARY.  Exit 77 = skipped.
set -u

EL=${1:?usage: $0 ebpf_live}
TCPDUMP=${TCPDUMP:-$(command -v tcpdump)}
. "$(dirname "$0")/netns_lib.sh"
need_root_and ip ethtool nginx curl "$TCPDUMP"
netns_setup
nginx_start
MACB=$(mac_of "$NSB" vB)

# run_el OUT ARGS...: start ebpf_live in A, wait for "ready".
run_el() {
	local out=$1; shift
	ip netns exec "$NSA" "$EL" "$@" >"$out" 2>"$out.err" &
	EL_PID=$!
	PIDS+=("$EL_PID")
	if ! wait_for 10 grep -q ready "$out"; then
		wait "$EL_PID"
		[ $? = 77 ] && skip "cannot load: $(cat "$out.err")"
		die "ebpf_live $*: $(cat "$out.err")"
	fi
}
# field OUT NAME: the value of NAME=V on the result line.
field() { sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" "$1" | tail -n1; }
count() { "$TCPDUMP" -r "$1" --count "$2" 2>/dev/null | awk '{print $1}'; }

traffic() {
	for i in 1 2 3; do
		inB curl -s -m 5 -o /dev/null http://198.18.0.1/ || die "curl IPv4"
		inB curl -s -m 5 -o /dev/null -g "http://[$LLA%25vB]/" || die "curl IPv6"
		inB bash -c "echo x$i >/dev/udp/198.18.0.1/80"
		inB bash -c "echo y$i >/dev/udp/198.18.0.1/81"
	done
}

fails=0
check() { # WHAT GOT WANT
	if [ "$2" != "$3" ]; then
		echo "FAIL $1: got '$2', want '$3'"
		fails=$((fails + 1))
	else
		echo "ok   $1: $2"
	fi
}

# ---- socket filter --------------------------------------------------------
for mode in both in; do
	pcap="$TMP/f-$mode.pcap"
	out="$TMP/f-$mode.out"
	start_tcpdump vA "$pcap"
	TD_PID=${PIDS[-1]}
	run_el "$out" filter vA "port=80" 3000 $([ $mode = in ] && echo in)
	traffic
	wait "$EL_PID" || die "ebpf_live filter: $(cat "$out.err")"
	sleep 0.3
	kill -INT "$TD_PID"
	wait "$TD_PID"
	cat "$out"
	if [ $mode = both ]; then sel=""; else sel=" and ether src $MACB"; fi
	tcp=$(count "$pcap" "tcp port 80$sel")
	udp=$(count "$pcap" "udp port 80$sel")
	[ "$tcp" -gt 10 ] || die "capture has only '$tcp' TCP frames"
	check "[$mode] tcp passed" "$(field "$out" tcp_pass)" "$tcp"
	check "[$mode] udp passed" "$(field "$out" udp_pass)" "$udp"
	check "[$mode] udp to 81 dropped" "$(field "$out" udp_drop)" \
		"$(count "$pcap" "udp port 81")"
	check "[$mode] received = passed" "$(field "$out" frames)" \
		"$(( $(field "$out" tcp_pass) + $(field "$out" udp_pass) +
		     $(field "$out" icmp_pass) + $(field "$out" other_pass) ))"
	check "[$mode] nothing else passed" \
		"$(( $(field "$out" icmp_pass) + $(field "$out" other_pass) ))" 0
done

# ---- fanout ---------------------------------------------------------------
out="$TMP/fanout.out"
run_el "$out" fanout vA 4 3000
for i in $(seq 1 12); do
	inB curl -s -m 5 -o /dev/null http://198.18.0.1/ || die "curl IPv4"
	inB curl -s -m 5 -o /dev/null -g "http://[$LLA%25vB]/" || die "curl IPv6"
done
wait "$EL_PID" || die "ebpf_live fanout: $(cat "$out.err")"
cat "$out"
flows=$(field "$out" flows)
[ "${flows:-0}" -ge 24 ] || die "fanout saw ${flows:-0} flows, want >= 24"
check "flows split across sockets" "$(field "$out" split)" 0
used=$(field "$out" used)
[ "${used:-0}" -ge 2 ] || { echo "FAIL all flows on one socket"; fails=$((fails + 1)); }

[ $fails = 0 ] || die "$fails checks failed"
echo PASS
