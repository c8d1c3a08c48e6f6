#!/usr/bin/env python3
"""Checks that an RT-Thread BSP really builds the rtonnx package, and says what to fix.

Run it from the BSP folder, with the package inside the BSP (e.g. packages/rtonnx):

    python packages/rtonnx/tools/check_install.py .                 before and after scons
    python packages/rtonnx/tools/check_install.py . --write-sconscript
                                          also writes a missing packages/SConscript

Why: scons reads a package's SConscript only when every folder between the BSP and the
package has a SConscript that reads the next one. Env's `pkgs --update` writes
packages/SConscript; a package cloned into packages/ by hand has none, and then scons
builds the firmware without the package and without a message (the msh commands are
simply missing). This script looks at

  1. rtconfig.h: PKG_USING_RTONNX and the options;
  2. .config: menuconfig knows the package (its Kconfig is hooked up), so the next
     menuconfig run keeps the options;
  3. the SConscript of each folder from the BSP down to the package;
  4. after a build: the objects under build/, cargo's folder build/rtonnx, and the linker
     map file (librtonnx in the link), and no objects left inside the package folder.

Exit status 0 when nothing is wrong, 1 when something is (each problem says what to do).
Only the Python standard library is used, so any Python 3 (Env's included) runs it.
"""

import argparse
import glob
import os
import re
import sys

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What packages/SConscript must do: read the SConscript of each sub-folder, by a path
# relative to packages/ so that SCons keeps the BSP's variant folder (build/). This is what
# Env writes there; docs/rtthread.md gives the same text and the SConscript tests check it.
PACKAGES_SCONSCRIPT = """\
# Reads the SConscript of every package folder below this one (the file Env's pkgs writes;
# a package copied here by hand needs it too). Paths stay relative to this folder so that
# the objects go to the BSP's build folder.
import os
from building import *

cwd = GetCurrentDir()
objs = []
for name in sorted(os.listdir(cwd)):
    if os.path.isfile(os.path.join(cwd, name, 'SConscript')):
        objs = objs + SConscript(os.path.join(name, 'SConscript'))

Return('objs')
"""

EXAMPLES = [('RTONNX_USING_EXAMPLE_ONNX_MNIST', 'onnx_mnist'),
            ('RTONNX_USING_EXAMPLE_MNIST_SM', 'mnist_sm'),
            ('RTONNX_USING_EXAMPLE_MNIST_MODEL', 'mnist_model')]


class Report:
    def __init__(self, out):
        self.out = out
        self.problems = 0

    def ok(self, text):
        self.out.write('ok:      %s\n' % text)

    def note(self, text):
        self.out.write('note:    %s\n' % text)

    def problem(self, text, fix=()):
        self.problems += 1
        self.out.write('PROBLEM: %s\n' % text)
        for line in fix:
            self.out.write('         %s\n' % line)


def read_defines(path):
    """{name: value} of the #define lines of a generated rtconfig.h."""
    defines = {}
    with open(path, errors='replace') as f:
        for line in f:
            m = re.match(r'\s*#define\s+(\w+)(?:\s+(.*?))?\s*$', line)
            if m:
                defines[m.group(1)] = (m.group(2) or '').strip()
    return defines


def reads_child(sconscript, child):
    """True when a SConscript's text reads the SConscript of `child` (named, or by walking
    its sub-folders)."""
    with open(sconscript, errors='replace') as f:
        text = f.read()
    if re.search(r'\b(listdir|scandir|walk)\s*\(', text) or 'Glob(' in text:
        return True
    return re.search(r'[\'"/]%s[\'"/]' % re.escape(child), text) is not None


def check_chain(bsp, package, rep, write):
    """Every folder from the BSP down to the package's parent has a SConscript reading the
    next folder."""
    rel = os.path.relpath(package, bsp)
    parts = rel.split(os.sep)
    if rel == '.' or parts[0] == '..':
        rep.problem('the package (%s) is not inside the BSP folder (%s): scons reads only '
                    'SConscripts below the BSP' % (package, bsp),
                    ['clone or copy it to packages/ of the BSP (any folder name)'])
        return False
    good = True
    here = bsp
    for i, child in enumerate(parts):
        sconscript = os.path.join(here, 'SConscript')
        shown = os.path.relpath(sconscript, bsp)
        if not os.path.isfile(sconscript):
            good = False
            if i > 0 and write:
                with open(sconscript, 'w') as f:
                    f.write(PACKAGES_SCONSCRIPT)
                rep.ok('wrote %s (it reads the SConscript of each sub-folder)' % shown)
                good = True
            elif i > 0:
                rep.problem('%s is missing: scons never reads the package\'s SConscript, so '
                            'nothing of rtonnx is built or linked, and no error is shown'
                            % shown,
                            ['write it with:  python %s %s --write-sconscript'
                             % (os.path.relpath(os.path.abspath(__file__), bsp), '.'),
                             'or by hand, with the text given in docs/rtthread.md '
                             '(manual install)'])
            else:
                rep.problem('%s is missing: this is not a BSP folder' % shown)
        elif not reads_child(sconscript, child):
            rep.problem('%s neither walks its sub-folders nor names %s/: scons may not read '
                        'the package\'s SConscript' % (shown, child),
                        ['make it read %s/SConscript (docs/rtthread.md, manual install)'
                         % os.path.relpath(os.path.join(here, child), bsp)])
            good = False
        here = os.path.join(here, child)
    if good:
        rep.ok('scons reaches %s/SConscript (%s)'
               % (rel, ' -> '.join(['SConscript'] + [os.path.join(*parts[:i + 1], 'SConscript')
                                                    for i in range(len(parts))])))
    return good


