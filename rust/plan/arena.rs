//! Memory planning: every runtime buffer gets an offset in one arena.
//!
//! Buffers whose lifetimes (first write to last read, in step order) do not overlap share
//! space. Element-wise steps that support it write over their input when that input dies
//! at the step. Placement is greedy: largest buffers first, each at the lowest offset that
//! does not collide with an already placed buffer alive at the same time.

use alloc::vec::Vec;

use crate::error::{err, ErrorCode, Result};
use crate::plan::step::{scratch_of, supports_in_place, Loc, Step};

/// The arena layout: an offset (in elements) per buffer, and the arena size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Offset of each buffer, in f32 elements.
    pub offsets: Vec<usize>,
    /// Arena size in f32 elements.
    pub arena_len: usize,
}

/// Plans buffers of the given lengths for `steps`. `inputs` are live from the start,
/// `outputs` until the end. With `external_inputs` the inputs get no arena space (their
/// offsets are meaningless): the steps read them where the caller has them.
pub fn plan(
    lens: &[usize],
    steps: &[Step],
    inputs: &[usize],
    outputs: &[usize],
    external_inputs: bool,
) -> Result<Plan> {
    let n = lens.len();
    let end = steps.len() + 1;
    // Lifetimes in "time" units: 0 = before the first step, s + 1 = step s, end = after.
    let mut first = zeros(n, usize::MAX)?;
    let mut last = zeros(n, 0usize)?;
    for &b in inputs {
        set(&mut first, b, 0)?;
    }
    for (s, step) in steps.iter().enumerate() {
        let t = s + 1;
        if let Some(Loc::Buf(b)) = scratch_of(step) {
            let f = first.get_mut(b).ok_or_else(bad)?;
            *f = (*f).min(t);
        }
        for loc in &step.inputs {
            if let Loc::Buf(b) = *loc {
                let l = last.get_mut(b).ok_or_else(bad)?;
                *l = (*l).max(t);
            }
        }
        if let Loc::Buf(b) = step.output {
            let f = first.get_mut(b).ok_or_else(bad)?;
            *f = (*f).min(t);
            let l = last.get_mut(b).ok_or_else(bad)?;
            *l = (*l).max(t);
        }
    }
    for &b in outputs {
        set(&mut last, b, end)?;
    }
    for &b in inputs {
        // Inputs are written before the first step: never share with the output location of step 0.
        set(&mut first, b, 0)?;
    }

    // In-place: a step's output takes its input's place when the input dies there.
    let mut rep: Vec<usize> = crate::fallible::try_collect(0..n)?;
    let mut protected = zeros(n, false)?;
    for &b in outputs.iter().chain(inputs) {
        set(&mut protected, b, true)?;
    }
    for (s, step) in steps.iter().enumerate() {
        let t = s + 1;
        if !supports_in_place(&step.kernel) {
            continue;
        }
        let (Some(Loc::Buf(i)), Loc::Buf(o)) = (step.inputs.first().copied(), step.output) else {
            continue;
        };
        let root = find(&rep, i);
        let same_len = lens.get(i) == lens.get(o);
        let dies_here = last.get(root).copied() == Some(t) && last.get(i).copied() == Some(t);
        let inputs_elsewhere = step.inputs.iter().skip(1).any(|l| *l == Loc::Buf(i));
        if same_len
            && dies_here
            && !inputs_elsewhere
            && !protected.get(root).copied().unwrap_or(true)
        {
            set(&mut rep, o, root)?;
            let lo = last.get(o).copied().unwrap_or(t);
            set(&mut last, root, lo)?;
            if protected.get(o).copied().unwrap_or(false) {
                set(&mut protected, root, true)?;
            }
        }
    }

    // Greedy placement of the representative buffers.
    let mut order: Vec<usize> = Vec::new();
    order.try_reserve_exact(n)?;
    for b in 0..n {
        if rep.get(b) == Some(&b)
            && first.get(b).copied() != Some(usize::MAX)
            && !(external_inputs && inputs.contains(&b))
        {
            order.push(b);
        }
    }
    // Largest first, then by id.
    heap_sort(&mut order, |&a, &b| {
        let la = lens.get(a).copied().unwrap_or(0);
        let lb = lens.get(b).copied().unwrap_or(0);
        lb.cmp(&la).then(a.cmp(&b)).is_lt()
    });
    let mut offsets = zeros(n, 0usize)?;
    let mut placed: Vec<usize> = Vec::new();
    placed.try_reserve_exact(order.len())?;
    let mut arena_len = 0usize;
    let mut busy: Vec<(usize, usize)> = Vec::new();
    for &b in &order {
        let (fb, lb, len) = (
            first.get(b).copied().unwrap_or(0),
            last.get(b).copied().unwrap_or(0),
            lens.get(b).copied().unwrap_or(0),
        );
        busy.clear();
        busy.try_reserve(placed.len())?;
        for &p in &placed {
            let (fp, lp) = (
                first.get(p).copied().unwrap_or(0),
                last.get(p).copied().unwrap_or(0),
            );
            if fp <= lb && fb <= lp {
                let off = offsets.get(p).copied().unwrap_or(0);
                busy.push((off, off + lens.get(p).copied().unwrap_or(0)));
            }
        }
        heap_sort(&mut busy, |a, b| a < b);
        let mut off = 0usize;
        for &(s, e) in &busy {
            if off.checked_add(len).ok_or_else(bad)? <= s {
                break;
            }
            off = off.max(e);
        }
        set(&mut offsets, b, off)?;
        arena_len = arena_len.max(off.checked_add(len).ok_or_else(bad)?);
        placed.push(b);
    }
    for b in 0..n {
        let r = find(&rep, b);
        let o = offsets.get(r).copied().unwrap_or(0);
        set(&mut offsets, b, o)?;
    }
    Ok(Plan { offsets, arena_len })
}

