#!/bin/sh
# run-qemu.sh CASE: one guest on QEMU with the openvmi device (label qemu).
# Environment: QEMU_BUILD (examples/qemu/build.sh), GUESTS (dir of the
# .elf guests), QEMU_UNAVAILABLE (a file whose text is why the patched
# QEMU could not be built, if ./vmi.sh left one).
# Exit 0 pass, 1 fail, 77 skip (Debian's QEMU source cannot be had).
set -u
case_name=$1
G=${GUESTS:?GUESTS not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err

fail() {
    echo "FAIL ($case_name): $*"
    echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"
    exit 1
}
expect() { grep -q -- "$1" "$2" || fail "no '$1' in $2"; }

patched() {
    if [ -n "${QEMU_UNAVAILABLE:-}" ] && [ -s "$QEMU_UNAVAILABLE" ]; then
        echo "SKIP: the patched QEMU cannot be built here: $(cat "$QEMU_UNAVAILABLE")"
        exit 77
    fi
    Q=$("${QEMU_BUILD:?QEMU_BUILD not set}" --print) ||
        fail "the patched QEMU is not built: run examples/qemu/build.sh (./vmi.sh does)"
}

# The aarch64 binary and guests (GUESTS_A64: the aarch64 cross build's
# examples/guests, examples/aarch64.cmake).
patched_a64() {
    patched
    QA=$("$QEMU_BUILD" --print aarch64) ||
        fail "the patched qemu-system-aarch64 is not built: run examples/qemu/build.sh"
    GA=${GUESTS_A64:?GUESTS_A64 not set}
    [ -f "$GA/hello.elf" ] && [ -f "$GA/smp.elf" ] ||
        fail "no aarch64 guests in $GA (the aarch64_guests target builds them)"
}

# qemu_a64 EXPECTED_EXIT ARGS...: a guest on -M virt with a GICv3 under
# TCG; semihosting carries the exit status of a guest without OpenVMI.
qemu_a64() {
    want=$1
    shift
    timeout 60 "$QA" -accel tcg -M virt,gic-version=3 -cpu cortex-a57 \
        -nodefaults -no-reboot -display none -serial stdio \
        -semihosting-config enable=on,target=native "$@" >"$out" 2>"$err"
    got=$?
    [ "$got" -eq "$want" ] || fail "qemu-system-aarch64 exit $got, expected $want ($*)"
}

# qemu BINARY EXPECTED_EXIT MACHINE ARGS...: run a guest, check the exit.
# isa-debug-exit: QEMU exits with (guest status << 1) | 1.
qemu() {
    bin=$1 want=$2 machine=$3
    shift 3
    timeout 60 "$bin" -L /usr/share/qemu -L /usr/share/seabios -accel tcg -M "$machine" \
        -nodefaults -no-reboot -display none -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=4 "$@" >"$out" 2>"$err"
    got=$?
    [ "$got" -eq "$want" ] || fail "qemu exit $got, expected $want ($machine $*)"
}

# A guest on QEMU in the background ($qpid) with its console in $con and a
# monitor socket at $mon: bg_guest IMAGE CMDLINE [QEMU ARGS...].
mon=$tmp/monitor
con=$tmp/console
bg_guest() {
    img=$1 cmdline=$2
    shift 2
    rm -f "$mon"
    : >"$con"
    timeout 60 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg \
        -M microvm -m 128 -nodefaults -display none \
        -monitor unix:"$mon",server=on,wait=off \
        -chardev file,id=vmicon,path="$con" -device openvmi,chardev=vmicon \
        "$@" -append "$cmdline" -kernel "$G/$img" >"$out" 2>"$err" &
    qpid=$!
}

# wait_for TEXT FILE [COUNT]: until FILE holds TEXT (COUNT lines of it).
wait_for() {
    i=0
    until [ "$(grep -c -- "$1" "$2" 2>/dev/null)" -ge "${3:-1}" ]; do
        i=$((i + 1))
        [ $i -lt 400 ] || { kill $qpid 2>/dev/null; fail "no '$1' in $2"; }
        sleep 0.05
    done
}

# mon_cmd CMD...: monitor commands to the QEMU at $mon; prints the replies.
mon_cmd() {
    python3 - "$mon" "$@" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
time.sleep(0.1)
for cmd in sys.argv[2:]:
    s.sendall(cmd.encode() + b"\n")
    time.sleep(0.3)
    try:
        print(s.recv(1 << 16).decode(errors="replace"))
    except socket.timeout:
        pass
s.close()
PY
}

case $case_name in
probe_microvm | probe_pc)
    # Discovery answered by the device under TCG, above QEMU's own
    # 0x40000000 leaf and past its clamp of leaves above 0x40000001; the
    # guest's output through the doorbell's console call, its status
    # through SHUTDOWN (QEMU exits with it, not isa-debug-exit's 2n+1).
    patched
    m=${case_name#probe_}
    con=$tmp/console
    qemu "$Q" 0 "$m" -smp 2 -m 128 -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon -kernel "$G/probe.elf"
    expect "probe: OpenVMI block at 0x40000100: versions 1.0 to 1.0, transports 0x4, port 0x520" "$con"
    expect "probe: 2 vCPU(s)" "$con"
    expect "timers 256" "$con"
    expect 'probe: host "QEMU 7.2' "$con"
    expect "probe: calls usable" "$con"
    # Another port and base, 4 vCPUs, a status: the guest follows
    # discovery, and QEMU ends with the status the guest gave SHUTDOWN.
    qemu "$Q" 42 "$m" -smp 4 -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon,cpuid-base=0x40000300,iobase=0x5a0,timers=9 \
        -append "status=42" -kernel "$G/probe.elf"
    expect "probe: OpenVMI block at 0x40000300: .* port 0x5a0" "$con"
    expect "probe: 4 vCPU(s)" "$con"
    expect "timers 9" "$con" ;;
hello)
    # The hello guest (clock, events, a timer, BLOCK until its event) to
    # completion on both machines, booted through Multiboot and through
    # PVH (a separate build of the image: QEMU tries Multiboot first).
    patched
    con=$tmp/console
    for m in microvm pc; do
        for img in hello hello-pvh; do
            : >"$con"
            qemu "$Q" 0 "$m" -m 128 -chardev file,id=vmicon,path="$con" \
                -device openvmi,chardev=vmicon -append "sleep_ms=30" \
                -kernel "$G/$img.elf"
            expect 'hello: OpenVMI 1.0 host "QEMU 7.2' "$con"
            expect "hello: clock [0-9]* ns, slept [0-9]* us (asked 30 ms" "$con"
            echo "$m $img: $(grep 'hello: clock' "$con")"
        done
    done
    # The guest's status through SHUTDOWN, and the command line through
    # both boot protocols.
    qemu "$Q" 7 microvm -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon -append "status=7 sleep_ms=1" \
        -kernel "$G/hello-pvh.elf" ;;
