#!/usr/bin/env bash
# run_tsan.sh - the concurrent parts of ringsniff under ThreadSanitizer: the
# shared flow table (test_flow_mt), the reporter reading counters while
# workers write them, the shutdown of live workers (SIGTERM, and the
# interface vanishing) and the --replay thread, in the real binary.  Fails
# on any TSan report.
#
#   run_tsan.sh SRCDIR BUILDROOT SANITIZE
#
# TSan cannot be combined with ASan, so this configures its own build of the
# project in BUILDROOT/tsan (-Db_sanitize=thread, debug) and builds only what
# it runs.  SANITIZE is the calling build's b_sanitize: from a sanitizer build
# this skips (77), so that `meson test` in both CI builds runs it once.  It
# skips too when the compiler cannot build and run a TSan program.  The live
# parts need root (network namespaces); without it they are skipped and said
# so.  liburcu 0.13 is invisible to TSan: see reassembly/flow.c (annotations)
# and tests/tsan/tsan.supp (what is left, with reasons).
set -uo pipefail
SRC=$(cd "${1:?source dir}" && pwd)
BUILDROOT=${2:?build dir}
SANITIZE=${3:-none}
if [ -n "$SANITIZE" ] && [ "$SANITIZE" != none ]; then
	echo "SKIP: this build uses -Db_sanitize=$SANITIZE; TSan runs from the plain build"
	exit 77
fi
t_start=$(date +%s)
work=$(mktemp -d)
. "$SRC/tests/lib/netns.sh"
rs_on_exit "rm -rf $work"
chmod 755 "$work"

# 1. Can this compiler build and run a TSan program here?  (Some kernels'
#    address-space randomisation defeats older TSan runtimes: then retry
#    with ASLR off for our processes, as the sanitizer docs advise.)
CC=${CC:-cc}
cat >"$work/probe.c" <<'EOF'
#include <pthread.h>
static int x;
static void *f(void *a) { (void)a; __atomic_fetch_add(&x, 1, __ATOMIC_RELAXED); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, f, 0); f(0); pthread_join(t, 0); return 0; }
EOF
if ! $CC -fsanitize=thread -pthread -o "$work/probe" "$work/probe.c" 2>"$work/probe.err"; then
	echo "SKIP: $CC cannot build with -fsanitize=thread: $(head -c 300 "$work/probe.err")"
	exit 77
fi
RUN=()
if ! "$work/probe" >/dev/null 2>&1; then
	if command -v setarch >/dev/null && setarch "$(uname -m)" -R "$work/probe" >/dev/null 2>&1; then
		RUN=(setarch "$(uname -m)" -R)
		echo "note: TSan needs ASLR off here (setarch -R)"
	else
		echo "SKIP: a TSan program does not run here: $("$work/probe" 2>&1 | head -c 300)"
		exit 77
	fi
fi

# 2. The TSan build: only the targets run below.
bdir=$BUILDROOT/tsan
if [ ! -f "$bdir/build.ninja" ]; then
	meson setup "$bdir" "$SRC" -Dbuildtype=debug -Db_sanitize=thread -Db_lto=false \
		-Dwerror=true >"$work/setup.log" 2>&1 || {
		echo "FAIL: meson setup of the TSan build:"; tail -20 "$work/setup.log"; exit 1; }
fi
ninja -C "$bdir" tools/ringsniff tests/reassembly/test_flow_mt \
	tests/bounds/gen_traffic >"$work/build.log" 2>&1 || {
	echo "FAIL: TSan build:"; grep -E "error|FAILED" "$work/build.log" | head -20; exit 1; }
RS=$bdir/tools/ringsniff
echo "TSan build ready ($(( $(date +%s) - t_start )) s)"

export TSAN_OPTIONS="suppressions=$SRC/tests/tsan/tsan.supp log_path=$work/tsan halt_on_error=0 second_deadlock_stack=1 history_size=4"
fail=0
reports() {  # what: fail if any process wrote a TSan report since the last call
	local f n=0
	for f in "$work"/tsan.*; do
		[ -e "$f" ] || continue
		if grep -q "ThreadSanitizer" "$f"; then
			n=$((n + $(grep -c "WARNING: ThreadSanitizer\|FATAL: ThreadSanitizer" "$f")))
			sed -n '1,60p' "$f"
		fi
		mv "$f" "$f.seen"
	done
	if [ $n -gt 0 ]; then
		echo "FAIL $1: $n ThreadSanitizer report(s)"
		fail=1
	else
		echo "ok $1: no ThreadSanitizer report"
	fi
}
phase() { echo "--- $1 ($(( $(date +%s) - t_start )) s)"; }

# 3. The flow table: 4 workers insert, look up and end flows of one key space.
phase "test_flow_mt"
"${RUN[@]}" "$bdir/tests/reassembly/test_flow_mt" >"$work/mt.out" 2>&1 || {
	echo "FAIL test_flow_mt: exit $?"; tail -20 "$work/mt.out"; fail=1; }
