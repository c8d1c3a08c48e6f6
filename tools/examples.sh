#!/usr/bin/env bash
# The three msh example commands (examples/) on the PC, against the host port of the
# RT-Thread API (tests/host_rtthread).
#
#   bash tools/examples.sh          build, then run onnx_mnist, mnist_sm and mnist_model on
#                                   every bundled digit and print what they print
#   bash tools/examples.sh --check  also: the committed headers are what the generator makes,
#                                   every probability agrees with onnxruntime (Python with
#                                   onnxruntime: $PYTHON, .venv/bin/python or python3), more
#                                   models, the error paths, a heap-size sweep that must end
#                                   in results or clean errors (never a panic or a leak), and
#                                   valgrind's memcheck when installed. Exits non-zero on any
#                                   mismatch.
#
# The library is built as in an RT-Thread BSP (SConscript's cargo command for the simulator
# BSP: features rtthread,fs, staticlib for the host triple), so the examples run on the
# library's own RT-Thread glue: heap (rt_malloc), panic handler, console (rt_kprintf) and
# model files read through the POSIX API with port/rtonnx_port.c.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${RTONNX_SHARED:-$(cd .. && pwd)/shared}"
[ -d "$SHARED" ] && SHARED="$(cd "$SHARED" && pwd)"
export RTONNX_SHARED="$SHARED"
TARGET="${CARGO_TARGET_DIR:-target}"
case "$TARGET" in /*) ;; *) TARGET="$PWD/$TARGET" ;; esac
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
case "$PY" in */*) case "$PY" in /*) ;; *) PY="$PWD/$PY" ;; esac ;; esac
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

HOST=$(rustc -vV | sed -n 's/^host: //p')
OUT="$TARGET/examples"
SD="$OUT/sd"        # plays the SD card: the msh runs here, the default model path is relative
LOGS="$OUT/logs"
rm -rf "$LOGS"
mkdir -p "$OUT/include" "$SD" "$LOGS"

echo "== library (cargo rustc --crate-type staticlib --target $HOST --features rtthread,fs,onnx,all-ops)"
cargo rustc --release --quiet --lib --crate-type staticlib --target "$HOST" \
    --no-default-features --features rtthread,fs,onnx,all-ops
LIB="$TARGET/$HOST/release/librtonnx.a"

if [ "$CHECK" = 1 ]; then
    # The committed headers (what RT-Thread BSP builds compile) must be what the tool makes
    # from the shipped model.
    "$PY" tools/examples/gen_headers.py examples/models/mnist-sm.onnx "$OUT/include" >/dev/null
    for h in mnist_weights.h mnist_images.h; do
        if ! cmp -s "examples/$h" "$OUT/include/$h"; then
            echo "examples/$h is stale: run python3 tools/examples/gen_headers.py examples/models/mnist-sm.onnx examples"
            exit 1
        fi
    done
    echo "examples/mnist_weights.h and examples/mnist_images.h are current"
fi

echo "== msh (examples/*.c unchanged + tests/host_rtthread + port/rtonnx_port.c)"
# -DRTONNX_RTTHREAD and -DRTONNX_PACKAGE_BUILT: what the SConscript defines (tests/host_rtthread/rtconfig.h
# has PKG_USING_RTONNX, and rtonnx.h refuses that without RTONNX_PACKAGE_BUILT).
cc -std=c99 -Wall -Wextra -Werror -O2 -g -DRTONNX_RTTHREAD -DRTONNX_PACKAGE_BUILT -Ic_api -Itests/host_rtthread \
    examples/onnx_mnist.c examples/mnist_sm.c examples/mnist_model.c examples/mnist_images.c port/rtonnx_port.c \
    tests/host_rtthread/rtthread_host.c tests/host_rtthread/msh.c "$LIB" -lpthread -ldl -lm -o "$OUT/msh"
MSH="$(cd "$OUT" && pwd)/msh"
cp examples/models/mnist-sm.onnx "$SD/mnist-sm.onnx"
N=$(sed -n 's/^#define MNIST_NUM_IMAGES \([0-9]*\)/\1/p' examples/mnist_images.h)

# The host port's heap budget (bytes) for the runs; the sweep below varies it.
HEAP=131072
RUNS="$OUT/runs.tsv"
: > "$RUNS"
nrun=0
# run KIND MODEL INDEX EXPECT PRINT CMD...: runs `msh CMD...` in the SD directory, logs it,
# records it for the checker, prints the log (PRINT=all), its summary lines (PRINT=short) or
# nothing (PRINT=none).
run() {
    local kind="$1" model="$2" index="$3" expect="$4" print="$5"
    shift 5
    nrun=$((nrun + 1))
    local log="$LOGS/$nrun.log" rc=0
    (cd "$SD" && RT_HOST_HEAP_SIZE="$HEAP" "$MSH" "$@") > "$log" 2>&1 || rc=$?
    case "$print" in
        all) cat "$log" ;;
        short) grep -E "^msh|^load|^model|^The number|^inference|^memory|^error|panic|^\[host\]" "$log" || true ;;
    esac
    [ "$rc" = 0 ] || [ "$print" = none ] || echo "(exit status $rc)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$rc" "$model" "$index" "$log" "$*" "$expect" >> "$RUNS"
}

MODEL=examples/models/mnist-sm.onnx
for i in $(seq 0 $((N - 1))); do
    echo
    run ok "$MODEL" "$i" "" all onnx_mnist "$i"
    run ok "$MODEL" "$i" "" short mnist_sm mnist-sm.onnx "$i"
    run ok "$MODEL" "$i" "" short mnist_model mnist-sm.onnx "$i"
done

if [ "$CHECK" = 0 ]; then
    exit 0
fi

echo
echo "== default path and index, other models"
run ok "$MODEL" 0 "" short mnist_model
run ok "$MODEL" 4 "" short mnist_sm 4
HEAP=4194304 # room for any of the models; the peak each needs is printed
for m in examples/models/*.onnx "$SHARED"/models/keras2onnx/*.onnx; do
    [ -f "$m" ] || continue
    abs="$(cd "$(dirname "$m")" && pwd)/$(basename "$m")"
    for i in $(seq 0 $((N - 1))); do
        run ok "$abs" "$i" "" none mnist_model "$abs" "$i"
    done
    echo "mnist_model $m: $N digits; $(grep -h '^model:' "$LOGS/$nrun.log"); peak heap $(sed -n 's/^memory: .* \([0-9]*\) max used.*/\1/p' "$LOGS/$nrun.log") bytes"
