//! Max/average pooling (NCHW) and global pooling.
//!
//! Semantics follow onnxruntime:
//! * windows may run past the padded input (ceil mode makes `out_h`/`out_w` larger); positions
//!   outside the input never contribute;
//! * MaxPool starts at `-inf` and keeps `v` when `v > max`: padding never wins. A NaN input is
//!   skipped unless it is the only position (onnxruntime's result for NaN inputs depends on
//!   its internal code path, so NaN handling is not bit-compatible);
//! * AveragePool divides by the number of in-input positions (`count_include_pad = false`) or
//!   by the number of positions inside the input plus the explicit pads, i.e. the window
//!   clipped to `[-pad_top, in_h + pad_bottom) x [-pad_left, in_w + pad_right)`; the overhang
//!   created by ceil mode is not counted (`count_include_pad = true`).
//!
//! For each output pixel the valid kernel taps are computed as a range once (division only for
//! border pixels), so the inner loops never test coordinates.

use super::conv::valid_range;

/// Pooling geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pool2d {
    /// Batch size N.
    pub batch: usize,
    /// Channels C.
    pub channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Window height.
    pub kernel_h: usize,
    /// Window width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Explicit padding above.
    pub pad_top: usize,
    /// Explicit padding on the left.
    pub pad_left: usize,
    /// Explicit padding below.
    pub pad_bottom: usize,
    /// Explicit padding on the right.
    pub pad_right: usize,
    /// AveragePool: count explicit padding positions in the divisor.
    pub count_include_pad: bool,
}

/// One axis of the pooling geometry.
#[derive(Clone, Copy)]
struct Axis {
    len: usize,
    out: usize,
    k: usize,
    s: usize,
    d: usize,
    pad: usize,
    pad_end: usize,
    /// Outputs whose whole window lies inside the input.
    interior: (usize, usize),
}

impl Axis {
    fn new(
        len: usize,
        out: usize,
        k: usize,
        s: usize,
        d: usize,
        pad: usize,
        pad_end: usize,
    ) -> Option<Axis> {
        if s == 0 || d == 0 || k == 0 {
            return None;
        }
        // Largest coordinate formed anywhere must be representable.
        out.checked_mul(s)?
            .checked_add(k.checked_mul(d)?)?
            .checked_add(len.checked_add(pad)?.checked_add(pad_end)?)?;
        let first = valid_range(out, s, 0, pad, len);
        let last = valid_range(out, s, (k - 1) * d, pad, len);
        let hi = last.1;
        let lo = first.0.min(hi);
        Some(Axis {
            len,
            out,
            k,
            s,
            d,
            pad,
            pad_end,
            interior: (lo, hi),
        })
    }

    /// Taps `[lo, hi)` of output `o` whose coordinate `o*s + t*d - pad` lies in `[0, len)`, and
    /// the input coordinate of tap `lo`.
    #[inline]
    fn taps(&self, o: usize) -> (usize, usize, usize) {
        let base = o * self.s;
        if o >= self.interior.0 && o < self.interior.1 {
            return (0, self.k, base - self.pad);
        }
        let (lo, hi) = Self::range(base, self.k, self.d, self.pad, self.len + self.pad);
        (lo, hi, (base + lo * self.d).saturating_sub(self.pad))
    }

    /// Number of taps of output `o` inside `[-pad, len + pad_end)`.
    #[inline]
    fn padded_count(&self, o: usize) -> usize {
        let (lo, hi) = Self::range(
            o * self.s,
            self.k,
            self.d,
            0,
            self.len + self.pad + self.pad_end,
        );
        hi - lo
    }

    /// Taps `t` in `[0, k)` with `from <= base + t*d < to`.
    #[inline]
    fn range(base: usize, k: usize, d: usize, from: usize, to: usize) -> (usize, usize) {
        let lo = if from > base {
            (from - base).div_ceil(d)
        } else {
            0
        };
        let hi = if to > base {
            (to - base).div_ceil(d).min(k)
        } else {
            0
        };
        (lo.min(hi), hi)
    }
}

struct Geo {
    h: Axis,
    w: Axis,
    in_plane: usize,
    out_plane: usize,
    planes: usize,
}

