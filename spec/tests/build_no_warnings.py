#!/usr/bin/env python3
"""Builds the spec (HTML, and PDF when asciidoctor-pdf is given) into a
temporary directory with --failure-level=WARN and fails on any warning,
error, or missing output."""

import argparse
import os
import subprocess
import sys
import tempfile


def build(tool, spec_dir, out, extra=()):
    cmd = [tool, "--failure-level=WARN", "-v", *extra, "-o", out,
           os.path.join(spec_dir, "index.adoc")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    # -v also prints INFO lines such as "possible invalid reference"; treat
    # every diagnostic as a failure so the spec stays clean.
    diag = [l for l in r.stderr.splitlines() if l.strip()]
    size = os.path.getsize(out) if os.path.exists(out) else 0
    if r.returncode != 0 or diag or size == 0:
        print(f"FAIL: {' '.join(cmd)} (exit {r.returncode})")
        for l in diag:
            print("  " + l)
        return False
    print(f"ok: {os.path.basename(out)} ({size} bytes)")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec-dir", required=True)
    ap.add_argument("--asciidoctor", required=True)
    ap.add_argument("--asciidoctor-pdf", default="")
    a = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="vmi-spec-") as tmp:
        ok &= build(a.asciidoctor, a.spec_dir, os.path.join(tmp, "spec.html"),
                    ["-a", f"docinfodir={a.spec_dir}"])
        pdf = a.asciidoctor_pdf
        if pdf and not pdf.endswith("-NOTFOUND"):
            ok &= build(pdf, a.spec_dir, os.path.join(tmp, "spec.pdf"))
        else:
            print("note: asciidoctor-pdf not found; PDF not checked")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