done
HEAP=131072

echo
echo "== onnx_stat: per-node profile"
run stat "$MODEL" 0 "weights 2016 B" all onnx_stat mnist-sm.onnx 0
run stat "$MODEL" 3 "" all onnx_stat "$SHARED/models/keras2onnx/mnist-lg.onnx" 3
run error - 0 "cannot load /nonexistent.onnx" short onnx_stat /nonexistent.onnx 0

echo
echo "== onnx_mnist and mnist_sm built for the original package's keras2onnx mnist-sm (HWC flatten, MatMul + Add)"
K2O="$SHARED/models/keras2onnx/mnist-sm.onnx"
KDIR="$OUT/keras2onnx"
mkdir -p "$KDIR"
# The headers are included with quotes, found next to the .c files first: build unchanged
# copies of the example files beside headers generated from that model.
cp examples/onnx_mnist.c examples/mnist_sm.c examples/mnist_model.c examples/mnist_images.c examples/mnist_common.h "$KDIR/"
"$PY" tools/examples/gen_headers.py "$K2O" "$KDIR" >/dev/null
cmp -s "$KDIR/mnist_images.h" examples/mnist_images.h || { echo "FAIL the digits differ between the two header sets"; exit 1; }
cc -std=c99 -Wall -Wextra -Werror -O2 -g -DRTONNX_RTTHREAD -DRTONNX_PACKAGE_BUILT -Ic_api -Itests/host_rtthread \
    "$KDIR/onnx_mnist.c" "$KDIR/mnist_sm.c" "$KDIR/mnist_model.c" "$KDIR/mnist_images.c" port/rtonnx_port.c \
    tests/host_rtthread/rtthread_host.c tests/host_rtthread/msh.c "$LIB" -lpthread -ldl -lm -o "$KDIR/msh"