impl Geo {
    fn new(p: &Pool2d, x_len: usize, y_len: usize) -> Option<Geo> {
        let h = Axis::new(
            p.in_h,
            p.out_h,
            p.kernel_h,
            p.stride_h,
            p.dilation_h,
            p.pad_top,
            p.pad_bottom,
        )?;
        let w = Axis::new(
            p.in_w,
            p.out_w,
            p.kernel_w,
            p.stride_w,
            p.dilation_w,
            p.pad_left,
            p.pad_right,
        )?;
        let in_plane = p.in_h.checked_mul(p.in_w)?;
        let out_plane = p.out_h.checked_mul(p.out_w)?;
        let planes = p.batch.checked_mul(p.channels)?;
        if in_plane == 0
            || out_plane == 0
            || planes.checked_mul(in_plane)? > x_len
            || planes.checked_mul(out_plane)? > y_len
        {
            return None;
        }
        Some(Geo {
            h,
            w,
            in_plane,
            out_plane,
            planes,
        })
    }
}

/// Visits every output pixel of every plane with its valid tap ranges; `f(xplane, (kh_lo,
/// kh_hi, ih0), (kw_lo, kw_hi, iw0), oh, ow) -> value`.
#[inline(always)]
fn for_each_window(
    g: &Geo,
    x: &[f32],
    y: &mut [f32],
    mut f: impl FnMut(&[f32], (usize, usize, usize), (usize, usize, usize), usize, usize) -> f32,
) {
    for (xp, yp) in x
        .chunks_exact(g.in_plane)
        .zip(y.chunks_exact_mut(g.out_plane))
        .take(g.planes)
    {
        for (oh, yrow) in yp.chunks_exact_mut(g.w.out).enumerate() {
            let th = g.h.taps(oh);
            for (ow, yv) in yrow.iter_mut().enumerate() {
                let tw = g.w.taps(ow);
                *yv = f(xp, th, tw, oh, ow);
            }
        }
    }
}

/// Visits the in-input values of one window.
#[inline(always)]
fn window(
    g: &Geo,
    xp: &[f32],
    th: (usize, usize, usize),
    tw: (usize, usize, usize),
    mut f: impl FnMut(f32),
) {
    let (h_lo, h_hi, ih0) = th;
    let (w_lo, w_hi, iw0) = tw;
    if w_lo >= w_hi {
        return;
    }
    let n = w_hi - w_lo;
    let mut ih = ih0;
    for _ in h_lo..h_hi {
        let start = ih * g.w.len + iw0;
        if g.w.d == 1 {
            if let Some(r) = xp.get(start..start + n) {
                r.iter().for_each(|&v| f(v));
            }
        } else if let Some(r) = xp.get(start..) {
            r.iter().step_by(g.w.d).take(n).for_each(|&v| f(v));
        }
        ih += g.h.d;
    }
}

/// MaxPool. Output is `-inf` for a window with no in-input position.
pub fn max_pool2d(p: &Pool2d, x: &[f32], y: &mut [f32]) {
    let Some(g) = Geo::new(p, x.len(), y.len()) else {
        return;
    };
    if max_pool_2x2(p, x, y) {
        return;
    }
    for_each_window(&g, x, y, |xp, th, tw, _, _| {
        let mut m = f32::NEG_INFINITY;
        window(&g, xp, th, tw, |v| {
            if v > m {
                m = v;
            }
        });
        m
    });
}

/// Fast path for the most common pooling: 2x2 windows, stride 2, no padding or dilation,
/// every window inside the input. Returns false when it does not apply.
fn max_pool_2x2(p: &Pool2d, x: &[f32], y: &mut [f32]) -> bool {
    let fits = p.kernel_h == 2
        && p.kernel_w == 2
        && p.stride_h == 2
        && p.stride_w == 2
        && p.dilation_h == 1
        && p.dilation_w == 1
        && p.pad_top == 0
        && p.pad_left == 0
        && p.out_h * 2 <= p.in_h
        && p.out_w * 2 <= p.in_w
        && p.out_w > 0;
    let plane_in = p.in_h * p.in_w;
    let plane_out = p.out_h * p.out_w;
    if !fits || plane_in == 0 || plane_out == 0 {
        return false;
    }
    let max = |a: f32, b: f32| if b > a { b } else { a };
    for (xp, yp) in x.chunks_exact(plane_in).zip(y.chunks_exact_mut(plane_out)) {
        for (oh, yr) in yp.chunks_exact_mut(p.out_w).enumerate() {
            let r0 = xp
                .get(2 * oh * p.in_w..(2 * oh + 1) * p.in_w)
                .unwrap_or(&[]);
            let r1 = xp
                .get((2 * oh + 1) * p.in_w..(2 * oh + 2) * p.in_w)
                .unwrap_or(&[]);
            for ((o, a), b) in yr
                .iter_mut()
                .zip(r0.chunks_exact(2))
                .zip(r1.chunks_exact(2))
            {
                // Same order and comparison as the general path (-inf start, `v > m`).
                if let ([a0, a1], [b0, b1]) = (a, b) {
                    let m = max(max(max(f32::NEG_INFINITY, *a0), *a1), *b0);
                    *o = max(m, *b1);
                }
            }
        }
    }
    true
}

