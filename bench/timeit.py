#!/usr/bin/env python3
"""timeit.py OUT CMD... - run CMD and write "wall user sys maxrss_kib" to OUT,
as `/usr/bin/time -f '%e %U %S %M'` does but to the microsecond: that one
prints hundredths, 4% of a 0.25 s run.  Exits with CMD's status.
bench/ab.py times its rounds with run() below."""
import os
import subprocess
import sys
import time


def run(cmd, **popen_kw):
    """Run CMD to its end: (wall seconds, its rusage, exit status as a
    shell gives it: 128 + N when signal N ended it)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, **popen_kw)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    return wall, ru, rc


if __name__ == "__main__":
    wall, ru, rc = run(sys.argv[2:])
    with open(sys.argv[1], "w") as f:
        f.write("%.6f %.6f %.6f %d\n" % (wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
    sys.exit(rc)
