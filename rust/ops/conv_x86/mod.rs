//! x86-64 convolution kernel with AVX2 and FMA, vectorised over output channels.
//!
//! Selected when a model is compiled on an x86-64 host whose CPU has AVX2 and FMA (with
//! feature `std`, detected at run time; without it, when the build enables both target
//! features); every other target, and every geometry this kernel does not take, keeps the
//! portable kernels of `conv/` and `fused.rs` and the weights as the file has them.
//!
//! Layout: the weights of each group are packed once, at load time, into blocks of eight
//! output channels, `[group][oc block][ic][kh][kw][8]` (the last block of a group padded with
//! zero weights), so one 256-bit load gives one tap of eight output channels. The kernel
//! computes a block of `P` output pixels times `V` such channel blocks in `P * V` accumulator
//! registers: for every input channel and tap it loads `V` weight vectors, broadcasts the `P`
//! input values and issues `P * V` FMAs. Output is NCHW, so each finished pixel scatters its
//! eight channels (one scalar store per channel, against 9 or more FMAs per channel block).
//!
//! Borders: the input rows a band of output rows reads are copied once per band into a
//! zero-padded buffer on the stack (at most [`BAND_CAP`] floats), so the inner loop has no
//! range tests; a convolution without padding whose taps all fall inside the input reads the
//! input directly.
//!
//! Fused pooling (MaxPool / AveragePool with a 2x2 kernel, stride 2, no padding, floor mode):
//! each pixel block is one or two pooling windows (2x2 conv pixels each), reduced in registers
//! after bias and activation with exactly the comparisons and the summation order of
//! `fused::conv_then_pool` (max: from `-inf`, a value replaces the maximum when greater, so NaN is
//! skipped; average: `((0 + a) + b + c + d) / 4`); the conv output is never stored.

use alloc::collections::TryReserveError;
use alloc::vec::Vec;
use core::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_blendv_ps, _mm256_broadcast_ss, _mm256_cmp_ps, _mm256_div_ps,
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps, _mm256_mul_ps, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_storeu_ps, _CMP_LT_OQ,
};

use super::activation::Activation;
use super::conv::Conv2d;
use super::pool::Pool2d;

/// Output channels per vector.
const LANES: usize = 8;
/// Largest zero-padded input band, in floats (64 KiB of stack).
pub const BAND_CAP: usize = 16 * 1024;
/// Band buffer for small layers (cheaper to zero than [`BAND_CAP`]).
const SMALL_CAP: usize = 2 * 1024;
/// Fewest output channels per group for which the packed kernel is used (below this, most
/// of each 8-channel vector would be padding, and the portable kernels are as fast).
pub const MIN_OUT_CHANNELS: usize = 4;

/// Whether this CPU runs the AVX2 + FMA kernel.
pub fn available() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
}

/// A convolution (+ activation, + optional 2x2 pooling) with its weights packed for the AVX2
/// kernel. Built by [`PackedConv::new`] only when the CPU has AVX2 and FMA.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedConv {
    p: Conv2d,
    act: Activation,
    /// Pooling of one conv plane, and max (else average).
    pool: Option<(Pool2d, bool)>,
    /// Input / output channels per group.
    icg: usize,
    ocg: usize,
    /// Blocks of eight output channels per group.
    nb: usize,
    /// Floats per packed block: `icg * kh * kw * 8`.
    wb: usize,
    /// Packed weights, `[group][block][ic][kh][kw][8]`.
    w: Vec<f32>,
    /// Conv output rows and columns computed: all, or those the pooling windows cover.
    rows: usize,
    cols: usize,
    /// Conv output rows per band unit (2 with pooling: one row of windows).
    unit: usize,
    /// Read the input in place (no padding needed), else through a padded band.
    direct: bool,
    /// Width of a padded band row (columns the taps reach).
    wp: usize,
    /// Offset of every tap from a pixel's first tap, kernel row by kernel row.
    taps: Vec<usize>,
    /// Largest of `taps`.
    max_tap: usize,
}

