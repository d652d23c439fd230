#!/usr/bin/env bash
# bad_inputs.sh - one check per row of README's "Bad input" table: each bad
# input (made here, at test time: bad_inputs_gen.py) gives the exit code, the
# message and the counters the table says.  The interface rows need root and
# run in a network namespace of their own (skipped, and said so, without root).
set -uo pipefail
RINGSNIFF=${1:?ringsniff}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
work=$(mktemp -d)
rs_on_exit "rm -rf $work"
chmod 755 "$work"
python3 "$here/bad_inputs_gen.py" "$work" || exit 1
python3 - "$work" <<'PY'
import struct, sys
with open(sys.argv[1] + "/linktype147.pcap", "wb") as f:   # LINKTYPE_USER0
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147))
    f.write(struct.pack("<IIII", 1700000000, 0, 60, 60) + b"u" * 60)
PY
fail=0 rows=0

# expect NAME RC MESSAGE [ASSERT...] -- COMMAND...
# COMMAND's exit status must be RC and its stderr must contain MESSAGE (""
# for none expected).  Each ASSERT is a python expression over s (the summary
# $work/NAME.json, if written) and http (the lines of $work/NAME.http).
expect() {
	local name=$1 want=$2 msg=$3; shift 3
	local asserts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do asserts+=("$1"); shift; done
	shift
	rows=$((rows + 1))
	"$@" >"$work/$name.out" 2>"$work/$name.err"
	local rc=$? ok=1
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit $rc, expected $want"; ok=0
	fi
	if [ -n "$msg" ] && ! grep -qF -- "$msg" "$work/$name.err"; then
		echo "FAIL $name: stderr lacks '$msg'"; ok=0
	fi
	if [ ${#asserts[@]} -gt 0 ]; then
		python3 - "$work/$name.json" "$work/$name.http" "$name" "${asserts[@]}" <<-'PY' || ok=0
		import json, os, sys
		s = json.load(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else None
		http = [json.loads(l) for l in open(sys.argv[2])] if os.path.exists(sys.argv[2]) else []
		bad = 0
		for a in sys.argv[4:]:
		    try:
		        r = eval(a)
		    except Exception as e:
		        r = f"{type(e).__name__}: {e}"
		    if r is not True:
		        print(f"FAIL {sys.argv[3]}: {a} ({r})")
		        bad = 1
		sys.exit(bad)
		PY
	fi
	if [ $ok = 1 ]; then
		echo "ok $name: exit $rc${msg:+, '$msg'}"
	else
		sed 's/^/    stderr: /' "$work/$name.err" | head -5
		fail=1
	fi
}

# r NAME FILE [ringsniff args]: read FILE with the summary and HTTP log on.
r() {
	local name=$1 file=$2; shift 2
	echo "$RINGSNIFF" -q -r "$file" --summary-json "$work/$name.json" --http-log "$work/$name.http" "$@"
}

# ---- files ---------------------------------------------------------------
expect missing_file 2 "nope.pcap: cannot open: No such file or directory" \
	-- $(r missing_file "$work/nope.pcap")
expect directory 2 ": cannot read: Is a directory" -- $(r directory "$work")
expect not_a_capture 2 "offset 0: unknown file format (magic 74 68 69 73" \
	-- $(r not_a_capture "$work/not_capture.txt")
expect empty_file 2 "offset 0: empty file" -- $(r empty_file "$work/empty.pcap")
expect truncated_file_header 2 "offset 0: truncated pcap file header (10 of 24 bytes)" \
	-- $(r truncated_file_header "$work/short_header.pcap")
expect truncated_record 2 "offset 445: record data truncated (caplen 54, 34 bytes left)" \
	's["packets"] == 5' 'len(http) == 1 and http[0]["uri"] == "/good"' \
	-- $(r truncated_record "$work/truncated_record.pcap")
expect caplen_over_snaplen 2 "offset 94: record caplen 185 exceeds snapshot length 64" \
	's["packets"] == 1' -- $(r caplen_over_snaplen "$work/caplen_snaplen.pcap")
expect caplen_over_256k 2 "offset 94: record caplen 300000 exceeds 262144" \
	's["packets"] == 1' -- $(r caplen_over_256k "$work/caplen_huge.pcap")
expect pcapng_length_mismatch 2 "offset 136: block trailing length 999 disagrees with leading length 88" \
	's["packets"] == 1' -- $(r pcapng_length_mismatch "$work/ng_len_mismatch.pcapng")
expect pcapng_unknown_block 0 "" 's["packets"] == 8 and s["decode_errors"] == 0' \
	'len(http) == 1 and http[0]["status"] == 200' \
	-- $(r pcapng_unknown_block "$work/ng_unknown_block.pcapng")
expect damaged_packets 0 "" 's["packets"] == 11 and s["decode_errors"] == 3' \
	'all(s["decode_errors_by_reason"][k] == 1 for k in ("eth_trunc", "ipv4_hlen", "tcp_hlen"))' \
	'len(http) == 1 and http[0]["status"] == 200' \
	-- $(r damaged_packets "$work/damaged_packets.pcap")
expect unknown_linktype 0 "" 's["packets"] == 1 and s["decode_errors_by_reason"]["linktype"] == 1' \
	-- $(r unknown_linktype "$work/linktype147.pcap")
expect stdin_pipe 0 "" 's["packets"] == 8 and len(http) == 1' \
	-- bash -c "cat '$work/good.pcap' | $(r stdin_pipe -)"

# ---- command line --------------------------------------------------------
expect invalid_filter 2 "invalid filter 'tcp port': " \
	-- "$RINGSNIFF" -q -r "$work/good.pcap" tcp port
expect unknown_option 2 "unknown option '--bogus' (see --help)" \
	-- "$RINGSNIFF" -q -r "$work/good.pcap" --bogus
expect bad_number 2 "invalid value 'abc' for --threads: expected a non-negative integer" \
	-- "$RINGSNIFF" -q -r "$work/good.pcap" -T abc
expect number_out_of_range 2 "invalid value '0' for --max-flows: must be between 1 and 4294967296" \
	-- "$RINGSNIFF" -q -r "$work/good.pcap" --max-flows 0
expect log_unwritable 2 "cannot open $work/no/dir/h.log: No such file or directory" \
	-- "$RINGSNIFF" -q -r "$work/good.pcap" --http-log "$work/no/dir/h.log"
expect summary_unwritable 2 "cannot open $work/no/dir/s.json: No such file or directory" \
	-- "$RINGSNIFF" -q -r "$work/good.pcap" --summary-json "$work/no/dir/s.json"

# ---- traffic -------------------------------------------------------------
expect not_http_on_80 0 "" 's["http_not_http"] == 1 and s["http_requests"] == 0' 'http == []' \
	-- $(r not_http_on_80 "$work/not_http_80.pcap")
expect smuggling 0 "" 's["http_smuggling"] == 2' \
	'[t["uri"] for t in http] == ["/a", "/b"]' \
	'all("smuggling" in t["flags"] for t in http)' \
	-- $(r smuggling "$work/smuggling.pcap")
expect huge_headers 0 "" 's["http_truncated"] == 1' \
	'len(http) == 1 and len(http[0]["uri"]) == 2047 and "truncated" in http[0]["flags"]' \
	-- $(r huge_headers "$work/huge_headers.pcap")
expect broken_utf8 0 "" 'len(http) == 1' \
	'http[0]["uri"] == "/caf\u00e9/\u0080/\u00e2\u0082/\u00c0\u00af/\u00ed\u00a0\u0080/\u0001\u007f"' \
	'http[0]["host"] == "h\u00ff\u00fe" and http[0]["user_agent"] == "\"q\\"' \
	-- $(r broken_utf8 "$work/bad_utf8.pcap")
# (Every line of every log above went through json.loads: valid JSON.)

# ---- root only: full disks (a private mount namespace), interfaces --------
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	echo "SKIP (part): disk-full and interface rows need root"
	echo "$rows rows checked"
	exit $fail
fi
mkdir "$work/full"
# A 64 KiB tmpfs seen only by this command: -w runs out of space mid-file.
expect write_disk_full 1 "-w: $work/full/out.pcap: write: No space left on device" \
	's["pcap_write_errors"] >= 1 and s["pcap_lost"] > 0 and s["pcap_packets"] > 0' \
	-- unshare -m bash -c "mount -t tmpfs -o size=64k none '$work/full' && exec $(r write_disk_full "$work/big.pcap") -w '$work/full/out.pcap'"
# A full tmpfs: the HTTP log cannot be written.
expect log_disk_full 1 "writing $work/full/h.log failed: No space left on device" \
	-- unshare -m bash -c "mount -t tmpfs -o size=8k none '$work/full' && { dd if=/dev/zero of='$work/full/fill' bs=1k count=64 2>/dev/null; exec '$RINGSNIFF' -q -r '$work/good.pcap' --http-log '$work/full/h.log'; }"

# Interfaces, in a namespace of our own (a veth pair, left down at first).
ns=rsbi$$
ip netns add $ns
rs_on_exit "ip netns del $ns"
ip -n $ns link add bia0 type veth peer name bib0
in_ns() { ip netns exec $ns "$@"; }
expect no_such_interface 1 "interface 'nosuch0' not found" \
	-- in_ns "$RINGSNIFF" -q -i nosuch0 --duration 1
expect interface_down 1 "interface 'bia0' is down" \
	-- in_ns "$RINGSNIFF" -q -i bia0 --duration 1
ip -n $ns link set bia0 up
ip -n $ns link set bib0 up
ip -n $ns link set lo up
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	expect not_root 1 "AF_PACKET socket: Operation not permitted (need root or CAP_NET_RAW)" \
		-- in_ns setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$RINGSNIFF" -q -i bia0 --duration 1
else
	echo "SKIP not_root: setpriv or user nobody missing"
fi
# The interface goes down, then away, while ringsniff captures on it.
gone() {  # down | del
	in_ns "$RINGSNIFF" -i bia0 -T 2 --stats-interval 0 2>"$work/gone.err" &
	local pid=$! i rc
	for ((i = 0; i < 200; i++)); do
		grep -q "capturing on" "$work/gone.err" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if [ "$1" = down ]; then
		ip -n $ns link set bia0 down
	else
		ip -n $ns link del bia0
	fi
	wait $pid
	rc=$?
	cat "$work/gone.err" >&2
	return $rc
}
expect interface_set_down 1 "capture on bia0 failed: interface went down or away" \
	-- gone down
ip -n $ns link set bia0 up
expect interface_vanished 1 "capture on bia0 failed: interface went down or away" \
	-- gone del
echo "$rows rows checked"
exit $fail
