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
cargo build --release --lib --no-default-features --features std,onnx,all-ops --quiet
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

# A device library made of parts (tests/c/test_parts.c): plan-only with exactly the features
# `rtonnx compile --cargo-features` prints for mnist-sm, and the same without op-dense-layer.
ops=$("$TARGET/release/rtonnx" compile "$SHARED/models/keras2onnx/mnist-sm.onnx" --cargo-features)
missing=${ops//op-dense-layer/}
missing=$(echo "$missing" | sed 's/,,*/,/g; s/^,//; s/,$//')
[ "$missing" != "$ops" ] || { echo "mnist-sm's plan needs no op-dense-layer: '$ops'"; exit 1; }
parts() { # name features
    cargo build --release --lib --no-default-features --features "std,$2" --quiet \
        --target-dir "$TARGET/parts-$1"
    cc -std=c99 -Wall -Wextra -Werror -O1 -g -Ic_api -Iexamples tests/c/test_parts.c \
        examples/mnist_images.c "$TARGET/parts-$1/release/librtonnx.a" -lpthread -ldl -lm \
        -o "$OUT/test_parts_$1"
}
parts exact "$ops"
parts missing "$missing"
cc -std=c99 -Wall -Wextra -Werror -O1 -g -Ic_api -Iexamples tests/c/test_parts.c \
    examples/mnist_images.c "$TARGET/release/librtonnx.a" -lpthread -ldl -lm -o "$OUT/test_parts_full"
echo "parts: plan-only library with features std,$ops; one without op-dense-layer (std,$missing)"
"$OUT/test_parts_exact" exact "$SHARED/models/keras2onnx/mnist-sm.onnx" "$OUT/mnist-sm.rtm" \
    "$OUT/parts-plan.bin"
"$OUT/test_parts_missing" missing "$OUT/mnist-sm.rtm" RTONNX_OP_DENSE_LAYER
"$OUT/test_parts_full" full "$SHARED/models/keras2onnx/mnist-sm.onnx" "$OUT/parts-onnx.bin"
cmp "$OUT/parts-plan.bin" "$OUT/parts-onnx.bin"
echo "parts: the plan on the plan-only library gives the ONNX file's output on the whole library, bit for bit"

if command -v valgrind >/dev/null; then
    valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$OUT/test_capi" "$SHARED" . "$OUT" "${PLANS[@]}" > "$OUT/valgrind.log" 2>&1 || { cat "$OUT/valgrind.log"; exit 1; }
    echo "valgrind memcheck: no errors, no leaks ($(tail -1 "$OUT/valgrind.log"))"
fi