/// `a * b + c` with overflow checks.
fn mad(a: usize, b: usize, c: usize) -> Option<usize> {
    a.checked_mul(b)?.checked_add(c)
}

impl PackedConv {
    /// Packs `w` (`[out_channels, in_channels / group, kh, kw]`) for convolution `p` with the
    /// fused activation `act` and, with `pool = Some((pooling of one plane, max))`, fused
    /// pooling. `None` when the CPU lacks AVX2/FMA, the geometry is not one this kernel takes
    /// (pooling other than 2x2 stride 2 without padding, a padded band larger than
    /// [`BAND_CAP`], fewer than [`MIN_OUT_CHANNELS`] output channels per group, inconsistent
    /// sizes): the caller then keeps the portable kernels. An error when memory runs out.
    pub fn new(
        p: &Conv2d,
        act: Activation,
        pool: Option<(Pool2d, bool)>,
        w: &[f32],
    ) -> Result<Option<PackedConv>, TryReserveError> {
        if !available() {
            return Ok(None);
        }
        PackedConv::build(p, act, pool, w, MIN_OUT_CHANNELS)
    }

    /// [`PackedConv::new`] without the CPU test, for at least `min_oc` output channels per
    /// group.
    fn build(
        p: &Conv2d,
        act: Activation,
        pool: Option<(Pool2d, bool)>,
        w: &[f32],
        min_oc: usize,
    ) -> Result<Option<PackedConv>, TryReserveError> {
        let mut oom = None;
        let k = PackedConv::pack(p, act, pool, w, min_oc, &mut oom);
        match oom {
            Some(e) => Err(e),
            None => Ok(k),
        }
    }

    /// [`PackedConv::build`], with a failed allocation stored in `oom`.
    fn pack(
        p: &Conv2d,
        act: Activation,
        pool: Option<(Pool2d, bool)>,
        w: &[f32],
        min_oc: usize,
        oom: &mut Option<TryReserveError>,
    ) -> Option<PackedConv> {
        let g = p.group;
        let icg = p.in_channels.checked_div(g)?;
        let ocg = p.out_channels.checked_div(g)?;
        let (kh, kw) = (p.kernel_h, p.kernel_w);
        let (sh, sw, dh, dw) = (p.stride_h, p.stride_w, p.dilation_h, p.dilation_w);
        let ok = icg * g == p.in_channels
            && ocg * g == p.out_channels
            && icg > 0
            && ocg >= min_oc.max(1)
            && p.batch > 0
            && p.in_h > 0
            && p.in_w > 0
            && p.out_h > 0
            && p.out_w > 0
            && kh > 0
            && kw > 0
            && sh > 0
            && sw > 0
            && dh > 0
            && dw > 0
            && w.len() >= p.weight_len()
            && p.input_len() < usize::MAX
            && p.output_len() < usize::MAX;
        if !ok {
            return None;
        }
        let (rows, cols, unit) = match &pool {
            Some((pl, _)) if super::fused::pool2x2_fits(pl, p.out_h, p.out_w) => {
                (2 * pl.out_h, 2 * pl.out_w, 2)
            }
            Some(_) => return None,
            None => (p.out_h, p.out_w, 1),
        };
        // Padded rows / columns the computed pixels' taps reach.
        let hneed = mad(rows - 1, sh, mad(kh - 1, dh, 1)?)?;
        let wneed = mad(cols - 1, sw, mad(kw - 1, dw, 1)?)?;
        let direct = p.pad_top == 0 && p.pad_left == 0 && hneed <= p.in_h && wneed <= p.in_w;
        let rs = if direct { p.in_w } else { wneed };
        if !direct {
            // One band unit must fit the band buffer, and padded coordinates stay small.
            let unit_rows = mad(unit - 1, sh, mad(kh - 1, dh, 1)?)?;
            let band = icg.checked_mul(unit_rows)?.checked_mul(wneed)?;
            if band > BAND_CAP
                || hneed.checked_add(p.pad_top)?.checked_add(p.in_h).is_none()
                || wneed.checked_add(p.pad_left)?.checked_add(p.in_w).is_none()
            {
                return None;
            }
        }
        let ntaps = kh.checked_mul(kw)?;
        let mut taps = Vec::new();
        taps.try_reserve_exact(ntaps)
            .map_err(|e| *oom = Some(e))
            .ok()?;
        for r in 0..kh {
            for c in 0..kw {
                taps.push(mad(r.checked_mul(dh)?, rs, c.checked_mul(dw)?)?);
            }
        }
        let max_tap = taps.iter().copied().max().unwrap_or(0);
        let nb = ocg.div_ceil(LANES);
        let wb = icg.checked_mul(ntaps)?.checked_mul(LANES)?;
        let total = g.checked_mul(nb)?.checked_mul(wb)?;
        let mut packed = Vec::new();
        packed
            .try_reserve_exact(total)
            .map_err(|e| *oom = Some(e))
            .ok()?;
        let per_oc = icg * ntaps;
        for gi in 0..g {
            for b in 0..nb {
                for ic in 0..icg {
                    for t in 0..ntaps {
                        for l in 0..LANES {
                            let j = b * LANES + l;
                            let v = if j < ocg {
                                let oc = gi * ocg + j;
                                w.get(oc * per_oc + ic * ntaps + t).copied().unwrap_or(0.0)
                            } else {
                                0.0
                            };
                            packed.push(v);
                        }
                    }
                }
            }
        }
        Some(PackedConv {
            p: *p,
            act,
            pool,
            icg,
            ocg,
            nb,
            wb,
            w: packed,
            rows,
            cols,
            unit,
            direct,
            wp: wneed,
            taps,
            max_tap,
        })
    }

