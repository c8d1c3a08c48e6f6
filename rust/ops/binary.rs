//! Broadcasting element-wise arithmetic (Add, Sub, Mul, Div) with numpy semantics.
//!
//! [`Broadcast::new`] computes the output shape and then collapses the iteration space: axes
//! of size 1 are dropped and adjacent axes with the same broadcast pattern are merged, so the
//! common cases (same shapes, scalar operand, per-channel bias) become one or two loops whose
//! innermost loop runs over contiguous memory.

use super::{checked_product, odometer_step, MAX_RANK};

/// A binary arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `a ^ b` (float: powf; int64: repeated multiplication, negative exponents give 0
    /// except for bases 1 and -1).
    Pow,
    /// Larger of the two (NaN propagates for floats).
    Max,
    /// Smaller of the two (NaN propagates for floats).
    Min,
}

/// Broadcast geometry of a binary operation.
///
/// `rank`, `out_shape`, `a_strides` and `b_strides` describe the *collapsed* iteration space
/// used by the kernels (same number of elements as the output, at least one axis; strides are
/// in elements, 0 where an operand is broadcast). The true numpy output shape is
/// [`Broadcast::out_shape`] (`full_rank`/`full_shape`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// Number of collapsed iteration axes (1..=MAX_RANK).
    pub rank: usize,
    /// Collapsed iteration shape (first `rank` entries).
    pub out_shape: [usize; MAX_RANK],
    /// Element strides of `a` per collapsed axis.
    pub a_strides: [usize; MAX_RANK],
    /// Element strides of `b` per collapsed axis.
    pub b_strides: [usize; MAX_RANK],
    /// Rank of the numpy-broadcast output shape.
    pub full_rank: usize,
    /// The numpy-broadcast output shape (first `full_rank` entries).
    pub full_shape: [usize; MAX_RANK],
}

impl Broadcast {
    /// Broadcasts `a_shape` with `b_shape` per numpy. `None` if the shapes are not
    /// broadcast-compatible, the rank exceeds [`MAX_RANK`], or the element count overflows.
    pub fn new(a_shape: &[usize], b_shape: &[usize]) -> Option<Broadcast> {
        let r = a_shape.len().max(b_shape.len());
        if r > MAX_RANK {
            return None;
        }
        // Right-aligned dims, padded with leading 1s.
        let mut ad = [1usize; MAX_RANK];
        let mut bd = [1usize; MAX_RANK];
        ad.get_mut(r - a_shape.len()..r)?.copy_from_slice(a_shape);
        bd.get_mut(r - b_shape.len()..r)?.copy_from_slice(b_shape);
        let mut full_shape = [0usize; MAX_RANK];
        for ((o, &da), &db) in full_shape.iter_mut().zip(&ad).zip(&bd).take(r) {
            *o = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return None;
            };
        }
        checked_product(full_shape.get(..r)?)?;
        // Contiguous strides of each operand in its own shape; 0 on broadcast axes.
        let mut sa_full = [0usize; MAX_RANK];
        let mut sb_full = [0usize; MAX_RANK];
        let (mut pa, mut pb) = (1usize, 1usize);
        for i in (0..r).rev() {
            let (da, db) = (*ad.get(i)?, *bd.get(i)?);
            *sa_full.get_mut(i)? = if da == 1 { 0 } else { pa };
            *sb_full.get_mut(i)? = if db == 1 { 0 } else { pb };
            pa = pa.checked_mul(da)?;
            pb = pb.checked_mul(db)?;
        }
        // Collapse: drop size-1 axes, merge axis i into the previous kept one when both
        // operands continue contiguously (prev_stride == stride * extent, which includes 0 == 0).
        let mut bc = Broadcast {
            rank: 0,
            out_shape: [0; MAX_RANK],
            a_strides: [0; MAX_RANK],
            b_strides: [0; MAX_RANK],
            full_rank: r,
            full_shape,
        };
        for i in 0..r {
            let (d, sa, sb) = (*full_shape.get(i)?, *sa_full.get(i)?, *sb_full.get(i)?);
            if d == 1 {
                continue;
            }
            if bc.rank > 0 {
                let last = bc.rank - 1;
                let (ld, lsa, lsb) = (
                    bc.out_shape.get_mut(last)?,
                    *bc.a_strides.get(last)?,
                    *bc.b_strides.get(last)?,
                );
                if sa.checked_mul(d) == Some(lsa) && sb.checked_mul(d) == Some(lsb) {
                    *ld = ld.checked_mul(d)?;
                    *bc.a_strides.get_mut(last)? = sa;
                    *bc.b_strides.get_mut(last)? = sb;
                    continue;
                }
            }
            *bc.out_shape.get_mut(bc.rank)? = d;
            *bc.a_strides.get_mut(bc.rank)? = sa;
            *bc.b_strides.get_mut(bc.rank)? = sb;
            bc.rank += 1;
        }
        if bc.rank == 0 {
            // Every axis is 1 (or rank 0): one element, contiguous.
            bc.rank = 1;
            bc.out_shape[0] = 1;
            bc.a_strides[0] = 1;
            bc.b_strides[0] = 1;
        }
        Some(bc)
    }

    /// The numpy-broadcast output shape.
    pub fn out_shape(&self) -> &[usize] {
        self.full_shape.get(..self.full_rank).unwrap_or(&[])
    }

    /// Number of output elements.
    pub fn out_len(&self) -> usize {
        self.out_shape
            .get(..self.rank)
            .and_then(checked_product)
            .unwrap_or(0)
    }
}

