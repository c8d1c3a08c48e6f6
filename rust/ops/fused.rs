//! Convolution followed by pooling.
//!
//! A Conv whose only reader is a MaxPool/AveragePool does not need its whole output in
//! memory. In general each output channel's plane is computed into a one-plane scratch buffer
//! and pooled straight into the pooled output, so the arena holds one conv plane instead of
//! all of them (for a 16-channel layer, 1/16 of the conv output).
//!
//! Fast path: a 3x3 stride-1 convolution (any padding, groups, channel counts) followed by
//! 2x2 stride-2 pooling without padding (floor mode) never stores conv values at all. Each
//! pooling window is one 2x2 output block of `conv::conv3x3_blocks` (two output
//! channels at a time, the window's 4x4 input patch loaded once per input channel), and the
//! four sums become one pooled value straight away: for max pooling of Relu (or of no
//! activation) the largest sum first, then the bias and Relu once, which equals pooling the
//! activated values exactly (NaN and infinite cases fall back to the plain formula). The
//! scratch buffer then holds four zero-padded input rows per input channel instead
//! ([`scratch_len`]).

use super::activation::Activation;
use super::conv::{
    conv2d, conv3x3_blocks, conv3x3_blocks_apply, conv3x3_ring_len, Block, BlockSink, Conv2d,
};
use super::pool::{avg_pool2d, max_pool2d, Pool2d};

/// Pools one 2x2 block of conv sums exactly as [`max_pool2d`] / [`avg_pool2d`] pool
/// `act(sum + bias)`: in row-major order, max from `-inf` keeping `v > m`, average over 4.
#[inline(always)]
fn pool_block(v: Block, bias: f32, act: Activation, max: bool) -> f32 {
    let mut t = v.map(|s| s + bias);
    act.apply_in_place(&mut t);
    if max {
        let mut m = f32::NEG_INFINITY;
        for t in t {
            if t > m {
                m = t;
            }
        }
        m
    } else {
        let mut sum = 0.0f32;
        for t in t {
            sum += t;
        }
        sum / 4.0
    }
}

/// [`pool_block`] out of line, for the rare cases (the kernel's hot loop stays small).
#[inline(never)]
#[cold]
fn pool_block_cold(v: Block, bias: f32, act: Activation, max: bool) -> f32 {
    pool_block(v, bias, act, max)
}

/// How [`PoolSink`] turns four conv sums into one pooled value.
#[derive(Clone, Copy, PartialEq)]
enum PoolKind {
    /// Max pooling after Relu.
    ReluMax,
    /// Max pooling without activation.
    Max,
    /// Anything else: [`pool_block`].
    Other,
}

/// Writes one pooled value per block.
struct PoolSink<'a> {
    kind: PoolKind,
    act: Activation,
    max: bool,
    bias: Option<&'a [f32]>,
    y: &'a mut [f32],
    m: usize,
    plane: usize,
    nbw: usize,
}

impl BlockSink for PoolSink<'_> {
    #[inline(always)]
    fn row(&self, n: usize, oc: usize, bh: usize) -> (usize, f32) {
        let b = self.bias.and_then(|b| b.get(oc)).copied().unwrap_or(0.0);
        ((n * self.m + oc) * self.plane + bh * self.nbw, b)
    }

    #[cfg(rtonnx_vfma)]
    fn pooled(&mut self) -> Option<(super::conv_arm::RowOutput, &mut [f32])> {
        use super::conv_arm::RowOutput;
        match self.kind {
            PoolKind::ReluMax => Some((RowOutput::ReluMax, &mut *self.y)),
            PoolKind::Max => Some((RowOutput::Max, &mut *self.y)),
            PoolKind::Other => None,
        }
    }

    #[inline(always)]
    fn put(&mut self, at: usize, v: Block, b: f32) {
        // Max pooling of Relu or of no activation: the largest sum first, then the bias and
        // the activation once. Equal to `pool_block` whenever `max + bias` is a number above
        // -inf: the largest sum is then `v[0]` or a later, larger value (NaN sums are skipped
        // by both), and adding the bias and Relu are non-decreasing. Otherwise `pool_block`.
        let mut m = v[0];
        for &s in &v[1..] {
            if s > m {
                m = s;
            }
        }
        let s = m + b;
        let r = match self.kind {
            PoolKind::ReluMax if s >= 0.0 => s,
            PoolKind::ReluMax if s > f32::NEG_INFINITY => 0.0,
            PoolKind::Max if s > f32::NEG_INFINITY => s,
            _ => pool_block_cold(v, b, self.act, self.max),
        };
        if let Some(o) = self.y.get_mut(at) {
            *o = r;
        }
    }
}

