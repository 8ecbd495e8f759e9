#!/usr/bin/env python3
"""The whole conformance suite on QEMU with the openvmi device
(vmi-conform --hypervisor), held to a known-failures list.

vmi-conform must find QEMU CONFORMANT for every profile (core, pagetable,
and migration through QEMU's own stream, served by qemu_host_driver.py).
Every test that does not pass, other than a "not applicable" one (the
suite cannot drive it on any hypervisor, or the platform lacks what it
needs; printed with the reason), must be listed in KNOWN_FAILURES (one
test name and its reason per line; '#' starts a comment), and every test
listed there must still not pass: the run fails on a failure outside the
list and on a listed test that now passes (the list is then stale).  The
list is empty.

Then the same suite and profiles (core+pagetable) on the reference vmi-run:
every (test, clause) with a verdict on both (pass or fail) must have the
same one on QEMU as on vmi-run.

usage: conform_qemu.py VMI_CONFORM QEMU_BUILD KNOWN_FAILURES OUTDIR
       conform_qemu.py --mutation-matrix VMI_CONFORM QEMU_BUILD OUTDIR
       conform_qemu.py --aarch64 VMI_CONFORM QEMU_BUILD IMAGE OUTDIR
The third form runs the suite's aarch64 image (IMAGE) on the patched
qemu-system-aarch64 (-M virt, GICv3, 4 vCPUs) with the core and migration
profiles (the device offers no page-table profile on aarch64): it must be
CONFORMANT with no test failing, and every (test, clause) that gets a pass
or fail verdict on both it and the x86-64 QEMU (the same profiles, run
here too) must get the same one.
The second form runs vmi-conform's mutation matrix on this QEMU, through
host-lib's test variant swapped in with LD_LIBRARY_PATH: every fault is
caught, or listed as one that only tests QEMU cannot run catch.
Exit 77 when the patched QEMU cannot be built here (see run-qemu.sh), or,
with QEMU's verdicts as expected, when /dev/kvm is missing for vmi-run."""
import json
import os
import subprocess
import sys


# Every profile: the migration profile's tests that go through QEMU's own
# stream run under qemu_host_driver.py.
PROFILES = "core+pagetable+migration"


def load_known(path):
    known = {}
    for n, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit("%s:%d: %s has no reason" % (path, n, name))
        if name in known:
            sys.exit("%s:%d: %s listed twice" % (path, n, name))
        known[name] = reason.strip()
    return known


def patched_qemu(build):
    """The patched qemu-system-x86_64 (build.sh --print), or the exit
    status to end with: 77 when ./vmi.sh found it cannot be built here."""
    unavailable = os.environ.get("QEMU_UNAVAILABLE", "")
    if unavailable and os.path.exists(unavailable) and \
            os.path.getsize(unavailable) > 0:
        print("SKIP: the patched QEMU cannot be built here: " +
              open(unavailable).read().strip())
        return 77
    q = subprocess.run([build, "--print"], capture_output=True, text=True)
    if q.returncode != 0:
        print("FAIL: the patched QEMU is not built (examples/qemu/build.sh)")
        return 1
    return q.stdout.strip()


def qemu_command(build, driver=False):
    """The hypervisor command line for vmi-conform, or an exit status.
    With driver, QEMU runs under qemu_host_driver.py, which serves the
    image's requests for QEMU's own stop and migration."""
    qemu = patched_qemu(build)
    if isinstance(qemu, int):
        return qemu
    prefix = ""
    if driver:
        prefix = "%s %s " % (sys.executable, os.path.join(
            os.path.dirname(os.path.abspath(__file__)),
            "qemu_host_driver.py"))
    return (prefix + qemu +
            " -L /usr/share/qemu -L /usr/share/seabios -accel tcg"
            " -M microvm -smp 4 -m 256 -nodefaults -display none"
            " -chardev stdio,id=c"
            " -device openvmi,chardev=c,pagetable=on,max-pinned=128 -kernel")


