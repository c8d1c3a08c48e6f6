#!/usr/bin/env python3
"""Check the msh example runs of tools/examples.sh against onnxruntime.

  check_runs.py RUNS.tsv IMAGES_HEADER

RUNS.tsv has one run per line, tab-separated: kind, exit status, model, image index, log
file, command line, expected text. Kinds:
  ok     the run must exit 0 (no thread deleted by a panic, no heap block left), print the
         ten probabilities within 6e-5 of onnxruntime's for that model and image (they are
         printed with four decimals), "The number is N (label L)" with N onnxruntime's
         prediction (either of two classes tied within 1e-6) and L the header's label;
  error  the run must exit 0 or 1 and print a line starting with "error: " that contains the
         expected text (if any), and no panic;
  stat   (onnx_stat) the run must exit 0 and print the per-node profile: a row per node
         whose times add up to the "total:" line, and the expected text (if any).
Prints a summary; exits 1 on any failure.
"""
import re
import sys

import numpy as np
import onnxruntime as ort


def read_images(header):
    text = open(header).read()
    labels = [int(v) for v in re.search(r"mnist_labels\[\d+\] = \{([^}]*)\}", text).group(1).split(",")]
    body = text[re.search(r"mnist_images\[\d+\]\[784\] = \{", text).end():]
    rows = re.findall(r"\{([0-9,\s]+)\}", body)
    images = np.array([[int(v) for v in r.split(",")] for r in rows], dtype=np.float32)
    if images.shape != (len(labels), 784):
        sys.exit(f"{header}: expected {len(labels)} images of 784 pixels, got {images.shape}")
    return images / np.float32(255.0), labels


class Reference:
    def __init__(self, images):
        self.images = images
        self.cache = {}

    def outputs(self, model):
        if model not in self.cache:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
            inp = sess.get_inputs()[0]
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
            outs = [sess.run(None, {inp.name: img.reshape(shape)})[0].reshape(-1) for img in self.images]
            self.cache[model] = np.array(outs, dtype=np.float64)
        return self.cache[model]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    images, labels = read_images(sys.argv[2])
    ref = Reference(images)
    failures = []
    ok_runs = error_runs = stat_runs = label_hits = 0
    max_diff = 0.0
    for line in open(sys.argv[1]):
        kind, rc, model, index, log, cmd, expect = (line.rstrip("\n").split("\t") + [""] * 7)[:7]
        rc, index = int(rc), int(index)
        text = open(log, errors="replace").read()
        if "panic" in text:
            failures.append(f"{cmd}: the library panicked")
            continue
        if kind == "error":
            error_runs += 1
            errors = [l for l in text.splitlines() if l.startswith("error: ")]
            if rc not in (0, 1):
                failures.append(f"{cmd}: exit status {rc}")
            elif not errors:
                failures.append(f"{cmd}: no 'error: ' line")
            elif expect and not any(expect in l for l in errors):
                failures.append(f"{cmd}: error line lacks '{expect}': {errors[0]}")
            continue
        if kind == "stat":
            stat_runs += 1
            rows = re.findall(r"^\s*\d+ \S+\s+\S*\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\.\d%$", text, re.M)
            total = re.search(r"^total: (\d+) (\w+), (\d+) MACs", text, re.M)
            if rc != 0:
                failures.append(f"{cmd}: exit status {rc}")
            elif not rows or not total:
                failures.append(f"{cmd}: no profile table")
            elif sum(int(r[2]) for r in rows) != int(total.group(1)):
                failures.append(f"{cmd}: node times do not add up to the total")
            elif sum(int(r[0]) for r in rows) != int(total.group(3)):
                failures.append(f"{cmd}: node MACs do not add up to the total")
            elif expect and expect not in text:
                failures.append(f"{cmd}: output lacks '{expect}'")
            continue
        ok_runs += 1
        if rc != 0:
            failures.append(f"{cmd}: exit status {rc}")
            continue
        probs = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^(\d): (\d+\.\d{4})$", text, re.M)}
        said = re.search(r"^The number is (\d) \(label (\d)\)$", text, re.M)
        if sorted(probs) != list(range(10)) or not said:
            failures.append(f"{cmd}: no ten probabilities and 'The number is' line")
            continue
        want = ref.outputs(model)[index]
        got = np.array([probs[i] for i in range(10)])
        diff = float(np.abs(got - want).max())
        max_diff = max(max_diff, diff)
        if diff > 6e-5:
            failures.append(f"{cmd}: probabilities differ from onnxruntime by {diff:.2e}")
        predicted, label = int(said.group(1)), int(said.group(2))
        best = want.max()
        if want[predicted] < best - 1e-6:
            failures.append(f"{cmd}: predicted {predicted}, onnxruntime {int(want.argmax())}")
        if label != labels[index]:
            failures.append(f"{cmd}: printed label {label}, the header says {labels[index]}")
        label_hits += predicted == labels[index]
    for f in failures:
        print("FAIL " + f)
    print(f"examples: {ok_runs} runs agree with onnxruntime (max |difference| {max_diff:.1e}, "
          f"{label_hits} of them predict the label), {error_runs} error paths reported, "
          f"{stat_runs} profiles checked, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
