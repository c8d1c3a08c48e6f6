//! 2-D convolution (NCHW) with groups, dilation, stride, asymmetric padding and a fused
//! activation.
//!
//! Strategy: every output plane starts as its bias; then each (input channel, kernel tap) adds
//! `w * x` over the rectangle of output pixels whose input tap lies inside the image. The
//! rectangle is computed once per tap (no per-pixel padding tests), so the innermost loop is a
//! plain `y[i] += w * x[i * stride]` over one output row. Two fast paths:
//! * 1x1, stride 1, no padding: a matrix product `W[oc, ic] * X[ic, pixels]` per group;
//! * kernel width 3 with horizontal stride 1 or 2 and horizontal dilation 1 (3x3, 1x3, 1-D
//!   convolutions with k = 3): row by row, the interior columns add all taps of a kernel row
//!   (all nine taps for an unclipped 3x3 window) per output pixel in one pass, and only the few
//!   border columns use a clipped dot product.
//!
//! For Conv + 2x2 pooling (`fused.rs`), 3x3 stride-1 convolutions are computed in 2x2 output
//! blocks instead (`conv3x3_blocks`): two output channels at a time, every 4x4 input window
//! loaded once per input channel from a ring of zero-padded input rows, the sums handed to
//! the pooling without being stored. Its inner loop reads the padded rows and the kernels
//! with unchecked loads whose ranges are checked once per block row (`// SAFETY:` comments).

use super::activation::Activation;
use super::matmul::{gemm_acc, gemm_acc_cols};

mod blocks;
pub(crate) use blocks::{conv3x3_blocks, conv3x3_blocks_apply, conv3x3_ring_len, Block, BlockSink};
pub use blocks::{conv3x3_plain, conv3x3_plain_scratch_len};

/// Convolution geometry. `out_h`/`out_w` imply the bottom/right padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Conv2d {
    /// Batch size N.
    pub batch: usize,
    /// Input channels C.
    pub in_channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels M.
    pub out_channels: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Number of groups (divides both channel counts).
    pub group: usize,
}

impl Conv2d {
    /// Input channels per group (0 if `group` is 0).
    fn icg(&self) -> usize {
        self.in_channels.checked_div(self.group).unwrap_or(0)
    }

    /// Multiply-accumulate count.
    pub fn macs(&self) -> u64 {
        [
            self.batch,
            self.out_channels,
            self.out_h,
            self.out_w,
            self.icg(),
            self.kernel_h,
            self.kernel_w,
        ]
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
    }

    /// Elements of the weight tensor `[out_channels, in_channels / group, kernel_h, kernel_w]`.
    pub fn weight_len(&self) -> usize {
        [self.out_channels, self.icg(), self.kernel_h, self.kernel_w]
            .iter()
            .fold(1usize, |acc, &d| acc.saturating_mul(d))
    }

    /// Elements of the input tensor.
    pub fn input_len(&self) -> usize {
        [self.batch, self.in_channels, self.in_h, self.in_w]
            .iter()
            .fold(1usize, |acc, &d| acc.saturating_mul(d))
    }

    /// Elements of the output tensor.
    pub fn output_len(&self) -> usize {
        [self.batch, self.out_channels, self.out_h, self.out_w]
            .iter()
            .fold(1usize, |acc, &d| acc.saturating_mul(d))
    }
}

/// Validated sizes; every index the kernel forms is bounded by these.
struct Geo {
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
}

impl Geo {
    fn new(p: &Conv2d) -> Option<Geo> {
        if p.stride_h == 0 || p.stride_w == 0 || p.dilation_h == 0 || p.dilation_w == 0 {
            return None;
        }
        // The farthest input coordinate any tap can form must be representable.
        p.out_h
            .checked_mul(p.stride_h)?
            .checked_add(p.kernel_h.checked_mul(p.dilation_h)?)?
            .checked_add(p.in_h.checked_add(p.pad_top)?)?;
        p.out_w
            .checked_mul(p.stride_w)?
            .checked_add(p.kernel_w.checked_mul(p.dilation_w)?)?
            .checked_add(p.in_w.checked_add(p.pad_left)?)?;
        Some(Geo {
            in_h: p.in_h,
            in_w: p.in_w,
            out_h: p.out_h,
            out_w: p.out_w,
            kh: p.kernel_h,
            kw: p.kernel_w,
            sh: p.stride_h,
            sw: p.stride_w,
            dh: p.dilation_h,
            dw: p.dilation_w,
            pt: p.pad_top,
            pl: p.pad_left,
        })
    }
}

