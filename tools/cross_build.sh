#!/usr/bin/env bash
# Cross builds of the device staticlib, as an RT-Thread BSP builds it, with sizes.
#
# For each target (thumbv7em-none-eabihf: STM32F407-class Cortex-M4F; thumbv7m-none-eabi:
# Cortex-M3; armv7a-none-eabi: the qemu-vexpress-a9 BSP) it
#   1. installs the Rust target with rustup when it is missing,
#   2. builds librtonnx.a with --profile device --locked --no-default-features --features
#      rtthread,fs,onnx,all-ops (what the SConscript builds with menuconfig's defaults),
#   3. links it with arm-none-eabi-gcc --gc-sections into tools/cross/link_probe.c, keeping
#      every exported rtonnx symbol, which proves the library needs nothing an RT-Thread
#      kernel and newlib do not provide, and
#   4. prints the archive size and the text/rodata/data/bss the library contributes to the link.
# It also builds the thumbv7em-none-eabihf library with the bare-metal feature that the QEMU
# test firmware links (firmware/mps2-an386).
#
# Needs: rustup (or the targets already installed), gcc-arm-none-eabi and
# libnewlib-arm-none-eabi (Debian packages; installed with apt-get when missing and root).
#
# usage: tools/cross_build.sh [target...]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$CARGO_TARGET_DIR/cross
mkdir -p "$OUT"

TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(thumbv7em-none-eabihf thumbv7m-none-eabi armv7a-none-eabi)
fi

ensure_arm_gcc() {
    if command -v arm-none-eabi-gcc >/dev/null &&
        arm-none-eabi-gcc -print-file-name=libc.a | grep -q /; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "cross_build: installing gcc-arm-none-eabi and libnewlib-arm-none-eabi"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc-arm-none-eabi \
            libnewlib-arm-none-eabi >/dev/null
    else
        echo "cross_build: arm-none-eabi-gcc with newlib is missing; install the Debian packages" \
            "gcc-arm-none-eabi and libnewlib-arm-none-eabi" >&2
        exit 1
    fi
}

has_target() {
    local libdir
    libdir=$(rustc --print target-libdir --target "$1" 2>/dev/null) || return 1
    compgen -G "$libdir/libcore-*" >/dev/null
}

ensure_target() {
    has_target "$1" && return 0
    if command -v rustup >/dev/null; then
        echo "cross_build: rustup target add $1"
        rustup target add "$1"
    fi
    if ! has_target "$1"; then
        echo "cross_build: the Rust standard library for $1 is not installed and rustup could" \
            "not add it (run: rustup target add $1)" >&2
        exit 1
    fi
}

gcc_flags() {
    case "$1" in
        thumbv7em-none-eabihf) echo "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard" ;;
        thumbv7em-none-eabi) echo "-mcpu=cortex-m4 -mthumb -mfloat-abi=soft" ;;
        thumbv7m-none-eabi) echo "-mcpu=cortex-m3 -mthumb" ;;
        thumbv6m-none-eabi) echo "-mcpu=cortex-m0 -mthumb" ;;
        armv7a-none-eabi) echo "-march=armv7-a -msoft-float" ;;
        armv7a-none-eabihf) echo "-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard" ;;
        *) echo "" ;;
    esac
}

rustflags_for() {
    case "$1" in
        thumbv7m-none-eabi) echo "-C target-cpu=cortex-m3" ;;
        *) echo "" ;;
    esac
}

ensure_arm_gcc

build_lib() { # target features -> path of the .a
    # As the SConscript does: a staticlib-only build, so that LTO leaves only the C API global.
    local target=$1 features=$2 dir
    RUSTFLAGS="$(rustflags_for "$target")" cargo rustc --profile device --locked --lib -q \
        --crate-type staticlib --target "$target" --no-default-features --features "$features" \
        --target-dir "$CARGO_TARGET_DIR/cross-$features" >&2
    dir="$CARGO_TARGET_DIR/cross-$features/$target/device"
    echo "$dir/librtonnx.a"
}

exported_symbols() { # lib -> global symbols defined by the rtonnx object(s), one a line
    arm-none-eabi-nm -g --defined-only "$1" 2>/dev/null |
        awk '/^rtonnx-[^ ]*\.o:$/ {own=1; next} /\.o:$/ {own=0} own && $2 ~ /[TDRB]/ {print $3}' |
        sort -u
}

