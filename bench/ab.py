#!/usr/bin/python3
"""ab.py - interleaved A/B timing of commands, for changes too small to see
across separate runs on shared CPUs.

    ab.py [--rounds N] [--cpu C] [--warm FILE]... -- CMD_A... -- CMD_B... [-- ...]

Each round runs every command once, in an order rotated by round (so no
command always follows the same one), pinned to CPU C (default: the last),
stdout and stderr to /dev/null.  It prints, per command, the median wall
and CPU (user+sys) seconds, and the median and quartiles of its per-round
ratio to CMD_A: runs seconds apart mostly see the same load, so the paired
ratio is steadier than either median.  Exit status 1 when a command failed.

    bench/ab.py --rounds 21 --warm x.pcap -- old/ringsniff -q -r x.pcap \\
        -- new/ringsniff -q -r x.pcap
"""
import os
import statistics
import subprocess
import sys

# bench/ is this script's directory, first on sys.path: these are the
# bench's own timeit.py (not the standard library's) and report.py.
from report import quartiles
from timeit import run as timed_run


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def run(cmd, cpu):
    wall, ru, rc = timed_run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    return wall, ru.ru_utime + ru.ru_stime, rc


def main(argv):
    rounds, cpu, warm = 11, os.cpu_count() - 1, []
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--rounds" and i + 1 < len(argv):
            rounds = int(argv[i + 1])
            i += 2
        elif argv[i] == "--cpu" and i + 1 < len(argv):
            cpu = int(argv[i + 1])
            i += 2
        elif argv[i] == "--warm" and i + 1 < len(argv):
            warm.append(argv[i + 1])
            i += 2
        else:
            usage()
    cmds, cur = [], None
    for a in argv[i:]:
        if a == "--":
            cur = []
            cmds.append(cur)
        else:
            cur.append(a)
    if len(cmds) < 2 or not all(cmds) or rounds < 1:
        usage()
    for f in warm:
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass
    wall = [[] for _ in cmds]
    cpu_s = [[] for _ in cmds]
    failed = False
    for r in range(rounds):
        order = [(k + r) % len(cmds) for k in range(len(cmds))]
        for k in order:
            w, c, rc = run(cmds[k], cpu)
            if rc != 0:
                print("round %d: %s exited %d" % (r + 1, " ".join(cmds[k]), rc), file=sys.stderr)
                failed = True
            wall[k].append(w)
            cpu_s[k].append(c)
    print("%d rounds on CPU %d" % (rounds, cpu))
    for k, cmd in enumerate(cmds):
        line = "%s: wall %.4f s, CPU %.4f s (medians)" % (
            chr(ord("A") + k), statistics.median(wall[k]), statistics.median(cpu_s[k]))
        if k:
            rw = quartiles([b / a for a, b in zip(wall[0], wall[k])])
            rc = quartiles([b / a for a, b in zip(cpu_s[0], cpu_s[k]) if a > 0])
            line += "; /A: wall %.3f (%.3f-%.3f), CPU %.3f (%.3f-%.3f)" % (
                rw[1], rw[0], rw[2], rc[1], rc[0], rc[2])
        print(line + "  " + " ".join(cmd))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
