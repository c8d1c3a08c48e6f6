#!/usr/bin/env python3
"""Host benchmark: rtonnx beside onnxruntime (one thread) and tract-onnx, same models, same input.

Run from anywhere with the project's venv (numpy, onnx, onnxruntime):

    .venv/bin/python tools/bench/host_bench.py                 # all models, prints tables
    .venv/bin/python tools/bench/host_bench.py --write-readme  # ... and rewrites README.md's block

What it does, per model, in one run:

* rtonnx: `target/release/rtonnx bench MODEL --input X.f32 --json` (a subprocess per round; the
  times are those of `Model::run` alone, read around each call).
* onnxruntime (Python API): an InferenceSession with 1 intra-op thread, 1 inter-op thread,
  sequential execution, all graph optimisations, CPU provider; each `sess.run` is timed. The
  fixed cost of a call (Python, argument conversion, ORT's per-run set-up, the output copy) is
  measured on an Identity model with the same input (its output is the whole input, so it
  overstates that cost a little and the corrected figure favours onnxruntime). Also timed:
  `run_with_iobinding` with the input and output bound once as OrtValues.
* tract-onnx: `tools/bench/tract/` (its own crate and workspace), built here by this script
  into target/bench-tract; reported as "not built: <reason>" if that fails.

The engines are interleaved: every round runs each engine once (N timed runs after a warm-up),
in an order rotated from round to round, so load from other processes hits them alike. The
reported latency is the median over all rounds' runs; the spread of the round medians is
recorded too. The input is MNIST t10k image 0, pixel/255, in the model's layout (the same f32
bytes for every engine), and the outputs are compared.

Instructions per inference (exact, repeatable): `valgrind --tool=callgrind` on
`rtonnx bench --iters K --warmup 0 --whole-loop` for two K; (Ir(K2) - Ir(K1)) / (K2 - K1)
cancels start-up, loading and exit. The same for tract's bench binary when it is built.
"""

import argparse
import datetime
import gc
import gzip
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RTONNX_SHARED", ROOT.parent / "shared"))
RTONNX = ROOT / "target" / "release" / "rtonnx"
TRACT_DIR = ROOT / "tools" / "bench" / "tract"
TRACT_TARGET = ROOT / "target" / "bench-tract"
TRACT_BIN = TRACT_TARGET / "release" / "rtonnx-bench-tract"
JSON_OUT = ROOT / "tools" / "bench" / "host_bench.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# The original C package (wuhanstudio's onnx-backend) on this kind of host: fixed figures from
# the performance issue (x86-64, gcc -O2, median latency), and the issue's onnxruntime figures.
ORIGINAL_US = {"keras2onnx/mnist-sm": 66.6, "keras2onnx/mnist-lg": 152.7}
ISSUE_ORT_US = {"keras2onnx/mnist-sm": 24.6, "keras2onnx/mnist-lg": 27.1}

MODELS = [
    ("keras2onnx/mnist-sm", SHARED / "models/keras2onnx/mnist-sm.onnx", "mnist-sm (keras2onnx)"),
    ("keras2onnx/mnist-lg", SHARED / "models/keras2onnx/mnist-lg.onnx", "mnist-lg (keras2onnx)"),
    ("examples/mnist-sm", ROOT / "examples/models/mnist-sm.onnx", "mnist-sm (ours)"),
    ("examples/mnist-cnn", ROOT / "examples/models/mnist-cnn.onnx", "mnist-cnn (ours)"),
]
# The MLPerf Tiny reference models (float compute), each on its own input_0.npy, with the
# timed runs per round scaled to their cost (the MNIST models take --iters).
MLPERF = SHARED / "models/mlperf-tiny"
MLPERF_MODELS = [
    ("mlperf/ic_resnet8", "ResNet-8 (MLPerf Tiny IC)", 100),
    ("mlperf/ic_resnet8_large", "ResNet-8 large (MLPerf Tiny IC)", 20),
    ("mlperf/vww_mbv1_025", "MobileNetV1 0.25 (MLPerf Tiny VWW)", 60),
    ("mlperf/kws_dscnn_dynquant", "DS-CNN, int8 weights (MLPerf Tiny KWS)", 100),
    ("mlperf/ad_toycar", "autoencoder (MLPerf Tiny AD)", 300),
]
MODELS += [(k, MLPERF / k.split("/", 1)[1] / "model.onnx", label) for k, label, _ in MLPERF_MODELS]
# Timed runs per round and input file of the models that are not MNIST classifiers.
ITERS = {k: n for k, _, n in MLPERF_MODELS}
INPUTS = {k: MLPERF / k.split("/", 1)[1] / "input_0.npy" for k, _, _ in MLPERF_MODELS}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def rel(p):
    return os.path.relpath(p, ROOT)


