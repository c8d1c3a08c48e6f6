//! Lowering of shape and layout operators: views (Reshape, Flatten, Squeeze, Unsqueeze,
//! Identity, Dropout), data movement (Transpose, Concat, Pad, Gather, Slice) and the
//! load-time constants (Shape, Constant, ConstantOfShape, Cast). Operators whose inputs are
//! all constants are evaluated here for both float32 and int64.

use alloc::vec::Vec;

use super::attrs::Attrs;
use super::lower::{output0, reject_used_output, Inputs};
use super::{numel, tensor, to_vec, ConstData, Ctx, DType, F32Buf, In, ValueKind};
use crate::decode::model::{data_type, Node};
use crate::error::{err, ErrorCode, Result};
use crate::ops::{layout, MAX_RANK};
use crate::plan::step::{Dims, Kernel, SignedDims};

fn zeroed<T: Copy + Default>(len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)?;
    v.resize(len, T::default());
    Ok(v)
}

/// Runs a generic layout kernel on constant data of either type.
macro_rules! fold_any {
    ($data:expr, $len:expr, |$x:ident, $y:ident| $body:expr) => {{
        match $data {
            ConstData::F32($x) => {
                let mut $y = zeroed::<f32>($len)?;
                $body;
                ConstData::F32($y.into())
            }
            ConstData::I64($x) => {
                let mut $y = zeroed::<i64>($len)?;
                $body;
                ConstData::I64($y)
            }
        }
    }};
}

/// Normalises a possibly negative axis against `rank`.
pub(crate) fn norm_axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(err(ErrorCode::InvalidAttribute, "axis out of range"));
    }
    Ok(a as usize)
}

fn needs_const<'c>(cx: &'c Ctx<'_>, v: In, what: &'static str) -> Result<&'c [i64]> {
    cx.const_i64(v)?
        .ok_or_else(|| err(ErrorCode::UnsupportedAttribute, what))
}

fn dims_from_i64(v: &[i64]) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    out.try_reserve_exact(v.len())?;
    for &d in v {
        out.push(
            usize::try_from(d)
                .map_err(|_| err(ErrorCode::InvalidDimension, "negative dimension"))?,
        );
    }
    Ok(out)
}

/// Reshape (0 copies a dim unless allowzero, -1 is inferred).
pub(crate) fn reshape(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let target = to_vec(needs_const(
        cx,
        ins.get(1)?,
        "Reshape shape must be known at load time",
    )?)?;
    let allow_zero = a.int("allowzero", 0)? != 0;
    let total = numel(&xs)?;
    let mut shape = Vec::new();
    shape.try_reserve_exact(target.len())?;
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        let v = match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            0 if !allow_zero => *xs
                .get(i)
                .ok_or_else(|| err(ErrorCode::ShapeMismatch, "Reshape 0 beyond the input rank"))?,
            d if d >= 0 => {
                usize::try_from(d).map_err(|_| err(ErrorCode::InvalidDimension, "dimension"))?
            }
            _ => {
                return Err(err(
                    ErrorCode::InvalidDimension,
                    "invalid Reshape dimension",
                ))
            }
        };
        shape.push(v);
    }
    if let Some(i) = infer {
        let known = numel(&shape)?;
        if known == 0 || total % known != 0 {
            return Err(err(
                ErrorCode::ShapeMismatch,
                "cannot infer the -1 dimension",
            ));
        }
        if let Some(s) = shape.get_mut(i) {
            *s = total / known;
        }
    }
    let out = output0(cx, node)?;
    cx.alias(out, x, shape)
}

/// Flatten to 2-D at `axis`.
pub(crate) fn flatten(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let axis = Attrs::new(node).int("axis", 1)?;
    let r = xs.len() as i64;
    let axis = if axis < 0 { axis + r } else { axis };
    if axis < 0 || axis > r {
        return Err(err(ErrorCode::InvalidAttribute, "axis out of range"));
    }
    let (head, tail) = xs
        .split_at_checked(axis as usize)
        .ok_or_else(|| err(ErrorCode::InvalidAttribute, "axis out of range"))?;
    let shape = to_vec(&[head.iter().product(), tail.iter().product()])?;
    let out = output0(cx, node)?;
    cx.alias(out, x, shape)
}

