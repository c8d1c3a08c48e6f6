//! Operator kernels over plain slices, one file per operator family.
//!
//! Every kernel works on `f32` (or any `Copy` element for the layout kernels) slices in NCHW
//! layout and never allocates. The graph compiler validates shapes before it calls a kernel,
//! so kernels may assume that their parameters match the slice lengths; when they do not, a
//! kernel returns early or writes unspecified values, but it never panics and never reads or
//! writes outside its slices. The only `unsafe` is in the measured hot loop of the 3x3
//! convolution (`conv/blocks.rs`, unchecked loads whose bounds are checked once per block row, each
//! with its `SAFETY:` proof), in the Cortex-M assembly kernels (`conv_arm.rs`, `matmul_arm.rs`,
//! their calls with the bounds they rely on checked before) and in the x86-64 AVX2
//! convolution (`conv_x86/`, intrinsics and unchecked loads whose bounds are checked once
//! per pixel block).

/// `d.copy_from_slice(&s[..d.len()])`, four values at a time: on a Cortex-M this is several
/// times cheaper than the call to the C library's byte-oriented `memcpy` that
/// `copy_from_slice` becomes (measured on the input copy and the conv's padded rows). Does
/// nothing when `s` is shorter than `d`.
#[inline]
pub fn copy_f32(d: &mut [f32], s: &[f32]) {
    #[cfg(rtonnx_vfma)]
    {
        conv_arm::copy_f32(d, s);
    }
    #[cfg(not(rtonnx_vfma))]
    copy_f32_portable(d, s);
}

/// [`copy_f32`] in Rust.
#[cfg_attr(rtonnx_vfma, allow(dead_code))]
#[inline]
fn copy_f32_portable(d: &mut [f32], s: &[f32]) {
    let Some(s) = s.get(..d.len()) else {
        return;
    };
    let mut dc = d.chunks_exact_mut(4);
    let mut sc = s.chunks_exact(4);
    for (d, s) in (&mut dc).zip(&mut sc) {
        if let (Some(d), Some(s)) = (d.first_chunk_mut::<4>(), s.first_chunk::<4>()) {
            let [a, b, c, e] = *s;
            *d = [a, b, c, e];
        }
    }
    for (d, &s) in dc.into_remainder().iter_mut().zip(sc.remainder()) {
        *d = s;
    }
}

pub mod activation;
pub mod binary;
pub mod conv;
#[cfg(rtonnx_vfma)]
pub(crate) mod conv_arm;
#[cfg(target_arch = "x86_64")]
pub mod conv_x86;
pub mod fused;
pub mod layout;
pub mod matmul;
#[cfg(rtonnx_vfma)]
pub(crate) mod matmul_arm;
pub mod normalization;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod softmax;
pub mod unary;

/// Maximum tensor rank supported by broadcast/transpose/pad/slice kernels.
pub const MAX_RANK: usize = 8;

/// Product of `dims`, or `None` on overflow.
pub(crate) fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Advances the odometer `idx` over `shape` (last axis fastest) and updates the running element
/// offsets `offs[j]` by `strides[j][axis]`. Returns `false` after the last position.
#[inline]
pub(crate) fn odometer_step<const N: usize>(
    idx: &mut [usize],
    shape: &[usize],
    strides: [&[usize]; N],
    offs: &mut [usize; N],
) -> bool {
    for axis in (0..idx.len()).rev() {
        let (Some(i), Some(&extent)) = (idx.get_mut(axis), shape.get(axis)) else {
            return false;
        };
        *i += 1;
        if *i < extent {
            for (off, st) in offs.iter_mut().zip(strides.iter()) {
                *off = off.wrapping_add(st.get(axis).copied().unwrap_or(0));
            }
            return true;
        }
        // Rewind this axis to zero: subtract (extent - 1) * stride.
        let back = extent.saturating_sub(1);
        *i = 0;
        for (off, st) in offs.iter_mut().zip(strides.iter()) {
            *off = off.wrapping_sub(back.wrapping_mul(st.get(axis).copied().unwrap_or(0)));
        }
    }
    false
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Shared helpers for the kernel unit tests: a deterministic PRNG and comparisons.

    use alloc::vec::Vec;

    /// A small xorshift64* generator: deterministic, no dependencies.
    pub struct Rng(u64);

    impl Rng {
        /// Creates a generator from a seed (any value, 0 included).
        pub fn new(seed: u64) -> Self {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
        }
        /// Next 64 random bits.
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Uniform in `[0, n)` (n > 0).
        pub fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
        /// Uniform in `[lo, hi]`.
        pub fn range(&mut self, lo: usize, hi: usize) -> usize {
            lo + self.below(hi - lo + 1)
        }
        /// Uniform f32 in `[-1, 1)`.
        pub fn f32(&mut self) -> f32 {
            ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
        /// `n` uniform values in `[-1, 1)`.
        pub fn vec(&mut self, n: usize) -> Vec<f32> {
            (0..n).map(|_| self.f32()).collect()
        }
        /// Between 0 and `max - 1` uniform values.
        pub fn vec_upto(&mut self, max: usize) -> Vec<f32> {
            let n = self.below(max);
            self.vec(n)
        }
        /// `n` random i64 values in `[-lim, lim]`.
        pub fn vec_i64(&mut self, n: usize, lim: i64) -> Vec<i64> {
            (0..n)
                .map(|_| (self.next_u64() % (2 * lim as u64 + 1)) as i64 - lim)
                .collect()
        }
    }

    /// The deterministic input pattern shared with `tools/kernels/gen_kernel_cases.py`.
    pub fn pattern(
        n: usize,
        mul: usize,
        add: usize,
        modulo: usize,
        scale: f32,
        shift: f32,
    ) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * mul + add) % modulo) as f32 * scale - shift)
            .collect()
    }

    /// Asserts that two slices have equal length and max abs difference <= tol (NaN must match NaN).
    #[track_caller]
    pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len(), "length differs");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            if w.is_nan() {
                assert!(g.is_nan(), "index {i}: got {g}, want NaN");
                continue;
            }
            if w.is_infinite() {
                assert_eq!(g, w, "index {i}");
                continue;
            }
            let err = (g - w).abs();
            // Relative slack for large magnitudes, absolute otherwise.
            let lim = tol * w.abs().max(1.0);
            assert!(err <= lim, "index {i}: got {g}, want {w}, err {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_product_overflow() {
        assert_eq!(checked_product(&[]), Some(1));
        assert_eq!(checked_product(&[2, 3, 4]), Some(24));
        assert_eq!(checked_product(&[usize::MAX, 2]), None);
        assert_eq!(checked_product(&[usize::MAX, 0]), Some(0));
    }

    #[test]
    fn odometer_visits_all_positions() {
        let shape = [2usize, 3, 2];
        let st_a = [6usize, 2, 1];
        let st_b = [0usize, 1, 0];
        let mut idx = [0usize; 3];
        let mut offs = [0usize; 2];
        let mut seen = alloc::vec::Vec::new();
        loop {
            seen.push((idx, offs));
            if !odometer_step(&mut idx, &shape, [&st_a, &st_b], &mut offs) {
                break;
            }
        }
        assert_eq!(seen.len(), 12);
        for (i, (ix, off)) in seen.iter().enumerate() {
            assert_eq!(off[0], i);
            assert_eq!(off[1], ix[1]);
        }
        // After the end every offset is back at zero.
        assert_eq!(offs, [0, 0]);
    }
}