smp2 | smp4)
    # Every vCPU started with VCPU_START, IPIs by EVENT_SEND and upcalls
    # through the local APICs, BLOCK on the APs, the clock across vCPUs,
    # a remote TLB flush, memory released and reclaimed, steal time:
    # through Multiboot on microvm and PVH on pc, and the other way round.
    patched
    n=${case_name#smp}
    con=$tmp/console
    for mi in microvm:smp pc:smp-pvh microvm:smp-pvh pc:smp; do
        m=${mi%%:*} img=${mi#*:}
        : >"$con"
        qemu "$Q" 0 "$m" -smp "$n" -m 256 -chardev file,id=vmicon,path="$con" \
            -device openvmi,chardev=vmicon -append "rounds=20 release_mib=16" \
            -kernel "$G/$img.elf"
        expect "smp: $n vCPUs online" "$con"
        expect "smp: IPIs: 20 round trips per vCPU" "$con"
        expect "smp: clock: .* monotonic across vCPUs" "$con"
        expect "smp: TLB: remapped page seen by $((n - 1)) remote" "$con"
        expect "smp: memory: released and reclaimed 16 MiB" "$con"
        expect "smp: all checks passed" "$con"
        echo "$m $img: $(grep 'all checks passed' "$con")"
    done ;;
probe_absent)
    # Without the device, and on Debian's own QEMU: absent, and said so.
    patched
    qemu "$Q" 7 microvm -kernel "$G/probe.elf"
    expect "probe: OpenVMI absent" "$out"
    command -v qemu-system-x86_64 >/dev/null ||
        fail "Debian's qemu-system-x86_64 is not installed (./vmi.sh deps)"
    qemu qemu-system-x86_64 7 microvm -kernel "$G/probe.elf"
    expect "probe: OpenVMI absent" "$out"
    # hello and smp, through both boot protocols, on Debian's QEMU: they
    # say so on the serial port and end through isa-debug-exit (2n+1).
    for img in hello hello-pvh; do
        qemu qemu-system-x86_64 1 pc -kernel "$G/$img.elf"
        expect "hello: OpenVMI absent (probe: VMI_E_NOSYS)" "$out"
    done
    for img in smp smp-pvh; do
        qemu qemu-system-x86_64 3 microvm -smp 2 -kernel "$G/$img.elf"
        expect "smp: OpenVMI absent" "$out"
    done ;;
bad_properties)
    # Bad configuration is refused with a message, not a crash.
    patched
    timeout 30 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg -M microvm -nodefaults \
        -display none -device openvmi,cpuid-base=0x40000000 \
        -kernel "$G/probe.elf" >"$out" 2>"$err"
    [ $? -eq 1 ] || fail "QEMU accepted cpuid-base=0x40000000"
    expect "cpuid-base must be a multiple of 0x100" "$err"
    timeout 30 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg -M microvm -nodefaults \
        -display none -device openvmi -device openvmi \
        -kernel "$G/probe.elf" >"$out" 2>"$err"
    [ $? -eq 1 ] || fail "QEMU accepted two openvmi devices"
    expect "only one openvmi device per machine" "$err"
    timeout 30 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg -M microvm -nodefaults \
        -display none -device openvmi,timers=0 \
        -kernel "$G/probe.elf" >"$out" 2>"$err"
    [ $? -eq 1 ] || fail "QEMU accepted timers=0"
    expect "openvmi: timer_count out of range" "$err"
    timeout 30 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg \
        -M microvm -nodefaults -display none -device openvmi,iobase=0 \
        -kernel "$G/probe.elf" >"$out" 2>"$err"
    [ $? -eq 1 ] || fail "QEMU accepted iobase=0"
    expect "iobase must be a port from 1 to 0xfffc" "$err" ;;