# ---------------------------------------------------------------------------------------------
# Inputs


def mnist_image0(mnist_dir):
    """MNIST t10k image 0 as 784 floats, pixel/255 (float32)."""
    import numpy as np

    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        p = Path(mnist_dir) / name
        if p.exists():
            raw = gzip.open(p).read() if name.endswith(".gz") else p.read_bytes()
            break
    else:
        raise SystemExit(f"no t10k images in {mnist_dir}")
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 0x803 or n < 1:
        raise SystemExit(f"{mnist_dir}: not an idx3 image file")
    px = np.frombuffer(raw, dtype=np.uint8, count=rows * cols, offset=16)
    return px.astype(np.float32) / np.float32(255.0)


def concrete_shape(shape):
    """An onnxruntime input shape with symbolic or unknown dimensions set to 1."""
    return [d if isinstance(d, int) and d > 0 else 1 for d in shape]


# ---------------------------------------------------------------------------------------------
# Building


def run_cmd(cmd, timeout=None, env=None, cwd=ROOT):
    return subprocess.run(
        cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True, check=False
    )


def build_rtonnx(tries=5, wait=60):
    """`cargo build --release`; other engineers share the tree, so retry a broken build."""
    for attempt in range(1, tries + 1):
        r = run_cmd(["cargo", "build", "--release"], timeout=1800)
        if r.returncode == 0 and RTONNX.exists():
            return
        tail = "\n".join((r.stderr or "").strip().splitlines()[-15:])
        log(f"cargo build --release failed (attempt {attempt}/{tries}):\n{tail}")
        if attempt < tries:
            log(f"retrying in {wait} s")
            time.sleep(wait)
    raise SystemExit("cargo build --release does not succeed; not benchmarking a stale binary")


