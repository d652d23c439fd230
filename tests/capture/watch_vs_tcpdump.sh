# watch_vs_tcpdump.sh - rs_watch_* on real rotating files: tcpdump -C 1 -W 3
# writes into a directory while curl fetches a 1 MiB file over and over
# between two namespaces, so files rotate and names are reused (truncated)
# several times; watch_count follows the directory meanwhile and must count
# exactly the packets tcpdump says it captured.
#   bash watch_vs_tcpdump.sh WATCH_COUNT        (root; exit 77 = skipped)
set -u
wcount=${1:?watch_count}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
for t in tcpdump curl nginx; do
	command -v "$t" >/dev/null || { echo "SKIP: $t missing" >&2; exit 77; }
done
rs_net_up "rw$$"
tmp=$(mktemp -d /tmp/rs-watch.XXXXXX)
rs_on_exit "rm -rf $tmp"
rs_www_fill "$tmp"
rs_nginx_start "$tmp"
cap=$tmp/cap
mkdir "$cap"

wait_for() {  # FILE PATTERN WHAT
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "FAIL: $3 did not start: $(cat "$1")" >&2
	exit 1
}

"$wcount" -p 'x.pcap*' "$cap" >"$tmp/watch.out" 2>"$tmp/watch.err" &
wpid=$!
rs_on_exit "kill $wpid"
wait_for "$tmp/watch.out" watching watch_count

# -Z root: tcpdump would drop to its own user, then fail to create the
# second file in a root-owned directory.  No -U: stdio writes 4 KiB at a
# time, so the reader sees records cut in half at the end of the data.
ip netns exec "$RS_NS_SRV" tcpdump -i "$RS_IF_SRV" -n -Z root -C 1 -W 3 \
	-w "$cap/x.pcap" 2>"$tmp/tcpdump.log" &
tpid=$!
rs_on_exit "kill $tpid"
wait_for "$tmp/tcpdump.log" "listening on" tcpdump

# ~13 MB of capture: 13 files, the names wrap around four times.  The rate
# limit keeps tcpdump from lapping the reader on a loaded machine (a lap is
# 2 MB here); the reader keeping up is what is tested, not its speed.
for i in $(seq 1 12); do
	rs_in_cli curl -s -o /dev/null --limit-rate 20M -m 20 \
		"http://$RS_IP_SRV/1m.bin" || { echo "FAIL: curl $i" >&2; exit 1; }
done
sleep 0.5
kill -TERM "$tpid"
wait "$tpid" 2>/dev/null
captured=$(sed -n 's/^\([0-9][0-9]*\) packets\{0,1\} captured$/\1/p' "$tmp/tcpdump.log")
if [ -z "$captured" ]; then
	echo "FAIL: no count from tcpdump: $(cat "$tmp/tcpdump.log")" >&2
	exit 1
fi

# The last file is closed now; give the reader a moment, then stop it (it
# reads what is left before it prints).
sleep 1
kill -TERM "$wpid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$wpid" 2>/dev/null || break
	sleep 0.1
done
wait "$wpid"
rc=$?
out=$(tail -1 "$tmp/watch.out")
echo "tcpdump: $captured captured; files: $(cd "$cap" && ls | tr '\n' ' ')"
echo "watch_count: $out"
[ -s "$tmp/watch.err" ] && echo "watch_count stderr: $(cat "$tmp/watch.err")"

get() { echo "$out" | sed -n "s/.*\\b$1 \\([0-9]*\\).*/\\1/p"; }
fail=0
[ "$rc" = 0 ] || { echo "FAIL: watch_count exit $rc"; fail=1; }
[ "$(get packets)" = "$captured" ] ||
	{ echo "FAIL: watch_count counted $(get packets), tcpdump captured $captured"; fail=1; }
[ "$(get files)" -ge 7 ] ||
	{ echo "FAIL: only $(get files) files: no wrap-around tested"; fail=1; }
for k in bad lost overwritten overflows; do
	[ "$(get $k)" = 0 ] || { echo "FAIL: $k = $(get $k)"; fail=1; }
done
[ "$(cd "$cap" && ls | tr '\n' ' ')" = "x.pcap0 x.pcap1 x.pcap2 " ] ||
	{ echo "FAIL: unexpected files"; fail=1; }
exit $fail
