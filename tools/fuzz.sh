#!/usr/bin/env bash
# fuzz.sh - builds braid's libFuzzer targets with clang (ASan + UBSan) and runs
# each for FUZZ_SECONDS (default 30) on a copy of its seed corpus
# (tests/fuzz/corpus/<target>) and its past findings (tests/fuzz/regressions/
# <target>), then prints executions and crashes per target.
# A crash leaves its input in FUZZ_OUT (default build-fuzz/findings): add it to
# tests/fuzz/regressions/<target>/ once fixed, so test_fuzz_corpus replays it.
# Exits non-zero when a target crashed.  FUZZ_TARGETS picks targets (default:
# every one tests/support/fuzz_targets.h declares).
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
TARGETS=${FUZZ_TARGETS:-$(sed -n 's/^int br_fuzz_\([a-z_]*\)(.*/\1/p' tests/support/fuzz_targets.h)}
OUTDIR=${FUZZ_OUT:-build-fuzz/findings}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="${FUZZ_CC:-clang}" -DBRAID_FUZZ=ON -DBRAID_CUDA=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
for t in $TARGETS; do cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$t" >/dev/null || exit 1; done
mkdir -p "$OUTDIR"
export BRAID_SOURCE_DIR=$PWD ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
printf '%-12s %10s %8s %8s\n' target executions crashes seconds
for t in $TARGETS; do
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$t/." "$work/"
    [ -d "tests/fuzz/regressions/$t" ] && cp -r "tests/fuzz/regressions/$t/." "$work/" # replayed first, under clang's checks
    log="$OUTDIR/$t.log"
    "build-fuzz/fuzz_$t" "$work" -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 -timeout=10 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$OUTDIR/$t-" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(ls "$OUTDIR/$t-"crash-* "$OUTDIR/$t-"leak-* "$OUTDIR/$t-"timeout-* "$OUTDIR/$t-"oom-* 2>/dev/null | wc -l)
    printf '%-12s %10s %8s %8s\n' "$t" "${execs:-?}" "$crashes" "$SECONDS_EACH"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        grep -m5 -E "ERROR|SUMMARY|abort|runtime error" "$log"
    fi
    rm -rf "$work"
done
exit $status
