#!/usr/bin/env bash
# run_fuzz.sh - build the libFuzzer harnesses with clang (ASan+UBSan) and run
# each for a while; print executions, coverage and time per harness.
#
# Usage: tests/fuzz/run_fuzz.sh [options] [SECONDS [HARNESS...]]
#   SECONDS            per harness (default 30)
#   HARNESS            pcapfile decode stream http (default: all built)
#   --build-dir DIR    clang build dir to configure/use (default: build-fuzz
#                      in the source tree); configured on first use with
#                      CC=clang -Db_sanitize=address,undefined
#                      -Dc_args=-fsanitize=fuzzer-no-link (coverage in the
#                      libraries); UBSan halts on the first finding except
#                      the known ones listed in ubsan.supp
#   --prebuilt DIR     use harnesses already built in DIR/ (a tests/fuzz
#                      build dir of a libFuzzer build); no meson, no ninja
#   --out DIR          scratch corpora, logs, crash files (default:
#                      <build>/fuzz-out); the committed seeds are only read
#   --jobs N           harnesses run at once (default: number of CPUs)
# Exit: 0 no crash, 1 a harness crashed/leaked/timed out (its input is in
# OUT/<harness>/crash-* etc.: copy it to tests/fuzz/regress/<harness>/ and
# report it), 2 usage/build error, 77 clang or libFuzzer missing (skip).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build="" prebuilt="" out="" jobs=$(nproc 2>/dev/null || echo 2)
secs=30 secs_set=""
declare -a names=()

