#!/bin/sh
# run-linux.sh CASE: the VM-only Linux kernel (examples/linux) booted under
# QEMU with TCG, its in-guest KTAP test program checked (label linux).
# Environment: LINUX_BUILD and QEMU_BUILD (the two build scripts),
# LINUX_UNAVAILABLE and QEMU_UNAVAILABLE (files whose text is why a build
# could not be made, if ./vmi.sh left one).
# Exit 0 pass, 1 fail, 77 skip (Debian's source cannot be had).
set -u
case_name=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
con=$tmp/console

fail() {
    echo "FAIL ($case_name): $*"
    for f in "$out" "$con" "$err"; do
        [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -60 "$f"; }
    done
    exit 1
}
expect() { grep -q -- "$1" "$2" || fail "no '$1' in $(basename "$2")"; }

unavailable() { # unavailable FILE WHAT: skip when ./vmi.sh said why
    if [ -n "$1" ] && [ -s "$1" ]; then
        echo "SKIP: $2 cannot be built here: $(cat "$1")"
        exit 77
    fi
}
kernel() {
    unavailable "${LINUX_UNAVAILABLE:-}" "the Linux guest kernel"
    K=$("${LINUX_BUILD:?LINUX_BUILD not set}" --print) ||
        fail "the kernel is not built: run examples/linux/build.sh (./vmi.sh does)"
}
patched_qemu() {
    unavailable "${QEMU_UNAVAILABLE:-}" "the patched QEMU"
    Q=$("${QEMU_BUILD:?QEMU_BUILD not set}" --print) ||
        fail "the patched QEMU is not built: run examples/qemu/build.sh"
}

# boot BINARY EXPECTED_EXIT CMDLINE QEMU-ARGS...: one boot, $SMP vCPUs
# (without OpenVMI the kernel finds one CPU however many there are: it has
# no ACPI and QEMU's PVH boot gives it no MP table), -M pc (microvm's PIT
# calibration hangs some native boots), PVH entry.
SMP=1
PIN= # a taskset prefix, or nothing
REBOOT=-no-reboot # a guest reboot ends QEMU; empty: QEMU resets the VM
boot() {
    bin=$1 want=$2 cmdline="$3 openvmi_test.cpus=$SMP"
    shift 3
    timeout 120 $PIN "$bin" -L /usr/share/qemu -L /usr/share/seabios -accel tcg \
        -M pc -smp "$SMP" -m 256 -nodefaults $REBOOT -display none \
        -serial file:"$out" -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -kernel "$K" -append "$cmdline" "$@" 2>"$err"
    got=$?
    [ "$got" -eq "$want" ] || fail "qemu exit $got, expected $want"
}

# ktap FILE N: a KTAP report of N cases, every one ok (SKIP counts).
ktap() {
    # A tty ends lines with CR LF.
    tr -d '\r' <"$1" >"$1.tmp" && mv "$1.tmp" "$1"
    expect "^KTAP version 1" "$1"
    expect "^1\\.\\.$2\$" "$1"
    grep -q "^not ok" "$1" && fail "a KTAP case failed"
    [ "$(grep -c "^ok [0-9]" "$1")" -eq "$2" ] ||
        fail "expected $2 ok lines in $(basename "$1")"
}

case $case_name in
native)
    # Debian's own QEMU, no OpenVMI: the kernel's native paths, the
    # OpenVMI cases skip, the status through isa-debug-exit (2n + 1).
    kernel
    command -v qemu-system-x86_64 >/dev/null ||
        fail "Debian's qemu-system-x86_64 is not installed (./vmi.sh deps)"
    K=$K boot qemu-system-x86_64 11 \
        "console=ttyS0 openvmi_test.expect=absent openvmi_test.status=5"
    ktap "$out" 14
    expect "^ok 1 openvmi_absent_as_expected" "$out"
    expect "^ok 2 clocksource_is_openvmi # SKIP" "$out"
    expect "^ok 3 clockevent_is_openvmi # SKIP" "$out"
    expect "^ok 4 monotonic_never_goes_back" "$out"
    expect "^ok 5 nanosleep_never_early" "$out"
    expect "^ok 6 cpus_online" "$out"
    expect "^ok 7 monotonic_on_every_cpu" "$out"
    expect "^ok 8 clock_gettime_in_vdso # SKIP" "$out"
    expect "^ok 9 steal_time_counted # SKIP" "$out"
    expect "^ok 10 cpu_offline_online # SKIP one CPU" "$out"
    expect "^ok 11 timerfd_never_early" "$out"
    expect "^ok 12 balloon_inflate_deflate # SKIP OpenVMI absent" "$out"
    expect "^ok 13 tlb_flush_reaches_other_cpus # SKIP one CPU" "$out"
    expect "^ok 14 idle_through_block # SKIP OpenVMI absent" "$out"
    grep "^# " "$out" ;;
