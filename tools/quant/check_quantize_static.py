#!/usr/bin/env python3
"""What onnxruntime's quantize_static writes runs on rtonnx as onnxruntime runs it.

Quantizes our mnist-cnn (examples/models/mnist-cnn.onnx) with
`onnxruntime.quantization.quantize_static`, calibrated on the first 200 images of the 10k
training subset, in the QDQ format (the default) with int8 weights: per channel and per
tensor, int8 and uint8 activations. For each, rtonnx (the release CLI: `eval --predictions`
on all 10,000 test digits, `run --input/--output` on the first 20) must give:

* onnxruntime's reference (graph optimisations off: the QDQ nodes run as they are) exactly:
  the same outputs bit for bit and the same 10,000 predictions;
* onnxruntime's optimised integer kernels (all optimisations, 1 thread) within one
  quantization step of the output.

The QOperator format uses com.microsoft operators (QGemm, QLinearSoftmax), which are refused
by name; that refusal is checked too.

usage: check_quantize_static.py [RTONNX_BINARY]   (default target/release/rtonnx)
"""
import gzip
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("RTONNX_SHARED", os.path.join(ROOT, "..", "shared"))
RTONNX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "rtonnx")
MODEL = os.path.join(ROOT, "examples", "models", "mnist-cnn.onnx")
MNIST = os.path.join(SHARED, "data", "mnist")


def images(name):
    with gzip.open(os.path.join(MNIST, name)) as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0


def session(path, level):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def output_step(path):
    """The scale of the DequantizeLinear that gives the graph output (its quantization step)."""
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = m.graph.output[0].name
    producer = {o: n for n in m.graph.node for o in n.output}
    n = producer[out]
    while n.op_type != "DequantizeLinear":
        n = producer[n.input[0]]
    return float(np.max(inits[n.input[1]]))


def main():
    calib, test = images("train10k-images-idx3-ubyte.gz")[:200], images("t10k-images-idx3-ubyte.gz")
    name = ort.InferenceSession(MODEL).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{name: calib[k : k + 1]} for k in range(len(calib))])

        def get_next(self):
            return next(self.it, None)

    failures = 0
    with tempfile.TemporaryDirectory(prefix="rtonnx-quant-") as tmp:
        variants = [
            ("qdq-int8-per-channel", QuantFormat.QDQ, QuantType.QInt8, True),
            ("qdq-int8-per-tensor", QuantFormat.QDQ, QuantType.QInt8, False),
            ("qdq-uint8-activations", QuantFormat.QDQ, QuantType.QUInt8, False),
        ]
        for label, fmt, act, per_channel in variants:
            path = os.path.join(tmp, label + ".onnx")
            quantize_static(MODEL, path, Reader(), quant_format=fmt, activation_type=act,
                            weight_type=QuantType.QInt8, per_channel=per_channel)
            ref = session(path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
            opt = session(path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
            step = output_step(path)
            pred_file = os.path.join(tmp, label + ".pred")
            r = subprocess.run([RTONNX, "eval", path, "--mnist", MNIST, "--predictions", pred_file],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL {label}: rtonnx eval: {r.stderr.strip()}")
                failures += 1
                continue
            ours = open(pred_file).read().strip()
            theirs = "".join(str(int(ref.run(None, {name: test[k : k + 1]})[0].argmax()))
                             for k in range(len(test)))
            same = sum(a == b for a, b in zip(ours, theirs))
            exact, worst = True, 0.0
            for k in range(20):
                x, y = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
                np.save(x, test[k : k + 1])
                subprocess.run([RTONNX, "run", path, "--input", x, "--output", y], check=True,
                               capture_output=True)
                got = np.load(y)
                exact &= bool(np.array_equal(got, ref.run(None, {name: test[k : k + 1]})[0]))
                worst = max(worst, float(np.abs(got - opt.run(None, {name: test[k : k + 1]})[0]).max()))
            labels = np.frombuffer(gzip.open(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz")).read(),
                                   np.uint8, offset=8)
            acc = sum(int(c) == int(l) for c, l in zip(ours, labels)) / len(labels)
            ok = same == len(test) and exact and worst <= step * 1.0001
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {label}: t10k accuracy {acc:.4f}; predictions equal to "
                  f"onnxruntime's reference {same}/{len(test)}; outputs of 20 digits bit-exact: {exact}; "
                  f"max |difference| to onnxruntime's optimised kernels {worst:.6f} "
                  f"(one output step: {step:.6f})")
        # The QOperator format: contrib operators, refused by name.
        path = os.path.join(tmp, "qoperator.onnx")
        quantize_static(MODEL, path, Reader(), quant_format=QuantFormat.QOperator,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        r = subprocess.run([RTONNX, "info", path], capture_output=True, text=True)
        ok = r.returncode != 0 and "unsupported operator domain ('com.microsoft')" in r.stderr
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} qoperator: refused: {r.stderr.strip()}")
    print(f"quantize_static: {'passed' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