/// Element types the generic kernels support.
pub trait Element: Copy + Default + PartialEq + core::fmt::Debug {
    /// Applies `op` to one pair of values.
    fn binary(op: BinaryOp, a: Self, b: Self) -> Self;

    /// `y = a op b` (or `y = y op b` when `a` is `None`) over the geometry `bc`. The default
    /// is one loop that dispatches on `op` per element (small code, for load-time folding);
    /// `f32` overrides it with one loop per operator (the run-time kernels).
    #[inline]
    fn run_binary(op: BinaryOp, bc: &Broadcast, a: Option<&[Self]>, b: &[Self], y: &mut [Self]) {
        run(bc, a, b, y, &|p, q| Self::binary(op, p, q));
    }
}

impl Element for f32 {
    #[inline(always)]
    fn binary(op: BinaryOp, a: f32, b: f32) -> f32 {
        match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => libm::powf(a, b),
            BinaryOp::Max => {
                if a.is_nan() || b.is_nan() {
                    f32::NAN
                } else if a >= b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Min => {
                if a.is_nan() || b.is_nan() {
                    f32::NAN
                } else if a <= b {
                    a
                } else {
                    b
                }
            }
        }
    }

    fn run_binary(op: BinaryOp, bc: &Broadcast, a: Option<&[f32]>, b: &[f32], y: &mut [f32]) {
        // The match is outside the loops: each arm is a separate monomorphic kernel.
        match op {
            BinaryOp::Add => run(bc, a, b, y, &|p, q| p + q),
            BinaryOp::Sub => run(bc, a, b, y, &|p, q| p - q),
            BinaryOp::Mul => run(bc, a, b, y, &|p, q| p * q),
            BinaryOp::Div => run(bc, a, b, y, &|p, q| p / q),
            BinaryOp::Pow => run(bc, a, b, y, &|p, q| f32::binary(BinaryOp::Pow, p, q)),
            BinaryOp::Max => run(bc, a, b, y, &|p, q| f32::binary(BinaryOp::Max, p, q)),
            BinaryOp::Min => run(bc, a, b, y, &|p, q| f32::binary(BinaryOp::Min, p, q)),
        }
    }
}

impl Element for i64 {
    /// Wrapping arithmetic; `Div` truncates toward zero and yields 0 for a zero divisor and
    /// for `i64::MIN / -1`.
    // Not inlined: int64 arithmetic only runs at load time (shape folding), where one
    // out-of-line call per element costs nothing that matters and saves a loop per operator.
    #[inline(never)]
    fn binary(op: BinaryOp, a: i64, b: i64) -> i64 {
        match op {
            BinaryOp::Add => a.wrapping_add(b),
            BinaryOp::Sub => a.wrapping_sub(b),
            BinaryOp::Mul => a.wrapping_mul(b),
            BinaryOp::Div => a.checked_div(b).unwrap_or(0),
            BinaryOp::Pow => match (a, b) {
                (1, _) => 1,
                (-1, e) => {
                    if e % 2 == 0 {
                        1
                    } else {
                        -1
                    }
                }
                (_, e) if e < 0 => 0,
                (base, e) => {
                    base.wrapping_pow(u32::try_from(e.min(i64::from(u32::MAX))).unwrap_or(u32::MAX))
                }
            },
            BinaryOp::Max => a.max(b),
            BinaryOp::Min => a.min(b),
        }
    }
}

