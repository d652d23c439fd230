#!/bin/bash
# pcapfile_vs_tshark.sh - rs_file_* must see the same frames (time, caplen,
# wirelen) as tshark in files written by real tools: a pcap from python3 and
# one from text2pcap, converted with editcap (nsecpcap, pcapng, snaplen cut)
# and merged with mergecap (pcapng with two interfaces of different link
# types).  Usage: pcapfile_vs_tshark.sh PCAPDUMP.  Exit 77 if a tool is missing.
set -euo pipefail

dump=$(realpath -- "$1")   # we cd away below
for t in python3 tshark editcap mergecap text2pcap; do
	command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rs-cap-tshark.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# Ethernet/IPv4/UDP frames of assorted sizes and odd microsecond times,
# little endian; and the same IP packets as LINKTYPE_RAW, big endian.
python3 - <<'EOF'
import struct

def ip_udp(n, i):
    payload = bytes((i + k) & 0xff for k in range(n))
    udp = struct.pack('>HHHH', 40000 + i, 53, 8 + n, 0) + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), i, 0, 64, 17,
                     0, bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    return ip + udp

def write(path, endian, linktype, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack(endian + 'IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0,
                            262144, linktype))
        for sec, usec, data in frames:
            f.write(struct.pack(endian + 'IIII', sec, usec, len(data),
                                len(data)))
            f.write(data)

eth, raw = [], []
sizes = [0, 1, 18, 100, 555, 1472, 8000, 60000, 3, 1000]
for i, n in enumerate(sizes):
    pkt = ip_udp(n, i)
    sec, usec = 1700000000 + i * 37, (i * 123457) % 1000000
    eth.append((sec, usec, b'\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00' + pkt))
    raw.append((sec, usec + 1 if usec < 999999 else usec, pkt))
write('eth.pcap', '<', 1, eth)
write('raw_be.pcap', '>', 101, raw)

# A hex dump for text2pcap: three packets with their own times.
with open('dump.txt', 'w') as f:
    for i, n in enumerate([40, 200, 1200]):
        f.write('2023-11-14 22:13:%02d.%06d\n' % (20 + i, 654321 + i))
        data = ip_udp(n, 50 + i)
        for off in range(0, len(data), 16):
            f.write('%06x %s\n' % (off, ' '.join('%02x' % b
                                               for b in data[off:off + 16])))
EOF
text2pcap -q -F pcap -t '%Y-%m-%d %H:%M:%S.' -e 0x800 dump.txt t2p.pcap
text2pcap -q -F pcapng -t '%Y-%m-%d %H:%M:%S.' -e 0x800 dump.txt t2p.pcapng

editcap -F nsecpcap eth.pcap eth_ns.pcap
editcap -F pcapng eth.pcap eth.pcapng
editcap -F pcapng eth_ns.pcap eth_ns.pcapng
editcap -s 96 eth.pcap eth_snap96.pcap
editcap -F pcapng -s 200 raw_be.pcap raw_snap200.pcapng
mergecap -F pcapng -w merged.pcapng eth.pcap raw_be.pcap t2p.pcap
# Concatenated pcapng files are one file of several sections.
cat eth.pcapng raw_snap200.pcapng t2p.pcapng > three_sections.pcapng

files=(eth.pcap raw_be.pcap eth_ns.pcap eth.pcapng eth_ns.pcapng
       eth_snap96.pcap raw_snap200.pcapng t2p.pcap t2p.pcapng merged.pcapng
       three_sections.pcapng)
# tcpdump's own writer, in nanoseconds too, when it is installed.
if command -v tcpdump >/dev/null; then
	tcpdump -r eth.pcap -w td.pcap 2>/dev/null
	tcpdump --time-stamp-precision=nano -r eth_ns.pcap -w td_ns.pcap \
		2>/dev/null
	files+=(td.pcap td_ns.pcap)
fi

fail=0
check() { # FILE [how] - how=stdin|pipe reads it through "-"
	local f=$1 how=${2:-path}
	tshark -r "$f" -T fields -e frame.time_epoch -e frame.cap_len \
		-e frame.len 2>/dev/null > "$f.want"
	if [ "$how" = stdin ]; then
		"$dump" - < "$f" > "$f.got"
	elif [ "$how" = pipe ]; then
		cat "$f" | "$dump" - > "$f.got"
	else
		"$dump" "$f" > "$f.got"
	fi
	if [ ! -s "$f.want" ]; then
		echo "FAIL $f: tshark read no frames"; fail=1
	elif cmp -s "$f.want" "$f.got"; then
		echo "ok   $f ($how): $(wc -l < "$f.got") frames"
	else
		echo "FAIL $f ($how):"; diff "$f.want" "$f.got" | head -20; fail=1
	fi
}

for f in "${files[@]}"; do
	check "$f"
done
check merged.pcapng pipe
check eth_ns.pcap pipe
check three_sections.pcapng stdin
[ "$(head -c 4 t2p.pcap | od -An -tx1 | tr -d ' ')" = d4c3b2a1 ] ||
	{ echo "FAIL t2p.pcap is not a classic pcap"; fail=1; }

# Per-frame link types of the merged file: two interfaces, in tshark's
# interface order (mergecap writes one IDB per input).
"$dump" -l merged.pcapng | cut -f4,5 | sort -u > lt.got
printf '1\t0\n101\t1\n1\t2\n' | sort -u > lt.want
if cmp -s lt.want lt.got; then
	echo "ok   merged.pcapng link types per interface"
else
	echo "FAIL merged.pcapng link types:"; diff lt.want lt.got; fail=1
fi

# A cut file: the frames before the cut, then exit 2 with name and offset.
head -c 2000 eth.pcapng > cut.pcapng
if "$dump" cut.pcapng > cut.got 2> cut.err; then
	echo "FAIL cut.pcapng: no error"; fail=1
elif grep -q '^pcapdump: cut.pcapng: offset [0-9]*: ' cut.err &&
     [ "$(wc -l < cut.got)" -ge 1 ]; then
	echo "ok   cut.pcapng: $(wc -l < cut.got) frames, then: $(cat cut.err)"
else
	echo "FAIL cut.pcapng: $(cat cut.err)"; fail=1
fi
exit $fail