def build_tract(timeout):
    """Returns (path or None, reason, version)."""
    version = None
    lock = TRACT_DIR / "Cargo.lock"
    if lock.exists():
        m = re.search(r'name = "tract-onnx"\nversion = "([^"]+)"', lock.read_text())
        version = m.group(1) if m else None
    if shutil.which("cargo") is None:
        return None, "not built: no cargo", version
    env = dict(os.environ, CARGO_TARGET_DIR=str(TRACT_TARGET))
    log("building tools/bench/tract (tract-onnx) ...")
    try:
        r = run_cmd(
            ["cargo", "build", "--release", "--manifest-path", str(TRACT_DIR / "Cargo.toml")],
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return None, f"not built: cargo build took longer than {timeout} s", version
    if r.returncode != 0 or not TRACT_BIN.exists():
        err = [l for l in (r.stderr or "").splitlines() if l.startswith("error")]
        return None, "not built: " + (err[0] if err else f"cargo exit {r.returncode}"), version
    return TRACT_BIN, "built", version


# ---------------------------------------------------------------------------------------------
# Engines


class Rtonnx:
    name = "rtonnx"

    def __init__(self, model, xfile):
        self.model, self.xfile = model, xfile
        self.times, self.round_medians, self.output = [], [], None

    def round(self, iters, warmup):
        r = run_cmd(
            [str(RTONNX), "bench", str(self.model), "--input", str(self.xfile),
             "--iters", str(iters), "--warmup", str(warmup), "--json"],
            timeout=600,
        )
        if r.returncode != 0:
            raise RuntimeError(f"rtonnx bench failed: {r.stderr.strip()}")
        d = json.loads(r.stdout)
        self.times += d["times_us"]
        self.round_medians.append(statistics.median(d["times_us"]))
        self.output = d["output"]
        self.macs = d["macs"]


class Tract:
    name = "tract"

    def __init__(self, binary, model, xfile, shape):
        self.binary, self.model, self.xfile, self.shape = binary, model, xfile, shape
        self.times, self.round_medians, self.output, self.error = [], [], None, None

    def round(self, iters, warmup):
        if self.error:
            return
        try:
            r = run_cmd(
                [str(self.binary), str(self.model), str(self.xfile),
                 ",".join(map(str, self.shape)), str(iters), str(warmup)],
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            self.error = "not run: timed out"
            return
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["exit status %d" % r.returncode])[0]
            self.error = "not run: " + last[:200]
            return
        d = json.loads(r.stdout)
        self.times += d["times_us"]
        self.round_medians.append(statistics.median(d["times_us"]))
        self.output = d["output"]


def identity_model(input_name, shape):
    """An ONNX model Y = Identity(X) with X shaped like the benchmarked model's input."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, shape)
    graph = helper.make_graph([helper.make_node("Identity", [input_name], ["Y"])], "overhead", [x], [y])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m.SerializeToString()


def ort_session(model_bytes_or_path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_bytes_or_path, so, providers=["CPUExecutionProvider"])


def time_run(fn, args, iters):
    """Times `fn(*args)` iters times; returns microseconds. GC is off during the loop."""
    pc = time.perf_counter_ns
    ts = [0] * iters
    gc.disable()
    try:
        for i in range(iters):
            t0 = pc()
            fn(*args)
            ts[i] = pc() - t0
    finally:
        gc.enable()
    return [t / 1000.0 for t in ts]


class OrtRun:
    """One way of calling onnxruntime, timed per call."""

    def __init__(self, name, fn, args):
        self.name, self.fn, self.args = name, fn, args
        self.times, self.round_medians = [], []

    def round(self, iters, warmup):
        for _ in range(warmup):
            self.fn(*self.args)
        t = time_run(self.fn, self.args, iters)
        self.times += t
        self.round_medians.append(statistics.median(t))


def ort_engines(model_path, x):
    """sess.run, io binding, and both on the Identity model; plus the reference output."""
    import numpy as np
    import onnxruntime as ort

    sess = ort_session(str(model_path))
    inp = sess.get_inputs()[0]
    outs = [o.name for o in sess.get_outputs()]
    feed = {inp.name: x}
    y = sess.run(outs, feed)[0]

    def binding(s, xin, out_name, out_shape):
        b = s.io_binding()
        b.bind_ortvalue_input(s.get_inputs()[0].name, ort.OrtValue.ortvalue_from_numpy(xin))
        yv = ort.OrtValue.ortvalue_from_numpy(np.zeros(out_shape, dtype=np.float32))
        b.bind_ortvalue_output(out_name, yv)
        s.run_with_iobinding(b)
        return b

    b_model = binding(sess, x, outs[0], y.shape)
    ident = ort_session(identity_model(inp.name, list(x.shape)))
    ident_outs = [o.name for o in ident.get_outputs()]
    b_ident = binding(ident, x, ident_outs[0], x.shape)
    engines = [
        OrtRun("ort", sess.run, (outs, feed)),
        OrtRun("ort_overhead", ident.run, (ident_outs, feed)),
        OrtRun("ort_iobinding", sess.run_with_iobinding, (b_model,)),
        OrtRun("ort_iobinding_overhead", ident.run_with_iobinding, (b_ident,)),
    ]
    # Keep the bound OrtValues alive with the sessions.
    return engines, y, (sess, ident, b_model, b_ident), list(inp.shape)


# ---------------------------------------------------------------------------------------------
# callgrind


def callgrind_ir(cmd):
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "callgrind.out"
        r = run_cmd(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd, timeout=1800)
        if r.returncode != 0 or not out.exists():
            raise RuntimeError(f"valgrind failed ({r.returncode}): {r.stderr.strip()[-300:]}")
        text = out.read_text()
    m = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
    if not m:
        raise RuntimeError("no summary line in the callgrind output")
    return int(m.group(1))


def instructions_per_inference(make_cmd, k1, k2):
    i1 = callgrind_ir(make_cmd(k1))
    i2 = callgrind_ir(make_cmd(k2))
    return {"k1": k1, "k2": k2, "ir_k1": i1, "ir_k2": i2, "per_inference": (i2 - i1) / (k2 - k1)}


# ---------------------------------------------------------------------------------------------
# Environment


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tool_version(cmd):
    try:
        r = run_cmd(cmd, timeout=60)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - best effort
        return None


def environment(tract_version, tract_status):
    import numpy
    import onnxruntime

    git = tool_version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = run_cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], timeout=60)
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "kernel": platform.release(),
        "loadavg_start": list(os.getloadavg()),
        "rustc": tool_version(["rustc", "-V"]),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "onnxruntime": onnxruntime.__version__,
        "tract_onnx": tract_version,
        "tract_status": tract_status,
        "valgrind": tool_version(["valgrind", "--version"]),
        "git": (git or "?") + (" + uncommitted changes" if dirty.stdout.strip() else ""),
    }


# ---------------------------------------------------------------------------------------------
# Reporting


def summary(engine):
    t = engine.times
    if not t:
        return None
    rm = engine.round_medians
    return {
        "median_us": statistics.median(t),
        "min_us": min(t),
        "runs": len(t),
        "round_median_min_us": min(rm),
        "round_median_max_us": max(rm),
    }


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_us(v):
    if v is None:
        return "—"
    return f"{v:.1f} us" if v >= 10 else f"{v:.2f} us"


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"{r:.2f} ({1 / r:.1f}x faster)" if r < 1 else f"{r:.2f} ({r:.1f}x slower)"


def fmt_int(v):
    return "—" if v is None else f"{round(v):,}"


def print_model_table(m):
    log("")
    log(f"== {m['label']}: {m['model']} (input {m['input_shape']}, {m['macs']:,} MACs)")
    rows = [
        ("rtonnx", m["rtonnx"]),
        ("onnxruntime sess.run (raw)", m["ort"]),
        ("  Python+call overhead (Identity model)", m["ort_overhead"]),
        ("  onnxruntime minus overhead", {"median_us": m["ort_corrected_us"]}),
        ("onnxruntime io binding (raw)", m["ort_iobinding"]),
        ("  io binding overhead (Identity model)", m["ort_iobinding_overhead"]),
        ("tract-onnx", m["tract"] if isinstance(m["tract"], dict) else None),
        ("original C package (issue, gcc -O2)", {"median_us": m["original_us"]} if m["original_us"] else None),
    ]
    for name, s in rows:
        if s is None:
            extra = m["tract"] if name == "tract-onnx" else "not known"
            log(f"  {name:42s} {extra}")
            continue
        spread = ""
        if "round_median_min_us" in s:
            spread = f"   (round medians {s['round_median_min_us']:.2f}..{s['round_median_max_us']:.2f}, {s['runs']} runs)"
        log(f"  {name:42s} {s['median_us']:10.2f} us{spread}")
    r = m["ratios"]
    log(f"  rtonnx/ort raw {r['rtonnx_over_ort']:.3f}, rtonnx/ort corrected "
        f"{r['rtonnx_over_ort_corrected']:.3f}, rtonnx/ort io binding {r['rtonnx_over_ort_iobinding']:.3f}"
        + (f", rtonnx/tract {r['rtonnx_over_tract']:.3f}" if r["rtonnx_over_tract"] else "")
        + (f", rtonnx/original {r['rtonnx_over_original']:.3f}" if r["rtonnx_over_original"] else ""))
    d = m["max_abs_diff_to_ort"]
    log(f"  max |output - onnxruntime|: rtonnx {d['rtonnx']:.2e}"
        + (f", tract {d['tract']:.2e}" if d.get("tract") is not None else ""))
    cg = m.get("callgrind") or {}
    for eng in ("rtonnx", "tract"):
        c = cg.get(eng)
        if isinstance(c, dict):
            log(f"  callgrind {eng}: {c['per_inference']:,.0f} instructions per inference "
                f"(Ir {c['ir_k1']:,} at K={c['k1']}, {c['ir_k2']:,} at K={c['k2']})")
        elif c:
            log(f"  callgrind {eng}: {c}")


def render_markdown(res):
    e = res["environment"]
    s = res["settings"]
    out = []
    out.append(
        f"Regenerated by `.venv/bin/python tools/bench/host_bench.py --write-readme` on {e['date_utc']} "
        f"(commit {e['git']}); full results in `tools/bench/host_bench.json`."
    )
    out.append("")
    out.append(
        f"Machine: {e['cpu']}, {e['logical_cpus']} logical CPUs, Linux {e['kernel']}, shared with "
        f"concurrent builds and fuzzers (load average {e['loadavg_start'][0]:.1f} at the start), so "
        f"wall-clock figures are noisy: each is the median of {s['rounds']} interleaved rounds x "
        f"{s['iters']} runs per engine (engine order rotated every round). Versions: {e['rustc']}; "
        f"onnxruntime {e['onnxruntime']} (Python {e['python']}, CPU provider, 1 intra-op and 1 "
        f"inter-op thread, sequential); tract-onnx {e['tract_onnx'] or '?'}"
        + ("" if e["tract_status"] == "built" else f" ({e['tract_status']})")
        + ". Input: MNIST t10k image 0, pixel/255, in the model's layout, for the MNIST models, and"
        " each MLPerf Tiny model's own `input_0.npy` (fewer runs per round: 20 to 300, by cost); the"
        " same bytes for every engine."
    )
    out.append("")
    out.append("Median latency of one inference (batch 1, single thread):")
    out.append("")
    out.append("| model | rtonnx | onnxruntime `sess.run` | its Python + call overhead | onnxruntime minus overhead | tract-onnx | original C package (gcc -O2) |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for m in res["models"]:
        tr = m["tract"]["median_us"] if isinstance(m["tract"], dict) else None
        out.append(
            f"| {m['label']} | **{fmt_us(m['rtonnx']['median_us'])}** | {fmt_us(m['ort']['median_us'])} | "
            f"{fmt_us(m['ort_overhead']['median_us'])} | {fmt_us(m['ort_corrected_us'])} | {fmt_us(tr)} | "
            f"{fmt_us(m['original_us'])} |"
        )
    out.append("")
    out.append("rtonnx's time divided by the others' (below 1: rtonnx is faster), and exact instruction counts:")
    out.append("")
    out.append("| model | rtonnx / onnxruntime | rtonnx / onnxruntime minus overhead | rtonnx / tract-onnx | rtonnx / original | instructions per inference, rtonnx | instructions per inference, tract-onnx |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for m in res["models"]:
        r = m["ratios"]
        cg = m.get("callgrind") or {}
        ci = lambda k: fmt_int(cg[k]["per_inference"]) if isinstance(cg.get(k), dict) else "—"  # noqa: E731
        out.append(
            f"| {m['label']} | {fmt_ratio(r['rtonnx_over_ort'])} | {fmt_ratio(r['rtonnx_over_ort_corrected'])} | "
            f"{fmt_ratio(r['rtonnx_over_tract'])} | {fmt_ratio(r['rtonnx_over_original'])} | {ci('rtonnx')} | {ci('tract')} |"
        )
    out.append("")
    ov = [m["ort_overhead"]["median_us"] for m in res["models"]]
    iob = [m["ort_iobinding"]["median_us"] for m in res["models"]]
    out.append(
        f"The overhead column is `sess.run` on an Identity model with the same input (output = the "
        f"whole input, so it slightly overstates the fixed cost and the corrected column favours "
        f"onnxruntime): {min(ov):.1f} to {max(ov):.1f} us here. With the input and output bound once "
        f"(`run_with_iobinding`) onnxruntime took "
        + ", ".join(f"{fmt_us(v)}" for v in iob)
        + " for the models above. The issue's onnxruntime figures (1.32, Python, 1 thread) were "
        f"{ISSUE_ORT_US['keras2onnx/mnist-sm']} us and {ISSUE_ORT_US['keras2onnx/mnist-lg']} us for the "
        "two keras2onnx models; the original package's figures are the issue's (not re-measured). "
        + (
            f"Instruction counts: `valgrind --tool=callgrind` ({e['valgrind']}) on the bench "
            f"commands with K = {s['callgrind_k'][0]} and {s['callgrind_k'][1]} inferences, "
            "(Ir(K2) - Ir(K1)) / (K2 - K1); tract's include copying the input tensor per run."
            if s.get("callgrind_k")
            else "Instruction counts were not measured in this run (--no-callgrind)."
        )
    )
    return "\n".join(out)


def write_readme(markdown, begin=BEGIN, end=END):
    """Replaces the README's block between the `begin` and `end` markers with `markdown`."""
    text = README.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"README.md has no {begin} ... {end} block")
    a = text.index(begin) + len(begin)
    b = text.index(end)
    README.write_text(text[:a] + "\n" + markdown + "\n" + text[b:])
    log(f"rewrote the {begin} block of {rel(README)}")


