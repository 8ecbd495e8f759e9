#!/usr/bin/env python3
"""The shipping host-lib carries no fault injection; the test variant does,
under the same soname.

usage: test_host_fault_split.py SHIPPING_SO SHIPPING_A TEST_VARIANT_SO

- the test variant exports vmi_host_test_faults (asked through ctypes for
  the fault names) and has the shipping library's SONAME, so that
  LD_LIBRARY_PATH can swap it in under any dynamically linked embedder;
- neither shipping library defines a vmi_host_test_* or vmi__fault* symbol,
  nor contains any fault name among its bytes (the names are the only way
  to switch a fault on)."""
import ctypes
import re
import subprocess
import sys

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def soname(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else None


def symbols(path, dynamic):
    cmd = ["nm", "-D" if dynamic else "-A", "--defined-only", path]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def main():
    ship_so, ship_a, test_so = sys.argv[1:4]
    lib = ctypes.CDLL(test_so)
    fn = lib.vmi_host_test_faults
    fn.restype = ctypes.c_uint
    n = fn(None, None, 0)
    names = (ctypes.c_char_p * n)()
    clauses = (ctypes.c_char_p * n)()
    fn(names, clauses, n)
    names = [x.decode() for x in names]
    check(n >= 30 and all(re.fullmatch(r"[a-z0-9-]+", x) for x in names),
          "the test variant lists %d faults by name" % n)
    check(soname(test_so) == soname(ship_so) is not None,
          "the test variant's SONAME is the shipping one (%s)" %
          soname(ship_so))
    for path, dyn in ((ship_so, True), (ship_a, False)):
        syms = symbols(path, dyn)
        bad = sorted(s for s in syms
                     if s.startswith("vmi_host_test_") or "vmi__fault" in s)
        check(len(syms) > 10 and not bad,
              "%s defines no fault-injection symbol%s" %
              (path, (": " + " ".join(bad)) if bad else ""))
        data = open(path, "rb").read()
        found = [x for x in names if x.encode() in data]
        check(not found, "%s holds none of the %d fault names%s" %
              (path, n, (": " + " ".join(found)) if found else ""))
    data = open(test_so, "rb").read()
    check(all(x.encode() in data for x in names),
          "the test variant holds every fault name (the check can fail)")
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
