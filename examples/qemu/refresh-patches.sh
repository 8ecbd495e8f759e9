#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# refresh-patches.sh: write examples/qemu/patches/ (and its series file)
# from a git tree in which each patch of the series is one commit.
#
#   examples/qemu/refresh-patches.sh TREE BASE
#
# TREE is a git work tree of Debian's QEMU source with Debian's patches
# applied and committed as BASE, and our series committed on top, one
# commit per patch (for example: tools/vmi-debian-fetch unpack qemu VERSION
# TREE; git init; git add -A; git commit -m base; git am each patch).
# Every commit after BASE becomes one patch, named by git format-patch,
# without the mbox "From <sha>" and "Date:" lines, so that a patch changes
# only when its commit does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || {
    echo "usage: $0 TREE BASE" >&2
    exit 2
}
TREE=$1
BASE=$2
git -C "$TREE" rev-parse --verify -q "$BASE^{commit}" >/dev/null || {
    echo "$0: $BASE is not a commit in $TREE" >&2
    exit 1
}
[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] || {
    echo "$0: $TREE has uncommitted changes" >&2
    exit 1
}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
git -C "$TREE" format-patch -q --no-signature --no-stat --zero-commit \
    -o "$OUT" "$BASE"..HEAD
VERSION=$(sed -n 's/^set(VMI_DEBIAN_QEMU_VERSION "\([^"]*\)".*/\1/p' \
    "$HERE/../../cmake/VmiDebian.cmake")
rm -f "$HERE"/patches/*.patch
{
    echo "# OpenVMI patches for Debian qemu $VERSION, applied after Debian's own."
    for p in "$OUT"/*.patch; do
        n=$(basename "$p")
        sed -e '1{/^From [0-9a-f]\{40\} /d}' -e '/^Date: /d' "$p" \
            >"$HERE/patches/$n"
        echo "$n"
    done
} >"$HERE/patches/series.new"
mv "$HERE/patches/series.new" "$HERE/patches/series"
echo "$(grep -vc '^#' "$HERE/patches/series") patches written to $HERE/patches" >&2
