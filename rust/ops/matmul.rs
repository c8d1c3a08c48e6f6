//! Matrix products: MatMul, Dense (MatMul + bias + activation), Gemm and batched MatMul.
//!
//! The core loop accumulates `y[i, :] += a[i, p] * b[p, :]` four `p` at a time, so the innermost
//! loop streams over contiguous rows of `b` and `y` and loads/stores `y` once per four products.
//! With `trans_b` the innermost loop is instead a contiguous dot product. Dense layers (a
//! vector or a few rows times a weight matrix) keep blocks of 8, 4 or 1 output columns in
//! registers instead, reading each weight once and storing each output once.

use super::activation::Activation;
use super::MAX_RANK;

/// `y[m, n] += alpha * A[m, k] * b[k, n]` where `A[i, p] = a[i * a_rs + p * a_cs]` and `b` is
/// row-major. Rows of `y` beyond `y.len()` or products reading past `a`/`b` are skipped.
pub(crate) fn gemm_acc(
    alpha: f32,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    b: &[f32],
    y: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    if n == 0 || k == 0 {
        return;
    }
    let Some(b) = k.checked_mul(n).and_then(|len| b.get(..len)) else {
        return;
    };
    for (i, yrow) in y.chunks_exact_mut(n).take(m).enumerate() {
        let at = |p: usize| -> f32 {
            a.get(i.wrapping_mul(a_rs).wrapping_add(p.wrapping_mul(a_cs)))
                .map_or(0.0, |&v| alpha * v)
        };
        let mut rows = b.chunks_exact(n);
        let mut p = 0;
        while p + 4 <= k {
            let (Some(b0), Some(b1), Some(b2), Some(b3)) =
                (rows.next(), rows.next(), rows.next(), rows.next())
            else {
                return;
            };
            let (a0, a1, a2, a3) = (at(p), at(p + 1), at(p + 2), at(p + 3));
            for ((((yv, &x0), &x1), &x2), &x3) in yrow.iter_mut().zip(b0).zip(b1).zip(b2).zip(b3) {
                *yv += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
            }
            p += 4;
        }
        for b0 in rows {
            let a0 = at(p);
            for (yv, &x0) in yrow.iter_mut().zip(b0) {
                *yv += a0 * x0;
            }
            p += 1;
        }
    }
}

/// `y[m, n] += alpha * A[m, k] * B^T` where `A[i, p] = a[i * a_rs + p * a_cs]` and `bt` is
/// row-major `[n, k]`: each output is a contiguous dot product.
fn gemm_acc_bt(
    alpha: f32,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    bt: &[f32],
    y: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    if n == 0 || k == 0 {
        return;
    }
    for (i, yrow) in y.chunks_exact_mut(n).take(m).enumerate() {
        let start = i.wrapping_mul(a_rs);
        if a_cs == 1 {
            let Some(arow) = a.get(start..).and_then(|r| r.get(..k)) else {
                return;
            };
            for (yv, brow) in yrow.iter_mut().zip(bt.chunks_exact(k)) {
                let mut s = 0.0f32;
                for (&x, &w) in arow.iter().zip(brow) {
                    s += x * w;
                }
                *yv += alpha * s;
            }
        } else {
            let Some(arow) = a.get(start..) else {
                return;
            };
            for (yv, brow) in yrow.iter_mut().zip(bt.chunks_exact(k)) {
                let mut s = 0.0f32;
                for (&x, &w) in arow.iter().step_by(a_cs.max(1)).zip(brow) {
                    s += x * w;
                }
                *yv += alpha * s;
            }
        }
    }
}

/// `y[m, n] = a[m, k] * b[k, n]` (row-major); overwrites `y`.
pub fn matmul(a: &[f32], b: &[f32], y: &mut [f32], m: usize, k: usize, n: usize) {
    let len = m.saturating_mul(n).min(y.len());
    let Some(y) = y.get_mut(..len) else {
        return;
    };
    y.fill(0.0);
    gemm_acc(1.0, a, k, 1, b, y, m, k, n);
}

