#!/usr/bin/env python3
"""certify_qemu.py: vmi-conform --certify-guest on QEMU's openvmi device in
strict mode gives each guest the same clause-cited violations as on the
reference vmi-run --strict: the misbehaving guests are caught with the
same clauses on both hosts, a well-behaved guest is clean on both.

usage: certify_qemu.py VMI_CONFORM QEMU_BUILD bad=GUEST.elf|good=GUEST.elf...
A bad guest must be reported (exit 1, at least one violation), a good one
certified clean (exit 0, none), on each host.
Exit 77 when the patched QEMU cannot be built here, or (with QEMU's
results as expected) when /dev/kvm is missing for vmi-run."""
import os
import re
import subprocess
import sys

from conform_qemu import patched_qemu


def certify(conform, guest, hypervisor=None):
    cmd = [conform, "--certify-guest", guest]
    if hypervisor:
        cmd += ["--hypervisor", hypervisor]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    cited = re.findall(r"violation\s+(VMI-[A-Z]+-\d{3})", p.stdout)
    return p.returncode, sorted(set(cited)), p.stdout + p.stderr


def main():
    conform, build, guests = sys.argv[1], sys.argv[2], sys.argv[3:]
    qemu = patched_qemu(build)
    if isinstance(qemu, int):
        return qemu
    hv = (qemu + " -L /usr/share/qemu -L /usr/share/seabios"
          " -accel tcg -M microvm -smp 2 -m 128 -nodefaults -display none"
          " -chardev stdio,id=c -device openvmi,chardev=c,strict=on -kernel")
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        kvm = None
    except OSError as e:
        kvm = str(e)
    bad = 0
    for arg in guests:
        kind, _, g = arg.partition("=")
        if kind not in ("bad", "good") or not g:
            print("usage: GUEST arguments are bad=ELF or good=ELF: " + arg)
            return 2
        name = os.path.basename(g)
        st, cited, out = certify(conform, g, hv)
        print("QEMU    %s: exit %d, violations %s" %
              (name, st, " ".join(cited) or "none"))
        if st not in (0, 1):
            print(out)
            print("FAIL %s: vmi-conform exit %d on QEMU" % (name, st))
            bad += 1
            continue
        want = 1 if kind == "bad" else 0
        if st != want or (st == 1) != bool(cited):
            print(out)
            print("FAIL %s (%s guest): exit %d with %d violation(s)" %
                  (name, kind, st, len(cited)))
            bad += 1
        if kvm:
            continue
        rst, rcited, rout = certify(conform, g)
        print("vmi-run %s: exit %d, violations %s" %
              (name, rst, " ".join(rcited) or "none"))
        if rst != st or rcited != cited:
            print(out + rout)
            print("FAIL %s: QEMU and vmi-run certify it differently" % name)
            bad += 1
    if bad:
        return 1
    if kvm:
        print("SKIP: QEMU's results not compared with vmi-run's: /dev/kvm "
              "is not usable here (%s)" % kvm)
        return 77
    print("certify_qemu: %d guest(s) certified alike on QEMU and vmi-run" %
          len(guests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