/// The blocked pooled convolution: 3x3 stride-1 convolution, 2x2 stride-2 pooling without
/// padding whose windows all lie inside the conv output. The conv output is never stored:
/// each pooling window is one 2x2 block of [`conv3x3_blocks`]. Returns false, writing
/// nothing, when it does not apply (always applies where [`blocks_apply`] says so and the
/// slices have their lengths). Out of line: see [`crate::ops::conv::conv3x3_plain`].
#[inline(never)]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_pool2x2(
    p: &Conv2d,
    act: Activation,
    pool: &Pool2d,
    max: bool,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    scratch: &mut [f32],
    y: &mut [f32],
) -> bool {
    let fits = fast_path_applies(p, pool);
    let (nbh, nbw) = (pool.out_h, pool.out_w);
    let m = p.out_channels;
    let plane = nbh * nbw;
    if !fits || y.len() < p.batch * m * plane || bias.is_some_and(|b| b.len() < m) {
        return false;
    }
    // The scratch buffer (the conv plane of the generic path) holds the padded input rows.
    if scratch.len() < conv3x3_ring_len(p, nbw) {
        return false;
    }
    let kind = match act {
        Activation::Relu if max => PoolKind::ReluMax,
        Activation::None if max => PoolKind::Max,
        _ => PoolKind::Other,
    };
    #[cfg(rtonnx_vfma)]
    {
        use super::conv_arm::{pooled_conv, RowOutput};
        let mode = match kind {
            PoolKind::ReluMax => RowOutput::ReluMax,
            PoolKind::Max => RowOutput::Max,
            PoolKind::Other => RowOutput::Sums,
        };
        if pooled_conv(p, x, w, bias, mode, scratch, (nbh, nbw), y) {
            return true;
        }
    }
    pool_blocks(p, kind, act, max, x, w, bias, scratch, (nbh, nbw), y)
}

/// The portable blocked path of [`conv3x3_pool2x2`]. Where the assembly path runs it is a
/// fallback, out of line like [`conv_then_pool`]: inlined, their buffers made the frame of
/// every pooled convolution 900 bytes, on the stack of every inference. Elsewhere it is the
/// main path, inlined (out of line it cost 7 % more instructions on x86-64).
#[cfg_attr(rtonnx_vfma, inline(never))]
#[cfg_attr(not(rtonnx_vfma), inline(always))]
#[allow(clippy::too_many_arguments)]
fn pool_blocks(
    p: &Conv2d,
    kind: PoolKind,
    act: Activation,
    max: bool,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    scratch: &mut [f32],
    (nbh, nbw): (usize, usize),
    y: &mut [f32],
) -> bool {
    let m = p.out_channels;
    let plane = nbh * nbw;
    let mut sink = PoolSink {
        kind,
        act,
        max,
        bias,
        y,
        m,
        plane,
        nbw,
    };
    conv3x3_blocks(p, x, w, scratch, nbh, nbw, &mut sink)
}

