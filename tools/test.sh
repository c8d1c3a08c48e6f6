#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and integration tests, ONNX conformance, and the
# C/example/firmware suites present in this checkout. Sets up what it needs first
# (tools/setup.sh: Python venvs from the pinned requirements, rustup parts; RTONNX_NO_SETUP=1
# skips that). Ends with "N passed, M failed, K skipped": a step that prints SKIPPED (a
# missing tool) is counted as skipped, not passed; with RTONNX_SKIPS_FAIL=1 (CI) a skip fails
# the run.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${RTONNX_NO_SETUP:-0}" != 1 ]; then
    echo "== setup (tools/setup.sh)"
    bash tools/setup.sh || { echo "setup failed: 0 passed, 1 failed, 0 skipped"; exit 1; }
fi
export RTONNX_SHARED="${RTONNX_SHARED:-$(cd .. && pwd)/shared}"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
LOG="$(mktemp)"
passed=0
failed=0
skipped=0
failures=()
skips=()

# step NAME COMMAND...: runs it; true when it passed. A step that succeeds but prints a line
# with SKIPPED did not run its tests: counted as skipped, and returns false.
step() {
    local name="$1" out
    shift
    echo "== $name"
    out="$(mktemp)"
    if "$@" 2>&1 | tee -a "$LOG" | tee "$out"; then
        if grep -q "SKIPPED" "$out"; then
            rm -f "$out"
            echo "   SKIPPED: $name"
            skips+=("$name")
            skipped=$((skipped + 1))
            return 1
        fi
        rm -f "$out"
        echo "   ok: $name"
    else
        rm -f "$out"
        echo "   FAILED: $name"
        failures+=("$name")
        failed=$((failed + 1))
        return 1
    fi
}

step "cargo fmt --check" cargo fmt --check && passed=$((passed + 1))
step "cargo clippy" cargo clippy --all-targets --features cli,reference -- -D warnings && passed=$((passed + 1))
# The device builds compile other platform glue, and builds made of parts leave code out: lint
# them too (the whole library; plan-only with no operator family; plan-only with some).
for f in rtthread,fs,onnx,all-ops baremetal,fs baremetal,fs,op-conv,op-dense,op-layout \
    baremetal,fs,op-conv-3x3pool,op-dense-layer,op-softmax-plain baremetal,fs,op-conv-3x3 \
    baremetal,fs,op-conv-any; do
    step "cargo clippy --features $f" cargo clippy --lib --no-default-features --features "$f" -- -D warnings &&
        passed=$((passed + 1))
done

CASES=target/onnx-node-tests
if [ ! -d "$CASES" ]; then
    step "generate ONNX node test cases" "$PY" tools/conformance/gen_node_tests.py "$CASES" || true
fi
export RTONNX_CONFORMANCE_DIR="$CASES" RTONNX_CONFORMANCE_REQUIRED=1

# cargo test prints "test result: ok. N passed; M failed" per binary and the conformance
# runner prints "N passed, M failed, K skipped": sum them.
if step "cargo test" cargo test --release --features cli,reference; then :; fi
counts=$(grep -E "^test result:|^[0-9]+ passed, [0-9]+ failed" "$LOG" | sed -E 's/^(.* )?([0-9]+) passed[;,] ([0-9]+) failed.*/\2 \3/')
while read -r p f; do
    [ -n "${p:-}" ] || continue
    passed=$((passed + p))
    failed=$((failed + f))
done <<< "$counts"

# Models quantized by onnxruntime's quantize_static run as onnxruntime runs them (the release
# CLI that cargo test built).
if step "quantize_static models against onnxruntime" "$PY" tools/quant/check_quantize_static.py; then
    passed=$((passed + 1))
fi

# The host benchmark script itself (a tiny run: one model, no tract, no callgrind).
if step "host benchmark script smoke run" "$PY" tools/bench/host_bench.py --no-build --no-tract \
    --no-callgrind --rounds 1 --iters 5 --warmup 1 --models keras2onnx/mnist-sm mlperf/ad_toycar \
    --json-out target/host_bench_smoke.json; then passed=$((passed + 1)); fi
if [ -f tools/c_tests.sh ]; then
    if step "C API tests" bash tools/c_tests.sh; then passed=$((passed + 1)); fi
fi
if [ -f tools/examples.sh ]; then
    if step "msh examples on the host port" bash tools/examples.sh --check; then passed=$((passed + 1)); fi
fi
if [ -f tools/cross_build.sh ]; then
    if step "cross builds (Cortex-M4F, Cortex-M3, Cortex-A9)" bash tools/cross_build.sh; then passed=$((passed + 1)); fi
fi
# The Cortex-M4F build has code of its own (the VFMA assembly kernel, cfg rtonnx_vfma): lint
# it for that target too (cross_build.sh above installed the target).
step "cargo clippy --target thumbv7em-none-eabihf" cargo clippy --lib --no-default-features \
    --features baremetal,fs,onnx,all-ops --target thumbv7em-none-eabihf -- -D warnings &&
    passed=$((passed + 1))
if [ -f tools/firmware_test.sh ]; then
    if step "Cortex-M4F firmware under QEMU mps2-an386" bash tools/firmware_test.sh; then
        passed=$((passed + 1))
        # The README's figures table renders from what the firmware test just wrote.
        if step "figures table renders (tools/bench/figures.py)" "$PY" tools/bench/figures.py \
            --json-out target/figures.json; then passed=$((passed + 1)); fi
    fi
fi
if [ -f tools/train/test_train_smoke.py ]; then
    TRAIN_PY="$PY"
    [ -x .venv-train/bin/python ] && TRAIN_PY=.venv-train/bin/python
    if step "training smoke test" "$TRAIN_PY" tools/train/test_train_smoke.py; then passed=$((passed + 1)); fi
fi
if [ -f tools/fuzz_smoke.sh ]; then
    if step "fuzz smoke run (cargo fuzz, every target on its corpus)" bash tools/fuzz_smoke.sh; then passed=$((passed + 1)); fi
fi
if [ -f tools/tests/test_sconscript.py ]; then
    if step "SConscript tests" "$PY" tools/tests/test_sconscript.py; then passed=$((passed + 1)); fi
fi
rm -f "$LOG"
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed steps: ${failures[*]}"
    [ "$failed" -gt 0 ] || failed=${#failures[@]}
fi
if [ ${#skips[@]} -gt 0 ]; then
    echo "skipped steps: ${skips[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ ${#failures[@]} -eq 0 ] || exit 1
if [ "$skipped" -gt 0 ] && [ "${RTONNX_SKIPS_FAIL:-0}" = 1 ]; then
    echo "RTONNX_SKIPS_FAIL=1: a skipped step fails the run"
    exit 1
fi
