#!/usr/bin/env bash
# libFuzzer (with AddressSanitizer) over Callbridge's parsers and shipped routes.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   fuzz each target for SECONDS (default 60)
#   scripts/fuzz.sh --smoke                  every target for 15 s: CI's check that the harness works
#   scripts/fuzz.sh --merge [TARGET|all] [SECONDS]
#                                            fuzz, then minimise Fuzz/corpus/TARGET with what
#                                            the run found (-set_cover_merge=1), to commit it
#
# Targets: json form timestamp retry_after mask route curl_headers (see
# Sources/CallbridgeFuzzing/FuzzTarget.swift). Each run reads the committed
# corpus Fuzz/corpus/TARGET/ (seeded by Fuzz/make_seeds.py from the handler
# fixtures) and writes what it finds to .build-fuzz/work/TARGET/, so a short
# run never changes committed files. A crash, timeout or out-of-memory input is
# left in .build-fuzz/crashes/TARGET/ and the script exits non-zero; copy it to
# Fuzz/regressions/TARGET/ once fixed so CallbridgeFuzzingTests keeps it fixed.
# Replay a file without the fuzzer:
#   CALLBRIDGE_FUZZ_TARGET=TARGET .build-fuzz/release/callbridge-fuzz FILE
#
# Needs only the Swift toolchain (it ships libFuzzer and the sanitizer
# runtimes, libclang_rt.fuzzer / libclang_rt.asan). Work runs under nice -n 19.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGETS=(json form timestamp retry_after mask route curl_headers)
SCRATCH=$ROOT/.build-fuzz
BIN=$SCRATCH/release/callbridge-fuzz

merge=0
if [[ ${1:-} == --smoke ]]; then
    set -- all 15
elif [[ ${1:-} == --merge ]]; then
    merge=1
    shift
fi
which_targets=${1:-all}
seconds=${2:-60}
if [[ $which_targets == all ]]; then
    selected=("${TARGETS[@]}")
else
    [[ " ${TARGETS[*]} " == *" $which_targets "* ]] || { echo "fuzz.sh: unknown target '$which_targets' (one of: ${TARGETS[*]}, all)" >&2; exit 2; }
    selected=("$which_targets")
fi
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz.sh: SECONDS must be a positive integer" >&2; exit 2; }

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
runtime="$(dirname "$(readlink -f "$(command -v swiftc)")")/../lib/swift/clang/lib/linux/libclang_rt.fuzzer-$(uname -m).a"
if [[ ! -f $runtime ]]; then
    echo "fuzz.sh: this Swift toolchain has no libFuzzer runtime ($runtime); use a swift.org toolchain for Linux" >&2
    exit 2
fi

echo "== building callbridge-fuzz (release, -sanitize=fuzzer,address) into $SCRATCH"
build_start=$SECONDS
mkdir -p "$SCRATCH/logs"
build_status=0
nice -n 19 swift build -c release --scratch-path "$SCRATCH" --product callbridge-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >"$SCRATCH/logs/build.log" 2>&1 || build_status=$?
grep -Ev '^\[[0-9]+/[0-9]+\]|unhandled; explicitly declare|CMakeLists.txt$' "$SCRATCH/logs/build.log" | tail -40 || true
[[ $build_status -eq 0 && -x $BIN ]] || { echo "fuzz.sh: the fuzz build failed (exit $build_status)" >&2; exit 1; }
echo "== built in $((SECONDS - build_start)) s"

# Swift's runtime keeps metadata caches for the life of the process: not leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1}
# libFuzzer reports a trap and saves its input; Swift's own crash backtracer
# would run under AddressSanitizer and trip it instead.
export SWIFT_BACKTRACE=enable=no

failed=()
summary=()
for target in "${selected[@]}"; do
    corpus=$ROOT/Fuzz/corpus/$target
    work=$SCRATCH/work/$target
    crashes=$SCRATCH/crashes/$target
    log=$SCRATCH/logs/$target.log
    mkdir -p "$corpus" "$work" "$crashes" "$(dirname "$log")"
    dict=()
    [[ -f $ROOT/Fuzz/dict/$target.dict ]] && dict=(-dict="$ROOT/Fuzz/dict/$target.dict")
    echo "== $target: ${seconds} s (corpus $(find "$corpus" -type f ! -name README.md | wc -l) files, log $log)"
    # In a subshell, so that `times` reports the fuzzer's own CPU time.
    (
        set +e
        CALLBRIDGE_FUZZ_TARGET=$target nice -n 19 "$BIN" "$work" "$corpus" "${dict[@]}" \
            -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
            -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
        echo $? >"$log.status"
        times >"$log.times"
    )
    status=$(cat "$log.status")
    cpu=$(tail -1 "$log.times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + p[2] } printf "%d", t }')
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
    line="$target: ${execs:-?} execs (${rate:-?}/s) in ${cpu:-?} CPU-s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
    if [[ $status -ne 0 ]]; then
        line+=", FAILED (exit $status): $(ls -t "$crashes" 2>/dev/null | head -1 | sed "s|^|$crashes/|")"
        failed+=("$target")
        grep -E 'ERROR: |Fatal error|fuzz invariant|SUMMARY' "$log" | head -5 >&2 || true
    fi
    echo "   $line"
    summary+=("$line")

    if [[ $merge -eq 1 && $status -eq 0 ]]; then
        merged=$SCRATCH/merged/$target
        rm -rf "$merged" && mkdir -p "$merged"
        # The smallest set of inputs that covers every feature found, each cut
        # to a few KB (enough for the fixtures), so the committed corpus stays small.
        max_len=${FUZZ_MERGE_MAX_LEN:-$([[ $target == route ]] && echo 2560 || echo 1024)}
        CALLBRIDGE_FUZZ_TARGET=$target nice -n 19 "$BIN" -set_cover_merge=1 -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" \
            "$merged" "$corpus" "$work" >"$SCRATCH/logs/$target.merge.log" 2>&1
        find "$corpus" -type f ! -name README.md -delete
        cp "$merged"/* "$corpus"/
        echo "   merged: $(find "$corpus" -type f ! -name README.md | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes in $corpus"
    fi
done

echo "== summary"
printf '   %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: crashes in: ${failed[*]} (inputs in $SCRATCH/crashes/)" >&2
    exit 1
fi
