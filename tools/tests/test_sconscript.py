"""Tests of the package SConscript outside SCons.

The SConscript is executed with stub `building` and `rtconfig` modules (the names RT-Thread's
building.py exports: GetCurrentDir, GetDepend, DefineGroup, GetOption, Clean, Dir, Exit,
Return) and with `subprocess.run`/`shutil.which` replaced, so what it decides -- Rust target,
cargo command, libraries and link order, error messages -- can be checked without a BSP or
a Rust cross target.

Run with pytest, or as `python3 tools/tests/test_sconscript.py`.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import types
from unittest import mock

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCONSCRIPT = os.path.join(REPO, 'SConscript')

STM32F407_CFLAGS = (' -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard '
                    '-ffunction-sections -fdata-sections -Dgcc -O0 -gdwarf-2 -g')
VEXPRESS_A9_CFLAGS = (' -march=armv7-a -mtune=cortex-a7 -ftree-vectorize -ffast-math '
                      '-funwind-tables -fno-strict-aliasing -msoft-float -Wall -Wno-cpp '
                      '-std=gnu99 -D_POSIX_SOURCE -O0 -gdwarf-2')


class Stopped(Exception):
    """Raised by the stub Exit()."""


class Bsp:
    """Runs the SConscript against a fake BSP configuration."""

    def __init__(self, arch='arm', cpu='cortex-m4', cflags=STM32F407_CFLAGS, options=None,
                 clean=False, platform='gcc', bsp_root=None):
        self.rtconfig = types.SimpleNamespace(ARCH=arch, CPU=cpu, CFLAGS=cflags, DEVICE='',
                                              PLATFORM=platform)
        self.options = {'PKG_USING_RTONNX': 1, 'RTONNX_USING_FILE': 1}
        self.options.update(options or {})
        self.clean = clean
        self.bsp_root = bsp_root or tempfile.mkdtemp(prefix='rtonnx-bsp-')
        self.groups = []
        self.cleaned = []
        self.returned = None
        self.commands = []

    def _building(self):
        bsp = self
        mod = types.ModuleType('building')

        def get_depend(dep):
            deps = [dep] if isinstance(dep, str) else dep
            for d in deps:
                if not bsp.options.get(d):
                    return False
            if isinstance(dep, str) and isinstance(bsp.options.get(dep), str):
                return bsp.options[dep]
            return True

        def define_group(name, src, depend, **params):
            if not get_depend(depend):
                return []
            bsp.groups.append(dict(name=name, src=list(src), depend=depend, **params))
            return ['objs-of-' + name]

        def return_(name):
            bsp.returned = sys._getframe(1).f_globals[name]

        mod.GetCurrentDir = lambda: REPO
        mod.GetDepend = get_depend
        mod.DefineGroup = define_group
        mod.GetOption = lambda name: bsp.clean if name == 'clean' else None
        mod.Clean = lambda target, path: bsp.cleaned.append(path)
        mod.Dir = lambda path: types.SimpleNamespace(abspath=bsp.bsp_root)
        mod.Return = return_

        def exit_(code=0):
            raise Stopped(code)

        mod.Exit = exit_
        return mod

    def run(self, which=None, rustc_libdir_ok=True, cargo_ok=True, make_lib=True):
        """Executes the SConscript. `which` maps program names to paths (None: missing)."""
        which = {'cargo': '/usr/bin/cargo', 'rustc': '/usr/bin/rustc',
                 'rustup': '/usr/bin/rustup'} if which is None else which
        libdir = tempfile.mkdtemp(prefix='rtonnx-libdir-')
        with open(os.path.join(libdir, 'libcore-0123.rlib'), 'w'):
            pass
        bsp = self

        def fake_run(cmd, **kwargs):
            bsp.commands.append((list(cmd), kwargs.get('env')))
            if cmd[:2] == ['rustc', '-vV']:
                return subprocess.CompletedProcess(cmd, 0, 'rustc 1.95.0\nhost: '
                                                   'x86_64-unknown-linux-gnu\n', '')
            if cmd[:3] == ['rustc', '--print', 'target-libdir']:
                out = libdir if rustc_libdir_ok else '/nonexistent/lib'
                return subprocess.CompletedProcess(cmd, 0, out + '\n', '')
            if cmd[:2] == ['cargo', 'rustc']:
                if cargo_ok and make_lib:
                    target = cmd[cmd.index('--target') + 1]
                    profile = cmd[cmd.index('--profile') + 1]
                    out = os.path.join(kwargs['env']['CARGO_TARGET_DIR'], target, profile)
                    os.makedirs(out, exist_ok=True)
                    with open(os.path.join(out, 'librtonnx.a'), 'w'):
                        pass
                return subprocess.CompletedProcess(cmd, 0 if cargo_ok else 101, '', '')
            raise AssertionError('unexpected command %r' % (cmd,))

        saved = {k: sys.modules.get(k) for k in ('building', 'rtconfig')}
        sys.modules['building'] = self._building()
        sys.modules['rtconfig'] = self.rtconfig
        try:
            with open(SCONSCRIPT) as f:
                code = compile(f.read(), SCONSCRIPT, 'exec')
            with mock.patch.object(subprocess, 'run', fake_run), \
                    mock.patch.object(shutil, 'which', lambda name: which.get(name)):
                exec(code, {'__name__': 'SConscript', '__file__': SCONSCRIPT})
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
        return self

    def cargo_command(self):
        cmds = [(c, env) for c, env in self.commands if c[:2] == ['cargo', 'rustc']]
        assert len(cmds) == 1, self.commands
        return cmds[0]


def load_functions():
    """The SConscript's module-level functions (running it with the package disabled)."""
    bsp = Bsp(options={'PKG_USING_RTONNX': 0})
    ns = {}
    saved = {k: sys.modules.get(k) for k in ('building', 'rtconfig')}
    sys.modules['building'] = bsp._building()
    sys.modules['rtconfig'] = bsp.rtconfig
    try:
        with open(SCONSCRIPT) as f:
            exec(compile(f.read(), SCONSCRIPT, 'exec'), ns)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return ns