/// Dense layer: `y[m, n] = act(x[m, k] * w[k, n] + bias[n])`.
pub fn dense(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    if n == 0 {
        return;
    }
    let len = m.saturating_mul(n).min(y.len());
    let Some(y) = y.get_mut(..len) else {
        return;
    };
    let bias = bias.and_then(|b| b.get(..n));
    let Some(w) = k.checked_mul(n).and_then(|len| w.get(..len)) else {
        return;
    };
    for (i, yr) in y.chunks_exact_mut(n).enumerate() {
        let Some(xr) = x.get(i * k..(i + 1) * k) else {
            break;
        };
        // Column blocks of 8, 4 and 1: the block's sums stay in registers while the rows of
        // `w` stream past once.
        let mut j = 0;
        while j < n {
            let rest = n - j;
            if rest >= 8 {
                dense_cols::<8>(xr, w, n, j, bias, yr);
                j += 8;
            } else if rest >= 4 {
                dense_cols::<4>(xr, w, n, j, bias, yr);
                j += 4;
            } else {
                dense_cols::<1>(xr, w, n, j, bias, yr);
                j += 1;
            }
        }
    }
    act.apply_in_place(y);
}

/// `y[j..j + NB] = bias[j..j + NB] + sum over p of x[p] * w[p, j..j + NB]` (`w` is `[k, n]`,
/// `x` is `k` long, `y` and `bias` are `n` long); the `NB` sums are accumulated in order of
/// `p`, like [`gemm_acc`] with a bias-initialised `y`.
#[inline(always)]
fn dense_cols<const NB: usize>(
    x: &[f32],
    w: &[f32],
    n: usize,
    j: usize,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let mut acc = [0.0f32; NB];
    if let Some(b) = bias
        .and_then(|b| b.get(j..))
        .and_then(|b| b.first_chunk::<NB>())
    {
        acc = *b;
    }
    cols_acc(x, w, n, j, &mut acc);
    if let Some(out) = y.get_mut(j..).and_then(|r| r.first_chunk_mut::<NB>()) {
        *out = acc;
    }
}

/// `acc[c] += sum over p of x[p] * w[p, j + c]` for `c < NB`, in order of `p` (`w` is
/// `[x.len(), n]`): the VFMA assembly routine on Cortex-M, else the same loop in Rust.
#[inline(always)]
fn cols_acc<const NB: usize>(x: &[f32], w: &[f32], n: usize, j: usize, acc: &mut [f32; NB]) {
    #[cfg(rtonnx_vfma)]
    if super::matmul_arm::dense_cols::<NB>(x, w, x.len(), n, j, acc) {
        return;
    }
    for (&xv, wr) in x.iter().zip(w.chunks_exact(n)) {
        if let Some(wv) = wr.get(j..).and_then(|r| r.first_chunk::<NB>()) {
            for (a, &wv) in acc.iter_mut().zip(wv) {
                *a += xv * wv;
            }
        }
    }
}

/// `y[m, n] += a[m, k] * b[k, n]` (row-major), with blocks of 8, 4 and 1 columns of a row
/// of `y` kept in registers while the rows of `b` stream past (each element of `y` loaded
/// and stored once): a pointwise convolution's `W[oc, ic] * x[ic, pixels]` on Cortex-M,
/// where a block of 8 is one VLDM and 8 VFMAs per row of `b`. Sums in order of `p`, like
/// [`gemm_acc`]. Rows or products past the slices are skipped.
pub(crate) fn gemm_acc_cols(a: &[f32], b: &[f32], y: &mut [f32], m: usize, k: usize, n: usize) {
    if n == 0 || k == 0 {
        return;
    }
    let Some(b) = k.checked_mul(n).and_then(|len| b.get(..len)) else {
        return;
    };
    for (ar, yr) in a.chunks_exact(k).zip(y.chunks_exact_mut(n)).take(m) {
        let mut j = 0;
        while j < n {
            let rest = n - j;
            if rest >= 8 {
                acc_block::<8>(ar, b, n, j, yr);
                j += 8;
            } else if rest >= 4 {
                acc_block::<4>(ar, b, n, j, yr);
                j += 4;
            } else {
                acc_block::<1>(ar, b, n, j, yr);
                j += 1;
            }
        }
    }
}

/// `y[j..j + NB] += sum over p of x[p] * w[p, j..j + NB]`.
#[inline(always)]
fn acc_block<const NB: usize>(x: &[f32], w: &[f32], n: usize, j: usize, y: &mut [f32]) {
    let Some(out) = y.get_mut(j..).and_then(|r| r.first_chunk_mut::<NB>()) else {
        return;
    };
    let mut acc = *out;
    cols_acc(x, w, n, j, &mut acc);
    *out = acc;
}

