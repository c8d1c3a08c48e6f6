//! Whole-plan rewrites after lowering.
//!
//! Keras models exported through keras2onnx (and tf2onnx) transpose the NCHW feature map back
//! to NHWC before flattening it into a dense layer. When that transpose's only reader is the
//! dense layer and its weights are constants, the permutation is applied once to the weight
//! rows at load time and the transpose step disappears (one kernel and one buffer fewer).

use super::{to_vec, ConstData, Ctx};
use crate::error::Result;
use crate::runtime::step::{Kernel, Loc};

/// Number of steps reading buffer `b`.
fn readers(cx: &Ctx<'_>, b: usize) -> usize {
    cx.steps
        .iter()
        .map(|s| s.inputs.iter().filter(|l| **l == Loc::Buf(b)).count())
        .sum()
}

/// Folds `Transpose -> (view) -> Dense` into the dense weights. `outputs` are the buffers of
/// graph outputs (never rewritten).
pub(crate) fn fold_transpose_into_dense(cx: &mut Ctx<'_>, outputs: &[usize]) -> Result<()> {
    let mut t = 0;
    while t < cx.steps.len() {
        if try_fold_at(cx, t, outputs)? {
            cx.steps.remove(t);
            cx.infos.remove(t);
            for b in cx.buffers.iter_mut() {
                if let Some(p) = b.producer.as_mut() {
                    if *p > t {
                        *p -= 1;
                    }
                }
            }
        } else {
            t += 1;
        }
    }
    Ok(())
}

fn try_fold_at(cx: &mut Ctx<'_>, t: usize, outputs: &[usize]) -> Result<bool> {
    let Some(step) = cx.steps.get(t) else {
        return Ok(false);
    };
    let Kernel::Transpose { shape, perm } = step.kernel else {
        return Ok(false);
    };
    let (Loc::Buf(out), Some(&src)) = (step.output, step.inputs.first()) else {
        return Ok(false);
    };
    if outputs.contains(&out) || readers(cx, out) != 1 {
        return Ok(false);
    }
    let Some(d) = cx
        .steps
        .iter()
        .position(|s| s.inputs.first() == Some(&Loc::Buf(out)))
    else {
        return Ok(false);
    };
    let (m, k, n, w) = match cx.steps.get(d) {
        Some(s) => match (&s.kernel, s.inputs.get(1)) {
            (Kernel::Dense { m, k, n, .. }, Some(Loc::Const(w))) => (*m, *k, *n, *w),
            _ => return Ok(false),
        },
        None => return Ok(false),
    };
    let in_shape = shape.as_slice();
    let perm = perm.as_slice();
    let total: usize = in_shape.iter().product();
    if m.checked_mul(k) != Some(total) || m == 0 || k == 0 {
        return Ok(false);
    }
    // Rows of the dense layer must be whole leading slices that the transpose keeps in place.
    if m != 1 && !(perm.first() == Some(&0) && in_shape.first() == Some(&m)) {
        return Ok(false);
    }
    let Some(ConstData::F32(weights)) = cx.consts.get(w) else {
        return Ok(false);
    };
    if weights.len() != k * n {
        return Ok(false);
    }
    // Input strides, and the transposed shape.
    let rank = in_shape.len();
    let mut in_strides = [0usize; crate::ops::MAX_RANK];
    let mut acc = 1;
    for i in (0..rank).rev() {
        if let (Some(s), Some(d)) = (in_strides.get_mut(i), in_shape.get(i)) {
            *s = acc;
            acc *= *d;
        }
    }
    let mut out_shape = [0usize; crate::ops::MAX_RANK];
    for (i, p) in perm.iter().enumerate() {
        if let Some(o) = out_shape.get_mut(i) {
            *o = in_shape.get(*p).copied().unwrap_or(0);
        }
    }
    let mut permuted = to_vec(weights)?;
    // Row j of the original weights multiplies transposed element j (of the first row);
    // it moves to the row of the input element that transposed element came from.
    for j in 0..k {
        let mut rem = j;
        let mut src_index = 0;
        for axis in (0..rank).rev() {
            let dim = out_shape.get(axis).copied().unwrap_or(1).max(1);
            let idx = rem % dim;
            rem /= dim;
            let in_axis = perm.get(axis).copied().unwrap_or(0);
            src_index += idx * in_strides.get(in_axis).copied().unwrap_or(0);
        }
        let (Some(dst), Some(row)) = (
            permuted.get_mut(src_index * n..src_index * n + n),
            weights.get(j * n..j * n + n),
        ) else {
            return Ok(false);
        };
        dst.copy_from_slice(row);
    }
    let new_w = cx.consts.len();
    super::push(&mut cx.consts, ConstData::F32(permuted.into()))?;
    if let Some(s) = cx.steps.get_mut(d) {
        if let Some(slot) = s.inputs.get_mut(0) {
            *slot = src;
        }
        if let Some(slot) = s.inputs.get_mut(1) {
            *slot = Loc::Const(new_w);
        }
    }
    if let Some(info) = cx.infos.get_mut(d) {
        let mut op = super::string_of("Transpose+")?;
        op.try_reserve(info.op.len())?;
        op.push_str(&info.op);
        info.op = op;
    }
    Ok(true)
}
