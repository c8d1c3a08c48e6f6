#!/usr/bin/env python3
"""Expected values for the onnxruntime-parity unit tests in rust/ops/*.rs.

Builds tiny single-node ONNX models with onnx.helper, runs them on onnxruntime's CPU provider
and prints the outputs as Rust `const` arrays, grouped by the Rust file whose test uses them.
Inputs follow the deterministic `pattern` helper of rust/ops/mod.rs (test_util::pattern), so
the Rust tests rebuild the same tensors without storing them:

    pattern(n, mul, add, modulo, scale, shift)[i] = ((i * mul + add) % modulo) * scale - shift

Usage: python tools/kernels/gen_kernel_cases.py  (needs numpy, onnx, onnxruntime)
"""
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

F32 = np.float32


def pattern(n, mul, add, modulo, scale, shift):
    i = np.arange(n, dtype=np.int64)
    return ((i * mul + add) % modulo).astype(F32) * F32(scale) - F32(shift)


def run(op_nodes, inputs, opset=19, initializers=()):
    """op_nodes: list of NodeProto reading graph inputs by name, last output named 'y'."""
    vi = []
    for name, arr in inputs.items():
        et = TensorProto.INT64 if arr.dtype == np.int64 else TensorProto.FLOAT
        vi.append(helper.make_tensor_value_info(name, et, list(arr.shape)))
    # The output has the element type of the first input in every case here.
    first = next(iter(inputs.values()))
    out_type = TensorProto.INT64 if first.dtype == np.int64 else TensorProto.FLOAT
    out = helper.make_tensor_value_info("y", out_type, None)
    g = helper.make_graph(op_nodes, "g", vi, [out], initializer=list(initializers))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, inputs)[0]


def single(op, inputs, opset=19, **attrs):
    return run([helper.make_node(op, list(inputs), ["y"], **attrs)], inputs, opset)


def lit(v, ty):
    if ty == "i64":
        return str(int(v))
    v = F32(v)
    s = np.format_float_scientific(v, unique=True, trim="-") if v != 0 and (abs(v) < 1e-4 or abs(v) >= 1e6) else np.format_float_positional(v, unique=True, trim="0")
    if s.endswith("."):
        s += "0"
    if "." not in s and "e" not in s:
        s += ".0"
    return s


def const(name, arr, ty="f32"):
    flat = np.asarray(arr).reshape(-1)
    items = ", ".join(lit(v, ty) for v in flat)
    return f"    const {name}: [{ty}; {flat.size}] = [{items}];  // shape {list(np.asarray(arr).shape)}"


def section(title, lines):
    print(f"// ---- {title}")
    for line in lines:
        print(line)


def activation():
    x = np.array([-20.0, -3.5, -1.0, -0.25, 0.0, 0.25, 1.0, 3.5, 20.0], F32)
    section("activation.rs", [
        const("ORT_SIGMOID", single("Sigmoid", {"x": x})),
        const("ORT_TANH", single("Tanh", {"x": x})),
    ])


def binary():
    a = pattern(6, 1, 0, 1000, 0.5, 1.25).reshape(2, 1, 3)
    b = pattern(4, 1, 0, 1000, 0.75, -0.5).reshape(4, 1)
    ai = (np.arange(8, dtype=np.int64) - 7).reshape(4, 2)
    bi = np.array([2, -3], np.int64)
    section("binary.rs", [
        const("ORT_DIV", single("Div", {"a": a, "b": b})),
        const("ORT_SUB", single("Sub", {"a": a, "b": b})),
        const("ORT_I64_DIV", single("Div", {"a": ai, "b": bi}), "i64"),
    ])


def conv():
    # Case 1: group 2, k 3x2, strides (2,1), dilations (1,2), pads (1,2,0,1), bias.
    x = pattern(1 * 2 * 5 * 6, 7, 3, 17, 0.125, 1.0).reshape(1, 2, 5, 6)
    w = pattern(4 * 1 * 3 * 2, 5, 1, 11, 0.1, 0.5).reshape(4, 1, 3, 2)
    b = np.array([0.25, -0.5, 0.75, 0.0], F32)
    y1 = single("Conv", {"x": x, "w": w, "b": b}, group=2, kernel_shape=[3, 2], strides=[2, 1],
                dilations=[1, 2], pads=[1, 2, 0, 1])
    # Case 2: depthwise 3x3 stride 2 pads 1, then Relu.
    x = pattern(1 * 3 * 7 * 7, 13, 5, 19, 0.1, 0.9).reshape(1, 3, 7, 7)
    w = pattern(3 * 1 * 3 * 3, 3, 2, 7, 0.2, 0.6).reshape(3, 1, 3, 3)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["t"], group=3, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["t"], ["y"]),
    ]
    y2 = run(nodes, {"x": x, "w": w})
    section("conv.rs", [const("ORT_CONV1", y1), const("ORT_CONV2", y2)])