fn axes_of(cx: &Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<Option<Vec<i64>>> {
    if cx.opset < 13 {
        Ok(Attrs::new(node).ints("axes")?.map(to_vec).transpose()?)
    } else {
        match ins.opt(1) {
            None => Ok(None),
            Some(v) => Ok(Some(to_vec(needs_const(
                cx,
                v,
                "axes must be known at load time",
            )?)?)),
        }
    }
}

/// Squeeze the given (or every size-1) axes.
pub(crate) fn squeeze(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let mut drop = [false; 64];
    if xs.len() > drop.len() {
        return Err(err(ErrorCode::LimitExceeded, "rank"));
    }
    match axes_of(cx, node, ins)? {
        Some(axes) => {
            for a in axes {
                let a = norm_axis(a, xs.len())?;
                if xs.get(a) != Some(&1) {
                    return Err(err(ErrorCode::ShapeMismatch, "squeezed axis is not 1"));
                }
                if let Some(d) = drop.get_mut(a) {
                    *d = true;
                }
            }
        }
        None => {
            for (i, d) in xs.iter().enumerate() {
                if let Some(f) = drop.get_mut(i) {
                    *f = *d == 1;
                }
            }
        }
    }
    let shape: Vec<usize> = super::try_collect(
        xs.iter()
            .zip(drop.iter())
            .filter(|(_, d)| !**d)
            .map(|(s, _)| *s),
    )?;
    let out = output0(cx, node)?;
    cx.alias(out, x, shape)
}

/// Unsqueeze: insert size-1 axes.
pub(crate) fn unsqueeze(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let axes = axes_of(cx, node, ins)?
        .ok_or_else(|| err(ErrorCode::InvalidAttribute, "axes is required"))?;
    let rank = xs.len() + axes.len();
    if rank > 64 {
        return Err(err(ErrorCode::LimitExceeded, "rank"));
    }
    let mut ones = [false; 64];
    for a in axes {
        let a = norm_axis(a, rank)?;
        let slot = ones
            .get_mut(a)
            .ok_or_else(|| err(ErrorCode::InvalidAttribute, "axis"))?;
        if *slot {
            return Err(err(ErrorCode::InvalidAttribute, "repeated axis"));
        }
        *slot = true;
    }
    let mut shape = Vec::new();
    shape.try_reserve_exact(rank)?;
    let mut src = xs.iter();
    for one in ones.iter().take(rank) {
        if *one {
            shape.push(1);
        } else {
            shape.push(
                *src.next()
                    .ok_or_else(|| err(ErrorCode::InvalidAttribute, "axes"))?,
            );
        }
    }
    let out = output0(cx, node)?;
    cx.alias(out, x, shape)
}

/// Identity: a view.
pub(crate) fn identity(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let x = ins.get(0)?;
    let shape = to_vec(cx.shape(x)?)?;
    let out = output0(cx, node)?;
    cx.alias(out, x, shape)
}

/// Dropout at inference: a view (the mask output is not supported).
pub(crate) fn dropout(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    reject_used_output(cx, node, 1, "Dropout mask output")?;
    if let Some(t) = ins.opt(2) {
        let training = match cx.konst(t)? {
            Some(ConstData::I64(v)) => v.iter().any(|&b| b != 0),
            Some(ConstData::F32(v)) => v.iter().any(|&b| b != 0.0),
            None => true,
        };
        if training {
            return Err(err(
                ErrorCode::UnsupportedAttribute,
                "Dropout training_mode",
            ));
        }
    }
    identity(cx, node, ins)
}

/// Transpose: folded, a view when only size-1 axes move, or a step.
pub(crate) fn transpose(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let rank = xs.len();
    if rank > MAX_RANK {
        return Err(err(ErrorCode::LimitExceeded, "tensor rank above 8"));
    }
    let mut perm = [0usize; MAX_RANK];
    match Attrs::new(node).ints("perm")? {
        Some(p) => {
            if p.len() != rank {
                return Err(err(
                    ErrorCode::InvalidAttribute,
                    "perm length differs from the rank",
                ));
            }
            let mut seen = [false; MAX_RANK];
            for (i, &v) in p.iter().enumerate() {
                let v = usize::try_from(v)
                    .ok()
                    .filter(|&v| v < rank)
                    .ok_or_else(|| err(ErrorCode::InvalidAttribute, "perm"))?;
                let s = seen
                    .get_mut(v)
                    .ok_or_else(|| err(ErrorCode::InvalidAttribute, "perm"))?;
                if *s {
                    return Err(err(
                        ErrorCode::InvalidAttribute,
                        "perm is not a permutation",
                    ));
                }
                *s = true;
                if let Some(slot) = perm.get_mut(i) {
                    *slot = v;
                }
            }
        }
        None => {
            for (i, slot) in perm.iter_mut().take(rank).enumerate() {
                *slot = rank - 1 - i;
            }
        }
    }
    let perm = perm.get(..rank).unwrap_or(&[]);
    let shape: Vec<usize> =
        super::try_collect(perm.iter().map(|&p| xs.get(p).copied().unwrap_or(0)))?;
    let out = output0(cx, node)?;
    let len = numel(&shape)?;
    if let Some(data) = cx.konst(x)? {
        let data = fold_any!(data, len, |s, d| layout::transpose(s, &mut d, &xs, perm));
        return cx.define_const(out, shape, data);
    }
    // Moving only size-1 axes keeps the memory order: a view.
    let mut last = None;
    let order_kept = perm.iter().filter(|&&p| xs.get(p) != Some(&1)).all(|&p| {
        let ok = last.is_none_or(|l| p > l);
        last = Some(p);
        ok
    });
    if order_kept {
        return cx.alias(out, x, shape);
    }
    let kernel = Kernel::Transpose {
        shape: Dims::new(&xs)?,
        perm: Dims::new(perm)?,
    };
    let inputs = to_vec(&[cx.loc(x)?])?;
    cx.add_step(node, out, shape, kernel, inputs, "Transpose", 0, 0)
}

/// Concat along an axis.
pub(crate) fn concat(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let first = ins.get(0)?;
    let base = to_vec(cx.shape(first)?)?;
    let axis_attr = Attrs::new(node)
        .int_opt("axis")?
        .ok_or_else(|| err(ErrorCode::InvalidAttribute, "axis is required"))?;
    let axis = norm_axis(axis_attr, base.len())?;
    let dtype = cx.value(first)?.dtype;
    let mut total = 0usize;
    let mut all_const = true;
    let mut parts = Vec::new();
    for i in 0..ins.len() {
        let v = ins.get(i)?;
        let s = cx.shape(v)?;
        if s.len() != base.len()
            || s.iter()
                .zip(&base)
                .enumerate()
                .any(|(j, (a, b))| j != axis && a != b)
            || cx.value(v)?.dtype != dtype
        {
            return Err(err(
                ErrorCode::ShapeMismatch,
                "Concat inputs differ outside the axis",
            ));
        }
        total = total
            .checked_add(s.get(axis).copied().unwrap_or(0))
            .ok_or_else(|| err(ErrorCode::InvalidDimension, "overflow"))?;
        all_const &= matches!(cx.value(v)?.kind, ValueKind::Const(_));
        super::push(&mut parts, v)?;
    }
    let mut shape = to_vec(&base)?;
    if let Some(s) = shape.get_mut(axis) {
        *s = total;
    }
    let len = numel(&shape)?;
    let outer = base.iter().take(axis).product::<usize>();
    let inner = base.iter().skip(axis + 1).product::<usize>();
    let y_inner = total * inner;
    let out = output0(cx, node)?;
    if all_const {
        cx.check_fold(len)?;
        let mut data = match dtype {
            DType::F32 => ConstData::F32(F32Buf::Owned(zeroed(len)?)),
            DType::I64 => ConstData::I64(zeroed(len)?),
        };
        let mut offset = 0;
        for v in &parts {
            let x_inner = cx.shape(*v)?.get(axis).copied().unwrap_or(0) * inner;
            match (&mut data, cx.konst(*v)?) {
                (ConstData::F32(F32Buf::Owned(y)), Some(ConstData::F32(x))) => {
                    layout::concat_part(x, y, outer, x_inner, y_inner, offset)
                }
                (ConstData::I64(y), Some(ConstData::I64(x))) => {
                    layout::concat_part(x, y, outer, x_inner, y_inner, offset)
                }
                _ => return Err(err(ErrorCode::UnsupportedDataType, "Concat types")),
            }
            offset += x_inner;
        }
        return cx.define_const(out, shape, data);
    }
    let mut inputs = Vec::new();
    let mut inners = Vec::new();
    for v in &parts {
        super::push(&mut inputs, cx.loc(*v)?)?;
        super::push(
            &mut inners,
            cx.shape(*v)?.get(axis).copied().unwrap_or(0) * inner,
        )?;
    }
    cx.add_step(
        node,
        out,
        shape,
        Kernel::Concat { outer, inners },
        inputs,
        "Concat",
        0,
        0,
    )
}

/// Pad (constant mode).
pub(crate) fn pad(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let mode = a.string("mode")?.unwrap_or("constant");
    if mode != "constant" {
        return Err(err(
            ErrorCode::UnsupportedAttribute,
            "only constant Pad mode is supported",
        ));
    }
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let rank = xs.len();
    let (pads, value): (Vec<i64>, f32) = if cx.opset < 11 {
        let p = a
            .ints("pads")?
            .ok_or_else(|| err(ErrorCode::InvalidAttribute, "pads is required"))?;
        (to_vec(p)?, a.float("value", 0.0)?)
    } else {
        let p = to_vec(needs_const(
            cx,
            ins.get(1)?,
            "pads must be known at load time",
        )?)?;
        let value = match ins.opt(2) {
            None => 0.0,
            Some(v) => match cx.konst(v)? {
                Some(ConstData::F32(d)) => d.first().copied().unwrap_or(0.0),
                Some(ConstData::I64(d)) => d.first().copied().unwrap_or(0) as f32,
                None => {
                    return Err(err(
                        ErrorCode::UnsupportedAttribute,
                        "constant_value must be known at load time",
                    ))
                }
            },
        };
        (p, value)
    };
    // Opset 18 `axes` selects which axes the pads refer to.
    let mut begin = [0i64; MAX_RANK];
    let mut end = [0i64; MAX_RANK];
    if rank > MAX_RANK {
        return Err(err(ErrorCode::LimitExceeded, "tensor rank above 8"));
    }
    let axes: Vec<usize> = match ins.opt(3) {
        Some(v) if cx.opset >= 18 => {
            let mut out = Vec::new();
            for &ax in needs_const(cx, v, "axes must be known at load time")? {
                super::push(&mut out, norm_axis(ax, rank)?)?;
            }
            out
        }
        _ => super::try_collect(0..rank)?,
    };
    if pads.len() != 2 * axes.len() {
        return Err(err(
            ErrorCode::InvalidAttribute,
            "pads length must be twice the rank",
        ));
    }
    let half = axes.len();
    for (i, &ax) in axes.iter().enumerate() {
        if let (Some(b), Some(e)) = (begin.get_mut(ax), end.get_mut(ax)) {
            *b = pads.get(i).copied().unwrap_or(0);
            *e = pads.get(i + half).copied().unwrap_or(0);
        }
    }
    let mut shape = Vec::new();
    shape.try_reserve_exact(rank)?;
    for (i, &d) in xs.iter().enumerate() {
        let s = (d as i64)
            .checked_add(begin.get(i).copied().unwrap_or(0))
            .and_then(|v| v.checked_add(end.get(i).copied().unwrap_or(0)))
            .filter(|v| *v >= 0)
            .ok_or_else(|| err(ErrorCode::InvalidDimension, "padded dimension is negative"))?;
        shape.push(usize::try_from(s).map_err(|_| err(ErrorCode::InvalidDimension, "dimension"))?);
    }
    let begin = begin.get(..rank).unwrap_or(&[]);
    let end = end.get(..rank).unwrap_or(&[]);
    let len = numel(&shape)?;
    let out = output0(cx, node)?;
    if let Some(data) = cx.konst(x)? {
        cx.check_fold(len)?;
        let data = match data {
            ConstData::F32(s) => {
                let mut d = zeroed::<f32>(len)?;
                layout::pad_constant(s, &mut d, &xs, begin, end, value);
                ConstData::F32(d.into())
            }
            ConstData::I64(s) => {
                let mut d = zeroed::<i64>(len)?;
                layout::pad_constant(s, &mut d, &xs, begin, end, value as i64);
                ConstData::I64(d)
            }
        };
        return cx.define_const(out, shape, data);
    }
    let kernel = Kernel::Pad {
        shape: Dims::new(&xs)?,
        begin: SignedDims::new(begin)?,
        end: SignedDims::new(end)?,
        value,
    };
    let inputs = to_vec(&[cx.loc(x)?])?;
    cx.add_step(node, out, shape, kernel, inputs, "Pad", 0, 0)
}

/// Gather with constant indices.
pub(crate) fn gather(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let x = ins.get(0)?;
    let idx = ins.get(1)?;
    let xs = to_vec(cx.shape(x)?)?;
    if xs.is_empty() {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "Gather data must have rank >= 1",
        ));
    }
    let axis = norm_axis(Attrs::new(node).int("axis", 0)?, xs.len())?;
    let indices = to_vec(needs_const(
        cx,
        idx,
        "Gather indices must be known at load time",
    )?)?;
    let idx_shape = to_vec(cx.shape(idx)?)?;
    let axis_len = xs.get(axis).copied().unwrap_or(0);
    for &i in &indices {
        let ok = if i < 0 {
            i.unsigned_abs() <= axis_len as u64
        } else {
            (i as u64) < axis_len as u64
        };
        if !ok {
            return Err(err(ErrorCode::InvalidArgument, "Gather index out of range"));
        }
    }
    let mut shape = to_vec(xs.get(..axis).unwrap_or(&[]))?;
    shape.try_reserve(idx_shape.len() + xs.len())?;
    shape.extend_from_slice(&idx_shape);
    shape.extend_from_slice(xs.get(axis + 1..).unwrap_or(&[]));
    let outer = xs.iter().take(axis).product::<usize>();
    let inner = xs.iter().skip(axis + 1).product::<usize>();
    let len = numel(&shape)?;
    let out = output0(cx, node)?;
    if let Some(data) = cx.konst(x)? {
        cx.check_fold(len)?;
        let ok;
        let data = fold_any!(data, len, |s, d| ok =
            layout::gather(s, &mut d, outer, axis_len, inner, &indices));
        if !ok {
            return Err(err(ErrorCode::InvalidArgument, "Gather index out of range"));
        }
        return cx.define_const(out, shape, data);
    }
    let kernel = Kernel::Gather {
        outer,
        axis_len,
        inner,
        indices,
    };
    let inputs = to_vec(&[cx.loc(x)?])?;
    cx.add_step(node, out, shape, kernel, inputs, "Gather", 0, 0)
}

