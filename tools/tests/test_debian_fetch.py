#!/usr/bin/env python3
"""tools/vmi-debian-fetch against the real Debian archive, with a cache of
its own: an old version falls back to the newest revision of the same
upstream version with a warning naming both; every file is verified; a
second run downloads nothing; a corrupted cached file is fetched again;
a package or version that does not exist is refused with exit 3; and
nothing under /etc/apt, /var/lib/apt or /var/cache/apt changes.

Uses Debian's small `hello` package (source 741 kB, binary 53 kB).
Exit 77 when the archive cannot be reached (the fetcher's reason printed).
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FETCH = os.path.join(ROOT, "tools", "vmi-debian-fetch")
failures = []


def run(cache, *args):
    env = dict(os.environ, VMI_DEBIAN_CACHE=cache)
    p = subprocess.run([FETCH, *args], capture_output=True, text=True,
                       env=env, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.strip(), p.stderr


def check(cond, what, err=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
        if err:
            print("     stderr:\n" + "\n".join("     " + l for l in
                                               err.splitlines()[-15:]))


def machine_apt_state():
    """Names, sizes and mtimes of everything apt keeps for the machine."""
    state = []
    for top in ("/etc/apt", "/var/lib/apt", "/var/cache/apt"):
        for d, _, files in os.walk(top):
            for f in files:
                p = os.path.join(d, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                state.append((p, st.st_size, st.st_mtime_ns))
    return sorted(state)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    tmp = tempfile.mkdtemp(prefix="vdf-test.")
    cache = os.path.join(tmp, "cache")
    try:
        before = machine_apt_state()

        # 1. An exact version that is gone: the newest same-upstream one.
        rc, out, err = run(cache, "resolve", "source", "hello", "2.10-3")
        if rc == 3 and "unavailable" in err:
            print("SKIP: " + err.strip().splitlines()[-1])
            return 77
        check(rc == 0 and out == "2.10-3", "resolve: hello=2.10-3 is in the "
              "archive and resolves to itself", err)
        rc, out, err = run(cache, "source", "hello", "2.10-1")
        check(rc == 0, "source hello=2.10-1 (gone) exits 0", err)
        check(re.search(r"warning: source hello=2\.10-1 is no longer in the "
                        r"archive; using 2\.10-3", err) is not None,
              "the fallback warning names the wanted and the used version",
              err)
        dsc = out
        check(dsc.endswith("/hello_2.10-3.dsc") and os.path.isfile(dsc),
              "stdout is the path of the .dsc", err)
        check("files match the .dsc" in err, "every listed file verified",
              err)

        # 2. A second run downloads nothing and updates nothing.
        rc, out2, err = run(cache, "source", "hello", "2.10-3")
        check(rc == 0 and out2 == dsc, "second run: same .dsc", err)
        check("cached" in err and "Get:" not in err and
              "apt-get update" not in err,
              "second run: served from the cache, no download, no update",
              err)

        # 3. A corrupted cached file is downloaded again, and verified.
        orig = os.path.join(os.path.dirname(dsc), "hello_2.10.orig.tar.gz")
        good = sha256(orig)
        with open(orig, "ab") as f:
            f.write(b"corrupted")
        rc, _, err = run(cache, "source", "hello", "2.10-3")
        check(rc == 0 and "does not verify; downloading it again" in err and
              sha256(orig) == good,
              "a corrupted cached tarball is noticed and replaced", err)

        # 4. unpack: dpkg-source -x with Debian's patches.
        dest = os.path.join(tmp, "hello-src")
        rc, out, err = run(cache, "unpack", "hello", "2.10-3", dest)
        check(rc == 0 and out == dest and
              os.path.isfile(os.path.join(dest, "debian", "changelog")) and
              os.path.isfile(os.path.join(dest, "hello.c")) is False and
              os.path.isfile(os.path.join(dest, "src", "hello.c")),
              "unpack: the source tree with its debian/ directory", err)
        rc, _, err = run(cache, "unpack", "hello", "2.10-3", dest)
        check(rc == 1 and "exists" in err,
              "unpack refuses to overwrite a directory", err)

        # 5. A binary package, verified against the signed Packages index.
        rc, deb, err = run(cache, "binary", "hello", "2.10-3")
        check(rc == 0 and deb.endswith(".deb") and os.path.isfile(deb) and
              "matches the signed index" in err, "binary hello=2.10-3", err)
        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                                 text=True).stdout
        check("./usr/bin/hello" in listing, "the .deb holds /usr/bin/hello")
        with open(deb, "r+b") as f:
            f.seek(100)
            f.write(b"\0\0\0\0")
        rc, _, err = run(cache, "binary", "hello", "2.10-3")
        check(rc == 0 and "does not match the index; downloading it again"
              in err, "a corrupted cached .deb is fetched again", err)
        rc, _, err = run(cache, "binary", "hello", "2.10-3")
        check(rc == 0 and "cached" in err and "Get:" not in err,
              "then it is served from the cache", err)

        # 6. What cannot be had: exit 3 and a reason.
        rc, _, err = run(cache, "source", "no-such-package-openvmi", "1.0-1")
        check(rc == 3 and "no source package 'no-such-package-openvmi'" in
              err, "an unknown package: exit 3 with the reason", err)
        rc, _, err = run(cache, "binary", "hello", "1.0-1")
        check(rc == 3 and "nor any version matching '1.0-*'" in err and
              "2.10-3" in err,
              "no version of the family: exit 3, the archive's versions "
              "listed", err)
        rc, _, err = run(cache, "source", "hello")
        check(rc == 2, "a missing argument is a usage error (exit 2)", err)

        # 7. The machine's apt state is untouched.
        check(machine_apt_state() == before,
              "nothing under /etc/apt, /var/lib/apt, /var/cache/apt changed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
