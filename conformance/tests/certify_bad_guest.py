#!/usr/bin/env python3
"""certify_bad_guest.py: vmi-conform --certify-guest catches a guest that
breaks guest clauses (conformance/image/bad_guest.c): exit status 1 and a
clause-cited violation of each clause it breaks.  Exit 77 without /dev/kvm.

Usage: certify_bad_guest.py VMI_CONFORM BAD_GUEST.elf [GOOD_GUEST.elf]
With GOOD_GUEST, also require that a well-behaved guest certifies clean
(exit 0, no violation), so the check is not "everything fails".
"""
import re
import subprocess
import sys

p = subprocess.run([sys.argv[1], "--certify-guest", sys.argv[2]],
                   capture_output=True, text=True)
print(p.stdout, p.stderr)
if p.returncode == 77:
    sys.exit(77)
# What bad_guest.c does, by clause: a gated call before NEGOTIATE, a
# reserved flag, a misaligned record, a record outside RAM, an unknown call
# number, BLOCK with interrupts enabled.
EXPECTED = {"VMI-VER-004", "VMI-CALL-032", "VMI-CALL-028", "VMI-CALL-027",
            "VMI-CALL-030", "VMI-EVT-048"}
cited = re.findall(r"violation\s+(VMI-[A-Z]+-\d{3})", p.stdout)
missing = EXPECTED - set(cited)
if missing:
    print("certify_bad_guest: not reported: " + " ".join(sorted(missing)))
ok = p.returncode == 1 and not missing
print(f"certify_bad_guest: exit {p.returncode}, {len(cited)} clause-cited "
      f"violations ({', '.join(sorted(set(cited)))}): "
      + ("caught" if ok else "NOT CAUGHT"))
if ok and len(sys.argv) > 3:
    g = subprocess.run([sys.argv[1], "--certify-guest", sys.argv[3]],
                       capture_output=True, text=True)
    print(g.stdout, g.stderr)
    clean = g.returncode == 0 and not re.search(r"violation\s+VMI-", g.stdout)
    print("certify_bad_guest: good guest " +
          ("certified clean" if clean else "NOT clean"))
    ok = clean
sys.exit(0 if ok else 1)
