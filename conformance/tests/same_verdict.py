#!/usr/bin/env python3
"""same_verdict.py: run the suite on the VM backend and on the simulator and
require the same verdict for every (test, clause) that ran on both (pass or
fail on both sides; skip, na and crash are listed, and a crash fails).  Also
requires the VM run to finish within the time budget.

Usage: same_verdict.py VMI_CONFORM OUTDIR [--budget SECONDS]
Exit 77 when /dev/kvm is not usable.  Python standard library only.
"""
import json
import os
import subprocess
import sys
import time


def run(conform, backend, out):
    t0 = time.monotonic()
    p = subprocess.run([conform, "--backend", backend, "--profile", "core",
                        "--out", out], capture_output=True, text=True)
    dt = time.monotonic() - t0
    print(p.stdout[-2500:])
    with open(os.path.join(out, "report.json"), encoding="utf-8") as f:
        return json.load(f), dt


def verdicts(rep):
    return {(t["name"], r["clause"]): (r["verdict"], r["detail"])
            for t in rep["tests"] for r in t["results"]}


def main():
    conform, out = sys.argv[1], sys.argv[2]
    budget = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        print(f"same_verdict: /dev/kvm not usable ({e}): skipped")
        return 77
    os.makedirs(out, exist_ok=True)
    vm, vm_s = run(conform, "vm", os.path.join(out, "vm"))
    sim, _ = run(conform, "sim", os.path.join(out, "sim"))
    a, b = verdicts(vm), verdicts(sim)
    both = diff = 0
    problems = []
    for key in sorted(a):
        va, vb = a[key][0], b.get(key, ("missing", ""))[0]
        if va == "crash":
            problems.append(f"crash on vm: {key[0]} {key[1]}: {a[key][1]}")
        if va in ("pass", "fail") and vb in ("pass", "fail"):
            both += 1
            if va != vb:
                diff += 1
                problems.append(f"different verdict {key[0]} {key[1]}: "
                                f"vm {va} ({a[key][1]}), sim {vb}")
    if not vm["stream_valid"]:
        problems.append("vm result stream invalid: " + vm["stream_error"])
    if vm_s > budget:
        problems.append(f"vm run took {vm_s:.1f} s (budget {budget:.0f} s)")
    for p in problems:
        print("same_verdict: " + p)
    print(f"same_verdict: {both} (test, clause) verdicts ran on both backends,"
          f" {diff} differ; vm run {vm_s:.2f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
