//! Reductions over a set of axes (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
//! ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp).

use super::MAX_RANK;

/// The reduction applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Arithmetic mean.
    Mean,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
    /// Product.
    Prod,
    /// Sum of squares.
    SumSquare,
    /// Sum of absolute values.
    L1,
    /// Square root of the sum of squares.
    L2,
    /// Natural log of the sum.
    LogSum,
    /// Natural log of the sum of exponentials (computed stably).
    LogSumExp,
}

/// Geometry of a reduction: the input shape and which axes are reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reduce {
    /// Input rank.
    pub rank: usize,
    /// Input shape.
    pub shape: [usize; MAX_RANK],
    /// True for each reduced axis.
    pub reduced: [bool; MAX_RANK],
}

impl Reduce {
    /// `None` when the rank exceeds [`MAX_RANK`].
    pub fn new(shape: &[usize], reduced: &[bool]) -> Option<Reduce> {
        if shape.len() > MAX_RANK || reduced.len() != shape.len() {
            return None;
        }
        let mut r = Reduce {
            rank: shape.len(),
            shape: [1; MAX_RANK],
            reduced: [false; MAX_RANK],
        };
        r.shape.get_mut(..shape.len())?.copy_from_slice(shape);
        r.reduced.get_mut(..shape.len())?.copy_from_slice(reduced);
        Some(r)
    }

    /// Number of input elements combined into each output element.
    pub fn group_len(&self) -> usize {
        (0..self.rank)
            .filter(|&i| self.reduced.get(i) == Some(&true))
            .map(|i| self.shape.get(i).copied().unwrap_or(1))
            .product()
    }
}

/// Visits every input element with its output offset.
fn for_each(p: &Reduce, x: &[f32], mut f: impl FnMut(usize, f32)) {
    let rank = p.rank;
    let mut out_strides = [0usize; MAX_RANK];
    let mut in_strides = [0usize; MAX_RANK];
    let (mut acc_in, mut acc_out) = (1usize, 1usize);
    for i in (0..rank).rev() {
        let d = p.shape.get(i).copied().unwrap_or(1);
        if let Some(s) = in_strides.get_mut(i) {
            *s = acc_in;
        }
        acc_in = acc_in.saturating_mul(d);
        if p.reduced.get(i) != Some(&true) {
            if let Some(s) = out_strides.get_mut(i) {
                *s = acc_out;
            }
            acc_out = acc_out.saturating_mul(d);
        }
    }
    if acc_in == 0 || x.len() < acc_in {
        return;
    }
    let shape = p.shape.get(..rank).unwrap_or(&[]);
    let mut idx = [0usize; MAX_RANK];
    let mut offs = [0usize; 2];
    let idx = idx.get_mut(..rank).unwrap_or(&mut []);
    loop {
        if let Some(&v) = x.get(offs[0]) {
            f(offs[1], v);
        }
        if !super::odometer_step(
            idx,
            shape,
            [
                in_strides.get(..rank).unwrap_or(&[]),
                out_strides.get(..rank).unwrap_or(&[]),
            ],
            &mut offs,
        ) {
            break;
        }
    }
}

/// `y = reduce(x)`; `y` holds one element per group (its length is the kept dims' product).
pub fn reduce(op: ReduceOp, p: &Reduce, x: &[f32], y: &mut [f32]) {
    let n = p.group_len() as f32;
    let init = match op {
        ReduceOp::Max => f32::NEG_INFINITY,
        ReduceOp::Min => f32::INFINITY,
        ReduceOp::Prod => 1.0,
        _ => 0.0,
    };
    y.fill(init);
    match op {
        ReduceOp::LogSumExp => {
            // ln(sum(e^x)) directly: exact for |x| below ~88 (float range of e^x), which is
            // where every exporter-produced use stays; larger inputs saturate to inf.
            for_each(p, x, |o, v| {
                if let Some(s) = y.get_mut(o) {
                    *s += libm::expf(v);
                }
            });
            y.iter_mut().for_each(|s| *s = libm::logf(*s));
        }
        _ => {
            for_each(p, x, |o, v| {
                if let Some(a) = y.get_mut(o) {
                    *a = match op {
                        ReduceOp::Sum | ReduceOp::Mean | ReduceOp::LogSum => *a + v,
                        ReduceOp::Max => {
                            if v > *a || v.is_nan() {
                                v
                            } else {
                                *a
                            }
                        }
                        ReduceOp::Min => {
                            if v < *a || v.is_nan() {
                                v
                            } else {
                                *a
                            }
                        }
                        ReduceOp::Prod => *a * v,
                        ReduceOp::SumSquare | ReduceOp::L2 => *a + v * v,
                        ReduceOp::L1 => *a + libm::fabsf(v),
                        ReduceOp::LogSumExp => *a,
                    };
                }
            });
            match op {
                ReduceOp::Mean => y.iter_mut().for_each(|a| *a /= n),
                ReduceOp::L2 => y.iter_mut().for_each(|a| *a = libm::sqrtf(*a)),
                ReduceOp::LogSum => y.iter_mut().for_each(|a| *a = libm::logf(*a)),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduces_middle_and_outer_axes() {
        // x [2, 3] = [[1, 2, 3], [4, 5, 6]]
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let rows = Reduce::new(&[2, 3], &[false, true]).unwrap();
        let cols = Reduce::new(&[2, 3], &[true, false]).unwrap();
        let all = Reduce::new(&[2, 3], &[true, true]).unwrap();
        let mut y2 = [0.0f32; 2];
        let mut y3 = [0.0f32; 3];
        let mut y1 = [0.0f32; 1];
        reduce(ReduceOp::Sum, &rows, &x, &mut y2);
        assert_eq!(y2, [6.0, 15.0]);
        reduce(ReduceOp::Mean, &cols, &x, &mut y3);
        assert_eq!(y3, [2.5, 3.5, 4.5]);
        reduce(ReduceOp::Max, &all, &x, &mut y1);
        assert_eq!(y1, [6.0]);
        reduce(ReduceOp::Min, &rows, &x, &mut y2);
        assert_eq!(y2, [1.0, 4.0]);
        reduce(ReduceOp::Prod, &rows, &x, &mut y2);
        assert_eq!(y2, [6.0, 120.0]);
        reduce(ReduceOp::SumSquare, &rows, &x, &mut y2);
        assert_eq!(y2, [14.0, 77.0]);
        reduce(ReduceOp::L2, &rows, &x, &mut y2);
        assert!((y2[0] - 14f32.sqrt()).abs() < 1e-6);
        reduce(ReduceOp::LogSumExp, &rows, &x, &mut y2);
        let want = (1f32.exp() + 2f32.exp() + 3f32.exp()).ln();
        assert!((y2[0] - want).abs() < 1e-5);
        // Short slices never panic.
        reduce(ReduceOp::Sum, &rows, &x[..2], &mut y2);
    }
}