def run_captured(bsp, **kwargs):
    """Runs the SConscript and returns (bsp, printed text, Stopped or None)."""
    import io
    out = io.StringIO()
    stopped = None
    with mock.patch('sys.stdout', out):
        try:
            bsp.run(**kwargs)
        except Stopped as e:
            stopped = e
    return bsp, out.getvalue(), stopped


# --- target selection -------------------------------------------------------------------

def target_of(arch, cpu, cflags):
    ns = load_functions()
    return ns['rust_target'](arch, cpu, cflags, lambda: 'x86_64-unknown-linux-gnu')


def expect_error(arch, cpu, cflags, words):
    ns = load_functions()
    try:
        ns['rust_target'](arch, cpu, cflags, lambda: 'x86_64-unknown-linux-gnu')
    except ns['TargetError'] as e:
        for w in words:
            assert w in str(e), (w, str(e))
        return
    raise AssertionError('no TargetError for %s %s %s' % (arch, cpu, cflags))


def test_real_bsps():
    # RT-Thread 5.3's STM32F407 BSPs: Cortex-M4 with hard float (no core tuning: measured,
    # it only adds code on the Cortex-M4F).
    assert target_of('arm', 'cortex-m4', STM32F407_CFLAGS) == ('thumbv7em-none-eabihf', [])
    # qemu-vexpress-a9: ARMv7-A with -msoft-float: a hard-float library would be refused.
    assert target_of('arm', 'cortex-a', VEXPRESS_A9_CFLAGS) == ('armv7a-none-eabi', [])


def test_cortex_m_family():
    assert target_of('arm', 'cortex-m0', '-mcpu=cortex-m0 -mthumb')[0] == 'thumbv6m-none-eabi'
    assert target_of('arm', '', '-mcpu=cortex-m0plus -mthumb')[0] == 'thumbv6m-none-eabi'
    assert target_of('arm', 'cortex-m0+', '-mthumb')[0] == 'thumbv6m-none-eabi'
    assert target_of('arm', 'cortex-m3', '-mcpu=cortex-m3 -mthumb') == (
        'thumbv7m-none-eabi', ['-C', 'target-cpu=cortex-m3'])
    assert target_of('arm', 'cortex-m23', '-mcpu=cortex-m23')[0] == 'thumbv8m.base-none-eabi'
    assert target_of('arm', 'cortex-m33', '-mcpu=cortex-m33 -mfpu=fpv5-sp-d16 '
                     '-mfloat-abi=hard')[0] == 'thumbv8m.main-none-eabihf'
    assert target_of('arm', 'cortex-m33', '-mcpu=cortex-m33')[0] == 'thumbv8m.main-none-eabi'
    assert target_of('arm', 'cortex-m85', '-mcpu=cortex-m85 -mfloat-abi=hard')[0] == \
        'thumbv8m.main-none-eabihf'


def test_float_abi_is_read_from_cflags():
    # softfp passes floats in integer registers: the soft-float target.
    t, flags = target_of('arm', 'cortex-m4', '-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 '
                         '-mfloat-abi=softfp')
    assert t == 'thumbv7em-none-eabi'
    # No target-cpu on soft float: LLVM would use the optional FPU the BSP did not enable.
    assert flags == []
    assert target_of('arm', 'cortex-m4', '-mcpu=cortex-m4')[0] == 'thumbv7em-none-eabi'
    # The last flag wins, as in gcc.
    assert target_of('arm', 'cortex-m4', '-mfloat-abi=hard -mfloat-abi=soft')[0] == \
        'thumbv7em-none-eabi'
    assert target_of('arm', 'cortex-m4', '-mfloat-abi=soft -mfloat-abi=hard')[0] == \
        'thumbv7em-none-eabihf'
    assert target_of('arm', 'cortex-a', '-march=armv7-a -mfpu=neon -mfloat-abi=hard')[0] == \
        'armv7a-none-eabihf'


def test_cortex_m7_single_precision_fpu_disables_fp64():
    t, flags = target_of('arm', 'cortex-m7', '-mcpu=cortex-m7 -mfpu=fpv5-sp-d16 '
                         '-mfloat-abi=hard')
    assert t == 'thumbv7em-none-eabihf'
    assert flags == ['-C', 'target-cpu=cortex-m7', '-C', 'target-feature=-fp64']
    t, flags = target_of('arm', 'cortex-m7', '-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard')
    assert flags == ['-C', 'target-cpu=cortex-m7']


