#!/usr/bin/env python3
"""results_section.py NAME BODY_FILE [RESULTS_MD] - put BODY_FILE into RESULTS_MD
between <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->: the old section
is replaced, or the new one appended at the end.  Used by bench/bounds.sh and
bench/soak.sh so that reruns replace their own section and nothing else."""
import os
import sys

name, body_file = sys.argv[1], sys.argv[2]
path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
body = open(body_file).read().rstrip("\n")
block = f"{begin}\n{body}\n{end}"
text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    text = head + block + tail
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
with open(path + ".tmp", "w") as f:
    f.write(text)
os.replace(path + ".tmp", path)
