//! Checks of a plan read from bytes, before anything runs: every operand lies in the arena,
//! the weights or an input; no step writes over what it reads (but for the element-wise
//! steps that run in place); every kernel's parameters agree with its operands' lengths and
//! stay within the engine's limits, so that a hostile plan can neither index out of bounds
//! nor make a kernel loop longer than its tensors.

use alloc::vec::Vec;

use super::parts::{self, Part};
use super::step::{supports_in_place, Kernel, Loc, Step};
use super::{Plan, MAX_TENSOR_ELEMENTS};
use crate::error::{err, Error, ErrorCode, Result};
use crate::ops::conv::{self, Conv2d};
use crate::ops::pool::Pool2d;
use crate::ops::{fused, MAX_RANK};

fn bad(what: &'static str) -> Error {
    err(ErrorCode::Malformed, what)
}

/// Product of `dims`, failing above the tensor limit.
fn product(dims: &[usize]) -> Result<usize> {
    let mut n = 1usize;
    for &d in dims {
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
            .ok_or_else(|| err(ErrorCode::LimitExceeded, "plan: tensor above 2^24 elements"))?;
    }
    Ok(n)
}

/// Every value of a geometry below the tensor limit (so that index arithmetic cannot
/// overflow), and the ones that divide or step at least 1.
fn bounded(values: &[usize], positive: &[usize]) -> Result<()> {
    if values.iter().any(|&v| v > MAX_TENSOR_ELEMENTS) || positive.contains(&0) {
        return Err(bad("plan: kernel geometry"));
    }
    Ok(())
}

/// Checks the whole plan (see the module docs).
pub fn check(plan: &Plan) -> Result<()> {
    let weights_len = plan.weights(&[]).owned.len();
    // The inputs' lengths, read in one pass: looking each input operand up in the table
    // skips the records before it, which made a plan of many inputs and many operands
    // reading the last of them take time quadratic in its size (a 35 KB plan: 1.3 s).
    let mut input_lens = Vec::new();
    input_lens.try_reserve_exact(plan.input_count())?;
    input_lens.extend(plan.tables().input_lens());
    let mut arena_end = 0usize;
    let mut operand = |loc: Loc| -> Result<usize> {
        match loc {
            Loc::Arena { off, len } => {
                let end = off
                    .checked_add(len)
                    .filter(|&e| e <= plan.arena_len)
                    .ok_or_else(|| bad("plan: operand past the arena"))?;
                arena_end = arena_end.max(end);
                Ok(len)
            }
            Loc::Weight { off, len } => {
                off.checked_add(len)
                    .filter(|&e| e <= weights_len)
                    .ok_or_else(|| bad("plan: operand past the weights"))?;
                Ok(len)
            }
            Loc::Input { index, len } => {
                if input_lens.get(index) != Some(&len) {
                    return Err(bad("plan: input operand"));
                }
                Ok(len)
            }
            _ => Err(bad("plan: unresolved operand")),
        }
    };
    if plan.node_count() != plan.steps.len() {
        return Err(bad("plan: table lengths"));
    }
    let tables = plan.tables();
    for (len, loc) in tables.output_lens() {
        if operand(loc)? != len {
            return Err(bad("plan: output length"));
        }
    }
    for (len, loc) in tables.initializer_lens() {
        if !matches!(loc, Loc::Weight { .. }) || operand(loc)? != len {
            return Err(bad("plan: initializer"));
        }
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let mut lens = [0usize; 8];
        if step.inputs.len() > crate::plan::MAX_STEP_INPUTS {
            return Err(bad("plan: too many operands"));
        }
        for (i, &loc) in step.inputs.iter().enumerate() {
            let n = operand(loc)?;
            if let Some(l) = lens.get_mut(i) {
                *l = n;
            }
        }
        if !matches!(step.output, Loc::Arena { .. }) {
            return Err(bad("plan: a step writes outside the arena"));
        }
        let y = operand(step.output)?;
        check_overlap(step)
            .and_then(|()| check_kernel(step, &lens, y))
            .map_err(|e| e.with_name(plan.nodes().nth(i).map_or("", |n| n.name)))?;
    }
    if arena_end != plan.arena_len {
        return Err(bad("plan: arena larger than its operands"));
    }
    Ok(())
}