# ---------------------------------------------------------------------------------------------


def bench_model(key, path, label, args, tract_bin, x784, tmp):
    import numpy as np

    # The input in the model's layout (single channel: NCHW and NHWC hold the same order), or
    # the model's own input file.
    sess_shape = concrete_shape(ort_session(str(path)).get_inputs()[0].shape)
    if key in INPUTS:
        x = np.load(INPUTS[key]).astype(np.float32).reshape(sess_shape)
    elif int(np.prod(sess_shape)) != x784.size:
        raise SystemExit(f"{path}: input {sess_shape} does not hold one 28x28 image")
    else:
        x = x784.reshape(sess_shape)
    iters = min(args.iters, ITERS.get(key, args.iters))
    warmup = min(args.warmup, max(1, iters // 10))
    xfile = Path(tmp) / (key.replace("/", "_") + ".f32")
    xfile.write_bytes(x.astype("<f4").tobytes())

    engines, y_ort, keep, _ = ort_engines(path, x)
    rt = Rtonnx(path, xfile)
    all_engines = [rt] + engines
    tr = None
    if tract_bin:
        tr = Tract(tract_bin, path, xfile, sess_shape)
        all_engines.append(tr)

    log(f"{label}: {args.rounds} rounds x {iters} runs per engine ...")
    for rnd in range(args.rounds):
        k = rnd % len(all_engines)
        for eng in all_engines[k:] + all_engines[:k]:
            eng.round(iters, warmup)

    res = {"key": key, "label": label, "model": rel(path), "input_shape": sess_shape, "macs": rt.macs,
           "iters": iters, "input": rel(INPUTS[key]) if key in INPUTS else "MNIST t10k image 0"}
    res["rtonnx"] = summary(rt)
    for eng in engines:
        res[eng.name] = summary(eng)
    res["ort_corrected_us"] = res["ort"]["median_us"] - res["ort_overhead"]["median_us"]
    res["ort_iobinding_corrected_us"] = (
        res["ort_iobinding"]["median_us"] - res["ort_iobinding_overhead"]["median_us"]
    )
    if tr is None:
        res["tract"] = TRACT_STATUS
    elif tr.error:
        res["tract"] = tr.error
    else:
        res["tract"] = summary(tr)
    res["original_us"] = ORIGINAL_US.get(key)
    res["issue_ort_us"] = ISSUE_ORT_US.get(key)
    med = res["rtonnx"]["median_us"]
    tract_med = res["tract"]["median_us"] if isinstance(res["tract"], dict) else None
    res["ratios"] = {
        "rtonnx_over_ort": ratio(med, res["ort"]["median_us"]),
        "rtonnx_over_ort_corrected": ratio(med, res["ort_corrected_us"]),
        "rtonnx_over_ort_iobinding": ratio(med, res["ort_iobinding"]["median_us"]),
        "rtonnx_over_tract": ratio(med, tract_med),
        "rtonnx_over_original": ratio(med, res["original_us"]),
    }
    yr = np.asarray(y_ort, dtype=np.float64).ravel()
    diff = {"rtonnx": float(np.max(np.abs(np.asarray(rt.output, dtype=np.float64) - yr)))}
    if tr is not None and tr.output is not None:
        diff["tract"] = float(np.max(np.abs(np.asarray(tr.output, dtype=np.float64) - yr)))
    res["max_abs_diff_to_ort"] = diff
    del keep

    if args.callgrind:
        k1, k2 = args.callgrind_k
        cg = {}
        if shutil.which("valgrind") is None:
            cg["rtonnx"] = "not run: valgrind not installed"
        else:
            log(f"{label}: callgrind, K = {k1}, {k2} ...")
            cg["rtonnx"] = instructions_per_inference(
                lambda k: [str(RTONNX), "bench", str(path), "--input", str(xfile), "--iters", str(k),
                           "--warmup", "0", "--whole-loop"], k1, k2)
            if tr is not None and not tr.error and args.callgrind_tract:
                try:
                    cg["tract"] = instructions_per_inference(
                        lambda k: [str(tract_bin), str(path), str(xfile), ",".join(map(str, sess_shape)),
                                   str(k), "0"], k1, k2)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    cg["tract"] = f"not run: {exc}"
        res["callgrind"] = cg
    return res


TRACT_STATUS = "not run"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="*", help="model keys or paths (default: all)")
    ap.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    ap.add_argument("--iters", type=int, default=1000, help="timed runs per engine per round (default 1000)")
    ap.add_argument("--warmup", type=int, default=100, help="untimed runs per engine per round (default 100)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release first")
    ap.add_argument("--no-tract", action="store_true", help="skip tract-onnx")
    ap.add_argument("--tract-build-timeout", type=int, default=1500, help="seconds (default 1500)")
    ap.add_argument("--no-callgrind", dest="callgrind", action="store_false", help="skip callgrind")
    ap.add_argument("--no-callgrind-tract", dest="callgrind_tract", action="store_false",
                    help="callgrind rtonnx only")
    ap.add_argument("--callgrind-k", type=lambda s: tuple(int(v) for v in s.split(",")), default=(10, 110),
                    help="the two iteration counts K1,K2 (default 10,110)")
    ap.add_argument("--mnist", type=Path, default=SHARED / "data" / "mnist")
    ap.add_argument("--json-out", type=Path, default=JSON_OUT, help=f"default {rel(JSON_OUT)}")
    ap.add_argument("--write-readme", action="store_true", help="rewrite README.md's bench block")
    ap.add_argument("--from-json", type=Path, help="do not measure: render this JSON (with --write-readme)")
    a = ap.parse_args(argv)
    if len(a.callgrind_k) != 2 or a.callgrind_k[1] <= a.callgrind_k[0]:
        ap.error("--callgrind-k needs K1,K2 with K2 > K1")
    return a


def select_models(names):
    if not names:
        return MODELS
    out = []
    for n in names:
        hit = [m for m in MODELS if m[0] == n or Path(n).resolve() == m[1].resolve()]
        if hit:
            out += hit
        else:
            p = Path(n)
            out.append((p.stem, p, p.name))
    return out


def main(argv=None):
    global TRACT_STATUS
    args = parse_args(argv)
    if args.from_json:
        res = json.loads(args.from_json.read_text())
        md = render_markdown(res)
        print(md)
        if args.write_readme:
            write_readme(md)
        return res

    if not args.no_build:
        build_rtonnx()
    if not RTONNX.exists():
        raise SystemExit(f"{rel(RTONNX)} is missing: run cargo build --release")
    tract_bin, tract_version = None, None
    if args.no_tract:
        TRACT_STATUS = "not run: --no-tract"
    else:
        tract_bin, TRACT_STATUS, tract_version = build_tract(args.tract_build_timeout)
        log(f"tract-onnx: {TRACT_STATUS}")
    env = environment(tract_version, TRACT_STATUS)
    x784 = mnist_image0(args.mnist)
    res = {
        "environment": env,
        "settings": {
            "rounds": args.rounds,
            "iters": args.iters,
            "warmup": args.warmup,
            "callgrind_k": list(args.callgrind_k) if args.callgrind else None,
            "input": "MNIST t10k image 0, pixel/255 (MNIST models); input_0.npy (MLPerf Tiny models)",
            "note": "wall-clock medians on a shared, noisy 2-core machine; callgrind counts are exact",
        },
        "models": [],
    }
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="rtonnx-bench-") as tmp:
        for key, path, label in select_models(args.models):
            m = bench_model(key, path, label, args, tract_bin, x784, tmp)
            print_model_table(m)
            res["models"].append(m)
    env["loadavg_end"] = list(os.getloadavg())
    env["seconds"] = round(time.time() - t0, 1)
    args.json_out.write_text(json.dumps(res, indent=2) + "\n")
    log(f"\nwrote {args.json_out}")
    md = render_markdown(res)
    print(md)
    if args.write_readme:
        write_readme(md)
    return res


if __name__ == "__main__":
    main()
