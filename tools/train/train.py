#!/usr/bin/env python3
"""Train the example models and export them to ONNX.

  train.py --model sm|cnn [--epochs N] [--max-batches N] [--data-dir DIR] [--out FILE]

Trains on the MNIST training digits in --data-dir (train10k-* here, or the standard
train-images-idx3-ubyte.gz), holding out the last 10 % of them for validation (the test set
is never used for training or selection), with random rotations, shifts and zooms. Seeded
and deterministic on CPU. Prints per-epoch loss and validation accuracy, then parameters,
MACs and the t10k accuracy measured by onnxruntime and by rtonnx (target/release/rtonnx when
it is built).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mnist_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261125


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["sm", "cnn"], required=True)
    ap.add_argument("--epochs", type=int, help="override the recipe's epochs")
    ap.add_argument("--max-batches", type=int, help="stop each epoch after N batches (smoke runs)")
    ap.add_argument("--train-limit", type=int, help="use only the first N training digits")
    ap.add_argument("--data-dir", type=Path, default=mnist_data.default_data_dir())
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    import keras  # after the environment is set

    import models
    import onnx_export

    keras.utils.set_random_seed(SEED)
    build, recipe = models.MODELS[args.model]
    epochs = args.epochs or recipe.epochs
    out = args.out or ROOT / "examples" / "models" / f"mnist-{args.model}.onnx"

    prefix = mnist_data.find_train_prefix(args.data_dir)
    x_all, y_all = mnist_data.load_split(args.data_dir, prefix)
    if args.train_limit:
        x_all, y_all = x_all[: args.train_limit], y_all[: args.train_limit]
    n_val = max(1, len(x_all) // 10)
    x_train, y_train = x_all[:-n_val], y_all[:-n_val]
    x_val, y_val = x_all[-n_val:], y_all[-n_val:]
    x_val_f = (x_val.astype(np.float32) / 255.0)[..., None]
    print(f"data: {len(x_train)} training and {len(x_val)} validation digits from {args.data_dir}/{prefix}-*")

    model = build()
    steps = len(x_train) // recipe.batch_size
    if args.max_batches:
        steps = min(steps, args.max_batches)
    total = max(1, steps * epochs)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, total - steps * recipe.warmup_epochs if total > steps * recipe.warmup_epochs else total,
        warmup_target=recipe.learning_rate, warmup_steps=min(steps * recipe.warmup_epochs, total - 1),
        alpha=0.01,
    )
    if recipe.weight_decay:
        opt = keras.optimizers.AdamW(schedule, weight_decay=recipe.weight_decay)
    else:
        opt = keras.optimizers.Adam(schedule)
    model.compile(
        optimizer=opt,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(SEED)
    y_val_1h = keras.utils.to_categorical(y_val, 10)
    best = (-1.0, None)
    t0 = time.time()
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        xe = mnist_data.augment(
            x_train[order].astype(np.float32) / 255.0, rng, recipe.rotate_deg, recipe.shift_px, recipe.scale
        )[..., None]
        ye = keras.utils.to_categorical(y_train[order], 10)
        n = steps * recipe.batch_size
        print(f"epoch {epoch + 1}/{epochs}")
        hist = model.fit(xe[:n], ye[:n], batch_size=recipe.batch_size, epochs=1, shuffle=False,  # progress bar on a terminal
                         validation_data=(x_val_f, y_val_1h), verbose=1 if sys.stdout.isatty() else 2)
        val = hist.history["val_accuracy"][-1]
        if val >= best[0]:
            best = (val, [w.copy() for w in model.get_weights()])
    model.set_weights(best[1])
    train_s = time.time() - t0
    print(f"training: {train_s:.0f} s; best validation accuracy {best[0]:.4f} (weights of that epoch kept)")

    onnx_model = onnx_export.keras_to_onnx(model, doc=f"rtonnx example model mnist-{args.model}, tools/train/train.py")
    out.parent.mkdir(parents=True, exist_ok=True)
    import onnx

    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, out)
    stats = onnx_export.model_stats(onnx_model)
    print(f"wrote {out}: {stats}")

    # t10k accuracy, onnxruntime and rtonnx.
    import onnxruntime as ort

    x_test, y_test = mnist_data.load_split(args.data_dir, "t10k")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(out), opts, providers=["CPUExecutionProvider"])
    probs = sess.run(None, {sess.get_inputs()[0].name: mnist_data.to_input(x_test)})[0]
    ort_correct = int((probs.argmax(1) == y_test).sum())
    print(f"t10k accuracy (onnxruntime {ort.__version__}): {ort_correct / len(y_test):.4f} ({ort_correct}/{len(y_test)})")
    cli = ROOT / "target" / "release" / "rtonnx"
    if cli.exists():
        r = subprocess.run([str(cli), "eval", str(out), "--mnist", str(args.data_dir)], capture_output=True, text=True)
        print(f"t10k {r.stdout.strip().splitlines()[-1] if r.stdout else r.stderr.strip()} (rtonnx)")
    else:
        print("t10k accuracy (rtonnx): skipped, target/release/rtonnx is not built")
    return 0


if __name__ == "__main__":
    sys.exit(main())
