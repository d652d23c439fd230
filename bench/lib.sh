# lib.sh - helpers shared by the benchmark scripts (sourced, never run).
# Expects BENCH_TMP (scratch directory) and RINGSNIFF (binary) in the
# environment; bench/run.sh sets both.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# dpkt is a Debian package: use the system Python, not a pyenv shim.
BENCH_PY=${BENCH_PY:-/usr/bin/python3}
CLK_TCK=$(getconf CLK_TCK)

bench_log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "ERROR: $*"; exit 1; }

# Poll FILE for an extended regex until DEADLINE seconds pass (0/1 status).
bench_wait_for() {  # REGEX FILE DEADLINE_S [PID that must stay alive]
	local re=$1 f=$2 end=$((SECONDS + $3)) pid=${4:-}
	while ((SECONDS < end)); do
		grep -Eq "$re" "$f" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
	return 1
}

# PID and all its descendants, one per line (parents first).
bench_tree() {  # PID
	local p=$1 c
	[ -d "/proc/$p" ] || return 0
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
		bench_tree "$c"
	done
}

# CPU seconds so far of PID and its descendants: utime + stime, plus the
# children they already reaped (cutime + cstime).
bench_cpu_s() {  # PID
	local p ticks=0 s
	for p in $(bench_tree "$1"); do
		s=$(cat /proc/"$p"/stat 2>/dev/null) || continue
		# Fields after the ")" that closes comm: utime is the 12th.
		s=${s##*) }
		set -- $s
		ticks=$((ticks + ${12} + ${13} + ${14} + ${15}))
	done
	awk -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }'
}

# Ask PID to stop (SIGTERM: background jobs of a script ignore SIGINT),
# wait up to GRACE seconds, then SIGKILL it and its descendants.  Prints
# "ok" or "killed"; the caller reaps its own children (bench_reap).
bench_stop() {  # PID GRACE_S [SIGNAL]
	local pid=$1 end sig=${3:-TERM} p
	kill -"$sig" "$pid" 2>/dev/null || true
	end=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		for p in $(bench_tree "$pid" | tac); do
			kill -KILL "$p" 2>/dev/null || true
		done
		echo killed
	else
		echo ok
	fi
}

# Wait for a background child with a deadline; SIGKILL after it.
bench_reap() {  # PID DEADLINE_S
	local pid=$1 end=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# Interface counter inside a namespace.
bench_ifstat() {  # NS IF COUNTER
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# Packets and bytes (as captured) of a capture file: "packets bytes".
bench_capinfo() {  # FILE
	capinfos -T -r -M -c -d "$1" | awk -F'\t' '{print $2, $3}'
}

# Read a file once so runs read it from the page cache.
bench_warm() { cat "$@" >/dev/null; }

# The files' pages dropped from the page cache and read back once, as from
# disk: readahead fills the cache with large folios (2 MiB on ext4 since
# Linux 6.16), which a mapping takes whole (one PMD), where a file just
# written by tcpdump's 4 KiB writes sits in 4 KiB pages, one page-table
# entry each.  Only these files are dropped, not the whole cache.
bench_readback() {  # FILE...
	"$BENCH_PY" - "$@" <<-'PY'
		import os, sys
		for p in sys.argv[1:]:
		    fd = os.open(p, os.O_RDONLY)
		    os.fsync(fd)
		    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
		    os.close(fd)
	PY
	bench_warm "$@"
}

# FileHugePages from /proc/meminfo, in MiB (the page cache's 2 MiB folios).
bench_file_huge_mb() { awk '/^FileHugePages:/ {print int($2 / 1024)}' /proc/meminfo; }

# Note a tool's exact command line once per phase, for RESULTS.md, in
# $BENCH_TMP/results/commands.tsv: PHASE TOOL COMMAND, with the scratch
# directory written as $SCRATCH and this directory as bench/.
bench_cmd_note() {  # PHASE TOOL ARG...
	local ph=$1 tool=$2 f=$BENCH_TMP/results/commands.tsv line a
	local bare='^[][A-Za-z0-9_./:=,+@%$-]+$'
	shift 2
	grep -q "^$ph	$tool	" "$f" 2>/dev/null && return 0
	line=''
	for a in "$@"; do
		a=${a//$BENCH_TMP/\$SCRATCH}
		a=${a//$BENCH_DIR/bench}
		# Quote what a shell would split; keep the rest bare.
		[[ $a =~ $bare ]] || a=\'${a//\'/\'\\\'\'}\'
		line+=${line:+ }$a
	done
	printf '%s\t%s\t%s\n' "$ph" "$tool" "$line" >>"$f"
}
