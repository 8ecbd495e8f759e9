#!/usr/bin/env python3
"""host-lib's test variant swapped into a running hypervisor: vmi-conform
--fault NAME runs vmi-run (which links libvmi-host.so.1 dynamically) on
build/host-lib/test-variant/libvmi-host.so.1 with VMI_HOST_FAULT=NAME,
and the suite fails at the clause the fault breaks; without --fault the
same run is CONFORMANT.  The faults are those of draft 2's new host
clauses whose tests run in vmi-run's one shared VM (the fresh-VM tests of
VMI-VER-029/032 run on the simulator only), and one clock fault.  vmi-run's
own faults (VMI_RUN_FAULT, for clauses the embedder implements, such as
the upcall's path through the local APIC) are injected the same way,
through the environment vmi-run inherits.

usage: vm_fault_injection.py VMI_CONFORM OUTDIR
Exit 77 when /dev/kvm cannot be used (vmi-conform says so)."""
import json
import os
import subprocess
import sys

FAULTS = {
    "negotiate-any-major": "VMI-VER-030",
    "version-not-clamped": "VMI-VER-031",
    "tlb-range-before-contents": "VMI-STS-007",
    "status-not-listed": "VMI-STS-008",
    "time-read-skew": "VMI-CLK-031",
}
# vmi-run's own faults (examples/vmm-kvm/README.md): fault -> clause.
VMI_RUN_FAULTS = {
    "lapic-claimed": "VMI-EVT-036",
    "block-sets-if": "VMI-EVT-046",
    "start-copies-caller-state": "VMI-CPU-025",
}


def run(conform, out, fault=None, run_fault=None):
    os.makedirs(out, exist_ok=True)
    cmd = [conform, "--backend", "vm", "--quiet", "--out", out]
    env = dict(os.environ)
    env.pop("VMI_RUN_FAULT", None)
    if fault:
        cmd += ["--fault", fault]
    if run_fault:
        env["VMI_RUN_FAULT"] = run_fault
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode == 77:
        print("SKIP: " + p.stdout.strip().splitlines()[-1])
        sys.exit(77)
    return p


def main():
    conform, outdir = sys.argv[1], sys.argv[2]
    bad = 0
    p = run(conform, os.path.join(outdir, "none"))
    if p.returncode != 0:
        print("FAIL: vmi-run without a fault is not CONFORMANT\n" + p.stdout)
        return 1
    print("ok   no fault: CONFORMANT")
    for fault, clause in FAULTS.items():
        out = os.path.join(outdir, fault)
        p = run(conform, out, fault)
        rep = json.load(open(os.path.join(out, "report.json")))
        failed = {r["clause"] for t in rep["tests"] for r in t["results"]
                  if r["verdict"] in ("fail", "crash")}
        ok = p.returncode == 1 and rep.get("fault") == fault and \
            clause in failed
        print("%s %s: exit %d, failing clauses %s" %
              ("ok  " if ok else "FAIL", fault, p.returncode,
               " ".join(sorted(failed)) or "none"))
        bad += not ok
    for fault, clause in VMI_RUN_FAULTS.items():
        out = os.path.join(outdir, "vmi-run-" + fault)
        p = run(conform, out, run_fault=fault)
        rep = json.load(open(os.path.join(out, "report.json")))
        failed = {r["clause"] for t in rep["tests"] for r in t["results"]
                  if r["verdict"] in ("fail", "crash")}
        ok = p.returncode == 1 and failed == {clause}
        print("%s VMI_RUN_FAULT=%s: exit %d, failing clauses %s" %
              ("ok  " if ok else "FAIL", fault, p.returncode,
               " ".join(sorted(failed)) or "none"))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