def test_cortex_a_and_r():
    assert target_of('arm', 'cortex-a', '-mcpu=cortex-a9 -msoft-float') == (
        'armv7a-none-eabi', [])
    assert target_of('arm', 'i.mx6', '-march=armv7-a -mfloat-abi=hard')[0] == \
        'armv7a-none-eabihf'
    assert target_of('arm', 'zynqmp-r5', '-mcpu=cortex-r5 -mfloat-abi=hard')[0] == \
        'armv7r-none-eabihf'
    assert target_of('arm', 'cortex-r52', '-mcpu=cortex-r52 -mfloat-abi=hard')[0] == \
        'armv8r-none-eabihf'
    expect_error('arm', 'cortex-r52', '-mcpu=cortex-r52', ['armv8r-none-eabihf'])


def test_aarch64():
    assert target_of('aarch64', 'cortex-a', '-march=armv8-a -mtune=cortex-a53')[0] == \
        'aarch64-unknown-none'
    assert target_of('aarch64', 'cortex-a', '-march=armv8-a -mgeneral-regs-only')[0] == \
        'aarch64-unknown-none-softfloat'


def test_riscv():
    # hifive1 (e310) and the float-ABI rules.
    assert target_of('risc-v', 'e310', '-march=rv32imac -mabi=ilp32 -mcmodel=medany')[0] == \
        'riscv32imac-unknown-none-elf'
    assert target_of('risc-v', 'x', '-march=rv32imafc -mabi=ilp32f')[0] == \
        'riscv32imafc-unknown-none-elf'
    assert target_of('risc-v', 'x', '-march=rv32imafc -mabi=ilp32')[0] == \
        'riscv32imac-unknown-none-elf'
    assert target_of('risc-v', 'x', '-march=rv32imc_zicsr -mabi=ilp32')[0] == \
        'riscv32imc-unknown-none-elf'
    # qemu-virt64-riscv: FD hardware but the soft-float lp64 ABI.
    assert target_of('risc-v', 'virt64', '-mcmodel=medany -march=rv64imafdc -mabi=lp64')[0] \
        == 'riscv64imac-unknown-none-elf'
    assert target_of('risc-v', 'c906', '-march=rv64gc -mabi=lp64d')[0] == \
        'riscv64gc-unknown-none-elf'
    # k210: lp64f has no Rust target; the message says what to change.
    expect_error('risc-v', 'rv64', '-march=rv64imafc -mabi=lp64f', ['lp64f', 'lp64d'])
    expect_error('risc-v', 'x', '-march=rv32gc -mabi=ilp32d', ['ilp32d'])


def test_simulator_uses_host_triple():
    assert target_of('sim', 'posix', '-ffunction-sections -fdata-sections')[0] == \
        'x86_64-unknown-linux-gnu'
    assert target_of('sim', 'posix', ' -m32 -ffunction-sections')[0] == \
        'i686-unknown-linux-gnu'


def test_unsupported_cpus_are_refused_with_a_reason():
    expect_error('arm', 'arm926', '-mcpu=arm926ej-s', ['arm926', 'tier-3', 'Cortex-M0'])
    expect_error('mips', 'gs232', '-march=mips32', ['mips'])


# --- the whole script -------------------------------------------------------------------

def test_disabled_package_adds_nothing():
    bsp, out, stopped = run_captured(Bsp(options={'PKG_USING_RTONNX': 0}))
    assert stopped is None and bsp.returned == [] and bsp.groups == [] and bsp.commands == []


def test_build_runs_cargo_and_links_after_newlib():
    bsp, out, stopped = run_captured(Bsp(options={'RTONNX_USING_EXAMPLE_MNIST_MODEL': 0}))
    assert stopped is None, out
    cmd, env = bsp.cargo_command()
    assert cmd[:3] == ['cargo', 'rustc', '--locked']
    # Built as a staticlib only, so that LTO leaves just the C API global.
    assert cmd[cmd.index('--crate-type') + 1] == 'staticlib'
    assert cmd[cmd.index('--target') + 1] == 'thumbv7em-none-eabihf'
    # An rtconfig.h without the build-parts options (from an older package) builds it all.
    assert cmd[cmd.index('--features') + 1] == 'rtthread,fs,onnx,all-ops'
    assert '--no-default-features' in cmd
    assert cmd[cmd.index('--profile') + 1] == 'device'
    assert cmd[cmd.index('--manifest-path') + 1] == os.path.join(REPO, 'Cargo.toml')
    assert env['CARGO_TARGET_DIR'] == os.path.join(bsp.bsp_root, 'build', 'rtonnx')
    assert 'target-cpu' not in env.get('RUSTFLAGS', '')
    (group,) = bsp.groups
    assert group['depend'] == ['PKG_USING_RTONNX']
    # c, m and gcc come before the Rust archive.
    assert group['LIBS'] == ['c', 'm', 'gcc', 'rtonnx']
    assert group['LIBPATH'] == [os.path.join(bsp.bsp_root, 'build', 'rtonnx',
                                             'thumbv7em-none-eabihf', 'device')]
    # Relative to the SConscript's folder, so that SCons builds the objects in the BSP's
    # variant folder (build/), not beside the sources (test_real_scons_* below).
    assert group['src'] == ['port/rtonnx_port.c']
    assert group['LOCAL_CPPDEFINES'] == ['RTONNX_RTTHREAD']
    # For the whole BSP: rtonnx.h refuses PKG_USING_RTONNX without it.
    assert group['CPPDEFINES'] == ['RTONNX_PACKAGE_BUILT']
    assert group['CPPPATH'] == [os.path.join(REPO, 'c_api')]
    assert bsp.returned == ['objs-of-rtonnx']