bad_calls)
    # A guest that sends malformed calls gets the spec's statuses, each
    # violation is reported with its clause (strict=on), QEMU keeps running
    # and ends with the guest's status.
    patched
    con=$tmp/console
    qemu "$Q" 0 microvm -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon,strict=on -kernel "$G/bad_strict.elf"
    expect "call before negotiation -> VMI_E_STATE" "$con"
    expect "reserved flags -> VMI_E_INVAL" "$con"
    expect "misaligned record -> VMI_E_ALIGN" "$con"
    expect "GPA outside RAM -> VMI_E_FAULT" "$con"
    for c in VMI-VER-004 VMI-CALL-032 VMI-CALL-028 VMI-CALL-027; do
        expect "openvmi: strict: vCPU 0 violates $c: " "$err"
    done ;;
stop_cont)
    # The monitor's stop and cont: when the VM resumes, the clock record
    # shows GUEST_STOPPED (VMI-CLK-037); the guest clears it as Linux does
    # and it stays clear (VMI-CLK-038).
    patched
    bg_guest probe.elf "wait_stop=20 status=5"
    wait_for "waiting for a stop" "$con"
    mon_cmd stop cont >/dev/null || fail "the monitor did not take stop and cont"
    wait $qpid
    got=$?
    [ "$got" -eq 5 ] || fail "qemu exit $got, expected 5"
    expect "probe: GUEST_STOPPED after the stop" "$con"
    expect "probe: GUEST_STOPPED clear after the clear" "$con"
    cat "$con" ;;
