#!/usr/bin/env python3
"""follow_compare.py PCAP DUMPDIR FLOWLOG SUMMARY - compare stream_dump's
rebuilt streams and ringsniff's TCP flow records with tshark's view."""
import glob
import json
import os
import subprocess
import sys

pcap, dumpdir, flowlog, summary = sys.argv[1:5]
errors = []

# tshark: one stream index per TCP conversation.
idx = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream"],
                     capture_output=True, text=True, check=True).stdout.split()
streams = sorted({int(x) for x in idx if x})
tcp_flows = [json.loads(l) for l in open(flowlog) if json.loads(l)["proto"] == "tcp"]
if len(tcp_flows) != len(streams):
    errors.append(f"TCP flow records: ringsniff {len(tcp_flows)}, tshark conversations {len(streams)}")

# tshark follow,tcp,raw for every stream in one pass.
args = ["tshark", "-r", pcap, "-q"]
for s in streams:
    args += ["-z", f"follow,tcp,raw,{s}"]
out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
want = {}  # (cli, cport, srv, sport) -> list of [c2s bytes, s2c bytes]
cur = None
for line in out.splitlines():
    if line.startswith("Node 0:"):
        n0 = line.split(None, 2)[2]
    elif line.startswith("Node 1:"):
        n1 = line.split(None, 2)[2]
        ip0, p0 = n0.rsplit(":", 1)
        ip1, p1 = n1.rsplit(":", 1)
        cur = [bytearray(), bytearray()]
        want.setdefault((ip0, int(p0), ip1, int(p1)), []).append(cur)
    elif line.startswith("====") or line.startswith("Follow:") or line.startswith("Filter:"):
        continue
    elif cur is not None and line.strip():
        if line.startswith("\t"):
            cur[1] += bytes.fromhex(line.strip())
        else:
            cur[0] += bytes.fromhex(line.strip())

got = {}
for path in glob.glob(os.path.join(dumpdir, "*.c2s")):
    base = os.path.basename(path)[:-4]
    cli, cport, srv, rest = base.split("_")
    sport = rest.split(".")[0]
    c2s = open(path, "rb").read()
    s2c = open(path[:-4] + ".s2c", "rb").read()
    got.setdefault((cli, int(cport), srv, int(sport)), []).append([c2s, s2c])

compared = total_bytes = 0
for key, lst in want.items():
    # A connection that carried no payload has no stream to rebuild (the
    # application layer opens at the first byte); it still counts as a flow.
    lst = [c for c in lst if c[0] or c[1]]
    mine = got.get(key, [])
    # tshark names the side that sent the first packet node 0; a flow seen
    # from its SYN has the same orientation as ours.
    if len(mine) != len(lst):
        errors.append(f"{key}: tshark {len(lst)} connection(s), ringsniff {len(mine)}")
        continue
    for (w0, w1), (g0, g1) in zip(sorted(lst), sorted(mine)):
        compared += 1
        total_bytes += len(w0) + len(w1)
        if bytes(w0) != g0:
            errors.append(f"{key} client->server differs: tshark {len(w0)} bytes, ringsniff {len(g0)}")
        if bytes(w1) != g1:
            errors.append(f"{key} server->client differs: tshark {len(w1)} bytes, ringsniff {len(g1)}")

s = json.load(open(summary))
print(f"{pcap}: {compared} connections, {total_bytes} bytes compared; "
      f"tcp_gaps={s['tcp_gaps']} retransmits={s.get('tcp_retransmits')}")
if compared == 0:
    errors.append("nothing compared")
for e in errors[:20]:
    print("FAIL", e)
sys.exit(1 if errors else 0)
