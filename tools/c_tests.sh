#!/usr/bin/env bash
# Builds the release staticlib (host, feature std) and runs the C API tests against it
# (tests/c/test_capi.c): the keras2onnx models against onnxruntime's outputs, every error
# path, the kernels against naive C, two threads, every truncation of a model; the same for
# both models compiled to plans (rtonnx compile), and onnx_plan_verify. Then again
# under valgrind's memcheck when valgrind is installed: no invalid access, no leak.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${RTONNX_SHARED:-$(cd .. && pwd)/shared}"
TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --release --lib --no-default-features --features std --quiet
OUT="$TARGET/c-tests"
mkdir -p "$OUT"
# The keras2onnx models as compiled plans, for the same tests through the plan path.
cargo build --release --bin rtonnx --quiet
for m in mnist-sm mnist-lg; do
    "$TARGET/release/rtonnx" compile "$SHARED/models/keras2onnx/$m.onnx" -o "$OUT/$m.rtm" >/dev/null
done
PLANS=("$OUT/mnist-sm.rtm" "$OUT/mnist-lg.rtm")
cc -std=c99 -Wall -Wextra -Werror -O1 -g -Ic_api -Iexamples tests/c/test_capi.c examples/mnist_images.c \
    "$TARGET/release/librtonnx.a" -lpthread -ldl -lm -o "$OUT/test_capi"
"$OUT/test_capi" "$SHARED" . "$OUT" "${PLANS[@]}" > "$OUT/run.log" || { cat "$OUT/run.log"; exit 1; }
grep -E "difference|truncations|verify" "$OUT/run.log"
tail -1 "$OUT/run.log"
if command -v valgrind >/dev/null; then
    valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$OUT/test_capi" "$SHARED" . "$OUT" "${PLANS[@]}" > "$OUT/valgrind.log" 2>&1 || { cat "$OUT/valgrind.log"; exit 1; }
    echo "valgrind memcheck: no errors, no leaks ($(tail -1 "$OUT/valgrind.log"))"
fi
