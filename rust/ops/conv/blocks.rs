//! 3x3, stride 1, dilation 1: 2x2 output blocks, several output channels at a time (the
//! path of Conv + 2x2 pooling and of plain 3x3 convolutions; see the module notes of
//! [`super`]).

use super::*;

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
    fn pooled(&mut self) -> Option<(crate::ops::conv_arm::RowOutput, &mut [f32])> {
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
    /// Whether [`BlockSink::direct`] gives an output (known at compile time: the blocks such
    /// a sink leaves are few, and their chunk buffer is then out of line).
    #[cfg(rtonnx_vfma)]
    const DIRECT: bool = false;
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
    use crate::ops::conv_arm::{pooled_row2, store_row2, CHUNK};
    let a0 = sink.row(n, oc, bh);
    let a1 = sink.row(n, oc + 1, bh);
    if let Some((mode, y)) = sink.pooled() {
        return pooled_row2(rows, pw, icg, w2, nbw, mode, [a0, a1], y);
    }
    let mut b0 = 0;
    let direct = S::DIRECT;
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
    let (rows, w2, at) = (&rows, &w2, &[a0, a1]);
    match nbw.saturating_sub(b0) {
        0 => true,
        // The blocks a direct store leaves (an odd output's last column or row) out of line,
        // in half chunks (128 bytes), one block left in a one-block buffer.
        1 if direct => sums_row2::<1, S>(rows, pw, icg, w2, (b0, nbw), at, sink),
        _ if direct => sums_row2::<{ CHUNK / 2 }, S>(rows, pw, icg, w2, (b0, nbw), at, sink),
        // A sink that takes every block's sums (the main path of its convolution) in line.
        _ => sums_chunks::<CHUNK, S>(rows, pw, icg, w2, (b0, nbw), at, sink),
    }
}

/// Blocks `b0..nbw` of a block row of two output channels as sums handed to the sink, in
/// chunks of `N` blocks (blocks overhanging an odd output, or a sink that neither pools nor
/// stores directly). Out of line: its chunk buffer (32 bytes a block) is then on the stack
/// only while it runs, not in the frame of every 3x3 convolution.
#[cfg(rtonnx_vfma)]
#[inline(never)]
fn sums_row2<const N: usize, S: BlockSink>(
    rows: &[&[f32]; 4],
    pw: usize,
    icg: usize,
    w2: &[&[f32]; 2],
    blocks: (usize, usize),
    at: &[(usize, f32); 2],
    sink: &mut S,
) -> bool {
    sums_chunks::<N, S>(rows, pw, icg, w2, blocks, at, sink)
}

/// The loop of [`sums_row2`], in line.
#[cfg(rtonnx_vfma)]
#[inline(always)]
fn sums_chunks<const N: usize, S: BlockSink>(
    rows: &[&[f32]; 4],
    pw: usize,
    icg: usize,
    w2: &[&[f32]; 2],
    (mut b0, nbw): (usize, usize),
    &[a0, a1]: &[(usize, f32); 2],
    sink: &mut S,
) -> bool {
    use crate::ops::conv_arm::{block_row2, channel};
    let mut out = [[0.0f32; 8]; N];
    while b0 < nbw {
        let n = (nbw - b0).min(out.len());
        let Some(out) = out.get_mut(..n) else {
            return false;
        };
        if !block_row2(*rows, pw, icg, *w2, b0, out) {
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
                            Some(s) if s.len() >= ncopy => crate::ops::copy_f32(d, s),
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
    const DIRECT: bool = true;

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
/// Returns false, writing nothing, when the geometry or a slice length does not fit (the
/// caller then runs [`conv2d`], which gives the same results up to rounding, where the build
/// has it). Out of line (as [`crate::ops::fused::conv3x3_pool2x2`]): inlined into the step that
/// runs it, its frame and the pooled convolution's would add up on the stack of every
/// inference.
#[inline(never)]
#[must_use]
pub fn conv3x3_plain(
    p: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    ring: &mut [f32],
    y: &mut [f32],
) -> bool {
    let fits = bias.is_none_or(|b| b.len() >= p.out_channels) && y.len() >= p.output_len();
    let (Some((nbh, nbw)), true) = (plain_blocks(p), fits) else {
        return false;
    };
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
    conv3x3_blocks(p, x, w, ring, nbh, nbw, &mut sink)
}