openvmi | openvmi_strict)
    # The patched QEMU with the openvmi device: the kernel finds OpenVMI,
    # takes its clock and console (hvc0) from it, and the test's status
    # ends QEMU through SHUTDOWN.  Early messages on the serial port.
    # Under the strict host, the guest commits no interface violation.
    kernel
    patched_qemu
    strict=off
    [ "$case_name" = openvmi_strict ] && strict=on
    K=$K boot "$Q" 7 \
        "console=hvc0 earlyprintk=serial,ttyS0,115200 openvmi_test.status=7" \
        -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon,strict=$strict
    ktap "$con" 14
    expect "^ok 1 openvmi_detected" "$con"
    expect "^ok 2 clocksource_is_openvmi" "$con"
    expect "^ok 3 clockevent_is_openvmi" "$con"
    expect "^ok 6 cpus_online" "$con"
    expect "^ok 7 monotonic_on_every_cpu" "$con"
    expect "^ok 8 clock_gettime_in_vdso" "$con"
    expect "^ok 9 steal_time_counted # SKIP no contention" "$con"
    expect "^ok 10 cpu_offline_online # SKIP one CPU" "$con"
    expect "^ok 11 timerfd_never_early" "$con"
    expect "^ok 12 balloon_inflate_deflate\$" "$con"
    expect "^ok 13 tlb_flush_reaches_other_cpus # SKIP one CPU" "$con"
    expect "^ok 14 idle_through_block\$" "$con"
    expect "Hypervisor detected: OpenVMI" "$out"
    expect "clocksource: Switched to clocksource openvmi" "$con"
    if grep -q "violates" "$err"; then
        fail "the host reported interface violations"
    fi
    grep "^# " "$con"
    grep "openvmi" "$con" | grep -v "^ok\|^#\|openvmi-test" | head -5 ;;
openvmi_smp)
    # Two vCPUs on the strict host: the kernel takes its CPU list from
    # OpenVMI's vCPU map (no ACPI, no MP table), starts CPU 1 with
    # VCPU_START, runs every case on both, takes CPU 1 offline (VCPU_STOP)
    # and back 3 times, and commits no interface violation.
    kernel
    patched_qemu
    SMP=2
    K=$K boot "$Q" 7 \
        "console=hvc0 earlyprintk=serial,ttyS0,115200 openvmi_test.status=7" \
        -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon,strict=on
    ktap "$con" 14
    expect "SMP: 2 of 2 vCPUs from OpenVMI's vCPU map" "$out"
    expect "^ok 2 clocksource_is_openvmi" "$con"
    expect "^ok 6 cpus_online" "$con"
    expect "^ok 7 monotonic_on_every_cpu" "$con"
    expect "^ok 8 clock_gettime_in_vdso" "$con"
    expect "^ok 10 cpu_offline_online\$" "$con"
    expect "^ok 13 tlb_flush_reaches_other_cpus\$" "$con"
    expect "^ok 14 idle_through_block\$" "$con"
    expect "remote TLB flushes through OpenVMI" "$out"
    if grep -q "violates" "$err"; then
        fail "the host reported interface violations"
    fi
    # (The TSC may be: TCG's vCPUs do not keep it in step; it is not used.)
    grep "clocksource.*openvmi.*unstable\|openvmi.*marked unstable" "$out" "$con" &&
        fail "the OpenVMI clocksource was marked unstable"
    grep "^# " "$con" ;;
