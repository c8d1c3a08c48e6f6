#!/usr/bin/env python3
"""The performance table of the README: every figure of the performance issue, for every
shipped model and both keras2onnx models, rtonnx beside the original C package.

usage: python3 tools/bench/figures.py [--write-readme] [--json-out FILE]
       (normally run by `bash tools/bench/figures.sh`, which measures first)

Reads what the two benchmarks wrote, and measures nothing itself:

* the Cortex-M4F firmware test (`tools/firmware_test.sh`): `target/firmware/index.tsv` (firmware
  name, model path, and whether the firmware carries the ONNX file or its compiled plan) and each firmware's `summary.json` (exact instruction counts from the
  icount plugin, peak heap from the counting malloc wrapper, stack high-water, library text),
  plus the code by module of the first firmware (`tools/cross/symbol_sizes.py`'s grouping);
* the host benchmark (`tools/bench/host_bench.py`): `tools/bench/host_bench.json`.

The original package's figures are the performance issue's (measured there on onnx-backend +
onnx-parser + protobuf-c, arm-none-eabi-gcc 12.2 -O2, QEMU 7.2 mps2-an386); they are constants
here, not re-measured. The table is printed, and with --write-readme replaces the block between
`<!-- figures:begin -->` and `<!-- figures:end -->` of README.md.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FIRMWARE = TARGET / "firmware"
HOST_JSON = ROOT / "tools" / "bench" / "host_bench.json"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"

sys.path.insert(0, str(ROOT / "tools" / "cross"))
sys.path.insert(0, str(ROOT / "tools" / "bench"))
import host_bench  # noqa: E402  (its README block writer)
import symbol_sizes  # noqa: E402

# The performance issue's baseline: the original C package's automatic load-and-run path.
ORIGINAL = {
    "keras2onnx/mnist-sm": {
        "macs": 21600, "insns": 980036, "load_insns": 102903, "heap": 21565,
        "code": 18874, "host_us": 66.6, "issue_ort_us": 24.6,
    },
    "keras2onnx/mnist-lg": {
        "macs": 57272, "insns": 2045588, "load_insns": 106528, "heap": 36197,
        "code": 18874, "host_us": 152.7, "issue_ort_us": 27.1,
    },
}
# The targets for rtonnx (per keras2onnx model where they differ).
TARGETS = {
    "insns": {"keras2onnx/mnist-sm": 50000, "keras2onnx/mnist-lg": 120000},
    "load_insns": 30000,
    "heap_file": {"keras2onnx/mnist-sm": 7 * 1024, "keras2onnx/mnist-lg": 10 * 1024},
    "code": 20 * 1024,
}
# Column order: the keras2onnx models (with the original beside each), then ours.
ORDER = ["keras2onnx/mnist-sm", "keras2onnx/mnist-lg", "examples/mnist-sm", "examples/mnist-cnn"]
LABELS = {
    "keras2onnx/mnist-sm": "mnist-sm (keras2onnx)",
    "keras2onnx/mnist-lg": "mnist-lg (keras2onnx)",
    "examples/mnist-sm": "mnist-sm (ours)",
    "examples/mnist-cnn": "mnist-cnn (ours, 99 %)",
}


def key_of(model_path):
    """The host benchmark's key of a model file ("keras2onnx/mnist-sm", "examples/mnist-cnn")."""
    p = Path(model_path).resolve()
    if p.parent.name == "keras2onnx":
        return "keras2onnx/" + p.stem
    if p.parent == (ROOT / "examples" / "models").resolve():
        return "examples/" + p.stem
    return None


def load_firmware():
    index = FIRMWARE / "index.tsv"
    if not index.exists():
        raise SystemExit(f"{index} is missing: run bash tools/firmware_test.sh first")
    out = {}
    for line in index.read_text().splitlines():
        # name, ONNX model path, and "onnx" or "plan" (the firmware of its compiled plan).
        name, model, kind = (line.split("\t") + ["onnx"])[:3]
        key = key_of(model)
        summary = FIRMWARE / name / "summary.json"
        if key in ORDER and summary.exists():
            s = json.loads(summary.read_text())
            s["elf"] = str(FIRMWARE / name / "firmware.elf")
            s["file_bytes"] = (FIRMWARE / name / ("model.rtm" if kind == "plan" else "model.onnx")).stat().st_size
            if kind == "plan":
                out.setdefault(key, {})["plan"] = s
            else:
                out.setdefault(key, {}).update(s)
    return {k: v for k, v in out.items() if "model" in v}


def modules(elf):
    """Text bytes by module of the library in a firmware (symbol_sizes.py's groups)."""
    nm = subprocess.run(["arm-none-eabi-nm", "-S", "-C", elf], capture_output=True, text=True,
                        check=True).stdout
    sizes = defaultdict(int)
    for line in nm.splitlines():
        fields = line.split(" ", 3)
        if len(fields) == 4 and fields[2].lower() == "t":
            sizes[symbol_sizes.group_of(fields[3], 2)] += int(fields[1], 16)
    return sizes