def test_options_change_features_and_profile():
    bsp, out, stopped = run_captured(Bsp(arch='arm', cpu='cortex-a', cflags=VEXPRESS_A9_CFLAGS,
                                         options={'RTONNX_USING_FILE': 0,
                                                  'RTONNX_DEBUG_BUILD': 1}))
    assert stopped is None, out
    cmd, env = bsp.cargo_command()
    assert cmd[cmd.index('--target') + 1] == 'armv7a-none-eabi'
    assert cmd[cmd.index('--features') + 1] == 'rtthread,onnx,all-ops'
    assert cmd[cmd.index('--profile') + 1] == 'device-debug'
    assert 'RUSTFLAGS' not in env or 'target-cpu' not in env['RUSTFLAGS']
    # The port without file loading still tells the library the thread's free stack.
    assert bsp.groups[0]['src'] == ['port/rtonnx_port.c']
    bsp, out, stopped = run_captured(Bsp(options={'RTONNX_OPTIMIZE_SIZE': 1}))
    cmd, env = bsp.cargo_command()
    assert cmd[-2:] == ['--config', 'profile.device.opt-level="s"']


def test_build_parts_map_to_cargo_features():
    # An rtconfig.h with the families but not their parts: every part of a family that is on.
    parts = {'RTONNX_HAS_BUILD_PARTS': 1, 'RTONNX_OP_CONV': 1, 'RTONNX_OP_DENSE': 1,
             'RTONNX_OP_SOFTMAX': 1, 'RTONNX_OP_LAYOUT': 1}
    bsp, out, stopped = run_captured(Bsp(options=parts))
    assert stopped is None, out
    cmd, _ = bsp.cargo_command()
    assert cmd[cmd.index('--features') + 1] == 'rtthread,fs,op-conv,op-dense,op-softmax,op-layout'
    bsp, out, stopped = run_captured(Bsp(options=dict(parts, RTONNX_ONNX_LOADER=1)))
    cmd, _ = bsp.cargo_command()
    assert cmd[cmd.index('--features') + 1] == \
        'rtthread,fs,onnx,op-conv,op-dense,op-softmax,op-layout'
    # With the parts (what `rtonnx compile --kconfig` prints for keras2onnx mnist-sm), only
    # the parts that are on; a part under a family that is off does not count.
    kernels = dict(parts, RTONNX_HAS_KERNEL_PARTS=1, RTONNX_OP_CONV_3X3POOL=1,
                   RTONNX_OP_DENSE_LAYER=1, RTONNX_OP_SOFTMAX_PLAIN=1,
                   RTONNX_OP_LAYOUT_TRANSPOSE=1, RTONNX_OP_POOL_WINDOW=1,
                   RTONNX_OP_ACTIVATION=1)
    bsp, out, stopped = run_captured(Bsp(options=kernels))
    assert stopped is None, out
    cmd, _ = bsp.cargo_command()
    assert cmd[cmd.index('--features') + 1] == ('rtthread,fs,op-conv-3x3pool,op-dense-layer,'
                                               'op-activation,op-softmax-plain,op-layout-transpose')


def test_every_operator_family_has_a_menuconfig_option_on_by_default():
    families = load_functions()['op_families']()
    names = [name for name, _ in families]
    assert len(families) >= 9 and ('conv', ['any', '3x3', '3x3pool']) in families
    with open(os.path.join(REPO, 'Kconfig')) as f:
        kconfig = f.read()
    options = ['RTONNX_OP_' + name.upper() for name in names]
    options += ['RTONNX_OP_%s_%s' % (name.upper(), part.upper())
                for name, parts in families for part in parts]
    for option in options:
        line = 'config ' + option + '\n'
        assert line in kconfig, option
        after = kconfig.split(line, 1)[1].split('config ', 1)[0]
        assert 'default y' in after, option
    with open(os.path.join(REPO, 'Cargo.toml')) as f:
        cargo = f.read()
    all_ops = cargo.split('all-ops = [', 1)[1].split(']', 1)[0]
    assert sorted(all_ops.replace('"', '').replace(',', ' ').split()) == \
        sorted('op-' + n for n in names)


def test_missing_cargo_says_what_to_install():
    bsp, out, stopped = run_captured(Bsp(), which={})
    assert stopped is not None
    assert "'cargo' was not found" in out
    assert 'rustup target add thumbv7em-none-eabihf' in out
    assert 'RTONNX_PREBUILT_LIB' in out
    assert bsp.groups == []


def test_missing_target_says_what_to_install():
    bsp, out, stopped = run_captured(Bsp(), rustc_libdir_ok=False)
    assert stopped is not None
    assert "target 'thumbv7em-none-eabihf'" in out
    assert 'rustup target add thumbv7em-none-eabihf' in out
    assert not [c for c, _ in bsp.commands if c[:2] == ['cargo', 'rustc']]


