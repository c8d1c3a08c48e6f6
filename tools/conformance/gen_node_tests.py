#!/usr/bin/env python3
"""Write ONNX's backend node test cases (from the `onnx` pip package) to a directory.

Layout, one directory per case: NAME/model.onnx, NAME/test_data_set_0/input_K.pb and
output_K.pb (serialized TensorProto). Cases whose data are not plain tensors (sequences,
optionals, maps) are skipped and counted.

Cases whose non-float inputs (int64 shapes, axes, indices, pads...) decide output shapes are
also written a second time as NAME__const_inputs, with those inputs turned into initializers:
rtonnx requires shape parameters to be known at load time, as exporters emit them.

usage: gen_node_tests.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case.node import collect_testcases


def write_case(out, name, model, inputs, outputs):
    d = os.path.join(out, name)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    for kind, arrays, names in (("input", inputs[0], inputs[1]), ("output", outputs[0], outputs[1])):
        for i, (a, n) in enumerate(zip(arrays, names)):
            t = numpy_helper.from_array(a, n)
            with open(os.path.join(ds, f"{kind}_{i}.pb"), "wb") as f:
                f.write(t.SerializeToString())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written = variants = skipped = 0
    for case in collect_testcases(None):
        if case.kind != "node" or case.model is None or not case.data_sets:
            skipped += 1
            continue
        ins, outs = case.data_sets[0]
        try:
            ins = [np.asarray(a) for a in ins]
            outs = [np.asarray(a) for a in outs]
        except Exception:
            skipped += 1
            continue
        if any(a.dtype == object for a in ins + outs):
            skipped += 1
            continue
        g = case.model.graph
        in_names = [i.name for i in g.input]
        out_names = [o.name for o in g.output]
        if len(in_names) != len(ins) or len(out_names) != len(outs):
            skipped += 1
            continue
        write_case(out, case.name, case.model, (ins, in_names), (outs, out_names))
        written += 1
        ints = [i for i, a in enumerate(ins) if a.dtype.kind in "iub"]
        if ints:
            m = onnx.ModelProto()
            m.CopyFrom(case.model)
            keep = [vi for i, vi in enumerate(m.graph.input) if i not in ints]
            for i in ints:
                m.graph.initializer.append(numpy_helper.from_array(ins[i], in_names[i]))
            del m.graph.input[:]
            m.graph.input.extend(keep)
            kept = [i for i in range(len(ins)) if i not in ints]
            write_case(
                out,
                case.name + "__const_inputs",
                m,
                ([ins[i] for i in kept], [in_names[i] for i in kept]),
                (outs, out_names),
            )
            variants += 1
    print(f"wrote {written} cases and {variants} const-input variants to {out}; skipped {skipped}")


if __name__ == "__main__":
    main()