def qemu_a64_command(build):
    """The aarch64 hypervisor command line (under qemu_host_driver.py),
    or an exit status."""
    if isinstance(patched_qemu(build), int):
        return patched_qemu(build)
    q = subprocess.run([build, "--print", "aarch64"], capture_output=True,
                       text=True)
    if q.returncode != 0:
        print("FAIL: the patched qemu-system-aarch64 is not built")
        return 1
    return ("%s %s %s -accel tcg -M virt,gic-version=3 -cpu cortex-a57"
            " -smp 4 -m 256 -nodefaults -display none -chardev stdio,id=c"
            " -device openvmi,chardev=c -kernel" %
            (sys.executable, os.path.join(
                os.path.dirname(os.path.abspath(__file__)),
                "qemu_host_driver.py"), q.stdout.strip()))


def run_suite(conform, hv, profiles, outdir, image=None):
    """vmi-conform on one hypervisor: (exit status, report) or a status
    alone when it wrote no report."""
    os.makedirs(outdir, exist_ok=True)
    report = os.path.join(outdir, "report.json")
    if os.path.exists(report):
        os.unlink(report)
    cmd = [conform, "--backend", "vm", "--profile", profiles, "--out",
           outdir, "--quiet"]
    if hv:  # None: vmi-conform's default hypervisor, vmi-run
        cmd += ["--hypervisor", hv]
    if image:
        cmd += ["--image", image]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if not os.path.exists(report):
        print("FAIL: vmi-conform wrote no report (exit %d)\n%s%s" %
              (r.returncode, r.stdout, r.stderr))
        return 1
    return r, json.load(open(report))


def aarch64(conform, build, image, outdir):
    a64 = qemu_a64_command(build)
    if isinstance(a64, int):
        return a64
    x86 = qemu_command(build, driver=True)
    if isinstance(x86, int):
        return x86
    if not os.path.exists(image):
        print("FAIL: no aarch64 conformance image at %s" % image)
        return 1
    profiles = "core+migration"
    ra = run_suite(conform, a64, profiles, os.path.join(outdir, "aarch64"),
                   image)
    if isinstance(ra, int):
        return ra
    r, rep = ra
    bad = 0
    if r.returncode != 0:
        print("FAIL: vmi-conform on qemu-system-aarch64 exit %d: not "
              "CONFORMANT\n%s" % (r.returncode, r.stdout[-3000:]))
        bad += 1
    counts = {}
    for t in rep["tests"]:
        v = sorted({x["verdict"] for x in t["results"]})
        key = "pass" if v in (["pass"], ["na", "pass"]) else " ".join(v)
        counts[key] = counts.get(key, 0) + 1
        if key not in ("pass", "na", "skip"):
            print("FAIL %s on aarch64: %s" % (t["name"], key))
            bad += 1
        elif key == "na":
            print("na %s: %s" % (t["name"], t["results"][0]["detail"]))
    print("aarch64 QEMU: %s (tests)" %
          ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items())))
    rx = run_suite(conform, x86, profiles, os.path.join(outdir, "x86_64"))
    if isinstance(rx, int):
        return rx
    both, differ = compare_verdicts(rep, rx[1], "aarch64 QEMU", "x86-64 QEMU")
    return 1 if bad or differ or both == 0 else 0


def mutation_matrix(conform, build, outdir):
    hv = qemu_command(build)
    if isinstance(hv, int):
        return hv
    os.makedirs(outdir, exist_ok=True)
    r = subprocess.run([conform, "--mutation-matrix", "--hypervisor", hv,
                        "--profile", "core+pagetable", "--timeout", "30",
                        "--out", outdir],
                       capture_output=True, text=True, timeout=3000)
    print(r.stdout + r.stderr)
    return 0 if r.returncode == 0 else 1