report_link() { # target lib -> prints sizes of the library's share of the probe link
    local target=$1 lib=$2 flags syms undef elf map
    flags=$(gcc_flags "$target")
    if [ -z "$flags" ]; then
        echo "  (no gcc flags for $target: link probe skipped)"
        return 0
    fi
    # Every global function or object the rtonnx object itself defines (the C API).
    syms=$(exported_symbols "$lib")
    undef=()
    for s in $syms; do undef+=("-Wl,-u,$s"); done
    elf=$OUT/probe-$target.elf
    map=$OUT/probe-$target.map
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $flags -O2 -ffunction-sections -fdata-sections --specs=nosys.specs \
        -Wl,--gc-sections -Wl,--no-warn-execstack -Wl,-Map="$map" "${undef[@]}" \
        -DRTONNX_RTTHREAD -Itools/cross tools/cross/link_probe.c port/rtonnx_port.c \
        -lc -lm -lgcc "$lib" -o "$elf"
    echo "  exported symbols kept: $(echo "$syms" | grep -c . || true)"
    if [ -f c_api/rtonnx.h ] && ! echo "$syms" | grep -q '^onnx_'; then
        echo "  FAILED: $lib exports no onnx_* function of the C API" >&2
        return 1
    fi
    if echo "$syms" | grep -qE '^(_ZN|_R|__rust|rust_begin_unwind)'; then
        echo "  FAILED: Rust runtime or mangled symbols are global in $lib:" >&2
        echo "$syms" | grep -E '^(_ZN|_R|__rust|rust_begin_unwind)' | head >&2
        return 1
    fi
    python3 tools/cross/map_sizes.py "$map" librtonnx.a | sed 's/^/  /'
    arm-none-eabi-size "$elf" | sed 's/^/  probe: /'
}

check_neighbour() { # target lib: link beside another Rust staticlib, in both orders
    local target=$1 lib=$2 flags other order undef=()
    flags=$(gcc_flags "$target")
    RUSTFLAGS="" cargo build -q --release --locked --offline --target "$target" \
        --manifest-path tools/cross/neighbour/Cargo.toml \
        --target-dir "$CARGO_TARGET_DIR/cross-neighbour"
    other=$CARGO_TARGET_DIR/cross-neighbour/$target/release/librust_neighbour.a
    for s in $(exported_symbols "$lib"); do undef+=("-Wl,-u,$s"); done
    for order in "$lib $other" "$other $lib"; do
        # shellcheck disable=SC2086
        arm-none-eabi-gcc $flags -O2 --specs=nosys.specs -Wl,--gc-sections \
            -Wl,--no-warn-execstack -DPROBE_WITH_RUST_NEIGHBOUR "${undef[@]}" \
            -DRTONNX_RTTHREAD -Itools/cross tools/cross/link_probe.c port/rtonnx_port.c \
            -lc -lm -lgcc $order \
            -o "$OUT/neighbour-$target.elf"
    done
    echo "  links beside another Rust staticlib with its own allocator and panic handler: ok"
}

status=0
for target in "${TARGETS[@]}"; do
    ensure_target "$target"
    echo "== $target (features rtthread,fs,onnx,all-ops)"
    lib=$(build_lib "$target" rtthread,fs,onnx,all-ops)
    printf '  %s: %d bytes\n' "${lib#"$ROOT"/}" "$(stat -c %s "$lib")"
    report_link "$target" "$lib" || status=1
    if [ "$target" = thumbv7em-none-eabihf ]; then
        check_neighbour "$target" "$lib" || status=1
    fi
done

if printf '%s\n' "${TARGETS[@]}" | grep -qx thumbv7em-none-eabihf; then
    echo "== thumbv7em-none-eabihf (features baremetal,fs,onnx,all-ops: the QEMU test firmware)"
    lib=$(build_lib thumbv7em-none-eabihf baremetal,fs,onnx,all-ops)
    printf '  %s: %d bytes\n' "${lib#"$ROOT"/}" "$(stat -c %s "$lib")"
    # A plan-only build (no ONNX loader) with keras2onnx mnist-sm's build parts, as
    # `rtonnx compile --cargo-features` prints them.
    features=rtthread,fs,op-conv-3x3pool,op-dense-layer,op-softmax-plain,op-layout-transpose
    echo "== thumbv7em-none-eabihf (features $features: plan-only)"
    lib=$(build_lib thumbv7em-none-eabihf "$features")
    printf '  %s: %d bytes\n' "${lib#"$ROOT"/}" "$(stat -c %s "$lib")"
    report_link thumbv7em-none-eabihf "$lib" || status=1
fi
exit $status
