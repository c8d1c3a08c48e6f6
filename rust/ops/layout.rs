//! Data movement kernels generic over the element type: Transpose, Concat, Pad (constant),
//! Gather and Slice.
//!
//! Each kernel walks the output row by row (the last axis) so the innermost loop is a
//! `copy_from_slice` whenever the source row is contiguous.

use super::{checked_product, odometer_step, MAX_RANK};

/// Contiguous element strides of `shape` (last axis 1). `None` on overflow or rank > MAX_RANK.
fn strides(shape: &[usize]) -> Option<[usize; MAX_RANK]> {
    let mut st = [0usize; MAX_RANK];
    let mut p = 1usize;
    for (s, &d) in st.get_mut(..shape.len())?.iter_mut().zip(shape).rev() {
        *s = p;
        p = p.checked_mul(d)?;
    }
    Some(st)
}

/// `y` = `x` transposed: `y.shape[i] = shape[perm[i]]`. Does nothing if `perm` is not a
/// permutation of `0..shape.len()`, the rank exceeds [`MAX_RANK`] or a slice is too short.
pub fn transpose<T: Copy>(x: &[T], y: &mut [T], shape: &[usize], perm: &[usize]) {
    let r = shape.len();
    if r != perm.len() || r > MAX_RANK {
        return;
    }
    let mut seen = 0u32;
    for &p in perm {
        if p >= r || seen & (1 << p) != 0 {
            return;
        }
        seen |= 1 << p;
    }
    let (Some(in_st), Some(total)) = (strides(shape), checked_product(shape)) else {
        return;
    };
    if total == 0 {
        return;
    }
    let (Some(x), Some(y)) = (x.get(..total), y.get_mut(..total)) else {
        return;
    };
    // Output axes with their source strides; drop size-1 axes and merge axes that are also
    // adjacent (in order) in the input.
    let mut dims = [0usize; MAX_RANK];
    let mut src = [0usize; MAX_RANK];
    let mut n = 0usize;
    for &p in perm {
        let (Some(&d), Some(&s)) = (shape.get(p), in_st.get(p)) else {
            return;
        };
        if d == 1 {
            continue;
        }
        if n > 0 {
            if let (Some(ld), Some(ls)) = (dims.get_mut(n - 1), src.get_mut(n - 1)) {
                if *ls == s * d {
                    *ld *= d;
                    *ls = s;
                    continue;
                }
            }
        }
        if let (Some(dd), Some(ss)) = (dims.get_mut(n), src.get_mut(n)) {
            *dd = d;
            *ss = s;
        }
        n += 1;
    }
    if n <= 1 {
        // Identity order (or a single element).
        y.copy_from_slice(x);
        return;
    }
    let (Some(&inner), Some(&inner_src)) = (dims.get(n - 1), src.get(n - 1)) else {
        return;
    };
    let (Some(outer), Some(outer_src)) = (dims.get(..n - 1), src.get(..n - 1)) else {
        return;
    };
    let mut idx = [0usize; MAX_RANK];
    let Some(idx) = idx.get_mut(..n - 1) else {
        return;
    };
    // Two merged axes with a short inner one (NCHW <-> NHWC with few channels): walk the
    // long axis in the inner loop instead, one strided pass per inner column.
    if let ([rows], [row_src]) = (outer, outer_src) {
        if inner <= 8 && inner < *rows && *row_src == 1 {
            // The common case (a CNN's NCHW -> NHWC before its dense layer, up to 8
            // channels): each input column scattered into its output column. Zipped
            // `step_by` iterators cost ~23 instructions per element on a Cortex-M4.
            let mut cols: [&[T]; 8] = [&[]; 8];
            for (j, col) in cols.iter_mut().take(inner).enumerate() {
                let from = j.saturating_mul(inner_src);
                let Some(c) = x.get(from..from.saturating_add(*rows)) else {
                    return;
                };
                *col = c;
            }
            for (j, col) in cols.iter().take(inner).enumerate() {
                for (yrow, &v) in y.chunks_exact_mut(inner).zip(col.iter()) {
                    if let Some(o) = yrow.get_mut(j) {
                        *o = v;
                    }
                }
            }
            return;
        }
        if inner < *rows {
            for j in 0..inner {
                let Some(xs) = x.get(j.saturating_mul(inner_src)..) else {
                    return;
                };
                let ys = y.get_mut(j..).unwrap_or_default();
                for (o, &v) in ys
                    .iter_mut()
                    .step_by(inner)
                    .zip(xs.iter().step_by(*row_src))
                {
                    *o = v;
                }
            }
            return;
        }
    }
    let mut off = [0usize; 1];
    for yrow in y.chunks_exact_mut(inner) {
        let Some(xs) = x.get(off[0]..) else {
            return;
        };
        if inner_src == 1 {
            if let Some(xs) = xs.get(..inner) {
                yrow.copy_from_slice(xs);
            }
        } else {
            for (o, &v) in yrow.iter_mut().zip(xs.iter().step_by(inner_src)) {
                *o = v;
            }
        }
        if !odometer_step(idx, outer, [outer_src], &mut off) {
            break;
        }
    }
}

