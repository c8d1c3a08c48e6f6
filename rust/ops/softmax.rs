//! Softmax and LogSoftmax along one axis.
//!
//! The tensor is viewed as `[outer, axis_len, inner]` and normalised along the middle axis.
//! The maximum is subtracted before `exp` for stability. With `inner == 1` (the usual last-axis
//! case) every pass runs over contiguous memory; otherwise the axis is walked with stride
//! `inner` (no scratch memory is needed).

/// Which normalisation to produce.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Softmax,
    LogSoftmax,
}

/// Normalises one contiguous lane in place (`y` holds x on entry).
#[inline(always)]
fn lane_contiguous(y: &mut [f32], kind: Kind) {
    let max = y
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut sum = 0.0f32;
    match kind {
        Kind::Softmax => {
            for v in y.iter_mut() {
                let e = libm::expf(*v - max);
                *v = e;
                sum += e;
            }
            for v in y.iter_mut() {
                *v /= sum;
            }
        }
        Kind::LogSoftmax => {
            for &v in y.iter() {
                sum += libm::expf(v - max);
            }
            // (x - max) - log_sum keeps full precision when max is large.
            let log_sum = libm::logf(sum);
            for v in y.iter_mut() {
                *v = (*v - max) - log_sum;
            }
        }
    }
}

/// Normalises one lane of `axis_len` values `stride` apart in place (`y` holds x on entry).
#[inline(always)]
fn lane_strided(y: &mut [f32], stride: usize, axis_len: usize, kind: Kind) {
    let max = y
        .iter()
        .step_by(stride)
        .take(axis_len)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut sum = 0.0f32;
    match kind {
        Kind::Softmax => {
            for v in y.iter_mut().step_by(stride).take(axis_len) {
                let e = libm::expf(*v - max);
                *v = e;
                sum += e;
            }
            for v in y.iter_mut().step_by(stride).take(axis_len) {
                *v /= sum;
            }
        }
        Kind::LogSoftmax => {
            for &v in y.iter().step_by(stride).take(axis_len) {
                sum += libm::expf(v - max);
            }
            // (x - max) - log_sum keeps full precision when max is large.
            let log_sum = libm::logf(sum);
            for v in y.iter_mut().step_by(stride).take(axis_len) {
                *v = (*v - max) - log_sum;
            }
        }
    }
}

#[inline(always)]
fn run(xy: &mut [f32], outer: usize, axis_len: usize, inner: usize, kind: Kind) {
    let Some(block) = axis_len.checked_mul(inner) else {
        return;
    };
    if block == 0 {
        return;
    }
    for b in xy.chunks_exact_mut(block).take(outer) {
        if inner == 1 {
            lane_contiguous(b, kind);
        } else {
            for i in 0..inner {
                if let Some(l) = b.get_mut(i..) {
                    lane_strided(l, inner, axis_len, kind);
                }
            }
        }
    }
}

#[inline(always)]
fn copy_run(x: &[f32], y: &mut [f32], outer: usize, axis_len: usize, inner: usize, kind: Kind) {
    let Some(len) = outer
        .checked_mul(axis_len)
        .and_then(|v| v.checked_mul(inner))
    else {
        return;
    };
    let (Some(x), Some(y)) = (x.get(..len), y.get_mut(..len)) else {
        return;
    };
    y.copy_from_slice(x);
    run(y, outer, axis_len, inner, kind);
}

/// Softmax of `x` (viewed as `[outer, axis_len, inner]`) along the middle axis into `y`.
pub fn softmax(x: &[f32], y: &mut [f32], outer: usize, axis_len: usize, inner: usize) {
    copy_run(x, y, outer, axis_len, inner, Kind::Softmax);
}

/// LogSoftmax of `x` (viewed as `[outer, axis_len, inner]`) along the middle axis into `y`.
pub fn log_softmax(x: &[f32], y: &mut [f32], outer: usize, axis_len: usize, inner: usize) {
    copy_run(x, y, outer, axis_len, inner, Kind::LogSoftmax);
}

/// In-place [`softmax`].
pub fn softmax_in_place(xy: &mut [f32], outer: usize, axis_len: usize, inner: usize) {
    run(xy, outer, axis_len, inner, Kind::Softmax);
}