openvmi_reboot_kexec_crash)
    # Reboot, kexec and a crash kernel, coming back each time; 2 vCPUs,
    # strict host, 64 MiB reserved for the crash kernel.  After the 14
    # cases the guest reboots (the kernel's restart handler: SHUTDOWN with
    # VMI_SHUTDOWN_REBOOT), QEMU resets the machine, which takes the
    # interface back to its initial state (VMI-VER-042), and the same
    # kernel boots again, negotiates again, starts CPU 1 again and passes
    # case 15.  Then it kexecs into its own bzImage (from the initrd
    # kexec.cpio): the old kernel RESETs the interface (VMI-VER-043), or
    # the new one could not negotiate, and the new kernel passes case 16.
    # That kernel loads the bzImage as its crash kernel and its init ends
    # on CPU 1: the panic RESETs the interface and starts the crash kernel
    # on vCPU 1, which learns that (leaf B+8), starts vCPU 0 as its CPU 1
    # and passes case 17.  No interface violation in all four.
    kernel
    patched_qemu
    kx=$(dirname "$(dirname "$K")")/kexec.cpio
    [ -f "$kx" ] || fail "no $kx (examples/linux/build.sh makes it)"
    SMP=2
    REBOOT=
    K=$K boot "$Q" 7 \
        "console=hvc0 earlyprintk=serial,ttyS0,115200 crashkernel=64M openvmi_test.reboot openvmi_test.kexec openvmi_test.crash openvmi_test.status=7" \
        -initrd "$kx" -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon,strict=on
    ktap "$con" 17
    expect "^# rebooting" "$con"
    expect "^# kexec: " "$con"
    expect "^# crash: " "$con"
    expect "^ok 11 timerfd_never_early" "$con"
    expect "^ok 12 balloon_inflate_deflate\$" "$con"
    expect "^ok 13 tlb_flush_reaches_other_cpus\$" "$con"
    expect "^ok 14 idle_through_block\$" "$con"
    expect "^ok 15 reboot_and_come_back\$" "$con"
    expect "^ok 16 kexec_and_come_back\$" "$con"
    expect "^ok 17 crash_and_come_back\$" "$con"
    grep -q "Kernel panic - not syncing: Attempted to kill init" "$out" "$con" ||
        fail "no panic of the kexec'd kernel"
    [ "$(grep -c "SMP: 2 of 2 vCPUs from OpenVMI's vCPU map" "$out")" -eq 4 ] ||
        fail "not four kernels with both vCPUs from OpenVMI's vCPU map"
    [ "$(grep -c "SMP: 2 of 2 vCPUs from OpenVMI's vCPU map, booted on vCPU 1" "$out")" -eq 1 ] ||
        fail "the crash kernel did not boot on vCPU 1"
    if grep -q "violates" "$err"; then
        fail "the host reported interface violations"
    fi
    grep "^# back" "$con" ;;
openvmi_migrate)
    # CLOCK_MONOTONIC across a live migration, 2 vCPUs, strict hosts: the
    # guest reads the clock for 10 s, moving between its CPUs; when it
    # says "# migrate now" the source QEMU migrates it (its monitor's
    # migrate, over a UNIX socket) to a second QEMU started with
    # -incoming, where the program finishes: no read went back, no sleep
    # ended early, and the destination ends with the guest's status.
    kernel
    patched_qemu
    sock=$tmp/in.sock
    mon=$tmp/monitor
    cmdline="console=hvc0 earlyprintk=serial,ttyS0,115200 openvmi_test.migrate openvmi_test.status=7 openvmi_test.cpus=2"
    vm() { # vm CONSOLE SERIAL STDERR [QEMU ARGS...]
        c=$1 s=$2 e=$3
        shift 3
        timeout 120 "$Q" -L /usr/share/qemu -L /usr/share/seabios \
            -accel tcg -M pc -smp 2 -m 256 -nodefaults -no-reboot \
            -display none -serial file:"$s" \
            -device isa-debug-exit,iobase=0xf4,iosize=4 \
            -chardev file,id=vmicon,path="$c" \
            -device openvmi,chardev=vmicon,strict=on \
            -kernel "$K" -append "$cmdline" "$@" 2>"$e"
    }
    vm "$tmp/dst-con" "$tmp/dst-out" "$tmp/dst-err" -incoming unix:"$sock" &
    dpid=$!
    vm "$con" "$out" "$err" -monitor unix:"$mon",server=on,wait=off &
    spid=$!
    i=0
    until grep -q "^# migrate now" "$con" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 600 ] || { kill $spid $dpid; fail "no '# migrate now'"; }
        sleep 0.05
    done
    python3 - "$mon" "$sock" <<'PY' || { kill $spid $dpid; fail "the migration did not complete"; }
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
def cmd(c):
    s.sendall(c.encode() + b"\n")
    time.sleep(0.2)
    try:
        return s.recv(1 << 16).decode(errors="replace")
    except socket.timeout:
        return ""