/// `y = a op b` with numpy broadcasting described by `bc`.
pub fn binary<T: Element>(op: BinaryOp, bc: &Broadcast, a: &[T], b: &[T], y: &mut [T]) {
    T::run_binary(op, bc, Some(a), b, y);
}

/// In-place variant `y = y op b`: `y` holds `a` on entry (a's shape equals the output shape;
/// `bc.a_strides` is not used).
pub fn binary_in_place<T: Element>(op: BinaryOp, bc: &Broadcast, y: &mut [T], b: &[T]) {
    T::run_binary(op, bc, None, b, y);
}

/// One output row: `y[i] = f(a[i * sa], b[i * sb])` with `a = None` meaning "a is y".
/// `Broadcast::new` gives the innermost axis strides 0 or 1; one strided loop per case of
/// `a` serves them all (the loops for the separate stride patterns cost more code than the
/// multiplications they save). Stops at the first element an operand does not hold.
#[inline(always)]
fn row<T: Element, F: Fn(T, T) -> T>(
    a: Option<&[T]>,
    sa: usize,
    b: &[T],
    sb: usize,
    y: &mut [T],
    f: &F,
) {
    match a {
        // Contiguous operands (same shapes, the common case): a loop the compiler vectorises
        // on the host (15x fewer instructions for ResNet-8's residual Adds). Not on the
        // devices, which have no vector unit for it: there it was 5 KB more code.
        #[cfg(target_arch = "x86_64")]
        None if sb == 1 => {
            for (o, &q) in y.iter_mut().zip(b) {
                *o = f(*o, q);
            }
        }
        #[cfg(target_arch = "x86_64")]
        Some(a) if sa == 1 && sb == 1 => {
            for ((o, &p), &q) in y.iter_mut().zip(a).zip(b) {
                *o = f(p, q);
            }
        }
        None => {
            for (i, o) in y.iter_mut().enumerate() {
                let Some(&q) = b.get(i.wrapping_mul(sb)) else {
                    return;
                };
                *o = f(*o, q);
            }
        }
        Some(a) => {
            for (i, o) in y.iter_mut().enumerate() {
                let (Some(&p), Some(&q)) = (a.get(i.wrapping_mul(sa)), b.get(i.wrapping_mul(sb)))
                else {
                    return;
                };
                *o = f(p, q);
            }
        }
    }
}