/// How the Gemm `C` operand broadcasts to `[m, n]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GemmBias {
    /// No `C`.
    None,
    /// One value.
    Scalar,
    /// `[n]` or `[1, n]`: one value per column.
    Row,
    /// `[m, 1]`: one value per row.
    Column,
    /// `[m, n]`.
    Full,
}

/// Gemm geometry: `y = alpha * op(a) * op(b) + beta * c`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    /// Rows of the output.
    pub m: usize,
    /// Shared dimension.
    pub k: usize,
    /// Columns of the output.
    pub n: usize,
    /// `a` is stored `[k, m]`.
    pub trans_a: bool,
    /// `b` is stored `[n, k]`.
    pub trans_b: bool,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `c` (with `beta == 0` `c` is ignored, as in onnxruntime).
    pub beta: f32,
    /// Broadcast kind of `c`.
    pub bias: GemmBias,
}

impl Gemm {
    /// Multiply-accumulate count.
    pub fn macs(&self) -> u64 {
        (self.m as u64)
            .saturating_mul(self.k as u64)
            .saturating_mul(self.n as u64)
    }
}

/// `y = act(alpha * op(a) * op(b) + beta * c)`; `a` is `[m, k]` (`[k, m]` if `trans_a`), `b` is
/// `[k, n]` (`[n, k]` if `trans_b`), `c` broadcasts per `p.bias`.
pub fn gemm(p: &Gemm, a: &[f32], b: &[f32], c: Option<&[f32]>, act: Activation, y: &mut [f32]) {
    let (m, k, n) = (p.m, p.k, p.n);
    if n == 0 {
        return;
    }
    let len = m.saturating_mul(n).min(y.len());
    let Some(y) = y.get_mut(..len) else {
        return;
    };
    // y = beta * C (or 0).
    let beta = p.beta;
    match (c, p.bias) {
        (Some(c), GemmBias::Scalar) if beta != 0.0 => {
            y.fill(beta * c.first().copied().unwrap_or(0.0))
        }
        (Some(c), GemmBias::Row) if beta != 0.0 => match c.get(..n) {
            Some(c) => y.chunks_exact_mut(n).for_each(|row| {
                row.iter_mut().zip(c).for_each(|(o, &v)| *o = beta * v);
            }),
            None => y.fill(0.0),
        },
        (Some(c), GemmBias::Column) if beta != 0.0 => {
            y.fill(0.0);
            for (row, &v) in y.chunks_exact_mut(n).zip(c) {
                row.fill(beta * v);
            }
        }
        (Some(c), GemmBias::Full) if beta != 0.0 => {
            y.fill(0.0);
            for (o, &v) in y.iter_mut().zip(c) {
                *o = beta * v;
            }
        }
        _ => y.fill(0.0),
    }
    let (a_rs, a_cs) = if p.trans_a { (1, m) } else { (k, 1) };
    if p.trans_b {
        gemm_acc_bt(p.alpha, a, a_rs, a_cs, b, y, m, k, n);
    } else {
        gemm_acc(p.alpha, a, a_rs, a_cs, b, y, m, k, n);
    }
    act.apply_in_place(y);
}

/// Batched MatMul with numpy broadcasting of the batch dims.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchedMatMul {
    /// Rows of each output matrix.
    pub m: usize,
    /// Shared dimension.
    pub k: usize,
    /// Columns of each output matrix.
    pub n: usize,
    /// Number of broadcast batch dims.
    pub rank: usize,
    /// Broadcast batch shape (first `rank` entries).
    pub batch_shape: [usize; MAX_RANK],
    /// Strides of `a` per batch dim, in whole `[m, k]` matrices (0 where broadcast).
    pub a_batch_strides: [usize; MAX_RANK],
    /// Strides of `b` per batch dim, in whole `[k, n]` matrices (0 where broadcast).
    pub b_batch_strides: [usize; MAX_RANK],
}

