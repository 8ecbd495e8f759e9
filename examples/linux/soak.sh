#!/bin/sh
# soak.sh [N]: N consecutive 2-vCPU boots of Linux under QEMU (TCG), with
# and without OpenVMI, counted the same way: a soak, not a timed test.
#
#   openvmi: the OpenVMI guest kernel (examples/linux) on the patched QEMU
#            with the openvmi device (strict=on): it finds both CPUs from
#            OpenVMI's vCPU map and runs the whole KTAP program;
#   stock:   Debian's cloud kernel (linux-image-cloud-amd64, fetched by
#            build.sh --cloud, not installed) with the same userland as its
#            initrd, on the same QEMU without the device: it finds both
#            CPUs from QEMU's ACPI tables; the OpenVMI cases skip.
#
# For each boot: did it end (a boot that has not powered off after 120 s
# counts as a hang), did every KTAP case pass, which clocksource the
# kernel ended on, and whether the kernel marked a clocksource unstable
# (the TSC, or the one in use).  N defaults to 30.  Progress on stderr, the
# summary on stdout; the consoles of failed boots are kept under $KEEP
# (default /tmp/openvmi-soak).  Exit 1 if an OpenVMI boot hung, failed a
# case, ran on another clocksource or had it marked unstable.
set -u
N=${1:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
KEEP=${KEEP:-/tmp/openvmi-soak}
K=$("$HERE/build.sh" --print) || { echo "soak: build the kernel first (examples/linux/build.sh)" >&2; exit 2; }
Q=$("$HERE/../qemu/build.sh" --print) || { echo "soak: build QEMU first (examples/qemu/build.sh)" >&2; exit 2; }
CLOUD=$("$HERE/build.sh" --cloud) || { echo "soak: cannot fetch Debian's cloud kernel" >&2; exit 2; }
CK=$(echo "$CLOUD" | sed -n 1p)
CI=$(echo "$CLOUD" | sed -n 2p)
mkdir -p "$KEEP"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

qemu() { # qemu SERIAL-FILE ARGS...: one 2-vCPU boot, at most 120 s
    s=$1
    shift
    timeout 120 "$Q" -L /usr/share/qemu -L /usr/share/seabios -accel tcg \
        -M pc -smp 2 -m 256 -nodefaults -no-reboot -display none \
        -serial file:"$s" -device isa-debug-exit,iobase=0xf4,iosize=4 \
        "$@" 2>"$tmp/err"
}

# count NAME I RC WANT FILES...: classify one boot, append to $tmp/NAME
count() {
    name=$1 i=$2 rc=$3 want=$4
    shift 4
    cat "$@" | tr -d '\r' >"$tmp/all"
    hang=0 ok=0
    [ "$rc" -eq 124 ] && hang=1
    [ "$rc" -eq "$want" ] && ! grep -q "^not ok" "$tmp/all" &&
        grep -q "^KTAP version 1" "$tmp/all" && ok=1
    cs=$(sed -n "s/.*clocksource: Switched to clocksource \([a-z0-9_-]*\).*/\1/p" \
        "$tmp/all" | tail -1)
    tsc=0 cur=0
    grep -q "Marking TSC unstable\|Marking clocksource 'tsc' as unstable" \
        "$tmp/all" && tsc=1
    [ -n "$cs" ] && grep -q "Marking clocksource '$cs' as unstable" \
        "$tmp/all" && cur=1
    echo "$hang $ok ${cs:-none} $tsc $cur" >>"$tmp/$name"
    if [ "$ok" -eq 0 ]; then
        cp "$tmp/all" "$KEEP/$name-$i.log"
    fi
    echo "soak: $name boot $i: rc $rc, ${cs:-no clocksource}, " \
        "$([ $ok -eq 1 ] && echo ok || echo FAILED)" >&2
}

for i in $(seq 1 "$N"); do
    rm -f "$tmp/s" "$tmp/c"
    qemu "$tmp/s" -kernel "$K" \
        -append "console=hvc0 earlyprintk=serial,ttyS0,115200 openvmi_test.cpus=2 openvmi_test.status=7" \
        -chardev file,id=c,path="$tmp/c" -device openvmi,chardev=c,strict=on
    rc=$?
    grep -q violates "$tmp/err" && rc=99
    count openvmi "$i" "$rc" 7 "$tmp/s" "$tmp/c"
    rm -f "$tmp/s"
    qemu "$tmp/s" -kernel "$CK" -initrd "$CI" \
        -append "console=ttyS0 openvmi_test.expect=absent openvmi_test.cpus=2 openvmi_test.status=5"
    count stock "$i" $? 11 "$tmp/s"
done

summary() { # summary NAME LABEL
    awk -v label="$2" '
        { n++; hang += $1; ok += $2; cs[$3]++; tsc += $4; cur += $5 }
        END {
            s = ""
            for (c in cs) s = s sprintf("%s%s %d", s == "" ? "" : ", ", c, cs[c])
            printf "| %s | %d | %d | %d | %s | %d | %d |\n", label, n, hang, n - ok - hang, s, tsc, cur
        }' "$tmp/$1"
}
echo "| 2-vCPU boots | boots | hung | failed | ended on clocksource | TSC marked unstable | clocksource in use marked unstable |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
summary openvmi "OpenVMI kernel, openvmi device (strict)"
summary stock "Debian cloud kernel, no OpenVMI"
awk '$1 || !$2 || $3 != "openvmi" || $5 { bad = 1 } END { exit bad }' "$tmp/openvmi"