/// AveragePool (see the module docs for the divisor). A window with no position yields NaN.
pub fn avg_pool2d(p: &Pool2d, x: &[f32], y: &mut [f32]) {
    let Some(g) = Geo::new(p, x.len(), y.len()) else {
        return;
    };
    let include_pad = p.count_include_pad;
    for_each_window(&g, x, y, |xp, th, tw, oh, ow| {
        let mut s = 0.0f32;
        window(&g, xp, th, tw, |v| s += v);
        let count = if include_pad {
            g.h.padded_count(oh) * g.w.padded_count(ow)
        } else {
            (th.1 - th.0) * (tw.1 - tw.0)
        };
        s / count as f32
    });
}

/// GlobalAveragePool: `y[i] = mean(x[i * plane_len .. (i + 1) * plane_len])`.
pub fn global_avg_pool(x: &[f32], y: &mut [f32], planes: usize, plane_len: usize) {
    if plane_len == 0 {
        return;
    }
    let div = plane_len as f32;
    for (yv, xp) in y.iter_mut().zip(x.chunks_exact(plane_len)).take(planes) {
        *yv = xp.iter().fold(0.0f32, |s, &v| s + v) / div;
    }
}

/// GlobalMaxPool: `y[i] = max(x[i * plane_len .. (i + 1) * plane_len])` (`-inf` start).
pub fn global_max_pool(x: &[f32], y: &mut [f32], planes: usize, plane_len: usize) {
    if plane_len == 0 {
        return;
    }
    for (yv, xp) in y.iter_mut().zip(x.chunks_exact(plane_len)).take(planes) {
        *yv = xp
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, pattern, Rng};
    use alloc::vec;
    use alloc::vec::Vec;

    /// Naive reference with per-position tests.
    fn reference(p: &Pool2d, x: &[f32], max: bool) -> Vec<f32> {
        let mut y = Vec::new();
        for plane in 0..p.batch * p.channels {
            let xp = &x[plane * p.in_h * p.in_w..];
            for oh in 0..p.out_h {
                for ow in 0..p.out_w {
                    let (mut m, mut s, mut inside, mut padded) =
                        (f32::NEG_INFINITY, 0.0f64, 0usize, 0usize);
                    for kh in 0..p.kernel_h {
                        for kw in 0..p.kernel_w {
                            let ih =
                                (oh * p.stride_h + kh * p.dilation_h) as isize - p.pad_top as isize;
                            let iw = (ow * p.stride_w + kw * p.dilation_w) as isize
                                - p.pad_left as isize;
                            let in_pad_h = ih < (p.in_h + p.pad_bottom) as isize;
                            let in_pad_w = iw < (p.in_w + p.pad_right) as isize;
                            if in_pad_h && in_pad_w {
                                padded += 1;
                            }
                            if ih < 0 || iw < 0 || ih >= p.in_h as isize || iw >= p.in_w as isize {
                                continue;
                            }
                            let v = xp[ih as usize * p.in_w + iw as usize];
                            inside += 1;
                            s += v as f64;
                            if v > m {
                                m = v;
                            }
                        }
                    }
                    y.push(if max {
                        m
                    } else {
                        let c = if p.count_include_pad { padded } else { inside };
                        (s / c as f64) as f32
                    });
                }
            }
        }
        y
    }

    /// ONNX output size with ceil mode support.
    fn out_size(
        len: usize,
        k: usize,
        s: usize,
        d: usize,
        pb: usize,
        pe: usize,
        ceil: bool,
    ) -> usize {
        let eff = (k - 1) * d + 1;
        let span = len + pb + pe - eff;
        let mut o = if ceil {
            span.div_ceil(s) + 1
        } else {
            span / s + 1
        };
        // ONNX: the last window must start inside the input or the left padding.
        if ceil && (o - 1) * s >= len + pb {
            o -= 1;
        }
        o
    }

    #[allow(clippy::too_many_arguments)]
    fn geom(
        n: usize,
        c: usize,
        h: usize,
        w: usize,
        k: (usize, usize),
        s: (usize, usize),
        d: (usize, usize),
        pads: [usize; 4],
        ceil: bool,
        cip: bool,
    ) -> Pool2d {
        Pool2d {
            batch: n,
            channels: c,
            in_h: h,
            in_w: w,
            out_h: out_size(h, k.0, s.0, d.0, pads[0], pads[2], ceil),
            out_w: out_size(w, k.1, s.1, d.1, pads[1], pads[3], ceil),
            kernel_h: k.0,
            kernel_w: k.1,
            stride_h: s.0,
            stride_w: s.1,
            dilation_h: d.0,
            dilation_w: d.1,
            pad_top: pads[0],
            pad_left: pads[1],
            pad_bottom: pads[2],
            pad_right: pads[3],
            count_include_pad: cip,
        }
    }

    #[test]
    fn random_geometries_match_reference() {
        let mut rng = Rng::new(31);
        let mut tested = 0;
        for case in 0..1500 {
            let k = (rng.range(1, 4), rng.range(1, 4));
            let s = (rng.range(1, 3), rng.range(1, 3));
            let d = (rng.range(1, 2), rng.range(1, 2));
            // ONNX requires pads smaller than the kernel.
            let pads = [
                rng.below(k.0),
                rng.below(k.1),
                rng.below(k.0),
                rng.below(k.1),
            ];
            let (h, w) = (rng.range(1, 8), rng.range(1, 8));
            if (k.0 - 1) * d.0 + 1 > h + pads[0] + pads[2]
                || (k.1 - 1) * d.1 + 1 > w + pads[1] + pads[3]
            {
                continue;
            }
            let p = geom(
                rng.range(1, 2),
                rng.range(1, 3),
                h,
                w,
                k,
                s,
                d,
                pads,
                case % 2 == 0,
                case % 4 < 2,
            );
            let x = rng.vec(p.batch * p.channels * h * w);
            let n = p.batch * p.channels * p.out_h * p.out_w;
            let mut y = vec![f32::NAN; n];
            max_pool2d(&p, &x, &mut y);
            assert_close(&y, &reference(&p, &x, true), 0.0);
            avg_pool2d(&p, &x, &mut y);
            assert_close(&y, &reference(&p, &x, false), 1e-6);
            tested += 1;
        }
        assert!(tested > 500);
    }

    #[test]
    fn ceil_mode_overhang_and_count_include_pad() {
        // All-ones 5x5 input: averages expose the divisor (values checked with onnxruntime).
        let x = [1.0f32; 25];
        let run = |p: &Pool2d| {
            let mut y = vec![0.0f32; p.out_h * p.out_w];
            avg_pool2d(p, &x, &mut y);
            y
        };
        // k3 s2 pads 1 ceil: 3x3 output.
        let p = geom(1, 1, 5, 5, (3, 3), (2, 2), (1, 1), [1, 1, 1, 1], true, true);
        assert_eq!((p.out_h, p.out_w), (3, 3));
        let (a, b) = (4.0 / 9.0, 6.0 / 9.0);
        assert_close(&run(&p), &[a, b, a, b, 1.0, b, a, b, a], 1e-6);
        let p = Pool2d {
            count_include_pad: false,
            ..p
        };
        assert_close(&run(&p), &[1.0; 9], 1e-6);
        // Asymmetric pads (t,l,b,r) = (1,0,0,1), ceil.
        let p = geom(1, 1, 5, 5, (3, 3), (2, 2), (1, 1), [1, 0, 0, 1], true, true);
        let (t, h) = (1.0 / 3.0, 0.5);
        assert_close(&run(&p), &[b, b, t, 1.0, 1.0, h, 1.0, 1.0, h], 1e-6);
        // No pads, k2 s2 ceil: the overhang is never counted.
        let p = geom(1, 1, 5, 5, (2, 2), (2, 2), (1, 1), [0; 4], true, true);
        assert_close(&run(&p), &[1.0; 9], 1e-6);
        // Dilation 2.
        let p = geom(1, 1, 5, 5, (3, 3), (2, 2), (2, 2), [1, 1, 1, 1], true, true);
        assert_close(&run(&p), &[a; 4], 1e-6);
        // Pads of 2 with kernel 3 stride 3.
        let p = geom(1, 1, 5, 5, (3, 3), (3, 3), (1, 1), [2, 2, 2, 2], true, true);
        let (c, e) = (1.0 / 9.0, 1.0 / 3.0);
        assert_close(&run(&p), &[c, e, c, e, 1.0, e, c, e, c], 1e-6);
    }

    #[test]
    fn max_pool_padding_never_wins() {
        let x = [-5.0f32; 25];
        let p = geom(
            1,
            1,
            5,
            5,
            (3, 3),
            (2, 2),
            (1, 1),
            [2, 2, 2, 2],
            true,
            false,
        );
        assert_eq!((p.out_h, p.out_w), (4, 4));
        let mut y = vec![0.0; 16];
        max_pool2d(&p, &x, &mut y);
        assert_eq!(y, vec![-5.0; 16]);
    }

    #[test]
    fn max_pool_nan_policy() {
        // `v > m` skips NaN unless it is alone.
        let p = geom(1, 1, 1, 4, (1, 2), (1, 2), (1, 1), [0; 4], false, false);
        let mut y = [0.0f32; 2];
        max_pool2d(&p, &[f32::NAN, 1.0, 2.0, f32::NAN], &mut y);
        assert_eq!(y, [1.0, 2.0]);
        let p = geom(1, 1, 1, 1, (1, 1), (1, 1), (1, 1), [0; 4], false, false);
        let mut y = [0.0f32];
        max_pool2d(&p, &[f32::NAN], &mut y);
        assert_eq!(y, [f32::NEG_INFINITY]);
    }

    #[test]
    fn global_pools() {
        let mut rng = Rng::new(32);
        let x = rng.vec(3 * 17);
        let mut avg = [0.0f32; 3];
        let mut max = [0.0f32; 3];
        global_avg_pool(&x, &mut avg, 3, 17);
        global_max_pool(&x, &mut max, 3, 17);
        for i in 0..3 {
            let p = &x[i * 17..][..17];
            let mean = p.iter().map(|&v| v as f64).sum::<f64>() / 17.0;
            assert!((avg[i] as f64 - mean).abs() < 1e-6);
            assert_eq!(max[i], p.iter().cloned().fold(f32::NEG_INFINITY, f32::max));
        }
        // Degenerate sizes do nothing.
        global_avg_pool(&x, &mut avg, 3, 0);
        global_max_pool(&x, &mut max, 100, 17);
    }

    #[test]
    fn invalid_or_inconsistent_params_do_not_panic() {
        let mut rng = Rng::new(33);
        for _ in 0..3000 {
            let p = Pool2d {
                batch: rng.below(3),
                channels: rng.below(3),
                in_h: rng.below(6),
                in_w: rng.below(6),
                out_h: rng.below(8),
                out_w: rng.below(8),
                kernel_h: rng.below(4),
                kernel_w: rng.below(4),
                stride_h: rng.below(3),
                stride_w: rng.below(3),
                dilation_h: rng.below(3),
                dilation_w: rng.below(3),
                pad_top: rng.below(5),
                pad_left: rng.below(5),
                pad_bottom: rng.below(5),
                pad_right: rng.below(5),
                count_include_pad: rng.below(2) == 0,
            };
            let x = rng.vec_upto(200);
            let mut y = vec![0.0; rng.below(200)];
            max_pool2d(&p, &x, &mut y);
            avg_pool2d(&p, &x, &mut y);
        }
        let p = Pool2d {
            batch: 1,
            channels: 1,
            in_h: 1,
            in_w: 2,
            out_h: 1,
            out_w: 1,
            kernel_h: 1,
            kernel_w: 2,
            stride_h: 1,
            stride_w: usize::MAX,
            dilation_h: 1,
            dilation_w: 1,
            pad_top: 0,
            pad_left: 0,
            pad_bottom: 0,
            pad_right: usize::MAX,
            count_include_pad: true,
        };
        max_pool2d(&p, &[1.0, 2.0], &mut [0.0]);
    }

    #[test]
    fn onnxruntime_values() {
        // Generated by tools/kernels/gen_kernel_cases.py (onnxruntime CPU), x = pattern below,
        // N=1 C=2 H=6 W=7.
        let x = pattern(84, 11, 4, 23, 0.25, 2.5);
        // MaxPool k (3,2) s (2,2) d (1,2) pads (1,1,1,0) ceil_mode=1.
        let p = geom(
            1,
            2,
            6,
            7,
            (3, 2),
            (2, 2),
            (1, 2),
            [1, 1, 1, 0],
            true,
            false,
        );
        let mut y = vec![0.0; 2 * p.out_h * p.out_w];
        max_pool2d(&p, &x, &mut y);
        assert_close(&y, &ORT_MAX, 0.0);
        // AveragePool k (3,3) s (2,2) pads (1,2,0,1) ceil_mode=1, both count_include_pad.
        let p = geom(
            1,
            2,
            6,
            7,
            (3, 3),
            (2, 2),
            (1, 1),
            [1, 2, 0, 1],
            true,
            false,
        );
        let mut y = vec![0.0; 2 * p.out_h * p.out_w];
        avg_pool2d(&p, &x, &mut y);
        assert_close(&y, &ORT_AVG, 1e-6);
        let p = Pool2d {
            count_include_pad: true,
            ..p
        };
        avg_pool2d(&p, &x, &mut y);
        assert_close(&y, &ORT_AVG_PAD, 1e-6);
        // GlobalAveragePool / GlobalMaxPool.
        let mut g = [0.0f32; 2];
        global_avg_pool(&x, &mut g, 2, 42);
        assert_close(&g, &ORT_GAP, 1e-6);
        global_max_pool(&x, &mut g, 2, 42);
        assert_close(&g, &ORT_GMP, 0.0);
    }

    // shape [1, 2, 4, 4]

    const ORT_MAX: [f32; 32] = [
        1.25, 3.0, 3.0, 2.75, 1.5, 3.0, 3.0, 2.75, 1.5, 1.5, 3.0, 3.0, -0.25, -0.25, -0.5, -0.75,
        1.75, 1.75, 1.5, 1.25, 2.0, 2.0, 1.75, 1.5, 2.0, 2.0, 1.75, 1.5, 0.25, 0.25, 0.0, -0.25,
    ];
    // shape [1, 2, 3, 5]
    const ORT_AVG: [f32; 30] = [
        -0.5,
        -0.625,
        0.083333336,
        -0.16666667,
        -1.25,
        0.5833333,
        0.1388889,
        0.5277778,
        0.2777778,
        -0.16666667,
        0.75,
        0.30555555,
        0.055555556,
        0.44444445,
        0.0,
        0.0,
        -0.125,
        -0.375,
        -0.625,
        -0.75,
        1.0833334,
        0.6388889,
        0.3888889,
        0.1388889,
        0.33333334,
        -0.6666667,
        0.16666667,
        0.5555556,
        0.30555555,
        0.5,
    ];
    // shape [1, 2, 3, 5]
    const ORT_AVG_PAD: [f32; 30] = [
        -0.11111111,
        -0.41666666,
        0.055555556,
        -0.11111111,
        -0.41666666,
        0.19444445,
        0.1388889,
        0.5277778,
        0.2777778,
        -0.083333336,
        0.25,
        0.30555555,
        0.055555556,
        0.44444445,
        0.0,
        0.0,
        -0.083333336,
        -0.25,
        -0.41666666,
        -0.25,
        0.3611111,
        0.6388889,
        0.3888889,
        0.1388889,
        0.16666667,
        -0.22222222,
        0.16666667,
        0.5555556,
        0.30555555,
        0.25,
    ];
    // shape [1, 2, 1, 1]
    const ORT_GAP: [f32; 2] = [0.25, 0.20238096];
    // shape [1, 2, 1, 1]
    const ORT_GMP: [f32; 2] = [3.0, 3.0];
}
