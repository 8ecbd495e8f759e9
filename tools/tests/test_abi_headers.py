#!/usr/bin/env python3
"""Every generated ABI header compiles alone, freestanding, as C99, C11 and
C++ with -Wall -Wextra -Wpadded -Werror -pedantic, with gcc and clang."""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INC = os.path.join(ROOT, "include")
FLAGS = ["-ffreestanding", "-Wall", "-Wextra", "-Wpadded", "-Werror",
         "-pedantic", "-fsyntax-only", f"-I{INC}"]
MODES = [("gcc", "c", "c99"), ("gcc", "c", "c11"), ("g++", "c++", "c++11"),
         ("g++", "c++", "c++17"), ("clang", "c", "c99"),
         ("clang", "c", "c11"), ("clang++", "c++", "c++11")]


def main():
    headers = sorted(f for f in os.listdir(os.path.join(INC, "vmi"))
                     if f.endswith(".h"))
    if not headers:
        print("no headers in include/vmi")
        return 1
    failures = 0
    runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        for h in headers:
            # Including the header twice also proves the include guard.
            src = os.path.join(tmp, "t.c")
            with open(src, "w") as f:
                f.write(f"#include <vmi/{h}>\n#include <vmi/{h}>\n")
            for cc, lang, std in MODES:
                if not shutil.which(cc):
                    print(f"SKIP {cc}: not installed")
                    continue
                cmd = [cc, "-x", lang, f"-std={std}", *FLAGS, src]
                r = subprocess.run(cmd, capture_output=True, text=True)
                runs += 1
                if r.returncode != 0:
                    failures += 1
                    print(f"FAIL vmi/{h} {cc} -std={std}\n{r.stderr}")
    print(f"{len(headers)} headers, {runs} compilations, {failures} failures")
    return 1 if failures or runs == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
