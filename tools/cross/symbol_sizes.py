#!/usr/bin/env python3
"""Code and read-only data of a linked firmware, grouped by Rust module.

usage: symbol_sizes.py FIRMWARE.elf [DEPTH]

Reads `arm-none-eabi-nm -S -C` (sizes, demangled names) and sums the symbols of each group:
`rtonnx::<module>` (DEPTH path components, default 2), `core`, `alloc`, `libm`,
`compiler_builtins`, the C API (`onnx_*` functions), and everything else written in C
(newlib, the firmware). With LTO, inlined functions count where they were inlined.
"""
import subprocess
import sys
from collections import defaultdict


def group_of(name, depth):
    if name.startswith('onnx_') or name.startswith('rtonnx_'):
        return 'rtonnx (C API)'
    if '::' not in name:
        return 'C (newlib, firmware)'
    # "<rtonnx::x::Y as core::fmt::Display>::fmt" counts for the implementing type's module.
    body = name[1:] if name.startswith('<') else name
    if body.startswith('&'):
        body = body[1:]
    parts = body.split(' ')[0].split('::')
    crate = parts[0]
    if len(parts) == 1 and ' as ' in body:
        # "<usize as core::fmt::Display>::fmt": a trait of another crate on a primitive type.
        parts = body.split(' as ', 1)[1].split('::')
        crate = parts[0]
    if crate == 'rtonnx':
        return '::'.join(p for p in parts[:depth] if p and p[0].islower()) or 'rtonnx'
    if crate.startswith('__rustc'):
        return 'rust runtime (allocator, panic)'
    return crate


def main():
    elf = sys.argv[1]
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    out = subprocess.run(['arm-none-eabi-nm', '-S', '-C', elf], capture_output=True, text=True,
                         check=True).stdout
    sizes = defaultdict(lambda: [0, 0])
    for line in out.splitlines():
        fields = line.split(' ', 3)
        if len(fields) < 4:
            continue
        _, size, kind, name = fields
        kind = kind.lower()
        if kind not in ('t', 'r'):
            continue
        sizes[group_of(name, depth)][0 if kind == 't' else 1] += int(size, 16)
    total = [0, 0]
    for group, (text, rodata) in sorted(sizes.items(), key=lambda kv: -kv[1][0]):
        print('%-40s text %7d  rodata %6d' % (group, text, rodata))
        total[0] += text
        total[1] += rodata
    print('%-40s text %7d  rodata %6d' % ('total (symbols with a size)', total[0], total[1]))


if __name__ == '__main__':
    main()