    /// The convolution geometry.
    pub fn conv(&self) -> &Conv2d {
        &self.p
    }

    /// The fused activation.
    pub fn act(&self) -> Activation {
        self.act
    }

    /// The fused pooling of one plane and whether it is max pooling, if any.
    pub fn pool(&self) -> Option<(Pool2d, bool)> {
        self.pool
    }

    /// Bytes of the packed weights.
    pub fn packed_bytes(&self) -> usize {
        self.w.len() * 4
    }

    /// Elements of the output: the conv output, or the pooled output with pooling.
    fn out_len(&self) -> usize {
        let planes = self.p.batch.saturating_mul(self.p.out_channels);
        match &self.pool {
            Some((pl, _)) => planes.saturating_mul(pl.out_h.saturating_mul(pl.out_w)),
            None => planes.saturating_mul(self.p.out_h.saturating_mul(self.p.out_w)),
        }
    }

    /// Computes `y = act(conv(x) + bias)` (pooled, with pooling), exactly what
    /// `conv::conv2d` / `fused::conv_then_pool` compute up to the summation order. Returns false
    /// without writing when the slices are too short (the caller then runs the portable
    /// kernel, which handles that case its own way).
    pub fn run(&self, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> bool {
        if x.len() < self.p.input_len()
            || y.len() < self.out_len()
            || bias.is_some_and(|b| b.len() < self.p.out_channels)
            || !available()
        {
            return false;
        }
        if self.direct {
            return self.run_bands(x, bias, y, &mut []);
        }
        let units = self.rows / self.unit;
        let need = self.icg.saturating_mul(self.wp).saturating_mul(
            (units * self.unit - 1) * self.p.stride_h
                + (self.p.kernel_h - 1) * self.p.dilation_h
                + 1,
        );
        // A zeroed buffer of about what the bands need: zeroing all of BAND_CAP for every
        // layer was 7 % of the instructions of an MLPerf ResNet-8 inference (now 6.6 %).
        macro_rules! with_buffer {
            ($len:expr) => {{
                let mut buf = [0.0f32; $len];
                self.run_bands(x, bias, y, &mut buf)
            }};
        }
        if need <= SMALL_CAP {
            with_buffer!(SMALL_CAP)
        } else if need <= BAND_CAP / 4 {
            with_buffer!(BAND_CAP / 4)
        } else if need <= BAND_CAP / 2 {
            with_buffer!(BAND_CAP / 2)
        } else {
            with_buffer!(BAND_CAP)
        }
    }

    /// Batch by batch, group by group, band by band: fills the padded band (unless direct)
    /// and runs the AVX2 kernel on it. `buf` is all zeros on entry.
    fn run_bands(&self, x: &[f32], bias: Option<&[f32]>, y: &mut [f32], buf: &mut [f32]) -> bool {
        let p = &self.p;
        let (icg, g) = (self.icg, p.group);
        let in_plane = p.in_h * p.in_w;
        let units = self.rows / self.unit;
        let (sh, kspan) = (p.stride_h, (p.kernel_h - 1) * p.dilation_h + 1);
        // Rows of the band buffer a band of `u` units reads.
        let band_rows = |u: usize| (u * self.unit - 1) * sh + kspan;
        let per_band = if self.direct {
            units
        } else {
            let rows_fit = buf.len() / (icg * self.wp).max(1);
            if rows_fit < kspan {
                return false;
            }
            (((rows_fit - kspan) / sh + 1) / self.unit).min(units)
        };
        if per_band == 0 {
            return false;
        }
        let ncopy = p.in_w.min(self.wp.saturating_sub(p.pad_left));
        let pl = p.pad_left;
        for n in 0..p.batch {
            for gi in 0..g {
                let x0 = (n * p.in_channels + gi * icg) * in_plane;
                let Some(xg) = x.get(x0..x0 + icg * in_plane) else {
                    return false;
                };
                let mut u0 = 0;
                while u0 < units {
                    let u1 = (u0 + per_band).min(units);
                    // Padded row of the band's first buffer row.
                    let pr0 = u0 * self.unit * sh;
                    let band = if self.direct {
                        Band {
                            x: xg,
                            rs: p.in_w,
                            cs: in_plane,
                        }
                    } else {
                        let hb = band_rows(u1 - u0);
                        let Some(dst) = buf.get_mut(..icg * hb * self.wp) else {
                            return false;
                        };
                        for (ic, chan) in dst.chunks_exact_mut(hb * self.wp).enumerate() {
                            for (j, row) in chan.chunks_exact_mut(self.wp).enumerate() {
                                let Some(d) = row.get_mut(pl..pl + ncopy) else {
                                    continue;
                                };
                                let src = (pr0 + j)
                                    .checked_sub(p.pad_top)
                                    .filter(|&ih| ih < p.in_h)
                                    .and_then(|ih| xg.get(ic * in_plane + ih * p.in_w..))
                                    .and_then(|s| s.get(..ncopy));
                                match src {
                                    Some(s) => super::copy_f32(d, s),
                                    None => d.fill(0.0),
                                }
                            }
                        }
                        Band {
                            x: &*dst,
                            rs: self.wp,
                            cs: hb * self.wp,
                        }
                    };
                    // Padded row of the band buffer's row 0: the input's row 0 (direct, no
                    // padding) or the band's first row.
                    let origin = if self.direct { 0 } else { pr0 };
                    // SAFETY: `available()` (checked in `run`) says the CPU has AVX2 and FMA.
                    let ok = unsafe { self.band_avx2(&band, origin, (n, gi), (u0, u1), bias, y) };
                    if !ok {
                        return false;
                    }
                    u0 = u1;
                }
            }
        }
        true
    }

    /// All channel blocks of one band: groups of up to three blocks of eight channels.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn band_avx2(
        &self,
        band: &Band<'_>,
        origin: usize,
        nb_gi: (usize, usize),
        units: (usize, usize),
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> bool {
        let mut ob = 0;
        while ob < self.nb {
            let left = self.nb - ob;
            // SAFETY (all three): the caller guarantees AVX2 and FMA.
            let ok = match (left, self.pool.is_some()) {
                (1, false) => unsafe {
                    self.blocks::<1, 8, false>(band, origin, nb_gi, units, ob, bias, y)
                },
                (2, false) => unsafe {
                    self.blocks::<2, 6, false>(band, origin, nb_gi, units, ob, bias, y)
                },
                (_, false) => unsafe {
                    self.blocks::<3, 4, false>(band, origin, nb_gi, units, ob, bias, y)
                },
                (1, true) => unsafe {
                    self.blocks::<1, 8, true>(band, origin, nb_gi, units, ob, bias, y)
                },
                (2, true) => unsafe {
                    self.blocks::<2, 4, true>(band, origin, nb_gi, units, ob, bias, y)
                },
                (_, true) => unsafe {
                    self.blocks::<3, 4, true>(band, origin, nb_gi, units, ob, bias, y)
                },
            };
            if !ok {
                return false;
            }
            ob += left.min(3);
        }
        true
    }

    /// Channel blocks `ob..ob + V` of group `gi`, batch item `n`, band units `u0..u1`: pixel
    /// blocks of `P` conv pixels (`POOL`: `P / 4` pooling windows of four pixels each), the
    /// last block completed by repeating its last pixel (window).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn blocks<const V: usize, const P: usize, const POOL: bool>(
        &self,
        band: &Band<'_>,
        origin: usize,
        (n, gi): (usize, usize),
        (u0, u1): (usize, usize),
        ob: usize,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> bool {
        let p = &self.p;
        let (icg, ocg) = (self.icg, self.ocg);
        // Weights of blocks ob..ob + V of this group.
        let w0 = (gi * self.nb + ob) * self.wb;
        if self.w.len() < w0 + V * self.wb || icg == 0 {
            return false;
        }
        // Every pixel offset `o` of a block is checked against `lim`: the farthest value read,
        // o + (icg - 1) * cs + max_tap, is then inside `band.x`.
        let Some(lim) = band
            .x
            .len()
            .checked_sub(1 + self.max_tap)
            .and_then(|v| v.checked_sub((icg - 1) * band.cs))
        else {
            return false;
        };
        // Bias and valid lanes of each block.
        let mut bv = [_mm256_setzero_ps(); V];
        let mut lanes = [0usize; V];
        for (v, (bv, lanes)) in bv.iter_mut().zip(lanes.iter_mut()).enumerate() {
            let first = (ob + v) * LANES;
            *lanes = ocg.saturating_sub(first).min(LANES);
            let mut b = [0.0f32; LANES];
            if let Some(bias) = bias {
                let at = gi * ocg + first;
                for (d, s) in b.iter_mut().zip(bias.get(at..at + *lanes).unwrap_or(&[])) {
                    *d = *s;
                }
            }
            // SAFETY: `b` holds eight floats.
            *bv = unsafe { _mm256_loadu_ps(b.as_ptr()) };
        }
        let (sh, sw, rs) = (p.stride_h, p.stride_w, band.rs);
        // Output channel `ob * 8` of this group, batch item n: its plane's first element.
        let m = p.out_channels;
        let ch0 = n * m + gi * ocg + ob * LANES;
        let w_ptr = self.w.as_ptr().wrapping_add(w0);
        // Conv pixel (oh, ow) of the band reads from this offset on (oh * sh >= origin).
        let pixel_off = |oh: usize, ow: usize| (oh * sh - origin) * rs + ow * sw;
        if POOL {
            let Some((pool, max)) = self.pool else {
                return false;
            };
            let pw_n = pool.out_w;
            let plane = pool.out_h * pool.out_w;
            let (k0, k1) = (u0 * pw_n, u1 * pw_n);
            let mut k = k0;
            // Pooling window k = ph * pw_n + pc, counted without divisions.
            let mut at = (u0, 0);
            while k < k1 {
                let mut pix = [0usize; P];
                let mut win = at;
                for (j, quad) in pix.chunks_exact_mut(4).enumerate() {
                    if j > 0 && k + j < k1 {
                        win = next(win, pw_n);
                    }
                    let (oh, ow) = (2 * win.0, 2 * win.1);
                    for (i, o) in quad.iter_mut().enumerate() {
                        *o = pixel_off(oh + i / 2, ow + i % 2);
                    }
                }
                at = next(win, pw_n);
                if pix.iter().any(|&o| o > lim) {
                    return false;
                }
                // SAFETY: AVX2/FMA (caller); every offset is at most `lim` (checked above), so
                // all reads are inside `band.x`; the weights of the V blocks are inside
                // `self.w` (checked above).
                let acc = unsafe {
                    accumulate::<V, P>(
                        band.x.as_ptr(),
                        &pix,
                        &self.taps,
                        band.cs,
                        icg,
                        w_ptr,
                        self.wb,
                    )
                };
                for (wi, quad) in acc.chunks_exact(4).enumerate() {
                    let kk = k + wi;
                    let [a0, a1, a2, a3] = quad else {
                        break;
                    };
                    if kk >= k1 {
                        break;
                    }
                    let per_block = a0.iter().zip(a1).zip(a2).zip(a3).zip(bv.iter().zip(&lanes));
                    for (v, ((((&s0, &s1), &s2), &s3), (&b, &nl))) in per_block.enumerate() {
                        // SAFETY: AVX2/FMA (caller).
                        unsafe {
                            let t = [
                                activate(_mm256_add_ps(s0, b), self.act),
                                activate(_mm256_add_ps(s1, b), self.act),
                                activate(_mm256_add_ps(s2, b), self.act),
                                activate(_mm256_add_ps(s3, b), self.act),
                            ];
                            let at = (ch0 + v * LANES) * plane + kk;
                            store_lanes(y, pool4(t, max), at, plane, nl);
                        }
                    }
                }
                k += P / 4;
            }
        } else {
            let (ow_n, plane) = (self.cols, p.out_h * p.out_w);
            let (q0, q1) = (u0 * ow_n, u1 * ow_n);
            let mut q = q0;
            // Pixel q = oh * ow_n + ow, counted without divisions.
            let mut next_px = (u0, 0);
            while q < q1 {
                let mut pix = [0usize; P];
                let mut at = [0usize; P];
                let mut px = next_px;
                for (i, (o, a)) in pix.iter_mut().zip(at.iter_mut()).enumerate() {
                    if i > 0 && q + i < q1 {
                        px = next(px, ow_n);
                    }
                    *o = pixel_off(px.0, px.1);
                    *a = px.0 * p.out_w + px.1;
                }
                next_px = next(px, ow_n);
                if pix.iter().any(|&o| o > lim) {
                    return false;
                }
                // SAFETY: as above.
                let acc = unsafe {
                    accumulate::<V, P>(
                        band.x.as_ptr(),
                        &pix,
                        &self.taps,
                        band.cs,
                        icg,
                        w_ptr,
                        self.wb,
                    )
                };
                for (i, (acc, &px)) in acc.iter().zip(&at).enumerate() {
                    if q + i >= q1 {
                        break;
                    }
                    for (v, ((&s, &b), &nl)) in acc.iter().zip(&bv).zip(&lanes).enumerate() {
                        // SAFETY: AVX2/FMA (caller).
                        unsafe {
                            let r = activate(_mm256_add_ps(s, b), self.act);
                            store_lanes(y, r, (ch0 + v * LANES) * plane + px, plane, nl);
                        }
                    }
                }
                q += P;
            }
        }
        true
    }
}

/// The position after `(row, col)` in rows of `width`.
#[inline(always)]
fn next((row, col): (usize, usize), width: usize) -> (usize, usize) {
    if col + 1 < width {
        (row, col + 1)
    } else {
        (row + 1, 0)
    }
}

/// Where a band's input is: `x` holds `icg` channels `cs` apart, rows `rs` apart.
struct Band<'a> {
    x: &'a [f32],
    rs: usize,
    cs: usize,
}

