#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that every clause ID host-lib names (src/clauses.h) exists in the
spec with the right target: guest clauses (VMI__CL_G_*) for strict-mode
reports, host clauses for the injected faults."""
import re
import subprocess
import sys

clauses_h, tool, spec_dir = sys.argv[1:4]
out = subprocess.run([sys.executable, tool, "--spec-dir", spec_dir, "--list",
                      "all", "--long"], capture_output=True, text=True,
                     check=True).stdout
target = {}
for line in out.splitlines():
    f = line.split("\t")
    if len(f) >= 3:
        target[f[0]] = f[2]
bad = 0
for name, cid in re.findall(r'#define (VMI__CL_\w+) "(VMI-[A-Z]+-\d+)"',
                            open(clauses_h).read()):
    want = ("guest", "both") if name.startswith("VMI__CL_G_") else ("host",
                                                                   "both")
    if cid not in target:
        print(f"{name}: {cid} is not a clause of the spec")
        bad += 1
    elif target[cid] not in want:
        print(f"{name}: {cid} has target {target[cid]}, want {want[0]}")
        bad += 1
print("checked", len(re.findall(r'#define VMI__CL_', open(clauses_h).read())),
      "clause IDs,", bad, "bad")
sys.exit(1 if bad else 0)