cmd("migrate -d unix:" + sys.argv[2])
for _ in range(300):
    r = cmd("info migrate")
    if "Migration status: completed" in r:
        cmd("quit")
        sys.exit(0)
    if "Migration status: failed" in r:
        print(r)
        sys.exit(1)
sys.exit(1)
PY
    wait $spid
    wait $dpid
    got=$?
    [ "$got" -eq 7 ] || fail "destination exit $got, expected 7"
    for f in "$con" "$tmp/dst-con"; do # a tty ends lines with CR LF
        tr -d '\r' <"$f" >"$f.tmp" && mv "$f.tmp" "$f"
    done
    cat "$con" "$tmp/dst-con" >"$tmp/all"
    ktap "$tmp/all" 2
    expect "^ok 1 openvmi_detected" "$tmp/all"
    grep -q "^ok 2" "$con" && fail "the case ended before the migration"
    expect "^ok 2 monotonic_across_migration\$" "$tmp/dst-con"
    if grep -q "violates" "$err" "$tmp/dst-err"; then
        fail "a host reported interface violations"
    fi
    grep "^# across" "$tmp/dst-con" ;;
openvmi_rule_break)
    # A kernel built with a test-only patch that breaks a rule the host can
    # observe (variants/rule-break: steal-time records registered although
    # VMI_F_STEAL was not asked for, against VMI-CALL-023): the strict host
    # reports it with that clause ID, and nothing else; the kernel, refused,
    # runs on.
    unavailable "${LINUX_UNAVAILABLE:-}" "the Linux guest kernel"
    K=$(VMI_LINUX_VARIANT=rule-break "${LINUX_BUILD:?LINUX_BUILD not set}" --print) ||
        fail "the rule-break kernel is not built: VMI_LINUX_VARIANT=rule-break examples/linux/build.sh (./vmi.sh does)"
    patched_qemu
    K=$K boot "$Q" 7 "console=hvc0 openvmi_test.status=7" \
        -chardev file,id=vmicon,path="$con" \
        -device openvmi,chardev=vmicon,strict=on
    ktap "$con" 14
    expect "violates VMI-CALL-023: call of a feature that was not granted" "$err"
    if grep "violates" "$err" | grep -v "VMI-CALL-023"; then
        fail "the host reported other violations"
    fi
    grep "violates" "$err" | head -3 ;;
openvmi_steal)
    # Steal time under contention: QEMU and a CPU hog share host CPU 0, so
    # the vCPU thread waits about half the time; the host reports it
    # (VMI_F_STEAL) and the guest's /proc/stat must show it.
    kernel
    patched_qemu
    command -v taskset >/dev/null || fail "no taskset (util-linux)"
    taskset -c 0 sh -c 'while :; do :; done' &
    hog=$!
    trap 'kill $hog 2>/dev/null; rm -rf "$tmp"' EXIT
    PIN="taskset -c 0"
    K=$K boot "$Q" 7 \
        "console=hvc0 openvmi_test.contention openvmi_test.status=7" \
        -chardev file,id=vmicon,path="$con" -device openvmi,chardev=vmicon
    kill $hog
    ktap "$con" 14
    expect "^ok 9 steal_time_counted\$" "$con"
    grep "^# steal" "$con" ;;