def test_cargo_failure_stops_the_build():
    bsp, out, stopped = run_captured(Bsp(), cargo_ok=False)
    assert stopped is not None and 'cargo failed' in out and bsp.groups == []


def test_unsupported_cpu_stops_the_build():
    bsp, out, stopped = run_captured(Bsp(cpu='arm926', cflags='-mcpu=arm926ej-s'))
    assert stopped is not None and 'arm926' in out and bsp.commands == []


def test_clean_registers_the_cargo_directory():
    root = tempfile.mkdtemp(prefix='rtonnx-bsp-')
    os.makedirs(os.path.join(root, 'build', 'rtonnx'))
    bsp, out, stopped = run_captured(Bsp(clean=True, bsp_root=root))
    assert stopped is None
    assert bsp.cleaned == [os.path.join(root, 'build', 'rtonnx')]
    assert bsp.commands == []
    # The sources are given in clean mode too, so that `scons -c` removes their objects.
    assert bsp.groups[0]['src'] == ['port/rtonnx_port.c']
    assert 'LIBS' not in bsp.groups[0]


def test_prebuilt_library_skips_cargo():
    d = tempfile.mkdtemp(prefix='rtonnx-pre-')
    lib = os.path.join(d, 'librtonnx-m4f.a')
    with open(lib, 'w'):
        pass
    bsp, out, stopped = run_captured(Bsp(options={'RTONNX_PREBUILT_LIB': '"%s"' % lib}),
                                     which={})
    assert stopped is None, out
    assert bsp.commands == []
    assert bsp.groups[0]['LIBS'] == ['c', 'm', 'gcc', 'rtonnx-m4f']
    assert bsp.groups[0]['LIBPATH'] == [d]
    bsp, out, stopped = run_captured(
        Bsp(options={'RTONNX_PREBUILT_LIB': '"%s"' % os.path.join(d, 'missing.a')}))
    assert stopped is not None and 'lib<name>.a' in out


def test_enabled_examples_are_compiled():
    names = {'RTONNX_USING_EXAMPLE_ONNX_MNIST': 'onnx_mnist.c',
             'RTONNX_USING_EXAMPLE_MNIST_SM': 'mnist_sm.c',
             'RTONNX_USING_EXAMPLE_MNIST_MODEL': 'mnist_model.c'}
    for symbol, name in names.items():
        bsp, out, stopped = run_captured(Bsp(options={symbol: 1}))
        path = os.path.join(REPO, 'examples', name)
        if os.path.isfile(path):
            assert stopped is None, out
            assert 'examples/' + name in bsp.groups[0]['src']
            # One table of digits, whichever examples are on.
            assert bsp.groups[0]['src'].count('examples/mnist_images.c') == 1
        else:
            assert stopped is not None and 'missing' in out


def test_all_examples_share_one_image_table():
    bsp, out, stopped = run_captured(Bsp(options={
        'RTONNX_USING_EXAMPLE_ONNX_MNIST': 1, 'RTONNX_USING_EXAMPLE_MNIST_SM': 1,
        'RTONNX_USING_EXAMPLE_MNIST_MODEL': 1}))
    assert stopped is None, out
    src = bsp.groups[0]['src']
    assert src.count('examples/mnist_images.c') == 1, src
    # Every source is named relative to the SConscript's folder, and exists there.
    for name in src:
        assert not os.path.isabs(name), name
        assert os.path.isfile(os.path.join(REPO, name)), name


def test_non_gcc_toolchains_are_refused():
    bsp, out, stopped = run_captured(Bsp(platform='armcc'))
    assert stopped is not None and 'armcc' in out and bsp.commands == []



# --- a real SCons build of a miniature BSP ----------------------------------------------
#
# The tests above stub DefineGroup, so they cannot see where SCons puts the objects. These
# run the package's SConscript in real SCons (from the repository's .venv, where
# tools/setup.sh installs the pinned version) inside a miniature BSP laid out like an
# RT-Thread one: SConstruct reads the BSP's SConscript with variant_dir='build',
# duplicate=0, that SConscript reads each sub-folder's SConscript, packages/SConscript
# (the text docs/rtthread.md gives) reads the package's. Its building.py is written here:
# the few functions the SConscripts call, with the two behaviours of RT-Thread's that matter
# (DefineGroup turns the source names into File nodes of the current SConscript's folder,
# GetCurrentDir is that folder in the source tree). The C files are compiled for the host
# against tests/host_rtthread, as tools/examples.sh does.

