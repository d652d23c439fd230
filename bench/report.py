#!/usr/bin/python3
"""report.py - bench/RESULTS.md sections and plot data from a bench run.

    report.py BENCH_TMP RESULTS.md PLOTDATA_DIR

Reads BENCH_TMP/results (live.tsv, file.tsv, where-*.json, meta.json) and
BENCH_TMP/caps (captures, *.reqframes).  Rewrites only the blocks between
<!-- bench:NAME:begin --> and <!-- bench:NAME:end --> for NAME in setup,
live, file, where (appending a block that is missing), so sections written
by others, and a block whose data this run did not produce, are kept.
"""
import bisect
import json
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict

LIVE_TOOLS = ["ringsniff", "tcpdump", "tcpdump-B", "netsniff-ng", "tshark", "seed",
              "ringsniff-T1", "ringsniff-nolog"]
FILE_TOOLS = ["ringsniff-T1", "ringsniff-T1-null", "ringsniff-T2", "ringsniff-nolog", "tcpdump",
              "netsniff-ng", "tshark", "seed"]
TOOL_DESC = {
    "ringsniff": "ringsniff (2 workers, flows + reassembly + HTTP log to a file)",
    "tcpdump": "tcpdump -w /dev/null (default 2 MiB buffer)",
    "tcpdump-B": "tcpdump -B 262144 -w /dev/null",
    "netsniff-ng": "netsniff-ng --out /dev/null --silent",
    "tshark": "tshark -Y http.request -T fields (HTTP extraction)",
    "seed": "seed_sniffer.py (AF_PACKET socket + dpkt, as the blog)",
    "ringsniff-T1": "ringsniff -r -T 1, HTTP + flow logs",
    "ringsniff-T1-null": "ringsniff -r -T 1, HTTP + flow logs to /dev/null (tcpdump's sink)",
    "ringsniff-T2": "ringsniff -r -T 2, HTTP + flow logs",
    "ringsniff-nolog": "ringsniff without HTTP and flow logs (summary only)",
}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def num(s):
    if s is None or s == "" or s == "?":
        return None
    try:
        return float(s)
    except ValueError:
        return None


def fmt(x, spec="{:,.0f}", none="–"):
    return none if x is None else spec.format(x)


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def capinfo(path):
    out = subprocess.run(["capinfos", "-T", "-r", "-M", "-c", "-d", path],
                         capture_output=True, text=True, check=True).stdout
    _, pk, by = out.strip().split("\t")[:3]
    return int(pk), int(by)


class Oracle:
    """HTTP requests tshark saw in a capture, by frame number."""

    def __init__(self, caps):
        self.caps = caps
        self.frames = {}
        self.npk = {}

    def _load(self, name):
        base = name.split(".")[0]
        if name not in self.frames:
            with open(os.path.join(self.caps, base + ".reqframes")) as f:
                fr = sorted(int(x) for x in f if x.strip())
            pk, _ = capinfo(os.path.join(self.caps, name + ".pcap"))
            self.npk[name] = pk
            self.frames[name] = fr[:bisect.bisect_right(fr, pk)]
        return self.frames[name], self.npk[name]

    def known(self, name, offered):
        """Requests in the first OFFERED frames of NAME replayed in a loop."""
        fr, n = self._load(name)
        loops, rest = divmod(int(offered), n)
        return loops * len(fr) + bisect.bisect_right(fr, rest)

    def in_file(self, name):
        fr, _ = self._load(name)
        return len(fr)


