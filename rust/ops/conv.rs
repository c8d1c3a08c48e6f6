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
use super::matmul::gemm_acc;

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

// --- 3x3, stride 1, dilation 1: 2x2 output blocks, several output channels at a time ------

/// Sums of one 2x2 output block, `[y00, y01, y10, y11]` (row-major), without bias.
pub(crate) type Block = [f32; 4];

/// Input window of one 2x2 output block: 4 rows x 4 columns.
type Patch = [[f32; 4]; 4];

/// Receives the sums of the 2x2 blocks computed by [`conv3x3_blocks`].
pub(crate) trait BlockSink {
    /// Where block row `bh` of output channel `oc` of batch item `n` starts (block `(bh, bw)`
    /// is then `put` at `at + bw`), and the bias of `oc`; asked once per block row.
    fn row(&self, n: usize, oc: usize, bh: usize) -> (usize, f32);
    /// The sums of one block, `[y00, y01, y10, y11]` without bias, and the bias.
    fn put(&mut self, at: usize, v: Block, bias: f32);
    /// On Cortex-M targets with VFMA: when the sink max-pools each block (with Relu or no
    /// activation), that form and the output the `row` positions index, so that the assembly
    /// kernel writes the pooled values itself.
    #[cfg(rtonnx_vfma)]
    fn pooled(&mut self) -> Option<(super::conv_arm::RowOutput, &mut [f32])> {
        None
    }
    /// On Cortex-M targets with VFMA: when the sink stores each block at its four output
    /// positions, where, so that the assembly kernel stores `sum + bias` of the blocks inside
    /// the output itself (the sink's activation then runs over the values written); blocks
    /// overhanging an odd output still go through [`BlockSink::put`].
    #[cfg(rtonnx_vfma)]
    fn direct(&mut self) -> Option<DirectOut<'_>> {
        None
    }
}

/// The output of a plain convolution as [`BlockSink::direct`] gives it.
#[cfg(rtonnx_vfma)]
pub(crate) struct DirectOut<'y> {
    /// `[batch, m, out_h, out_w]`.
    pub y: &'y mut [f32],
    /// Output channels.
    pub m: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output row length.
    pub out_w: usize,
    /// Output plane length.
    pub plane: usize,
    /// Applied to the stored values.
    pub act: Activation,
}

/// Adds the nine taps of one input channel to `OB` blocks: `acc[o] += conv(p, w[o])`. With
/// `FIRST` the first tap assigns instead (no zero initialisation). Input row by input row, so
/// that only one row of the window needs to be in registers at a time.
#[inline(always)]
// kh, kw < 3 and i < 2: every index is below 9 into a `[f32; 9]` or below 4 into a
// `[f32; 4]`; fixed-size arrays, so the bounds are proven at compile time (no checks emitted).
#[allow(clippy::indexing_slicing)]
fn block_taps<const OB: usize, const FIRST: bool>(
    acc: &mut [Block; OB],
    p: &Patch,
    w: &[[f32; 9]; OB],
) {
    for (r, x) in p.iter().enumerate() {
        // Output row i reads input row r through kernel row r - i.
        for i in 0..2 {
            let Some(kh) = r.checked_sub(i).filter(|&kh| kh < 3) else {
                continue;
            };
            for (a, w) in acc.iter_mut().zip(w) {
                for kw in 0..3 {
                    let wv = w[kh * 3 + kw];
                    let (x0, x1) = (x[kw], x[kw + 1]);
                    if FIRST && r == 0 && kw == 0 {
                        a[0] = wv * x0;
                        a[1] = wv * x1;
                    } else if FIRST && r == 1 && i == 1 && kw == 0 {
                        a[2] = wv * x0;
                        a[3] = wv * x1;
                    } else {
                        a[2 * i] += wv * x0;
                        a[2 * i + 1] += wv * x1;
                    }
                }
            }
        }
    }
}

/// Number of `f32` the `ring` argument of [`conv3x3_blocks`] needs: four zero-padded input
/// rows of `2 * nbw + 2` values for each input channel of a group.
pub(crate) fn conv3x3_ring_len(p: &Conv2d, nbw: usize) -> usize {
    p.icg()
        .saturating_mul(4)
        .saturating_mul(nbw.saturating_mul(2).saturating_add(2))
}

