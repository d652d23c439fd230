#!/usr/bin/env bash
# test.sh - set up a fresh Debian 12 machine (as root), build ringsniff twice
# (release with -Werror; debug with ASan+UBSan) and run the whole test suite
# in both.  Prints meson's totals summed as "N passed, N failed[, N skipped]"
# and exits non-zero if any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh || exit 1

build() {  # dir, meson options...
	local dir=$1; shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
	else
		meson setup "$dir" "$@" >/dev/null || return 1
	fi
	ninja -C "$dir"
}

rc=0
build build -Dbuildtype=release -Dwerror=true || exit 1
meson test -C build --print-errorlogs --num-processes 2 || rc=1

build build-san -Dbuildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lto=false || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
meson test -C build-san --print-errorlogs --num-processes 2 --timeout-multiplier 3 || rc=1

python3 - build/meson-logs/testlog.json build-san/meson-logs/testlog.json <<'PY'
import json, sys
ok = fail = skip = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        fail += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif r == "SKIP":
            skip += 1
        else:
            fail += 1
print(f"{ok} passed, {fail} failed, {skip} skipped")
PY
exit $rc