def find_map(bsp, given):
    if given:
        return given if os.path.isfile(given) else None
    default = os.path.join(bsp, 'rtthread.map')
    if os.path.isfile(default):
        return default
    maps = sorted(glob.glob(os.path.join(bsp, '*.map')), key=os.path.getmtime)
    return maps[-1] if maps else None


def check_build(bsp, package, defines, rep, map_file):
    rel = os.path.relpath(package, bsp)
    # Objects that older versions of the package left beside their sources.
    stray = sorted(p for sub in ('port', 'examples')
                   for p in glob.glob(os.path.join(package, sub, '*.o')))
    if stray:
        rep.problem('object files inside the package folder, left by an older version of '
                    'the package: %s' % ', '.join(os.path.relpath(p, bsp) for p in stray),
                    ['delete them; this version builds its objects under build/%s' % rel])
    objdir = os.path.join(bsp, 'build', rel)
    objects = sorted(glob.glob(os.path.join(objdir, '*', '*.o')))
    cargo_dir = os.path.join(bsp, 'build', 'rtonnx')
    if objects or os.path.isdir(cargo_dir):
        what = [os.path.relpath(p, bsp) for p in objects]
        if os.path.isdir(cargo_dir):
            what.append(os.path.relpath(cargo_dir, bsp) + '/ (cargo)')
        rep.ok('a build ran the package\'s SConscript: %s' % ', '.join(what))
    map_path = find_map(bsp, map_file)
    if map_path is None:
        if objects or os.path.isdir(cargo_dir):
            rep.note('no linker map file (rtthread.map) to check the link; give one with --map')
        else:
            rep.note('nothing of the package built yet (no objects under build/%s, no '
                     'build/rtonnx/, no map file): run scons, then this check again'
                     % rel.replace(os.sep, '/'))
        return
    with open(map_path, errors='replace') as f:
        text = f.read()
    prebuilt = defines.get('RTONNX_PREBUILT_LIB', '').strip('"')
    lib = os.path.basename(prebuilt) if prebuilt else 'librtonnx.a'
    shown = os.path.relpath(map_path, bsp)
    if lib in text:
        rep.ok('%s links %s' % (shown, lib))
    else:
        rep.problem('%s does not mention %s: the last link did not include the rtonnx '
                    'library' % (shown, lib),
                    ['if the map file is from an older build, run scons and check again;',
                     'otherwise scons did not read the package\'s SConscript (see above)'])
        return
    wanted = []
    if 'RTONNX_USING_FILE' in defines:
        wanted.append('rtonnx_port.o')
    wanted += [name + '.o' for symbol, name in EXAMPLES if symbol in defines]
    missing = [w for w in wanted if w not in text]
    if missing:
        rep.problem('%s lacks %s although rtconfig.h enables them' % (shown, ', '.join(missing)),
                    ['run scons again (rtconfig.h is newer than the link?)'])
    elif wanted:
        rep.ok('%s has %s' % (shown, ', '.join(wanted)))


def check(bsp, package=PACKAGE, write=False, map_file=None, out=sys.stdout):
    """Runs every check; returns the number of problems."""
    rep = Report(out)
    bsp = os.path.abspath(bsp)
    package = os.path.abspath(package)
    header = os.path.join(bsp, 'rtconfig.h')
    if not os.path.isfile(header) or not os.path.isfile(os.path.join(bsp, 'SConstruct')):
        rep.problem('%s has no rtconfig.h and SConstruct: give the BSP folder' % bsp)
        return rep.problems
    defines = read_defines(header)
    if 'PKG_USING_RTONNX' in defines:
        rep.ok('rtconfig.h enables the package (PKG_USING_RTONNX)')
    else:
        rep.problem('rtconfig.h has no PKG_USING_RTONNX: the package is not enabled',
                    ['enable "rtonnx" in menuconfig (docs/rtthread.md, step 3); if menuconfig '
                     'does not show it, hook up its Kconfig (manual install)'])
    dotconfig = os.path.join(bsp, '.config')
    known = False
    if os.path.isfile(dotconfig):
        with open(dotconfig, errors='replace') as f:
            known = re.search(r'^(# )?CONFIG_PKG_USING_RTONNX\b', f.read(), re.M) is not None
    if known:
        rep.ok('menuconfig knows the package (.config has CONFIG_PKG_USING_RTONNX)')
    else:
        rep.problem('.config has no CONFIG_PKG_USING_RTONNX: menuconfig did not read the '
                    'package\'s Kconfig' + (' (rtconfig.h was edited by hand? the next '
                                            'menuconfig run drops the options)'
                                            if 'PKG_USING_RTONNX' in defines else ''),
                    ['add  source "%s/Kconfig"  to the BSP\'s Kconfig and run menuconfig '
                     '(docs/rtthread.md, manual install)'
                     % os.path.relpath(package, bsp).replace(os.sep, '/')])
    check_chain(bsp, package, rep, write)
    check_build(bsp, package, defines, rep, map_file)
    if rep.problems:
        out.write('%d problem(s), see above\n' % rep.problems)
    else:
        out.write('rtonnx is installed: scons builds and links it\n')
    return rep.problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('bsp', nargs='?', default='.', help='the BSP folder (default: .)')
    parser.add_argument('--write-sconscript', action='store_true',
                        help='write a missing packages/SConscript (never overwrites)')
    parser.add_argument('--map', help='the linker map file (default: rtthread.map or the '
                        'newest *.map in the BSP folder)')
    parser.add_argument('--package', default=PACKAGE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return 1 if check(args.bsp, args.package, args.write_sconscript, args.map) else 0


if __name__ == '__main__':
    sys.exit(main())