MINI_BUILDING = r"""
import os
import re
from SCons.Script import *

Env = None
Options = {}
Groups = []


def PrepareBuilding(env):
    global Env
    Env = env
    with open('rtconfig.h') as f:
        for line in f:
            m = re.match(r'\s*#define\s+(\w+)(?:\s+(.*?))?\s*$', line)
            if m:
                Options[m.group(1)] = m.group(2) or ''
    return SConscript('SConscript', variant_dir='build', duplicate=0)


def GetDepend(depend):
    names = [depend] if isinstance(depend, str) else [n for n in depend if n]
    if not all(n in Options for n in names):
        return False
    if isinstance(depend, str) and Options[depend] != '':
        return Options[depend]
    return True


def GetCurrentDir():
    return Dir('.').srcnode().abspath


def DefineGroup(name, src, depend, **params):
    if not GetDepend(depend):
        return []
    files = File(list(src))
    for key in ('CPPPATH', 'LIBPATH'):
        if params.get(key):
            Env.AppendUnique(**{key: [os.path.abspath(p) for p in params[key]]})
    for key in ('CPPDEFINES', 'LIBS'):
        if params.get(key):
            Env.AppendUnique(**{key: params[key]})
    Groups.append(dict(params, name=name, src=files))
    return files


def DoBuilding(target, sources):
    local = {}
    for g in Groups:
        for f in g['src']:
            local[f.abspath] = g.get('LOCAL_CPPDEFINES', [])
    objs = []
    for f in sources:
        objs += Env.Object(f, CPPDEFINES=Env.get('CPPDEFINES', []) + local.get(f.abspath, []))
    # An archive, not a program: the objects are what these tests look at.
    Env.Library(target, objs)
"""

MINI_SCONSTRUCT = """
import sys
sys.path.insert(0, Dir('#tools').abspath)
from building import *
env = Environment(CFLAGS='-std=c99 -Wall -Wextra -Werror -O1')
objs = PrepareBuilding(env)
DoBuilding('rtthread', objs)
"""

# The BSP's own SConscript, and its applications/ folder, as RT-Thread BSPs have them.
MINI_BSP_SCONSCRIPT = """
import os
from building import *
objs = []
for d in sorted(os.listdir(GetCurrentDir())):
    if os.path.isfile(os.path.join(GetCurrentDir(), d, 'SConscript')):
        objs = objs + SConscript(os.path.join(d, 'SConscript'))
Return('objs')
"""

MINI_APP_SCONSCRIPT = """
from building import *
group = DefineGroup('Applications', ['main.c'], depend=[''], CPPPATH=%r)
Return('group')
"""

# An application calling the C API, including rtthread.h (hence rtconfig.h) first.
MINI_APP_MAIN = """#include <rtthread.h>
#include "rtonnx.h"

int app_main(void)
{
    onnx_model_t *model = onnx_model_load("/mnist-sm.onnx");
    onnx_model_free(model);
    return 0;
}
"""

PACKAGE_FILES = ['SConscript', 'Kconfig', 'c_api/rtonnx.h', 'port/rtonnx_port.c',
                 'tools/check_install.py']


def _venv_python(module):
    """A Python that has `module`: this one, or the repository's .venv (tools/setup.sh)."""
    for py in (sys.executable, os.path.join(REPO, '.venv', 'bin', 'python')):
        if os.path.isfile(py) and subprocess.run([py, '-c', 'import ' + module],
                                                 capture_output=True).returncode == 0:
            return py
    raise AssertionError('no Python with %s: run bash tools/setup.sh (it installs '
                         'tools/requirements-ci.txt into .venv)' % module)


def _check_install():
    ns = {'__name__': 'check_install', '__file__': os.path.join(REPO, 'tools', 'check_install.py')}
    with open(ns['__file__']) as f:
        exec(compile(f.read(), ns['__file__'], 'exec'), ns)
    return ns


def make_mini_bsp(packages_sconscript=True, app_cpppath=(), examples=True):
    """A miniature BSP in a temporary folder with a copy of the package in packages/rtonnx;
    returns its path."""
    root = tempfile.mkdtemp(prefix='rtonnx-minibsp-')

    def write(rel, text):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    write('tools/building.py', MINI_BUILDING)
    write('SConstruct', MINI_SCONSTRUCT)
    write('SConscript', MINI_BSP_SCONSCRIPT)
    write('rtconfig.py', "ARCH = 'sim'\nCPU = 'posix'\nPLATFORM = 'gcc'\nDEVICE = ''\n"
          "CFLAGS = ''\n")
    lib = os.path.join(root, 'prebuilt', 'librtonnx.a')
    write('prebuilt/librtonnx.a', '')
    options = ['PKG_USING_RTONNX', 'RTONNX_USING_FILE']
    if examples:
        options += ['RTONNX_USING_EXAMPLE_MNIST_MODEL', 'RTONNX_USING_EXAMPLE_MNIST_SM']
    write('rtconfig.h', ''.join('#define %s\n' % o for o in options)
          + '#define RTONNX_PREBUILT_LIB "%s"\n' % lib)
    write('.config', ''.join('CONFIG_%s=y\n' % o for o in options))
    cpppath = [os.path.join(REPO, 'tests', 'host_rtthread')] + list(app_cpppath)
    write('applications/SConscript', MINI_APP_SCONSCRIPT % (cpppath,))
    write('applications/main.c', MINI_APP_MAIN)
    if packages_sconscript:
        write('packages/SConscript', _check_install()['PACKAGES_SCONSCRIPT'])
    pkg = os.path.join(root, 'packages', 'rtonnx')
    for rel in PACKAGE_FILES:
        os.makedirs(os.path.dirname(os.path.join(pkg, rel)), exist_ok=True)
        shutil.copy(os.path.join(REPO, rel), os.path.join(pkg, rel))
    shutil.copytree(os.path.join(REPO, 'examples'), os.path.join(pkg, 'examples'),
                    ignore=shutil.ignore_patterns('models', '*.o'))
    return root


