"""Write a trained Keras Sequential CNN as a plain ONNX graph (NCHW, opset 13).

Why not Keras' own `model.export(format="onnx")`: it needs TensorFlow and tf2onnx (1.7 GB
installed) and its graphs carry a dynamic-batch Flatten made of Shape/Slice/Cast/Concat and
an `ai.onnx.ml` opset import. The layers our models use map one-to-one onto standard ONNX
operators, so this module writes them directly with the `onnx` package:

  Conv2D             -> Conv (+ Relu when activation="relu")
  BatchNormalization -> BatchNormalization (inference form; rtonnx folds it into the Conv)
  ReLU / Activation  -> Relu / Softmax
  MaxPooling2D       -> MaxPool        AveragePooling2D -> AveragePool
  GlobalAveragePool  -> GlobalAveragePool + Flatten
  Flatten            -> Flatten (the next Dense's rows are permuted from Keras' HWC order
                        to the CHW order of an NCHW Flatten, so no Transpose is needed)
  Dense              -> Gemm (+ Relu / Softmax)
  Dropout, Random*   -> nothing (identity at inference)

The input is float32 [N,1,28,28] (NCHW; with one channel its memory layout is the same as
NHWC [N,28,28,1]), pixel values scaled to [0,1]. The output is float32 [N,10], softmax
probabilities. Initializers are named `<layer>.weight`, `<layer>.bias`, and for batch
normalization `<layer>.scale`, `<layer>.bias`, `<layer>.mean`, `<layer>.var`.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7  # the IR that came with opset 13 (ONNX 1.8): readable by old and new tools
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
SKIPPED_LAYERS = (
    "Dropout",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "InputLayer",
)


class ExportError(ValueError):
    """A layer or setting this exporter does not translate."""


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow/Keras 'same' padding for one axis: (begin, end)."""
    eff = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


class _Builder:
    def __init__(self, input_shape: tuple[int, int, int]):
        h, w, c = input_shape
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.current = INPUT_NAME
        self.shape: tuple[int, ...] = (c, h, w)  # per-sample shape, NCHW
        self.flatten_from: tuple[int, int, int] | None = None  # (C,H,W) before a Flatten
        self.input_shape = (c, h, w)

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        out = name
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        self.current = out
        return out

    def activation(self, act: str, layer_name: str) -> None:
        if act == "linear":
            return
        if act == "relu":
            self.node("Relu", [self.current], f"{layer_name}.relu")
        elif act == "softmax":
            if len(self.shape) != 1:
                raise ExportError(f"{layer_name}: softmax only after a Dense layer")
            self.node("Softmax", [self.current], f"{layer_name}.softmax", axis=1)
        else:
            raise ExportError(f"{layer_name}: activation {act!r} is not exported")


def _layer_activation(layer) -> str:
    act = getattr(layer, "activation", None)
    if act is None:
        return "linear"
    return getattr(act, "__name__", str(act))


