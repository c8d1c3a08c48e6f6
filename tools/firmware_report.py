#!/usr/bin/env python3
"""Checks and summarises a run of the mps2-an386 test firmware (tools/firmware_test.sh).

usage: firmware_report.py --log FIRMWARE_OUTPUT --icount PLUGIN_OUTPUT --model MODEL.onnx
                          --map firmware.map --elf firmware.elf [--reference FILE.json]
                          [--summary-json OUT.json]

Checks that every bundled image was run from both model sources and that the predictions
equal the host's (from --reference: a JSON file written by tools/firmware_test.sh from the
host build of rtonnx or onnxruntime, mapping test-image index to the predicted digit), pairs
each "MEASURE" line with the exact instruction count of the icount plugin, and prints the
figures. Exits non-zero when a check fails.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cross'))
import map_sizes  # noqa: E402


# Where the firmware loads the model from: flash copied (onnx_model_load_from_memory), flash
# in place (onnx_model_load_static), a host file (onnx_model_load); with its load measurement.
SOURCES = ('flash', 'static', 'file')
LOADS = {'flash': 'load-memory', 'static': 'load-static', 'file': 'load-file'}


def header_constants(names):
    """Values of `#define NAME value` lines of c_api/rtonnx.h."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'c_api', 'rtonnx.h')
    values = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == '#define' and parts[1] in names:
                values[parts[1]] = int(parts[2])
    return values


def check_stack_needs(exact, runs, model, summary, failures):
    """The stack the library used beyond the caller's frame (a measured call minus the empty
    measurement) against what RT-Thread builds check before a call (ONNX_STACK_* in the
    header): a call that needs more than the check asks for could still overflow."""
    needs = header_constants({'ONNX_STACK_LOAD', 'ONNX_STACK_LOAD_PLAN', 'ONNX_STACK_RUN'})
    if 'empty' not in exact or len(needs) != 3:
        failures.append('no empty measurement or no ONNX_STACK_* constants in rtonnx.h')
        return
    base = exact['empty']['stack']
    load_need = needs['ONNX_STACK_LOAD_PLAN' if model.endswith('.rtm') else 'ONNX_STACK_LOAD']
    used = {name: exact[name]['stack'] - base
            for name in ('load-memory', 'load-static', 'load-file') if name in exact}
    if runs:
        used['run'] = max(v['stack'] for v in runs.values()) - base
    parts = []
    for name, bytes_used in sorted(used.items()):
        need = needs['ONNX_STACK_RUN'] if name == 'run' else load_need
        parts.append('%s %d of %d' % (name, bytes_used, need))
        summary['library_stack_' + name.replace('-', '_')] = bytes_used
        if bytes_used > need:
            failures.append('%s used %d B of stack beyond the caller, above the %d B the '
                            'RT-Thread check asks for' % (name, bytes_used, need))
    print('  stack used beyond the caller / checked on RT-Thread (ONNX_STACK_*): %s B'
          % ', '.join(parts))


def parse_log(text):
    results = {}  # (source, index) -> (label, predicted, probs)
    measures = []  # (name, fields)
    info = {}
    for line in text.splitlines():
        m = re.search(r'result (\w+) image (\d+) label (\d+) predicted (\d+) probs((?: -?\d+)*)$',
                     line)
        if m:
            results[(m.group(1), int(m.group(2)))] = (
                int(m.group(3)), int(m.group(4)), [int(v) for v in m.group(5).split()])
            continue
        m = re.search(r'MEASURE (\S+)((?: \w+ \d+)*)$', line)
        if m:
            words = m.group(2).split()
            measures.append((m.group(1), {words[i]: int(words[i + 1])
                                          for i in range(0, len(words), 2)}))
            continue
        m = re.match(r'^size((?: \w+ \d+)*)$', line)
        if m:
            words = m.group(1).split()
            info.update({words[i]: int(words[i + 1]) for i in range(0, len(words), 2)})
            continue
        m = re.match(r'^error-path (\S+) (\S+)$', line)
        if m:
            info['error-path ' + m.group(1)] = m.group(2)
    return results, measures, info