/// Length of the scratch of a pooled convolution for this geometry (`pool` pools one
/// plane), and whether [`conv3x3_pool2x2`] runs it with that scratch (and slices of their
/// lengths): the compiler's choice between it and [`conv_then_pool`], checked again when a
/// plan is read. The scratch is one conv plane, or the padded input rows of the 3x3 blocks
/// when those are more but still leave the fused step smaller than the conv output it
/// replaces (with a scratch of one plane, the step computes plane by plane instead).
pub fn pooled_layout(p: &Conv2d, pool: &Pool2d) -> (usize, bool) {
    let plane = p.out_h.saturating_mul(p.out_w);
    if !fast_path_applies(p, pool) || !conv3x3_blocks_apply(p, pool.out_h, pool.out_w) {
        return (plane, false);
    }
    // The block kernel never falls back to the plane path for a geometry it applies to (the
    // compiler passes operands of the right lengths), so its row ring is all it needs. A ring
    // larger than a plane (small images, many input channels) is still taken while fusing
    // saves memory over the unfused conv output; otherwise the plane (the generic path
    // computes the same values).
    let ring = conv3x3_ring_len(p, pool.out_w);
    let planes = p.batch.saturating_mul(p.out_channels);
    let pooled = planes.saturating_mul(pool.out_h.saturating_mul(pool.out_w));
    if ring <= plane || ring.saturating_add(pooled) < planes.saturating_mul(plane) {
        (ring, true)
    } else {
        (plane, false)
    }
}

/// The scratch length of [`pooled_layout`] (tests).
#[cfg(test)]
pub(crate) fn scratch_len(p: &Conv2d, pool: &Pool2d) -> usize {
    pooled_layout(p, pool).0
}

/// Whether the blocks run this geometry: see [`pooled_layout`].
pub fn blocks_apply(p: &Conv2d, pool: &Pool2d) -> bool {
    pooled_layout(p, pool).1
}

/// Whether [`conv3x3_pool2x2`] handles this geometry (slice lengths aside).
fn fast_path_applies(p: &Conv2d, pool: &Pool2d) -> bool {
    let conv = p.kernel_h == 3
        && p.kernel_w == 3
        && p.stride_h == 1
        && p.stride_w == 1
        && p.dilation_h == 1
        && p.dilation_w == 1;
    conv && pool2x2_fits(pool, p.out_h, p.out_w)
}

/// Whether `pool` is a 2x2, stride-2, unpadded, undilated (floor-mode) pooling whose
/// windows all lie inside an `out_h x out_w` conv output: each window is one 2x2 block of a
/// blocked convolution (here and in the x86 kernel).
pub(crate) fn pool2x2_fits(pool: &Pool2d, out_h: usize, out_w: usize) -> bool {
    pool.kernel_h == 2
        && pool.kernel_w == 2
        && pool.stride_h == 2
        && pool.stride_w == 2
        && pool.dilation_h == 1
        && pool.dilation_w == 1
        && pool.pad_top == 0
        && pool.pad_left == 0
        && pool.pad_bottom == 0
        && pool.pad_right == 0
        && pool.in_h == out_h
        && pool.in_w == out_w
        && pool.out_h > 0
        && pool.out_w > 0
        && pool.out_h <= out_h / 2
        && pool.out_w <= out_w / 2
}

/// `y = pool(act(conv(x)))` by the blocks where they apply, else plane by plane (what a
/// step runs; the tests' reference). `p` is the whole convolution, `pool` the pooling of one
/// plane (`batch == channels == 1`, input `p.out_h x p.out_w`); `scratch` holds
/// [`scratch_len`] values (at least one conv plane).
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_pool2d(
    p: &Conv2d,
    act: Activation,
    pool: &Pool2d,
    max: bool,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    scratch: &mut [f32],
    y: &mut [f32],
) {
    if conv3x3_pool2x2(p, act, pool, max, x, w, bias, scratch, y) {
        return;
    }
    conv_then_pool(p, act, pool, max, x, w, bias, scratch, y);
}

