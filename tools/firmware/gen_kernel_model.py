#!/usr/bin/env python3
"""Writes a small random-weight CNN that exercises every path of the Cortex-M4F kernels.

usage: gen_kernel_model.py OUT.onnx

The firmware test (tools/firmware_test.sh) runs it on the device and compares the outputs
with onnxruntime's, like the MNIST models. MNIST-shaped (1x1x28x28 in, 10 out) so the same
firmware runs it; the weights are random (fixed seed), so only the numbers matter, not the
digits. Paths covered, in order:
  * plain 3x3 conv, 1 -> 2 channels, pad 1, Relu, 28x28: the one-input-channel store routine
    (sum + bias straight into the output, Relu over the rows after);
  * grouped 3x3 conv 2 -> 6 (2 groups of one input channel, three outputs each) + MaxPool 2x2
    without activation: the one-input-channel Max routine for a channel pair, the portable
    kernel for the third channel of each group;
  * plain 3x3 conv 6 -> 5, no padding, LeakyRelu, 14x14 -> 12x12: the store routine for the
    channel pair, the portable kernel for the fifth channel;
  * 3x3 conv 5 -> 4, pad 1, Relu, AveragePool 2x2: the sums routine feeding a pooling sink;
  * grouped 3x3 conv 4 -> 6 (2 groups), pads 1,1,2,2: 6x6 -> 7x7: the store routine for the
    blocks inside the output, the sums routine (chunks of one block) for the blocks overhanging
    the odd output;
  * pointwise 1x1 conv 6 -> 6, Relu, 7x7: the column-block routine (blocks of 8 pixels and
    the single-pixel tail of 49);
  * Flatten, MatMul + Add 294 -> 10 (the dense layer: column blocks of 8 and the single-column tail), Softmax.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20261125)
    inits = []
    nodes = []

    def const(name, arr):
        inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv(x, y, cin, cout, pads, group=1):
        fan_in = cin // group * 9
        w = rng.normal(0.0, (2.0 / fan_in) ** 0.5, (cout, cin // group, 3, 3))
        b = rng.normal(0.0, 0.1, cout)
        nodes.append(helper.make_node(
            'Conv', [x, const(y + '_w', w), const(y + '_b', b)], [y],
            kernel_shape=[3, 3], pads=pads, group=group))
        return y

    x = conv('input', 'c1', 1, 2, [1, 1, 1, 1])
    nodes.append(helper.make_node('Relu', [x], ['r1']))
    x = conv('r1', 'c2', 2, 6, [1, 1, 1, 1], group=2)
    nodes.append(helper.make_node('MaxPool', [x], ['p2'], kernel_shape=[2, 2], strides=[2, 2]))
    x = conv('p2', 'c3', 6, 5, [0, 0, 0, 0])
    nodes.append(helper.make_node('LeakyRelu', [x], ['r3'], alpha=0.1))
    x = conv('r3', 'c4', 5, 4, [1, 1, 1, 1])
    nodes.append(helper.make_node('Relu', [x], ['r4']))
    nodes.append(helper.make_node('AveragePool', ['r4'], ['p4'], kernel_shape=[2, 2],
                                  strides=[2, 2]))
    x = conv('p4', 'c5', 4, 6, [1, 1, 2, 2], group=2)
    nodes.append(helper.make_node('Relu', [x], ['r5']))
    w = rng.normal(0.0, (2.0 / 6) ** 0.5, (6, 6, 1, 1))
    b = rng.normal(0.0, 0.1, 6)
    nodes.append(helper.make_node(
        'Conv', ['r5', const('c6_w', w), const('c6_b', b)], ['c6'], kernel_shape=[1, 1]))
    nodes.append(helper.make_node('Relu', ['c6'], ['r6']))
    nodes.append(helper.make_node('Flatten', ['r6'], ['f']))
    w = rng.normal(0.0, (1.0 / 294) ** 0.5, (294, 10))
    b = rng.normal(0.0, 0.1, 10)
    nodes.append(helper.make_node('MatMul', ['f', const('fc_w', w)], ['mm']))
    nodes.append(helper.make_node('Add', ['mm', const('fc_b', b)], ['logits']))
    nodes.append(helper.make_node('Softmax', ['logits'], ['output'], axis=1))
    for i, n in enumerate(nodes):
        n.name = '%s_%d' % (n.op_type.lower(), i)
    graph = helper.make_graph(
        nodes, 'kernel_coverage',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info('output', TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)],
                              producer_name='rtonnx tools/firmware/gen_kernel_model.py')
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == '__main__':
    main()
