#!/usr/bin/env bash
# The session that docs/rtthread.md shows ("the three example commands"), run on the host
# port of the RT-Thread API with the model files at the paths a user has on the SD card:
#
#   /mnist-sm.onnx   the package's examples/models/mnist-sm.onnx (the guide's step 5)
#   /mnist-lg.onnx   the original C package's keras2onnx mnist-lg ($RTONNX_SHARED/models/keras2onnx)
#   /empty.onnx      an empty file
#
# The msh of tools/examples.sh (examples/*.c unchanged, tests/host_rtthread, the library built
# as in a BSP) is linked statically and run with chroot in a folder that plays the SD card,
# so the commands name /mnist-sm.onnx as on the board. Needs root (chroot).
#
#   bash tools/examples/transcript.sh          prints the session
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED="${RTONNX_SHARED:-$(cd .. && pwd)/shared}"
TARGET="${CARGO_TARGET_DIR:-target}"
case "$TARGET" in /*) ;; *) TARGET="$PWD/$TARGET" ;; esac
if [ "$(id -u)" != 0 ]; then
    echo "transcript.sh runs the msh with chroot: run it as root" >&2
    exit 1
fi
HOST=$(rustc -vV | sed -n 's/^host: //p')
cargo rustc --release --quiet --lib --crate-type staticlib --target "$HOST" \
    --no-default-features --features rtthread,fs
SD="$TARGET/examples/transcript-sd"
rm -rf "$SD"
mkdir -p "$SD"
cc -std=c99 -Wall -Wextra -Werror -O2 -g -static -DRTONNX_RTTHREAD -DRTONNX_PACKAGE_BUILT \
    -Ic_api -Itests/host_rtthread \
    examples/onnx_mnist.c examples/mnist_sm.c examples/mnist_model.c examples/mnist_images.c \
    port/rtonnx_port.c tests/host_rtthread/rtthread_host.c tests/host_rtthread/msh.c \
    "$TARGET/$HOST/release/librtonnx.a" -lpthread -ldl -lm -o "$SD/msh" 2>/dev/null
cp examples/models/mnist-sm.onnx "$SD/mnist-sm.onnx"
cp "$SHARED/models/keras2onnx/mnist-lg.onnx" "$SD/mnist-lg.onnx"
: > "$SD/empty.onnx"
while read -r cmd; do
    # shellcheck disable=SC2086
    chroot "$SD" /msh $cmd || echo "(exit status $?)"
done <<'EOF'
mnist_model /mnist-sm.onnx 3
mnist_model /mnist-sm.onnx 0
mnist_model /mnist-lg.onnx 0
mnist_sm /mnist-sm.onnx 1
onnx_mnist 2
mnist_model /nope.onnx 0
onnx_mnist 42
mnist_model /empty.onnx 1
EOF
