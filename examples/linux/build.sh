#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build.sh: build Debian 12's Linux 6.1 as the VM-only OpenVMI guest kernel
# (examples/linux), from Debian's own linux-source-6.1 package, with our
# patch series, guest-lib and a built-in initramfs.
#
#   examples/linux/build.sh          build (or reuse); the last line of
#                                    stdout is the vmlinux path (PVH entry)
#   examples/linux/build.sh --print  print that path if it is built, else
#                                    exit 1 (no network, no work)
#   VMI_LINUX_VARIANT=NAME build.sh  the same kernel with the extra test
#                                    patches of variants/NAME/*.patch on
#                                    top of the series (a separate build;
#                                    --print finds it the same way)
#   examples/linux/build.sh --cloud  for comparisons (vmi-bench): fetch
#                                    Debian's cloud kernel (the .deb, not
#                                    installed) and print two lines, its
#                                    vmlinuz and the initramfs of this build
#                                    as a separate cpio, which it boots with
# Exit status 3: a Debian package cannot be had (tools/vmi-debian-fetch
# says why); 1: anything else (a patch that does not apply, a build error,
# a configuration line that did not take).
#
# Stages (each prints "==> linux [seconds] stage ..." on stderr):
#  1. source: tools/vmi-debian-fetch binary linux-source-6.1 (exact Debian
#     version, the .deb verified against the signed Packages index), its
#     tarball unpacked once per version (about 1.5 GB), then a hard-linked
#     copy per build (patch replaces files, so the pristine tree stays so);
#  2. our series, examples/linux/patches/series, applied with patch -F0,
#     and guest-lib's sources placed into the tree (drivers/virt/openvmi/
#     guest-lib/, kept in guest-lib's own style, outside the patches);
#  3. the initramfs: Debian's static busybox (busybox-static, fetched, not
#     installed), the KTAP test program (initramfs/openvmi-test.c, built
#     static) and initramfs/init, listed for the kernel's gen_init_cpio;
#  4. configure: x86_64 tinyconfig + openvmi.config (merge_config.sh), then
#     a check that every line of the fragment took effect;
#  5. make vmlinux bzImage (out of tree, through ccache), a progress line a
#     minute; the bzImage also goes into kexec.cpio (/kexec/bzImage), the
#     initrd of the kexec test.
#
# Everything lives outside the work tree, under $VMI_LINUX_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/openvmi/linux):
#   ccache/            the compiler cache every build shares
#   src-<version>/     the unpacked Debian tree, never modified
#   b-<key>/           src/ (patched copy), initramfs/, build/ (O=); the
#                      $VMI_LINUX_KEEP (default 3) most recently used kept
# <key> hashes the Debian versions, the patches, the config fragment, the
# make variables, guest-lib's sources and the ABI headers, and the
# initramfs inputs.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${VMI_LINUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openvmi/linux}
JOBS=${VMI_LINUX_JOBS:-$(nproc 2>/dev/null || echo 2)}
cmake_var() {
    sed -n "s/^set($1 \"\\([^\"]*\\)\".*/\\1/p" "$ROOT/cmake/VmiDebian.cmake"
}
VERSION=${VMI_LINUX_VERSION:-$(cmake_var VMI_DEBIAN_LINUX_VERSION)}
BUSYBOX=${VMI_BUSYBOX_VERSION:-$(cmake_var VMI_DEBIAN_BUSYBOX_VERSION)}
MODE=build
case "${1:-}" in
--print) MODE=print ;;
--cloud) MODE=cloud ;;
"") ;;
*)
    echo "usage: $0 [--print | --cloud]" >&2
    exit 2
    ;;
esac

VMI_BUILD_NAME=linux
. "$ROOT/tools/vmi-build-lib.sh"
[ -n "$VERSION" ] || die "no Debian Linux version in cmake/VmiDebian.cmake"
[ -n "$BUSYBOX" ] || die "no Debian busybox version in cmake/VmiDebian.cmake"