def scons(root, *args):
    res = subprocess.run([_venv_python('SCons'), '-m', 'SCons', '-Q'] + list(args), cwd=root,
                         capture_output=True, text=True)
    return res.returncode, res.stdout + res.stderr


def objects_under(path):
    return sorted(os.path.relpath(os.path.join(d, f), path)
                  for d, _, files in os.walk(path) for f in files if f.endswith('.o'))


def test_real_scons_builds_the_objects_under_build_and_cleans_them():
    root = make_mini_bsp()
    rc, out = scons(root)
    assert rc == 0, out
    objs = objects_under(os.path.join(root, 'build'))
    assert objs == ['applications/main.o', 'packages/rtonnx/examples/mnist_images.o',
                    'packages/rtonnx/examples/mnist_model.o',
                    'packages/rtonnx/examples/mnist_sm.o',
                    'packages/rtonnx/port/rtonnx_port.o'], objs
    # Nothing inside the package folder (the bug of absolute source paths).
    assert objects_under(os.path.join(root, 'packages')) == []
    # The port was compiled with the package's local define RTONNX_RTTHREAD: without it, it
    # would define the bare-metal rtonnx_port_errno.
    nm = subprocess.run(['nm', os.path.join(root, 'build', 'packages', 'rtonnx', 'port',
                                            'rtonnx_port.o')], capture_output=True, text=True)
    assert nm.returncode == 0 and 'rtonnx_port_file_size' in nm.stdout, nm
    assert 'rtonnx_port_errno' not in nm.stdout, nm.stdout
    # The check sees a complete installation (no map file here: a library, not a link).
    import io
    report = io.StringIO()
    assert _check_install()['check'](root, os.path.join(root, 'packages', 'rtonnx'),
                                     out=report) == 0, report.getvalue()
    assert 'build/packages/rtonnx/port/rtonnx_port.o' in report.getvalue()
    # scons -c removes every object and cargo's folder (made here as cargo would).
    os.makedirs(os.path.join(root, 'build', 'rtonnx', 'x86_64-unknown-linux-gnu', 'device'))
    with open(os.path.join(root, 'build', 'rtonnx', 'x86_64-unknown-linux-gnu', 'device',
                           'librtonnx.a'), 'w'):
        pass
    rc, out = scons(root, '-c')
    assert rc == 0, out
    assert objects_under(root) == [], objects_under(root)
    assert not os.path.exists(os.path.join(root, 'build', 'rtonnx')), out


def test_real_scons_without_packages_sconscript_is_caught():
    # The manual install without packages/SConscript: scons never reads the package. An
    # application that found rtonnx.h by itself stops on the header's #error ...
    root = make_mini_bsp(packages_sconscript=False,
                         app_cpppath=[os.path.join(REPO, 'c_api')])
    rc, out = scons(root)
    assert rc != 0, out
    assert 'did not read the package\'s SConscript' in out and 'packages/SConscript' in out, out
    assert objects_under(os.path.join(root, 'build')) == []
    # ... and the check says what is missing and how to write it.
    import io
    ci = _check_install()
    pkg = os.path.join(root, 'packages', 'rtonnx')
    report = io.StringIO()
    assert ci['check'](root, pkg, out=report) == 1, report.getvalue()
    text = report.getvalue()
    assert 'PROBLEM: packages/SConscript is missing' in text, text
    assert '--write-sconscript' in text, text
    # --write-sconscript writes it; then the same BSP builds the package.
    report = io.StringIO()
    assert ci['check'](root, pkg, write=True, out=report) == 0, report.getvalue()
    with open(os.path.join(root, 'packages', 'SConscript')) as f:
        assert f.read() == ci['PACKAGES_SCONSCRIPT']
    rc, out = scons(root)
    assert rc == 0, out
    assert 'packages/rtonnx/port/rtonnx_port.o' in objects_under(os.path.join(root, 'build'))


def test_real_scons_without_packages_sconscript_builds_nothing_of_ours():
    # No application of ours: the build succeeds (nothing SCons can do about it), with no
    # object of the package: the case only the check can report.
    root = make_mini_bsp(packages_sconscript=False)
    os.remove(os.path.join(root, 'applications', 'main.c'))
    with open(os.path.join(root, 'applications', 'main.c'), 'w') as f:
        f.write('#include <rtthread.h>\nint app_main(void) { return 0; }\n')
    rc, out = scons(root)
    assert rc == 0, out
    assert objects_under(os.path.join(root, 'build')) == ['applications/main.o']
    import io
    report = io.StringIO()
    assert _check_install()['check'](root, os.path.join(root, 'packages', 'rtonnx'),
                                     out=report) == 1
    assert 'packages/SConscript is missing' in report.getvalue()


