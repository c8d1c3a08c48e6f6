#!/usr/bin/env bash
# Installs what the tests need, once: the rustup components and toolchains, and the two
# Python virtual environments from the pinned requirements. tools/test.sh runs it first;
# run it alone to prepare a machine. Each part is skipped when it is already in place (a
# venv is reinstalled only when its requirements file changed), and says what it does.
#
#   .venv        tools/requirements-ci.txt: onnx (node test cases), onnxruntime (references)
#   .venv-train  tools/train/requirements.txt: the training tool (Keras on JAX), for the
#                training smoke test
#   rustup       rustfmt and clippy; the nightly toolchain for cargo-fuzz (tools/fuzz_smoke.sh
#                installs cargo-fuzz, tools/cross_build.sh the cross targets it builds)
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v rustup >/dev/null 2>&1; then
    installed="$(rustup component list --installed 2>/dev/null || true)"
    for c in rustfmt clippy; do
        if ! grep -q "^$c" <<<"$installed"; then
            echo "setup: rustup component add $c"
            rustup component add "$c"
        fi
    done
    if ! cargo +nightly --version >/dev/null 2>&1; then
        echo "setup: rustup toolchain install nightly (for cargo fuzz)"
        rustup toolchain install nightly --profile minimal
    fi
else
    echo "setup: no rustup: using the cargo on PATH as it is ($(cargo --version 2>/dev/null || echo none))"
fi

# venv DIR REQUIREMENTS: creates DIR when missing, installs REQUIREMENTS when they changed
# since the last install (the file's SHA-256 is kept in DIR/.requirements.sha256).
venv() {
    local dir="$1" req="$2" want have=""
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    [ -f "$dir/.requirements.sha256" ] && have="$(cat "$dir/.requirements.sha256")"
    if [ -x "$dir/bin/python" ] && [ "$have" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$dir/bin/python" ]; then
        echo "setup: python3 -m venv $dir"
        python3 -m venv "$dir"
    fi
    echo "setup: $dir/bin/pip install -r $req"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" || return 1
    echo "$want" >"$dir/.requirements.sha256"
}

venv .venv tools/requirements-ci.txt
venv .venv-train tools/train/requirements.txt ||
    echo "setup: the training requirements could not be installed: the training smoke test will say SKIPPED"
echo "setup: ready"