lifecycle)
    # Draft 2's lifecycle (examples/guests/lifecycle): QUERY, a vCPU that
    # stops itself with VCPU_STOP and is started again, an INIT IPI that
    # stops it as VCPU_STOP would (VMI-CPU-020) so that VCPU_START starts
    # it again, RESET, which stops the other vCPU and takes the interface
    # back to INITIAL, and a second negotiation whose timer fires.
    patched
    con=$tmp/console
    for m in microvm pc; do
        : >"$con"
        qemu "$Q" 0 "$m" -smp 2 -m 128 -chardev file,id=vmicon,path="$con" \
            -device openvmi,chardev=vmicon -append init=1 \
            -kernel "$G/lifecycle.elf"
        expect "lifecycle: vCPU 1 stopped itself and was started again" "$con"
        expect "lifecycle: INIT stopped vCPU 1, VCPU_START started it again" "$con"
        expect "lifecycle: RESET, negotiated again, vCPU 1 restarted" "$con"
        expect "lifecycle: all checks passed" "$con"
        echo "$m: $(grep 'RESET,' "$con")"
    done ;;
blockwake)
    # BLOCK ends for the local APIC timer, an interrupt that is not an
    # upcall (VMI-EVT-043), with the reason in VMI-EVT-044's order; the
    # interrupt is taken once the guest enables interrupts.
    patched
    con=$tmp/console
    for m in microvm pc; do
        : >"$con"
        qemu "$Q" 0 "$m" -m 128 -chardev file,id=vmicon,path="$con" \
            -device openvmi,chardev=vmicon,strict=on -kernel "$G/blockwake.elf"
        expect "blockwake: APIC timer during BLOCK: INTERRUPT after" "$con"
        expect "blockwake: APIC timer pending at BLOCK: INTERRUPT" "$con"
        expect "blockwake: event and interrupt pending: EVENT" "$con"
        grep -q "blockwake: all checks passed" "$con" ||
            { cat "$con"; fail "blockwake did not pass on $m"; }
        ! grep -q "violates" "$err" || fail "strict mode reported a violation"
        cat "$con"
    done ;;
reset)
    # The machine's reset is the VM's architectural reset (VMI-VER-042):
    # after the monitor's system_reset the guest boots again and can
    # negotiate again from INITIAL (a second negotiation in one boot of
    # the interface would be refused) and register its clock record.
    patched
    bg_guest probe.elf "wait_stop=20 status=5"
    wait_for "waiting for a stop" "$con"
    mon_cmd system_reset >/dev/null || fail "the monitor did not take system_reset"
    wait_for "waiting for a stop" "$con" 2
    kill $qpid
    wait $qpid
    [ "$(grep -c "probe: calls usable" "$con")" -ge 2 ] ||
        fail "the second boot did not negotiate"
    cat "$con" ;;
migrate)
    # Migration through QEMU's own stream (the device's vmstate section
    # carries host-lib's saved state, after the RAM it refers to):
    #  1. hello in the middle of a 3 s timer sleep (in BLOCK, which the
    #     stop ends with VMI_WAKE_SPURIOUS and the guest issues again) is
    #     migrated to a file and continued from it by another QEMU: the
    #     timer fires there, on time by the VM clock, which stood still;
    #  2. the probe's clock record carries GUEST_STOPPED after the
    #     migration (VMI-CLK-037) and the guest's clear holds;
    #  3. the same stream with one byte of the OpenVMI state flipped is
    #     refused by the destination with host-lib's reason;
    #  4. a live migration whose destination refuses the damaged state
    #     fails, and the source VM runs on to the guest's end;
    #  5. a live migration of two busy vCPUs succeeds.
    patched
    relay=$tmp/relay.py
    cat >"$relay" <<'PY'
# relay.py: copy a migration stream, flipping one byte inside the openvmi
# section's saved state.  Without arguments from stdin to stdout; with
# LISTEN DEST, as a proxy between a source connecting to the UNIX socket
# LISTEN and a destination listening on DEST, the return path included.
import os, socket, sys, threading
MAGIC = bytes.fromhex("4f564d4953415645")  # VMI_SAVE_MAGIC, little-endian