# --- the key -------------------------------------------------------------
# Reproducible builds: the same inputs give the same objects (and ccache
# hits), whoever builds them and when.
MAKE_VARS=(
    ARCH=x86_64
    KBUILD_BUILD_TIMESTAMP=2026-01-01
    KBUILD_BUILD_USER=openvmi
    KBUILD_BUILD_HOST=openvmi
)
VARIANT=${VMI_LINUX_VARIANT:-}
if [ -n "$VARIANT" ]; then
    case $VARIANT in */* | .*) die "VMI_LINUX_VARIANT: a name under variants/" ;; esac
    ls "$HERE/variants/$VARIANT"/*.patch >/dev/null 2>&1 ||
        die "VMI_LINUX_VARIANT=$VARIANT: no variants/$VARIANT/*.patch"
fi
series() {
    local p
    [ -f "$HERE/patches/series" ] || return 0
    while read -r p _; do
        case "$p" in "" | \#*) continue ;; esac
        echo "$HERE/patches/$p"
    done <"$HERE/patches/series"
    if [ -n "$VARIANT" ]; then
        # Test-only patches (never part of the series), in name order.
        ls "$HERE/variants/$VARIANT"/*.patch | LC_ALL=C sort
    fi
}
GUEST_LIB_FILES=$(cd "$ROOT" && find guest-lib/src guest-lib/include \
    guest-lib/arch/x86_64 include/vmi -type f \( -name '*.c' -o -name '*.h' \) |
    LC_ALL=C sort)
KEY=$( (
    echo "$VERSION $BUSYBOX"
    echo "${MAKE_VARS[*]}"
    series | xargs -r cat
    cat "$HERE/openvmi.config"
    (cd "$ROOT" && echo "$GUEST_LIB_FILES" | xargs cat)
    cat "$HERE/initramfs/init" "$HERE/initramfs/openvmi-test.c"
) | sha256sum | cut -c1-16)
OUT=$CACHE/b-$KEY
VMLINUX=$OUT/build/vmlinux

if [ "$MODE" = print ]; then
    [ -f "$VMLINUX" ] || exit 1
    touch "$OUT/.last-used" 2>/dev/null || true
    echo "$VMLINUX"
    exit 0
fi
if [ "$MODE" = cloud ]; then
    CLOUD=${VMI_CLOUD_KERNEL:-$(cmake_var VMI_DEBIAN_CLOUD_KERNEL)}
    [ -n "$CLOUD" ] || die "no Debian cloud kernel in cmake/VmiDebian.cmake"
    [ -f "$OUT/initramfs.cpio" ] ||
        die "build first (examples/linux/build.sh): no $OUT/initramfs.cpio"
    CDIR=$CACHE/cloud-$CLOUD-$VERSION
    if [ ! -f "$CDIR/.complete" ]; then
        rc=0
        DEB=$("$ROOT/tools/vmi-debian-fetch" binary "$CLOUD" "$VERSION" \
            --family '6.1.*') || rc=$?
        [ "$rc" -eq 0 ] || exit "$rc"
        rm -rf "$CDIR"
        mkdir -p "$CDIR"
        dpkg-deb -x "$DEB" "$CDIR" || die "cannot unpack $DEB"
        touch "$CDIR/.complete"
    fi
    VMLINUZ=$(ls "$CDIR"/boot/vmlinuz-* 2>/dev/null | head -1)
    [ -n "$VMLINUZ" ] || die "no boot/vmlinuz-* in $CLOUD"
    echo "$VMLINUZ"
    echo "$OUT/initramfs.cpio"
    exit 0
fi

for tool in make gcc flex bison bc perl flock patch dpkg-deb xz; do
    command -v "$tool" >/dev/null || die "missing $tool (./vmi.sh deps)"
done
[ -f /usr/include/libelf.h ] || die "missing libelf.h (Debian package libelf-dev)"
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] ||
    die "missing the static C library (Debian package libc6-dev)"
mkdir -p "$CACHE"
exec 9>"$CACHE/b-$KEY.lock"
flock 9 # one build per key at a time (ctest, vmi.sh, a developer)
say "key $KEY: Debian linux-source-6.1 $VERSION, busybox-static $BUSYBOX, $(series | wc -l) patches${VARIANT:+ (variant $VARIANT)}"

fetch() { # fetch PKG VERSION [--family GLOB]: the verified .deb's path
    local rc=0 deb
    deb=$("$ROOT/tools/vmi-debian-fetch" binary "$@") || rc=$?
    if [ "$rc" -eq 3 ]; then
        echo "examples/linux/build.sh: Debian's $1 cannot be had (see above)" >&2
        exit 3
    fi
    [ "$rc" -eq 0 ] || die "cannot get Debian's $1 $2 (see above)"
    echo "$deb"
}

# --- 1: the pristine tree, once per Debian version -----------------------
PRISTINE=$CACHE/src-$VERSION
if [ ! -f "$PRISTINE/.complete" ]; then
    say "1/5 source: linux-source-6.1 $VERSION (tools/vmi-debian-fetch)"
    DEB=$(fetch linux-source-6.1 "$VERSION" --family '6.1.*')
    exec 8>"$CACHE/src.lock"
    flock 8
    if [ ! -f "$PRISTINE/.complete" ]; then
        say "1/5 unpacking $(basename "$DEB") (about 1.5 GB)"
        rm -rf "$PRISTINE" "$PRISTINE.tmp"
        mkdir -p "$PRISTINE.tmp"
        dpkg-deb --fsys-tarfile "$DEB" |
            tar -xOf - ./usr/src/linux-source-6.1.tar.xz |
            tar -xJf - -C "$PRISTINE.tmp" --strip-components=1 ||
            die "could not unpack linux-source-6.1.tar.xz from $DEB"
        touch "$PRISTINE.tmp/.complete"
        mv "$PRISTINE.tmp" "$PRISTINE"
    fi
    exec 8>&-
fi

# --- 2: our patches and guest-lib, once per key ---------------------------
if [ ! -f "$OUT/src/.openvmi-patched" ]; then
    say "2/5 copy of the tree, our patches (examples/linux/patches/series)"
    rm -rf "$OUT/src" "$OUT/build"
    mkdir -p "$OUT"
    cp -al "$PRISTINE" "$OUT/src"
    rm -f "$OUT/src/.complete"
    series | while read -r p; do
        (cd "$OUT/src" && patch -p1 -s -F0 --no-backup-if-mismatch <"$p") ||
            die "$(basename "$p") does not apply to Debian's linux $VERSION"
    done
    if [ -n "$(series)" ]; then
        # guest-lib, freestanding and MIT, compiled by kbuild with the
        # kernel's flags; its own style, so not part of the patches.
        G=$OUT/src/drivers/virt/openvmi/guest-lib
        mkdir -p "$G"
        (cd "$ROOT" && echo "$GUEST_LIB_FILES" | while read -r f; do
            case $f in
            include/vmi/*) d=$G/abi/vmi ;;
            *) d=$G/$(dirname "${f#guest-lib/}") ;;
            esac
            mkdir -p "$d"
            cp "$f" "$d/"
        done)
    fi
    touch "$OUT/src/.openvmi-patched"
fi

# --- 3: the initramfs -----------------------------------------------------
IRD=$OUT/initramfs
if [ ! -f "$IRD/list" ]; then
    say "3/5 initramfs: busybox-static $BUSYBOX, the KTAP test program"
    rm -rf "$IRD"
    mkdir -p "$IRD/bb"
    BB_DEB=$(fetch busybox-static "$BUSYBOX")
    dpkg-deb -x "$BB_DEB" "$IRD/bb"
    [ -x "$IRD/bb/bin/busybox" ] || die "no bin/busybox in $BB_DEB"
    gcc -O2 -static -Wall -Wextra -Werror -o "$IRD/openvmi-test" \
        "$HERE/initramfs/openvmi-test.c" ||
        die "the test program does not build"
    cat >"$IRD/list.tmp" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /bin 0755 0 0
file /bin/busybox $IRD/bb/bin/busybox 0755 0 0
slink /bin/sh busybox 0777 0 0
file /init $HERE/initramfs/init 0755 0 0
file /openvmi-test $IRD/openvmi-test 0755 0 0
EOF
    mv "$IRD/list.tmp" "$IRD/list"
fi

# --- 4: configure, once per key -------------------------------------------
CCACHE=()
if command -v ccache >/dev/null; then
    export CCACHE_DIR=${CCACHE_DIR_LINUX:-$CACHE/ccache} CCACHE_BASEDIR=$OUT
    export CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
    CCACHE=(CC="ccache gcc")
    ccache -z >/dev/null
fi
KMAKE=(make -C "$OUT/src" O="$OUT/build" "${MAKE_VARS[@]}" "${CCACHE[@]}")
if [ ! -f "$OUT/build/.openvmi-configured" ]; then
    say "4/5 configure: tinyconfig + openvmi.config"
    rm -rf "$OUT/build"
    mkdir -p "$OUT/build"
    {
        cat "$HERE/openvmi.config"
        echo "CONFIG_INITRAMFS_SOURCE=\"$IRD/list\""
    } >"$OUT/build/openvmi.config"
    {
        "${KMAKE[@]}" tinyconfig &&
            (cd "$OUT/build" && "$OUT/src/scripts/kconfig/merge_config.sh" \
                -m -O "$OUT/build" .config openvmi.config) &&
            "${KMAKE[@]}" olddefconfig
    } >"$OUT/configure.log" 2>&1 || {
        tail -20 "$OUT/configure.log" >&2
        die "configure failed (log: $OUT/configure.log)"
    }
    # Every line of the fragment must have taken: a dependency that is not
    # met silently drops an option.
    bad=0
    while IFS= read -r line; do
        case "$line" in
        CONFIG_*=*) want=$line ;;
        "# CONFIG_"*" is not set")
            want=${line#\# }
            want=${want% is not set}
            grep -q "^$want=" "$OUT/build/.config" && {
                echo "  $want is set, the fragment says not set" >&2
                bad=1
            }
            continue
            ;;
        *) continue ;;
        esac
        grep -qxF "$want" "$OUT/build/.config" || {
            echo "  $want did not take: $(grep "^${want%%=*}=" \
                "$OUT/build/.config" || echo "${want%%=*} unset")" >&2
            bad=1
        }
    done <"$OUT/build/openvmi.config"
    [ "$bad" -eq 0 ] || die "the configuration lost lines of openvmi.config (above)"
    touch "$OUT/build/.openvmi-configured"
fi

# --- 5: the kernel --------------------------------------------------------
# make.log: this run; build.log: every run of this key, so that what the
# build that made vmlinux said (objtool's warnings) stays readable.
say "5/5 make -j$JOBS vmlinux bzImage (log $OUT/make.log)"
rc=0
run_with_progress 5/5 "$OUT/make.log" "${KMAKE[@]}" -j "$JOBS" vmlinux bzImage ||
    rc=$?
{
    echo "==== make vmlinux bzImage, exit $rc"
    cat "$OUT/make.log"
} >>"$OUT/build.log"
if [ "$rc" -ne 0 ]; then
    grep -E "error|Error" "$OUT/make.log" | head -30 >&2
    die "the kernel build failed (log: $OUT/make.log)"
fi
if [ -n "${CCACHE_DIR:-}" ]; then
    say "5/5 ccache: $(ccache -s 2>/dev/null | grep -E 'Hits|Misses' |
        tr -s ' ' | tr '\n' ' ')"
fi
# The same userland as a separate cpio, for kernels that take it as an
# initrd (vmi-bench boots Debian's cloud kernel with it).
if [ ! -f "$OUT/initramfs.cpio" ]; then
    "$OUT/build/usr/gen_init_cpio" "$IRD/list" >"$OUT/initramfs.cpio.tmp" &&
        mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio" ||
        die "gen_init_cpio failed"
fi
# The same kernel as a bzImage in a cpio of its own, given to the kernel
# as an initrd by the kexec test (the KTAP program finds /kexec/bzImage
# and kexecs into it).
if [ ! -f "$OUT/kexec.cpio" ]; then
    printf 'dir /kexec 0755 0 0\nfile /kexec/bzImage %s 0644 0 0\n' \
        "$OUT/build/arch/x86/boot/bzImage" >"$OUT/kexec.list" &&
        "$OUT/build/usr/gen_init_cpio" "$OUT/kexec.list" >"$OUT/kexec.cpio.tmp" &&
        mv "$OUT/kexec.cpio.tmp" "$OUT/kexec.cpio" ||
        die "gen_init_cpio failed (kexec.cpio)"
fi
touch "$OUT/.last-used"

# --- old builds: keep the 3 (VMI_LINUX_KEEP) most recently used keys ----
prune_builds "$CACHE" "$OUT" "${VMI_LINUX_KEEP:-3}"
say "done: $VMLINUX ($(du -h "$VMLINUX" | cut -f1); boot it with QEMU -kernel, PVH entry)"
echo "$VMLINUX"