fn overlaps(a: Loc, b: Loc) -> bool {
    match (a, b) {
        (Loc::Arena { off: o1, len: l1 }, Loc::Arena { off: o2, len: l2 }) => {
            l1 > 0 && l2 > 0 && o1 < o2.saturating_add(l2) && o2 < o1.saturating_add(l1)
        }
        _ => false,
    }
}

/// No step reads what it writes, but an in-place step's first operand, which is its output
/// exactly; a scratch buffer overlaps nothing else of its step.
fn check_overlap(step: &Step) -> Result<()> {
    for (i, &loc) in step.inputs.iter().enumerate() {
        let in_place = i == 0 && loc == step.output && supports_in_place(&step.kernel);
        if !in_place && overlaps(loc, step.output) {
            return Err(bad("plan: a step's output overlaps its operands"));
        }
    }
    if let Some(&scratch) = scratch_slot(step).and_then(|i| step.inputs.get(i)) {
        let n = step.inputs.len() - 1;
        if step.inputs.iter().take(n).any(|&l| overlaps(l, scratch)) {
            return Err(bad("plan: a step's scratch overlaps its operands"));
        }
    }
    Ok(())
}

fn scratch_slot(step: &Step) -> Option<usize> {
    match step.kernel {
        Kernel::ConvPool { .. } | Kernel::ConvBlocks { .. } => step.inputs.len().checked_sub(1),
        _ => None,
    }
}

fn conv_geometry(p: &Conv2d) -> Result<(usize, usize, usize)> {
    bounded(
        &[
            p.batch,
            p.in_channels,
            p.in_h,
            p.in_w,
            p.out_channels,
            p.out_h,
            p.out_w,
            p.kernel_h,
            p.kernel_w,
            p.stride_h,
            p.stride_w,
            p.dilation_h,
            p.dilation_w,
            p.pad_top,
            p.pad_left,
            p.group,
        ],
        &[
            p.kernel_h,
            p.kernel_w,
            p.stride_h,
            p.stride_w,
            p.dilation_h,
            p.dilation_w,
            p.group,
        ],
    )?;
    if p.in_channels % p.group != 0 || p.out_channels % p.group != 0 {
        return Err(bad("plan: convolution groups"));
    }
    let x = product(&[p.batch, p.in_channels, p.in_h, p.in_w])?;
    let w = product(&[
        p.out_channels,
        p.in_channels / p.group,
        p.kernel_h,
        p.kernel_w,
    ])?;
    let y = product(&[p.batch, p.out_channels, p.out_h, p.out_w])?;
    Ok((x, w, y))
}

fn pool_geometry(p: &Pool2d) -> Result<(usize, usize)> {
    bounded(
        &[
            p.batch,
            p.channels,
            p.in_h,
            p.in_w,
            p.out_h,
            p.out_w,
            p.kernel_h,
            p.kernel_w,
            p.stride_h,
            p.stride_w,
            p.dilation_h,
            p.dilation_w,
            p.pad_top,
            p.pad_left,
            p.pad_bottom,
            p.pad_right,
        ],
        &[
            p.kernel_h,
            p.kernel_w,
            p.stride_h,
            p.stride_w,
            p.dilation_h,
            p.dilation_w,
        ],
    )?;
    Ok((
        product(&[p.batch, p.channels, p.in_h, p.in_w])?,
        product(&[p.batch, p.channels, p.out_h, p.out_w])?,
    ))
}

/// The operand count is one of `counts`, and each length is as expected (`None`: any).
fn expect(step: &Step, lens: &[usize; 8], counts: &[usize], want: &[Option<usize>]) -> Result<()> {
    let n = step.inputs.len();
    if !counts.contains(&n) {
        return Err(bad("plan: operand count"));
    }
    for (i, w) in want.iter().enumerate().take(n) {
        if let (Some(w), Some(&l)) = (w, lens.get(i)) {
            if *w != l {
                return Err(bad("plan: operand length"));
            }
        }
    }
    Ok(())
}