MAIN_MSH="$MSH"
MSH="$(cd "$KDIR" && pwd)/msh"
for i in $(seq 0 $((N - 1))); do
    run ok "$K2O" "$i" "" none onnx_mnist "$i"
    run ok "$K2O" "$i" "" none mnist_sm "$K2O" "$i"
done
echo "onnx_mnist, mnist_sm with $K2O: $N digits each"
MSH="$MAIN_MSH"

echo
echo "== error paths"
printf '' > "$SD/empty.onnx"
printf '\377\377\377\377 not a model' > "$SD/garbage.onnx"
"$PY" - "$SD/relu4.onnx" <<'EOF'
import sys
from onnx import TensorProto, helper, save
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu4", [x], [y])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
EOF
run error - 0 "cannot load /nonexistent.onnx" short mnist_model /nonexistent.onnx 0
run error - 0 "cannot load /nonexistent.onnx" short mnist_sm /nonexistent.onnx 0
run error - 0 "cannot load empty.onnx: model file or buffer is empty" short mnist_model empty.onnx 0
run error - 0 "cannot load garbage.onnx: malformed model" short mnist_model garbage.onnx 0
run error - 0 "takes 4 values" short mnist_model relu4.onnx 0
run error - 0 "initializer 'conv1.weight'" short mnist_sm "$K2O" 0
run error - 0 "is not in 0..$((N - 1))" short onnx_mnist "$N"
run error - 0 "is not in 0..$((N - 1))" short mnist_model mnist-sm.onnx 99
run error - 0 "is not in 0..$((N - 1))" short onnx_mnist x
run error - 0 "is not in 0..$((N - 1))" short onnx_mnist -1
run error - 0 "too many arguments" short mnist_model a b c
(cd "$OUT" && "$MSH" mnist_model 0) > "$LOGS/default-missing.log" 2>&1 || true
printf 'error\t0\t-\t0\t%s\tmnist_model 0 (no model at the default path)\tcannot load mnist-sm.onnx\n' \
    "$LOGS/default-missing.log" >> "$RUNS"
grep -E "^error" "$LOGS/default-missing.log" || true
rc=0
"$MSH" no_such_command > /dev/null || rc=$?
if [ "$rc" != 127 ]; then
    echo "FAIL unknown command: exit status $rc, not 127"
    exit 1
fi

echo
echo "== heap-size sweep (RT_HOST_HEAP_SIZE from 0 up to what each command needs)"
sweep_fail=0
sweep_runs=0
for cmd in "onnx_mnist 0" "mnist_sm mnist-sm.onnx 0" "mnist_model mnist-sm.onnx 0" "mnist_model $K2O 1" \
    "mnist_model $SHARED/models/keras2onnx/mnist-lg.onnx 2"; do
    # shellcheck disable=SC2086
    peak=$(cd "$SD" && "$MSH" $cmd | sed -n 's/^memory: .* \([0-9]*\) max used.*/\1/p')
    [ -n "$peak" ] || { echo "FAIL '$cmd' gave no memory report"; exit 1; }
    failed_here=0
    for heap in $(seq 0 89 $((peak + 200))); do
        rc=0
        # shellcheck disable=SC2086
        out=$(cd "$SD" && RT_HOST_HEAP_SIZE=$heap "$MSH" $cmd 2>&1) || rc=$?
        sweep_runs=$((sweep_runs + 1))
        if [ "$rc" -gt 1 ] || ! grep -qE "^error: |^The number is" <<< "$out"; then
            failed_here=$((failed_here + 1))
            if [ "$failed_here" -le 3 ]; then
                echo "FAIL '$cmd' with a heap of $heap bytes: exit status $rc"
                grep -E "panic|^\[host\]|^error" <<< "$out" | sed 's/^/    /' || true
            fi
        fi
    done
    echo "'$cmd': needs $peak bytes of heap; $((peak / 89 + 3)) smaller and larger heaps, $failed_here failures"
    sweep_fail=$((sweep_fail + failed_here))
