#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build.sh: build Debian 12's QEMU 7.2 with the OpenVMI device
# (-device openvmi) from Debian's own source package and our patch series.
#
#   examples/qemu/build.sh          build (or reuse) qemu-system-x86_64 and
#                                   qemu-system-aarch64; the last line of
#                                   stdout is the qemu-system-x86_64 path
#   examples/qemu/build.sh --print [aarch64]
#                                   print the x86_64 (aarch64) binary's path
#                                   if it is built, else exit 1 (no network,
#                                   no work)
# Exit status 3: Debian's source cannot be had (tools/vmi-debian-fetch says
# why); 1: anything else (a patch that does not apply, a build error).
#
# Stages (each prints "==> qemu [seconds] stage ..." on stderr):
#  1. source: tools/vmi-debian-fetch unpack qemu (exact Debian version,
#     verified against the signed Sources index, Debian's patches applied);
#  2. our series, examples/qemu/patches/series, applied with patch -F0;
#  3. host-lib built from this checkout and installed into the cache, so
#     QEMU finds it through its installed pkg-config file (vmi-host.pc) and
#     links libvmi-host.so.1 dynamically, as a vendor's build would;
#  4. configure: x86_64-softmmu and aarch64-softmmu (the openvmi device of
#     hw/i386 and of hw/arm), TCG, no GUI, docs, tools or blobs;
#  5. ninja qemu-system-x86_64 and qemu-system-aarch64 only (not QEMU's
#     tests), through ccache.
# Firmware and option ROMs come from Debian's seabios and qemu-system-data
# packages: run the binary with -L /usr/share/qemu -L /usr/share/seabios.
#
# Everything lives outside the work tree, under $VMI_QEMU_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/openvmi/qemu):
#   ccache/        the compiler cache every build shares
#   b-<key>/       src/ (patched tree), stage/ (host-lib), build/; the
#                  $VMI_QEMU_KEEP (default 3) most recently used are kept
# <key> hashes the Debian version, the patches, the configure line and the
# host-lib headers QEMU compiles against; an unchanged key reuses the build
# (ninja then relinks nothing), a new key on a warm ccache takes about a
# minute.  Measured here: about 5 minutes cold on 2 cores (1427 steps).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${VMI_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openvmi/qemu}
JOBS=${VMI_QEMU_JOBS:-$(nproc 2>/dev/null || echo 2)}
VERSION=${VMI_QEMU_VERSION:-$(sed -n \
    's/^set(VMI_DEBIAN_QEMU_VERSION "\([^"]*\)".*/\1/p' \
    "$ROOT/cmake/VmiDebian.cmake")}
MODE=build
PRINT_ARCH=x86_64
case "${1:-}" in
--print)
    MODE=print
    case "${2:-x86_64}" in
    x86_64 | aarch64) PRINT_ARCH=${2:-x86_64} ;;
    *)
        echo "usage: $0 [--print [x86_64|aarch64]]" >&2
        exit 2
        ;;
    esac
    ;;
"") ;;
*)
    echo "usage: $0 [--print [x86_64|aarch64]]" >&2
    exit 2
    ;;
esac

VMI_BUILD_NAME=qemu
. "$ROOT/tools/vmi-build-lib.sh"
[ -n "$VERSION" ] || die "no Debian QEMU version in cmake/VmiDebian.cmake"

