#!/usr/bin/env python3
"""Host predictions for MNIST test images, the reference of the firmware test.

usage: host_predictions.py MODEL.onnx OUT.json INDEX...

Writes {"source": ..., "predictions": {"INDEX": DIGIT, ...}} from the first available of:
  1. the host build of rtonnx (binary given by $RTONNX_CLI): `rtonnx run MODEL --mnist DIR
     --index N`, whose last digit after "The number is" / "prediction" is taken;
  2. tests/reference/*.json files for this model with per-image outputs (argmax);
  3. onnxruntime, when the Python running this script has it.
With onnxruntime it also writes "onnxruntime_outputs": {"INDEX": [output values]}.
"""
import glob
import gzip
import json
import os
import re
import struct
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
SHARED = os.environ.get('RTONNX_SHARED', os.path.join(ROOT, '..', 'shared'))
MNIST = os.path.join(SHARED, 'data', 'mnist')


def argmax(values):
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


def from_cli(model, indices):
    cli = os.environ.get('RTONNX_CLI')
    if not cli or not os.path.isfile(cli):
        return None
    preds = {}
    for i in indices:
        out = subprocess.run([cli, 'run', model, '--mnist', MNIST, '--index', str(i)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit('host_predictions: %s failed on image %d:\n%s' % (cli, i, out.stderr))
        m = re.findall(r'(?:The number is|[Pp]redict(?:ion|ed)[^0-9]*)\s*(\d)', out.stdout)
        if not m:
            sys.exit('host_predictions: no prediction in the output of %s:\n%s' % (cli, out.stdout))
        preds[i] = int(m[-1])
    return preds


def from_reference_files(model, indices):
    stem = os.path.splitext(os.path.basename(model))[0]
    for path in sorted(glob.glob(os.path.join(ROOT, 'tests', 'reference', '*.json'))):
        if stem not in os.path.basename(path):
            continue
        with open(path) as f:
            data = json.load(f)
        outputs = find_outputs(data)
        if outputs is None:
            continue
        preds = {}
        for i in indices:
            if i < len(outputs):
                preds[i] = argmax(outputs[i])
        if len(preds) == len(indices):
            return preds
    return None


def find_outputs(data):
    """A list of per-image output vectors inside a reference JSON, wherever it is."""
    if isinstance(data, list) and data and all(isinstance(v, list) for v in data):
        if all(isinstance(x, (int, float)) for x in data[0]):
            return data
        if data[0] and isinstance(data[0][0], list):
            return [v[0] for v in data]
    if isinstance(data, dict):
        for key in ('outputs', 'output', 'probabilities', 'probs'):
            if key in data:
                found = find_outputs(data[key])
                if found is not None:
                    return found
    return None


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


def from_onnxruntime(model, indices):
    outputs = onnxruntime_outputs(model, indices)
    if outputs is None:
        return None
    return {i: argmax(v) for i, v in outputs.items()}


def onnxruntime_outputs(model, indices):
    """{index: output vector} from onnxruntime, or None without it."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        return None
    (_, rows, cols), pixels = read_idx(os.path.join(MNIST, 't10k-images-idx3-ubyte.gz'))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=['CPUExecutionProvider'])
    inp = sess.get_inputs()[0]
    shape = [1 if not isinstance(d, int) or d <= 0 else d for d in inp.shape]
    outputs = {}
    for i in indices:
        img = np.frombuffer(pixels[i * rows * cols:(i + 1) * rows * cols], np.uint8)
        x = (img.astype(np.float32) / 255.0).reshape(shape)
        outputs[i] = [float(v) for v in sess.run(None, {inp.name: x})[0].reshape(-1)]
    return outputs


def main():
    model, out = sys.argv[1], sys.argv[2]
    indices = [int(a) for a in sys.argv[3:]]
    for name, fn in (('rtonnx host build', from_cli), ('tests/reference', from_reference_files),
                     ('onnxruntime', from_onnxruntime)):
        preds = fn(model, indices)
        if preds is not None:
            doc = {'source': name, 'predictions': {str(k): v for k, v in preds.items()}}
            # The outputs themselves when onnxruntime is here: the firmware's probabilities
            # are checked against them (max abs difference).
            outputs = onnxruntime_outputs(model, indices)
            if outputs is not None:
                doc['onnxruntime_outputs'] = {str(k): v for k, v in outputs.items()}
            with open(out, 'w') as f:
                json.dump(doc, f, indent=1)
            print('host_predictions: %s reference from %s' % (os.path.basename(model), name))
            return 0
    sys.exit('host_predictions: no host reference available (set RTONNX_CLI to the host rtonnx '
             'binary, add tests/reference/*.json, or install onnxruntime)')


if __name__ == '__main__':
    sys.exit(main())