/// Copies `x` (viewed as `[outer, x_inner]`) into `y` (viewed as `[outer, y_inner]`) at column
/// `offset`: one input of a Concat.
pub fn concat_part<T: Copy>(
    x: &[T],
    y: &mut [T],
    outer: usize,
    x_inner: usize,
    y_inner: usize,
    offset: usize,
) {
    if x_inner == 0 || y_inner == 0 {
        return;
    }
    let Some(end) = offset.checked_add(x_inner) else {
        return;
    };
    for (xr, yr) in x
        .chunks_exact(x_inner)
        .zip(y.chunks_exact_mut(y_inner))
        .take(outer)
    {
        if let Some(dst) = yr.get_mut(offset..end) {
            dst.copy_from_slice(xr);
        }
    }
}

/// Constant-mode Pad: `y` has shape `in_shape[i] + pads_begin[i] + pads_end[i]`; negative pads
/// crop. Positions with no source element get `value`. Does nothing if a padded dimension
/// would be negative, the rank exceeds [`MAX_RANK`] or a slice is too short.
pub fn pad_constant<T: Copy>(
    x: &[T],
    y: &mut [T],
    in_shape: &[usize],
    pads_begin: &[i64],
    pads_end: &[i64],
    value: T,
) {
    let r = in_shape.len();
    if r > MAX_RANK || pads_begin.len() < r || pads_end.len() < r {
        return;
    }
    if r == 0 {
        if let (Some(o), Some(&v)) = (y.first_mut(), x.first()) {
            *o = v;
        }
        return;
    }
    let mut out = [0usize; MAX_RANK];
    let mut begin = [0i64; MAX_RANK];
    for (((o, b), (&d, &pb)), &pe) in out
        .iter_mut()
        .zip(begin.iter_mut())
        .zip(in_shape.iter().zip(pads_begin))
        .zip(pads_end)
    {
        let Ok(d64) = i64::try_from(d) else {
            return;
        };
        let Some(sum) = d64.checked_add(pb).and_then(|s| s.checked_add(pe)) else {
            return;
        };
        let Ok(sum) = usize::try_from(sum) else {
            return;
        };
        *o = sum;
        *b = pb;
    }
    let (Some(in_st), Some(out_shape)) = (strides(in_shape), out.get(..r)) else {
        return;
    };
    let (Some(total_out), Some(total_in)) = (checked_product(out_shape), checked_product(in_shape))
    else {
        return;
    };
    if total_out == 0 {
        return;
    }
    let (Some(x), Some(y)) = (x.get(..total_in), y.get_mut(..total_out)) else {
        return;
    };
    let last = r - 1;
    let (Some(&row_out), Some(&row_in), Some(&b_last)) =
        (out.get(last), in_shape.get(last), begin.get(last))
    else {
        return;
    };
    // Within a row: `left` values, then `copy` source values from column `src`, then the rest.
    let left = b_last.max(0).min(row_out as i64) as usize;
    let src = b_last.saturating_neg().max(0).min(row_in as i64) as usize;
    let copy = (row_in - src).min(row_out - left);
    let mut idx = [0usize; MAX_RANK];
    for yrow in y.chunks_exact_mut(row_out) {
        // Source row offset, or None if an outer index falls in the padding.
        let mut off = Some(0usize);
        for d in 0..last {
            let (Some(&i), Some(&b), Some(&len), Some(&st)) =
                (idx.get(d), begin.get(d), in_shape.get(d), in_st.get(d))
            else {
                return;
            };
            let s = (i as i64).checked_sub(b).unwrap_or(-1);
            if s < 0 || s >= len as i64 {
                off = None;
                break;
            }
            off = off.map(|o| o + s as usize * st);
        }
        match off.and_then(|o| x.get(o + src..o + src + copy)) {
            Some(srow) => {
                let (head, rest) = yrow.split_at_mut(left.min(row_out));
                head.fill(value);
                let (mid, tail) = rest.split_at_mut(copy.min(rest.len()));
                mid.copy_from_slice(srow.get(..mid.len()).unwrap_or(&[]));
                tail.fill(value);
            }
            None => yrow.fill(value),
        }
        // Advance the outer odometer.
        let mut d = last;
        while d > 0 {
            d -= 1;
            let (Some(i), Some(&ext)) = (idx.get_mut(d), out.get(d)) else {
                return;
            };
            *i += 1;
            if *i < ext {
                break;
            }
            *i = 0;
        }
    }
}

