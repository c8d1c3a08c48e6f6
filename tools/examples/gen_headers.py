#!/usr/bin/env python3
"""Generate the headers of the C examples from an mnist-sm style ONNX model.

  gen_headers.py MODEL.onnx OUT_DIR [--images N]

Writes OUT_DIR/mnist_weights.h and OUT_DIR/mnist_images.h in the format documented in
examples/README.md ("The generated headers"):

mnist_weights.h: for the hand-built example (examples/onnx_mnist.c) the weights of the layers
Conv, Conv, Dense, Dense, with the geometry (channels, kernel, padding, pooling) as macros.
Conv weights are [out_c][in_c][k][k]; dense weights are [in][out] (input-major) with the first
dense layer's rows in CHW order, the order the C example flattens its feature map in,
whatever layout the model was exported with. For the example that looks weights up by name
in the ONNX file at run time (examples/mnist_sm.c) it names the model's initializers and says
how they are laid out: MNIST_<L>_W / MNIST_<L>_B (strings), MNIST_DENSE<n>_TRANS_B (1 when
the stored matrix is [out][in]), MNIST_FLATTEN_HWC (1 when the model flattens HWC).

mnist_images.h: N MNIST test digits (the first of each class, then the next ones) as
uint8 mnist_images[N][784] with mnist_labels[N] and their t10k indices mnist_indices[N],
declared extern and defined only where MNIST_IMAGES_DEFINE is set (examples/mnist_images.c).
"""
import gzip
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

SIDE = 28  # input images are 28x28, one channel


def fail(msg):
    sys.exit(f"gen_headers.py: {msg}")


def consts(model):
    c = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    c[n.output[0]] = numpy_helper.to_array(a.t)
    return c


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            v = helper.get_attribute_value(a)
            return v.decode() if isinstance(v, bytes) else v
    return default


def square(node, name, values, what):
    if len(values) != 2 or values[0] != values[1]:
        fail(f"{node.op_type} '{node.name}': {what} {values} is not square")
    return int(values[0])