def matmul():
    a = pattern(12, 1, 0, 1000, 0.25, 1.0).reshape(4, 3)
    b = pattern(8, 1, 0, 1000, 0.5, 1.5).reshape(2, 4)
    c = np.array([[0.5], [-1.0], [2.0]], F32)
    g = single("Gemm", {"a": a, "b": b, "c": c}, transA=1, transB=1, alpha=0.5, beta=2.0)
    a = pattern(12, 7, 3, 11, 0.1, 0.5).reshape(2, 1, 2, 3)
    b = pattern(18, 5, 1, 13, 0.1, 0.6).reshape(3, 3, 2)
    m = single("MatMul", {"a": a, "b": b})
    section("matmul.rs", [const("ORT_GEMM", g), const("ORT_MATMUL", m)])


def normalization():
    x = pattern(24, 5, 3, 17, 0.3, 2.0).reshape(2, 3, 2, 2)
    p = {
        "gamma": np.array([0.5, -1.25, 2.0], F32),
        "beta": np.array([0.1, 0.0, -0.3], F32),
        "mean": np.array([0.2, -0.4, 1.0], F32),
        "var": np.array([0.9, 0.05, 2.5], F32),
    }
    y = single("BatchNormalization", {"x": x, **p}, opset=15, epsilon=1e-5)
    section("normalization.rs", [const("ORT_BN", y)])


def pool():
    x = pattern(84, 11, 4, 23, 0.25, 2.5).reshape(1, 2, 6, 7)
    mx = single("MaxPool", {"x": x}, kernel_shape=[3, 2], strides=[2, 2], dilations=[1, 2],
                pads=[1, 1, 1, 0], ceil_mode=1)
    avg = single("AveragePool", {"x": x}, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 2, 0, 1],
                 ceil_mode=1, count_include_pad=0)
    avgp = single("AveragePool", {"x": x}, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 2, 0, 1],
                  ceil_mode=1, count_include_pad=1)
    gap = single("GlobalAveragePool", {"x": x})
    gmp = single("GlobalMaxPool", {"x": x})
    section("pool.rs", [const("ORT_MAX", mx), const("ORT_AVG", avg), const("ORT_AVG_PAD", avgp),
                        const("ORT_GAP", gap), const("ORT_GMP", gmp)])


def softmax():
    x = pattern(24, 7, 2, 13, 0.5, 3.0).reshape(2, 3, 4)
    section("softmax.rs", [
        const("ORT_SOFTMAX_AXIS1", single("Softmax", {"x": x}, opset=13, axis=1)),
        const("ORT_LOG_SOFTMAX_AXIS1", single("LogSoftmax", {"x": x}, opset=13, axis=1)),
        const("ORT_SOFTMAX_AXIS2", single("Softmax", {"x": x}, opset=13, axis=2)),
    ])


def layout():
    x = pattern(24, 1, 0, 1000, 1.0, 0.0).reshape(2, 3, 4)
    pads = np.array([0, -1, 2, 1, 1, -2], np.int64)
    value = np.array(9.5, F32)
    pad = single("Pad", {"x": x, "pads": pads, "value": value}, opset=19, mode="constant")
    x3 = pattern(60, 1, 0, 1000, 1.0, 0.0).reshape(3, 4, 5)
    sl = single("Slice", {"x": x3, "starts": np.array([2, 3, 4], np.int64), "ends": np.array([-10, 0, 0], np.int64),
                          "axes": np.array([0, 1, 2], np.int64), "steps": np.array([-1, -2, -3], np.int64)})
    xg = pattern(12, 1, 0, 1000, 1.0, 0.0).reshape(3, 4)
    ga = single("Gather", {"x": xg, "i": np.array([[-1, 0], [2, -3]], np.int64)}, axis=1)
    tr = single("Transpose", {"x": x}, perm=[2, 0, 1])
    section("layout.rs", [const("ORT_PAD", pad), const("ORT_SLICE", sl), const("ORT_GATHER", ga),
                          const("ORT_TRANSPOSE", tr)])


if __name__ == "__main__":
    print(f"// onnxruntime {ort.__version__}, onnx {onnx.__version__}")
    activation()
    binary()
    conv()
    matmul()
    normalization()
    pool()
    softmax()
    layout()