impl BatchedMatMul {
    /// `a_batch`/`b_batch`: the batch dims (shapes without the last two), broadcast per numpy;
    /// `None` if incompatible, the rank exceeds [`MAX_RANK`] or a size overflows.
    pub fn new(a_batch: &[usize], b_batch: &[usize], m: usize, k: usize, n: usize) -> Option<Self> {
        let r = a_batch.len().max(b_batch.len());
        if r > MAX_RANK {
            return None;
        }
        let mut ad = [1usize; MAX_RANK];
        let mut bd = [1usize; MAX_RANK];
        ad.get_mut(r - a_batch.len()..r)?.copy_from_slice(a_batch);
        bd.get_mut(r - b_batch.len()..r)?.copy_from_slice(b_batch);
        let mut p = BatchedMatMul {
            m,
            k,
            n,
            rank: r,
            batch_shape: [0; MAX_RANK],
            a_batch_strides: [0; MAX_RANK],
            b_batch_strides: [0; MAX_RANK],
        };
        let (mut pa, mut pb) = (1usize, 1usize);
        for i in (0..r).rev() {
            let (da, db) = (*ad.get(i)?, *bd.get(i)?);
            *p.batch_shape.get_mut(i)? = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return None;
            };
            *p.a_batch_strides.get_mut(i)? = if da == 1 { 0 } else { pa };
            *p.b_batch_strides.get_mut(i)? = if db == 1 { 0 } else { pb };
            pa = pa.checked_mul(da)?;
            pb = pb.checked_mul(db)?;
        }
        let batches = super::checked_product(p.batch_shape.get(..r)?)?;
        // All three matrix sizes must be representable.
        pa.checked_mul(m.checked_mul(k)?)?;
        pb.checked_mul(k.checked_mul(n)?)?;
        batches.checked_mul(m.checked_mul(n)?)?;
        Some(p)
    }

    /// Number of output matrices.
    pub fn batches(&self) -> usize {
        self.batch_shape
            .get(..self.rank)
            .and_then(super::checked_product)
            .unwrap_or(0)
    }

    /// Multiply-accumulate count.
    pub fn macs(&self) -> u64 {
        (self.batches() as u64)
            .saturating_mul(self.m as u64)
            .saturating_mul(self.k as u64)
            .saturating_mul(self.n as u64)
    }
}

