#!/usr/bin/env bash
# libFuzzer + AddressSanitizer runs of tpbench's parsers: the SSE parser/stream decoder, the chunk decoder, the
# workload loader and the mock's request parser. Not part of CI (slow, Linux only).
#
#   scripts/fuzz.sh                 # every target for 60 s
#   scripts/fuzz.sh 600             # every target for 10 minutes
#   scripts/fuzz.sh 600 FuzzSSE     # one target
#
# Targets live in Fuzz/ (a separate package whose Sources/<Module> link to the main package's modules), so the
# main `swift build` never compiles them. Seeds are in Fuzz/corpus/<name>; new inputs libFuzzer finds go to
# Fuzz/.corpus-work/<name> (git-ignored); crashes land in Fuzz/artifacts/<target>/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzSSE FuzzChunk FuzzWorkload FuzzMockRequest)
scratch=${FUZZ_SCRATCH:-.build-fuzz}

corpus_name() {
    case "$1" in
        FuzzSSE) echo sse ;; FuzzChunk) echo chunk ;; FuzzWorkload) echo workload ;; FuzzMockRequest) echo mockrequest ;;
    esac
}

mkdir -p "$scratch"
for target in "${targets[@]}"; do
    echo "== building $target"
    # A target that does not build must stop the run: fuzzing a stale binary would report on old code.
    if ! swift build -c debug --scratch-path "$scratch" --product "$target" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library > "$scratch/build-$target.log" 2>&1; then
        grep -E "error" "$scratch/build-$target.log" | head -20
        echo "!! $target did not build (log: Fuzz/$scratch/build-$target.log)"
        exit 1
    fi
    grep -E "warning: " "$scratch/build-$target.log" | grep -v "Cannot export local symbol" || true
done

status=0
for target in "${targets[@]}"; do
    name=$(corpus_name "$target")
    work=".corpus-work/$name"
    artifacts="artifacts/$target/"
    mkdir -p "$work" "$artifacts"
    started=$(mktemp)
    echo "== fuzzing $target for $seconds s (corpus corpus/$name + $work)"
    # -rss_limit_mb bounds memory: a parser that buffers without limit shows up as an OOM crash.
    if ! "$scratch/debug/$target" "$work" "corpus/$name" -max_total_time="$seconds" -max_len=65536 \
        -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts" -print_final_stats=1 2>&1 \
        | grep -E "^#[0-9]+ +(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|Test unit written|==[0-9]+=="; then
        :
    fi
    found=$(find "$artifacts" -type f -newer "$started" | grep -E "crash|leak|timeout|oom" || true)
    rm -f "$started"
    if [ -n "$found" ]; then
        echo "!! $target found problems: $found"
        status=1
    fi
done
exit $status