/// Slice with constant starts/ends/axes/steps.
pub(crate) fn slice(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let rank = xs.len();
    if rank > MAX_RANK {
        return Err(err(ErrorCode::LimitExceeded, "tensor rank above 8"));
    }
    let (starts, ends, axes, steps) = if cx.opset < 10 {
        let s = to_vec(
            a.ints("starts")?
                .ok_or_else(|| err(ErrorCode::InvalidAttribute, "starts"))?,
        )?;
        let e = to_vec(
            a.ints("ends")?
                .ok_or_else(|| err(ErrorCode::InvalidAttribute, "ends"))?,
        )?;
        let ax = a.ints("axes")?.map(to_vec).transpose()?;
        (s, e, ax, None)
    } else {
        let what = "Slice parameters must be known at load time";
        let s = to_vec(needs_const(cx, ins.get(1)?, what)?)?;
        let e = to_vec(needs_const(cx, ins.get(2)?, what)?)?;
        let ax = match ins.opt(3) {
            Some(v) => Some(to_vec(needs_const(cx, v, what)?)?),
            None => None,
        };
        let st = match ins.opt(4) {
            Some(v) => Some(to_vec(needs_const(cx, v, what)?)?),
            None => None,
        };
        (s, e, ax, st)
    };
    let n = starts.len();
    if ends.len() != n
        || axes.as_ref().is_some_and(|v| v.len() != n)
        || steps.as_ref().is_some_and(|v| v.len() != n)
    {
        return Err(err(
            ErrorCode::InvalidAttribute,
            "Slice parameter lengths differ",
        ));
    }
    let mut start_of = [0usize; MAX_RANK];
    let mut step_of = [1i64; MAX_RANK];
    let mut shape = to_vec(&xs)?;
    let mut seen = [false; MAX_RANK];
    for i in 0..n {
        let ax = match &axes {
            Some(v) => norm_axis(v.get(i).copied().unwrap_or(0), rank)?,
            None => {
                if i >= rank {
                    return Err(err(ErrorCode::InvalidAttribute, "too many Slice starts"));
                }
                i
            }
        };
        let s = seen
            .get_mut(ax)
            .ok_or_else(|| err(ErrorCode::InvalidAttribute, "axis"))?;
        if *s {
            return Err(err(ErrorCode::InvalidAttribute, "repeated Slice axis"));
        }
        *s = true;
        let dim = xs.get(ax).copied().unwrap_or(0) as i64;
        let step = steps.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(1);
        if step == 0 {
            return Err(err(ErrorCode::InvalidAttribute, "Slice step 0"));
        }
        let mut start = starts.get(i).copied().unwrap_or(0);
        let mut end = ends.get(i).copied().unwrap_or(0);
        if start < 0 {
            start = start.saturating_add(dim);
        }
        if end < 0 {
            end = end.saturating_add(dim);
        }
        let count = if step > 0 {
            start = start.max(0).min(dim);
            end = end.max(0).min(dim);
            if end > start {
                (end - start + step - 1) / step
            } else {
                0
            }
        } else {
            start = start.max(0).min((dim - 1).max(0));
            end = end.max(-1).min(dim - 1);
            if start > end && dim > 0 {
                (start - end + (-step) - 1) / (-step)
            } else {
                0
            }
        };
        if let (Some(so), Some(st), Some(sh)) =
            (start_of.get_mut(ax), step_of.get_mut(ax), shape.get_mut(ax))
        {
            *so = start as usize;
            *st = step;
            *sh = count as usize;
        }
    }
    let starts = start_of.get(..rank).unwrap_or(&[]);
    let steps = step_of.get(..rank).unwrap_or(&[]);
    let len = numel(&shape)?;
    let out = output0(cx, node)?;
    if let Some(data) = cx.konst(x)? {
        let data = fold_any!(data, len, |s, d| layout::slice(
            s, &mut d, &xs, starts, steps, &shape
        ));
        return cx.define_const(out, shape, data);
    }
    let kernel = Kernel::Slice {
        shape: Dims::new(&xs)?,
        starts: Dims::new(starts)?,
        steps: SignedDims::new(steps)?,
        out: Dims::new(&shape)?,
    };
    let inputs = to_vec(&[cx.loc(x)?])?;
    cx.add_step(node, out, shape, kernel, inputs, "Slice", 0, 0)
}

