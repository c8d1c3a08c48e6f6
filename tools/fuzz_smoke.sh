#!/usr/bin/env bash
# Short fuzzing run for CI: every cargo-fuzz target in fuzz/ on its committed corpus for
# FUZZ_SECONDS (default 20) seconds each. Fails on any crash, timeout (1 s), out-of-memory or
# build error. Needs a nightly toolchain (`cargo +nightly`); installs cargo-fuzz when it is
# missing. Prints SKIPPED and exits 0 only when there is no nightly toolchain.
# New inputs go to a temporary directory, never into the committed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
seconds="${FUZZ_SECONDS:-20}"
export RTONNX_SHARED="${RTONNX_SHARED:-$(cd .. && pwd)/shared}"
# A small ASan quarantine: with the default (256 MB) the freed arenas of big models stay
# resident and the run hits -rss_limit_mb.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz smoke: SKIPPED (no nightly toolchain: rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# The library's targets (fuzz/, no std, as the device builds it) and the host tools' (fuzz/host/).
targets=(load_run structured differential plan host/npy)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    t=$(basename "$target")
    dir=fuzz
    [ "$target" = "$t" ] || dir="fuzz/$(dirname "$target")"
    echo "== fuzz $target (${seconds}s)"
    mkdir -p "$work/$t" "$work/artifacts/$t"
    extra=()
    if [ "$t" = load_run ] && [ -d "$root/tests/fuzz_regressions" ]; then
        extra=("$root/tests/fuzz_regressions")
    fi
    # -a: debug assertions and overflow checks, as in the recorded runs (fuzz/README.md).
    if (cd "$dir" && cargo +nightly fuzz run --fuzz-dir . -a "$t" "$work/$t" "$root/$dir/corpus/$t" \
        "${extra[@]}" -- -max_total_time="$seconds" -timeout=1 -rss_limit_mb=512 \
        -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1) >"$work/$t.log" 2>&1; then
        grep -E "^stat::(number_of_executed_units|average_exec_per_sec)|DONE" "$work/$t.log" || true
        echo "   ok: $t"
    else
        tail -n 60 "$work/$t.log"
        for a in "$work/artifacts/$t"/*; do
            [ -f "$a" ] || continue
            echo "   reproducer $(basename "$a") (base64): $(base64 -w0 "$a")"
        done
        echo "   FAILED: $t"
        failed+=("$target")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz smoke: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz smoke: ok (${targets[*]}, ${seconds}s each)"