def keras_to_onnx(model, doc: str = "") -> onnx.ModelProto:
    """Translate a built Keras Sequential model (channels_last) into an ONNX ModelProto."""
    in_shape = tuple(model.inputs[0].shape[1:])
    if len(in_shape) != 3 or any(d is None for d in in_shape):
        raise ExportError(f"input shape {in_shape}: expected static (H, W, C)")
    b = _Builder(in_shape)  # type: ignore[arg-type]
    for layer in model.layers:
        kind = type(layer).__name__
        name = layer.name
        if kind in SKIPPED_LAYERS:
            continue
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ExportError(f"{name}: only channels_last layers are exported")
        if kind == "Conv2D":
            if len(b.shape) != 3:
                raise ExportError(f"{name}: Conv2D after Flatten")
            c, h, w = b.shape
            weights = layer.get_weights()
            kernel = weights[0]  # (kh, kw, cin, cout)
            kh, kw, cin, cout = kernel.shape
            if cin != c or layer.groups != 1:
                raise ExportError(f"{name}: grouped or mismatched convolution")
            sh, sw = layer.strides
            dh, dw = layer.dilation_rate
            if layer.padding == "same":
                pt, pb = _same_pads(h, kh, sh, dh)
                pl, pr = _same_pads(w, kw, sw, dw)
            elif layer.padding == "valid":
                pt = pb = pl = pr = 0
            else:
                raise ExportError(f"{name}: padding {layer.padding!r}")
            inputs = [b.current, b.init(f"{name}.weight", kernel.transpose(3, 2, 0, 1))]
            if layer.use_bias:
                inputs.append(b.init(f"{name}.bias", weights[1]))
            b.node(
                "Conv",
                inputs,
                name,
                kernel_shape=[kh, kw],
                strides=[sh, sw],
                dilations=[dh, dw],
                pads=[pt, pl, pb, pr],
                group=1,
            )
            oh = (h + pt + pb - ((kh - 1) * dh + 1)) // sh + 1
            ow = (w + pl + pr - ((kw - 1) * dw + 1)) // sw + 1
            b.shape = (cout, oh, ow)
            b.activation(_layer_activation(layer), name)
        elif kind == "BatchNormalization":
            if layer.axis not in (-1, [-1], len(b.shape)) and list(np.atleast_1d(layer.axis)) != [3]:
                raise ExportError(f"{name}: batch normalization over axis {layer.axis}")
            ch = b.shape[0]
            gamma = layer.gamma.numpy() if layer.scale else np.ones(ch, np.float32)
            beta = layer.beta.numpy() if layer.center else np.zeros(ch, np.float32)
            mean = layer.moving_mean.numpy()
            var = layer.moving_variance.numpy()
            b.node(
                "BatchNormalization",
                [
                    b.current,
                    b.init(f"{name}.scale", np.asarray(gamma)),
                    b.init(f"{name}.bias", np.asarray(beta)),
                    b.init(f"{name}.mean", np.asarray(mean)),
                    b.init(f"{name}.var", np.asarray(var)),
                ],
                name,
                epsilon=float(layer.epsilon),
            )
        elif kind == "ReLU":
            if layer.max_value is not None or float(layer.negative_slope) != 0.0 or float(layer.threshold) != 0.0:
                raise ExportError(f"{name}: only plain ReLU is exported")
            b.node("Relu", [b.current], name)
        elif kind == "Activation":
            b.activation(_layer_activation(layer), name)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            c, h, w = b.shape
            ph, pw = layer.pool_size
            sh, sw = layer.strides
            if layer.padding != "valid":
                raise ExportError(f"{name}: only 'valid' pooling is exported")
            op = "MaxPool" if kind == "MaxPooling2D" else "AveragePool"
            b.node(op, [b.current], name, kernel_shape=[ph, pw], strides=[sh, sw], pads=[0, 0, 0, 0])
            b.shape = (c, (h - ph) // sh + 1, (w - pw) // sw + 1)
        elif kind == "GlobalAveragePooling2D":
            b.node("GlobalAveragePool", [b.current], name)
            b.node("Flatten", [b.current], f"{name}.flatten", axis=1)
            b.shape = (b.shape[0],)
        elif kind == "Flatten":
            if len(b.shape) == 3:
                b.flatten_from = b.shape  # type: ignore[assignment]
                b.node("Flatten", [b.current], name, axis=1)
                b.shape = (int(np.prod(b.shape)),)
        elif kind == "Dense":
            if len(b.shape) != 1:
                raise ExportError(f"{name}: Dense on a {len(b.shape)}-d tensor (add Flatten)")
            weights = layer.get_weights()
            kernel = weights[0]  # (in, out), rows in Keras' flatten order
            if b.flatten_from is not None:
                c, h, w = b.flatten_from
                # Keras row index = (y*W + x)*C + ch ; ONNX NCHW row index = (ch*H + y)*W + x
                kernel = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(c * h * w, -1)
                b.flatten_from = None
            inputs = [b.current, b.init(f"{name}.weight", kernel)]
            if layer.use_bias:
                inputs.append(b.init(f"{name}.bias", weights[1]))
            b.node("Gemm", inputs, name, alpha=1.0, beta=1.0, transA=0, transB=0)
            b.shape = (kernel.shape[1],)
            b.activation(_layer_activation(layer), name)
        else:
            raise ExportError(f"{name}: layer type {kind} is not exported")

    # Give the last tensor the public output name.
    last = b.nodes[-1]
    last.output[0] = OUTPUT_NAME
    c, h, w = b.input_shape
    graph = helper.make_graph(
        b.nodes,
        model.name or "mnist",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", c, h, w])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", *b.shape])],
        initializer=b.inits,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="rtonnx tools/train",
        producer_version="1",
        doc_string=doc,
    )
    onnx_model.ir_version = IR_VERSION
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def initializer_arrays(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """All initializers of a model as numpy arrays, by name."""
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def _static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Per-sample (batch 1) shapes of every tensor, from ONNX shape inference."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    dim = m.graph.input[0].type.tensor_type.shape.dim[0]
    dim.Clear()
    dim.dim_value = 1
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    shapes = {}
    for vi in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        shapes[vi.name] = tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
    for t in m.graph.initializer:
        shapes[t.name] = tuple(t.dims)
    return shapes


def model_stats(model: onnx.ModelProto) -> dict:
    """Parameters, MACs, weight bytes and an arena estimate for batch 1.

    - parameters: float elements in all initializers (batch-normalization statistics
      included); `parameters_folded` counts them after folding each BatchNormalization into
      the preceding Conv (what an inference engine keeps: a per-channel bias).
    - macs: multiply-accumulates of Conv and Gemm/MatMul (BatchNormalization folded away).
    - arena_estimate_bytes: the largest sum, over nodes, of its activation inputs and its
      output in float32 (a producer/consumer pair live at the same time), Relu and
      BatchNormalization counted as in place.
    """
    shapes = _static_shapes(model)
    inits = {t.name: t for t in model.graph.initializer}
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT)
    folded = params
    macs = 0
    conv_has_bias = {}
    producer = {}
    for node in model.graph.node:
        for o in node.output:
            producer[o] = node
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            wdims = inits[node.input[1]].dims
            macs += int(np.prod(out)) * int(np.prod(wdims[1:]))
            conv_has_bias[node.output[0]] = len(node.input) > 2
        elif node.op_type in ("Gemm", "MatMul"):
            k, n = inits[node.input[1]].dims
            macs += k * n
        elif node.op_type == "BatchNormalization":
            ch = inits[node.input[1]].dims[0]
            src = producer.get(node.input[0])
            if src is not None and src.op_type == "Conv":
                # scale, bias, mean, var disappear; a bias appears if the Conv had none
                folded -= 4 * ch
                if not conv_has_bias.get(node.input[0], True):
                    folded += ch
    arena = 0
    for node in model.graph.node:
        if node.op_type in ("Relu", "BatchNormalization", "Flatten", "Reshape", "Identity"):
            continue
        live = sum(int(np.prod(shapes[i])) for i in node.input if i and i not in inits)
        live += sum(int(np.prod(shapes[o])) for o in node.output)
        arena = max(arena, live * 4)
    return {
        "parameters": params,
        "parameters_folded": folded,
        "macs": macs,
        "weight_bytes": params * 4,
        "weight_bytes_folded": folded * 4,
        "arena_estimate_bytes": arena,
        "activation_shapes": {
            n.output[0]: list(shapes[n.output[0]]) for n in model.graph.node
        },
    }
