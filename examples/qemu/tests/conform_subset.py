#!/usr/bin/env python3
"""The conformance suite on QEMU with the openvmi device: the tests of what
the device implements so far (discovery, negotiation, the doorbell's
checks, the clock) must pass.  The rest of the suite is not expected to
pass yet (the device offers only the clock: no core profile, no timers or
events, no console back-off); issue 19's second part replaces this list
with a known-failures file and issue 22 empties it.

usage: conform_subset.py VMI_CONFORM QEMU_BUILD OUTDIR
Exit 77 when the patched QEMU cannot be built here (see run-qemu.sh)."""
import json
import os
import subprocess
import sys

MUST_PASS = [
    "dsc_signature_found_in_scan_range",
    "dsc_leaf_above_block_returns_zeros",
    "dsc_version_leaf_encodes_implemented_range",
    "dsc_limits_match_offered_features",
    "dsc_vendor_string_printable_nul_padded",
    "dsc_leaves_identical_on_every_vcpu_and_over_time",
    "ver_calls_before_negotiation_return_state",
    "ver_negotiate_unimplemented_major_returns_version",
    "ver_negotiate_missing_requirement_returns_inval",
    "ver_negotiate_agrees_version_and_grants_offered",
    "ver_second_negotiate_returns_state",
    "clk_register_rejects_bad_arguments",
    "clk_register_writes_complete_even_record_at_once",
    "clk_record_and_time_read_agree",
    "clk_time_read_without_record_and_monotonic",
    "clk_record_reads_monotonic",
]


def main():
    conform, build, outdir = sys.argv[1:4]
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
    qemu = q.stdout.strip()
    hv = (qemu + " -L /usr/share/qemu -L /usr/share/seabios -accel tcg"
          " -M microvm -smp 4 -m 256 -nodefaults -display none"
          " -chardev stdio,id=c -device openvmi,chardev=c -kernel")
    os.makedirs(outdir, exist_ok=True)
    subprocess.run([conform, "--backend", "vm", "--profile", "core",
                    "--hypervisor", hv, "--out", outdir, "--quiet"],
                   capture_output=True, text=True, timeout=300)
    rep = json.load(open(os.path.join(outdir, "report.json")))
    verdicts = {t["name"]: {r["verdict"] for r in t["results"]}
                for t in rep["tests"]}
    bad = 0
    for name in MUST_PASS:
        v = verdicts.get(name, {"missing"})
        ok = v == {"pass"}
        print("%s %s: %s" % ("ok  " if ok else "FAIL", name,
                              " ".join(sorted(v))))
        bad += not ok
    passed = sum(1 for v in verdicts.values() if v == {"pass"})
    print("%d of %d tests pass on QEMU (report: %s)" %
          (passed, len(verdicts), os.path.join(outdir, "report.html")))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
