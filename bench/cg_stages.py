#!/usr/bin/python3
"""cg_stages.py - where ringsniff's instructions go, from a callgrind profile.

    cg_stages.py callgrind.out PACKETS HTTP_REQUESTS \
        [callgrind.base.out BASE_PACKETS BASE_REQUESTS] > stages.json

With a base profile (the same command on a 1-packet capture), its cost is
subtracted first: what remains is what the packets cost, without start-up,
flow table set-up and teardown.

Every instruction is charged to a pipeline stage by the source file it came
from (inlined code included: callgrind records the file of each line).
Instructions in code outside the repository (libc's vsnprintf, memcpy,
liburcu's cds_lfht, ...) and in shared helpers (rs_addr_str) go to the
stages that called it, in proportion to
the inclusive cost of each call site, followed up the call graph until code
of the repository is reached.  Needs a build with debug info (-g).
"""
import json
import re
import sys
from collections import defaultdict

STAGES = [
    ("decode/", "decode (L2-L4)"),
    ("reassembly/flow", "flow table (lookup, insert, timeouts)"),
    ("reassembly/stream", "TCP reassembly"),
    ("reassembly/http", "HTTP parsing"),
    ("tools/ringsniff/output.c", "JSON logs (HTTP + flow lines)"),
    ("capture/", "capture file reading"),
    ("tools/ringsniff/", "ringsniff driver (worker loop, callbacks)"),
]
# Helpers called from several stages (decode_util.c: rs_addr_str, used by
# the logs) are charged to their callers, like library code.
SHARED = ("decode/decode_util.c",)
OTHER = "startup and other"
ORDER = [s for _, s in STAGES] + [OTHER]


def stage_of(path):
    if path is None or any(path.endswith(u) for u in SHARED):
        return None
    for key, name in STAGES:
        if "/" + key in path or path.startswith(key):
            return name
    return None


def parse(path):
    names = {"fl": {}, "fn": {}, "ob": {}}
    kind_of = {"fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl",
               "fn": "fn", "cfn": "fn", "ob": "ob", "cob": "ob"}
    self_stage = defaultdict(int)      # stage -> Ir (code of the repository)
    self_fn = defaultdict(int)         # non-repository function -> Ir
    self_any = defaultdict(int)        # (file, fn) -> Ir, for the top list
    edges_into = defaultdict(lambda: defaultdict(int))  # callee -> src -> Ir
    edges_out = defaultdict(int)       # caller fn -> inclusive Ir of its calls
    total = 0
    fl = fi = fn = cfn = None
    pending_call = False
    name_re = re.compile(r"^\((\d+)\)(?: (.*))?$")

    def name(kind, v):
        m = name_re.match(v)
        if not m:
            return v
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                cost = int(line.split()[-1]) if len(line.split()) > 1 else 0
                cur_file = fi if fi is not None else fl
                if pending_call:
                    pending_call = False
                    st = stage_of(cur_file)
                    src = ("stage", st) if st else ("fn", fn)
                    edges_into[cfn][src] += cost
                    edges_out[fn] += cost
                    continue
                total += cost
                st = stage_of(cur_file)
                if st:
                    self_stage[st] += cost
                else:
                    self_fn[fn] += cost
                self_any[(cur_file, fn)] += cost
                continue
            key, _, val = line.partition("=")
            if key not in kind_of and key != "calls":
                continue
            if key == "calls":
                pending_call = True
                continue
            v = name(kind_of[key], val)
            if key == "fl":
                fl, fi = v, None
            elif key in ("fi", "fe"):
                fi = v
            elif key == "fn":
                fn, fi = v, None
            elif key == "cfn":
                cfn = v
    return total, self_stage, self_fn, self_any, edges_into, edges_out


def analyze(path):
    total, self_stage, self_fn, self_any, edges_into, edges_out = parse(path)
    memo = {}

    def dist(fn, visiting):
        if fn in memo:
            return memo[fn]
        srcs = edges_into.get(fn)
        out = defaultdict(float)
        tot = sum(srcs.values()) if srcs else 0
        if not tot:
            out[OTHER] = 1.0
        else:
            visiting.add(fn)
            for (kind, what), c in srcs.items():
                w = c / tot
                if kind == "stage":
                    out[what] += w
                elif what in visiting or what is None:
                    out[OTHER] += w
                else:
                    for s, x in dist(what, visiting).items():
                        out[s] += w * x
            visiting.discard(fn)
        memo[fn] = out
        return out

    stages = defaultdict(float)
    for s, c in self_stage.items():
        stages[s] += c
    for fn, c in self_fn.items():
        for s, x in dist(fn, set()).items():
            stages[s] += c * x
    incl = {fn: c + edges_out.get(fn, 0) for fn, c in _self_by_fn(self_any).items()}
    return {"total": total, "stages": stages, "self": self_any, "incl": incl}


def main():
    if len(sys.argv) not in (4, 7):
        sys.exit("usage: cg_stages.py OUT PACKETS REQUESTS [BASE_OUT BASE_PACKETS BASE_REQUESTS]")
    a = analyze(sys.argv[1])
    packets, reqs = int(sys.argv[2]), int(sys.argv[3])
    fixed = 0
    if len(sys.argv) == 7:
        # A 1-packet run of the same command: its cost (start, flow table
        # set-up and teardown, summary) is the same whatever the packet
        # count, so subtracting it leaves what the packets cost.
        b = analyze(sys.argv[4])
        packets -= int(sys.argv[5])
        reqs -= int(sys.argv[6])
        fixed = b["total"]
        a["total"] -= b["total"]
        for k, v in b["stages"].items():
            a["stages"][k] -= v
        for k, v in b["self"].items():
            a["self"][k] = a["self"].get(k, 0) - v
        for k, v in b["incl"].items():
            a["incl"][k] = a["incl"].get(k, 0) - v
    top = sorted(a["self"].items(), key=lambda kv: -kv[1])[:15]
    json.dump({
        "total_ir": a["total"],
        "fixed_ir": fixed,
        "packets": packets,
        "http_requests": reqs,
        "stages": [{"stage": s, "ir": round(a["stages"].get(s, 0)),
                    "per_packet": a["stages"].get(s, 0) / packets if packets else None}
                   for s in ORDER],
        "inclusive": {k: a["incl"].get(k, 0) for k in
                      ("rs_log_http", "rs_log_flow", "rs_decode", "rs_flow_packet",
                       "rs_http_conn_data", "rs_worker_frame")},
        "top_self": [{"function": fn, "file": _short(fl), "ir": c}
                     for (fl, fn), c in top],
    }, sys.stdout, indent=1)
    print()


def _self_by_fn(self_any):
    out = defaultdict(int)
    for (_, fn), c in self_any.items():
        out[fn] += c
    return out


def _short(path):
    if not path:
        return "?"
    m = re.search(r"/(capture|decode|reassembly|bpf|tools)/(.*)$", path)
    if m:
        return m.group(1) + "/" + m.group(2)
    return path.split("/")[-1]


if __name__ == "__main__":
    main()