def elf_size(elf):
    out = subprocess.run(['arm-none-eabi-size', elf], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    return int(out[0]), int(out[1]), int(out[2])


def node_profile(log, marks, failures):
    """The exact instructions of each node of one profiled inference: the firmware's clock
    callback runs icount_mark() before the first node and after each node, then twice back to
    back (the clock's own cost, subtracted). Rows come from the firmware's profile table."""
    m = re.search(r'^PROFILE nodes (\d+)$', log, re.M)
    if not m:
        return None
    n = int(m.group(1))
    if len(marks) != n + 3:
        failures.append('profile: %d nodes but %d marks' % (n, len(marks)))
        return None
    clock = marks[n + 2] - marks[n + 1]
    insns = [marks[i + 1] - marks[i] - clock for i in range(n)]
    rows = re.findall(r'^\s*(\d+) (\S+)\s+(\S*)\s+(\d+)\s+(\d+)\s+\d+\s+\d+\.\d%$',
                      log[m.end():], re.M)[:n]
    if len(rows) != n:
        failures.append('profile: %d table rows for %d nodes' % (len(rows), n))
        return None
    total = sum(insns)
    print('  per node, one inference (exact instructions, icount plugin marks; clock cost %d '
          'subtracted):' % clock)
    print('      # %-20s %-16s %8s %9s %6s %9s' % ('op', 'name', 'MACs', 'instr', 'share',
                                                  'instr/MAC'))
    out = []
    for (i, op, name, macs, out_b), k in zip(rows, insns):
        macs = int(macs)
        print('    %3s %-20s %-16s %8d %9d %5.1f%% %9s' % (
            i, op, name, macs, k, 100.0 * k / max(total, 1),
            '%.2f' % (k / macs) if macs else '-'))
        out.append({'op': op, 'name': name, 'macs': macs, 'out_bytes': int(out_b),
                    'insns': k})
    print('    total %d instructions in the nodes' % total)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--log', required=True)
    ap.add_argument('--icount', required=True)
    ap.add_argument('--model', required=True)
    ap.add_argument('--map', required=True)
    ap.add_argument('--elf', required=True)
    ap.add_argument('--reference')
    ap.add_argument('--summary-json')
    args = ap.parse_args()

    with open(args.log, errors='replace') as f:
        log = f.read()
    with open(args.icount) as f:
        plugin_lines = f.read().splitlines()
    counts = [int(l.split()[1]) for l in plugin_lines if l.startswith('icount ')]
    marks = [int(l.split()[1]) for l in plugin_lines if l.startswith('mark ')]
    results, measures, info = parse_log(log)
    failures = []

    if len(counts) != len(measures):
        failures.append('%d MEASURE lines but %d icount lines' % (len(measures), len(counts)))
    marker_overhead = counts[0] if counts else 0
    exact = {}
    for (name, fields), n in zip(measures, counts):
        fields['insns'] = n - marker_overhead
        exact[name] = fields
    # The helpers around each measured call (measure_start/measure_end) cost a constant number
    # of instructions: the "empty" measurement, subtracted from every other one.
    helper = exact.get('empty', {}).get('insns', 0)

    reference = None
    ort_outputs = None
    if args.reference:
        with open(args.reference) as f:
            ref_doc = json.load(f)
        reference = {int(k): v for k, v in ref_doc['predictions'].items()}
        if 'onnxruntime_outputs' in ref_doc:
            ort_outputs = {int(k): v for k, v in ref_doc['onnxruntime_outputs'].items()}

    model = os.path.basename(args.model)
    print('== %s' % model)
    images = sorted({i for (_, i) in results})
    for source in SOURCES:
        got = {i: results[(source, i)] for (s, i) in results if s == source}
        if not got:
            failures.append('no results for the model loaded from %s' % source)
            continue
        wrong = [i for i in images if i not in got]
        if wrong:
            failures.append('%s: images %s missing' % (source, wrong))
        if reference is not None:
            for i, (label, pred, _) in sorted(got.items()):
                if reference.get(i) != pred:
                    failures.append('%s: image %d predicted %d, host %s' %
                                    (source, i, pred, reference.get(i)))
    flash = {i: results[('flash', i)] for (s, i) in results if s == 'flash'}
    file_ = {i: results[('file', i)] for (s, i) in results if s == 'file'}
    for other in ('static', 'file'):
        got = {i: results[(other, i)] for (s, i) in results if s == other}
        for i in images:
            if i in flash and i in got and flash[i] != got[i]:
                failures.append('image %d: flash and %s models disagree' % (i, other))
    for key in ('error-path missing-file', 'error-path empty-buffer'):
        if info.get(key) != 'ok':
            failures.append('%s: %s' % (key, info.get(key)))

    if images:
        print('  predictions (image:digit): ' + ' '.join(
            '%d:%d' % (i, flash.get(i, file_.get(i, (0, -1, [])))[1]) for i in images))
        labels = [flash.get(i, file_.get(i))[0] for i in images if i in flash or i in file_]
        preds = [flash.get(i, file_.get(i))[1] for i in images if i in flash or i in file_]
        print('  correct against the labels: %d of %d; host reference: %s' % (
            sum(a == b for a, b in zip(labels, preds)), len(preds),
            'equal' if reference is not None and not any('host' in f for f in failures)
            else ('MISMATCH' if reference is not None else 'none given')))

    if ort_outputs is not None:
        # The firmware prints each output x 1e6 rounded: allow that rounding (5e-7) on top of
        # the 1e-5 the engine promises.
        worst = 0.0
        for (source, i), (_, _, probs) in sorted(results.items()):
            ref = ort_outputs.get(i)
            if ref is None or len(ref) != len(probs):
                failures.append('%s: image %d: %d outputs, onnxruntime %s' %
                                (source, i, len(probs), None if ref is None else len(ref)))
                continue
            worst = max([worst] + [abs(p / 1e6 - r) for p, r in zip(probs, ref)])
        print('  max abs difference of the outputs to onnxruntime: %.2g (printed to 1e-6)' % worst)
        if worst > 1e-5 + 5e-7:
            failures.append('outputs differ from onnxruntime by %.3g' % worst)

    runs = {k: v for k, v in exact.items() if k.startswith('run-flash-')}
    runs_other = {src: {k: v for k, v in exact.items() if k.startswith('run-%s-' % src)}
                  for src in ('static', 'file')}
    summary = {'model': model}
    if runs:
        insns = sorted(v['insns'] - helper for v in runs.values())
        ticks = sorted(v['ticks'] for v in runs.values())
        summary.update({
            'insns_per_inference_min': insns[0], 'insns_per_inference_max': insns[-1],
            'insns_per_inference_median': insns[len(insns) // 2],
            'systick_estimate_median': ticks[len(ticks) // 2] * 40,
            'stack_per_inference': max(v['stack'] for v in runs.values()),
            'heap_calls_per_inference': max(v['heap_calls'] for v in runs.values()),
        })
        print('  instructions per inference (exact, icount plugin): median %d, min %d, max %d'
              % (summary['insns_per_inference_median'], insns[0], insns[-1]))
        print('  (SysTick x 40 under -icount shift=0: median %d)' %
              summary['systick_estimate_median'])
        for src, how in (('static', 'used in place from flash'), ('file', 'loaded from the file')):
            if runs_other[src]:
                same = sorted(v['insns'] - helper for v in runs_other[src].values()) == insns
                print('  same counts with the model %s: %s' % (how, 'yes' if same else 'no'))
        print('  allocations during inference: %d; stack high-water of an inference: %d B' % (
            summary['heap_calls_per_inference'], summary['stack_per_inference']))
        if summary['heap_calls_per_inference'] != 0:
            failures.append('onnx_run allocated memory')
    for name, key in (('load-memory', 'load_memory'), ('load-static', 'load_static'),
                      ('load-file', 'load_file')):
        if name in exact:
            v = exact[name]
            summary[key + '_insns'] = v['insns'] - helper
            summary[key + '_heap_peak'] = v['heap_peak']
            summary[key + '_stack'] = v['stack']
            print('  %-11s instructions %d, peak heap %d B (bytes requested), stack %d B' % (
                name, v['insns'] - helper, v['heap_peak'], v['stack']))
    check_stack_needs(exact, runs, model, summary, failures)
    first = {'flash': min(runs, default=None)}
    first.update({src: min(r, default=None) for src, r in runs_other.items()})
    for src, load in LOADS.items():
        if load in exact and first[src]:
            # What the load keeps stays allocated while the model runs.
            peak = max(exact[load]['heap_peak'],
                       exact[load]['heap_kept'] + exact[first[src]]['heap_peak'])
            summary['peak_heap_load_and_inference_' + src] = peak
            summary['heap_kept_by_model_' + src] = exact[load]['heap_kept']
            print('  peak heap, load from %s + one inference: %d B (model keeps %d B)' % (
                src, peak, exact[load]['heap_kept']))
    profile = node_profile(log, marks, failures)
    if profile:
        summary['per_node'] = profile
    text, data, bss = elf_size(args.elf)
    own = map_sizes.parse(args.map, 'librtonnx.a')
    lib = {'.text': 0, '.rodata': 0, '.data': 0, '.bss': 0}
    for member, kinds in own.items():
        for k, v in kinds.items():
            lib[k] += v
    summary.update({'firmware_text': text, 'firmware_data': data, 'firmware_bss': bss,
                    'flash_used': info.get('flash'), 'ram_static': info.get('ram_static'),
                    'heap_area_used': info.get('heap_area_used'),
                    'rtonnx_text': lib['.text'], 'rtonnx_rodata': lib['.rodata']})
    print('  firmware: flash %s B (text %d + data %d), static RAM %s B, stack reserved %s B, '
          'heap area used %s B' % (info.get('flash'), text, data, info.get('ram_static'),
                                   info.get('stack_reserved'), info.get('heap_area_used')))
    print('  librtonnx.a in the firmware: text %d B, rodata %d B, data %d B, bss %d B' % (
        lib['.text'], lib['.rodata'], lib['.data'], lib['.bss']))
    if info.get('heap_live_end'):
        failures.append('%d heap bytes still allocated at the end' % info['heap_live_end'])

    if args.summary_json:
        with open(args.summary_json, 'w') as f:
            json.dump(summary, f, indent=1, sort_keys=True)
    for f in failures:
        print('  FAILED: ' + f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