/// Output positions `o` in `[0, out)` whose input coordinate `o * s + off - pad` lies in
/// `[0, len)`. `s >= 1`; no overflow for values validated by [`Geo::new`].
#[inline]
pub(crate) fn valid_range(
    out: usize,
    s: usize,
    off: usize,
    pad: usize,
    len: usize,
) -> (usize, usize) {
    // o * s + off >= pad  <=>  o >= ceil((pad - off) / s)
    let lo = if pad > off {
        (pad - off).div_ceil(s)
    } else {
        0
    };
    // o * s + off < len + pad  <=>  o < ceil((len + pad - off) / s)
    let lim = len + pad;
    let hi = if lim > off {
        (lim - off).div_ceil(s).min(out)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// Intersection of two half-open ranges (empty ranges come out as `lo == hi`).
#[inline]
fn clip(r: (usize, usize), to: (usize, usize)) -> (usize, usize) {
    let hi = r.1.min(to.1);
    (r.0.max(to.0).min(hi), hi)
}

#[inline(always)]
fn tail(s: &[f32], from: usize) -> &[f32] {
    s.get(from..).unwrap_or(&[])
}

/// Per-tap accumulation over the output rectangle `rows x cols` of one (output plane, input
/// plane) pair: `y[oh][ow] += w[kh][kw] * x[oh*sh + kh*dh - pt][ow*sw + kw*dw - pl]`.
fn plane_taps(
    g: &Geo,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    rows: (usize, usize),
    cols: (usize, usize),
) {
    if rows.0 >= rows.1 || cols.0 >= cols.1 {
        return;
    }
    for (kh, wrow) in w.chunks_exact(g.kw).take(g.kh).enumerate() {
        let koff_h = kh * g.dh;
        let (h0, h1) = clip(valid_range(g.out_h, g.sh, koff_h, g.pt, g.in_h), rows);
        if h0 >= h1 {
            continue;
        }
        for (kw, &wv) in wrow.iter().enumerate() {
            let koff_w = kw * g.dw;
            let (w0, w1) = clip(valid_range(g.out_w, g.sw, koff_w, g.pl, g.in_w), cols);
            if w0 >= w1 {
                continue;
            }
            let iw0 = w0 * g.sw + koff_w - g.pl;
            let mut ih = h0 * g.sh + koff_h - g.pt;
            for oh in h0..h1 {
                let ybase = oh * g.out_w;
                let (Some(yrow), Some(xrow)) = (
                    y.get_mut(ybase + w0..ybase + w1),
                    x.get(ih * g.in_w + iw0..),
                ) else {
                    return;
                };
                if g.sw == 1 {
                    for (yv, &xv) in yrow.iter_mut().zip(xrow) {
                        *yv += wv * xv;
                    }
                } else {
                    for (yv, &xv) in yrow.iter_mut().zip(xrow.iter().step_by(g.sw)) {
                        *yv += wv * xv;
                    }
                }
                ih += g.sh;
            }
        }
    }
}

/// Nine taps of one output row segment, horizontal stride 1: `y[i] += sum w[r][c] * rows[r][i + c]`.
#[inline(always)]
fn row3x3_s1(y: &mut [f32], r0: &[f32], r1: &[f32], r2: &[f32], w: &[f32; 9]) {
    let [w00, w01, w02, w10, w11, w12, w20, w21, w22] = *w;
    let it = y
        .iter_mut()
        .zip(r0)
        .zip(tail(r0, 1))
        .zip(tail(r0, 2))
        .zip(r1)
        .zip(tail(r1, 1))
        .zip(tail(r1, 2))
        .zip(r2)
        .zip(tail(r2, 1))
        .zip(tail(r2, 2));
    for (((((((((yv, &a0), &a1), &a2), &b0), &b1), &b2), &c0), &c1), &c2) in it {
        *yv += w00 * a0
            + w01 * a1
            + w02 * a2
            + w10 * b0
            + w11 * b1
            + w12 * b2
            + w20 * c0
            + w21 * c1
            + w22 * c2;
    }
}

/// Nine taps of one output row segment, horizontal stride 2 (rows start at the first tap and
/// hold at least `2 * y.len() + 1` values): `y[i] += sum w[r][c] * rows[r][2i + c]`.
#[inline(always)]
fn row3x3_s2(y: &mut [f32], r0: &[f32], r1: &[f32], r2: &[f32], w: &[f32; 9]) {
    let [w00, w01, w02, w10, w11, w12, w20, w21, w22] = *w;
    let Some((ylast, yhead)) = y.split_last_mut() else {
        return;
    };
    // All but the last output: pairs (x[2i], x[2i+1]) and (x[2i+2], _) are full chunks.
    let it = yhead
        .iter_mut()
        .zip(r0.chunks_exact(2))
        .zip(tail(r0, 2).chunks_exact(2))
        .zip(r1.chunks_exact(2))
        .zip(tail(r1, 2).chunks_exact(2))
        .zip(r2.chunks_exact(2))
        .zip(tail(r2, 2).chunks_exact(2));
    for ((((((yv, a01), a2), b01), b2), c01), c2) in it {
        if let (&[a0, a1], &[a2, _], &[b0, b1], &[b2, _], &[c0, c1], &[c2, _]) =
            (a01, a2, b01, b2, c01, c2)
        {
            *yv += w00 * a0
                + w01 * a1
                + w02 * a2
                + w10 * b0
                + w11 * b1
                + w12 * b2
                + w20 * c0
                + w21 * c1
                + w22 * c2;
        }
    }
    // Last output: taps at 2n-2 .. 2n.
    let at = 2 * yhead.len();
    if let (Some(&[a0, a1, a2]), Some(&[b0, b1, b2]), Some(&[c0, c1, c2])) = (
        r0.get(at..at + 3)
            .and_then(|s| <&[f32; 3]>::try_from(s).ok()),
        r1.get(at..at + 3)
            .and_then(|s| <&[f32; 3]>::try_from(s).ok()),
        r2.get(at..at + 3)
            .and_then(|s| <&[f32; 3]>::try_from(s).ok()),
    ) {
        *ylast += w00 * a0
            + w01 * a1
            + w02 * a2
            + w10 * b0
            + w11 * b1
            + w12 * b2
            + w20 * c0
            + w21 * c1
            + w22 * c2;
    }
}

/// Three taps of one output row segment, horizontal stride 1: `y[i] += sum w[c] * r[i + c]`.
#[inline(always)]
fn row1x3_s1(y: &mut [f32], r: &[f32], w: [f32; 3]) {
    let [w0, w1, w2] = w;
    for (((yv, &a0), &a1), &a2) in y.iter_mut().zip(r).zip(tail(r, 1)).zip(tail(r, 2)) {
        *yv += w0 * a0 + w1 * a1 + w2 * a2;
    }
}

/// Three taps of one output row segment, horizontal stride 2 (`r` holds at least
/// `2 * y.len() + 1` values): `y[i] += sum w[c] * r[2i + c]`.
#[inline(always)]
fn row1x3_s2(y: &mut [f32], r: &[f32], w: [f32; 3]) {
    let [w0, w1, w2] = w;
    let Some((ylast, yhead)) = y.split_last_mut() else {
        return;
    };
    for ((yv, a01), a2) in yhead
        .iter_mut()
        .zip(r.chunks_exact(2))
        .zip(tail(r, 2).chunks_exact(2))
    {
        if let (&[a0, a1], &[a2, _]) = (a01, a2) {
            *yv += w0 * a0 + w1 * a1 + w2 * a2;
        }
    }
    let at = 2 * yhead.len();
    if let Some(&[a0, a1, a2]) = r
        .get(at..at + 3)
        .and_then(|s| <&[f32; 3]>::try_from(s).ok())
    {
        *ylast += w0 * a0 + w1 * a1 + w2 * a2;
    }
}

/// Kernel width 3 with horizontal dilation 1 and horizontal stride 1 or 2 (any kernel height,
/// vertical stride and dilation), row by row: the interior columns (all three taps inside the
/// image) run a fused 9-tap loop (3x3 kernel, all rows inside) or one 3-tap loop per valid
/// kernel row; the few border columns get a clipped dot product.
fn plane_k3(g: &Geo, x: &[f32], w: &[f32], y: &mut [f32]) {
    let (mut c_lo, mut c_hi) = (
        valid_range(g.out_w, g.sw, 0, g.pl, g.in_w).0,
        valid_range(g.out_w, g.sw, 2, g.pl, g.in_w).1,
    );
    if c_lo >= c_hi {
        // No interior: every column is a border column.
        c_lo = g.out_w;
        c_hi = g.out_w;
    }
    let n = c_hi - c_lo;
    let iw0 = (c_lo * g.sw).saturating_sub(g.pl);
    let need = if n > 0 { (n - 1) * g.sw + 3 } else { 0 };
    let w9 = <&[f32; 9]>::try_from(w.get(..9).unwrap_or(&[]))
        .ok()
        .filter(|_| g.kh == 3);
    let lim = g.in_h + g.pt;
    for (oh, yrow) in y.chunks_exact_mut(g.out_w.max(1)).take(g.out_h).enumerate() {
        // Kernel rows k0..k1 read rows inside the image.
        let base = oh * g.sh;
        let k0 = if g.pt > base {
            (g.pt - base).div_ceil(g.dh)
        } else {
            0
        };
        let k1 = if lim > base {
            (lim - base).div_ceil(g.dh).min(g.kh)
        } else {
            0
        };
        if k0 >= k1 {
            continue;
        }
        let ih0 = base + k0 * g.dh - g.pt;
        let row = |k: usize, from: usize, len: usize| -> &[f32] {
            let start = (ih0 + (k - k0) * g.dh) * g.in_w + from;
            x.get(start..start + len).unwrap_or(&[])
        };
        if let Some(yseg) = yrow.get_mut(c_lo..c_hi).filter(|s| !s.is_empty()) {
            match w9 {
                Some(w9) if k0 == 0 && k1 == 3 => {
                    let (r0, r1, r2) = (row(0, iw0, need), row(1, iw0, need), row(2, iw0, need));
                    if g.sw == 1 {
                        row3x3_s1(yseg, r0, r1, r2, w9);
                    } else {
                        row3x3_s2(yseg, r0, r1, r2, w9);
                    }
                }
                _ => {
                    for k in k0..k1 {
                        let Some(&[w0, w1, w2]) = w
                            .get(k * 3..k * 3 + 3)
                            .and_then(|s| <&[f32; 3]>::try_from(s).ok())
                        else {
                            continue;
                        };
                        let r = row(k, iw0, need);
                        if g.sw == 1 {
                            row1x3_s1(yseg, r, [w0, w1, w2]);
                        } else {
                            row1x3_s2(yseg, r, [w0, w1, w2]);
                        }
                    }
                }
            }
        }
        // Border columns: taps t0..t1 fall inside the image.
        for ow in (0..c_lo).chain(c_hi..g.out_w) {
            let cb = ow * g.sw;
            let t0 = g.pl.saturating_sub(cb);
            let t1 = (g.in_w + g.pl).saturating_sub(cb).min(3);
            if t0 >= t1 {
                continue;
            }
            let iw = cb + t0 - g.pl;
            let mut acc = 0.0f32;
            for k in k0..k1 {
                let wr = w.get(k * 3 + t0..k * 3 + t1).unwrap_or(&[]);
                for (&a, &b) in wr.iter().zip(row(k, iw, t1 - t0)) {
                    acc += a * b;
                }
            }
            if let Some(yv) = yrow.get_mut(ow) {
                *yv += acc;
            }
        }
    }
}

/// Accumulates one input plane into one output plane.
fn plane(g: &Geo, x: &[f32], w: &[f32], y: &mut [f32]) {
    if g.kw == 3 && g.dw == 1 && (g.sw == 1 || g.sw == 2) {
        plane_k3(g, x, w, y);
    } else {
        plane_taps(g, x, w, y, (0, g.out_h), (0, g.out_w));
    }
}

/// `y[n][oc][oh][ow] = act(bias[oc] + sum over ic in group, kh, kw of
/// x[n][g*icg+ic][oh*sh - pt + kh*dh][ow*sw - pl + kw*dw] * w[oc][ic][kh][kw])`.
///
/// Weights are `[out_channels, in_channels / group, kernel_h, kernel_w]`; out-of-range input
/// taps read as zero (padding). Returns without writing if the geometry is invalid (zero
/// stride/dilation/group, channels not divisible by group) or the slices are too short.
pub fn conv2d(
    p: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    let Some(g) = Geo::new(p) else {
        return;
    };
    if p.group == 0 || p.in_channels % p.group != 0 || p.out_channels % p.group != 0 {
        return;
    }
    let icg = p.in_channels / p.group;
    let ocg = p.out_channels / p.group;
    let in_plane = g.in_h * g.in_w;
    let out_plane = g.out_h * g.out_w;
    let taps = g.kh * g.kw;
    let (x_len, w_len, y_len) = (p.input_len(), p.weight_len(), p.output_len());
    if x.len() < x_len || w.len() < w_len || y.len() < y_len || out_plane == 0 || ocg == 0 {
        return;
    }
    let bias = match bias {
        Some(b) if b.len() < p.out_channels => return,
        b => b,
    };
    let Some(y) = y.get_mut(..y_len) else {
        return;
    };
    // Initialise every output plane with its bias.
    for (i, plane_y) in y.chunks_exact_mut(out_plane).enumerate() {
        let oc = i % p.out_channels;
        plane_y.fill(bias.and_then(|b| b.get(oc)).copied().unwrap_or(0.0));
    }
    let pointwise = taps == 1
        && g.sh == 1
        && g.sw == 1
        && g.pt == 0
        && g.pl == 0
        && g.in_h == g.out_h
        && g.in_w == g.out_w;
    if in_plane > 0 && icg > 0 && taps > 0 {
        let x_batch = p.in_channels * in_plane;
        let y_batch = p.out_channels * out_plane;
        let x_group = icg * in_plane;
        let y_group = ocg * out_plane;
        let w_group = ocg * icg * taps;
        for (xn, yn) in x
            .chunks_exact(x_batch)
            .zip(y.chunks_exact_mut(y_batch))
            .take(p.batch)
        {
            let groups = xn
                .chunks_exact(x_group)
                .zip(yn.chunks_exact_mut(y_group))
                .zip(w.chunks_exact(w_group));
            for ((xg, yg), wg) in groups {
                if pointwise {
                    // y[oc, px] += W[oc, ic] * x[ic, px]: on the devices with blocks of
                    // output pixels in registers (the VFMA routine on Cortex-M); x86-64
                    // keeps the four-row form its compiler vectorises over pixels.
                    if cfg!(target_arch = "x86_64") {
                        gemm_acc(1.0, wg, icg, 1, xg, yg, ocg, icg, out_plane);
                    } else {
                        gemm_acc_cols(wg, xg, yg, ocg, icg, out_plane);
                    }
                    continue;
                }
                for (yp, woc) in yg
                    .chunks_exact_mut(out_plane)
                    .zip(wg.chunks_exact(icg * taps))
                {
                    for (xp, wic) in xg.chunks_exact(in_plane).zip(woc.chunks_exact(taps)) {
                        plane(&g, xp, wic, yp);
                    }
                }
            }
        }
    }
    act.apply_in_place(y);
}

#[cfg(test)]
mod tests;
