#!/usr/bin/env python3
"""Sums the input sections that one static library contributes to a linked ELF, from the GNU
ld map file (-Wl,-Map): code (.text), read-only data (.rodata), .data and .bss, split into the
library's own object(s) and the compiler_builtins objects Rust bundles.

usage: map_sizes.py LINK.map ARCHIVE_BASENAME
"""
import re
import sys
from collections import defaultdict

KINDS = ('.text', '.rodata', '.data', '.bss')


def parse(map_path, archive):
    """Returns {member: {kind: bytes}} for input sections from `archive` that were kept."""
    sizes = defaultdict(lambda: defaultdict(int))
    with open(map_path) as f:
        lines = f.read().splitlines()
    started = False
    pending = None  # input section name whose address/size are on the next line
    for line in lines:
        if line.startswith('Linker script and memory map'):
            started = True
            continue
        if not started:
            continue
        m = re.match(r'^ (\.[^\s]+)\s*$', line)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r'^ (\.[^\s]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$', line)
        if m:
            name = m.group(1) or pending
            pending = None
            src = m.group(4)
            if name is None or archive + '(' not in src:
                continue
            member = src[src.index(archive + '(') + len(archive) + 1:-1]
            kind = next((k for k in KINDS if name == k or name.startswith(k + '.')), None)
            if kind:
                sizes[member][kind] += int(m.group(3), 16)
            continue
        pending = None
    return sizes


def main():
    map_path, archive = sys.argv[1], sys.argv[2]
    sizes = parse(map_path, archive)
    own = defaultdict(int)
    builtins = defaultdict(int)
    for member, kinds in sizes.items():
        dst = builtins if 'compiler_builtins' in member else own
        for k, v in kinds.items():
            dst[k] += v
    for label, d in (('rtonnx', own), ('compiler_builtins', builtins)):
        print('%-18s text %7d  rodata %6d  data %5d  bss %5d' % (
            label, d['.text'], d['.rodata'], d['.data'], d['.bss']))


if __name__ == '__main__':
    main()
