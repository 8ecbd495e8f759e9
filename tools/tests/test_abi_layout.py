#!/usr/bin/env python3
"""Every ABI struct has the same size and field offsets on x86-64, i386,
aarch64 and riscv64, and they equal the registry.

The layout is measured by each target's compiler, not read from the
headers' own assertions: a table of sizeof/offsetof values is compiled to
assembly for each target and the emitted 4-byte words are read back.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGETS = [("x86-64", "x86_64-linux-gnu-gcc", "gcc"),
           ("i386", "i686-linux-gnu-gcc", None),
           ("aarch64", "aarch64-linux-gnu-gcc", None),
           ("riscv64", "riscv64-linux-gnu-gcc", None)]
PACKAGE = {"i386": "gcc-i686-linux-gnu", "aarch64": "gcc-aarch64-linux-gnu",
           "riscv64": "gcc-riscv64-linux-gnu"}
SIZES = {"uint8_t": 1, "uint16_t": 2, "uint32_t": 4, "uint64_t": 8,
         "int8_t": 1, "int32_t": 4, "int64_t": 8}


def expected(reg):
    rows = []
    for s in reg["struct"]:
        rows.append((f"sizeof(struct {s['name']})", s["size"]))
        off = 0
        for f in s["fields"]:
            rows.append((f"offsetof(struct {s['name']}, {f['name']})", off))
            off += SIZES[f["type"]] * f.get("count", 1)
    return rows


def measure(cc, rows, tmp):
    src = os.path.join(tmp, "layout.c")
    with open(src, "w") as f:
        f.write("#include <stddef.h>\n#include <vmi/vmi.h>\n")
        f.write("const uint32_t vmi_layout[] = {\n")
        f.write(",\n".join(f"    (uint32_t)({expr})" for expr, _ in rows))
        f.write("\n};\n")
    asm = os.path.join(tmp, "layout.s")
    r = subprocess.run([cc, "-std=c11", "-ffreestanding", "-O0", "-S",
                        f"-I{ROOT}/include", "-o", asm, src],
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{cc} failed:\n{r.stderr}")
    words = []
    in_table = False
    for line in open(asm):
        if re.match(r"^vmi_layout:", line):
            in_table = True
            continue
        if in_table:
            m = re.match(r"^\s+\.(?:long|word|4byte)\s+(\d+)\s*$", line)
            if m:
                words.append(int(m.group(1)))
            elif re.match(r"^\s+\.(?:zero|space)\s+(\d+)", line):
                n = int(line.split()[1]) // 4
                words.extend([0] * n)
            elif words and not line.strip().startswith("."):
                break
            elif words and re.match(r"^\s+\.(size|text|section|ident)", line):
                break
    return words


def main():
    with open(os.path.join(ROOT, "spec/registry/vmi.toml"), "rb") as f:
        reg = tomllib.load(f)
    rows = expected(reg)
    want = [v for _, v in rows]
    measured = {}
    skipped = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, cc, alt in TARGETS:
            tool = cc if shutil.which(cc) else (alt if alt and shutil.which(alt) else None)
            if tool is None:
                skipped.append(f"{name}: {cc} not installed "
                               f"(apt-get install {PACKAGE.get(name, 'gcc')})")
                continue
            measured[name] = measure(tool, rows, tmp)
    bad = 0
    for name, got in measured.items():
        if len(got) != len(want):
            print(f"FAIL {name}: read {len(got)} values, expected {len(want)}")
            bad += 1
            continue
        for (expr, w), g in zip(rows, got):
            if w != g:
                print(f"FAIL {name}: {expr} = {g}, registry says {w}")
                bad += 1
    for s in skipped:
        print(f"SKIPPED target {s}")
    print(f"{len(reg['struct'])} structs, {len(rows)} sizes and offsets, "
          f"targets measured: {', '.join(measured) or 'none'}; "
          f"{bad} mismatches")
    if bad:
        return 1
    if skipped:
        # Only a compiler that cannot be installed may be skipped.
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