/// The general pooled convolution: each output plane convolved into `scratch` (one plane
/// of the convolution, at least), then pooled; returns without writing when the geometry is
/// inconsistent or a slice is too short (out of line: see [`pool_blocks`]).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn conv_then_pool(
    p: &Conv2d,
    act: Activation,
    pool: &Pool2d,
    max: bool,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    scratch: &mut [f32],
    y: &mut [f32],
) {
    let (c, m, g) = (p.in_channels, p.out_channels, p.group);
    if g == 0 || c % g != 0 || m % g != 0 || m == 0 {
        return;
    }
    let icg = c / g;
    let per_group = m / g;
    let in_plane = p.in_h * p.in_w;
    let conv_plane = p.out_h * p.out_w;
    let pool_plane = pool.out_h * pool.out_w;
    let w_len = icg * p.kernel_h * p.kernel_w;
    if pool.in_h != p.out_h || pool.in_w != p.out_w || scratch.len() < conv_plane {
        return;
    }
    let scratch = scratch.get_mut(..conv_plane).unwrap_or(&mut []);
    let one = Conv2d {
        batch: 1,
        in_channels: icg,
        out_channels: 1,
        group: 1,
        ..*p
    };
    let plane_pool = Pool2d {
        batch: 1,
        channels: 1,
        ..*pool
    };
    for n in 0..p.batch {
        for oc in 0..m {
            let gi = oc / per_group;
            let x_start = (n * c + gi * icg) * in_plane;
            let (Some(xs), Some(ws)) = (
                x.get(x_start..x_start + icg * in_plane),
                w.get(oc * w_len..(oc + 1) * w_len),
            ) else {
                return;
            };
            let bs = match bias {
                Some(b) => match b.get(oc..oc + 1) {
                    Some(b) => Some(b),
                    None => return,
                },
                None => None,
            };
            conv2d(&one, xs, ws, bs, act, scratch);
            let y_start = (n * m + oc) * pool_plane;
            let Some(ys) = y.get_mut(y_start..y_start + pool_plane) else {
                return;
            };
            if max {
                max_pool2d(&plane_pool, scratch, ys);
            } else {
                avg_pool2d(&plane_pool, scratch, ys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, Rng};
    use alloc::vec;

    #[test]
    fn equals_conv_then_pool() {
        let mut rng = Rng::new(7);
        for &(c, m, g) in &[(1usize, 2usize, 1usize), (3, 4, 1), (4, 4, 4), (4, 8, 2)] {
            let p = Conv2d {
                batch: 2,
                in_channels: c,
                in_h: 6,
                in_w: 7,
                out_channels: m,
                out_h: 6,
                out_w: 7,
                kernel_h: 3,
                kernel_w: 3,
                stride_h: 1,
                stride_w: 1,
                dilation_h: 1,
                dilation_w: 1,
                pad_top: 1,
                pad_left: 1,
                group: g,
            };
            let pool = Pool2d {
                batch: 2,
                channels: m,
                in_h: 6,
                in_w: 7,
                out_h: 3,
                out_w: 3,
                kernel_h: 2,
                kernel_w: 2,
                stride_h: 2,
                stride_w: 2,
                dilation_h: 1,
                dilation_w: 1,
                ..Pool2d::default()
            };
            let x = rng.vec(2 * c * 42);
            let w = rng.vec(m * (c / g) * 9);
            let b = rng.vec(m);
            for max in [true, false] {
                let mut conv = vec![0.0; 2 * m * 42];
                conv2d(&p, &x, &w, Some(&b), Activation::Relu, &mut conv);
                let mut want = vec![0.0; 2 * m * 9];
                if max {
                    max_pool2d(&pool, &conv, &mut want);
                } else {
                    avg_pool2d(&pool, &conv, &mut want);
                }
                let mut got = vec![0.0; 2 * m * 9];
                let mut scratch = vec![0.0; 42];
                conv_pool2d(
                    &p,
                    Activation::Relu,
                    &pool,
                    max,
                    &x,
                    &w,
                    Some(&b),
                    &mut scratch,
                    &mut got,
                );
                assert_close(&got, &want, 1e-6);
            }
        }
    }

    /// `pool(act(conv(x)))` through the unfused kernels (the reference of the fast path).
    #[allow(clippy::too_many_arguments)]
    fn unfused(
        p: &Conv2d,
        act: Activation,
        pool: &Pool2d,
        max: bool,
        x: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
    ) -> alloc::vec::Vec<f32> {
        let mut conv = vec![0.0; p.output_len()];
        conv2d(p, x, w, bias, act, &mut conv);
        let full = Pool2d {
            batch: p.batch,
            channels: p.out_channels,
            ..*pool
        };
        let mut want = vec![0.0; p.batch * p.out_channels * pool.out_h * pool.out_w];
        if max {
            max_pool2d(&full, &conv, &mut want);
        } else {
            avg_pool2d(&full, &conv, &mut want);
        }
        want
    }

    /// Conv 3x3 (given stride/dilation/pads) + 2x2 stride-2 pool (floor) of one plane.
    #[allow(clippy::too_many_arguments)]
    fn geometry(
        n: usize,
        c: usize,
        m: usize,
        g: usize,
        (h, wd): (usize, usize),
        k: usize,
        s: usize,
        d: usize,
        pads: [usize; 4],
    ) -> Option<(Conv2d, Pool2d)> {
        let eff = (k - 1) * d + 1;
        let (ph, pw) = (h + pads[0] + pads[2], wd + pads[1] + pads[3]);
        if ph < eff || pw < eff {
            return None;
        }
        let (oh, ow) = ((ph - eff) / s + 1, (pw - eff) / s + 1);
        if oh < 2 || ow < 2 {
            return None;
        }
        let p = Conv2d {
            batch: n,
            in_channels: c,
            in_h: h,
            in_w: wd,
            out_channels: m,
            out_h: oh,
            out_w: ow,
            kernel_h: k,
            kernel_w: k,
            stride_h: s,
            stride_w: s,
            dilation_h: d,
            dilation_w: d,
            pad_top: pads[0],
            pad_left: pads[1],
            group: g,
        };
        let pool = Pool2d {
            batch: 1,
            channels: 1,
            in_h: oh,
            in_w: ow,
            out_h: oh / 2,
            out_w: ow / 2,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 2,
            stride_w: 2,
            dilation_h: 1,
            dilation_w: 1,
            ..Pool2d::default()
        };
        Some((p, pool))
    }

    fn fused(
        p: &Conv2d,
        act: Activation,
        pool: &Pool2d,
        max: bool,
        x: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        scratch_len: usize,
    ) -> alloc::vec::Vec<f32> {
        let mut got = vec![f32::NAN; p.batch * p.out_channels * pool.out_h * pool.out_w];
        let mut scratch = vec![f32::NAN; scratch_len];
        conv_pool2d(p, act, pool, max, x, w, bias, &mut scratch, &mut got);
        got
    }

    const ACTS: [Activation; 6] = [
        Activation::Relu,
        Activation::None,
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::LeakyRelu { alpha: -0.5 },
        Activation::Sigmoid,
        Activation::Clip {
            min: -0.2,
            max: 0.3,
        },
    ];

    #[test]
    fn fast_path_matches_unfused_on_random_geometries() {
        let mut rng = Rng::new(71);
        let mut fast = 0;
        for case in 0..1500 {
            let g = [1, 1, 1, 2, 3][rng.below(5)];
            let c = g * rng.range(1, 4);
            // Output channels per group 1..=5: multiples of the block of two and not.
            let m = g * rng.range(1, 5);
            let n = rng.range(1, 2);
            let (h, wd) = (rng.range(1, 11), rng.range(1, 11));
            let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
            // Mostly 3x3 stride 1 (the fast path), sometimes other kernels, strides and
            // dilations (the generic path).
            let (k, s, d) = match case % 5 {
                0 => ([1, 2, 3, 5][rng.below(4)], 1, 1),
                1 => (3, rng.range(1, 3), rng.range(1, 2)),
                _ => (3, 1, 1),
            };
            let Some((p, pool)) = geometry(n, c, m, g, (h, wd), k, s, d, pads) else {
                continue;
            };
            fast += usize::from(fast_path_applies(&p, &pool));
            let x = rng.vec(p.input_len());
            let w = rng.vec(p.weight_len());
            let b = rng.vec(m);
            let bias = (case % 4 != 3).then_some(&b[..]);
            let act = ACTS[case % ACTS.len()];
            let max = case % 7 != 0;
            let want = unfused(&p, act, &pool, max, &x, &w, bias);
            // Scratch for the padded rows of the fast path, then what the compiler gives.
            let plane = p.out_h * p.out_w;
            let ring = conv3x3_ring_len(&p, pool.out_w).max(plane);
            let got = fused(&p, act, &pool, max, &x, &w, bias, ring);
            assert_close(&got, &want, 1e-5);
            let len = scratch_len(&p, &pool);
            assert!(len == plane || len == conv3x3_ring_len(&p, pool.out_w));
            let got = fused(&p, act, &pool, max, &x, &w, bias, len);
            assert_close(&got, &want, 1e-5);
            // A scratch of one conv plane only: the fast path steps aside when its rows do
            // not fit.
            let got = fused(&p, act, &pool, max, &x, &w, bias, p.out_h * p.out_w);
            assert_close(&got, &want, 1e-5);
        }
        assert!(fast > 500, "fast path taken {fast} times");
    }

    #[test]
    fn scratch_is_the_row_ring_on_the_fast_path_and_a_plane_otherwise() {
        // 1 -> 2 channels on 28x28 (mnist-sm's first layer): 4 rows of 2 x 14 + 2 padded
        // values, not a 784-value plane.
        let (p, pool) = geometry(1, 1, 2, 1, (28, 28), 3, 1, 1, [1, 1, 1, 1]).unwrap();
        assert_eq!(scratch_len(&p, &pool), 4 * 30);
        // 4 -> 4 channels on 14x14 (mnist-lg's second layer): 4 x 4 x 16 padded values,
        // more than a 196-value plane but far less than the 784-value conv output.
        let (p, pool) = geometry(1, 4, 4, 1, (14, 14), 3, 1, 1, [1, 1, 1, 1]).unwrap();
        assert_eq!(scratch_len(&p, &pool), 256);
        // 1 -> 2 channels on 4x4: the 24 padded values plus the 8 pooled ones would not be
        // smaller than the 32-value conv output: one plane, generic path.
        let (p, pool) = geometry(1, 1, 2, 1, (4, 4), 3, 1, 1, [1, 1, 1, 1]).unwrap();
        assert_eq!(scratch_len(&p, &pool), 16);
        // 2 -> 2 channels on 14x14 (mnist-sm's second layer): 2 x 4 x 16 = 128 < 196.
        let (p, pool) = geometry(1, 2, 2, 1, (14, 14), 3, 1, 1, [1, 1, 1, 1]).unwrap();
        assert_eq!(scratch_len(&p, &pool), 128);
        // Stride 2: the generic path, one conv plane.
        let (p, pool) = geometry(1, 1, 2, 1, (28, 28), 3, 2, 1, [1, 1, 1, 1]).unwrap();
        assert_eq!(scratch_len(&p, &pool), p.out_h * p.out_w);
    }

    #[test]
    fn fast_path_pools_ceil_mode_and_odd_sizes_through_the_generic_path() {
        let mut rng = Rng::new(72);
        // 5x5 conv output, ceil-mode pooling to 3x3: the last windows are partial.
        let (p, mut pool) = geometry(1, 2, 3, 1, (5, 5), 3, 1, 1, [1, 1, 1, 1]).unwrap();
        pool.out_h = 3;
        pool.out_w = 3;
        assert!(!fast_path_applies(&p, &pool));
        let x = rng.vec(p.input_len());
        let w = rng.vec(p.weight_len());
        let want = unfused(&p, Activation::Relu, &pool, true, &x, &w, None);
        let got = fused(&p, Activation::Relu, &pool, true, &x, &w, None, 25);
        assert_close(&got, &want, 1e-5);
        assert_eq!(scratch_len(&p, &pool), 25);
    }

    #[test]
    fn fast_path_is_exact_for_nan_inf_and_infinite_bias() {
        let mut rng = Rng::new(73);
        let (p, pool) = geometry(1, 2, 4, 1, (8, 9), 3, 1, 1, [1, 1, 1, 1]).unwrap();
        assert!(fast_path_applies(&p, &pool));
        for case in 0..60 {
            let mut x = rng.vec(p.input_len());
            let w = rng.vec(p.weight_len());
            let mut b = rng.vec(4);
            // A NaN or an infinity in the image (one value: each output window then holds
            // at most one non-finite product, so the summation order does not matter).
            let at = rng.below(x.len());
            x[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][case % 3];
            // Non-finite biases and biases that push every sum below zero.
            b[case % 4] = [f32::NEG_INFINITY, f32::NAN, f32::INFINITY, -100.0][(case / 3) % 4];
            for act in ACTS {
                for max in [true, false] {
                    let want = unfused(&p, act, &pool, max, &x, &w, Some(&b));
                    let got = fused(
                        &p,
                        act,
                        &pool,
                        max,
                        &x,
                        &w,
                        Some(&b),
                        scratch_len(&p, &pool),
                    );
                    assert_close(&got, &want, 1e-5);
                }
            }
        }
        // Every sum NaN: max pooling gives -inf (all values skipped), also after Relu.
        let x = vec![f32::NAN; p.input_len()];
        let w = rng.vec(p.weight_len());
        for act in [Activation::Relu, Activation::None] {
            let got = fused(&p, act, &pool, true, &x, &w, None, scratch_len(&p, &pool));
            assert!(got.iter().all(|&v| v == f32::NEG_INFINITY));
        }
    }

    #[test]
    fn short_slices_do_not_panic() {
        let mut rng = Rng::new(74);
        let (p, pool) = geometry(2, 3, 4, 1, (6, 7), 3, 1, 1, [1, 1, 1, 1]).unwrap();
        let x = rng.vec(p.input_len());
        let w = rng.vec(p.weight_len());
        let b = rng.vec(4);
        let y_len = 2 * 4 * pool.out_h * pool.out_w;
        for cut in [1, 5, 17] {
            let mut y = vec![0.0; y_len];
            let mut s = vec![0.0; scratch_len(&p, &pool)];
            let (xs, ws, bs) = (&x[..x.len() - cut], &w[..w.len() - cut.min(3)], &b[..3]);
            conv_pool2d(
                &p,
                Activation::Relu,
                &pool,
                true,
                xs,
                &w,
                Some(&b),
                &mut s,
                &mut y,
            );
            conv_pool2d(
                &p,
                Activation::Relu,
                &pool,
                true,
                &x,
                ws,
                Some(&b),
                &mut s,
                &mut y,
            );
            conv_pool2d(
                &p,
                Activation::Relu,
                &pool,
                true,
                &x,
                &w,
                Some(bs),
                &mut s,
                &mut y,
            );
            let mut short_y = vec![0.0; y_len - cut];
            conv_pool2d(
                &p,
                Activation::Relu,
                &pool,
                true,
                &x,
                &w,
                None,
                &mut s,
                &mut short_y,
            );
            conv_pool2d(
                &p,
                Activation::Relu,
                &pool,
                true,
                &x,
                &w,
                None,
                &mut s[..cut],
                &mut y,
            );
        }
    }
}
