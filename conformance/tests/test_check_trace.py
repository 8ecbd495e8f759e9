#!/usr/bin/env python3
"""test_check_trace.py: the traceability checker fails on bad input."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "check_trace.py")


def req(*clauses):
    return {"clauses": [
        {"id": c[0], "level": c[1], "target": c[2], "text": "t",
         "profile": "core", "verification": c[3] if len(c) > 3 else "test"}
        for c in clauses]}


def run(r, t, waivers=None):
    with tempfile.TemporaryDirectory() as d:
        rp, tp, wp = (os.path.join(d, n) for n in ("r.json", "t.json", "w"))
        with open(rp, "w") as f:
            json.dump(r, f)
        with open(tp, "w") as f:
            json.dump({"tests": t}, f)
        args = [sys.executable, TOOL, "--requirements", rp, "--tests", tp]
        if waivers is not None:
            with open(wp, "w") as f:
                f.write(waivers)
            args += ["--waivers", wp]
        return subprocess.run(args, capture_output=True, text=True)


def test(name, got, want, needle):
    ok = got.returncode == want and needle in got.stdout
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        print(got.stdout, got.stderr)
    return ok


R = req(("VMI-CLK-001", "MUST", "host"), ("VMI-CLK-002", "SHOULD", "host"),
        ("VMI-CLK-010", "MUST", "guest"), ("VMI-TMR-001", "MUST NOT", "host"))
RI = req(("VMI-CLK-001", "MUST", "host"),
         ("VMI-TMR-001", "MUST NOT", "host", "inspection"))
GOOD = [{"name": "a", "clauses": "VMI-CLK-001 VMI-TMR-001"}]
results = [
    test("complete suite passes", run(R, GOOD), 0, "2 of 2 covered"),
    test("uncovered host MUST clause fails",
         run(R, [{"name": "a", "clauses": "VMI-CLK-001"}]), 1,
         "VMI-TMR-001 has no test"),
    test("citing an undefined clause fails",
         run(R, GOOD + [{"name": "b", "clauses": "VMI-CLK-999"}]), 1,
         "VMI-CLK-999, which requirements.json does not define"),
    test("a waiver with a reason covers a clause",
         run(R, [{"name": "a", "clauses": "VMI-CLK-001"}],
             "VMI-TMR-001 aarch64 only\n"), 0, "1 waived"),
    test("a stale waiver fails", run(R, GOOD, "VMI-TMR-001 not testable\n"),
         1, "stale"),
    test("a waiver of an unknown clause fails",
         run(R, GOOD, "VMI-XYZ-001 whatever\n"), 1, "does not exist"),
    test("a waiver of a clause not marked inspection fails",
         run(R, [{"name": "a", "clauses": "VMI-CLK-001"}],
             "VMI-TMR-001 a race\n"), 1, "mark it verify=inspection"),
    test("a waiver of a clause marked inspection passes",
         run(RI, [{"name": "a", "clauses": "VMI-CLK-001"}],
             "VMI-TMR-001 a race\n"), 0, "1 waived"),
    test("a test citing an inspection-only clause fails",
         run(RI, GOOD, ""), 1, "verified by inspection only"),
]
sys.exit(0 if all(results) else 1)
