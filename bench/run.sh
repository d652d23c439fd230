#!/usr/bin/env bash
# run.sh - every benchmark in one command (as root).  Records real HTTP
# traffic (nginx, wrk, ab in namespaces), then measures, beside tcpdump,
# netsniff-ng, tshark and a tcpdump-and-Python style seed sniffer:
#   live drop rate   tcpreplay into a veth at fixed rates and top speed
#   file throughput  every tool reading the same captures from the page cache
#   where the time goes  ringsniff's instructions per packet per stage
# and rewrites its own sections of bench/RESULTS.md (between
# <!-- bench:NAME:begin/end --> markers; other sections are kept) and
# bench/plots/*.png.  A full run takes 22-25 minutes (quick: 2-3).
#
#   sudo bash bench/run.sh [--quick] [--runs N] [--only live,file,where]
#                          [--out RESULTS.md] [--keep]
#   bash bench/run.sh --report SCRATCH [--out RESULTS.md]
#
#   --quick   smoke check: short captures, 2 rates, 3 live tools, 1 run;
#             writes /tmp/ringsniff-bench-quick/RESULTS.md (+ plots/), not
#             bench/RESULTS.md, unless --out is given
#   --only    phases to run (captures are always made); sections of phases
#             not run stay as they are in RESULTS.md
#   --keep    keep the scratch directory (captures, raw outputs)
#   --report  measure nothing: rewrite the sections and plots from a kept
#             scratch directory (after changing report.py or the plots)
# For a change too small for these medians, bench/ab.py times two or more
# commands in interleaved, pinned rounds and gives the per-round ratios.
# Environment: RINGSNIFF=BIN measures that binary instead of building
# build-bench (release, -O3, with -g for callgrind's file attribution);
# BENCH_TMPDIR (default /tmp) holds the scratch directory (about 2 GB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
start_s=$SECONDS
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
argv="$*"

quick=0 keep=0 runs='' only='live,file,where' out='' report=''
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--keep) keep=1 ;;
	--runs) runs=$2; shift ;;
	--only) only=$2; shift ;;
	--out) out=$2; shift ;;
	--report) report=$2; shift ;;
	-h | --help) sed -n '2,28p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