openvmi_novdso)
    # The vDSO case can fail: with vdso=0 the C library makes the system
    # call, the tracer sees 1001 of them and the case says so (status 7 + 1).
    kernel
    patched_qemu
    K=$K boot "$Q" 8 \
        "console=hvc0 vdso=0 openvmi_test.status=7" \
        -chardev file,id=vmicon,path="$con" -device openvmi,chardev=vmicon
    tr -d '\r' <"$con" >"$con.tmp" && mv "$con.tmp" "$con"
    expect "^not ok 8 clock_gettime_in_vdso # 1001 clock_gettime system calls" "$con"
    [ "$(grep -c "^not ok" "$con")" -eq 1 ] || fail "another case failed"
    grep "^# clock_gettime" "$con" ;;
guest_lib)
    # guest-lib inside the kernel: compiled by kbuild with the kernel's
    # flags (retpolines, return thunks, IBT), accepted by objtool, and its
    # indirect calls through the kernel's thunks.
    kernel
    b=$(dirname "$K")
    g=$b/drivers/virt/openvmi
    [ -f "$g/built-in.a" ] || fail "no $g/built-in.a: guest-lib not built in"
    for o in call clock console event memory probe pt tlb vcpu; do
        cmd=$g/guest-lib/src/.$o.o.cmd
        [ -f "$cmd" ] || fail "guest-lib's $o.c was not compiled by kbuild"
        for f in -mcmodel=kernel -mno-red-zone -mindirect-branch=thunk-extern \
            -mfunction-return=thunk-extern -fcf-protection=branch; do
            grep -q -- "$f" "$cmd" || fail "$o.o built without $f"
        done
    done
    log=$(dirname "$b")/build.log
    grep -q "^  LD      vmlinux.o\|^  LD      .*/vmlinux.o" "$log" ||
        fail "no vmlinux.o link in $log (objtool runs on it)"
    if grep "warning: objtool" "$log" |
        grep -q "virt/openvmi\|cpu/openvmi\|hvc_openvmi"; then
        grep "warning: objtool" "$log" >"$out"
        fail "objtool warns about OpenVMI objects"
    fi
    objdump -dr "$g"/guest-lib/src/*.o "$g"/guest-lib/arch/x86_64/*.o \
        >"$out" || fail "objdump failed"
    grep -qE "call +\*%" "$out" && fail "an indirect call bypasses the retpoline thunks"
    grep -q "__x86_indirect_thunk" "$out" ||
        fail "no call through the kernel's retpoline thunks"
    grep -q "endbr64" "$out" || fail "no ENDBR: built without IBT"
    echo "guest-lib: $(grep -c '>:$' "$out") functions, kernel flags, retpolines, return thunks, IBT, objtool clean" ;;
checkpatch)
    # The kernel's style checker, --strict, on every patch of the series:
    # no error, no warning, no check.
    kernel
    src=$(dirname "$(dirname "$K")")/src
    series=$(cd "$(dirname "$0")/../patches" && pwd)/series
    [ -x "$src/scripts/checkpatch.pl" ] || fail "no checkpatch.pl in $src"
    n=0
    for p in $(grep -v '^#' "$series"); do
        (cd "$src" && ./scripts/checkpatch.pl --strict \
            "$(dirname "$series")/$p") >>"$out" 2>&1
        n=$((n + 1))
    done
    [ "$n" -ge 1 ] || fail "no patch in the series"
    [ "$(grep -c '^total: 0 errors, 0 warnings, 0 checks' "$out")" -eq "$n" ] ||
        fail "checkpatch.pl --strict reports problems"
    echo "checkpatch.pl --strict: $n patches, 0 errors, 0 warnings, 0 checks" ;;
*)
    echo "unknown case $case_name"
    exit 2 ;;
esac
echo "PASS ($case_name)"