/// Sums of `P` pixels times `V` blocks of eight output channels over all input channels and
/// taps: `acc[p][v] += x[pix[p] + ic * cs + tap] * w[v][ic][tap][..8]`.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `x + pix[p] + (icg - 1) * cs + max(taps)` must be in
/// bounds for every `p`, and `w + v * wb + icg * taps.len() * 8` for every `v < V`.
#[inline(always)]
unsafe fn accumulate<const V: usize, const P: usize>(
    x: *const f32,
    pix: &[usize; P],
    taps: &[usize],
    cs: usize,
    icg: usize,
    w: *const f32,
    wb: usize,
) -> [[__m256; V]; P] {
    let mut acc = [[_mm256_setzero_ps(); V]; P];
    let mut wv_ptr = [w; V];
    for (v, ptr) in wv_ptr.iter_mut().enumerate() {
        // SAFETY: v * wb is inside the weights (caller).
        *ptr = unsafe { w.add(v * wb) };
    }
    let mut xc = x;
    for ic in 0..icg {
        let mut base = [xc; P];
        for (b, &o) in base.iter_mut().zip(pix) {
            // SAFETY: pix[p] + ic * cs is in bounds (caller).
            *b = unsafe { xc.add(o) };
        }
        for &t in taps {
            let mut wv = [_mm256_setzero_ps(); V];
            for (wv, ptr) in wv.iter_mut().zip(wv_ptr.iter_mut()) {
                // SAFETY: eight weights of this (ic, tap) inside block v (caller); the pointer
                // then moves to the next tap (at most one past the block's end).
                unsafe {
                    *wv = _mm256_loadu_ps(*ptr);
                    *ptr = ptr.add(LANES);
                }
            }
            for (a, &b) in acc.iter_mut().zip(&base) {
                // SAFETY: pix[p] + ic * cs + t is in bounds (caller).
                let xb = unsafe { _mm256_broadcast_ss(&*b.add(t)) };
                for (a, &wv) in a.iter_mut().zip(&wv) {
                    *a = _mm256_fmadd_ps(xb, wv, *a);
                }
            }
        }
        if ic + 1 < icg {
            // SAFETY: channel ic + 1 is in bounds (caller).
            xc = unsafe { xc.add(cs) };
        }
    }
    acc
}