/// `y[batch] = a[batch] * b[batch]` with broadcast batch dims.
pub fn batched_matmul(p: &BatchedMatMul, a: &[f32], b: &[f32], y: &mut [f32]) {
    let (m, k, n) = (p.m, p.k, p.n);
    let (Some(a_mat), Some(b_mat), Some(y_mat)) =
        (m.checked_mul(k), k.checked_mul(n), m.checked_mul(n))
    else {
        return;
    };
    if y_mat == 0 {
        return;
    }
    let r = p.rank;
    let (Some(shape), Some(sa), Some(sb)) = (
        p.batch_shape.get(..r),
        p.a_batch_strides.get(..r),
        p.b_batch_strides.get(..r),
    ) else {
        return;
    };
    let batches = p.batches();
    let mut idx = [0usize; MAX_RANK];
    let Some(idx) = idx.get_mut(..r) else {
        return;
    };
    let mut offs = [0usize; 2];
    for yb in y.chunks_exact_mut(y_mat).take(batches) {
        let [ia, ib] = offs;
        let ab = ia
            .checked_mul(a_mat)
            .and_then(|o| a.get(o..))
            .unwrap_or(&[]);
        let bb = ib
            .checked_mul(b_mat)
            .and_then(|o| b.get(o..))
            .unwrap_or(&[]);
        matmul(ab, bb, yb, m, k, n);
        if !super::odometer_step(idx, shape, [sa, sb], &mut offs) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, pattern, Rng};
    use alloc::vec;
    use alloc::vec::Vec;

    /// Naive reference: y = alpha * op(a) op(b) + beta * c (f64 accumulation).
    #[allow(clippy::too_many_arguments)]
    fn reference(
        a: &[f32],
        b: &[f32],
        c: Option<(&[f32], GemmBias)>,
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        tb: bool,
        alpha: f32,
        beta: f32,
    ) -> Vec<f32> {
        let mut y = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av as f64 * bv as f64;
                }
                let cv = match c {
                    None => 0.0,
                    Some((c, kind)) => match kind {
                        GemmBias::None => 0.0,
                        GemmBias::Scalar => c[0],
                        GemmBias::Row => c[j],
                        GemmBias::Column => c[i],
                        GemmBias::Full => c[i * n + j],
                    },
                };
                y[i * n + j] = (alpha as f64 * s + beta as f64 * cv as f64) as f32;
            }
        }
        y
    }

    #[test]
    fn column_blocks_accumulate_like_gemm_acc() {
        // Every tail of the 8/4/1 column blocks, rows of one and more, onto a non-zero y.
        let mut seed = 7u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((seed >> 9) % 2001) as f32 / 1000.0 - 1.0
        };
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (4, 9, 13), (2, 16, 32), (5, 3, 49)] {
            let a: Vec<f32> = (0..m * k).map(|_| rnd()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rnd()).collect();
            let y0: Vec<f32> = (0..m * n).map(|_| rnd()).collect();
            let mut want = y0.clone();
            gemm_acc(1.0, &a, k, 1, &b, &mut want, m, k, n);
            let mut got = y0.clone();
            gemm_acc_cols(&a, &b, &mut got, m, k, n);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{m}x{k}x{n}: {g} vs {w}"
                );
            }
            // Short slices are skipped, never read past.
            gemm_acc_cols(&a, &b[..k * n - 1], &mut got, m, k, n);
            gemm_acc_cols(&a[..k - 1], &b, &mut got, m, k, n);
        }
    }

    #[test]
    fn matmul_random_sizes() {
        let mut rng = Rng::new(11);
        for _ in 0..200 {
            let (m, k, n) = (rng.range(1, 9), rng.range(0, 13), rng.range(1, 9));
            let a = rng.vec(m * k);
            let b = rng.vec(k * n);
            let want = reference(&a, &b, None, m, k, n, false, false, 1.0, 0.0);
            let mut y = vec![f32::NAN; m * n];
            matmul(&a, &b, &mut y, m, k, n);
            assert_close(&y, &want, 1e-5);
        }
    }

    #[test]
    fn dense_with_and_without_bias() {
        let mut rng = Rng::new(12);
        // Column counts around the blocks of 8 and 4, no products (k = 0), and the
        // vector-times-matrix shapes of the keras2onnx MNIST models.
        let model_shapes = [(1, 98, 4), (1, 196, 4), (1, 4, 10), (2, 60, 13)];
        for case in 0..140 {
            let (m, k, n) = match model_shapes.get(case % 35) {
                Some(&shape) => shape,
                None => (rng.range(1, 4), rng.range(0, 40), rng.range(1, 21)),
            };
            let x = rng.vec(m * k);
            let w = rng.vec(k * n);
            let bias = rng.vec(n);
            let with_bias = case % 2 == 0;
            let act = if case % 3 == 0 {
                Activation::Relu
            } else {
                Activation::None
            };
            let mut want = reference(
                &x,
                &w,
                with_bias.then_some((&bias[..], GemmBias::Row)),
                m,
                k,
                n,
                false,
                false,
                1.0,
                1.0,
            );
            act.apply_in_place(&mut want);
            let mut y = vec![f32::NAN; m * n];
            dense(&x, &w, with_bias.then_some(&bias[..]), act, &mut y, m, k, n);
            assert_close(&y, &want, 1e-5);
        }
    }

    #[test]
    fn gemm_all_bias_kinds_transposes_and_scales() {
        let mut rng = Rng::new(13);
        let kinds = [
            GemmBias::None,
            GemmBias::Scalar,
            GemmBias::Row,
            GemmBias::Column,
            GemmBias::Full,
        ];
        for case in 0..400 {
            let (m, k, n) = (rng.range(1, 7), rng.range(1, 11), rng.range(1, 7));
            let ta = case & 1 != 0;
            let tb = case & 2 != 0;
            let kind = kinds[(case >> 2) % kinds.len()];
            let (alpha, beta) = match case % 4 {
                0 => (1.0, 1.0),
                1 => (0.5, 2.0),
                2 => (-1.5, 0.0),
                _ => (2.0, -0.25),
            };
            let a = rng.vec(m * k);
            let b = rng.vec(k * n);
            let c_len = match kind {
                GemmBias::None => 0,
                GemmBias::Scalar => 1,
                GemmBias::Row => n,
                GemmBias::Column => m,
                GemmBias::Full => m * n,
            };
            let c = rng.vec(c_len);
            let p = Gemm {
                m,
                k,
                n,
                trans_a: ta,
                trans_b: tb,
                alpha,
                beta,
                bias: kind,
            };
            let c_opt = (kind != GemmBias::None).then_some(&c[..]);
            let mut want = reference(
                &a,
                &b,
                c_opt.map(|c| (c, kind)),
                m,
                k,
                n,
                ta,
                tb,
                alpha,
                beta,
            );
            let act = if case % 5 == 0 {
                Activation::Sigmoid
            } else {
                Activation::None
            };
            act.apply_in_place(&mut want);
            let mut y = vec![f32::NAN; m * n];
            gemm(&p, &a, &b, c_opt, act, &mut y);
            assert_close(&y, &want, 1e-5);
            assert_eq!(p.macs(), (m * k * n) as u64);
        }
    }

    #[test]
    fn gemm_beta_zero_ignores_c() {
        let p = Gemm {
            m: 1,
            k: 1,
            n: 2,
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 0.0,
            bias: GemmBias::Row,
        };
        let mut y = [0.0f32; 2];
        gemm(
            &p,
            &[2.0],
            &[1.0, 3.0],
            Some(&[f32::INFINITY, f32::NAN]),
            Activation::None,
            &mut y,
        );
        assert_eq!(y, [2.0, 6.0]);
    }

    #[test]
    fn batched_broadcast_geometry() {
        let p = BatchedMatMul::new(&[2, 1, 3], &[4, 1], 2, 3, 5).unwrap();
        assert_eq!(p.rank, 3);
        assert_eq!(&p.batch_shape[..3], &[2, 4, 3]);
        assert_eq!(&p.a_batch_strides[..3], &[3, 0, 1]);
        assert_eq!(&p.b_batch_strides[..3], &[0, 1, 0]);
        assert_eq!(p.batches(), 24);
        assert_eq!(p.macs(), 24 * 30);
        assert!(BatchedMatMul::new(&[2, 3], &[3, 2], 1, 1, 1).is_none());
        assert!(BatchedMatMul::new(&[1; 9], &[], 1, 1, 1).is_none());
        let p = BatchedMatMul::new(&[], &[], 3, 4, 5).unwrap();
        assert_eq!((p.rank, p.batches()), (0, 1));
        assert!(BatchedMatMul::new(&[usize::MAX], &[], 2, 2, 2).is_none());
    }

    #[test]
    fn batched_matmul_random_broadcasts() {
        let mut rng = Rng::new(14);
        for _ in 0..150 {
            let r = rng.range(0, 4);
            let full: Vec<usize> = (0..r).map(|_| rng.range(1, 3)).collect();
            let mk = |rng: &mut Rng| {
                let drop = rng.range(0, r);
                full[drop..]
                    .iter()
                    .map(|&d| if rng.below(2) == 0 { 1 } else { d })
                    .collect::<Vec<_>>()
            };
            let (ab, bb) = (mk(&mut rng), mk(&mut rng));
            let (m, k, n) = (rng.range(1, 4), rng.range(1, 6), rng.range(1, 4));
            let na: usize = ab.iter().product();
            let nb: usize = bb.iter().product();
            let a = rng.vec(na * m * k);
            let b = rng.vec(nb * k * n);
            let p = BatchedMatMul::new(&ab, &bb, m, k, n).unwrap();
            let mut y = vec![f32::NAN; p.batches() * m * n];
            batched_matmul(&p, &a, &b, &mut y);
            // Reference: unravel each batch index, map into a/b with broadcasting.
            let out_shape = &p.batch_shape[..p.rank];
            let pad = |s: &[usize]| {
                let mut v = vec![1usize; p.rank - s.len()];
                v.extend_from_slice(s);
                v
            };
            let (ap, bp) = (pad(&ab), pad(&bb));
            for bi in 0..p.batches() {
                let mut rem = bi;
                let mut idx = vec![0; p.rank];
                for d in (0..p.rank).rev() {
                    idx[d] = rem % out_shape[d];
                    rem /= out_shape[d];
                }
                let lin = |s: &[usize]| {
                    (0..p.rank).fold(0, |o, d| o * s[d] + if s[d] == 1 { 0 } else { idx[d] })
                };
                let (ia, ib) = (lin(&ap), lin(&bp));
                let want = reference(
                    &a[ia * m * k..][..m * k],
                    &b[ib * k * n..][..k * n],
                    None,
                    m,
                    k,
                    n,
                    false,
                    false,
                    1.0,
                    0.0,
                );
                assert_close(&y[bi * m * n..][..m * n], &want, 1e-5);
            }
        }
    }

    #[test]
    fn inconsistent_sizes_do_not_panic() {
        let mut rng = Rng::new(15);
        for _ in 0..300 {
            let (m, k, n) = (rng.below(6), rng.below(6), rng.below(6));
            let a = rng.vec_upto(30);
            let b = rng.vec_upto(30);
            let c = rng.vec_upto(30);
            let mut y = vec![0.0; rng.below(30)];
            matmul(&a, &b, &mut y, m, k, n);
            dense(&a, &b, Some(&c), Activation::Relu, &mut y, m, k, n);
            for kind in [
                GemmBias::Scalar,
                GemmBias::Row,
                GemmBias::Column,
                GemmBias::Full,
            ] {
                for t in 0..4 {
                    let p = Gemm {
                        m,
                        k,
                        n,
                        trans_a: t & 1 != 0,
                        trans_b: t & 2 != 0,
                        alpha: 1.0,
                        beta: 1.0,
                        bias: kind,
                    };
                    gemm(&p, &a, &b, Some(&c), Activation::None, &mut y);
                    gemm(&p, &a, &b, Some(&[]), Activation::None, &mut y);
                }
            }
            if let Some(p) = BatchedMatMul::new(&[2, 1], &[3], m, k, n) {
                batched_matmul(&p, &a, &b, &mut y);
            }
        }
        matmul(&[1.0], &[1.0], &mut [0.0; 4], usize::MAX, usize::MAX, 2);
        let p = BatchedMatMul {
            m: usize::MAX,
            k: 3,
            n: 2,
            rank: 9,
            batch_shape: [0; MAX_RANK],
            a_batch_strides: [0; MAX_RANK],
            b_batch_strides: [0; MAX_RANK],
        };
        batched_matmul(&p, &[], &[], &mut [0.0; 4]);
    }

    #[test]
    fn onnxruntime_values() {
        // Generated by tools/kernels/gen_kernel_cases.py. Gemm transA=1 transB=1 alpha=0.5
        // beta=2, A stored [4,3] (i*0.25-1), B stored [2,4] (i*0.5-1.5), C [3,1] ([0.5,-1,2]).
        let a = pattern(12, 1, 0, 1000, 0.25, 1.0);
        let b = pattern(8, 1, 0, 1000, 0.5, 1.5);
        let p = Gemm {
            m: 3,
            k: 4,
            n: 2,
            trans_a: true,
            trans_b: true,
            alpha: 0.5,
            beta: 2.0,
            bias: GemmBias::Column,
        };
        let mut y = [0.0f32; 6];
        gemm(
            &p,
            &a,
            &b,
            Some(&[0.5, -1.0, 2.0]),
            Activation::None,
            &mut y,
        );
        assert_close(&y, &ORT_GEMM, 1e-5);
        // MatMul [2,1,2,3] x [3,3,2]: A = (i*7+3)%11*0.1-0.5, B = (i*5+1)%13*0.1-0.6.
        let a = pattern(12, 7, 3, 11, 0.1, 0.5);
        let b = pattern(18, 5, 1, 13, 0.1, 0.6);
        let p = BatchedMatMul::new(&[2, 1], &[3], 2, 3, 2).unwrap();
        let mut y = [0.0f32; 24];
        batched_matmul(&p, &a, &b, &mut y);
        assert_close(&y, &ORT_MATMUL, 1e-5);
    }

    // shape [3, 2]

    const ORT_GEMM: [f32; 6] = [1.75, 2.25, -1.625, -0.125, 4.0, 6.5];
    // shape [2, 3, 2, 2]
    const ORT_MATMUL: [f32; 24] = [
        0.37,
        -0.21000002,
        0.35000002,
        -0.12000001,
        -0.11999999,
        -0.050000016,
        -0.13000003,
        -0.080000006,
        -0.09,
        0.37,
        -0.09,
        0.35000002,
        0.33,
        -0.030000005,
        0.31,
        0.06,
        -0.14,
        -0.11000001,
        -0.14999999,
        -0.13999999,
        -0.09,
        0.33,
        -0.09,
        0.31,
    ];
}