fn run<T: Element, F: Fn(T, T) -> T>(bc: &Broadcast, a: Option<&[T]>, b: &[T], y: &mut [T], f: &F) {
    let r = bc.rank;
    if r == 0 || r > MAX_RANK {
        return;
    }
    let last = r - 1;
    let (Some(&inner), Some(&sa), Some(&sb)) = (
        bc.out_shape.get(last),
        bc.a_strides.get(last),
        bc.b_strides.get(last),
    ) else {
        return;
    };
    if inner == 0 {
        return;
    }
    let (Some(outer_shape), Some(a_st), Some(b_st)) = (
        bc.out_shape.get(..last),
        bc.a_strides.get(..last),
        bc.b_strides.get(..last),
    ) else {
        return;
    };
    let Some(rows) = checked_product(outer_shape) else {
        return;
    };
    let mut idx = [0usize; MAX_RANK];
    let Some(idx) = idx.get_mut(..last) else {
        return;
    };
    let mut offs = [0usize; 2];
    for yrow in y.chunks_exact_mut(inner).take(rows) {
        let [oa, ob] = offs;
        let Some(brow) = b.get(ob..) else {
            return;
        };
        match a {
            None => row(None, sa, brow, sb, yrow, f),
            Some(a) => {
                let Some(arow) = a.get(oa..) else {
                    return;
                };
                row(Some(arow), sa, brow, sb, yrow, f);
            }
        }
        if !odometer_step(idx, outer_shape, [a_st, b_st], &mut offs) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, Rng};
    use alloc::vec;
    use alloc::vec::Vec;

    const OPS: [BinaryOp; 4] = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div];

    /// Naive numpy broadcasting: unravel every output index.
    fn reference<T: Element>(
        op: BinaryOp,
        a_shape: &[usize],
        a: &[T],
        b_shape: &[usize],
        b: &[T],
    ) -> (Vec<usize>, Vec<T>) {
        let r = a_shape.len().max(b_shape.len());
        let pad = |s: &[usize]| {
            let mut v = vec![1usize; r - s.len()];
            v.extend_from_slice(s);
            v
        };
        let (ap, bp) = (pad(a_shape), pad(b_shape));
        let out: Vec<usize> = ap
            .iter()
            .zip(&bp)
            .map(|(&x, &y)| if x == 1 { y } else { x })
            .collect();
        let n: usize = out.iter().product();
        let mut y = Vec::with_capacity(n);
        for flat in 0..n {
            let mut rem = flat;
            let mut idx = vec![0usize; r];
            for i in (0..r).rev() {
                idx[i] = rem % out[i];
                rem /= out[i];
            }
            let lin = |shape: &[usize]| {
                let mut o = 0;
                for i in 0..r {
                    let j = if shape[i] == 1 { 0 } else { idx[i] };
                    o = o * shape[i] + j;
                }
                o
            };
            y.push(T::binary(op, a[lin(&ap)], b[lin(&bp)]));
        }
        (out, y)
    }

    /// Random compatible shape pair.
    fn random_shapes(rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
        let r = rng.range(0, 5);
        let out: Vec<usize> = (0..r).map(|_| rng.range(1, 4)).collect();
        let mk = |rng: &mut Rng| {
            let drop = rng.range(0, r);
            out[drop..]
                .iter()
                .map(|&d| if rng.below(3) == 0 { 1 } else { d })
                .collect::<Vec<usize>>()
        };
        let a = mk(rng);
        let b = mk(rng);
        (a, b)
    }

    #[test]
    fn f32_random_broadcasts_match_reference() {
        let mut rng = Rng::new(7);
        for _ in 0..400 {
            let (sa, sb) = random_shapes(&mut rng);
            let a = rng.vec(sa.iter().product());
            let b: Vec<f32> = rng
                .vec(sb.iter().product())
                .iter()
                .map(|v| v + 2.5)
                .collect();
            let bc = Broadcast::new(&sa, &sb).unwrap();
            for op in OPS {
                let (shape, want) = reference(op, &sa, &a, &sb, &b);
                assert_eq!(bc.out_shape(), &shape[..]);
                assert_eq!(bc.out_len(), want.len());
                let mut y = vec![f32::NAN; want.len()];
                binary(op, &bc, &a, &b, &mut y);
                assert_close(&y, &want, 1e-6);
                if sa == shape {
                    let mut z = a.clone();
                    binary_in_place(op, &bc, &mut z, &b);
                    assert_eq!(z, y, "{op:?} {sa:?} {sb:?} in place");
                }
            }
        }
    }

    #[test]
    fn i64_random_broadcasts_match_reference() {
        let mut rng = Rng::new(8);
        for _ in 0..300 {
            let (sa, sb) = random_shapes(&mut rng);
            let a = rng.vec_i64(sa.iter().product(), 50);
            let b = rng.vec_i64(sb.iter().product(), 5);
            let bc = Broadcast::new(&sa, &sb).unwrap();
            for op in OPS {
                let (_, want) = reference(op, &sa, &a, &sb, &b);
                let mut y = vec![i64::MAX; want.len()];
                binary(op, &bc, &a, &b, &mut y);
                assert_eq!(y, want, "{op:?} {sa:?} {sb:?}");
                if bc.out_shape() == &sa[..] {
                    let mut z = a.clone();
                    binary_in_place(op, &bc, &mut z, &b);
                    assert_eq!(z, want);
                }
            }
        }
    }

    #[test]
    fn i64_division_semantics() {
        let a = [7i64, -7, 7, -7, 5, i64::MIN, i64::MIN, 0, 9];
        let b = [2i64, 2, -2, -2, 0, -1, 1, 0, 10];
        let bc = Broadcast::new(&[9], &[9]).unwrap();
        let mut y = [99i64; 9];
        binary(BinaryOp::Div, &bc, &a, &b, &mut y);
        assert_eq!(y, [3, -3, -3, 3, 0, 0, i64::MIN, 0, 0]);
        // Wrapping add/sub/mul.
        let bc = Broadcast::new(&[2], &[]).unwrap();
        binary(BinaryOp::Add, &bc, &[i64::MAX, 1], &[1], &mut y[..2]);
        assert_eq!(&y[..2], &[i64::MIN, 2]);
        binary(BinaryOp::Sub, &bc, &[i64::MIN, 1], &[1], &mut y[..2]);
        assert_eq!(&y[..2], &[i64::MAX, 0]);
        binary(BinaryOp::Mul, &bc, &[i64::MAX, 3], &[2], &mut y[..2]);
        assert_eq!(&y[..2], &[-2, 6]);
    }

    #[test]
    fn f32_division_by_zero_is_ieee() {
        let bc = Broadcast::new(&[3], &[1]).unwrap();
        let mut y = [0.0f32; 3];
        binary(BinaryOp::Div, &bc, &[1.0, -1.0, 0.0], &[0.0], &mut y);
        assert_eq!(y[0], f32::INFINITY);
        assert_eq!(y[1], f32::NEG_INFINITY);
        assert!(y[2].is_nan());
    }

    #[test]
    fn collapse_patterns() {
        // Same shape: one contiguous loop.
        let bc = Broadcast::new(&[2, 3, 4], &[2, 3, 4]).unwrap();
        assert_eq!(
            (bc.rank, bc.out_shape[0], bc.a_strides[0], bc.b_strides[0]),
            (1, 24, 1, 1)
        );
        // Scalar operand.
        let bc = Broadcast::new(&[2, 3, 4], &[]).unwrap();
        assert_eq!(
            (bc.rank, bc.out_shape[0], bc.a_strides[0], bc.b_strides[0]),
            (1, 24, 1, 0)
        );
        let bc = Broadcast::new(&[1], &[5, 1, 2]).unwrap();
        assert_eq!(
            (bc.rank, bc.out_shape[0], bc.a_strides[0], bc.b_strides[0]),
            (1, 10, 0, 1)
        );
        assert_eq!(bc.out_shape(), &[5, 1, 2]);
        // Per-channel bias [1,C,H,W] + [1,C,1,1]: rows of H*W with a scalar per row.
        let bc = Broadcast::new(&[1, 3, 4, 5], &[1, 3, 1, 1]).unwrap();
        assert_eq!(bc.rank, 2);
        assert_eq!(&bc.out_shape[..2], &[3, 20]);
        assert_eq!(&bc.a_strides[..2], &[20, 1]);
        assert_eq!(&bc.b_strides[..2], &[1, 0]);
        // Row broadcast [N,C] + [C].
        let bc = Broadcast::new(&[4, 6], &[6]).unwrap();
        assert_eq!(&bc.out_shape[..2], &[4, 6]);
        assert_eq!(&bc.b_strides[..2], &[0, 1]);
        // Outer product [3,1] * [1,4].
        let bc = Broadcast::new(&[3, 1], &[1, 4]).unwrap();
        assert_eq!(&bc.out_shape[..2], &[3, 4]);
        assert_eq!(
            (&bc.a_strides[..2], &bc.b_strides[..2]),
            (&[1, 0][..], &[0, 1][..])
        );
        // All ones / rank 0.
        let bc = Broadcast::new(&[], &[]).unwrap();
        assert_eq!((bc.rank, bc.out_len(), bc.out_shape()), (1, 1, &[][..]));
        let bc = Broadcast::new(&[1, 1], &[1]).unwrap();
        assert_eq!((bc.rank, bc.out_len()), (1, 1));
        let mut y = [0.0f32];
        binary(BinaryOp::Sub, &bc, &[5.0], &[2.0], &mut y);
        assert_eq!(y, [3.0]);
        // Zero-sized dims.
        let bc = Broadcast::new(&[0, 3], &[1, 3]).unwrap();
        assert_eq!((bc.out_len(), bc.out_shape()), (0, &[0, 3][..]));
        binary::<f32>(BinaryOp::Add, &bc, &[], &[1.0, 2.0, 3.0], &mut []);
    }

    #[test]
    fn incompatible_shapes_and_rank_limit() {
        assert!(Broadcast::new(&[2, 3], &[3, 2]).is_none());
        assert!(Broadcast::new(&[0], &[2]).is_none());
        assert!(Broadcast::new(&[1; 9], &[1]).is_none());
        assert!(Broadcast::new(&[1; 8], &[1]).is_some());
        assert!(Broadcast::new(&[usize::MAX, 2], &[1]).is_none());
    }

    #[test]
    fn short_slices_never_panic() {
        let mut rng = Rng::new(3);
        for _ in 0..300 {
            let (sa, sb) = random_shapes(&mut rng);
            let bc = Broadcast::new(&sa, &sb).unwrap();
            let a = rng.vec_upto(6);
            let b = rng.vec_upto(6);
            let mut y = vec![0.0f32; rng.below(40)];
            for op in OPS {
                binary(op, &bc, &a, &b, &mut y);
                binary_in_place(op, &bc, &mut y, &b);
            }
        }
        // A hand-built geometry with wild values.
        let bc = Broadcast {
            rank: 3,
            out_shape: [2, usize::MAX, 3, 0, 0, 0, 0, 0],
            a_strides: [usize::MAX, 7, 5, 0, 0, 0, 0, 0],
            b_strides: [3, 9, usize::MAX, 0, 0, 0, 0, 0],
            full_rank: 9,
            full_shape: [0; MAX_RANK],
        };
        let mut y = [0i64; 30];
        binary(BinaryOp::Div, &bc, &[1i64; 10], &[0i64; 10], &mut y);
        binary_in_place(BinaryOp::Div, &bc, &mut y, &[0i64; 10]);
        assert_eq!(bc.out_shape(), &[] as &[usize]);
    }

    #[test]
    fn onnxruntime_values() {
        // Generated by tools/kernels/gen_kernel_cases.py: a[2,1,3] op b[4,1] with
        // a = i*0.5 - 1.25, b = i*0.75 + 0.5 (i = flat index).
        let a: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.25).collect();
        let b: Vec<f32> = (0..4).map(|i| i as f32 * 0.75 + 0.5).collect();
        let bc = Broadcast::new(&[2, 1, 3], &[4, 1]).unwrap();
        assert_eq!(bc.out_shape(), &[2, 4, 3]);
        let mut y = vec![0.0f32; 24];
        binary(BinaryOp::Div, &bc, &a, &b, &mut y);
        assert_close(&y, &ORT_DIV, 1e-6);
        binary(BinaryOp::Sub, &bc, &a, &b, &mut y);
        assert_close(&y, &ORT_SUB, 1e-6);
        // int64 Div truncates toward zero (a = i - 7, b = [2, -3]).
        let a: Vec<i64> = (0..8).map(|i| i - 7).collect();
        let bc = Broadcast::new(&[4, 2], &[2]).unwrap();
        let mut y = [0i64; 8];
        binary(BinaryOp::Div, &bc, &a, &[2, -3], &mut y);
        assert_eq!(y, ORT_I64_DIV);
    }

    // shape [2, 4, 3]

    const ORT_DIV: [f32; 24] = [
        -2.5,
        -1.5,
        -0.5,
        -1.0,
        -0.6,
        -0.2,
        -0.625,
        -0.375,
        -0.125,
        -0.45454547,
        -0.27272728,
        -0.09090909,
        0.5,
        1.5,
        2.5,
        0.2,
        0.6,
        1.0,
        0.125,
        0.375,
        0.625,
        0.09090909,
        0.27272728,
        0.45454547,
    ];
    // shape [2, 4, 3]
    const ORT_SUB: [f32; 24] = [
        -1.75, -1.25, -0.75, -2.5, -2.0, -1.5, -3.25, -2.75, -2.25, -4.0, -3.5, -3.0, -0.25, 0.25,
        0.75, -1.0, -0.5, 0.0, -1.75, -1.25, -0.75, -2.5, -2.0, -1.5,
    ];
    // shape [4, 2]
    const ORT_I64_DIV: [i64; 8] = [-3, 2, -2, 1, -1, 0, 0, 0];
}