/// Gather along an axis: `x` viewed as `[outer, axis_len, inner]`, `y` as
/// `[outer, indices.len(), inner]`. Negative indices count from the end. Returns false (and
/// leaves `y` unspecified) if an index is out of range or a slice is too short.
pub fn gather<T: Copy>(
    x: &[T],
    y: &mut [T],
    outer: usize,
    axis_len: usize,
    inner: usize,
    indices: &[i64],
) -> bool {
    let Ok(len) = i64::try_from(axis_len) else {
        return false;
    };
    if indices.iter().any(|&i| i < -len || i >= len) {
        return false;
    }
    let (Some(x_block), Some(y_block)) = (
        axis_len.checked_mul(inner),
        indices.len().checked_mul(inner),
    ) else {
        return false;
    };
    let (Some(x_len), Some(y_len)) = (outer.checked_mul(x_block), outer.checked_mul(y_block))
    else {
        return false;
    };
    if x.len() < x_len || y.len() < y_len {
        return false;
    }
    if y_block == 0 || x_block == 0 {
        return true;
    }
    for (xb, yb) in x
        .chunks_exact(x_block)
        .zip(y.chunks_exact_mut(y_block))
        .take(outer)
    {
        for (&i, yr) in indices.iter().zip(yb.chunks_exact_mut(inner)) {
            let i = if i < 0 { i + len } else { i } as usize;
            let start = i * inner;
            match xb.get(start..start + inner) {
                Some(src) => yr.copy_from_slice(src),
                None => return false,
            }
        }
    }
    true
}