def pads_of(node, side, k, stride):
    """Padding on each side (the same on all four) after resolving auto_pad."""
    auto = attr(node, "auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = -(-side // stride)
        total = max((out - 1) * stride + k - side, 0)
        if total % 2:
            fail(f"{node.op_type} '{node.name}': {auto} pads unevenly")
        return total // 2
    if auto == "VALID":
        return 0
    pads = list(attr(node, "pads", [0, 0, 0, 0]))
    if len(set(pads)) != 1:
        fail(f"{node.op_type} '{node.name}': uneven pads {pads}")
    return int(pads[0])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    model_path, out = sys.argv[1], sys.argv[2]
    n_images = int(sys.argv[sys.argv.index("--images") + 1]) if "--images" in sys.argv else 10
    model = onnx.load(model_path)
    c = consts(model)
    producers = {o: n for n in model.graph.node for o in n.output}
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    depths = {}

    def depth(n):
        # Data-flow order: longest distance from the graph input.
        key = id(n)
        if key not in depths:
            depths[key] = max([1 + depth(producers[i]) for i in n.input if i in producers], default=0)
        return depths[key]

    convs = sorted((n for n in model.graph.node if n.op_type == "Conv"), key=depth)
    pools = sorted((n for n in model.graph.node if n.op_type == "MaxPool"), key=depth)
    denses = sorted((n for n in model.graph.node if n.op_type in ("MatMul", "Gemm")), key=depth)
    if len(convs) != 2 or len(pools) != 2 or len(denses) != 2:
        fail(f"{model_path}: expected 2 Conv, 2 MaxPool and 2 dense layers, found "
             f"{len(convs)}, {len(pools)} and {len(denses)}")

    # Convolutions and pooling, following the feature map's side through the network.
    side = SIDE
    convs_out, pools_out = [], []
    for conv, pool in zip(convs, pools):
        w = conv.input[1]
        if w not in c:
            fail(f"Conv '{conv.name}': weights '{w}' are not an initializer")
        oc, ic, kh, kw = c[w].shape
        k = square(conv, "kernel", [kh, kw], "kernel")
        if square(conv, "strides", list(attr(conv, "strides", [1, 1])), "strides") != 1:
            fail(f"Conv '{conv.name}': stride must be 1")
        if square(conv, "dilations", list(attr(conv, "dilations", [1, 1])), "dilations") != 1:
            fail(f"Conv '{conv.name}': dilation must be 1")
        if attr(conv, "group", 1) != 1:
            fail(f"Conv '{conv.name}': group must be 1")
        if not any(m.op_type == "Relu" for m in consumers.get(conv.output[0], [])):
            fail(f"Conv '{conv.name}' is not followed by Relu")
        pad = pads_of(conv, side, k, 1)
        side = side + 2 * pad - k + 1
        b = conv.input[2] if len(conv.input) > 2 and conv.input[2] else None
        convs_out.append(dict(w=w, b=b, in_c=int(ic), out_c=int(oc), k=k, pad=pad))
        pk = square(pool, "kernel_shape", list(attr(pool, "kernel_shape", [])), "kernel_shape")
        ps = square(pool, "strides", list(attr(pool, "strides", [1, 1])), "strides")
        if pads_of(pool, side, pk, ps) != 0 or attr(pool, "ceil_mode", 0):
            fail(f"MaxPool '{pool.name}': padding or ceil_mode is not supported here")
        if square(pool, "dilations", list(attr(pool, "dilations", [1, 1])), "dilations") != 1:
            fail(f"MaxPool '{pool.name}': dilation must be 1")
        side = (side - pk) // ps + 1
        pools_out.append(dict(k=pk, s=ps))
    if convs_out[0]["in_c"] != 1 or convs_out[1]["in_c"] != convs_out[0]["out_c"]:
        fail("the convolutions' channels do not chain (1 -> C1 -> C2)")

    dense_out = []
    for n in denses:
        if n.input[1] not in c:
            fail(f"{n.op_type} '{n.name}': weights '{n.input[1]}' are not an initializer")
        if n.op_type == "Gemm" and (attr(n, "transA", 0) or attr(n, "alpha", 1.0) != 1.0
                                    or attr(n, "beta", 1.0) != 1.0):
            fail(f"Gemm '{n.name}': transA, alpha and beta must be 0, 1 and 1")
        trans_b = n.op_type == "Gemm" and bool(attr(n, "transB", 0))
        b = n.input[2] if n.op_type == "Gemm" and len(n.input) > 2 and n.input[2] else None
        if b is None and n.op_type == "MatMul":
            for m in consumers.get(n.output[0], []):
                if m.op_type == "Add":
                    b = [i for i in m.input if i in c][0]
        dense_out.append(dict(w=n.input[1], b=b, trans_b=trans_b))

    # Flatten order: a Transpose between the last Conv and the first dense layer means HWC.
    hwc = False
    x = denses[0].input[0]
    while x in producers:
        p = producers[x]
        if p.op_type == "Transpose":
            hwc = True
        if p.op_type in ("Conv", "MaxPool"):
            break
        x = p.input[0]

    os.makedirs(out, exist_ok=True)
    lines = [
        "/* Generated by tools/examples/gen_headers.py from " + os.path.basename(model_path)
        + ": do not edit (format: examples/README.md). */",
        "#ifndef MNIST_WEIGHTS_H",
        "#define MNIST_WEIGHTS_H",
        "",
        f"#define MNIST_FLATTEN_HWC {int(hwc)}",
    ]
    for layer, name in zip(convs_out + dense_out, ["CONV1", "CONV2", "DENSE1", "DENSE2"]):
        lines.append(f'#define MNIST_{name}_W "{layer["w"]}"')
        lines.append(f'#define MNIST_{name}_B "{layer["b"] or ""}"')
        if "trans_b" in layer:
            lines.append(f"#define MNIST_{name}_TRANS_B {int(layer['trans_b'])}")
    lines.append("")

    def arrays(name, wa, ba):
        flat = ", ".join(f"{v:.9g}f" for v in wa.reshape(-1))
        lines.append(f"static const float mnist_{name.lower()}_w[{wa.size}] = {{{flat}}};")
        flat = ", ".join(f"{v:.9g}f" for v in ba)
        lines.append(f"static const float mnist_{name.lower()}_b[{ba.size}] = {{{flat}}};")
        lines.append("")

    for i, (conv, pool) in enumerate(zip(convs_out, pools_out)):
        name = f"CONV{i + 1}"
        wa = c[conv["w"]].astype(np.float32)
        ba = (c[conv["b"]].astype(np.float32).reshape(-1) if conv["b"]
              else np.zeros(conv["out_c"], np.float32))
        lines.append(f"#define MNIST_{name}_OUT_C {conv['out_c']}")
        lines.append(f"#define MNIST_{name}_IN_C {conv['in_c']}")
        lines.append(f"#define MNIST_{name}_KERNEL {conv['k']}")
        lines.append(f"#define MNIST_{name}_PAD {conv['pad']}")
        lines.append(f"#define MNIST_POOL{i + 1}_KERNEL {pool['k']}")
        lines.append(f"#define MNIST_POOL{i + 1}_STRIDE {pool['s']}")
        arrays(name, wa, ba)

    channels = convs_out[1]["out_c"]
    for i, dense in enumerate(dense_out):
        name = f"DENSE{i + 1}"
        wa = c[dense["w"]].astype(np.float32)
        if wa.ndim != 2:
            fail(f"{name}: weights '{dense['w']}' are not a matrix")
        if dense["trans_b"]:
            wa = wa.T
        ba = (c[dense["b"]].astype(np.float32).reshape(-1) if dense["b"]
              else np.zeros(wa.shape[1], np.float32))
        if i == 0:
            if wa.shape[0] != channels * side * side:
                fail(f"{name} takes {wa.shape[0]} values, the feature map has "
                     f"{channels}x{side}x{side}")
            if hwc:
                # rows are in HWC order of the [C, side, side] map: reorder them to CHW.
                idx = np.arange(wa.shape[0]).reshape(side, side, channels).transpose(2, 0, 1).reshape(-1)
                wa = wa[idx]
        lines.append(f"#define MNIST_{name}_IN {wa.shape[0]}")
        lines.append(f"#define MNIST_{name}_OUT {wa.shape[1]}")
        arrays(name, wa, ba)
    if wa.shape[1] != 10:
        fail(f"the last dense layer gives {wa.shape[1]} values, not 10")
    lines.append("#endif")
    with open(os.path.join(out, "mnist_weights.h"), "w") as f:
        f.write("\n".join(lines) + "\n")

    shared = os.environ.get("RTONNX_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
    d = os.path.join(shared, "data", "mnist")
    with gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(d, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    picks = [int(np.argmax(labels == k)) for k in range(10)][:n_images]
    i = 0
    while len(picks) < n_images:
        if i not in picks:
            picks.append(i)
        i += 1
    lines = [
        "/* Generated by tools/examples/gen_headers.py: MNIST test digits (t10k indices "
        + ", ".join(map(str, picks)) + "). */",
        "#ifndef MNIST_IMAGES_H",
        "#define MNIST_IMAGES_H",
        "#include <stdint.h>",
        f"#define MNIST_NUM_IMAGES {len(picks)}",
        "/* Declared for every example; defined once, in examples/mnist_images.c, which defines",
        " * MNIST_IMAGES_DEFINE before including this header (one copy in the firmware). */",
        f"extern const uint8_t mnist_labels[{len(picks)}];",
        f"extern const uint16_t mnist_indices[{len(picks)}];",
        f"extern const uint8_t mnist_images[{len(picks)}][784];",
        "#ifdef MNIST_IMAGES_DEFINE",
        f"const uint8_t mnist_labels[{len(picks)}] = {{{', '.join(str(int(labels[p])) for p in picks)}}};",
        f"const uint16_t mnist_indices[{len(picks)}] = {{{', '.join(str(p) for p in picks)}}};",
        f"const uint8_t mnist_images[{len(picks)}][784] = {{",
    ]
    for p in picks:
        lines.append("    {" + ",".join(str(int(v)) for v in images[p]) + "},")
    lines += ["};", "#endif", "#endif"]
    with open(os.path.join(out, "mnist_images.h"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}/mnist_weights.h (flatten {'HWC' if hwc else 'CHW'}) and {out}/mnist_images.h ({len(picks)} digits)")


if __name__ == "__main__":
    main()
