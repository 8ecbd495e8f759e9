# SPDX-License-Identifier: MIT
# vmi-build-lib.sh: shell functions the heavy build scripts share
# (examples/qemu/build.sh, examples/linux/build.sh).  Source it after
# setting VMI_BUILD_NAME ("qemu", "linux"); it is not a program.
#
#   say MESSAGE...          "==> NAME [seconds] MESSAGE" on stderr
#   die MESSAGE...          "examples/NAME/build.sh: MESSAGE", exit 1
#   run_with_progress STAGE LOG CMD...
#                           run CMD with its output in LOG, saying every
#                           minute what the build is at; CMD's exit status
#   prune_builds CACHE OUT KEEP
#                           keep the KEEP most recently used build
#                           directories CACHE/b-* (OUT, the one in use,
#                           counts), each marked by its .last-used file;
#                           one whose lock another process holds stays

VMI_BUILD_T0=$(date +%s%N)

say() {
    local ms=$((($(date +%s%N) - VMI_BUILD_T0) / 1000000))
    printf '==> %s [%d.%ds] %s\n' "$VMI_BUILD_NAME" $((ms / 1000)) \
        $((ms % 1000 / 100)) "$*" >&2
}

die() {
    echo "examples/$VMI_BUILD_NAME/build.sh: $*" >&2
    exit 1
}

run_with_progress() {
    local stage=$1 log=$2 pid n=0
    shift 2
    "$@" >"$log" 2>&1 &
    pid=$!
    # A line a minute, so a long cold build says what it is doing.
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        n=$((n + 1))
        if [ $((n % 60)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
            say "$stage still building: $(grep -c . "$log") log lines," \
                "last: $(tail -1 "$log" | cut -c1-70)"
        fi
    done
    wait "$pid"
}

prune_builds() {
    local cache=$1 out=$2 keep=$3 d
    for d in "$cache"/b-*/; do
        d=${d%/}
        [ "$d" = "$out" ] && continue
        printf '%s %s\n' "$(stat -c %Y "$d/.last-used" 2>/dev/null || echo 0)" "$d"
    done | sort -rn | tail -n +"$keep" | while read -r _ d; do
        (flock -n 8 && rm -rf "$d" &&
            say "removed the old build $(basename "$d")") 8>"$d.lock" || true
    done
}