def read_commands(tmp):
    """{phase: [(tool, command)]} as the scripts ran them (bench_cmd_note)."""
    out = defaultdict(list)
    path = os.path.join(tmp, "results", "commands.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                ph, tool, cmd = line.rstrip("\n").split("\t", 2)
                out[ph].append((tool, cmd))
    return out


def stamp(meta):
    """Which run a generated block comes from: with --only, the blocks of
    phases not run are kept, and must not borrow the new run's date."""
    return ("*Measured in the run of %s–%s, commit `%s`, `%s` (setup above).*\n" % (
        meta.get("date_start", meta["date"]), meta["date"].split(" ", 1)[-1], meta["commit"],
        meta["command"]))


def commands_block(cmds, phases, title="exact commands"):
    rows = [(ph, t, c) for ph in phases for t, c in cmds.get(ph, [])]
    if not rows:
        return []
    out = ["<details><summary>%s (as run on the first capture, the others differ by file "
           "name only; `$SCRATCH` is the run's scratch directory)</summary>\n" % title,
           "| phase | tool | command |", "|---|---|---|"]
    for ph, t, c in rows:
        out.append("| %s | %s | `%s` |" % (ph, t, c.replace("|", "\\|")))
    out.append("\n</details>\n")
    return out


def rate_label(r):
    return "top speed" if r == "top" else "%gk pps" % (int(r) / 1000)


# ---- live ---------------------------------------------------------------

def live_section(rows, oracle, meta, plotdir, cmds=None):
    if not rows:
        return None
    by = defaultdict(list)
    caps, rates = [], []
    for r in rows:
        if r["capture"] not in caps:
            caps.append(r["capture"])
        if r["rate"] not in rates:
            rates.append(r["rate"])
        by[(r["capture"], r["rate"], r["tool"])].append(r)
    rates.sort(key=lambda x: float("inf") if x == "top" else int(x))
    tools = [t for t in LIVE_TOOLS if any(k[2] == t for k in by)]
    tools += sorted({k[2] for k in by} - set(tools))
    out = []
    out.append("## Live drop rate\n")
    out.append(stamp(meta))
    out.append(
        "tcpreplay replays a recorded capture (`--preload-pcap --loop 0 --unique-ip`, so every loop "
        "is new flows) from one namespace into a veth for %s s per run, at fixed rates and at "
        "`--topspeed`; one tool at a time captures on the other end (IPv6 and ARP off: every "
        "frame on the link is tcpreplay's). **offered**: tcpreplay's successful packets; "
        "**lost**: frames that reached the capturing veth (its rx_packets) but not the tool, "
        "in %% of those; **received**: frames the tool says it got; **kernel drops**: the tool's own count (socket/ring statistics); "
        "**HTTP found**: requests the tool reported against the requests in the frames offered "
        "(tshark's count per frame of the capture × loops); **CPU**: the tool's user+sys seconds "
        "from the moment it was ready to its exit (children included: tshark's dumpcap), per "
        "million frames it received. Medians of %s runs; `top speed` is the generator's maximum "
        "*with that tool running* on the same 2 CPUs, so it differs by tool.\n"
        % (meta.get("live_secs", "?"), meta.get("runs", "?")))
    plot_loss, plot_http, plot_rate = {}, {}, {}
    for cap in caps:
        top_rows = []
        out.append("### Capture `%s` (%s)\n" % (cap, meta.get("captures", {}).get(cap, {}).get("desc", "")))
        out.append("| rate | tool | achieved pps | offered | received | lost % | kernel drops | HTTP found / known | CPU s per M frames | peak RSS MiB | notes |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for rate in rates:
            for tool in tools:
                rs = by.get((cap, rate, tool), [])
                if not rs:
                    continue
                good = [r for r in rs if r["status"] not in ("nostart",)]
                pps = med([num(r["actual_pps"]) for r in good])
                offered = med([num(r["offered"]) for r in good])
                loss = []
                found_pct = []
                found_abs = []
                known_abs = []
                cpu = []
                for r in good:
                    arr, rec = num(r["arrived"]), num(r["received"])
                    if arr and rec is not None:
                        loss.append(100.0 * (arr - rec) / arr)
                    if r["http_found"] != "" and num(r["offered"]):
                        k = oracle.known(cap, num(r["offered"]))
                        f = num(r["http_found"])
                        found_abs.append(f)
                        known_abs.append(k)
                        found_pct.append(100.0 * f / k if k else None)
                    c = num(r["cpu_s"])
                    if c is not None and rec:
                        cpu.append(c / rec * 1e6)
                kd = med([num(r["kernel_drops"]) for r in good])
                recv = med([num(r["received"]) for r in good])
                rss = med([num(r["maxrss_kb"]) for r in good])
                notes = []
                st = defaultdict(int)
                for r in rs:
                    if r["status"] != "ok":
                        st[r["status"]] += 1
                if st.get("killed"):
                    g = meta.get("seed_grace_s" if tool == "seed" else "grace_s", "?")
                    notes.append("still working through its backlog %s s after SIGTERM: "
                                 "killed in %d/%d runs" % (g, st["killed"], len(rs)))
                if st.get("nostart"):
                    notes.append("did not start in %d runs" % st["nostart"])
                if tool == "tshark":
                    notes.append("received = captured by dumpcap")
                    if st.get("killed") and kd is None:
                        notes.append("a killed tshark prints no drop count: lost % has them")
                found_s = "–"
                if found_pct:
                    found_s = "%s / %s (%.1f%%)" % (fmt(med(found_abs)), fmt(med(known_abs)),
                                                    med(found_pct))
                lm = med(loss)
                out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    rate_label(rate), tool, fmt(pps), fmt(offered), fmt(recv),
                    fmt(lm, "{:.2f}"), fmt(kd), found_s, fmt(med(cpu), "{:.2f}"),
                    fmt(rss / 1024 if rss else None, "{:,.0f}"), "; ".join(notes)))
                if rate == "top":
                    top_rows.append((tool, pps, med(cpu), lm))
                plot_loss[(cap, rate, tool)] = lm
                plot_http[(cap, rate, tool)] = med(found_pct)
                plot_rate[(cap, rate, tool)] = pps
        out.append("")
        out.append("![frames lost and HTTP requests found by rate](plots/live_%s.png)\n" % cap)
        out.append("![generator maximum with each tool capturing](plots/live_top_%s.png)\n" % cap)
        with open(os.path.join(plotdir, "live_top_%s.dat" % cap), "w") as f:
            for tool, pps, cpu, lm in top_rows:
                f.write("%s %s %s %s\n" % (tool, "NaN" if pps is None else "%.0f" % pps,
                                            "NaN" if cpu is None else "%.3f" % cpu,
                                            "NaN" if lm is None else "%.3f" % lm))
        # Plot data: one row per rate, one column per tool.
        for kind, data in (("loss", plot_loss), ("http", plot_http), ("pps", plot_rate)):
            with open(os.path.join(plotdir, "live_%s_%s.dat" % (kind, cap)), "w") as f:
                f.write("rate " + " ".join(tools) + "\n")
                for rate in rates:
                    vals = [data.get((cap, rate, t)) for t in tools]
                    f.write('"%s" ' % rate_label(rate) +
                            " ".join("NaN" if v is None else "%.4f" % v for v in vals) + "\n")
    # Goals.
    out.append("### Goal: zero kernel drops and every HTTP request found, for ringsniff, at every rate\n")
    for cap in caps:
        lines = []
        ok_all = True
        for rate in rates:
            rs = [r for r in by.get((cap, rate, "ringsniff"), []) if r["status"] != "nostart"]
            if not rs:
                continue
            drops = [num(r["kernel_drops"]) or 0 for r in rs]
            lost = [(num(r["arrived"]) or 0) - (num(r["received"]) or 0) for r in rs]
            miss = []
            for r in rs:
                if num(r["offered"]):
                    miss.append(oracle.known(cap, num(r["offered"])) - (num(r["http_found"]) or 0))
            pps = med([num(r["actual_pps"]) for r in rs])
            good = max(drops) == 0 and max(lost) == 0 and (not miss or max(miss) <= 0)
            ok_all &= good
            short = ""
            if rate != "top" and pps and pps < 0.98 * int(rate):
                short = ": the generator fell short of the target while ringsniff ran"
            lines.append("- %s (achieved %s pps%s): kernel drops %s, frames lost %s, HTTP requests "
                         "missed %s in %d runs — %s" % (
                             rate_label(rate), fmt(pps), short, "/".join(fmt(d) for d in drops),
                             "/".join(fmt(x) for x in lost), "/".join(fmt(x) for x in miss),
                             len(rs), "**met**" if good else "**not met**"))
        out.append("`%s`: %s\n" % (cap, "**met at every rate**" if ok_all else "**not met at every rate**"))
        out.extend(lines)
        top = [r for r in by.get((cap, "top", "tcpdump"), [])]
        rtop = [r for r in by.get((cap, "top", "ringsniff"), [])]
        if top and rtop:
            a = med([num(r["actual_pps"]) for r in rtop])
            b = med([num(r["actual_pps"]) for r in top])
            if a and b:
                out.append("\nAt top speed the generator reached %s pps while ringsniff ran, %s pps "
                           "while tcpdump ran (%.0f%%): on 2 CPUs the capture tool's CPU time is "
                           "taken from tcpreplay, so the generator's maximum is itself a measure "
                           "of the tool's cost." % (fmt(a), fmt(b), 100 * a / b))
        out.append("")
    out.extend(commands_block(cmds or {}, ["live"]))
    return "\n".join(out)