/// `act(v)` lane by lane, with the NaN behaviour of [`Activation::apply`].
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn activate(v: __m256, act: Activation) -> __m256 {
    match act {
        Activation::None => v,
        // max(a, b) is `a > b ? a : b`: max(0, v) keeps v when v is NaN or -0.
        Activation::Relu => _mm256_max_ps(_mm256_setzero_ps(), v),
        Activation::LeakyRelu { alpha } => {
            let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(v, _mm256_setzero_ps());
            _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(alpha)), neg)
        }
        // `v < min ? min : v`, then `t > max ? max : t` (NaN passes).
        Activation::Clip { min, max } => {
            _mm256_min_ps(_mm256_set1_ps(max), _mm256_max_ps(_mm256_set1_ps(min), v))
        }
        Activation::Sigmoid | Activation::Tanh => {
            let mut t = [0.0f32; LANES];
            // SAFETY: `t` holds eight floats.
            unsafe { _mm256_storeu_ps(t.as_mut_ptr(), v) };
            for t in t.iter_mut() {
                *t = act.apply(*t);
            }
            // SAFETY: as above.
            unsafe { _mm256_loadu_ps(t.as_ptr()) }
        }
    }
}

/// Pools four activated pixels (row-major window order): max from `-inf` (`max(t, m)` is
/// `t > m ? t : m`, so NaN is skipped), or `(((0 + t0) + t1) + t2) + t3) / 4`.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn pool4(t: [__m256; 4], max: bool) -> __m256 {
    if max {
        let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
        for t in t {
            m = _mm256_max_ps(t, m);
        }
        m
    } else {
        let mut s = _mm256_setzero_ps();
        for t in t {
            s = _mm256_add_ps(s, t);
        }
        _mm256_div_ps(s, _mm256_set1_ps(4.0))
    }
}

/// Stores the first `lanes` lanes of `v` at `y[at + l * stride]`.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
unsafe fn store_lanes(y: &mut [f32], v: __m256, at: usize, stride: usize, lanes: usize) {
    let mut t = [0.0f32; LANES];
    // SAFETY: `t` holds eight floats.
    unsafe { _mm256_storeu_ps(t.as_mut_ptr(), v) };
    for (l, &t) in t.iter().enumerate().take(lanes) {
        if let Some(o) = y.get_mut(at + l * stride) {
            *o = t;
        }
    }
}

#[cfg(test)]
mod tests;
