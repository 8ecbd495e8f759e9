#!/usr/bin/env python3
"""qemu_host_driver.py: run QEMU for vmi-conform and serve the conformance
image's requests for the hypervisor's own stop and migration.

usage: qemu_host_driver.py QEMU [QEMU ARGS...] -kernel IMAGE
(vmi-conform --hypervisor "qemu_host_driver.py QEMU ... -kernel" appends
the image.)

The driver starts QEMU with a monitor socket and tells the image, on its
command line (host_events=1), that requests are served.  It copies QEMU's
standard output (the image's result stream) to its own, line by line; a
line "VMI-HOST-REQUEST stop downtime_ms=N" makes it stop the VM through
the monitor, wait N ms and continue it; "VMI-HOST-REQUEST migrate
downtime_ms=N" makes it migrate the VM to a file through QEMU's own
migration stream, end that QEMU, wait N ms and start a new QEMU with the
same arguments and -incoming from the file, whose output it copies on.
The exit status is the last QEMU's; a migration that fails ends the
driver with status 1 and a message on standard error."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REQUEST = re.compile(rb"^VMI-HOST-REQUEST (stop|migrate) downtime_ms=(\d+)")


def die(msg):
    sys.stderr.write("qemu_host_driver: " + msg + "\n")
    sys.stderr.flush()
    sys.exit(1)


class Monitor:
    """QEMU's human monitor on a UNIX socket: one command, its reply."""

    def __init__(self, path):
        deadline = time.monotonic() + 20
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    die("no QEMU monitor at " + path)
                time.sleep(0.02)
        self.s.settimeout(30)
        self.read_prompt()

    def read_prompt(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            d = self.s.recv(4096)
            if not d:
                break
            buf += d
        return buf.decode(errors="replace")

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\n")
        return self.read_prompt()

    def close(self):
        self.s.close()


def with_cmdline(args, word):
    """args with `word` added to the kernel command line (-append)."""
    out, i, done = [], 0, False
    while i < len(args):
        if args[i] == "-append" and i + 1 < len(args):
            out += ["-append", args[i + 1] + " " + word]
            i, done = i + 2, True
            continue
        out.append(args[i])
        i += 1
    return out if done else out + ["-append", word]


def relay(p):
    """Copy QEMU's output until a request (returned) or EOF (None)."""
    out = sys.stdout.buffer
    for line in iter(p.stdout.readline, b""):
        out.write(line)
        out.flush()
        m = REQUEST.match(line)
        if m:
            return m.group(1).decode(), int(m.group(2))
    return None


def main():
    args = sys.argv[1:]
    if len(args) < 3 or "-kernel" not in args:
        die("usage: qemu_host_driver.py QEMU [ARGS...] -kernel IMAGE")
    tmp = tempfile.mkdtemp(prefix="vmi-host-driver-")
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp):
    gen, incoming = 0, None
    while True:
        mon_path = os.path.join(tmp, "monitor%d" % gen)
        cmd = with_cmdline(args, "host_events=1") + [
            "-monitor", "unix:%s,server=on,wait=off" % mon_path]
        if incoming:
            cmd += ["-incoming", "exec:cat %s" % incoming]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        mon = Monitor(mon_path)
        while True:
            req = relay(p)
            if req is None:
                mon.close()
                return p.wait()
            what, downtime_ms = req
            if what == "stop":
                mon.cmd("stop")
                time.sleep(downtime_ms / 1000.0)
                mon.cmd("cont")
                continue
            saved = os.path.join(tmp, "migration%d" % gen)
            mon.cmd('migrate "exec:cat > %s"' % saved)
            deadline = time.monotonic() + 60
            while True:
                status = mon.cmd("info migrate")
                if "Migration status: completed" in status:
                    break
                if "Migration status: failed" in status or \
                        time.monotonic() > deadline:
                    p.kill()
                    die("the migration to %s failed:\n%s" % (saved, status))
                time.sleep(0.05)
            mon.cmd("quit")
            mon.close()
            if relay(p) is not None:
                die("a request after the migration's stop")
            p.wait()
            time.sleep(downtime_ms / 1000.0)
            gen, incoming = gen + 1, saved
            break


if __name__ == "__main__":
    sys.exit(main())