/// Shape: an int64 constant (start/end from opset 15).
pub(crate) fn shape(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let xs = to_vec(cx.shape(ins.get(0)?)?)?;
    let r = xs.len() as i64;
    let clamp = |v: i64| -> usize { (if v < 0 { v + r } else { v }).max(0).min(r) as usize };
    let start = clamp(a.int("start", 0)?);
    let end = clamp(a.int("end", r)?);
    let dims: Vec<i64> = super::try_collect(xs.iter().take(end).skip(start).map(|&d| d as i64))?;
    let out = output0(cx, node)?;
    let n = dims.len();
    cx.define_const(out, to_vec(&[n])?, ConstData::I64(dims))
}

/// Constant: value, value_float(s), value_int(s).
pub(crate) fn constant(cx: &mut Ctx<'_>, node: &Node<'_, '_>) -> Result<()> {
    let a = Attrs::new(node);
    let out = output0(cx, node)?;
    if let Some(t) = a.tensor("value")? {
        let (shape, data) = tensor::from_desc(t, false)?;
        let data = data.into_owned()?;
        return cx.define_const(out, shape, data);
    }
    if let Some(f) = a.float_opt("value_float")? {
        return cx.define_const(out, Vec::new(), ConstData::F32(to_vec(&[f])?.into()));
    }
    if let Some(f) = a.floats("value_floats")? {
        return cx.define_const(out, to_vec(&[f.len()])?, ConstData::F32(to_vec(f)?.into()));
    }
    if let Some(i) = a.int_opt("value_int")? {
        return cx.define_const(out, Vec::new(), ConstData::I64(to_vec(&[i])?));
    }
    if let Some(i) = a.ints("value_ints")? {
        return cx.define_const(out, to_vec(&[i.len()])?, ConstData::I64(to_vec(i)?));
    }
    Err(err(
        ErrorCode::UnsupportedAttribute,
        "Constant needs a numeric value",
    ))
}

