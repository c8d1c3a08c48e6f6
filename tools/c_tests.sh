#!/usr/bin/env bash
# Builds the release staticlib and runs the C API tests against it (also under valgrind's
# memcheck when valgrind is installed: no leaks, no invalid accesses).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${RTONNX_SHARED:-$(cd .. && pwd)/shared}"
TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --release --lib --no-default-features --features std --quiet
OUT="$TARGET/c-tests"
mkdir -p "$OUT"
cc -std=c99 -Wall -Wextra -Werror -O1 -g -Ic_api tests/c/test_capi.c \
    "$TARGET/release/librtonnx.a" -lpthread -ldl -lm -o "$OUT/test_capi"
"$OUT/test_capi" "$SHARED" "$OUT" > "$OUT/run.log"
tail -1 "$OUT/run.log"
if command -v valgrind >/dev/null; then
    valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$OUT/test_capi" "$SHARED" "$OUT" > "$OUT/valgrind.log" 2>&1 || { cat "$OUT/valgrind.log"; exit 1; }
    echo "valgrind memcheck: no errors, no leaks"
fi