/// All blocks of one block row for the `OB` output channels `oc..oc + OB` of batch item `n`.
/// `rows[r]` is padded input row `2bh + r` for all `icg` input channels, `pw` values each
/// (`pw >= 2 * nbw + 2`); `wo[o]` the `icg` 3x3 kernels of output channel `oc + o`.
// Inlined where it is the main path; on a Cortex-M with VFMA it is the fallback of the
// assembly kernel (odd channels, rare rows): one out-of-line copy keeps the code small.
#[cfg_attr(not(rtonnx_vfma), inline(always))]
#[cfg_attr(rtonnx_vfma, inline(never))]
#[allow(clippy::too_many_arguments)]
fn block_row<const OB: usize, S: BlockSink>(
    rows: [&[f32]; 4],
    pw: usize,
    icg: usize,
    wo: [&[f32]; OB],
    nbw: usize,
    (n, oc, bh): (usize, usize, usize),
    sink: &mut S,
) {
    // (No `array::map`/`from_fn` here: they are not always inlined.)
    let weights = |ic: usize| -> [[f32; 9]; OB] {
        let mut k = [[0.0; 9]; OB];
        for (k, w) in k.iter_mut().zip(wo) {
            // SAFETY: ic < icg and w.len() == icg * 9 (checked before the first call).
            *k = unsafe { w.as_ptr().add(ic * 9).cast::<[f32; 9]>().read() };
        }
        k
    };
    let at = |r: &[f32], i: usize| -> [f32; 4] {
        // SAFETY: callers pass i = ic * pw + 2 * bw with ic < icg and bw < nbw, so the four
        // values end at ic * pw + 2 * nbw + 2 <= icg * pw == r.len() (checked before the
        // first call).
        unsafe { r.as_ptr().add(i).cast::<[f32; 4]>().read() }
    };
    let [r0, r1, r2, r3] = rows;
    let patch = |ic: usize, c: usize| -> Patch {
        let i = ic * pw + c;
        [at(r0, i), at(r1, i), at(r2, i), at(r3, i)]
    };
    let mut at = [(0, 0.0); OB];
    for (o, at) in at.iter_mut().enumerate() {
        *at = sink.row(n, oc + o, bh);
    }
    // Every index below is ic * pw + 2 * bw + j (ic < icg, bw < nbw, j < 4) into a row, or
    // ic * 9 + t (t < 9) into a kernel list; both are checked here once.
    if icg == 0
        || nbw.checked_mul(2).is_none_or(|w| w + 2 > pw)
        || rows.iter().any(|r| r.len() != icg * pw)
        || wo.iter().any(|w| w.len() != icg * 9)
    {
        return;
    }
    if icg == 1 {
        // One input channel: the kernels stay in registers for the whole row.
        let w0 = weights(0);
        for bw in 0..nbw {
            let mut acc = [[0.0; 4]; OB];
            block_taps::<OB, true>(&mut acc, &patch(0, 2 * bw), &w0);
            for (a, &(at, b)) in acc.into_iter().zip(&at) {
                sink.put(at + bw, a, b);
            }
        }
        return;
    }
    for bw in 0..nbw {
        let c = 2 * bw;
        let mut acc = [[0.0; 4]; OB];
        block_taps::<OB, true>(&mut acc, &patch(0, c), &weights(0));
        for ic in 1..icg {
            block_taps::<OB, false>(&mut acc, &patch(ic, c), &weights(ic));
        }
        for (a, &(at, b)) in acc.into_iter().zip(&at) {
            sink.put(at + bw, a, b);
        }
    }
}

/// Whether [`conv3x3_blocks`] handles this geometry with `nbh x nbw` blocks (operand
/// lengths aside): the compiler sizes the scratch buffer for it only when this holds. The
/// blocks may overhang the output by one row or column (odd output sizes): the sink drops
/// those sums, computed from the zero padding of the ring.
pub(crate) fn conv3x3_blocks_apply(p: &Conv2d, nbh: usize, nbw: usize) -> bool {
    let square = p.kernel_h == 3 && p.kernel_w == 3;
    let unit = p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 && p.dilation_w == 1;
    let (c, m, g) = (p.in_channels, p.out_channels, p.group);
    let fits = |blocks: usize, out: usize| {
        blocks
            .checked_mul(2)
            .is_some_and(|v| out.checked_add(1).is_some_and(|o| v <= o))
    };
    square
        && unit
        && Geo::new(p).is_some()
        && g != 0
        && c % g == 0
        && m % g == 0
        && c != 0
        && m != 0
        && nbh != 0
        && nbw != 0
        && fits(nbh, p.out_h)
        && fits(nbw, p.out_w)
        && p.in_h.saturating_mul(p.in_w) != 0
}

/// One block row of two output channels with the Cortex-M assembly kernel (`conv_arm.rs`):
/// pooled straight into the output when the sink max-pools, else as sums handed to the sink
/// in chunks. False when the row is not done: operands that do not fit, or a pooled value
/// that came out NaN or infinite (the portable kernel is the reference for those).
#[cfg(rtonnx_vfma)]
#[inline(always)]
fn pair_row_vfma<S: BlockSink>(
    rows: [&[f32]; 4],
    pw: usize,
    icg: usize,
    w2: [&[f32]; 2],
    nbw: usize,
    (n, oc, bh): (usize, usize, usize),
    sink: &mut S,
) -> bool {
    use super::conv_arm::{block_row2, channel, pooled_row2, store_row2, CHUNK};
    let a0 = sink.row(n, oc, bh);
    let a1 = sink.row(n, oc + 1, bh);
    if let Some((mode, y)) = sink.pooled() {
        return pooled_row2(rows, pw, icg, w2, nbw, mode, [a0, a1], y);
    }
    let mut b0 = 0;
    if let Some(d) = sink.direct() {
        // Blocks inside the output: both rows 2bh, 2bh + 1 and both columns exist.
        let full = if 2 * bh + 1 < d.out_h {
            (d.out_w / 2).min(nbw)
        } else {
            0
        };
        if full > 0 {
            let at0 = (n * d.m + oc) * d.plane + 2 * bh * d.out_w;
            let at = [(at0, a0.1), (at0 + d.plane, a1.1)];
            if !store_row2(rows, pw, icg, w2, full, at, d.out_w, d.y) {
                return false;
            }
            for (start, _) in at {
                for r in [start, start + d.out_w] {
                    if let Some(v) = d.y.get_mut(r..r + 2 * full) {
                        d.act.apply_in_place(v);
                    }
                }
            }
            b0 = full;
        }
    }
    let mut out = [[0.0f32; 8]; CHUNK];
    while b0 < nbw {
        let n = (nbw - b0).min(out.len());
        let Some(out) = out.get_mut(..n) else {
            return false;
        };
        if !block_row2(rows, pw, icg, w2, b0, out) {
            return false;
        }
        for (b, o) in out.iter().enumerate() {
            sink.put(a0.0 + b0 + b, channel(o, 0), a0.1);
            sink.put(a1.0 + b0 + b, channel(o, 1), a1.1);
        }
        b0 += n;
    }
    true
}

