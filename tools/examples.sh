#!/usr/bin/env bash
# Builds the library and the three msh example commands against the host port of the
# RT-Thread API (tests/host_rtthread), then runs each command on every bundled digit.
#   bash tools/examples.sh          run and print
#   bash tools/examples.sh --check  also assert the predictions agree with the engine's
#                                   host CLI and that the error paths report errors
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${RTONNX_SHARED:-$(cd .. && pwd)/shared}"
export RTONNX_SHARED="$SHARED"
TARGET="${CARGO_TARGET_DIR:-target}"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

# Our own trained model when it is in the repository, else the original package's.
MODEL=examples/models/mnist-sm.onnx
[ -f "$MODEL" ] || MODEL="$SHARED/models/keras2onnx/mnist-sm.onnx"

OUT="$TARGET/examples"
mkdir -p "$OUT/include"
cargo build --release --quiet --features cli
"$PY" tools/examples/gen_headers.py "$MODEL" "$OUT/include" >/dev/null
if [ "$CHECK" = 1 ] && [ "$MODEL" = examples/models/mnist-sm.onnx ]; then
    # The committed headers (used by RT-Thread BSP builds) must be what the tool makes.
    for h in mnist_weights.h mnist_images.h; do
        if ! cmp -s "examples/$h" "$OUT/include/$h"; then
            echo "examples/$h is stale: run python3 tools/examples/gen_headers.py examples/models/mnist-sm.onnx examples"
            exit 1
        fi
    done
fi
cc -std=c99 -Wall -Wextra -Werror -O2 -Ic_api -Itests/host_rtthread -I"$OUT/include" \
    examples/onnx_mnist.c examples/mnist_sm.c examples/mnist_model.c tests/host_rtthread/rtthread_host.c \
    "$TARGET/release/librtonnx.a" -lpthread -ldl -lm -o "$OUT/msh"
N=$(sed -n 's/^#define MNIST_NUM_IMAGES \([0-9]*\)/\1/p' "$OUT/include/mnist_images.h")
INDICES=$(sed -n 's/^static const uint16_t mnist_indices\[[0-9]*\] = {\(.*\)};/\1/p' "$OUT/include/mnist_images.h" | tr -d ' ' | tr ',' ' ')
echo "model: $MODEL"
fail=0
i=0
for t10k in $INDICES; do
    printf '\n#### digit %d (t10k image %d)\n' "$i" "$t10k"
    want=$("$TARGET/release/rtonnx" run "$MODEL" --index "$t10k" | sed -n 's/^The number is \([0-9]\).*/\1/p')
    for cmd in "onnx_mnist $i" "mnist_sm $MODEL $i" "mnist_model $MODEL $i"; do
        log=$("$OUT/msh" $cmd)
        if [ "$cmd" = "onnx_mnist $i" ]; then echo "$log"; else echo "$log" | grep -E "^msh|^The number|^time|^memory"; fi
        got=$(echo "$log" | sed -n 's/^The number is \([0-9]\).*/\1/p')
        if [ "$got" != "$want" ]; then
            echo "MISMATCH: '$cmd' predicted '$got', the engine's CLI '$want'"
            fail=1
        fi
    done
    i=$((i + 1))
done
if [ "$CHECK" = 1 ]; then
    echo
    echo "#### error paths"
    for cmd in "mnist_model /nonexistent.onnx 0" "mnist_sm /nonexistent.onnx 0" "onnx_mnist $N" "mnist_model $MODEL 99" "onnx_mnist x"; do
        log=$("$OUT/msh" $cmd || true)
        echo "$log" | grep -E "^msh|error"
        if ! echo "$log" | grep -q "^error: "; then
            echo "MISSING ERROR for '$cmd'"
            fail=1
        fi
    done
    [ "$fail" = 0 ] && echo "examples: all predictions agree with the engine, every error path reported"
fi
exit "$fail"
