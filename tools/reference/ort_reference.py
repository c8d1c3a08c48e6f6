#!/usr/bin/env python3
"""Reference outputs from onnxruntime for the parity tests.

For each model, runs onnxruntime (CPU, one thread, one image at a time) on the MNIST t10k
images (pixel / 255 as float32, in the model's declared input layout) and writes
tests/reference/<stem>.txt (model sha256, onnxruntime version, accuracy, the argmax of all
10,000 images) and tests/reference/<stem>.f32 (the outputs of the first 1000 images,
little-endian float32).

usage: ort_reference.py [MODEL.onnx ...]   (default: both keras2onnx models in $RTONNX_SHARED)
"""
import gzip
import hashlib
import os
import sys

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("RTONNX_SHARED", os.path.join(ROOT, "..", "shared"))
FIRST = 1000


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    models = sys.argv[1:] or [
        os.path.join(SHARED, "models", "keras2onnx", m) for m in ("mnist-sm.onnx", "mnist-lg.onnx")
    ]
    data = os.path.join(SHARED, "data", "mnist")
    images = idx(os.path.join(data, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 28 * 28)
    labels = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"), 8)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    for path in models:
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        shape = [1 if not isinstance(d, int) or d == 0 else d for d in inp.shape]
        outs, preds = [], []
        for i in range(len(images)):
            x = (images[i].astype(np.float32) / 255.0).reshape(shape)
            y = sess.run(None, {inp.name: x})[0].reshape(-1)
            preds.append(int(np.argmax(y)))
            if i < FIRST:
                outs.append(y.astype("<f4"))
        correct = int(sum(int(p == l) for p, l in zip(preds, labels)))
        stem = os.path.splitext(os.path.basename(path))[0]
        out_dir = os.path.join(ROOT, "tests", "reference")
        os.makedirs(out_dir, exist_ok=True)
        blob = np.concatenate(outs).tobytes()
        with open(os.path.join(out_dir, stem + ".f32"), "wb") as f:
            f.write(blob)
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(out_dir, stem + ".txt"), "w") as f:
            f.write(f"model {os.path.basename(path)}\n")
            f.write(f"sha256 {sha}\n")
            f.write(f"onnxruntime {ort.__version__}\n")
            f.write(f"input pixel/255 float32 shape {shape}\n")
            f.write(f"outputs_first {FIRST} {len(outs[0])} sha256 {hashlib.sha256(blob).hexdigest()}\n")
            f.write(f"accuracy {correct}/{len(labels)}\n")
            f.write("predictions " + "".join(str(p) for p in preds) + "\n")
        print(f"{stem}: accuracy {correct / len(labels):.4f} ({correct}/{len(labels)})")


if __name__ == "__main__":
    main()
