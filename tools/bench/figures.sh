#!/usr/bin/env bash
# Measures every figure of the performance issue and regenerates the README's tables:
# the Cortex-M4F firmware test (exact instruction counts, heap, stack, code size under QEMU),
# the host benchmark (rtonnx beside onnxruntime and tract-onnx, callgrind), then
# tools/bench/figures.py, which renders both into README.md's figures block.
#
# usage: bash tools/bench/figures.sh [--no-measure]   (--no-measure: render the last results)
# needs: what tools/firmware_test.sh and tools/bench/host_bench.py need (.ci/run installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

if [ "${1:-}" != "--no-measure" ]; then
    bash tools/firmware_test.sh
    "$PY" tools/bench/host_bench.py --write-readme
fi
"$PY" tools/bench/figures.py --write-readme
