#!/usr/bin/env python3
"""Per-function instruction profile of a firmware run under QEMU.

usage: pc_profile.py FIRMWARE.elf PROFILE.txt [N]

PROFILE.txt is what the icount plugin's `profile=FILE` option writes ("ADDR COUNT" per
executed instruction address). Prints the N (default 25) functions that executed the most
instructions, with their share, using the ELF's symbol table (arm-none-eabi-nm).
"""
import bisect
import subprocess
import sys


def symbols(elf):
    out = subprocess.run(["arm-none-eabi-nm", "-S", "-C", "--defined-only", elf],
                         check=True, capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[2] in "tTwW":
            syms.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    syms.sort()
    return syms


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    elf, prof = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    syms = symbols(elf)
    starts = [s[0] for s in syms]
    per = {}
    total = 0
    with open(prof) as f:
        for line in f:
            addr, count = line.split()
            addr, count = int(addr, 16), int(count)
            total += count
            i = bisect.bisect_right(starts, addr) - 1
            name = "?"
            if i >= 0 and addr < syms[i][0] + max(syms[i][1], 2):
                name = syms[i][2]
            per[name] = per.get(name, 0) + count
    print(f"{total} instructions executed")
    for name, count in sorted(per.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{count:12d} {100.0 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