def forward(read, send):
    """Copy read() to send() until EOF; True when the byte was flipped."""
    buf, done = b"", False
    while True:
        d = read()
        buf += d
        if not done:
            i = buf.find(b"openvmi")
            j = buf.find(MAGIC, i) if i >= 0 else -1
            if j >= 0 and len(buf) >= j + 64:
                b = bytearray(buf)
                b[j + 48] ^= 0xFF
                buf, done = bytes(b), True
        if not d:
            break
        keep = 0 if done else 4096
        if len(buf) > keep:
            send(buf[:len(buf) - keep])
            buf = buf[len(buf) - keep:]
    send(buf)
    return done


if len(sys.argv) == 1:
    ok = forward(lambda: sys.stdin.buffer.read1(1 << 16),
                 sys.stdout.buffer.write)
    sys.exit(0 if ok else 2)
listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[1])
listener.listen(1)
dst = socket.socket(socket.AF_UNIX)
dst.connect(sys.argv[2])
src, _ = listener.accept()


def back():  # the return path, unchanged
    while True:
        d = dst.recv(1 << 16)
        if not d:
            break
        src.sendall(d)
    src.shutdown(socket.SHUT_WR)


t = threading.Thread(target=back, daemon=True)
t.start()
try:
    ok = forward(lambda: src.recv(1 << 16), dst.sendall)
    dst.shutdown(socket.SHUT_WR)
except OSError:
    ok = True  # the destination refused and closed first