# Sections and plots from BENCH_TMP's results into $out and $plots.
make_report() {
	/usr/bin/python3 "$here/report.py" "$BENCH_TMP" "$out" "$BENCH_TMP/plotdata"
	local pd=$BENCH_TMP/plotdata f c n
	n=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"])' \
		"$BENCH_TMP/results/meta.json")
	ncols() { head -1 "$1" | /usr/bin/python3 -c 'import shlex,sys; print(len(shlex.split(sys.stdin.read())) - 1)'; }
	for f in "$pd"/live_loss_*.dat; do
		[ -f "$f" ] || continue
		c=${f##*/live_loss_}; c=${c%.dat}
		gnuplot -e "loss='$f'; http='$pd/live_http_$c.dat'; n=$(ncols "$f"); out='$plots/live_$c.png'; title='Live capture of replayed traffic ($c), median of $n runs'" \
			"$here/plot/live.gp"
	done
	for f in "$pd"/live_top_*.dat; do
		[ -s "$f" ] || continue
		c=${f##*/live_top_}; c=${c%.dat}
		gnuplot -e "dat='$f'; out='$plots/live_top_$c.png'; title='Generator maximum with each tool capturing ($c), median of $n runs'" \
			"$here/plot/live_top.gp"
	done
	if [ -f "$pd/file_pps.dat" ]; then
		gnuplot -e "dat='$pd/file_pps.dat'; n=$(ncols "$pd/file_pps.dat"); out='$plots/file.png'; title='Reading captures from the page cache, median of $n runs'" \
			"$here/plot/file.gp"
	fi
	if [ -f "$pd/where.dat" ]; then
		gnuplot -e "dat='$pd/where.dat'; n=$(ncols "$pd/where.dat"); out='$plots/where.png'; title='ringsniff -r -T 1: instructions per packet by stage'" \
			"$here/plot/where.gp"
	fi
}

if [ -n "$report" ]; then
	BENCH_TMP=$(cd "$report" && pwd)
	out=${out:-$here/RESULTS.md}
	plots=$(dirname "$out")/plots
	[ "$out" = "$here/RESULTS.md" ] && plots=$here/plots
	mkdir -p "$BENCH_TMP/plotdata" "$plots"
	make_report
	echo "run.sh: $out and $plots/ rewritten from $BENCH_TMP" >&2
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces, packet sockets)" >&2; exit 1; }

missing=()
for t in ip ethtool nginx wrk ab tcpdump tcpreplay tshark capinfos editcap \
	netsniff-ng valgrind gnuplot meson ninja; do
	command -v "$t" >/dev/null || missing+=("$t")
done
[ -x /usr/bin/time ] || missing+=("time (/usr/bin/time)")
/usr/bin/python3 -c 'import dpkt' 2>/dev/null || missing+=("python3-dpkt")
if [ ${#missing[@]} -gt 0 ]; then
	echo "run.sh: missing: ${missing[*]}" >&2
	echo "  apt-get install nginx-light wrk apache2-utils tcpdump tcpreplay tshark netsniff-ng valgrind gnuplot-nox time python3-dpkt ethtool iproute2 meson ninja-build" >&2
	exit 1
fi

if [ "$quick" = 1 ]; then
	export BENCH_RUNS=${runs:-1} BENCH_RATES="100000 top" BENCH_LIVE_SECS=5
	export BENCH_LIVE_TOOLS="ringsniff tcpdump seed" BENCH_TOP_EXTRA='' BENCH_PROF_PKTS=5000
	export BENCH_HEAD_PKTS=20000 BENCH_GOAL_RUNS=3
	small_mb=60 mixed_mb=150 live_pkts=100000
	qdir=/tmp/ringsniff-bench-quick
	out=${out:-$qdir/RESULTS.md}
	plots=$(dirname "$out")/plots
	mode=quick
else
	export BENCH_RUNS=${runs:-3} BENCH_RATES=${BENCH_RATES:-"50000 100000 200000 top"}
	export BENCH_LIVE_SECS=${BENCH_LIVE_SECS:-10} BENCH_PROF_PKTS=${BENCH_PROF_PKTS:-20000}
	export BENCH_HEAD_PKTS=${BENCH_HEAD_PKTS:-100000}
	small_mb=300 mixed_mb=1400 live_pkts=200000
	out=${out:-$here/RESULTS.md}
	plots=$(dirname "$out")/plots
	[ "$out" = "$here/RESULTS.md" ] && plots=$here/plots
	mode=full
fi
mkdir -p "$(dirname "$out")" "$plots"

BENCH_TMP=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/ringsniff-bench.XXXXXX")
export BENCH_TMP
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "run.sh: scratch kept in $BENCH_TMP" >&2
	else
		rm -rf "$BENCH_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$here/lib.sh"
mkdir -p "$BENCH_TMP/results" "$BENCH_TMP/caps" "$BENCH_TMP/plotdata"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the binary: built here unless given; copied so that a rebuild of the
# shared tree cannot swap it in the middle of a run.
if [ -n "${RINGSNIFF:-}" ]; then
	build="given by RINGSNIFF"
	src=$RINGSNIFF
else
	b=$root/build-bench
	if [ ! -f "$b/build.ninja" ]; then
		meson setup "$b" "$root" -Dbuildtype=release -Ddebug=true >"$BENCH_TMP/build.log" 2>&1 ||
			bench_die "meson setup failed: $(tail -5 "$BENCH_TMP/build.log")"
	fi
	ninja -C "$b" tools/ringsniff >>"$BENCH_TMP/build.log" 2>&1 ||
		bench_die "build failed: $(grep -m3 -E 'error|Error' "$BENCH_TMP/build.log")"
	src=$b/tools/ringsniff
	build="build-bench: $(meson introspect --buildoptions "$b" | /usr/bin/python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print("buildtype=%s, optimization=-O%s, debug info %s, sanitizers %s" % (o["buildtype"], o["optimization"], "on" if o["debug"] else "off", o["b_sanitize"]))')"
fi
cp "$src" "$BENCH_TMP/ringsniff"
export RINGSNIFF=$BENCH_TMP/ringsniff
# What was built: the tree as it is now (others commit while this runs).
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
bench_log "measuring $src ($build); scratch $BENCH_TMP; mode $mode, $BENCH_RUNS run(s)"

phase() { [[ ",$only," == *",$1,"* ]]; }

# ---- captures
caps=$BENCH_TMP/caps
bash "$here/capture.sh" "$caps" "$small_mb" "$mixed_mb"
editcap -F pcap -r "$caps/small.pcap" "$caps/small.live.pcap" "1-$live_pkts"
rs_req() {
	"$RINGSNIFF" -q -r "$1" --summary-json /dev/stdout 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["http_requests"])'
}

# ---- measurements
t0=$SECONDS
phase live && bash "$here/live.sh" "$caps/small.live.pcap"
t1=$SECONDS
phase file && bash "$here/file.sh" "$caps/small.pcap" "$caps/mixed.pcap"
t2=$SECONDS
phase where && bash "$here/where.sh" "$caps/small.pcap" "$caps/mixed.pcap"
t3=$SECONDS
bench_log "phases: live $((t1 - t0)) s, file $((t2 - t1)) s, where $((t3 - t2)) s"

# ---- meta, report, plots
versions=(
	"$(gcc --version | head -1)"
	"$(tcpdump --version 2>&1 | head -2 | tr '\n' ' ')"
	"$(tshark --version 2>/dev/null | head -1)"
	"$(netsniff-ng -v 2>&1 | head -1)"
	"$(tcpreplay -V 2>&1 | head -1)"
	"python3 $(/usr/bin/python3 -c 'import sys, dpkt; print(sys.version.split()[0], "dpkt", dpkt.__version__)')"
	"$(nginx -v 2>&1)" "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	"$(valgrind --version)"
)
small_info=$(bench_capinfo "$caps/small.pcap")
live_info=$(bench_capinfo "$caps/small.live.pcap")
mixed_info=$(bench_capinfo "$caps/mixed.pcap")
export META_VERSIONS
META_VERSIONS=$(printf '%s\n' "${versions[@]}")
/usr/bin/python3 - "$BENCH_TMP/results/meta.json" <<EOF
import json, os, subprocess, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) // 1024
sp, sb = "$small_info".split()
mp, mb = "$mixed_info".split()
caps = "$caps"
def lines(p):
    return sum(1 for _ in open(p))
meta = {
    "date": subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True, text=True).stdout.strip(),
    "date_start": "$date_start", "phases": "$only",
    "commit": "$commit", "dirty": $dirty, "mode": "$mode", "runs": int("$BENCH_RUNS"),
    "command": ("bash bench/run.sh $argv").strip(),
    "ringsniff": "$src", "build": "$build",
    "nproc": os.cpu_count(), "cpu": cpu, "mem_mib": mem, "kernel": os.uname().release,
    "load_start": "$load_start", "load_end": open("/proc/loadavg").read().split()[:3],
    "elapsed_s": $SECONDS - $start_s,
    "live_secs": int("$BENCH_LIVE_SECS"), "rates": "$BENCH_RATES", "grace_s": int("${BENCH_GRACE:-5}"),
    "seed_grace_s": int("${BENCH_SEED_GRACE:-60}"),
    "head_pkts": int("$BENCH_HEAD_PKTS"), "prof_pkts": int("$BENCH_PROF_PKTS"),
    "versions": [v for v in os.environ["META_VERSIONS"].splitlines() if v],
    "captures": {
        "small": {"desc": "(a) small keep-alive GETs, wrk -c 32 (4 s passes until ${small_mb} MB)", "packets": int(sp), "bytes": int(sb),
                  "requests_tshark": lines(caps + "/small.reqframes"), "requests_ringsniff": int("$(rs_req "$caps/small.pcap")")},
        "mixed": {"desc": "(b) mixed sizes 35 B-1 MiB, POST bodies, chunked: wrk with bench/mixed.lua (3 s passes until ${mixed_mb} MB), then ab, one request per connection", "packets": int(mp), "bytes": int(mb),
                  "requests_tshark": lines(caps + "/mixed.reqframes"), "requests_ringsniff": int("$(rs_req "$caps/mixed.pcap")")},
    },
    "capture_log": open(caps + "/captures.txt").read(),
}
meta["load_end"] = " ".join(meta["load_end"])
lp, lb = "$live_info".split()
meta["captures"]["small.live"] = dict(
    desc="the first %s packets of (a), replayed in a loop" % lp, packets=int(lp), bytes=int(lb),
    requests_tshark=sum(1 for l in open(caps + "/small.reqframes") if int(l) <= int(lp)))
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
make_report
bench_log "done in $((SECONDS - start_s)) s: $out, $plots/"