# --- the key -------------------------------------------------------------
CONFIGURE_ARGS=(
    --target-list=x86_64-softmmu,aarch64-softmmu
    --without-default-features
    --enable-tcg
    --enable-fdt=system
    --enable-openvmi
    --disable-docs
    --disable-debug-info
    --disable-install-blobs
    --disable-werror
)
series() {
    local p
    while read -r p _; do
        case "$p" in "" | \#*) continue ;; esac
        echo "$HERE/patches/$p"
    done <"$HERE/patches/series"
}
KEY=$( (
    echo "$VERSION"
    echo "${CONFIGURE_ARGS[*]}"
    series | xargs cat
    cat "$ROOT/host-lib/include/vmi_host.h" "$ROOT"/include/vmi/*.h
) | sha256sum | cut -c1-16)
OUT=$CACHE/b-$KEY
BIN=$OUT/build/qemu-system-x86_64
BIN_A64=$OUT/build/qemu-system-aarch64

if [ "$MODE" = print ]; then
    [ -x "$BIN" ] && [ -x "$BIN_A64" ] || exit 1
    touch "$OUT/.last-used" 2>/dev/null || true
    if [ "$PRINT_ARCH" = aarch64 ]; then echo "$BIN_A64"; else echo "$BIN"; fi
    exit 0
fi

for tool in meson ninja pkg-config cmake cc patch flock; do
    command -v "$tool" >/dev/null || die "missing $tool (./vmi.sh deps)"
done
for pc in glib-2.0 pixman-1; do
    pkg-config --exists "$pc" || die "missing the $pc development package"
done
[ -f /usr/include/libfdt.h ] || die "missing libfdt.h (Debian package libfdt-dev)"
mkdir -p "$CACHE"
exec 9>"$CACHE/b-$KEY.lock"
flock 9 # one build per key at a time (ctest, vmi.sh, a developer)
say "key $KEY: Debian qemu $VERSION, $(series | wc -l) patches"

# --- 1 and 2: source, Debian's patches, ours -----------------------------
if [ ! -f "$OUT/src/.openvmi-patched" ]; then
    rm -rf "$OUT/src"
    mkdir -p "$OUT"
    say "1/5 source (tools/vmi-debian-fetch unpack qemu=$VERSION)"
    rc=0
    "$ROOT/tools/vmi-debian-fetch" unpack qemu "$VERSION" "$OUT/src" \
        >/dev/null || rc=$?
    if [ "$rc" -eq 3 ]; then
        echo "examples/qemu/build.sh: Debian's qemu source cannot be had" \
            "(see above)" >&2
        exit 3
    fi
    [ "$rc" -eq 0 ] || die "cannot get Debian's qemu source (see above)"
    say "2/5 our patches (examples/qemu/patches/series)"
    series | while read -r p; do
        (cd "$OUT/src" && patch -p1 -s -F0 --no-backup-if-mismatch <"$p") ||
            die "$(basename "$p") does not apply to Debian's qemu $VERSION"
    done
    touch "$OUT/src/.openvmi-patched"
fi

# --- 3: host-lib, installed where QEMU's configure finds it ---------------
STAGE=$OUT/stage
# One CMake build directory per checkout: CMake refuses a build directory
# made for another source tree (a second clone sharing this cache).
VMI_BUILD=$OUT/vmi-build-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
say "3/5 host-lib: build and install into $STAGE"
cmake -S "$ROOT" -B "$VMI_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$STAGE" -DCMAKE_INSTALL_LIBDIR=lib \
    -DVMI_BUILD_TESTS=OFF -DVMI_BUILD_SPEC=OFF -DVMI_BUILD_EXAMPLES=OFF \
    -DVMI_BUILD_CONFORMANCE=OFF -DVMI_BUILD_BENCH=OFF >"$OUT/vmi-build.log" 2>&1 ||
    die "host-lib configure failed (log: $OUT/vmi-build.log)"
cmake --build "$VMI_BUILD" -j "$JOBS" >>"$OUT/vmi-build.log" 2>&1 ||
    die "host-lib build failed (log: $OUT/vmi-build.log)"
cmake --install "$VMI_BUILD" >>"$OUT/vmi-build.log" 2>&1 ||
    die "host-lib install failed (log: $OUT/vmi-build.log)"
export PKG_CONFIG_PATH=$STAGE/lib/pkgconfig
pkg-config --exists vmi-host || die "host-lib installed no vmi-host.pc"

# --- 4: configure, once per key -------------------------------------------
CC_ARGS=()
if command -v ccache >/dev/null && [ -x /usr/lib/ccache/gcc ]; then
    # configure pins the compiler in meson's cross file: ccache must be the
    # compiler itself (Debian's masquerade links).
    export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache} CCACHE_BASEDIR=$OUT
    export CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
    CC_ARGS=(--cc=/usr/lib/ccache/gcc --cxx=/usr/lib/ccache/g++
        --host-cc=/usr/lib/ccache/gcc)
    ccache -z >/dev/null
fi
if [ ! -f "$OUT/build/build.ninja" ]; then
    rm -rf "$OUT/build"
    mkdir -p "$OUT/build"
    say "4/5 configure ${CONFIGURE_ARGS[*]}"
    # RUNPATH (not RPATH): LD_LIBRARY_PATH still wins, so a test build of
    # libvmi-host.so.1 can be swapped in.
    (cd "$OUT/build" && ../src/configure "${CONFIGURE_ARGS[@]}" \
        "${CC_ARGS[@]}" \
        --extra-ldflags="-Wl,--enable-new-dtags,-rpath,$STAGE/lib" \
        >"$OUT/configure.log" 2>&1) || {
        tail -30 "$OUT/configure.log" >&2
        die "configure failed (log: $OUT/configure.log)"
    }
    grep -q "OpenVMI host library.*YES" "$OUT/configure.log" ||
        die "configure did not find vmi-host (log: $OUT/configure.log)"
fi

# --- 5: the emulator ------------------------------------------------------
say "5/5 ninja qemu-system-x86_64 qemu-system-aarch64 (-j$JOBS; log $OUT/build.log)"
run_with_progress 5/5 "$OUT/build.log" \
    ninja -C "$OUT/build" -j "$JOBS" qemu-system-x86_64 qemu-system-aarch64 || {
    grep -E "error|Error" "$OUT/build.log" | head -30 >&2
    die "the QEMU build failed (log: $OUT/build.log)"
}
if [ -n "${CCACHE_DIR:-}" ]; then
    say "5/5 ccache: $(ccache -s 2>/dev/null | grep -E 'Hits|Misses' |
        tr -s ' ' | tr '\n' ' ')"
fi
touch "$OUT/.last-used"

# --- old builds: keep the $KEEP most recently used keys -------------------
# (about 400 MB each; the shared ccache keeps a rebuild to about a minute).
# A build directory another process holds the lock of is left alone.
prune_builds "$CACHE" "$OUT" "${VMI_QEMU_KEEP:-3}"
say "done: $BIN (firmware: -L /usr/share/qemu -L /usr/share/seabios), $BIN_A64"
echo "$BIN"