while [ $# -gt 0 ]; do
	case $1 in
	--build-dir) build=$2; shift 2 ;;
	--prebuilt) prebuilt=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	-*) echo "run_fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*)
		if [ ${#names[@]} -eq 0 ] && [ -z "$secs_set" ] &&
		   [[ $1 =~ ^[0-9]+$ ]]; then
			secs=$1 secs_set=1
		else
			names+=("$1")
		fi
		shift ;;
	esac
done

# Largest input per harness: a few frames or segments, not whole captures;
# libFuzzer grows inputs towards this gradually.
declare -A max_len=([pcapfile]=65536 [decode]=4096 [stream]=65536
		    [http]=65536)
# stream: libFuzzer's entropic schedule spent ~60% of the time updating
# feature frequencies (each input touches ~15k features); without it the
# harness runs twice the inputs and reaches more features in the same time.
declare -A extra=([stream]="-entropic=0")
declare -A dicts=([http]=http.dict [stream]=http.dict)

if [ -n "$prebuilt" ]; then
	bin=$prebuilt
	[ -n "$out" ] || out=$prebuilt/fuzz-out
else
	command -v clang >/dev/null || { echo "SKIP: clang not installed"; exit 77; }
	command -v meson >/dev/null && command -v ninja >/dev/null ||
		{ echo "run_fuzz.sh: needs meson and ninja" >&2; exit 2; }
	[ -n "$build" ] || build=$src/build-fuzz
	if [ ! -f "$build/build.ninja" ]; then
		echo "== configuring $build (clang, ASan+UBSan, libFuzzer coverage)"
		CC=clang meson setup "$build" "$src" \
			-Db_sanitize=address,undefined -Db_lundef=false \
			-Dbuildtype=debugoptimized -Dtests=true -Db_lto=false \
			-Dc_args=-fsanitize=fuzzer-no-link \
			>"$build.setup.log" 2>&1 ||
			{ cat "$build.setup.log" >&2; exit 2; }
		rm -f "$build.setup.log"
	fi
	grep -q '^ command = clang ' "$build/build.ninja" ||
		{ echo "run_fuzz.sh: $build is not a clang build" >&2; exit 2; }
	bin=$build/tests/fuzz
	[ -n "$out" ] || out=$build/fuzz-out
	if [ ${#names[@]} -eq 0 ]; then
		targets=$(ninja -C "$build" -t targets all 2>/dev/null |
			  sed -n 's|^\(tests/fuzz/fuzz_[a-z]*\): .*|\1|p' | sort -u)
	else
		targets=$(printf 'tests/fuzz/fuzz_%s\n' "${names[@]}")
	fi
	[ -n "$targets" ] || { echo "SKIP: no libFuzzer harnesses in $build"; exit 77; }
	echo "== building $(echo $targets | tr '\n' ' ')"
	# shellcheck disable=SC2086
	ninja -C "$build" $targets >"$out.build.log" 2>&1 ||
	    { mkdir -p "$out"; tail -n 40 "$out.build.log" >&2; exit 2; }
	rm -f "$out.build.log"
fi

if [ ${#names[@]} -eq 0 ]; then
	for f in "$bin"/fuzz_*; do
		[ -x "$f" ] && [ -f "$f" ] || continue
		names+=("${f##*/fuzz_}")
	done
fi
[ ${#names[@]} -gt 0 ] || { echo "SKIP: no harnesses in $bin"; exit 77; }
for n in "${names[@]}"; do
	[ -x "$bin/fuzz_$n" ] || { echo "run_fuzz.sh: no $bin/fuzz_$n" >&2; exit 2; }
	# A driver build (gcc) has the same names but no libFuzzer in it.
	grep -qa 'LLVMFuzzerRunDriver\|-max_total_time' "$bin/fuzz_$n" ||
		{ echo "SKIP: $bin/fuzz_$n is not a libFuzzer binary"; exit 77; }
done
mkdir -p "$out"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1:strict_string_checks=1
# UBSan stays recoverable in the build so that known, reported findings
# (ubsan.supp) can be suppressed; halt_on_error makes every other one fatal.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp

run_one() {  # name
	local n=$1 d=$out/$1 dict=() more=()
	mkdir -p "$d/corpus"
	rm -f "$d"/crash-* "$d"/leak-* "$d"/timeout-* "$d"/oom-*
	[ -n "${dicts[$n]:-}" ] && dict=(-dict="$here/${dicts[$n]}")
	# shellcheck disable=SC2206
	[ -n "${extra[$n]:-}" ] && more=(${extra[$n]})
	# The scratch dir comes first: new inputs go there, never into the
	# committed seeds.  Exit codes are set so no failure reads as 77 (skip).
	"$bin/fuzz_$n" -max_total_time="$secs" -max_len="${max_len[$n]:-4096}" \
		-timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
		-timeout_exitcode=1 -print_final_stats=1 \
		-artifact_prefix="$d/" "${dict[@]}" "${more[@]}" \
		"$d/corpus" "$here/corpus/$n" "$here/regress/$n" \
		>"$d/log" 2>&1
	echo $? >"$d/rc"
}

echo "== fuzzing ${names[*]} for ${secs}s each, $jobs at a time; output in $out"
t0=$(date +%s)
running=0
for n in "${names[@]}"; do
	run_one "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

rc=0
printf '%-9s %12s %8s %8s %7s %9s  %s\n' harness execs cov ft time corpus result
for n in "${names[@]}"; do
	d=$out/$n log=$d/log
	r=$(cat "$d/rc" 2>/dev/null || echo 1)
	# libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/..."
	last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
	t=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	if [ "$r" = 0 ]; then
		res=ok
	else
		res="FAILED (exit $r)"
		rc=1
	fi
	printf '%-9s %12s %8s %8s %6ss %9s  %s\n' "$n" "${execs:-?}" \
		"${cov:-?}" "${ft:-?}" "${t:-?}" "${corp:-?}" "$res"
done
for n in "${names[@]}"; do
	d=$out/$n
	[ "$(cat "$d/rc" 2>/dev/null || echo 1)" = 0 ] && continue
	echo "---- $n: $d/log (last 40 lines)"
	tail -n 40 "$d/log"
	for a in "$d"/crash-* "$d"/leak-* "$d"/timeout-* "$d"/oom-*; do
		[ -f "$a" ] && echo "reproducer: $a  ->  cp it to tests/fuzz/regress/$n/"
	done
done
echo "== total $(( $(date +%s) - t0 ))s"
exit $rc
