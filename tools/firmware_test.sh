#!/usr/bin/env bash
# Builds the Cortex-M4F test firmware (firmware/mps2-an386) around the thumbv7em-none-eabihf
# staticlib, runs it under QEMU's mps2-an386 with semihosting, and checks that it predicts the
# same digits as the host for every bundled test image, for each model as its ONNX file and as
# the plan `rtonnx compile --target cortex-m-vfma` makes of it, loaded from flash (copied and
# in place) and from a host file. Prints exact instruction counts (a TCG plugin of ours), SysTick estimates,
# peak heap, stack high-water, flash and RAM.
#
# usage: tools/firmware_test.sh [MODEL.onnx ...]   (default: both keras2onnx models, our
#        mnist-sm and mnist-cnn, and the generated kernel-coverage model)
# env:   RTONNX_SHARED (default ../shared), CARGO_TARGET_DIR (default target/),
#        RTONNX_CLI (host rtonnx binary: compiles the plans and is the reference; built here
#        when unset),
#        FIRMWARE_TIMEOUT (seconds per QEMU run, default 120),
#        RTONNX_PYTHON (Python for the onnxruntime fallback reference; default .venv's, else
#        python3), RTONNX_OPT_LEVEL (override the device profile's opt-level 2, e.g. 3, s or
#        z, to measure)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${RTONNX_SHARED:-$ROOT/../shared}
export RTONNX_SHARED=$SHARED
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$CARGO_TARGET_DIR/firmware
TIMEOUT=${FIRMWARE_TIMEOUT:-120}
TARGET=thumbv7em-none-eabihf
mkdir -p "$OUT"
PY=${RTONNX_PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python; else PY=python3; fi
fi

MODELS=("$@")
if [ ${#MODELS[@]} -eq 0 ]; then
    # Both keras2onnx models, our two shipped models, and a random-weight model that takes
    # every path of the Cortex-M kernels (tools/firmware/gen_kernel_model.py; needs Python's
    # onnx).
    MODELS=("$SHARED/models/keras2onnx/mnist-sm.onnx" "$SHARED/models/keras2onnx/mnist-lg.onnx"
        "$ROOT/examples/models/mnist-sm.onnx" "$ROOT/examples/models/mnist-cnn.onnx")
    mkdir -p "$CARGO_TARGET_DIR/firmware-models"
    coverage=$CARGO_TARGET_DIR/firmware-models/kernel-coverage.onnx
    if "$PY" tools/firmware/gen_kernel_model.py "$coverage"; then
        MODELS+=("$coverage")
    else
        echo "firmware_test: no kernel-coverage model (Python's onnx missing): SKIPPED"
    fi
fi

# --- tools -----------------------------------------------------------------------------
need_apt=()
command -v arm-none-eabi-gcc >/dev/null || need_apt+=(gcc-arm-none-eabi)
if ! command -v arm-none-eabi-gcc >/dev/null ||
    ! arm-none-eabi-gcc -print-file-name=libc.a | grep -q /; then
    need_apt+=(libnewlib-arm-none-eabi)
fi
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "firmware_test: installing ${need_apt[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
    else
        echo "firmware_test: missing ${need_apt[*]} (Debian packages)" >&2
        exit 1
    fi
fi
libdir=$(rustc --print target-libdir --target $TARGET)
if ! compgen -G "$libdir/libcore-*" >/dev/null; then
    rustup target add $TARGET
fi

# --- the library, the plugin, the test images --------------------------------------------
echo "firmware_test: building librtonnx.a for $TARGET (features baremetal,fs,onnx,all-ops)"
opt_args=()
libdir_name=firmware-lib
if [ -n "${RTONNX_OPT_LEVEL:-}" ]; then
    case "$RTONNX_OPT_LEVEL" in
        [0-3]) opt_args=(--config "profile.device.opt-level=$RTONNX_OPT_LEVEL") ;;
        *) opt_args=(--config "profile.device.opt-level=\"$RTONNX_OPT_LEVEL\"") ;;
    esac
    libdir_name=firmware-lib-O$RTONNX_OPT_LEVEL
    OUT=$OUT-O$RTONNX_OPT_LEVEL
    mkdir -p "$OUT"
fi
# No -C target-cpu=cortex-m4, as the SConscript builds it: on this firmware that tuning added
# 18 KB of code for the same instructions per inference (docs/performance.md).
# The ONNX files run on the whole library (ONNX loader, every operator family); each plan on
# the plan-only library a device that runs just that plan needs (the features
# `rtonnx compile --cargo-features` prints), built below.
build_lib() { # features, directory
    RUSTFLAGS="" cargo rustc --profile device --locked --lib -q "${opt_args[@]}" \
        --crate-type staticlib --target $TARGET --no-default-features --features "$1" \
        --target-dir "$CARGO_TARGET_DIR/$2"
}
build_lib baremetal,fs,onnx,all-ops "$libdir_name"
LIB_ONNX=$CARGO_TARGET_DIR/$libdir_name/$TARGET/device/librtonnx.a

make -s -C firmware/mps2-an386 BUILD="$OUT" "$OUT/libicount.so"

INDICES=(0 1 2 3 4 5 6 7 8 9)
IMAGES=$OUT/mnist_test_images.h
python3 firmware/mps2-an386/gen_images.py "$IMAGES" "${INDICES[@]}"

# The host tool compiles the plans (and is the reference of the predictions).
if [ -z "${RTONNX_CLI:-}" ]; then
    cargo build --release --locked -q --bin rtonnx
    export RTONNX_CLI=$CARGO_TARGET_DIR/release/rtonnx
fi

# --- one firmware per model ---------------------------------------------------------------
status=0
seen=" "
# name<TAB>ONNX model path<TAB>onnx|plan per line, for tools/bench/figures.py.
INDEX=$OUT/index.tsv
: >"$INDEX"
for model in "${MODELS[@]}"; do
    model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
    base=$(basename "$model" .onnx)
    # Two models of the same file name (ours and keras2onnx's mnist-sm): tell them apart.
    case "$seen" in *" $base "*) base="$base-$(basename "$(dirname "$model")")" ;; esac
    seen="$seen$base "
    # Each model twice: the ONNX file, and the plan the host compiles from it for this target.
    for kind in onnx plan; do
        name=$base
        [ $kind = plan ] && name=$base-plan
        printf '%s\t%s\t%s\n' "$name" "$model" "$kind" >>"$INDEX"
        dir=$OUT/$name
        mkdir -p "$dir"
        if [ $kind = onnx ]; then
            LIB=$LIB_ONNX
            file=model.onnx
            cp "$model" "$dir/$file"
        else
            file=model.rtm
            echo "firmware_test: rtonnx compile $(basename "$model") -o $name/$file --target cortex-m-vfma"
            "$RTONNX_CLI" compile "$model" -o "$dir/$file" --target cortex-m-vfma
            ops=$("$RTONNX_CLI" compile "$model" --target cortex-m-vfma --cargo-features)
            echo "firmware_test: plan-only librtonnx.a, features baremetal,fs,$ops" \
                "(rtonnx compile --cargo-features)"
            build_lib "baremetal,fs,$ops" "$libdir_name-plan-${ops//,/-}"
            LIB=$CARGO_TARGET_DIR/$libdir_name-plan-${ops//,/-}/$TARGET/device/librtonnx.a
        fi
        make -s -C firmware/mps2-an386 BUILD="$dir" LIB="$LIB" MODEL="$dir/$file" IMAGES="$IMAGES" \
            "$dir/firmware.elf" >/dev/null
        elf=$dir/firmware.elf
        begin=0x$(arm-none-eabi-nm "$elf" | awk '$3 == "icount_begin" {print $1}')
        end=0x$(arm-none-eabi-nm "$elf" | awk '$3 == "icount_end" {print $1}')
        mark=0x$(arm-none-eabi-nm "$elf" | awk '$3 == "icount_mark" {print $1}')
        # The reference is the ONNX file's, for the plan too.
        "$PY" tools/host_predictions.py "$model" "$dir/reference.json" "${INDICES[@]}"

        echo "firmware_test: qemu-system-arm -M mps2-an386 -semihosting -nographic -icount shift=0" \
            "-kernel $name/firmware.elf -append $file"
        rc=0
        (cd "$dir" && timeout "$TIMEOUT" qemu-system-arm -M mps2-an386 -nographic -semihosting \
            -icount shift=0 -plugin "$OUT/libicount.so,begin=$begin,end=$end,mark=$mark,out=icount.txt" \
            -kernel firmware.elf -append $file </dev/null >log.txt 2>&1) || rc=$?
        sed 's/^/  | /' "$dir/log.txt"
        if [ $rc -ne 0 ]; then
            echo "firmware_test: $name: QEMU exited with $rc$([ $rc = 124 ] && echo ' (timeout)')"
            status=1
        fi
        python3 tools/firmware_report.py --log "$dir/log.txt" --icount "$dir/icount.txt" \
            --model "$dir/$file" --map "$dir/firmware.map" --elf "$elf" \
            --reference "$dir/reference.json" --summary-json "$dir/summary.json" || status=1
        if [ "$seen" = " $base " ]; then
            echo "  code and read-only data in the firmware by module (arm-none-eabi-nm, $kind library):"
            python3 tools/cross/symbol_sizes.py "$elf" 2 | sed 's/^/    /'
        fi
    done
done

if [ $status -eq 0 ]; then
    echo "firmware_test: all models passed"
else
    echo "firmware_test: FAILED"
fi
exit $status