/// Strided slice: along axis `i`, output index `j` reads input index `starts[i] + j * steps[i]`
/// (steps may be negative; starts are already clamped/normalised). Does nothing if an access
/// would fall outside the input, a step is zero, or a slice is too short.
pub fn slice<T: Copy>(
    x: &[T],
    y: &mut [T],
    in_shape: &[usize],
    starts: &[usize],
    steps: &[i64],
    out_shape: &[usize],
) {
    let r = in_shape.len();
    if r > MAX_RANK || starts.len() < r || steps.len() < r || out_shape.len() < r {
        return;
    }
    if r == 0 {
        if let (Some(o), Some(&v)) = (y.first_mut(), x.first()) {
            *o = v;
        }
        return;
    }
    let (Some(in_total), Some(out_total), Some(in_st)) = (
        checked_product(in_shape),
        out_shape.get(..r).and_then(checked_product),
        strides(in_shape),
    ) else {
        return;
    };
    if out_total == 0 {
        return;
    }
    let (Some(x), Some(y)) = (x.get(..in_total), y.get_mut(..out_total)) else {
        return;
    };
    // Every visited coordinate must lie inside the input.
    for (((&len, &st), &step), &n) in in_shape.iter().zip(starts).zip(steps).zip(out_shape) {
        if step == 0 || st >= len {
            return;
        }
        let Some(span) = i64::try_from(n - 1).ok().and_then(|m| m.checked_mul(step)) else {
            return;
        };
        let Some(end) = (st as i64).checked_add(span) else {
            return;
        };
        if end < 0 || end >= len as i64 {
            return;
        }
    }
    let last = r - 1;
    let (Some(&n_in), Some(&st_in), Some(&step_in)) =
        (out_shape.get(last), starts.get(last), steps.get(last))
    else {
        return;
    };
    let mut idx = [0usize; MAX_RANK];
    for yrow in y.chunks_exact_mut(n_in) {
        let mut off = 0usize;
        for d in 0..last {
            let (Some(&i), Some(&st), Some(&step), Some(&stride)) =
                (idx.get(d), starts.get(d), steps.get(d), in_st.get(d))
            else {
                return;
            };
            // Validated above: the coordinate is in [0, in_shape[d]).
            let c = (st as i64 + i as i64 * step) as usize;
            off += c * stride;
        }
        let base = off + st_in;
        if step_in == 1 {
            if let Some(src) = x.get(base..base + n_in) {
                yrow.copy_from_slice(src);
            }
        } else if step_in > 0 {
            if let Some(src) = x.get(base..) {
                for (o, &v) in yrow.iter_mut().zip(src.iter().step_by(step_in as usize)) {
                    *o = v;
                }
            }
        } else {
            // Negative step: walk backwards from `base` (lowest index read is `base - span`).
            let back = step_in.unsigned_abs() as usize;
            let lo = base - (n_in - 1) * back;
            if let Some(src) = x.get(lo..=base) {
                for (o, &v) in yrow.iter_mut().zip(src.iter().rev().step_by(back)) {
                    *o = v;
                }
            }
        }
        let mut d = last;
        while d > 0 {
            d -= 1;
            let (Some(i), Some(&ext)) = (idx.get_mut(d), out_shape.get(d)) else {
                return;
            };
            *i += 1;
            if *i < ext {
                break;
            }
            *i = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::Rng;
    use alloc::vec;
    use alloc::vec::Vec;

    fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
        let mut idx = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        idx
    }

    fn ravel(idx: &[usize], shape: &[usize]) -> usize {
        idx.iter().zip(shape).fold(0, |o, (&i, &d)| o * d + i)
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for pos in 0..n {
                let mut q = p.clone();
                q.insert(pos, n - 1);
                out.push(q);
            }
        }
        out
    }

    fn transpose_reference(x: &[i64], shape: &[usize], perm: &[usize]) -> Vec<i64> {
        let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let n: usize = shape.iter().product();
        (0..n)
            .map(|f| {
                let oi = unravel(f, &out);
                let mut ii = vec![0; shape.len()];
                for (k, &p) in perm.iter().enumerate() {
                    ii[p] = oi[k];
                }
                x[ravel(&ii, shape)]
            })
            .collect()
    }

    #[test]
    fn transpose_nchw_to_nhwc_and_back_few_and_many_channels() {
        // The column-gather fast path (up to 8 channels) and the strided passes beyond it.
        for c in 1..=10 {
            for (n, h, w) in [(1, 1, 1), (1, 2, 3), (1, 7, 7), (2, 3, 5), (1, 1, 9)] {
                let shape = [n, c, h, w];
                let len = n * c * h * w;
                let x: Vec<i64> = (0..len as i64).collect();
                for perm in [[0, 2, 3, 1], [0, 3, 1, 2], [0, 2, 1, 3]] {
                    let mut y = vec![-1i64; len];
                    transpose(&x, &mut y, &shape, &perm);
                    assert_eq!(
                        y,
                        transpose_reference(&x, &shape, &perm),
                        "{shape:?} {perm:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn transpose_all_perms_rank_0_to_4_and_random_rank_5() {
        let mut rng = Rng::new(61);
        for r in 0..=4 {
            for perm in permutations(r) {
                for _ in 0..4 {
                    let shape: Vec<usize> = (0..r).map(|_| rng.range(1, 4)).collect();
                    let n: usize = shape.iter().product();
                    let x: Vec<i64> = (0..n as i64).collect();
                    let mut y = vec![-1i64; n];
                    transpose(&x, &mut y, &shape, &perm);
                    assert_eq!(
                        y,
                        transpose_reference(&x, &shape, &perm),
                        "{shape:?} {perm:?}"
                    );
                }
            }
        }
        let all5 = permutations(5);
        for _ in 0..100 {
            let perm = &all5[rng.below(all5.len())];
            let shape: Vec<usize> = (0..5).map(|_| rng.range(1, 4)).collect();
            let n: usize = shape.iter().product();
            let x: Vec<f32> = rng.vec(n);
            let xi: Vec<i64> = (0..n as i64).collect();
            let mut y = vec![0.0f32; n];
            transpose(&x, &mut y, &shape, perm);
            let want: Vec<f32> = transpose_reference(&xi, &shape, perm)
                .iter()
                .map(|&i| x[i as usize])
                .collect();
            assert_eq!(y, want);
        }
        // A rank-8 case.
        let shape = [2, 1, 2, 3, 1, 2, 2, 1];
        let perm = [7, 3, 0, 6, 1, 5, 2, 4];
        let x: Vec<i64> = (0..48).collect();
        let mut y = vec![0i64; 48];
        transpose(&x, &mut y, &shape, &perm);
        assert_eq!(y, transpose_reference(&x, &shape, &perm));
    }

    #[test]
    fn transpose_rejects_bad_perms() {
        let x = [1, 2, 3, 4, 5, 6];
        let mut y = [0; 6];
        transpose(&x, &mut y, &[2, 3], &[0, 0]);
        transpose(&x, &mut y, &[2, 3], &[0, 2]);
        transpose(&x, &mut y, &[2, 3], &[1]);
        transpose(&x, &mut y, &[2, 4], &[1, 0]);
        assert_eq!(y, [0; 6]);
        transpose(&x, &mut y, &[2, 3], &[1, 0]);
        assert_eq!(y, [1, 4, 2, 5, 3, 6]);
        transpose(&x, &mut y[..3], &[2, 3], &[1, 0]);
        transpose::<i32>(&[], &mut [], &[0, 3], &[1, 0]);
        transpose(&x, &mut y, &[1; 9], &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn concat_parts() {
        // [2,2] ++ [2,3] along axis 1.
        let mut y = [0i64; 10];
        concat_part(&[1, 2, 3, 4], &mut y, 2, 2, 5, 0);
        concat_part(&[5, 6, 7, 8, 9, 10], &mut y, 2, 3, 5, 2);
        assert_eq!(y, [1, 2, 5, 6, 7, 3, 4, 8, 9, 10]);
        // Axis 0 (outer 1).
        let mut y = [0.0f32; 5];
        concat_part(&[1.0, 2.0], &mut y, 1, 2, 5, 0);
        concat_part(&[3.0, 4.0, 5.0], &mut y, 1, 3, 5, 2);
        assert_eq!(y, [1.0, 2.0, 3.0, 4.0, 5.0]);
        // Out-of-range offset or zero sizes do nothing.
        concat_part(&[1.0, 2.0], &mut y, 1, 2, 5, 4);
        concat_part(&[1.0, 2.0], &mut y, 1, 0, 5, 0);
        concat_part(&[1.0, 2.0], &mut y, 1, 2, 0, 0);
        concat_part(&[1.0, 2.0], &mut y, 1, 2, 5, usize::MAX);
        assert_eq!(y, [1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    fn pad_reference(x: &[i64], shape: &[usize], b: &[i64], e: &[i64], value: i64) -> Vec<i64> {
        let out: Vec<usize> = (0..shape.len())
            .map(|i| (shape[i] as i64 + b[i] + e[i]) as usize)
            .collect();
        let n: usize = out.iter().product();
        (0..n)
            .map(|f| {
                let oi = unravel(f, &out);
                let mut ii = Vec::new();
                for d in 0..shape.len() {
                    let s = oi[d] as i64 - b[d];
                    if s < 0 || s >= shape[d] as i64 {
                        return value;
                    }
                    ii.push(s as usize);
                }
                x[ravel(&ii, shape)]
            })
            .collect()
    }

    #[test]
    fn pad_random_including_negative() {
        let mut rng = Rng::new(62);
        let mut tested = 0;
        for _ in 0..600 {
            let r = rng.range(1, 4);
            let shape: Vec<usize> = (0..r).map(|_| rng.range(1, 5)).collect();
            let b: Vec<i64> = (0..r).map(|_| rng.below(6) as i64 - 2).collect();
            let e: Vec<i64> = (0..r).map(|_| rng.below(6) as i64 - 2).collect();
            if (0..r).any(|i| shape[i] as i64 + b[i] + e[i] < 0) {
                continue;
            }
            let n: usize = shape.iter().product();
            let x: Vec<i64> = (1..=n as i64).collect();
            let want = pad_reference(&x, &shape, &b, &e, -7);
            let mut y = vec![99i64; want.len()];
            pad_constant(&x, &mut y, &shape, &b, &e, -7);
            assert_eq!(y, want, "{shape:?} {b:?} {e:?}");
            tested += 1;
        }
        assert!(tested > 300);
    }

    #[test]
    fn pad_edge_cases() {
        // Reflect-free constant pad of a 2x3 f32 tensor (the ONNX spec example shape).
        let x = [1.0f32, 1.2, 2.3, 3.4, 4.5, 5.7];
        let mut y = [9.0f32; 12];
        pad_constant(&x, &mut y, &[3, 2], &[0, 2], &[0, 0], 0.0);
        assert_eq!(
            y,
            [0.0, 0.0, 1.0, 1.2, 0.0, 0.0, 2.3, 3.4, 0.0, 0.0, 4.5, 5.7]
        );
        // A too-short output slice: nothing written.
        let mut y = [9.0f32; 11];
        pad_constant(&x, &mut y, &[3, 2], &[0, 2], &[0, 0], 0.0);
        assert_eq!(y, [9.0; 11]);
        // Extreme pads whose sum is small must not overflow.
        let mut y = [9i64; 1];
        pad_constant(&[1, 2], &mut y, &[2], &[i64::MIN], &[i64::MAX], 0);
        assert_eq!(y, [0]);
        // Crop everything in one axis: empty output.
        let mut y = [5i64; 2];
        pad_constant(&[1, 2, 3, 4], &mut y, &[2, 2], &[0, -1], &[0, -1], 0);
        assert_eq!(y, [5, 5]);
        // Negative total size: nothing written.
        pad_constant(&[1, 2, 3, 4], &mut y, &[2, 2], &[0, -2], &[0, -1], 0);
        assert_eq!(y, [5, 5]);
        // Crop beyond one side, pad on the other.
        let mut y = [0i64; 3];
        pad_constant(&[1, 2, 3, 4], &mut y, &[4], &[-3], &[2], 0);
        assert_eq!(y, [4, 0, 0]);
        // Rank 0 and short slices.
        let mut y = [0i64; 1];
        pad_constant(&[3], &mut y, &[], &[], &[], 0);
        assert_eq!(y, [3]);
        pad_constant(&[1, 2], &mut y, &[2, 2], &[1, 1], &[1, 1], 0);
        pad_constant(&[1, 2], &mut y, &[2], &[i64::MAX], &[1], 0);
        pad_constant(&[1, 2], &mut y, &[2], &[1], &[], 0);
        pad_constant(&[1, 2], &mut y, &[1; 9], &[0; 9], &[0; 9], 0);
    }

    #[test]
    fn gather_indices() {
        // x [2,4,3], axis 1.
        let x: Vec<i64> = (0..24).collect();
        let idx = [3i64, -1, 0, -4, 2];
        let mut y = vec![0i64; 2 * 5 * 3];
        assert!(gather(&x, &mut y, 2, 4, 3, &idx));
        let mut want = Vec::new();
        for o in 0..2 {
            for &i in &idx {
                let i = if i < 0 { i + 4 } else { i } as usize;
                want.extend_from_slice(&x[(o * 4 + i) * 3..][..3]);
            }
        }
        assert_eq!(y, want);
        // Out of range both ways.
        assert!(!gather(&x, &mut y, 2, 4, 3, &[4]));
        assert!(!gather(&x, &mut y, 2, 4, 3, &[-5]));
        assert!(!gather(&x, &mut y, 2, 4, 3, &[i64::MIN]));
        assert!(!gather(&x, &mut y, 1, 0, 3, &[0]));
        // Empty indices / scalar index (inner 1, outer 1).
        assert!(gather(&x, &mut y, 2, 4, 3, &[]));
        let mut s = [0i64];
        assert!(gather(&x, &mut s, 1, 24, 1, &[-2]));
        assert_eq!(s, [22]);
        // Short output slice.
        assert!(!gather(&x, &mut s, 2, 4, 3, &[1]));
        assert!(!gather(&x, &mut y, usize::MAX, 4, 3, &[1]));
        // f32 elements.
        let xf = [1.5f32, 2.5, 3.5];
        let mut yf = [0.0f32; 2];
        assert!(gather(&xf, &mut yf, 1, 3, 1, &[2, -3]));
        assert_eq!(yf, [3.5, 1.5]);
    }

    fn slice_reference(
        x: &[i64],
        shape: &[usize],
        starts: &[usize],
        steps: &[i64],
        out: &[usize],
    ) -> Vec<i64> {
        let n: usize = out.iter().product();
        (0..n)
            .map(|f| {
                let oi = unravel(f, out);
                let ii: Vec<usize> = (0..shape.len())
                    .map(|d| (starts[d] as i64 + oi[d] as i64 * steps[d]) as usize)
                    .collect();
                x[ravel(&ii, shape)]
            })
            .collect()
    }

    #[test]
    fn slice_random_with_negative_steps() {
        let mut rng = Rng::new(63);
        for _ in 0..800 {
            let r = rng.range(1, 4);
            let shape: Vec<usize> = (0..r).map(|_| rng.range(1, 6)).collect();
            let mut starts = Vec::new();
            let mut steps = Vec::new();
            let mut out = Vec::new();
            for &len in &shape {
                let st = rng.below(len);
                let step = [1i64, 1, 2, 3, -1, -1, -2, -3][rng.below(8)];
                let avail = if step > 0 {
                    (len - st - 1) / step as usize + 1
                } else {
                    st / step.unsigned_abs() as usize + 1
                };
                starts.push(st);
                steps.push(step);
                out.push(rng.range(1, avail));
            }
            let n: usize = shape.iter().product();
            let x: Vec<i64> = (0..n as i64).collect();
            let want = slice_reference(&x, &shape, &starts, &steps, &out);
            let mut y = vec![-1i64; want.len()];
            slice(&x, &mut y, &shape, &starts, &steps, &out);
            assert_eq!(y, want, "{shape:?} {starts:?} {steps:?} {out:?}");
        }
    }

    #[test]
    fn slice_rejects_out_of_range() {
        let x: Vec<i64> = (0..10).collect();
        let mut y = [0i64; 4];
        slice(&x, &mut y, &[10], &[8], &[1], &[4]);
        slice(&x, &mut y, &[10], &[2], &[-1], &[4]);
        slice(&x, &mut y, &[10], &[2], &[0], &[4]);
        slice(&x, &mut y, &[10], &[10], &[1], &[1]);
        slice(&x, &mut y, &[10], &[9], &[i64::MIN], &[2]);
        slice(&x, &mut y, &[10], &[9], &[-3], &[4]);
        assert_eq!(y, [9, 6, 3, 0]);
        let mut y = [0i64; 4];
        slice(&x, &mut y, &[10], &[9], &[-3], &[5]);
        slice(&x, &mut y, &[2, 5], &[0], &[1], &[2, 2]);
        slice(&x, &mut y, &[1; 9], &[0; 9], &[1; 9], &[1; 9]);
        slice(&x, &mut y, &[10], &[0], &[1], &[0]);
        assert_eq!(y, [0; 4]);
        let mut s = [0i64];
        slice(&[7i64], &mut s, &[], &[], &[], &[]);
        assert_eq!(s, [7]);
    }

    #[test]
    fn onnxruntime_values() {
        // Generated by tools/kernels/gen_kernel_cases.py (onnxruntime CPU), x = 0, 1, 2, ...
        let x: Vec<f32> = (0..60).map(|i| i as f32).collect();
        // Pad [2,3,4] with pads begin (0,-1,2) end (1,1,-2), value 9.5 -> [3,3,4].
        let mut y = vec![0.0f32; 36];
        pad_constant(&x[..24], &mut y, &[2, 3, 4], &[0, -1, 2], &[1, 1, -2], 9.5);
        assert_eq!(y, ORT_PAD);
        // Slice [3,4,5] starts (2,3,4) steps (-1,-2,-3) -> [3,2,2].
        let mut y = vec![0.0f32; 12];
        slice(
            &x,
            &mut y,
            &[3, 4, 5],
            &[2, 3, 4],
            &[-1, -2, -3],
            &[3, 2, 2],
        );
        assert_eq!(y, ORT_SLICE);
        // Gather [3,4] axis 1 with indices [[-1,0],[2,-3]].
        let mut y = vec![0.0f32; 12];
        assert!(gather(&x[..12], &mut y, 3, 4, 1, &[-1, 0, 2, -3]));
        assert_eq!(y, ORT_GATHER);
        // Transpose [2,3,4] perm (2,0,1).
        let mut y = vec![0.0f32; 24];
        transpose(&x[..24], &mut y, &[2, 3, 4], &[2, 0, 1]);
        assert_eq!(y, ORT_TRANSPOSE);
    }

    // shape [3, 3, 4]

    const ORT_PAD: [f32; 36] = [
        9.5, 9.5, 4.0, 5.0, 9.5, 9.5, 8.0, 9.0, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 16.0, 17.0, 9.5, 9.5,
        20.0, 21.0, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5,
    ];
    // shape [3, 2, 2]
    const ORT_SLICE: [f32; 12] = [
        59.0, 56.0, 49.0, 46.0, 39.0, 36.0, 29.0, 26.0, 19.0, 16.0, 9.0, 6.0,
    ];
    // shape [3, 2, 2]
    const ORT_GATHER: [f32; 12] = [3.0, 0.0, 2.0, 1.0, 7.0, 4.0, 6.0, 5.0, 11.0, 8.0, 10.0, 9.0];
    // shape [4, 2, 3]
    const ORT_TRANSPOSE: [f32; 24] = [
        0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 1.0, 5.0, 9.0, 13.0, 17.0, 21.0, 2.0, 6.0, 10.0, 14.0,
        18.0, 22.0, 3.0, 7.0, 11.0, 15.0, 19.0, 23.0,
    ];
}