# ---- file -------------------------------------------------------------

def quartiles(xs):
    """(p25, median, p75) of xs, or None."""
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    if len(xs) < 4:
        return (xs[0], statistics.median(xs), xs[-1])
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return (q[0], q[1], q[2])


def goal_rounds(goal, cap, prefix="g"):
    """Per round of the goal measurement (tcpdump, then each ringsniff sink,
    seconds apart on one pinned CPU): each tool's wall and CPU time over
    tcpdump's in the same round.  Rounds are named prefix + number (g: the
    page cache as written, gb: as read back).  Returns {tool: (wall ratios,
    cpu ratios)}."""
    rounds = defaultdict(dict)
    for r in goal:
        if (r["capture"] == cap and r["status"] == "ok" and
                re.fullmatch(re.escape(prefix) + r"\d+", r["run"])):
            rounds[r["run"]][r["tool"]] = (num(r["wall_s"]),
                                           (num(r["user_s"]) or 0) + (num(r["sys_s"]) or 0))
    out = defaultdict(lambda: ([], []))
    for tools in rounds.values():
        td = tools.get("tcpdump")
        if not td or not td[0] or not td[1]:
            continue
        for t, (w, c) in tools.items():
            if t != "tcpdump" and w:
                out[t][0].append(w / td[0])
                out[t][1].append(c / td[1])
    return out


