#!/usr/bin/env bash
# Writes the seed inputs the fuzz runs started from into fuzz/seeds/ (not committed; the
# minimised corpora under fuzz/corpus/ are): the three MNIST models, a few truncations of
# each and, when `tools/conformance/gen_node_tests.py` has been run, the ONNX node-test
# models under 4 KiB (one per operator case).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${RTONNX_SHARED:-$root/../shared}"
out="$here/seeds"
rm -rf "$out"
mkdir -p "$out"
for m in "$shared/models/keras2onnx/mnist-sm.onnx" "$shared/models/keras2onnx/mnist-lg.onnx" \
    "$root/examples/models/mnist-sm.onnx"; do
    tag="$(basename "$(dirname "$m")")-$(basename "$m" .onnx)"
    cp "$m" "$out/$tag.onnx"
    n=$(stat -c %s "$m")
    for cut in 16 64 $((n / 4)) $((n / 2)) $((3 * n / 4)) $((n - 1)); do
        head -c "$cut" "$m" >"$out/$tag.cut$cut"
    done
done
nodes="${RTONNX_CONFORMANCE_DIR:-$root/target/onnx-node-tests}"
if [ -d "$nodes" ]; then
    find -L "$nodes" -name model.onnx -size -4k | while read -r f; do
        cp "$f" "$out/node-$(basename "$(dirname "$f")").onnx"
    done
fi
echo "$(find "$out" -type f | wc -l) seeds in $out"