def n(v):
    return "—" if v is None else f"{v:,}"


def kb(v):
    return "—" if v is None else f"{v:,} B"


def us(v):
    return "—" if v is None else (f"{v:.1f} us" if v >= 10 else f"{v:.2f} us")


def times(a, b):
    """How many times smaller a is than b, as text."""
    if a is None or b is None or a == 0:
        return ""
    return f" ({b / a:.1f}x less)" if b >= a else f" ({a / b:.1f}x more)"


def render(fw, host):
    hosts = {m["key"]: m for m in host["models"]} if host else {}
    keys = [k for k in ORDER if k in fw]
    cols = []
    for k in keys:
        cols.append((k, False))
        if k in ORIGINAL:
            cols.append((k, True))

    def cell(k, orig, fn):
        try:
            return fn(k, orig)
        except (KeyError, TypeError, ZeroDivisionError):
            return "—"

    def row(title, fn, target=None):
        cells = [cell(k, orig, fn) for k, orig in cols]
        tgt = target if target is not None else ""
        return f"| {title} | " + " | ".join(cells) + f" | {tgt} |"

    def first(k, orig, ours, theirs):
        """Our figure (bold, with the ratio to the original) or the original's."""
        if orig:
            return n(theirs) if isinstance(theirs, int) else theirs
        o = ORIGINAL.get(k)
        mine = n(ours) if isinstance(ours, int) else ours
        return f"**{mine}**" + (times(ours, o and theirs) if o else "")

    head = "| figure | " + " | ".join(
        (LABELS[k] + (", original" if orig else ", rtonnx")) if k in ORIGINAL else LABELS[k] + ", rtonnx"
        for k, orig in cols) + " | target |"
    out = [head, "| --- |" + " --- |" * (len(cols) + 1)]

    macs = {k: sum(p["macs"] for p in fw[k].get("per_node", [])) for k in keys}
    out.append(row("multiply-accumulates per inference (Conv + MatMul/Gemm)",
                   lambda k, o: n(ORIGINAL[k]["macs"] if o else macs[k])))
    out.append(row("Cortex-M4F instructions per inference",
                   lambda k, o: first(k, o, fw[k]["insns_per_inference_median"],
                                      ORIGINAL.get(k, {}).get("insns")),
                   "50,000 / 120,000"))
    out.append(row("Cortex-M4F instructions per multiply-accumulate",
                   lambda k, o: f"{(ORIGINAL[k]['insns'] if o else fw[k]['insns_per_inference_median']) / (ORIGINAL[k]['macs'] if o else macs[k]):.2f}",
                   "about 2.3"))
    out.append(row("Cortex-M4F instructions to load from memory",
                   lambda k, o: first(k, o, fw[k]["load_memory_insns"],
                                      ORIGINAL.get(k, {}).get("load_insns")),
                   n(TARGETS["load_insns"])))
    out.append(row("Cortex-M4F instructions to load from a file (semihosting read included)",
                   lambda k, o: "—" if o else n(fw[k]["load_file_insns"])))
    out.append(row("Cortex-M4F peak heap, load from a file + one inference (bytes requested)",
                   lambda k, o: first(k, o, fw[k]["peak_heap_load_and_inference_file"],
                                      ORIGINAL.get(k, {}).get("heap")),
                   "7 KB / 10 KB"))
    out.append(row("same, model in flash (weights used in place when 4-byte aligned; in none of these files)",
                   lambda k, o: "—" if o else n(fw[k]["peak_heap_load_and_inference_flash"]),
                   "less"))
    out.append(row("heap the loaded model keeps (arena, weights, tables; flash load)",
                   lambda k, o: "—" if o else n(fw[k]["heap_kept_by_model_flash"])))
    out.append(row("stack high-water, inference / load from memory",
                   lambda k, o: "—" if o else
                   f"{fw[k]['stack_per_inference']:,} / {fw[k]['load_memory_stack']:,} B"))
    # The same models as plans compiled on the host (`rtonnx compile --target cortex-m-vfma`).
    plan = lambda k: fw[k]["plan"]  # noqa: E731
    out.append(row("plan (`rtonnx compile`) file size / ONNX file size",
                   lambda k, o: "—" if o else f"{plan(k)['file_bytes']:,} / {fw[k]['file_bytes']:,} B"))
    out.append(row("plan: Cortex-M4F instructions per inference",
                   lambda k, o: "—" if o else n(plan(k)["insns_per_inference_median"])))
    out.append(row("plan in flash, in place (`onnx_model_load_static`): instructions to load",
                   lambda k, o: "—" if o else n(plan(k)["load_static_insns"]), "2,000 (3,000 mnist-cnn)"))
    out.append(row("plan in flash, in place: peak heap, load + one inference",
                   lambda k, o: "—" if o else n(plan(k)["peak_heap_load_and_inference_static"]),
                   "arena + 256 B"))
    out.append(row("plan from a file: instructions to load / peak heap, load + one inference",
                   lambda k, o: "—" if o else
                   f"{plan(k)['load_file_insns']:,} / {plan(k)['peak_heap_load_and_inference_file']:,} B",
                   "plan + arena + 256 B"))
    out.append(row("plan: stack high-water, inference / load in place / load from a file",
                   lambda k, o: "—" if o else
                   f"{plan(k)['stack_per_inference']:,} / {plan(k)['load_static_stack']:,} / "
                   f"{plan(k)['load_file_stack']:,} B"))
    out.append(row("library text linked into the firmware (LTO, --gc-sections)",
                   lambda k, o: kb(ORIGINAL[k]["code"]) if o else kb(fw[k]["rtonnx_text"]),
                   kb(TARGETS["code"])))
    out.append(row("plan-only library text (no ONNX loader, the plan's build parts only)",
                   lambda k, o: "—" if o else kb(plan(k)["rtonnx_text"]), "12 KB (14 KB mnist-cnn)"))

    def host_us(k, o):
        if o:
            return us(ORIGINAL[k]["host_us"])
        h = hosts[k]["rtonnx"]["median_us"]
        o_us = ORIGINAL.get(k, {}).get("host_us")
        return f"**{us(h)}**" + (f" ({o_us / h:.1f}x faster)" if o_us else "")

    def ort_us(k, o):
        if o:
            return us(ORIGINAL[k]["issue_ort_us"]) + " (the issue's)"
        m = hosts[k]
        return f"{us(m['ort']['median_us'])} / {us(m['ort_corrected_us'])}"

    out.append(row("host x86-64, median latency per inference", host_us, ">= 10x faster than the original"))
    out.append(row("host, onnxruntime 1 thread, same run (sess.run / minus its Python overhead)",
                   ort_us, "rtonnx faster"))
    out.append(row("host, instructions per inference (callgrind)",
                   lambda k, o: "—" if o else n(round(hosts[k]["callgrind"]["rtonnx"]["per_inference"]))))

    # Code by module, from the first firmware (the library is the same in every one).
    first_key = keys[0]
    sizes = modules(fw[first_key]["elf"])
    lib_groups = [(g, v) for g, v in sizes.items() if not g.startswith("C (")]
    lib_groups.sort(key=lambda gv: -gv[1])
    mod_rows = ["| module | text |", "| --- | ---: |"]
    mod_rows += [f"| {g} | {v:,} B |" for g, v in lib_groups]

    fw_any = fw[first_key]
    host_env = host["environment"] if host else {}
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    notes = [
        f"Regenerated by `bash tools/bench/figures.sh` on {stamp} (commit {git}; host figures "
        f"from the run of {host_env.get('date_utc', '?')}, commit {host_env.get('git', '?')}).",
        "",
        "Cortex-M4F: QEMU `mps2-an386`, exact instruction counts from our TCG plugin "
        "(`tools/firmware_test.sh`), library built with the cargo profile `device` (opt-level 2, LTO) for "
        "`thumbv7em-none-eabihf` as the SConscript builds it; heap is bytes requested through a "
        "counting `malloc` wrapper; stack is a painted-stack high-water mark. Host: "
        "`tools/bench/host_bench.py` (rtonnx beside onnxruntime with 1 thread in interleaved "
        "rounds; wall-clock medians on a shared machine, callgrind counts exact). The original's "
        "column is the performance issue's measurement, not re-run here. "
        "The ONNX files' firmware links the whole library (ONNX loader and every operator "
        f"family: {fw_any['rtonnx_text']:,} B of text); each plan's firmware links the plan-only "
        "library with just the build parts `rtonnx compile --cargo-features` prints for it.",
        "",
    ]
    tail = ["", f"Library text by module (firmware of {LABELS[first_key]}, `arm-none-eabi-nm`):", ""]
    return "\n".join(notes + out + tail + mod_rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-readme", action="store_true", help="rewrite README.md's figures block")
    ap.add_argument("--json-out", type=Path, help="also write the collected figures as JSON")
    args = ap.parse_args()
    fw = load_firmware()
    missing = [k for k in ORDER if k not in fw]
    if missing:
        print(f"figures: no firmware summary for {', '.join(missing)}", file=sys.stderr)
    if not fw:
        raise SystemExit("figures: no firmware summaries: run bash tools/firmware_test.sh")
    host = json.loads(HOST_JSON.read_text()) if HOST_JSON.exists() else None
    md = render(fw, host)
    print(md)
    if args.json_out:
        args.json_out.write_text(json.dumps({"firmware": fw, "host": host}, indent=1, sort_keys=True))
    if args.write_readme:
        host_bench.write_readme(md, BEGIN, END)


if __name__ == "__main__":
    main()