/// Contiguous strides of an operand broadcast over `shape`: each is 0 (broadcast) or the
/// product of the operand's later dimensions. The operand's element count.
fn broadcast_len(shape: &[usize], strides: &[usize]) -> Result<usize> {
    let mut p = 1usize;
    for (&d, &s) in shape.iter().zip(strides).rev() {
        if s == 0 {
            continue;
        }
        if s != p {
            return Err(bad("plan: broadcast strides"));
        }
        p = product(&[p, d])?;
    }
    Ok(p)
}

fn check_kernel(step: &Step, lens: &[usize; 8], y: usize) -> Result<()> {
    let same = |want: usize| -> Result<()> {
        if want == y {
            Ok(())
        } else {
            Err(bad("plan: output length"))
        }
    };
    match &step.kernel {
        Kernel::Conv { p, .. } if parts::CONV_ANY => {
            let (x, w, yl) = conv_geometry(p)?;
            same(yl)?;
            expect(
                step,
                lens,
                &[2, 3],
                &[Some(x), Some(w), Some(p.out_channels)],
            )
        }
        Kernel::ConvBlocks { p, .. } if parts::CONV_3X3 => {
            let (x, w, yl) = conv_geometry(p)?;
            same(yl)?;
            let ring = conv::conv3x3_plain_scratch_len(p).ok_or_else(|| bad("plan: block conv"))?;
            let b = Some(p.out_channels);
            match step.inputs.len() {
                3 => expect(step, lens, &[3], &[Some(x), Some(w), Some(ring)]),
                _ => expect(step, lens, &[4], &[Some(x), Some(w), b, Some(ring)]),
            }
        }
        Kernel::ConvPool {
            p, pool, blocks, ..
        } if (!*blocks && parts::CONV_ANY) || (*blocks && parts::CONV_3X3POOL) => {
            let (x, w, _) = conv_geometry(p)?;
            pool_geometry(pool)?;
            if pool.batch != 1 || pool.channels != 1 || pool.in_h != p.out_h || pool.in_w != p.out_w
            {
                return Err(bad("plan: pooled conv geometry"));
            }
            let (scratch, blocks_fit) = fused::pooled_layout(p, pool);
            if *blocks && !blocks_fit {
                return Err(bad("plan: pooled 3x3 conv geometry"));
            }
            same(product(&[p.batch, p.out_channels, pool.out_h, pool.out_w])?)?;
            let s = Some(scratch);
            let b = Some(p.out_channels);
            match step.inputs.len() {
                3 => expect(step, lens, &[3], &[Some(x), Some(w), s]),
                _ => expect(step, lens, &[4], &[Some(x), Some(w), b, s]),
            }
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::ConvX86(_) => Err(bad("plan: packed step before packing")),
        Kernel::MaxPool(p) | Kernel::AvgPool(p) if parts::POOL_WINDOW => {
            let (x, yl) = pool_geometry(p)?;
            same(yl)?;
            expect(step, lens, &[1], &[Some(x)])
        }
        Kernel::GlobalAvgPool { planes, plane_len }
        | Kernel::GlobalMaxPool { planes, plane_len }
            if parts::POOL_GLOBAL =>
        {
            same(*planes)?;
            expect(step, lens, &[1], &[Some(product(&[*planes, *plane_len])?)])
        }
        Kernel::Activation(_) if parts::ACTIVATION => expect(step, lens, &[1], &[Some(y)]),
        Kernel::Unary(_) if parts::MATH_UNARY => expect(step, lens, &[1], &[Some(y)]),
        Kernel::Reduce { p, .. } if parts::REDUCE => {
            let shape = p.shape.get(..p.rank).ok_or_else(|| bad("plan: rank"))?;
            let kept = shape
                .iter()
                .zip(&p.reduced)
                .filter(|(_, &r)| !r)
                .try_fold(1usize, |n, (&d, _)| product(&[n, d]))?;
            same(kept)?;
            expect(step, lens, &[1], &[Some(product(shape)?)])
        }
        Kernel::Softmax {
            outer,
            axis_len,
            inner,
            log,
        } if (!*log && parts::SOFTMAX_PLAIN) || (*log && parts::SOFTMAX_LOG) => {
            same(product(&[*outer, *axis_len, *inner])?)?;
            expect(step, lens, &[1], &[Some(y)])
        }
        Kernel::Dense { m, k, n, .. } if parts::DENSE_LAYER => {
            same(product(&[*m, *n])?)?;
            let (x, w) = (product(&[*m, *k])?, product(&[*k, *n])?);
            expect(step, lens, &[2, 3], &[Some(x), Some(w), Some(*n)])
        }
        Kernel::Gemm { p, .. } if parts::DENSE_GEMM => {
            same(product(&[p.m, p.n])?)?;
            let (a, b) = (product(&[p.m, p.k])?, product(&[p.k, p.n])?);
            expect(step, lens, &[2, 3], &[Some(a), Some(b), None])
        }
        Kernel::MatMul(p) if parts::DENSE_BATCHED => {
            let r = p.rank;
            let shape = p.batch_shape.get(..r).ok_or_else(|| bad("plan: rank"))?;
            let sa = p.a_batch_strides.get(..r).unwrap_or(&[]);
            let sb = p.b_batch_strides.get(..r).unwrap_or(&[]);
            let (ba, bb) = (broadcast_len(shape, sa)?, broadcast_len(shape, sb)?);
            same(product(&[product(shape)?, p.m, p.n])?)?;
            let a = product(&[ba, p.m, p.k])?;
            let b = product(&[bb, p.k, p.n])?;
            expect(step, lens, &[2], &[Some(a), Some(b)])
        }
        Kernel::Binary { bc, .. } if parts::MATH_BINARY => {
            if bc.rank == 0 || bc.full_rank > MAX_RANK {
                return Err(bad("plan: rank"));
            }
            let shape = bc
                .out_shape
                .get(..bc.rank)
                .ok_or_else(|| bad("plan: rank"))?;
            let a = broadcast_len(shape, bc.a_strides.get(..bc.rank).unwrap_or(&[]))?;
            let b = broadcast_len(shape, bc.b_strides.get(..bc.rank).unwrap_or(&[]))?;
            same(product(shape)?)?;
            same(product(bc.out_shape())?)?;
            expect(step, lens, &[2], &[Some(a), Some(b)])
        }
        Kernel::BatchNorm {
            batch,
            channels,
            plane,
        } if parts::NORMALIZATION => {
            same(product(&[*batch, *channels, *plane])?)?;
            let c = Some(*channels);
            expect(step, lens, &[3], &[Some(y), c, c])
        }
        Kernel::Quant { q, quantize } if parts::QUANT => {
            let n = q.len().ok_or_else(|| bad("plan: quantize geometry"))?;
            // Saturation bounds of an 8-bit type (read only when quantizing).
            if *quantize && !(q.lo.is_finite() && q.hi.is_finite() && q.lo <= q.hi) {
                return Err(bad("plan: quantize bounds"));
            }
            same(n)?;
            let c = Some(q.channels);
            expect(step, lens, &[2, 3], &[Some(n), c, c])
        }
        Kernel::Transpose { shape, perm } if parts::LAYOUT_TRANSPOSE => {
            let (s, p) = (shape.as_slice(), perm.as_slice());
            let mut seen = [false; MAX_RANK];
            for &a in p {
                match seen.get_mut(a) {
                    Some(f) if !*f && a < s.len() => *f = true,
                    _ => return Err(bad("plan: transpose permutation")),
                }
            }
            if p.len() != s.len() {
                return Err(bad("plan: transpose permutation"));
            }
            same(product(s)?)?;
            expect(step, lens, &[1], &[Some(y)])
        }
        Kernel::Concat { outer, inners } if parts::LAYOUT_CONCAT => {
            if inners.len() != step.inputs.len() || inners.is_empty() {
                return Err(bad("plan: operand count"));
            }
            let mut total = 0usize;
            for (i, &inner) in inners.iter().enumerate() {
                let len = product(&[*outer, inner])?;
                let got = step.inputs.get(i).map(|l| match *l {
                    Loc::Arena { len, .. } | Loc::Weight { len, .. } | Loc::Input { len, .. } => {
                        len
                    }
                    _ => usize::MAX,
                });
                if got != Some(len) {
                    return Err(bad("plan: operand length"));
                }
                total = total
                    .checked_add(inner)
                    .ok_or_else(|| bad("plan: concat"))?;
            }
            same(product(&[*outer, total])?)
        }
        Kernel::Pad {
            shape, begin, end, ..
        } if parts::LAYOUT_PAD => {
            let s = shape.as_slice();
            if begin.as_slice().len() != s.len() || end.as_slice().len() != s.len() {
                return Err(bad("plan: pad rank"));
            }
            let mut out = [0usize; MAX_RANK];
            for (i, o) in out.iter_mut().enumerate().take(s.len()) {
                let d = i64::try_from(*s.get(i).unwrap_or(&0)).map_err(|_| bad("plan: pad"))?;
                let b = *begin.as_slice().get(i).unwrap_or(&0);
                let e = *end.as_slice().get(i).unwrap_or(&0);
                let n = d
                    .checked_add(b)
                    .and_then(|v| v.checked_add(e))
                    .filter(|&v| v >= 0 && b.checked_abs().is_some() && e.checked_abs().is_some())
                    .ok_or_else(|| bad("plan: pad"))?;
                *o = usize::try_from(n).map_err(|_| bad("plan: pad"))?;
            }
            same(product(out.get(..s.len()).unwrap_or(&[]))?)?;
            expect(step, lens, &[1], &[Some(product(s)?)])
        }
        Kernel::Gather {
            outer,
            axis_len,
            inner,
            indices,
        } if parts::LAYOUT_GATHER => {
            let n = i64::try_from(*axis_len).map_err(|_| bad("plan: gather"))?;
            if indices.iter().any(|&i| i < -n || i >= n) {
                return Err(bad("plan: gather index out of range"));
            }
            same(product(&[*outer, indices.len(), *inner])?)?;
            expect(
                step,
                lens,
                &[1],
                &[Some(product(&[*outer, *axis_len, *inner])?)],
            )
        }
        Kernel::Slice {
            shape,
            starts,
            steps,
            out,
        } if parts::LAYOUT_SLICE => {
            let (s, st, sp, o) = (
                shape.as_slice(),
                starts.as_slice(),
                steps.as_slice(),
                out.as_slice(),
            );
            if st.len() != s.len() || sp.len() != s.len() || o.len() != s.len() {
                return Err(bad("plan: slice rank"));
            }
            for i in 0..s.len() {
                let (d, start, step_, n) = (
                    *s.get(i).unwrap_or(&0) as i64,
                    *st.get(i).unwrap_or(&0) as i64,
                    *sp.get(i).unwrap_or(&0),
                    *o.get(i).unwrap_or(&0) as i64,
                );
                if n == 0 {
                    continue;
                }
                let last = step_.checked_mul(n - 1).and_then(|v| v.checked_add(start));
                if step_ == 0 || start >= d || !last.is_some_and(|l| (0..d).contains(&l)) {
                    return Err(bad("plan: slice"));
                }
            }
            same(product(o)?)?;
            expect(step, lens, &[1], &[Some(product(s)?)])
        }
        Kernel::Copy => {
            expect(step, lens, &[1], &[None])?;
            if lens.first().is_some_and(|&x| x > y) {
                return Err(bad("plan: copy length"));
            }
            Ok(())
        }
        // A part this build leaves out (the reader refuses its steps first).
        _ => Err(Part::of(&step.kernel).map_or(bad("plan: step kind"), Part::missing)),
    }
}