def test_header_refuses_pkg_using_rtonnx_without_the_sconscript():
    src = os.path.join(tempfile.mkdtemp(prefix='rtonnx-hdr-'), 'app.c')
    with open(src, 'w') as f:
        f.write(MINI_APP_MAIN)
    cmd = ['cc', '-std=c99', '-fsyntax-only', '-I' + os.path.join(REPO, 'tests', 'host_rtthread'),
           '-I' + os.path.join(REPO, 'c_api'), src]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode != 0 and 'packages/SConscript' in res.stderr, res.stderr
    res = subprocess.run(cmd + ['-DRTONNX_PACKAGE_BUILT'], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    # Outside RT-Thread (no rtconfig.h with PKG_USING_RTONNX) the header has no condition.
    with open(src, 'w') as f:
        f.write('#include "rtonnx.h"\nint main(void) { return onnx_model_load("x") != 0; }\n')
    res = subprocess.run(cmd[:3] + cmd[4:], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_check_reads_the_link_map():
    ci = _check_install()
    root = make_mini_bsp()
    pkg = os.path.join(root, 'packages', 'rtonnx')
    rc, out = scons(root)
    assert rc == 0, out
    import io

    def run(map_text):
        with open(os.path.join(root, 'rtthread.map'), 'w') as f:
            f.write(map_text)
        report = io.StringIO()
        return ci['check'](root, pkg, out=report), report.getvalue()

    lib = os.path.join(root, 'prebuilt', 'librtonnx.a')
    good = ''.join('LOAD %s\n' % p for p in [
        'build/applications/main.o', 'build/packages/rtonnx/port/rtonnx_port.o',
        'build/packages/rtonnx/examples/mnist_model.o',
        'build/packages/rtonnx/examples/mnist_sm.o',
        'build/packages/rtonnx/examples/mnist_images.o', lib])
    n, text = run(good)
    assert n == 0 and 'rtthread.map links librtonnx.a' in text, text
    n, text = run('LOAD build/applications/main.o\n')
    assert n == 1 and 'did not include the rtonnx library' in text, text
    n, text = run(good.replace('mnist_sm.o', 'other.o'))
    assert n == 1 and 'lacks mnist_sm.o' in text, text
    # Objects an older version left in the package folder are reported.
    with open(os.path.join(pkg, 'port', 'rtonnx_port.o'), 'w'):
        pass
    n, text = run(good)
    assert n == 1 and 'inside the package folder' in text, text


def test_check_reports_a_missing_kconfig_hookup():
    ci = _check_install()
    root = make_mini_bsp()
    with open(os.path.join(root, '.config'), 'w') as f:
        f.write('CONFIG_RT_USING_HEAP=y\n')
    import io
    report = io.StringIO()
    assert ci['check'](root, os.path.join(root, 'packages', 'rtonnx'), out=report) == 1
    assert 'source "packages/rtonnx/Kconfig"' in report.getvalue(), report.getvalue()


def _doc_block_after(marker):
    """The text of the first fenced code block after `marker` in docs/rtthread.md."""
    with open(os.path.join(REPO, 'docs', 'rtthread.md')) as f:
        doc = f.read()
    at = doc.index(marker)
    start = doc.index('```', at)
    start = doc.index('\n', start) + 1
    import textwrap
    # A block inside a list item is indented: the text without that indentation.
    block = doc[start:doc.index('```', start)]
    return textwrap.dedent(block.rstrip(' '))


def test_guide_gives_the_packages_sconscript_the_check_writes():
    assert _doc_block_after('`packages/SConscript`, with this text') == \
        _check_install()['PACKAGES_SCONSCRIPT']


def test_guide_kconfig_hookup_works_with_kconfiglib():
    # The line the guide adds to the BSP's Kconfig, in a BSP Kconfig with the kernel symbols
    # the package's Kconfig depends on; kconfiglib (RT-Thread 5's menuconfig) writes
    # rtconfig.h-style output with the package's options.
    line = _doc_block_after('add this line to the BSP\'s `Kconfig`').strip()
    root = make_mini_bsp()
    with open(os.path.join(root, 'Kconfig'), 'w') as f:
        f.write('mainmenu "RT-Thread Configuration"\n'
                'config RT_USING_HEAP\n    bool "heap"\n    default y\n'
                'config RT_USING_DFS\n    bool "dfs"\n    default y\n'
                'config DFS_USING_POSIX\n    bool "posix"\n    default y\n'
                'config RT_USING_FINSH\n    bool "finsh"\n    default y\n'
                + line + '\n')
    script = ('import kconfiglib\n'
              'k = kconfiglib.Kconfig("Kconfig")\n'
              'for s in ("PKG_USING_RTONNX", "RTONNX_USING_EXAMPLE_MNIST_MODEL"):\n'
              '    assert k.syms[s].set_value(2), s\n'
              'k.write_autoconf("out.h")\n')
    res = subprocess.run([_venv_python('kconfiglib'), '-c', script], cwd=root,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    with open(os.path.join(root, 'out.h')) as f:
        header = f.read()
    for name in ('CONFIG_PKG_USING_RTONNX 1', 'CONFIG_RTONNX_USING_FILE 1',
                 'CONFIG_RTONNX_USING_EXAMPLE_MNIST_MODEL 1',
                 'CONFIG_RTONNX_EXAMPLE_STACK_SIZE 8192'):
        assert name in header, (name, header)

if __name__ == '__main__':
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith('test_')]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print('ok     ' + name)
        except Exception as e:  # report every failure, then exit non-zero
            failed += 1
            print('FAILED %s: %r' % (name, e))
    print('%d passed, %d failed' % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