def pagecache_note(meta):
    """What the read-back did to the page cache (file.sh's pagecache.txt)."""
    pc = meta.get("pagecache") or {}
    a, b = pc.get("file_huge_mb_before"), pc.get("file_huge_mb_after")
    if a is None or b is None:
        return ""
    return (" FileHugePages in /proc/meminfo (the page cache's 2 MiB folios) went from %s MiB "
            "before the read-back to %s MiB after." % (a, b))


def file_section(rows, oracle, meta, plotdir, goal=(), cmds=None):
    if not rows:
        return None
    by = defaultdict(list)
    caps = []
    for r in rows:
        if r["capture"] not in caps:
            caps.append(r["capture"])
        by[(r["capture"], r["tool"], r["file"])].append(r)
    out = ["## File throughput\n", stamp(meta)]
    out.append(
        "Each tool reads the same capture from the page cache (read once before every run). "
        "**wall** is the elapsed time (median of %s runs), from which packets/s, Gbit/s (captured "
        "bytes) and ns per packet; **CPU ns/pkt** is user+sys per packet, steadier than wall "
        "time on this shared machine. netsniff-ng, tshark and the seed sniffer read the first %s "
        "packets of the capture (`*.head.pcap`) so a run stays within seconds; their per-packet "
        "figures are net of startup (a 1-packet file's run is subtracted). netsniff-ng copies "
        "to a file in /dev/shm, not to /dev/null, where it makes ~170 write calls per packet. ringsniff maps the capture file: its "
        "peak RSS counts the mapped pages still resident (once per worker with -T 2).\n"
        % (meta.get("runs", "?"), fmt(meta.get("head_pkts"))))
    plot = {}
    tools_present = []
    for cap in caps:
        out.append("### Capture `%s` (%s)\n" % (cap, meta.get("captures", {}).get(cap, {}).get("desc", "")))
        out.append("| tool | file (packets) | wall s | packets/s | Gbit/s | ns/pkt (wall) | CPU ns/pkt | peak RSS MiB | HTTP found / in file | time per packet vs tcpdump |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        td = None
        res = {}
        for tool in FILE_TOOLS:
            keys = [k for k in by if k[0] == cap and k[1] == tool and not k[2].endswith(".tiny.pcap")]
            if not keys:
                continue
            rs = by[keys[0]]
            tiny = by.get((cap, tool, cap + ".tiny.pcap"), [])
            pk = num(rs[0]["packets"])
            by_ = num(rs[0]["bytes"])
            wall = med([num(r["wall_s"]) for r in rs])
            cpu = med([(num(r["user_s"]) or 0) + (num(r["sys_s"]) or 0) for r in rs])
            w0 = med([num(r["wall_s"]) for r in tiny]) if tiny else 0.0
            c0 = med([(num(r["user_s"]) or 0) + (num(r["sys_s"]) or 0) for r in tiny]) if tiny else 0.0
            wnet = max(wall - (w0 or 0), 1e-6)
            cnet = max(cpu - (c0 or 0), 0.0)
            rss = med([num(r["maxrss_kb"]) for r in rs])
            found = med([num(r["http_found"]) for r in rs])
            infile = oracle.in_file(keys[0][2][:-len(".pcap")])
            res[tool] = dict(pk=pk, wall=wnet, cpu=cnet, pps=pk / wnet, gbps=by_ * 8 / wnet / 1e9,
                             nspp=wnet / pk * 1e9, cnspp=cnet / pk * 1e9)
            if tool == "tcpdump":
                td = res[tool]
            note_start = " (%.2f s of it startup)" % w0 if tiny and w0 else ""
            out.append("| %s | %s (%s) | %.2f%s | %s | %.2f | %s | %s | %s | %s | %s |" % (
                tool, keys[0][2], fmt(pk), wall, note_start, fmt(pk / wnet),
                by_ * 8 / wnet / 1e9, fmt(wnet / pk * 1e9), fmt(cnet / pk * 1e9),
                fmt(rss / 1024 if rss else None), 
                "%s / %s" % (fmt(found), fmt(infile)) if found is not None else "–",
                "__TD__%s" % tool))
            plot[(cap, tool)] = pk / wnet
            if tool not in tools_present:
                tools_present.append(tool)
        # ratios against tcpdump
        for i, line in enumerate(out):
            m = re.search(r"__TD__(\S+) \|$", line)
            if m:
                t = m.group(1)
                if td and t in res:
                    # Per packet: tshark and seed read a shorter file.
                    ratio = "%.2f× (CPU %.2f×)" % (
                        res[t]["nspp"] / td["nspp"],
                        res[t]["cnspp"] / td["cnspp"] if td["cnspp"] else float("nan"))
                    if t == "tcpdump":
                        ratio = "1"
                else:
                    ratio = "–"
                out[i] = line.replace("__TD__%s" % t, ratio)
        out.append("")
        if "ringsniff-T1" in res and td:
            # Judged on wall time; CPU time is given beside it because
            # the wall clock of these shared CPUs is the noisier figure.
            def verdict(t, what):
                r = res[t]
                return ("%s, %s: %s — %s ns/packet wall (%s CPU) against tcpdump's %s (%s CPU): "
                        "%.2f× the time (CPU %.2f×)." % (
                            t, what, "**met**" if r["wall"] <= td["wall"] else "**not met**",
                            fmt(r["nspp"]), fmt(r["cnspp"]), fmt(td["nspp"]), fmt(td["cnspp"]),
                            r["wall"] / td["wall"],
                            r["cpu"] / td["cpu"] if td["cpu"] else float("nan")))
            out.append("Goal (full pipeline, one thread, at least as fast as `tcpdump -r FILE -w /dev/null`):\n")
            states = [(pre, goal_rounds(goal, cap, pre), label) for pre, label in (
                ("g", "the page cache as tcpdump wrote the capture (4 KiB pages)"),
                ("gb", "the page cache as read back from disk (readahead's large folios)"))]
            states = [s for s in states if s[1]]
            if states:
                n = max(len(v[0]) for v in states[0][1].values())
                out.append("Judged on %d paired rounds (`BENCH_GOAL_RUNS`): in each, tcpdump and then "
                           "ringsniff read the capture one after another on one pinned CPU, and "
                           "ringsniff's time is divided by tcpdump's in that round; the median "
                           "of those ratios decides, the quartiles show the spread. (The table "
                           "above is the median of %s unpaired runs.)%s\n" % (
                               n, meta.get("runs", "?"),
                               " The rounds run twice: first with %s, then, after the captures were "
                               "dropped from the cache and read back once, with %s.%s" % (
                                   states[0][2], states[-1][2], pagecache_note(meta))
                               if len(states) > 1 else ""))
                for pre, paired, label in states:
                    if len(states) > 1:
                        out.append("With %s:\n" % label)
                    for t, what in (("ringsniff-T1-null", "logs written to /dev/null, tcpdump's sink"),
                                    ("ringsniff-T1", "logs written to files")):
                        if t not in paired:
                            continue
                        w, c = quartiles(paired[t][0]), quartiles(paired[t][1])
                        out.append("- %s, %s: %s — %.2f× tcpdump's time (quartiles %.2f–%.2f), "
                                   "CPU %.2f× (%.2f–%.2f), %d rounds." % (
                                       t, what, "**met**" if w[1] <= 1.0 else "**not met**",
                                       w[1], w[0], w[2], c[1], c[0], c[2], len(paired[t][0])))
                    if len(states) > 1:
                        out.append("")
            else:
                out.append("- " + verdict("ringsniff-T1", "logs written to files"))
                if "ringsniff-T1-null" in res:
                    out.append("- " + verdict("ringsniff-T1-null", "logs written to /dev/null as tcpdump's copy is"))
            if "ringsniff-nolog" in res:
                out.append("- (for reference, no logs at all: %.2f× the time)" % (
                    res["ringsniff-nolog"]["wall"] / td["wall"]))
            out.append("")
    out.append("![packets per second reading each capture](plots/file.png)\n")
    out.extend(commands_block(cmds or {}, ["file", "goal"]))
    with open(os.path.join(plotdir, "file_pps.dat"), "w") as f:
        f.write("tool " + " ".join(caps) + "\n")
        for t in tools_present:
            f.write(t + " " + " ".join("NaN" if plot.get((c, t)) is None else "%.1f" % plot[(c, t)]
                                       for c in caps) + "\n")
    return "\n".join(out)


# ---- where ------------------------------------------------------------

def where_section(tmp, meta, plotdir, cmds=None):
    res = os.path.join(tmp, "results")
    files = sorted(f for f in os.listdir(res) if f.startswith("where-") and f.endswith(".json"))
    if not files:
        return None
    data = {}
    for f in files:
        with open(os.path.join(res, f)) as fh:
            data[f[len("where-"):-len(".json")]] = json.load(fh)
    caps = sorted(data, key=lambda c: (["small", "mixed"] + [c]).index(c))
    perf_ok = open(os.path.join(res, "perf_ok")).read().strip() == "1" if os.path.exists(os.path.join(res, "perf_ok")) else False
    out = ["## Where the time goes\n", stamp(meta)]
    out.append(
        "Instructions per packet by pipeline stage, ringsniff -r -T 1 with HTTP and flow logs, "
        "counted by callgrind (`valgrind --tool=callgrind`) on the first %s packets of each "
        "capture, minus the same command on a 1-packet file (start-up, flow table set-up and "
        "teardown: %s instructions per run, whatever the packet count). %s Each instruction is charged to the stage of the source file it belongs to "
        "(inlined code too); library code (libc's vsnprintf, memcpy, liburcu's cds_lfht) and "
        "shared helpers (rs_addr_str) are charged to their callers in proportion to each call "
        "site's inclusive cost (bench/cg_stages.py).\n" % (
            fmt(meta.get("prof_pkts")), fmt(data[caps[0]].get("fixed_ir")),
            "`perf stat -e instructions` works here too (see below)." if perf_ok else
            "`perf stat -e instructions` is not supported in this VM (no PMU counters), hence callgrind."))
    hdr = "| stage | " + " | ".join("`%s` instr/pkt | share" % c for c in caps) + " |"
    out.append(hdr)
    out.append("|---|" + "---:|---:|" * len(caps))
    stages = [s["stage"] for s in data[caps[0]]["stages"]]
    for st in stages:
        cells = []
        for c in caps:
            d = data[c]
            s = next(x for x in d["stages"] if x["stage"] == st)
            cells.append("%s | %.1f%%" % (fmt(s["per_packet"]), 100.0 * s["ir"] / d["total_ir"]))
        out.append("| %s | %s |" % (st, " | ".join(cells)))
    out.append("| **total** | %s |" % " | ".join(
        "**%s** | 100%%" % fmt(data[c]["total_ir"] / data[c]["packets"]) for c in caps))
    out.append("")
    out.append("![instructions per packet by stage](plots/where.png)\n")
    for c in caps:
        d = data[c]
        rq = d["http_requests"] or 0
        if rq:
            # By stage (source file), not by function: with link-time
            # optimisation rs_log_http is inlined into its caller.
            logs = next(x for x in d["stages"] if x["stage"].startswith("JSON logs"))["ir"]
            out.append("`%s`: %s packets, %s HTTP transactions: the JSON log stage costs %s "
                       "instructions per HTTP line (flow lines are a handful), HTTP parsing %s "
                       "instructions per transaction (request and response)." % (
                           c, fmt(d["packets"]), fmt(rq), fmt(logs / rq),
                           fmt(next(x for x in d["stages"] if x["stage"] == "HTTP parsing")["ir"] / rq)))
    out.append("")
    out.append("Top functions by own instructions (`%s`); with link-time optimisation a "
               "function's code is often inlined into another's, so each row is the source "
               "file's lines inside the function they were compiled into:\n" % caps[0])
    out.append("| compiled into | source file | instr/pkt |")
    out.append("|---|---|---:|")
    for t in data[caps[0]]["top_self"][:12]:
        out.append("| %s | %s | %s |" % (t["function"], t["file"], fmt(t["ir"] / data[caps[0]]["packets"])))
    out.append("")
    if perf_ok:
        for c in caps:
            p = os.path.join(res, "perf-%s.csv" % c)
            if os.path.exists(p):
                out.append("perf stat, whole `%s` capture: `%s`" % (c, open(p).read().strip().replace("\n", "; ")))
    out.append("")
    out.extend(commands_block(cmds or {}, ["where"]))
    with open(os.path.join(plotdir, "where.dat"), "w") as f:
        f.write("capture " + " ".join('"%s"' % st.split(" (")[0] for st in stages) + "\n")
        for c in caps:
            f.write(c + " " + " ".join(
                "%.1f" % next(x for x in data[c]["stages"] if x["stage"] == st)["per_packet"]
                for st in stages) + "\n")
    return "\n".join(out)


# ---- setup ------------------------------------------------------------

def reading_run(path):
    """The commit the hand-written reading says it was written for
    (<!-- reading-for: COMMIT -->), '' when it names none, None when there
    is no reading."""
    if not os.path.exists(path):
        return None
    text = open(path).read()
    if "<!-- bench:reading:begin -->" not in text:
        return None
    m = re.search(r"<!-- reading-for: (\S+) -->", text)
    return m.group(1) if m else ""


def setup_section(meta, reading_for=None):
    m = meta
    out = ["## Benchmarks: setup (bench/run.sh)\n"]
    out.append("- run: %s to %s, %s; mode `%s`, %s runs per measurement (medians quoted), %s; "
               "phases measured: %s (a section of a phase not run keeps its earlier "
               "numbers, under its own date and commit)"
               % (m.get("date_start", "?"), m["date"], "%s s in all" % m.get("elapsed_s", "?"),
                  m["mode"], m["runs"], "command `%s`" % m["command"], m.get("phases", "?")))
    dirty = m.get("dirty")
    if isinstance(dirty, str):
        dirty = " (%s)" % dirty
    elif dirty:
        dirty = " (plus %s uncommitted changes in the tree)" % dirty
    else:
        dirty = ""
    out.append("- commit when ringsniff was built: `%s`%s; ringsniff: `%s` (%s)" % (
        m["commit"], dirty, m["ringsniff"], m["build"]))
    out.append("- machine: %s CPUs, %s, %s MiB RAM, kernel %s; load average at start %s, at end %s "
               "(other jobs share these CPUs: figures are noisy, hence medians and CPU-time columns)"
               % (m["nproc"], m["cpu"], m["mem_mib"], m["kernel"], m["load_start"], m.get("load_end", "?")))
    out.append("- tools: " + ", ".join(m["versions"]))
    out.append("- captures (recorded by bench/capture.sh with tcpdump on the server's veth; "
               "nginx in one namespace, wrk/ab in the other; large files live in a temporary "
               "directory, never in git):")
    for name, c in m.get("captures", {}).items():
        out.append("  - `%s`: %s — %s packets, %s MB, %s HTTP requests (tshark), %s (ringsniff -r)" % (
            name, c["desc"], fmt(c["packets"]), fmt(c["bytes"] / 1e6, "{:,.1f}"),
            fmt(c["requests_tshark"]), fmt(c.get("requests_ringsniff"))))
    if m.get("capture_log"):
        out.append("\n  <details><summary>traffic commands</summary>\n")
        out.append("  ```")
        out.extend("  " + l for l in m["capture_log"].splitlines())
        out.append("  ```\n  </details>")
    out.append("- exact commands: at the end of each section, as the scripts ran them; plots "
               "(gnuplot, bench/plot/*.gp) in bench/plots/, shown in each section.")
    if reading_for is not None and reading_for != m["commit"]:
        out.append("- **the hand-written reading below was written for the run at `%s`, not this "
                   "one (`%s`): its figures are not this run's until it is updated.**" % (
                       reading_for or "?", m["commit"]))
    out.append("")
    return "\n".join(out)


# ---- splice -----------------------------------------------------------

def splice(path, blocks):
    text = open(path).read() if os.path.exists(path) else "# ringsniff benchmark results\n"
    for name, body in blocks:
        if body is None:
            continue
        begin, end = "<!-- bench:%s:begin -->" % name, "<!-- bench:%s:end -->" % name
        block = "%s\n%s\n%s" % (begin, body.rstrip() + "\n", end)
        if begin in text and end in text:
            a = text.index(begin)
            b = text.index(end) + len(end)
            text = text[:a] + block + text[b:]
        else:
            # New blocks go after our last block, or at the end.
            last = None
            for n in ("setup", "live", "file", "where", "reading"):
                e = "<!-- bench:%s:end -->" % n
                if e in text:
                    last = text.index(e) + len(e)
            if last is None:
                text = text.rstrip() + "\n\n" + block + "\n"
            else:
                text = text[:last] + "\n\n" + block + text[last:]
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    tmp, results_md, plotdir = sys.argv[1:4]
    os.makedirs(plotdir, exist_ok=True)
    with open(os.path.join(tmp, "results", "meta.json")) as f:
        meta = json.load(f)
    oracle = Oracle(os.path.join(tmp, "caps"))
    cmds = read_commands(tmp)
    pc = os.path.join(tmp, "results", "pagecache.txt")
    if os.path.exists(pc):
        with open(pc) as f:
            meta["pagecache"] = dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)
    live = live_section(read_tsv(os.path.join(tmp, "results", "live.tsv")), oracle, meta, plotdir,
                        cmds)
    fil = file_section(read_tsv(os.path.join(tmp, "results", "file.tsv")), oracle, meta, plotdir,
                       read_tsv(os.path.join(tmp, "results", "goal.tsv")), cmds)
    where = where_section(tmp, meta, plotdir, cmds)
    reading_for = reading_run(results_md)
    if reading_for is not None and reading_for != meta["commit"]:
        print("report.py: the reading in %s was written for %s, this run is %s: update it "
              "(and its <!-- reading-for: COMMIT --> line)" % (
                  results_md, reading_for or "an unnamed run", meta["commit"]), file=sys.stderr)
    splice(results_md, [("setup", setup_section(meta, reading_for)), ("live", live),
                        ("file", fil), ("where", where)])


if __name__ == "__main__":
    main()