def main():
    if sys.argv[1] == "--mutation-matrix":
        return mutation_matrix(*sys.argv[2:5])
    if sys.argv[1] == "--aarch64":
        return aarch64(*sys.argv[2:6])
    conform, build, known_path, outdir = sys.argv[1:5]
    hv = qemu_command(build, driver=True)
    if isinstance(hv, int):
        return hv
    known = load_known(known_path)
    os.makedirs(outdir, exist_ok=True)
    report = os.path.join(outdir, "report.json")
    if os.path.exists(report):
        os.unlink(report)
    r = subprocess.run([conform, "--backend", "vm", "--hypervisor", hv,
                        "--profile", PROFILES, "--out", outdir, "--quiet"],
                       capture_output=True, text=True, timeout=600)
    if not os.path.exists(report):
        print("FAIL: vmi-conform wrote no report (exit %d)\n%s%s" %
              (r.returncode, r.stdout, r.stderr))
        return 1
    rep = json.load(open(report))
    verdicts = {t["name"]: sorted({x["verdict"] for x in t["results"]})
                for t in rep["tests"]}
    details = {t["name"]: t["results"][0]["detail"] if t["results"] else ""
               for t in rep["tests"]}
    bad = 0
    if r.returncode != 0:
        print("FAIL: vmi-conform exit %d: not CONFORMANT\n%s" %
              (r.returncode, r.stdout[-3000:]))
        bad += 1
    nna = 0
    for name, v in sorted(verdicts.items()):
        # "na": the test needs what no hypervisor gives the suite (the
        # simulator's hooks into host-lib, a VM of its own) or what this
        # platform lacks; vmi-conform counts it neither way, as on vmi-run.
        if v == ["na"] and name not in known:
            print("na %s: %s" % (name, details[name]))
            nna += 1
            continue
        passed = v == ["pass"] or v == ["na", "pass"]
        if not passed and name not in known:
            print("FAIL %s: %s, and not in %s" %
                  (name, " ".join(v), os.path.basename(known_path)))
            bad += 1
        elif passed and name in known:
            print("FAIL %s: passes now; remove it from %s" %
                  (name, os.path.basename(known_path)))
            bad += 1
        elif not passed:
            print("known %s: %s (%s)" % (name, " ".join(v), known[name]))
    for name in sorted(set(known) - set(verdicts)):
        print("FAIL %s: listed in %s but the suite has no such test" %
              (name, os.path.basename(known_path)))
        bad += 1
    npass = sum(1 for v in verdicts.values() if v == ["pass"])
    print("%d of %d tests pass on QEMU, %d not applicable, %d known "
          "failures, %d unexpected (report: %s)" %
          (npass, len(verdicts), nna, len(known), bad,
           os.path.join(outdir, "report.html")))
    same = compare_with_vmi_run(conform, rep, outdir)
    if bad or same == 1:
        return 1
    return same


def clause_verdicts(rep):
    return {(t["name"], r["clause"]): r["verdict"]
            for t in rep["tests"] for r in t["results"]}


def compare_verdicts(rep_a, rep_b, name_a, name_b, one_sided=False):
    """Every (test, clause) with a pass or fail verdict in both reports
    gets the same one: (number compared, number different), each
    difference printed; with one_sided, also what ran on one only."""
    a, b = clause_verdicts(rep_a), clause_verdicts(rep_b)
    both = differ = 0
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, "missing"), b.get(key, "missing")
        if va in ("pass", "fail") and vb in ("pass", "fail"):
            both += 1
            if va != vb:
                differ += 1
                print("FAIL different verdict %s %s: %s %s, %s %s" %
                      (key[0], key[1], name_a, va, name_b, vb))
        elif va != vb and one_sided:
            print("ran on one only: %s %s: %s %s, %s %s" %
                  (key[0], key[1], name_a, va, name_b, vb))
    print("%d (test, clause) verdicts on both %s and %s, %d differ" %
          (both, name_a, name_b, differ))
    return both, differ


def compare_with_vmi_run(conform, qemu_rep, outdir):
    """The same suite and profiles on the reference vmi-run (KVM): every
    (test, clause) that gets a verdict on both hypervisors (pass or fail,
    not skip or na) gets the same one.  0 equal, 1 not, 77 no /dev/kvm."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        print("SKIP: QEMU's verdicts not compared with vmi-run's: /dev/kvm "
              "is not usable here (%s)" % e)
        return 77
    rv = run_suite(conform, None, PROFILES, os.path.join(outdir, "vmi-run"))
    if isinstance(rv, int):
        return rv
    both, differ = compare_verdicts(qemu_rep, rv[1], "QEMU", "vmi-run",
                                    one_sided=True)
    return 1 if differ or both == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
