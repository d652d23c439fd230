#!/usr/bin/env python3
"""tshark_oracle.py - compare rs_decode's per-frame counters with tshark filters.

usage: tshark_oracle.py DUMP_FRAMES_EXE
Runs dump_frames into a temporary directory, then for every pcap and every
counter asks tshark which frames match the equivalent display filter.  The
well-formed frames must agree exactly; the malformed ones are reported and
must agree too, except for the reasons listed in BAD_MAY_DIFFER.
Exit 0 = agree, 1 = disagree, 77 = tshark missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile

# S_* bits from frames.h, and the tshark protocol names (as display filters
# see them) that mean the same; 802.1ad is its own protocol in tshark.
PROTOS = [
    (1 << 0, "ipv4", {"ip"}),
    (1 << 1, "ipv6", {"ipv6"}),
    (1 << 2, "tcp", {"tcp"}),
    (1 << 3, "udp", {"udp"}),
    (1 << 4, "icmp", {"icmp"}),
    (1 << 5, "icmpv6", {"icmpv6"}),
    (1 << 6, "vlan", {"vlan", "ieee8021ad"}),
]
S_FRAG = 1 << 7
FIELDS = ["frame.number", "frame.protocols", "ip.flags.mf", "ip.frag_offset",
          "ipv6.fraghdr.more", "ipv6.fraghdr.offset"]
# Both reassemblers off: a fragment is shown as itself, like rs_decode.
PREFS = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
# Where rs_decode deliberately differs on malformed frames (see the report
# in rs_decode.h): tshark shows a layer whose fixed header is cut short,
# follows the version nibble against the link type, and follows any number
# of VLAN tags.
BAD_MAY_DIFFER = {"ip_version", "vlan_trunc", "vlan_depth", "ipv4_trunc",
                  "ipv6_trunc", "tcp_trunc", "udp_trunc", "icmp_trunc"}


def is_set(v):
    return v.lower() in ("1", "true")


def tshark_view(tshark, path, home):
    """frame number -> (set of protocol names, fragment flag)."""
    cmd = [tshark, "-n", "-r", path] + PREFS + ["-T", "fields",
                                                 "-E", "separator=/t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=dict(os.environ, HOME=home)).stdout
    view = {}
    for line in out.splitlines():
        col = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        vals = [c.split(",") if c else [] for c in col[2:]]
        frag = (any(map(is_set, vals[0])) or any(int(v) > 0 for v in vals[1])
                or any(map(is_set, vals[2])) or any(int(v) > 0 for v in vals[3]))
        view[int(col[0])] = (set(col[1].split(":")), frag)
    return view


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    tshark = shutil.which("tshark")
    if not tshark:
        print("tshark not installed: skip")
        return 77
    tmp = tempfile.mkdtemp(prefix="rs_decode_oracle.")
    try:
        out = subprocess.run([sys.argv[1], tmp], check=True,
                             capture_output=True, text=True).stdout
        frames = {}
        for line in out.splitlines():
            f, num, mask, reason, name = line.split(" ", 4)
            frames.setdefault(f, {})[int(num)] = (int(mask), reason, name)
        bad = 0
        for f, fr in sorted(frames.items()):
            view = tshark_view(tshark, os.path.join(tmp, f), tmp)
            for num, (mask, reason, name) in sorted(fr.items()):
                protos, frag = view[num]
                checks = [(bit, c, bool(protos & names), "/".join(sorted(names)))
                          for bit, c, names in PROTOS]
                checks.append((S_FRAG, "fragments", frag, "fragment fields"))
                for bit, counter, theirs, what in checks:
                    ours = bool(mask & bit)
                    if ours == theirs:
                        continue
                    tolerated = (f.startswith("bad_") and
                                 reason in BAD_MAY_DIFFER)
                    print("%s %s #%d '%s' (%s): rs_decode %s=%d, tshark %s %s"
                          % ("note" if tolerated else "MISMATCH", f, num,
                             name, reason, counter, ours, what,
                             "present" if theirs else "absent"))
                    bad += not tolerated
        n = sum(len(v) for v in frames.values())
        print("%d frames in %d files compared, %d mismatches" %
              (n, len(frames), bad))
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