fn find(rep: &[usize], mut b: usize) -> usize {
    // Chains are short (one link per in-place step); bounded by the buffer count.
    for _ in 0..rep.len() {
        match rep.get(b) {
            Some(&r) if r != b => b = r,
            _ => break,
        }
    }
    b
}

fn bad() -> crate::Error {
    err(ErrorCode::InvalidArgument, "memory plan")
}

fn zeros<T: Clone>(n: usize, v: T) -> Result<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n)?;
    out.resize(n, v);
    Ok(out)
}

fn set<T>(v: &mut [T], i: usize, x: T) -> Result<()> {
    *v.get_mut(i).ok_or_else(bad)? = x;
    Ok(())
}

/// Sorts `v` so that no element is `less` than one before it: an in-place heapsort. Used
/// instead of `core`'s sorts, whose several monomorphised algorithms (quicksort, driftsort,
/// small-sort networks) added about 25 KB of code to a Cortex-M firmware for lists of a few
/// dozen names and buffers. `less` must be a strict total order (callers break ties by
/// index), so the result is the one a stable sort would give.
pub(crate) fn heap_sort<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let mut sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let left = 2 * root + 1;
        if left >= end {
            return;
        }
        let right = left + 1;
        let child = match (v.get(left), v.get(right)) {
            (Some(l), Some(r)) if right < end && less(l, r) => right,
            _ => left,
        };
        match (v.get(root), v.get(child)) {
            (Some(a), Some(b)) if less(a, b) => v.swap(root, child),
            _ => return,
        }
        root = child;
    };
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::Activation;
    use crate::plan::step::Kernel;
    use alloc::vec;

    #[test]
    fn heap_sort_matches_the_standard_sort() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for n in 0..200usize {
            let mut v: alloc::vec::Vec<(u8, usize)> = (0..n)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ((seed % 7) as u8, i)
                })
                .collect();
            let mut want = v.clone();
            want.sort();
            heap_sort(&mut v, |a, b| a < b);
            assert_eq!(v, want);
        }
    }

    fn step(kernel: Kernel, inputs: &[usize], out: usize) -> Step {
        Step {
            kernel,
            inputs: inputs.iter().map(|&b| Loc::Buf(b)).collect(),
            output: Loc::Buf(out),
        }
    }

    fn overlaps(p: &Plan, lens: &[usize], a: usize, b: usize) -> bool {
        let (oa, ob) = (p.offsets[a], p.offsets[b]);
        oa < ob + lens[b] && ob < oa + lens[a]
    }

    #[test]
    fn chain_reuses_dead_buffers() {
        // in(0) -> copy -> 1 -> copy -> 2 -> copy -> 3 (output)
        let lens = [10, 10, 10, 10];
        let steps = vec![
            step(
                Kernel::Concat {
                    outer: 1,
                    inners: vec![10],
                },
                &[0],
                1,
            ),
            step(
                Kernel::Concat {
                    outer: 1,
                    inners: vec![10],
                },
                &[1],
                2,
            ),
            step(
                Kernel::Concat {
                    outer: 1,
                    inners: vec![10],
                },
                &[2],
                3,
            ),
        ];
        let p = plan(&lens, &steps, &[0], &[3], false).unwrap();
        assert_eq!(p.arena_len, 20);
        for (a, b) in [(0, 1), (1, 2), (2, 3)] {
            assert!(!overlaps(&p, &lens, a, b));
        }
    }

    #[test]
    fn activation_runs_in_place_when_its_input_dies() {
        let lens = [4, 8, 8, 8];
        let steps = vec![
            step(
                Kernel::Concat {
                    outer: 1,
                    inners: vec![4],
                },
                &[0],
                1,
            ),
            step(Kernel::Activation(Activation::Relu), &[1], 2),
            step(
                Kernel::Concat {
                    outer: 1,
                    inners: vec![8],
                },
                &[2],
                3,
            ),
        ];
        let p = plan(&lens, &steps, &[0], &[3], false).unwrap();
        assert_eq!(p.offsets[1], p.offsets[2]);
        assert!(!overlaps(&p, &lens, 2, 3));
        assert!(!overlaps(&p, &lens, 0, 1));
    }

    #[test]
    fn graph_inputs_and_outputs_are_never_overwritten_in_place() {
        let lens = [8, 8];
        let steps = vec![step(Kernel::Activation(Activation::Relu), &[0], 1)];
        let p = plan(&lens, &steps, &[0], &[1], false).unwrap();
        assert!(!overlaps(&p, &lens, 0, 1));
    }

    #[test]
    fn external_inputs_take_no_arena_space() {
        let lens = [8, 4, 4];
        let steps = vec![
            step(
                Kernel::Concat {
                    outer: 1,
                    inners: vec![4],
                },
                &[0],
                1,
            ),
            step(Kernel::Activation(Activation::Relu), &[1], 2),
        ];
        let inside = plan(&lens, &steps, &[0], &[2], false).unwrap();
        assert_eq!(inside.arena_len, 12);
        let outside = plan(&lens, &steps, &[0], &[2], true).unwrap();
        // Buffer 1 dies at step 1: buffer 2 takes its place; the input is not in the arena.
        assert_eq!(outside.arena_len, 4);
        assert_eq!(outside.offsets[1], outside.offsets[2]);
    }

    #[test]
    fn a_buffer_read_later_is_kept_alive() {
        // 1 is read by step 1 and step 2: 2 must not overlap 1.
        let lens = [4, 4, 4, 4];
        let steps = vec![
            step(
                Kernel::Concat {
                    outer: 1,
                    inners: vec![4],
                },
                &[0],
                1,
            ),
            step(Kernel::Activation(Activation::Relu), &[1], 2),
            step(
                Kernel::Binary {
                    op: crate::ops::binary::BinaryOp::Add,
                    bc: crate::ops::binary::Broadcast::new(&[4], &[4]).unwrap(),
                },
                &[1, 2],
                3,
            ),
        ];
        let p = plan(&lens, &steps, &[0], &[3], false).unwrap();
        assert!(!overlaps(&p, &lens, 1, 2));
        assert!(!overlaps(&p, &lens, 1, 3));
        assert!(!overlaps(&p, &lens, 2, 3));
    }
}