/// 3x3 convolution with stride 1 and dilation 1 (any padding, groups and channel counts),
/// computed in 2x2 output blocks, two output channels at a time: for every block the
/// 4x4 input window of each input channel is loaded once and used by all nine taps of all
/// those channels. Blocks `(bh, bw)` for `bh < nbh`, `bw < nbw` cover output rows `2bh, 2bh+1`
/// and columns `2bw, 2bw+1`; `sink` receives their sums without bias, block row by block row.
///
/// The input rows a block row reads are first copied, zero-padded, into `ring` (at least
/// [`conv3x3_ring_len`] values; four rows per input channel, two new ones per block row), so
/// every block reads whole 4x4 windows without range tests and padding reads zeros.
/// Returns false, computing nothing, when the geometry does not apply (other kernel, stride
/// or dilation, blocks outside the output, short slices).
pub(crate) fn conv3x3_blocks<S: BlockSink>(
    p: &Conv2d,
    x: &[f32],
    w: &[f32],
    ring: &mut [f32],
    nbh: usize,
    nbw: usize,
    sink: &mut S,
) -> bool {
    if !conv3x3_blocks_apply(p, nbh, nbw) {
        return false;
    }
    let (c, m, g) = (p.in_channels, p.out_channels, p.group);
    let (icg, ocg) = (c / g, m / g);
    let (in_h, in_w) = (p.in_h, p.in_w);
    let in_plane = in_h * in_w;
    if x.len() < p.input_len() || w.len() < p.weight_len() || in_plane == 0 {
        return false;
    }
    // 2 * nbw <= out_w, and out_w plus a few is representable (Geo::new).
    let pw = 2 * nbw + 2;
    let Some(slot) = icg.checked_mul(pw).filter(|s| s.checked_mul(4).is_some()) else {
        return false;
    };
    let Some(ring) = ring.get_mut(..4 * slot) else {
        return false;
    };
    // Input columns 0..ncopy land at padded columns pl..pl + ncopy; the rest stays zero.
    let pl = p.pad_left.min(pw);
    let ncopy = in_w.min(pw - pl);
    let w_oc = icg * 9;
    let wchan = |oc: usize| w.get(oc * w_oc..(oc + 1) * w_oc).unwrap_or(&[]);
    for n in 0..p.batch {
        for gi in 0..g {
            let x0 = (n * c + gi * icg) * in_plane;
            let Some(xg) = x.get(x0..x0 + icg * in_plane) else {
                return true;
            };
            ring.fill(0.0);
            // The four ring slots, split once (per-row slicing costs more than it looks on a
            // Cortex-M, where this loop runs once per block row).
            let (s01, s23) = ring.split_at_mut(2 * slot);
            let (s0, s1) = s01.split_at_mut(slot);
            let (s2, s3) = s23.split_at_mut(slot);
            let mut slots: [&mut [f32]; 4] = [s0, s1, s2, s3];
            for bh in 0..nbh {
                // Padded rows 2bh .. 2bh + 4 live in ring slots (2bh + r) % 4; the first two
                // are already there from the previous block row.
                for q in (2 * bh + if bh == 0 { 0 } else { 2 })..2 * bh + 4 {
                    let Some(dst) = slots.get_mut(q & 3) else {
                        continue;
                    };
                    let src = q
                        .checked_sub(p.pad_top)
                        .filter(|&ir| ir < in_h)
                        .and_then(|ir| xg.get(ir * in_w..));
                    for (ic, d) in dst.chunks_exact_mut(pw).enumerate() {
                        let Some(d) = d.get_mut(pl..pl + ncopy) else {
                            continue;
                        };
                        match src.and_then(|s| s.get(ic * in_plane..)) {
                            Some(s) if s.len() >= ncopy => super::copy_f32(d, s),
                            _ => d.fill(0.0),
                        }
                    }
                }
                let row = |r: usize| -> &[f32] {
                    match slots.get((2 * bh + r) & 3) {
                        Some(s) => s,
                        None => &[],
                    }
                };
                let rows = [row(0), row(1), row(2), row(3)];
                let mut j = 0;
                while j < ocg {
                    let oc = gi * ocg + j;
                    if ocg - j >= 2 {
                        let wo = [wchan(oc), wchan(oc + 1)];
                        // On a Cortex-M with VFMA pairs go to the assembly kernel; the rare
                        // rows it hands back (NaN or infinite pooled values) are recomputed
                        // one channel at a time, so the two-channel Rust kernel, the largest
                        // code here, is not built there at all.
                        #[cfg(rtonnx_vfma)]
                        if !pair_row_vfma(rows, pw, icg, wo, nbw, (n, oc, bh), sink) {
                            for (o, w) in wo.into_iter().enumerate() {
                                block_row::<1, S>(rows, pw, icg, [w], nbw, (n, oc + o, bh), sink);
                            }
                        }
                        #[cfg(not(rtonnx_vfma))]
                        block_row::<2, S>(rows, pw, icg, wo, nbw, (n, oc, bh), sink);
                        j += 2;
                    } else {
                        block_row::<1, S>(rows, pw, icg, [wchan(oc)], nbw, (n, oc, bh), sink);
                        j += 1;
                    }
                }
            }
        }
    }
    true
}

