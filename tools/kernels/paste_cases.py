#!/usr/bin/env python3
"""Pastes the output of gen_kernel_cases.py into the `const ORT_*` arrays of rust/ops/*.rs.

Usage: python tools/kernels/gen_kernel_cases.py | python tools/kernels/paste_cases.py
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2] / "rust" / "ops"
current = None
for line in sys.stdin:
    m = re.match(r"// ---- (\S+)", line)
    if m:
        current = root / m.group(1)
        continue
    m = re.match(r"\s*const (ORT_\w+): (\[[^\]]*\]) = (\[[^\]]*\]);\s*//(.*)", line)
    if not m or current is None:
        continue
    name, ty, value, comment = m.groups()
    text = current.read_text()
    pat = re.compile(r"(\n\s*)(?://[^\n]*\n\s*)?const " + name + r": \[[^\]]*\] = \[[^\]]*\];")
    if not pat.search(text):
        sys.exit(f"{name} not found in {current}")
    text = pat.sub(lambda mm: f"{mm.group(1)}//{comment}{mm.group(1)}const {name}: {ty} = {value};", text, count=1)
    current.write_text(text)
    print(f"{current.name}: {name}")
