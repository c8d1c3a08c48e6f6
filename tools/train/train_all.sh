#!/usr/bin/env bash
# Reproduces both shipped models from a fresh clone: installs the training requirements into
# .venv-train, trains mnist-sm and mnist-cnn, records their figures and regenerates the C
# example headers. About 5 minutes on 2 CPU cores (measured: 90 s + 100 s of training).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv-train/bin/python ] || python3 -m venv .venv-train
.venv-train/bin/pip install --quiet --disable-pip-version-check -r tools/train/requirements.txt
cargo build --release --quiet --features cli
.venv-train/bin/python tools/train/train.py --model sm
.venv-train/bin/python tools/train/train.py --model cnn
.venv-train/bin/python tools/train/record_models.py
.venv-train/bin/python tools/examples/gen_headers.py examples/models/mnist-sm.onnx examples
