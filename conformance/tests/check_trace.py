#!/usr/bin/env python3
"""check_trace.py: traceability check of the conformance suite.

Fails (exit 1) when
  - a host MUST / MUST NOT clause of requirements.json (target "host") has
    no test and is not waived in the waiver file (with a reason), or
  - a test cites a clause that requirements.json does not define, or
  - a waiver names a clause that does not exist or that a test covers, or
  - the waivers and requirements.json's "verification" disagree: a clause
    verified by "inspection" only must be waived (no test can observe it),
    and a waived clause must be marked "inspection" unless its waiver says
    it is for another architecture ("aarch64 only") or checked by tests
    outside the suite ("outside the suite: ...").

Usage: check_trace.py --requirements requirements.json
                      (--tests tests.json | --vmi-conform PATH)
                      [--waivers trace-waivers.txt] [--quiet]
tests.json is `vmi-conform --list` output (--vmi-conform runs it).  Python standard library only.
"""
import argparse
import json
import sys


def load_waivers(path):
    waivers = {}
    if not path:
        return waivers
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            cid, _, why = line.partition(" ")
            if not why.strip():
                raise SystemExit(f"{path}:{n}: waiver of {cid} has no reason")
            waivers[cid] = why.strip()
    return waivers


def check(req, tests, waivers):
    """Return (problems, summary dict)."""
    clauses = {c["id"]: c for c in req["clauses"]}
    cited = {}
    for t in tests["tests"]:
        for cid in t["clauses"].split():
            cited.setdefault(cid, []).append(t["name"])
    problems = []
    for cid in sorted(cited):
        if cid not in clauses:
            problems.append(f"test(s) {', '.join(cited[cid])} cite {cid}, "
                            "which requirements.json does not define")
    must = [c for c in req["clauses"]
            if c["target"] == "host" and c["level"] in ("MUST", "MUST NOT")]
    covered = [c for c in must if c["id"] in cited]
    waived = [c for c in must if c["id"] not in cited and c["id"] in waivers]
    for c in must:
        if c["id"] not in cited and c["id"] not in waivers:
            problems.append(f"host {c['level']} clause {c['id']} has no test: "
                            f"{c['text'][:100]}")
    for cid in sorted(waivers):
        if cid not in clauses:
            problems.append(f"waiver names {cid}, which does not exist")
        elif cid in cited:
            problems.append(f"waiver of {cid} is stale: a test covers it")
    for c in must:
        ver = c.get("verification", "test")
        why = waivers.get(c["id"], "")
        if ver == "inspection" and c["id"] in cited:
            problems.append(f"{c['id']} is verified by inspection only, yet "
                            f"test(s) {', '.join(cited[c['id']])} cite it")
        elif (c["id"] in waivers and ver != "inspection" and
              not why.startswith(("aarch64 only", "outside the suite:"))):
            problems.append(f"{c['id']} is waived but requirements.json says "
                            f"it is verified by '{ver}': mark it "
                            "verify=inspection in the spec, or say why the "
                            "waiver is not an inspection")
    return problems, {"total": len(must), "covered": len(covered),
                      "waived": len(waived)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requirements", required=True)
    ap.add_argument("--tests")
    ap.add_argument("--vmi-conform")
    ap.add_argument("--waivers")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    with open(a.requirements, encoding="utf-8") as f:
        req = json.load(f)
    if a.vmi_conform:
        import subprocess
        out = subprocess.run([a.vmi_conform, "--list"], check=True,
                             capture_output=True, text=True).stdout
        tests = json.loads(out)
    else:
        with open(a.tests, encoding="utf-8") as f:
            tests = json.load(f)
    problems, s = check(req, tests, load_waivers(a.waivers))
    for p in problems:
        print("check_trace: " + p)
    if not a.quiet or problems:
        print(f"check_trace: host MUST clauses: {s['covered']} of {s['total']}"
              f" covered by a test, {s['waived']} waived "
              f"({len(problems)} problem(s))")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