reports test_flow_mt

# run_file NAME FILE: -r with two workers, every output on, the reporter
# summing counters every 50 ms while the workers count.
run_file() {
	local name=$1 file=$2 rc
	"${RUN[@]}" "$RS" -r "$file" -T 2 --stats-interval 0.05 -v \
		--http-log "$work/$name.http" --flow-log "$work/$name.flows" \
		-w "$work/$name.out.pcap" --summary-json "$work/$name.json" \
		>"$work/$name.out" 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		echo "FAIL $name: exit $rc"; tail -5 "$work/$name.out"; fail=1
	fi
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["http_requests"] > 0 and s["workers"] == 2, s' \
		"$work/$name.json" || { echo "FAIL $name: summary"; fail=1; }
	reports "$name"
}

# 4. -r -T 2 on generated HTTP traffic (no root needed).
phase "file, generated"
"$bdir/tests/bounds/gen_traffic" flows "$work/gen.pcap" 20000 close
run_file file_generated "$work/gen.pcap"

# 5. Live: two workers on a veth between two namespaces, nginx and clients.
if [ "$(id -u)" != 0 ] || ! command -v nginx >/dev/null || ! command -v ab >/dev/null; then
	echo "SKIP (part): live shutdown tests need root, nginx and ab"
	echo "tsan: $(( $(date +%s) - t_start )) s in all"
	exit $fail
fi
phase "live, SIGTERM"
rs_net_up "ts$$"
rs_www_fill "$work"
rs_nginx_start "$work"
u="http://$RS_IP_SRV"

# start_live NAME: ringsniff -i with two workers; waits until it captures.
start_live() {
	local name=$1 i
	ip netns exec "$RS_NS_SRV" "${RUN[@]}" "$RS" -i "$RS_IF_SRV" -T 2 \
		--stats-interval 0.05 -v --http-log "$work/$name.http" \
		--flow-log "$work/$name.flows" -w "$work/$name.pcap" \
		--summary-json "$work/$name.json" 2>"$work/$name.err" &
	live_pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "capturing on" "$work/$name.err" && return 0
		kill -0 $live_pid 2>/dev/null || break
		sleep 0.05
	done
	echo "FAIL $name: did not start: $(tail -3 "$work/$name.err")"
	fail=1
	return 1
}

if start_live live_term; then
	rs_in_cli ab -q -k -n 2000 -c 8 "$u/1k.txt" >/dev/null 2>&1
	rs_in_cli ab -q -n 500 -c 4 "$u/index.html" >/dev/null 2>&1
	rs_in_cli curl -s -o /dev/null "$u/1m.bin"
	sleep 0.5
	kill -TERM $live_pid
	wait $live_pid
	rc=$?
	[ $rc = 0 ] || { echo "FAIL live_term: exit $rc: $(tail -3 "$work/live_term.err")"; fail=1; }
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["http_requests"] > 0, s' \
		"$work/live_term.json" || { echo "FAIL live_term: summary"; fail=1; }
	reports live_term
	# What the live run wrote (-w), read back with two workers.
	phase "file, recorded live"
	run_file file_recorded "$work/live_term.pcap"
	# Requests sent again to nginx (--replay: per-worker queues, the replay
	# thread, its report read by the main thread).  Generated ones: those
	# recorded above went to the target itself, which replay skips.
	phase "file, --replay"
	"$bdir/tests/bounds/gen_traffic" flows "$work/replay.pcap" 2000 close
	ip netns exec "$RS_NS_CLI" "${RUN[@]}" "$RS" -r "$work/replay.pcap" -T 2 \
		--stats-interval 0.05 --replay "$RS_IP_SRV:80" \
		--summary-json "$work/replay.json" >"$work/replay.out" 2>&1 ||
		{ echo "FAIL replay: exit $?: $(tail -3 "$work/replay.out")"; fail=1; }
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["replay_sent"] > 0, s' \
		"$work/replay.json" || { echo "FAIL replay: nothing sent"; fail=1; }
	reports replay
fi

# 6. Live, and the interface goes away under the workers: they stop on
#    their own (exit 1), with traffic still flowing.
phase "live, interface removed"
if start_live live_gone; then
	rs_in_cli ab -q -k -t 30 -n 1000000 -c 4 "$u/1k.txt" >/dev/null 2>&1 &
	ab_pid=$!
	sleep 2
	ip -n "$RS_NS_SRV" link del "$RS_IF_SRV"
	wait $live_pid
	rc=$?
	kill $ab_pid 2>/dev/null
	wait $ab_pid 2>/dev/null
	[ $rc = 1 ] || { echo "FAIL live_gone: exit $rc, expected 1"; fail=1; }
	grep -q "went down or away" "$work/live_gone.err" ||
		{ echo "FAIL live_gone: no message: $(tail -3 "$work/live_gone.err")"; fail=1; }
	reports live_gone
fi
echo "tsan: $(( $(date +%s) - t_start )) s in all"
exit $fail
