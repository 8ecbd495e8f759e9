#!/usr/bin/env bash
# OpenVMI: one entry point for a fresh Debian 12 machine.
#   ./vmi.sh certify   build everything, certify the reference hypervisor
#   ./vmi.sh test      build everything and run every test
#   ./vmi.sh deps      only install the Debian packages the project needs
#   ./vmi.sh bench     run vmi-bench
# Build trees: build/ (main), build-asan/ (host-lib under ASan+UBSan),
# build-fuzz/ (clang libFuzzer targets).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)

# Debian packages, each with its purpose (the README lists them too).
PACKAGES=(
  build-essential cmake ninja-build pkg-config python3 # build
  libcmocka-dev                                        # unit tests
  clang libclang-rt-14-dev llvm                        # libFuzzer, sanitizers
  valgrind                                             # memory checks
  asciidoctor ruby-asciidoctor-pdf                     # the specification
  gcc-i686-linux-gnu gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu # ABI; aarch64 guests
  binutils-i686-linux-gnu binutils-aarch64-linux-gnu binutils-riscv64-linux-gnu
  qemu-system-x86                                      # stock QEMU; firmware
                                                       # and option ROMs (-L)
  libssl-dev                                           # SHA-256 of conformance images
  gnuplot-nox                                          # benchmark plots
  clang-format                                         # style check
  dpkg-dev                                             # tools/vmi-debian-fetch
  meson libglib2.0-dev libpixman-1-dev libfdt-dev ccache # QEMU with OpenVMI
  flex bison libelf-dev bc                             # Linux with OpenVMI
)

log() { printf '\n==> %s\n' "$*"; }

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages: all present"
    return
  fi
  log "Installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

build() {
  log "Configure and build (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$JOBS"
  build_qemu
  build_linux
}

# heavy NAME SCRIPT: run examples/NAME/build.sh (cached outside the tree),
# its progress on stderr as it goes and kept in build/NAME-build.err.
# Exit 3 (a Debian package cannot be had) leaves the reason in
# build/NAME-unavailable.txt, and the NAME tests skip with it.
heavy() {
  local name=$1 rc
  rm -f "build/$name-unavailable.txt"
  set +e
  "examples/$name/build.sh" 2>&1 >/dev/null | tee "build/$name-build.err" >&2
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -eq 3 ]; then
    grep -h "cannot be had\|unavailable:" "build/$name-build.err" \
      >"build/$name-unavailable.txt" ||
      echo "a Debian package for examples/$name cannot be had" \
        >"build/$name-unavailable.txt"
  elif [ "$rc" -ne 0 ]; then
    echo "vmi.sh: the examples/$name build failed" >&2
    exit 1
  fi
}

# QEMU 7.2 from Debian's source with the openvmi device (examples/qemu):
# cached outside the tree; about 5 minutes cold, seconds when unchanged.
build_qemu() {
  log "QEMU with the openvmi device (examples/qemu/build.sh)"
  heavy qemu
}

# Linux 6.1 from Debian's source, the VM-only OpenVMI guest kernel
# (examples/linux): cached outside the tree; minutes cold.
build_linux() {
  log "Linux, the VM-only OpenVMI guest kernel (examples/linux/build.sh)"
  heavy linux
  # The same kernel with a test-only patch that breaks an interface rule
  # (examples/linux/variants/rule-break): ctest linux_openvmi_rule_break.
  if [ ! -s build/linux-unavailable.txt ]; then
    log "Linux, the rule-break test variant (VMI_LINUX_VARIANT=rule-break)"
    VMI_LINUX_VARIANT=rule-break heavy linux
  fi
}

build_asan() {
  log "Configure and build host-lib with ASan+UBSan (build-asan/)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DVMI_SANITIZE=address,undefined -DVMI_BUILD_SPEC=OFF \
    -DVMI_BUILD_EXAMPLES=OFF -DVMI_BUILD_CONFORMANCE=OFF \
    -DVMI_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$JOBS"
}

build_fuzz() {
  log "Configure and build libFuzzer targets with clang (build-fuzz/)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMI_FUZZ=ON -DVMI_BUILD_TESTS=OFF \
    -DVMI_BUILD_SPEC=OFF -DVMI_BUILD_EXAMPLES=OFF \
    -DVMI_BUILD_CONFORMANCE=OFF -DVMI_BUILD_BENCH=OFF >/dev/null
  cmake --build build-fuzz -j "$JOBS"
}

certify() {
  deps
  build
  log "Certifying the reference hypervisor"
  local conform=build/conformance/vmi-conform
  if [ ! -x "$conform" ]; then
    echo "vmi.sh: $conform was not built" >&2
    exit 1
  fi
  "$conform" --out build/conformance-report "$@"
}

run_tests() {
  deps
  build
  log "ctest: every test of build/ (kvm-labelled ones skip without /dev/kvm)"
  ctest --test-dir build --output-on-failure --no-tests=error -j "$JOBS"
  if [ -d host-lib ]; then
    build_asan
    log "ctest: host-lib under ASan+UBSan"
    ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$JOBS" -L host
  fi
  if [ -d host-lib/fuzz ]; then
    build_fuzz
    log "libFuzzer: each target for ${VMI_FUZZ_SECONDS:-60} s"
    ctest --test-dir build-fuzz --output-on-failure --no-tests=error -L fuzz
  fi
}

case "${1:-}" in
  deps) deps ;;
  certify) shift; certify "$@" ;;
  test) run_tests ;;
  bench) shift; deps; build; build/bench/vmi-bench "$@" ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
