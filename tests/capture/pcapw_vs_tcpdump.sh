# pcapw_vs_tcpdump.sh - rs_pcapw_* against tcpdump itself: the same input
# copied by `tcpdump -r IN -w OUT -C MB -W N` and by pcapw_copy with the same
# options must give the same file names, byte for byte the same files, and
# tcpdump must read ours with the same packet counts.
#   bash pcapw_vs_tcpdump.sh PCAPW_COPY
set -u
copy=${1:?pcapw_copy}
for t in tcpdump python3 cmp; do
	command -v "$t" >/dev/null || { echo "SKIP: $t missing" >&2; exit 77; }
done
tmp=$(mktemp -d /tmp/rs-pcapw.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# As root tcpdump drops to its own user before it opens the second file.
as_me=(-Z "$(id -un)")

# ~4.5 MB of frames of mixed sizes (runts, ACK-sized, MTU, jumbo), some cut
# short by the snaplen, microsecond and nanosecond timestamps.
python3 - "$tmp" <<'EOF'
import random, struct, sys
d = sys.argv[1]
random.seed(8)
for name, magic, scale in (("in.pcap", 0xa1b2c3d4, 10**6), ("in_ns.pcap", 0xa1b23c4d, 10**9)):
    with open(f"{d}/{name}", "wb") as f:
        f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, 1))
        t = 1700000000 * scale
        for i in range(4000):
            wire = random.choice([60, 66, 74, 590, 1514, 1514, 1514, 9014])
            cap = wire if random.random() < 0.9 else random.randint(14, wire)
            t += random.randint(1, 3 * scale // 1000)
            f.write(struct.pack("<IIII", t // scale, t % scale, cap, wire))
            f.write(bytes((i + k) & 0xff for k in range(cap)))
EOF

fail=0
check() {  # NAME IN COPY_OPTS -- TCPDUMP_OPTS
	local name=$1 in=$2; shift 2
	local copts=() topts=()
	while [ "$1" != -- ]; do copts+=("$1"); shift; done
	shift
	topts=("$@")
	local a=$tmp/$name.tcpdump b=$tmp/$name.ours
	mkdir -p "$a" "$b"
	tcpdump "${as_me[@]}" "${topts[@]}" -r "$in" -w "$a/y.pcap" 2>"$a.log" ||
		{ echo "FAIL $name: tcpdump: $(cat "$a.log")"; fail=1; return; }
	"$copy" "${copts[@]}" "$in" "$b/y.pcap" 2>"$b.log" ||
		{ echo "FAIL $name: pcapw_copy: $(cat "$b.log")"; fail=1; return; }
	local na nb
	na=$(cd "$a" && ls | tr '\n' ' ')
	nb=$(cd "$b" && ls | tr '\n' ' ')
	if [ "$na" != "$nb" ]; then
		echo "FAIL $name: file names: tcpdump [$na] ours [$nb]"
		fail=1
		return
	fi
	local f ca cb
	for f in $na; do
		ca=$(tcpdump --count -r "$a/$f" 2>/dev/null)
		cb=$(tcpdump --count -r "$b/$f" 2>/dev/null)
		if [ "$ca" != "$cb" ] || [ -z "$cb" ]; then
			echo "FAIL $name: $f: tcpdump [$ca] ours [$cb]"
			fail=1
		fi
		if ! cmp -s "$a/$f" "$b/$f"; then
			echo "FAIL $name: $f differs: $(cmp "$a/$f" "$b/$f" 2>&1)"
			fail=1
		fi
	done
	echo "ok $name: [$nb] $(for f in $nb; do tcpdump --count -r "$b/$f" 2>/dev/null | cut -d' ' -f1; done | tr '\n' ' ')"
}

in=$tmp/in.pcap
check plain "$in" --
check C1 "$in" -C 1 -- -C 1
check C1_W3 "$in" -C 1 -W 3 -- -C 1 -W 3
check C1_W1 "$in" -C 1 -W 1 -- -C 1 -W 1
check C1_W11 "$in" -C 1 -W 11 -- -C 1 -W 11
check C2_W2 "$in" -C 2 -W 2 -- -C 2 -W 2
check ns_C1_W4 "$tmp/in_ns.pcap" -n -C 1 -W 4 -- --time-stamp-precision=nano -C 1 -W 4
# tcpdump -r writes microseconds unless told otherwise, rounding down.
check ns_to_us "$tmp/in_ns.pcap" -C 1 -- -C 1
exit $fail
