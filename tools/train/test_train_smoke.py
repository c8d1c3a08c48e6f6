#!/usr/bin/env python3
"""Smoke test of the training tool: a few batches on a small subset, exported and loaded.

Prints a visible SKIPPED line and exits 0 when the training dependencies (tools/train/
requirements.txt) are not importable in this Python.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    missing = [m for m in ("keras", "jax", "onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"SKIPPED training smoke test: {', '.join(missing)} not installed "
              f"(pip install -r tools/train/requirements.txt)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "smoke.onnx"
        r = subprocess.run(
            [sys.executable, str(HERE / "train.py"), "--model", "sm", "--epochs", "1", "--max-batches", "5",
             "--train-limit", "600", "--out", str(out)],
            capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "jax"},
        )
        print(r.stdout[-2000:])
        if r.returncode != 0 or not out.exists():
            print(r.stderr[-4000:])
            print("training smoke test: FAILED")
            return 1
        import onnxruntime as ort
        import numpy as np

        sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: np.zeros((1, 1, 28, 28), np.float32)})[0]
        assert y.shape == (1, 10) and abs(float(y.sum()) - 1.0) < 1e-4, y
    print("training smoke test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