t.join(30)
sys.exit(0 if ok else 2)
PY
    # migrate_to_file FILE: migrate the source to FILE, end the source.
    migrate_to_file() {
        mon_cmd "migrate \"exec:cat > $1\"" >/dev/null
        i=0
        until mon_cmd "info migrate" | grep -q "Migration status: completed"; do
            i=$((i + 1))
            [ $i -lt 40 ] || { kill $qpid; fail "the migration did not complete"; }
        done
        mon_cmd quit >/dev/null
        wait $qpid
    }
    # dest WANT_EXIT FILE IMAGE: continue the VM saved in FILE.
    dest() {
        : >"$tmp/dst-con"
        timeout 60 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg \
            -M microvm -m 128 -nodefaults -display none \
            -chardev file,id=vmicon,path="$tmp/dst-con" \
            -device openvmi,chardev=vmicon -kernel "$G/$3" \
            -incoming "exec:cat $2" >"$out" 2>"$err"
        got=$?
        [ "$got" -eq "$1" ] || fail "destination exit $got, expected $1"
    }

    # 1. A timer sleep across the migration.
    bg_guest hello.elf "status=5 sleep_ms=3000"
    wait_for "hello: OpenVMI" "$con"
    sleep 0.5
    migrate_to_file "$tmp/hello.mig"
    ! grep -q "slept" "$con" || fail "hello finished before the migration"
    dest 5 "$tmp/hello.mig" hello.elf
    expect "hello: clock [0-9]* ns, slept" "$tmp/dst-con"
    slept=$(sed -n 's/.*slept \([0-9]*\) us.*/\1/p' "$tmp/dst-con")
    [ -n "$slept" ] && [ "$slept" -ge 3000000 ] && [ "$slept" -lt 4500000 ] ||
        fail "slept '$slept' us across the migration, expected 3000000..4500000"
    echo "hello across a migration: $(cat "$tmp/dst-con")"

    # 2. GUEST_STOPPED in the record on the destination.
    bg_guest probe.elf "wait_stop=30 status=6"
    wait_for "waiting for a stop" "$con"
    migrate_to_file "$tmp/probe.mig"
    dest 6 "$tmp/probe.mig" probe.elf
    expect "probe: GUEST_STOPPED after the stop" "$tmp/dst-con"
    expect "probe: GUEST_STOPPED clear after the clear" "$tmp/dst-con"

    # 3. One byte of the OpenVMI state flipped: refused.
    python3 "$relay" <"$tmp/hello.mig" >"$tmp/bad.mig" ||
        fail "no OpenVMI state found in the stream"
    cmp -s "$tmp/hello.mig" "$tmp/bad.mig" && fail "the relay changed nothing"
    dest 1 "$tmp/bad.mig" hello.elf
    expect "openvmi: the migration stream's OpenVMI state is refused: " "$err"
    grep "openvmi:" "$err"

    # 4. Live, through the damaging relay, with QEMU's return path (the
    # source learns the outcome from the destination): the destination
    # refuses, the source resumes and the guest ends there with its status.
    sock=$tmp/in.sock
    timeout 60 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg \
        -M microvm -m 128 -nodefaults -display none \
        -chardev file,id=vmicon,path="$tmp/dst-con" \
        -device openvmi,chardev=vmicon -kernel "$G/hello.elf" \
        -incoming unix:"$sock" >"$tmp/dst-out" 2>"$tmp/dst-err" &
    dpid=$!
    bg_guest hello.elf "status=7 sleep_ms=2000"
    wait_for "hello: OpenVMI" "$con"
    i=0
    until [ -S "$sock" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "no destination socket"; sleep 0.05
    done
    python3 "$relay" "$tmp/relay.sock" "$sock" &
    rpid=$!
    i=0
    until [ -S "$tmp/relay.sock" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "no relay socket"; sleep 0.05
    done
    mon_cmd "migrate_set_capability return-path on" \
        "migrate -d unix:$tmp/relay.sock" >/dev/null
    wait $dpid
    [ $? -ne 0 ] || fail "the destination accepted a damaged state"
    grep -q "openvmi: the migration stream's OpenVMI state is refused" \
        "$tmp/dst-err" || { cat "$tmp/dst-err"; fail "no reason from the destination"; }
    grep "openvmi:" "$tmp/dst-err"
    wait $rpid || fail "the relay found no OpenVMI state in the live stream"
    wait $qpid
    got=$?
    [ "$got" -eq 7 ] || fail "source exit $got after the failed migration, expected 7"
    expect "hello: clock [0-9]* ns, slept" "$con"
    echo "failed live migration, source ran on: $(grep slept "$con")"

    # 5. A live migration that succeeds, of two vCPUs busy with IPIs
    # (EVENT_SEND, upcalls: host-lib writes the event records all along,
    # which its dirty callback marks), the clock, TLB_FLUSH and memory
    # release: the guest's checks pass on the destination.
    sock=$tmp/in2.sock
    timeout 60 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg \
        -M microvm -smp 2 -m 128 -nodefaults -display none \
        -chardev file,id=vmicon,path="$tmp/dst-con" \
        -device openvmi,chardev=vmicon -kernel "$G/smp.elf" \
        -incoming unix:"$sock" >"$tmp/dst-out" 2>"$tmp/dst-err" &
    dpid=$!
    bg_guest smp.elf "rounds=60000" -smp 2
    wait_for "vCPUs online" "$con"
    i=0
    until [ -S "$sock" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "no destination socket"; sleep 0.05
    done
    sleep 0.3
    mon_cmd "migrate -d unix:$sock" >/dev/null
    i=0
    until mon_cmd "info migrate" | grep -q "Migration status: completed"; do
        i=$((i + 1))
        [ $i -lt 40 ] || { kill $qpid $dpid; fail "the live migration did not complete"; }
    done
    ! grep -q "all checks passed" "$con" ||
        fail "the guest finished before the live migration"
    mon_cmd quit >/dev/null
    wait $qpid
    wait $dpid
    got=$?
    [ "$got" -eq 0 ] || { cat "$tmp/dst-con" "$tmp/dst-err"; fail "destination exit $got after a live migration, expected 0"; }
    expect "smp: all checks passed" "$tmp/dst-con"
    echo "live migration of smp on 2 vCPUs: $(grep "all checks" "$tmp/dst-con")" ;;
checkpatch)
    # QEMU's own style checker on every patch of the series: 0 errors.
    patched
    src=$(dirname "$(dirname "$Q")")/src
    series=$(cd "$(dirname "$0")/../patches" && pwd)/series
    [ -x "$src/scripts/checkpatch.pl" ] || fail "no checkpatch.pl in $src"
    n=0
    for p in $(grep -v '^#' "$series"); do
        (cd "$src" && ./scripts/checkpatch.pl "$(dirname "$series")/$p") \
            >>"$out" 2>&1
        n=$((n + 1))
    done
    [ "$n" -ge 3 ] || fail "only $n patches in the series"
    [ "$(grep -c '^total: 0 errors, 0 warnings' "$out")" -eq "$n" ] ||
        fail "checkpatch.pl reports errors or warnings"
    touch "$err"
    echo "checkpatch.pl: $n patches, 0 errors, 0 warnings" ;;
aarch64_hello)
    # hello on aarch64: discovery through the SMCCC vendor hypervisor
    # service, calls by HVC, the clock on the virtual counter, a timer's
    # event ending BLOCK; the status through SHUTDOWN.
    patched_a64
    con=$tmp/console
    for st in 0 7; do
        : >"$con"
        qemu_a64 "$st" -m 256 -chardev file,id=vmicon,path="$con" \
            -device openvmi,chardev=vmicon,strict=on \
            -append "sleep_ms=30 status=$st" -kernel "$GA/hello.elf"
        grep -q "violates" "$err" && fail "strict mode reports a violation"
        expect 'hello: OpenVMI 1.0 host "QEMU 7.2' "$con"
        expect "hello: clock [0-9]* ns, slept [0-9]* us (asked 30 ms" "$con"
        echo "status $st: $(grep 'hello: clock' "$con")"
    done ;;
aarch64_smp2 | aarch64_smp4)
    # smp on aarch64: VCPU_START, IPIs by EVENT_SEND with the upcall PPI
    # through the GICv3, BLOCK on the secondary vCPUs, the clock across
    # vCPUs, a remote TLB flush, memory released and reclaimed, steal time.
    patched_a64
    n=${case_name#aarch64_smp}
    con=$tmp/console
    qemu_a64 0 -smp "$n" -m 256 -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon,strict=on \
        -append "rounds=20 release_mib=16" -kernel "$GA/smp.elf"
    grep -q "violates" "$err" && fail "strict mode reports a violation"
    expect "smp: $n vCPUs online" "$con"
    expect "smp: IPIs: 20 round trips per vCPU" "$con"
    expect "smp: clock: .* monotonic across vCPUs" "$con"
    expect "smp: TLB: remapped page seen by $((n - 1)) remote" "$con"
    expect "smp: memory: released and reclaimed 16 MiB" "$con"
    expect "smp: all checks passed" "$con"
    grep 'all checks passed' "$con" ;;
aarch64_absent)
    # Without the device the guests say so on the PL011 and exit through
    # semihosting; without an HVC conduit (EL2 present: PSCI by SMC) they
    # make no discovery call at all (VMI-DSC-036).
    patched_a64
    qemu_a64 0 -m 256 -kernel "$GA/hello.elf"
    expect "hello: OpenVMI absent (probe: VMI_E_NOSYS)" "$out"
    qemu_a64 1 -m 256 -kernel "$GA/smp.elf"
    expect "smp: OpenVMI absent" "$out"
    timeout 60 "$QA" -accel tcg -M virt,gic-version=3,virtualization=on \
        -cpu cortex-a57 -nodefaults -display none -serial stdio -m 256 \
        -semihosting-config enable=on,target=native -append status=5 \
        -kernel "$GA/hello.elf" >"$out" 2>"$err"
    got=$?
    [ "$got" -eq 5 ] || fail "EL2 machine: exit $got, expected 5"
    expect "hello: OpenVMI absent" "$out"
    # The device refuses machines it cannot serve, with the reason.
    timeout 30 "$QA" -accel tcg -M virt -cpu cortex-a57 -nodefaults -display none \
        -device openvmi -kernel "$GA/hello.elf" >"$out" 2>"$err" &&
        fail "a GICv2 machine was accepted"
    expect "needs one GICv3" "$err" ;;
*)
    echo "unknown case $case_name"
    exit 2 ;;
esac
echo "PASS ($case_name)"