/// ConstantOfShape: a filled constant.
pub(crate) fn constant_of_shape(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let dims = dims_from_i64(needs_const(
        cx,
        ins.get(0)?,
        "ConstantOfShape shape must be known at load time",
    )?)?;
    let len = numel(&dims)?;
    cx.check_fold(len)?;
    let value = match Attrs::new(node).tensor("value")? {
        Some(t) => tensor::from_desc(t, false)?.1.into_owned()?,
        None => ConstData::F32(to_vec(&[0.0])?.into()),
    };
    let data = match value {
        ConstData::F32(v) => {
            let x = v.first().copied().unwrap_or(0.0);
            let mut d = zeroed::<f32>(len)?;
            d.fill(x);
            ConstData::F32(d.into())
        }
        ConstData::I64(v) => {
            let x = v.first().copied().unwrap_or(0);
            let mut d = zeroed::<i64>(len)?;
            d.fill(x);
            ConstData::I64(d)
        }
    };
    let out = output0(cx, node)?;
    cx.define_const(out, dims, data)
}

/// Cast between float32 and the integer types (integers are held as int64).
pub(crate) fn cast(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let to = Attrs::new(node)
        .int_opt("to")?
        .ok_or_else(|| err(ErrorCode::InvalidAttribute, "to is required"))?;
    let x = ins.get(0)?;
    let shape = to_vec(cx.shape(x)?)?;
    let out = output0(cx, node)?;
    let to_float = to == i64::from(data_type::FLOAT);
    let to_int = [
        data_type::INT64,
        data_type::INT32,
        5,
        data_type::INT8,
        data_type::UINT8,
        4,
    ]
    .iter()
    .any(|&t| i64::from(t) == to);
    if !to_float && !to_int {
        return Err(err(ErrorCode::UnsupportedDataType, "Cast target type"));
    }
    match cx.konst(x)? {
        Some(ConstData::F32(v)) if to_int => {
            let d: Vec<i64> = super::try_collect(v.iter().map(|&f| f as i64))?;
            cx.define_const(out, shape, ConstData::I64(d))
        }
        Some(ConstData::I64(v)) if to_float => {
            let d: Vec<f32> = super::try_collect(v.iter().map(|&i| i as f32))?;
            cx.define_const(out, shape, ConstData::F32(d.into()))
        }
        Some(_) => identity(cx, node, ins),
        None if to_float => identity(cx, node, ins),
        None => Err(err(
            ErrorCode::UnsupportedDataType,
            "run-time integer tensors",
        )),
    }
}