/// In-place [`log_softmax`].
pub fn log_softmax_in_place(xy: &mut [f32], outer: usize, axis_len: usize, inner: usize) {
    run(xy, outer, axis_len, inner, Kind::LogSoftmax);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, pattern, Rng};
    use alloc::vec;
    use alloc::vec::Vec;

    fn reference(x: &[f32], outer: usize, axis: usize, inner: usize, log: bool) -> Vec<f32> {
        let mut y = vec![0.0f32; x.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |a: usize| (o * axis + a) * inner + i;
                let m = (0..axis)
                    .map(|a| x[at(a)] as f64)
                    .fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = (0..axis).map(|a| (x[at(a)] as f64 - m).exp()).sum();
                for a in 0..axis {
                    let v = x[at(a)] as f64 - m;
                    y[at(a)] = if log { v - s.ln() } else { v.exp() / s } as f32;
                }
            }
        }
        y
    }

    #[test]
    fn random_shapes_match_reference() {
        let mut rng = Rng::new(41);
        for _ in 0..200 {
            let (outer, axis, inner) = (rng.range(1, 4), rng.range(1, 12), rng.range(1, 5));
            let x: Vec<f32> = rng
                .vec(outer * axis * inner)
                .iter()
                .map(|v| v * 20.0)
                .collect();
            for log in [false, true] {
                let want = reference(&x, outer, axis, inner, log);
                let mut y = vec![f32::NAN; x.len()];
                let mut z = x.clone();
                if log {
                    log_softmax(&x, &mut y, outer, axis, inner);
                    log_softmax_in_place(&mut z, outer, axis, inner);
                } else {
                    softmax(&x, &mut y, outer, axis, inner);
                    softmax_in_place(&mut z, outer, axis, inner);
                }
                assert_close(&y, &want, 1e-5);
                assert_eq!(y, z);
            }
        }
    }

    #[test]
    fn stable_for_large_values() {
        let x = [1000.0f32, 1001.0, 999.0, -1e30];
        let mut y = [0.0f32; 4];
        softmax(&x, &mut y, 1, 4, 1);
        assert_close(&y, &reference(&x, 1, 4, 1, false), 1e-6);
        assert_eq!(y[3], 0.0);
        log_softmax(&x, &mut y, 1, 4, 1);
        assert!(y.iter().all(|v| v.is_finite()));
        assert!((y[1] - (-0.407_605_97)).abs() < 1e-5);
        // A -inf entry gets probability 0.
        softmax(&[0.0, f32::NEG_INFINITY], &mut y[..2], 1, 2, 1);
        assert_eq!(&y[..2], &[1.0, 0.0]);
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        let mut y = [0.0f32; 4];
        softmax(&[1.0; 4], &mut y, 2, 0, 3);
        softmax(&[1.0; 4], &mut y, 3, 3, 3);
        softmax(&[1.0; 4], &mut y, usize::MAX, usize::MAX, 2);
        log_softmax_in_place(&mut y, 5, 1, 1);
        softmax_in_place(&mut y, 1, 5, 1);
        softmax_in_place(&mut y, 1, 1, 5);
        let mut one = [3.0f32];
        softmax_in_place(&mut one, 1, 1, 1);
        assert_eq!(one, [1.0]);
    }

    #[test]
    fn onnxruntime_values() {
        // Generated by tools/kernels/gen_kernel_cases.py: x [2,3,4] = pattern, axis 1.
        let x = pattern(24, 7, 2, 13, 0.5, 3.0);
        let mut y = [0.0f32; 24];
        softmax(&x, &mut y, 2, 3, 4);
        assert_close(&y, &ORT_SOFTMAX_AXIS1, 1e-6);
        log_softmax(&x, &mut y, 2, 3, 4);
        assert_close(&y, &ORT_LOG_SOFTMAX_AXIS1, 1e-5);
        // Last axis (axis 2 -> inner = 1).
        softmax(&x, &mut y, 6, 4, 1);
        assert_close(&y, &ORT_SOFTMAX_AXIS2, 1e-6);
    }

    // shape [2, 3, 4]

    const ORT_SOFTMAX_AXIS1: [f32; 24] = [
        0.09003057,
        0.26814032,
        0.09003057,
        0.26814032,
        0.24472848,
        0.72888094,
        0.24472848,
        0.72888094,
        0.66524094,
        0.0029787698,
        0.66524094,
        0.0029787698,
        0.09003057,
        0.09003057,
        0.26814032,
        0.09003057,
        0.24472848,
        0.24472848,
        0.72888094,
        0.24472848,
        0.66524094,
        0.66524094,
        0.0029787698,
        0.66524094,
    ];
    // shape [2, 3, 4]
    const ORT_LOG_SOFTMAX_AXIS1: [f32; 24] = [
        -2.407606,
        -1.3162448,
        -2.407606,
        -1.3162448,
        -1.4076059,
        -0.31624484,
        -1.4076059,
        -0.31624484,
        -0.40760595,
        -5.816245,
        -0.40760595,
        -5.816245,
        -2.407606,
        -2.407606,
        -1.3162448,
        -2.407606,
        -1.4076059,
        -1.4076059,
        -0.31624484,
        -1.4076059,
        -0.40760595,
        -0.40760595,
        -5.816245,
        -0.40760595,
    ];
    // shape [2, 3, 4]
    const ORT_SOFTMAX_AXIS2: [f32; 24] = [
        0.011066561,
        0.36647415,
        0.018245673,
        0.6042137,
        0.011066561,
        0.36647415,
        0.018245673,
        0.6042137,
        0.35963547,
        0.017905196,
        0.59293866,
        0.029520677,
        0.35963547,
        0.017905196,
        0.59293866,
        0.029520677,
        0.35963547,
        0.017905196,
        0.59293866,
        0.029520677,
        0.8815615,
        0.04389036,
        0.0021851724,
        0.072362974,
    ];
}