done
echo "heap-size sweep: $sweep_runs runs, $sweep_fail failures"

status=0
echo
echo "== the file-loading commands on the plan compiled from each model (rtonnx compile)"
# mnist_model and mnist_sm take a plan where they take an ONNX file: the same probabilities,
# printed digit for digit, for every bundled image.
cargo build --release --quiet --bin rtonnx
plan_runs=0
for model in mnist-sm.onnx "keras2onnx/mnist-sm.onnx"; do
    case "$model" in
        keras2onnx/*) dir="$KDIR"; msh="$KDIR/msh"; src="$K2O" ;;
        *) dir="$SD"; msh="$MAIN_MSH"; src="$SD/$model" ;;
    esac
    plan="$dir/$(basename "$model" .onnx).rtm"
    onnx="$dir/$(basename "$model")"
    [ -f "$onnx" ] || cp "$src" "$onnx"
    "$TARGET/release/rtonnx" compile "$onnx" -o "$plan" >/dev/null
    for cmd in mnist_model mnist_sm; do
        for i in $(seq 0 $((N - 1))); do
            a=$(cd "$dir" && RT_HOST_HEAP_SIZE="$HEAP" "$msh" "$cmd" "$(basename "$onnx")" "$i" 2>&1 | grep -E "^[0-9]: |^The number|^error") || true
            b=$(cd "$dir" && RT_HOST_HEAP_SIZE="$HEAP" "$msh" "$cmd" "$(basename "$plan")" "$i" 2>&1 | grep -E "^[0-9]: |^The number|^error") || true
            plan_runs=$((plan_runs + 1))
            if [ -z "$a" ] || [ "$a" != "$b" ] || grep -q "^error" <<<"$b"; then
                echo "FAIL '$cmd $(basename "$plan") $i' differs from the ONNX file's run:"
                diff <(echo "$a") <(echo "$b") || true
                status=1
            fi
        done
    done
    echo "$(basename "$plan") ($model): mnist_model and mnist_sm print what they print for the ONNX file, $N digits each"
done
echo "plan runs: $plan_runs"

echo
echo "== the stack check of the RT-Thread build (tests/host_rtthread/stack_check.c)"
# A thread with its stack nearly used up: loads and inferences refuse with
# ONNX_ERR_STACK_TOO_SMALL instead of overflowing; a thread with room runs them.
cc -std=c99 -Wall -Wextra -Werror -O1 -g -DRTONNX_RTTHREAD -DRTONNX_PACKAGE_BUILT -Ic_api -Itests/host_rtthread \
    tests/host_rtthread/stack_check.c port/rtonnx_port.c tests/host_rtthread/rtthread_host.c "$LIB" \
    -lpthread -ldl -lm -o "$OUT/stack_check"
if ! RT_HOST_HEAP_SIZE="$HEAP" "$OUT/stack_check" "$SD/mnist-sm.onnx" "$SD/mnist-sm.rtm"; then
    status=1
fi

if command -v valgrind > /dev/null; then
    echo
    echo "== valgrind memcheck"
    for cmd in "onnx_mnist 1" "mnist_sm mnist-sm.onnx 2" "mnist_model mnist-sm.onnx 3" "mnist_model garbage.onnx 0"; do
        # shellcheck disable=SC2086
        if (cd "$SD" && valgrind --quiet --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            "$MSH" $cmd > "$LOGS/valgrind.log" 2>&1); then
            echo "valgrind '$cmd': no errors, no leaks"
        else
            echo "FAIL valgrind '$cmd':"
            cat "$LOGS/valgrind.log"
            status=1
        fi
    done
fi

echo
"$PY" tools/examples/check_runs.py "$RUNS" examples/mnist_images.h || status=1
[ "$sweep_fail" = 0 ] || status=1
exit "$status"