/// Stores the blocks of a plain (unpooled) convolution: `act(sum + bias)` at the block's four
/// output positions, dropping those past the last row or column.
struct StoreSink<'a> {
    y: &'a mut [f32],
    bias: Option<&'a [f32]>,
    act: Activation,
    m: usize,
    out_h: usize,
    out_w: usize,
    nbh: usize,
    nbw: usize,
}

impl BlockSink for StoreSink<'_> {
    #[inline(always)]
    fn row(&self, n: usize, oc: usize, bh: usize) -> (usize, f32) {
        let b = self.bias.and_then(|b| b.get(oc)).copied().unwrap_or(0.0);
        (((n * self.m + oc) * self.nbh + bh) * self.nbw, b)
    }

    #[cfg(rtonnx_vfma)]
    fn direct(&mut self) -> Option<DirectOut<'_>> {
        Some(DirectOut {
            y: &mut *self.y,
            m: self.m,
            out_h: self.out_h,
            out_w: self.out_w,
            plane: self.out_h * self.out_w,
            act: self.act,
        })
    }

    // Out of line: the activation match inlined at every call site cost ~20 KB of code.
    #[inline(never)]
    fn put(&mut self, at: usize, v: Block, b: f32) {
        // `at` numbers the blocks plane by plane, row by row (see `row`); nbh, nbw >= 1.
        let (bw, rest) = (at % self.nbw, at / self.nbw);
        let (bh, plane) = (rest % self.nbh, rest / self.nbh);
        let mut t = v.map(|s| s + b);
        self.act.apply_in_place(&mut t);
        let (r, c) = (2 * bh, 2 * bw);
        let base = plane * self.out_h * self.out_w;
        for (k, t) in t.into_iter().enumerate() {
            let (r, c) = (r + k / 2, c + k % 2);
            if r < self.out_h && c < self.out_w {
                if let Some(o) = self.y.get_mut(base + r * self.out_w + c) {
                    *o = t;
                }
            }
        }
    }
}

/// Blocks `(nbh, nbw)` that cover a plain convolution's output (the last ones may overhang by
/// one), when [`conv3x3_plain`] applies to it.
fn plain_blocks(p: &Conv2d) -> Option<(usize, usize)> {
    let (nbh, nbw) = (p.out_h.div_ceil(2), p.out_w.div_ceil(2));
    conv3x3_blocks_apply(p, nbh, nbw).then_some((nbh, nbw))
}

/// Length of the `ring` argument of [`conv3x3_plain`] for this geometry, or `None` when the
/// block kernel does not apply to it (then [`conv2d`], which needs no scratch).
pub fn conv3x3_plain_scratch_len(p: &Conv2d) -> Option<usize> {
    plain_blocks(p).map(|(_, nbw)| conv3x3_ring_len(p, nbw))
}

