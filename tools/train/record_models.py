#!/usr/bin/env python3
"""Measure the shipped models and write examples/models/models.json (and print a table):
parameters, MACs, weight bytes, rtonnx arena bytes, t10k accuracy by onnxruntime and by rtonnx.

usage: record_models.py  (needs onnx, onnxruntime and target/release/rtonnx)
"""
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import mnist_data  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "jax")


def stats_of(path: Path) -> dict:
    from onnx_export import model_stats  # the exporter's counting (no Keras needed)

    return model_stats(onnx.load(path))


def main() -> int:
    data = mnist_data.default_data_dir()
    x, y = mnist_data.load_split(data, "t10k")
    cli = ROOT / "target" / "release" / "rtonnx"
    shared = mnist_data.shared_dir()
    entries = []
    models = [(ROOT / "examples/models/mnist-sm.onnx", "ours"), (ROOT / "examples/models/mnist-cnn.onnx", "ours"),
              (shared / "models/keras2onnx/mnist-sm.onnx", "original package"),
              (shared / "models/keras2onnx/mnist-lg.onnx", "original package")]
    for path, origin in models:
        if not path.exists():
            continue
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        shape = [1 if not isinstance(d, int) or d == 0 else d for d in inp.shape]
        xs = (x.astype(np.float32) / 255.0).reshape([-1] + shape[1:])
        correct = 0
        for i in range(0, len(xs), 500):
            feed = xs[i:i + 500]
            if isinstance(inp.shape[0], int) and inp.shape[0] == 1:
                pred = np.array([sess.run(None, {inp.name: feed[j:j + 1]})[0].argmax() for j in range(len(feed))])
            else:
                pred = sess.run(None, {inp.name: feed})[0].argmax(1)
            correct += int((pred == y[i:i + 500]).sum())
        ev = subprocess.run([str(cli), "eval", str(path), "--mnist", str(data)], capture_output=True, text=True, check=True)
        rt = int(re.search(r"\((\d+)/10000\)", ev.stdout).group(1))
        info = subprocess.run([str(cli), "info", str(path)], capture_output=True, text=True, check=True).stdout
        m = re.search(r"weights (\d+) B .* arena (\d+) B, (\d+) MACs", info)
        params = sum(int(np.prod(t.dims)) for t in onnx.load(path).graph.initializer if t.data_type == 1)
        entries.append({
            "file": str(path.relative_to(ROOT)) if origin == "ours" else path.name,
            "origin": origin,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "parameters": params,
            "macs": int(m.group(3)),
            "weight_bytes": int(m.group(1)),
            "arena_bytes": int(m.group(2)),
            "t10k_correct_onnxruntime": correct,
            "t10k_correct_rtonnx": rt,
            "input": f"float32 {shape}, pixel/255",
        })
    if any(e["origin"] == "ours" for e in entries):
        ours = [e for e in entries if e["origin"] == "ours"]
        for e in ours:
            e["training"] = f"python tools/train/train.py --model {'sm' if 'sm' in e['file'] else 'cnn'}"
        (ROOT / "examples/models/models.json").write_text(json.dumps(ours, indent=2) + "\n")
    print("| model | origin | parameters | MACs | weight bytes | arena bytes | t10k onnxruntime | t10k rtonnx |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for e in entries:
        print(f"| {Path(e['file']).name} | {e['origin']} | {e['parameters']} | {e['macs']:,} | {e['weight_bytes']:,} | "
              f"{e['arena_bytes']:,} | {e['t10k_correct_onnxruntime'] / 100:.2f} % | {e['t10k_correct_rtonnx'] / 100:.2f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