/// [`conv2d`] for 3x3, stride-1, dilation-1 convolutions in 2x2 blocks (`conv3x3_blocks`:
/// each 4x4 input window loaded once per input channel for two output channels; on a
/// Cortex-M4F the VFMA assembly kernel), with `ring` of [`conv3x3_plain_scratch_len`] values.
/// Falls back to [`conv2d`] (same results up to rounding) when the geometry or a slice length
/// does not fit.
pub fn conv3x3_plain(
    p: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    ring: &mut [f32],
    y: &mut [f32],
) {
    let fits = bias.is_none_or(|b| b.len() >= p.out_channels) && y.len() >= p.output_len();
    if let (Some((nbh, nbw)), true) = (plain_blocks(p), fits) {
        let mut sink = StoreSink {
            y,
            bias,
            act,
            m: p.out_channels,
            out_h: p.out_h,
            out_w: p.out_w,
            nbh,
            nbw,
        };
        if conv3x3_blocks(p, x, w, ring, nbh, nbw, &mut sink) {
            return;
        }
        conv2d(p, x, w, bias, act, sink.y);
        return;
    }
    conv2d(p, x, w, bias, act, y);
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
                    // y[oc, px] += W[oc, ic] * x[ic, px]
                    gemm_acc(1.0, wg, icg, 1, xg, yg, ocg, icg, out_plane);
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
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, pattern, Rng};
    use alloc::vec;
    use alloc::vec::Vec;

    /// Straightforward reference with per-tap bounds tests, f64 accumulation.
    fn reference(p: &Conv2d, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let icg = p.in_channels / p.group;
        let ocg = p.out_channels / p.group;
        let mut y = vec![0.0f32; p.output_len()];
        for n in 0..p.batch {
            for oc in 0..p.out_channels {
                let grp = oc / ocg;
                for oh in 0..p.out_h {
                    for ow in 0..p.out_w {
                        let mut s = bias.map_or(0.0, |b| b[oc] as f64);
                        for ic in 0..icg {
                            let c = grp * icg + ic;
                            for kh in 0..p.kernel_h {
                                for kw in 0..p.kernel_w {
                                    let ih = (oh * p.stride_h + kh * p.dilation_h) as isize
                                        - p.pad_top as isize;
                                    let iw = (ow * p.stride_w + kw * p.dilation_w) as isize
                                        - p.pad_left as isize;
                                    if ih < 0
                                        || iw < 0
                                        || ih >= p.in_h as isize
                                        || iw >= p.in_w as isize
                                    {
                                        continue;
                                    }
                                    let xv = x[((n * p.in_channels + c) * p.in_h + ih as usize)
                                        * p.in_w
                                        + iw as usize];
                                    let wv =
                                        w[((oc * icg + ic) * p.kernel_h + kh) * p.kernel_w + kw];
                                    s += xv as f64 * wv as f64;
                                }
                            }
                        }
                        y[((n * p.out_channels + oc) * p.out_h + oh) * p.out_w + ow] = s as f32;
                    }
                }
            }
        }
        y
    }

    /// Output size per ONNX with explicit begin/end pads (floor mode).
    fn out_size(input: usize, k: usize, s: usize, d: usize, pb: usize, pe: usize) -> usize {
        let eff = (k - 1) * d + 1;
        (input + pb + pe).saturating_sub(eff) / s + 1
    }

    fn check(p: &Conv2d, rng: &mut Rng, with_bias: bool, act: Activation) {
        let x = rng.vec(p.input_len());
        let w = rng.vec(p.weight_len());
        let b = rng.vec(p.out_channels);
        let bias = with_bias.then_some(&b[..]);
        let mut want = reference(p, &x, &w, bias);
        act.apply_in_place(&mut want);
        let mut y = vec![f32::NAN; p.output_len()];
        conv2d(p, &x, &w, bias, act, &mut y);
        assert_close(&y, &want, 1e-5);
    }

    #[allow(clippy::too_many_arguments)]
    fn geom(
        n: usize,
        c: usize,
        h: usize,
        wd: usize,
        m: usize,
        k: (usize, usize),
        s: (usize, usize),
        d: (usize, usize),
        pads: [usize; 4],
        group: usize,
    ) -> Conv2d {
        Conv2d {
            batch: n,
            in_channels: c,
            in_h: h,
            in_w: wd,
            out_channels: m,
            out_h: out_size(h, k.0, s.0, d.0, pads[0], pads[2]),
            out_w: out_size(wd, k.1, s.1, d.1, pads[1], pads[3]),
            kernel_h: k.0,
            kernel_w: k.1,
            stride_h: s.0,
            stride_w: s.1,
            dilation_h: d.0,
            dilation_w: d.1,
            pad_top: pads[0],
            pad_left: pads[1],
            group,
        }
    }

    #[test]
    fn random_geometries_match_reference() {
        let mut rng = Rng::new(21);
        for case in 0..600 {
            let group = [1, 1, 2, 3][rng.below(4)];
            let c = group * rng.range(1, 3);
            let m = group * rng.range(1, 3);
            let k = (rng.range(1, 4), rng.range(1, 4));
            let s = (rng.range(1, 3), rng.range(1, 3));
            let d = (rng.range(1, 2), rng.range(1, 2));
            let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
            let h = rng.range(1, 8);
            let wd = rng.range(1, 9);
            let p = geom(rng.range(1, 2), c, h, wd, m, k, s, d, pads, group);
            if (k.0 - 1) * d.0 + 1 > h + pads[0] + pads[2]
                || (k.1 - 1) * d.1 + 1 > wd + pads[1] + pads[3]
            {
                continue;
            }
            let act = [
                Activation::None,
                Activation::Relu,
                Activation::Clip {
                    min: -0.3,
                    max: 0.4,
                },
            ][case % 3];
            check(&p, &mut rng, case % 2 == 0, act);
        }
    }

    #[test]
    fn three_by_three_fast_path_all_strides_pads_dilations() {
        let mut rng = Rng::new(22);
        for sh in 1..=3 {
            for sw in 1..=3 {
                for dh in 1..=2 {
                    for dw in 1..=2 {
                        for pads in [
                            [0, 0, 0, 0],
                            [3, 4, 3, 0],
                            [0, 3, 4, 5],
                            [1, 1, 1, 1],
                            [0, 1, 2, 0],
                            [2, 0, 1, 2],
                            [2, 2, 2, 2],
                        ] {
                            for (h, wd) in [(7, 9), (3, 3), (10, 5), (5, 12)] {
                                let p = geom(1, 2, h, wd, 2, (3, 3), (sh, sw), (dh, dw), pads, 1);
                                if 2 * dh + 1 > h + pads[0] + pads[2]
                                    || 2 * dw + 1 > wd + pads[1] + pads[3]
                                {
                                    continue;
                                }
                                check(&p, &mut rng, true, Activation::None);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn width_three_kernels_of_any_height() {
        let mut rng = Rng::new(27);
        for kh in [1, 2, 4, 5] {
            for sw in 1..=2 {
                for (sh, dh) in [(1, 1), (2, 1), (1, 2), (3, 2)] {
                    for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 0, 2], [0, 2, 3, 1]] {
                        let p = geom(1, 2, 8, 7, 3, (kh, 3), (sh, sw), (dh, 1), pads, 1);
                        check(&p, &mut rng, true, Activation::None);
                    }
                }
            }
        }
        // Narrow inputs: no interior column at all.
        for wd in 1..=3 {
            let p = geom(1, 1, 4, wd, 1, (3, 3), (1, 1), (1, 1), [1, 2, 1, 2], 1);
            check(&p, &mut rng, false, Activation::None);
            let p = geom(1, 1, 4, wd, 1, (3, 3), (1, 2), (1, 1), [1, 2, 1, 2], 1);
            check(&p, &mut rng, false, Activation::None);
        }
    }

    #[test]
    fn depthwise_and_channel_multiplier() {
        let mut rng = Rng::new(23);
        // Depthwise 3x3, stride 1 and 2, same padding.
        for s in 1..=2 {
            let p = geom(2, 4, 9, 8, 4, (3, 3), (s, s), (1, 1), [1, 1, 1, 1], 4);
            check(&p, &mut rng, true, Activation::Relu);
        }
        // Channel multiplier 2.
        let p = geom(1, 3, 6, 6, 6, (3, 3), (1, 1), (1, 1), [1, 1, 1, 1], 3);
        check(&p, &mut rng, true, Activation::None);
        // Depthwise 5x5 dilated.
        let p = geom(1, 2, 9, 9, 2, (5, 5), (1, 1), (2, 2), [4, 4, 4, 4], 2);
        check(&p, &mut rng, false, Activation::None);
    }

    #[test]
    fn pointwise_fast_path() {
        let mut rng = Rng::new(24);
        for (c, m, group) in [
            (1, 1, 1),
            (3, 5, 1),
            (8, 4, 1),
            (9, 7, 1),
            (6, 4, 2),
            (4, 4, 4),
        ] {
            let p = geom(2, c, 5, 6, m, (1, 1), (1, 1), (1, 1), [0, 0, 0, 0], group);
            check(&p, &mut rng, true, Activation::LeakyRelu { alpha: 0.1 });
        }
        // 1x1 with stride or padding goes through the generic path.
        let p = geom(1, 3, 5, 6, 2, (1, 1), (2, 2), (1, 1), [1, 0, 0, 1], 1);
        check(&p, &mut rng, true, Activation::None);
    }

    #[test]
    fn one_dimensional_conv() {
        let mut rng = Rng::new(25);
        for (k, s, d, pl, pr) in [
            (3, 1, 1, 1, 1),
            (5, 2, 1, 2, 1),
            (3, 1, 3, 0, 3),
            (4, 3, 2, 2, 0),
        ] {
            let p = geom(2, 3, 1, 20, 4, (1, k), (1, s), (1, d), [0, pl, 0, pr], 1);
            check(&p, &mut rng, true, Activation::Tanh);
        }
    }

    /// Collects every block as four output pixels (plus bias) into an NCHW plane.
    struct Collect {
        y: Vec<f32>,
        m: usize,
        out_h: usize,
        out_w: usize,
        bias: Vec<f32>,
    }

    impl BlockSink for Collect {
        fn row(&self, n: usize, oc: usize, bh: usize) -> (usize, f32) {
            // Encode (n, oc, bh) in `at`: at = ((n * m + oc) * out_h + 2bh) * out_w / 2.
            (
                ((n * self.m + oc) * self.out_h + 2 * bh) * self.out_w,
                self.bias[oc],
            )
        }
        fn put(&mut self, at: usize, v: Block, bias: f32) {
            // `at` is the row start plus bw (see `row`).
            let row_start = at - at % self.out_w;
            let bw = at % self.out_w;
            for (i, &s) in v.iter().enumerate() {
                let idx = row_start + (i / 2) * self.out_w + 2 * bw + i % 2;
                self.y[idx] = s + bias;
            }
        }
    }

    #[test]
    fn three_by_three_blocks_match_reference() {
        let mut rng = Rng::new(28);
        for case in 0..400 {
            let group = [1, 1, 2, 3][rng.below(4)];
            let c = group * rng.range(1, 3);
            let m = group * rng.range(1, 5);
            let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
            let (h, wd) = (rng.range(1, 9), rng.range(1, 9));
            if h + pads[0] + pads[2] < 4 || wd + pads[1] + pads[3] < 4 {
                continue;
            }
            let p = geom(
                rng.range(1, 2),
                c,
                h,
                wd,
                m,
                (3, 3),
                (1, 1),
                (1, 1),
                pads,
                group,
            );
            let (nbh, nbw) = (p.out_h / 2, p.out_w / 2);
            let x = rng.vec(p.input_len());
            let w = rng.vec(p.weight_len());
            let b = rng.vec(m);
            let want = reference(&p, &x, &w, Some(&b));
            let mut sink = Collect {
                y: vec![f32::NAN; p.output_len()],
                m,
                out_h: p.out_h,
                out_w: p.out_w,
                bias: b,
            };
            let mut ring = vec![f32::NAN; conv3x3_ring_len(&p, nbw) + case % 3];
            assert!(conv3x3_blocks(&p, &x, &w, &mut ring, nbh, nbw, &mut sink));
            // Compare the pixels the blocks cover.
            for (i, (&g, &e)) in sink.y.iter().zip(&want).enumerate() {
                let (oh, ow) = ((i / p.out_w) % p.out_h, i % p.out_w);
                if oh < 2 * nbh && ow < 2 * nbw {
                    assert!((g - e).abs() <= 1e-5, "case {case} index {i}: {g} vs {e}");
                } else {
                    assert!(g.is_nan());
                }
            }
            // Too short a ring, another kernel, stride or dilation, or blocks past the
            // output: nothing is computed.
            let short = conv3x3_ring_len(&p, nbw) - 1;
            assert!(!conv3x3_blocks(
                &p,
                &x,
                &w,
                &mut ring[..short],
                nbh,
                nbw,
                &mut sink
            ));
            assert!(!conv3x3_blocks(
                &p,
                &x,
                &w,
                &mut ring,
                nbh + 1 + p.out_h % 2,
                nbw,
                &mut sink
            ));
            for q in [
                Conv2d { stride_w: 2, ..p },
                Conv2d { dilation_h: 2, ..p },
                Conv2d { kernel_w: 2, ..p },
            ] {
                assert!(!conv3x3_blocks(&q, &x, &w, &mut ring, nbh, nbw, &mut sink));
            }
        }
    }

    #[test]
    fn plain_three_by_three_in_blocks_matches_reference() {
        let mut rng = Rng::new(29);
        let acts = [
            Activation::None,
            Activation::Relu,
            Activation::LeakyRelu { alpha: 0.1 },
        ];
        for case in 0..300 {
            let group = [1, 1, 2, 3][rng.below(4)];
            let c = group * rng.range(1, 4);
            let m = group * rng.range(1, 5);
            let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
            let (h, wd) = (rng.range(1, 10), rng.range(1, 10));
            if h + pads[0] + pads[2] < 3 || wd + pads[1] + pads[3] < 3 {
                continue;
            }
            let p = geom(
                rng.range(1, 3),
                c,
                h,
                wd,
                m,
                (3, 3),
                (1, 1),
                (1, 1),
                pads,
                group,
            );
            let x = rng.vec(p.input_len());
            let w = rng.vec(p.weight_len());
            let b = rng.vec(m);
            let bias = (case % 2 == 0).then_some(&b[..]);
            let act = acts[case % acts.len()];
            let mut want = reference(&p, &x, &w, bias);
            act.apply_in_place(&mut want);
            let len = conv3x3_plain_scratch_len(&p).expect("3x3 stride 1 applies");
            let mut ring = vec![f32::NAN; len];
            let mut y = vec![f32::NAN; p.output_len()];
            conv3x3_plain(&p, &x, &w, bias, act, &mut ring, &mut y);
            assert_close(&y, &want, 1e-5);
            // A ring too short: the plane-by-plane kernel, same values.
            let mut y2 = vec![f32::NAN; p.output_len()];
            conv3x3_plain(&p, &x, &w, bias, act, &mut ring[..len - 1], &mut y2);
            assert_close(&y2, &want, 1e-5);
        }
        // Other geometries need no scratch and compute what conv2d computes.
        for q in [
            geom(1, 2, 7, 7, 3, (3, 3), (2, 2), (1, 1), [1, 1, 1, 1], 1),
            geom(1, 2, 7, 7, 3, (5, 5), (1, 1), (1, 1), [2, 2, 2, 2], 1),
            geom(1, 2, 9, 9, 3, (3, 3), (1, 1), (2, 2), [0, 0, 0, 0], 1),
        ] {
            assert_eq!(conv3x3_plain_scratch_len(&q), None);
            let x = rng.vec(q.input_len());
            let w = rng.vec(q.weight_len());
            let (mut y, mut want) = (vec![0.0; q.output_len()], vec![1.0; q.output_len()]);
            conv3x3_plain(&q, &x, &w, None, Activation::Relu, &mut [], &mut y);
            conv2d(&q, &x, &w, None, Activation::Relu, &mut want);
            assert_eq!(y, want);
        }
    }

    #[test]
    fn geometry_helpers() {
        let p = geom(2, 4, 8, 8, 6, (3, 3), (1, 1), (1, 1), [1, 1, 1, 1], 2);
        assert_eq!(p.weight_len(), 6 * 2 * 9);
        assert_eq!(p.input_len(), 2 * 4 * 64);
        assert_eq!(p.output_len(), 2 * 6 * 64);
        assert_eq!(p.macs(), (2 * 6 * 64 * 2 * 9) as u64);
        let zero = Conv2d::default();
        assert_eq!((zero.weight_len(), zero.macs()), (0, 0));
        assert_eq!(valid_range(5, 1, 0, 1, 5), (1, 5));
        assert_eq!(valid_range(5, 1, 2, 1, 5), (0, 4));
        assert_eq!(valid_range(3, 2, 0, 1, 5), (1, 3));
        assert_eq!(valid_range(3, 2, 0, 9, 5), (3, 3));
        assert_eq!(valid_range(3, 1, 20, 0, 5), (0, 0));
    }

    #[test]
    fn invalid_or_inconsistent_params_do_not_panic() {
        let mut rng = Rng::new(26);
        for _ in 0..2000 {
            let p = Conv2d {
                batch: rng.below(3),
                in_channels: rng.below(4),
                in_h: rng.below(6),
                in_w: rng.below(6),
                out_channels: rng.below(4),
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
                group: rng.below(3),
            };
            let x = rng.vec_upto(200);
            let w = rng.vec_upto(100);
            let b = rng.vec_upto(5);
            let mut y = vec![0.0; rng.below(300)];
            conv2d(&p, &x, &w, Some(&b), Activation::Relu, &mut y);
            conv2d(&p, &x, &w, None, Activation::None, &mut y);
        }
        let huge = Conv2d {
            batch: 1,
            in_channels: 1,
            in_h: 1,
            in_w: usize::MAX,
            out_channels: 1,
            out_h: 1,
            out_w: usize::MAX,
            kernel_h: 1,
            kernel_w: 3,
            stride_h: 1,
            stride_w: usize::MAX,
            dilation_h: 1,
            dilation_w: 1,
            pad_top: 0,
            pad_left: usize::MAX,
            group: 1,
        };
        conv2d(
            &huge,
            &[1.0; 4],
            &[1.0; 3],
            None,
            Activation::None,
            &mut [0.0; 4],
        );
        let _ = (
            huge.macs(),
            huge.weight_len(),
            huge.input_len(),
            huge.output_len(),
        );
    }

    #[test]
    fn onnxruntime_values() {
        // Generated by tools/kernels/gen_kernel_cases.py (onnxruntime CPU). Inputs follow
        // `pattern` so the script and this test build the same tensors.
        // Case 1: N=1 C=2 H=5 W=6, M=4, group 2, k 3x2, strides (2,1), dilations (1,2),
        // pads (t,l,b,r) = (1,2,0,1), bias.
        let p = geom(1, 2, 5, 6, 4, (3, 2), (2, 1), (1, 2), [1, 2, 0, 1], 2);
        let x = pattern(p.input_len(), 7, 3, 17, 0.125, 1.0);
        let w = pattern(p.weight_len(), 5, 1, 11, 0.1, 0.5);
        let b = [0.25, -0.5, 0.75, 0.0];
        let mut y = vec![0.0; p.output_len()];
        conv2d(&p, &x, &w, Some(&b), Activation::None, &mut y);
        assert_eq!(p.output_len(), ORT_CONV1.len());
        assert_close(&y, &ORT_CONV1, 1e-5);
        // Case 2: depthwise 3x3 stride 2 pads 1, N=1 C=3 H=W=7, no bias, then Relu.
        let p = geom(1, 3, 7, 7, 3, (3, 3), (2, 2), (1, 1), [1, 1, 1, 1], 3);
        let x = pattern(p.input_len(), 13, 5, 19, 0.1, 0.9);
        let w = pattern(p.weight_len(), 3, 2, 7, 0.2, 0.6);
        let mut y = vec![0.0; p.output_len()];
        conv2d(&p, &x, &w, None, Activation::Relu, &mut y);
        assert_eq!(p.output_len(), ORT_CONV2.len());
        assert_close(&y, &ORT_CONV2, 1e-5);
    }

    // shape [1, 4, 2, 7]

    const ORT_CONV1: [f32; 56] = [
        0.2125,
        0.33749998,
        0.75,
        -0.39999998,
        0.7875,
        0.7,
        -0.3125,
        0.26250002,
        0.2625,
        0.61249995,
        0.050000012,
        -0.3,
        0.41250002,
        -0.1625,
        -0.4625,
        -0.225,
        -0.3125,
        -0.9125,
        -0.875,
        -0.41250002,
        -0.35,
        -0.45,
        0.037500024,
        -0.775,
        -1.4125,
        -0.13749999,
        -0.13749996,
        -0.5625,
        0.41249996,
        1.2,
        1.0250001,
        0.875,
        0.51250005,
        0.5749999,
        0.7125,
        1.6500001,
        1.15,
        0.23749995,
        1.0124999,
        0.30000007,
        0.86249995,
        0.7625,
        -0.075000025,
        0.18749999,
        0.38750002,
        -0.17500003,
        -0.3125,
        -0.02500002,
        0.037499998,
        -0.19999999,
        0.11249998,
        0.012500033,
        -0.25000006,
        -0.29999998,
        -0.13750005,
        0.050000004,
    ];
    // shape [1, 3, 4, 4]
    const ORT_CONV2: [f32; 48] = [
        0.6, 0.03999999, 0.0, 0.32000005, 0.0, 0.6200001, 0.38000003, 0.0, 0.72, 0.0, 0.21999998,
        0.68000007, 0.01999998, 0.28, 0.0, 0.22000003, 0.19999999, 0.0, 0.22000006, 0.0,
        0.70000005, 0.62, 0.0, 0.68000007, 0.0, 0.40000004, 0.64, 0.0, 0.32, 0.0, 0.0, 0.56000006,
        0.6600001, 0.54, 0.0, 0.17999999, 0.35999995, 0.0, 0.64, 0.0, 0.36, 0.78, 0.0, 0.54,
        0.0200001, 0.0, 0.8, 0.0,
    ];
}
