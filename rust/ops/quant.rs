//! QuantizeLinear and DequantizeLinear on float32 tensors that carry 8-bit integers.
//!
//! Until the integer kernels exist, a quantized tensor at run time is a float32 tensor whose
//! values are the integers (every int8 and uint8 value is exact in float32), so the float
//! kernels between a dequantize and a quantize compute what onnxruntime's reference
//! (QDQ nodes run as they are) computes.

/// Geometry of a quantize or dequantize step: `x` is `[outer, channels, inner]` with one scale
/// and zero point per channel (`channels == 1`: per tensor).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quant {
    /// Product of the dims before the quantization axis.
    pub outer: usize,
    /// Size of the quantization axis (1 for a per-tensor scale).
    pub channels: usize,
    /// Product of the dims after the axis.
    pub inner: usize,
    /// Smallest value of the integer type (quantize: saturation; -128 or 0).
    pub lo: f32,
    /// Largest value of the integer type (127 or 255).
    pub hi: f32,
}

impl Quant {
    /// Elements of `x` and `y`.
    pub fn len(&self) -> Option<usize> {
        self.outer
            .checked_mul(self.channels)?
            .checked_mul(self.inner)
    }

    /// Whether the tensor is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Calls `f(x, y, scale, zero)` for each run of `inner` values sharing a channel. Does
    /// nothing when a slice is shorter than the geometry says.
    fn each(
        &self,
        x: &[f32],
        y: &mut [f32],
        scale: &[f32],
        zero: Option<&[f32]>,
        f: impl Fn(&[f32], &mut [f32], f32, f32),
    ) {
        let (Some(n), true) = (self.len(), self.inner > 0) else {
            return;
        };
        let zero_ok = zero.is_none_or(|z| z.len() >= self.channels);
        if x.len() < n || y.len() < n || scale.len() < self.channels || !zero_ok {
            return;
        }
        let runs = x
            .chunks_exact(self.inner)
            .zip(y.chunks_exact_mut(self.inner));
        for (i, (xs, ys)) in runs.take(n / self.inner).enumerate() {
            let c = i % self.channels;
            let s = scale.get(c).copied().unwrap_or(1.0);
            let z = zero.and_then(|z| z.get(c)).copied().unwrap_or(0.0);
            f(xs, ys, s, z);
        }
    }
}

/// `y = saturate(round(x / scale) + zero)`, rounding half to even (ONNX QuantizeLinear).
/// A NaN quantizes to the type's lowest value.
pub fn quantize(q: &Quant, x: &[f32], scale: &[f32], zero: Option<&[f32]>, y: &mut [f32]) {
    let (lo, hi) = (q.lo, q.hi);
    q.each(x, y, scale, zero, |xs, ys, s, z| {
        for (y, &x) in ys.iter_mut().zip(xs) {
            *y = (libm::rintf(x / s) + z).max(lo).min(hi);
        }
    });
}

/// `y = (x - zero) * scale` (ONNX DequantizeLinear).
pub fn dequantize(q: &Quant, x: &[f32], scale: &[f32], zero: Option<&[f32]>, y: &mut [f32]) {
    q.each(x, y, scale, zero, |xs, ys, s, z| {
        for (y, &x) in ys.iter_mut().zip(xs) {
            *y = (x - z) * s;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const INT8: (f32, f32) = (-128.0, 127.0);

    fn geo(outer: usize, channels: usize, inner: usize, (lo, hi): (f32, f32)) -> Quant {
        Quant {
            outer,
            channels,
            inner,
            lo,
            hi,
        }
    }

    #[test]
    fn quantize_rounds_half_to_even_and_saturates() {
        let q = geo(1, 1, 8, INT8);
        let x = [0.5, 1.5, 2.5, -0.5, -1.5, 1000.0, -1000.0, f32::NAN];
        let mut y = [0.0; 8];
        quantize(&q, &x, &[1.0], None, &mut y);
        assert_eq!(y, [0.0, 2.0, 2.0, -0.0, -2.0, 127.0, -128.0, -128.0]);
        // The zero point is added after rounding; uint8 saturates at 0 and 255.
        let q = geo(1, 1, 4, (0.0, 255.0));
        let mut y = [0.0; 4];
        quantize(
            &q,
            &[0.25, 1.0, -10.0, 100.0],
            &[0.5],
            Some(&[128.0]),
            &mut y,
        );
        assert_eq!(y, [128.0, 130.0, 108.0, 255.0]);
    }

    #[test]
    fn per_channel_scales_and_zero_points_follow_the_axis() {
        // [outer 2, channels 3, inner 2].
        let q = geo(2, 3, 2, INT8);
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let (scale, zero) = ([1.0, 2.0, 4.0], [0.0, 1.0, -1.0]);
        let mut y = vec![0.0; 12];
        quantize(&q, &x, &scale, Some(&zero), &mut y);
        assert_eq!(y, [0., 1., 2., 3., 0., 0., 6., 7., 5., 5., 1., 2.]);
        let mut back = vec![0.0; 12];
        dequantize(&q, &y, &scale, Some(&zero), &mut back);
        assert_eq!(back, [0., 1., 2., 4., 4., 4., 6., 7., 8., 8., 8., 12.]);
    }

    #[test]
    fn short_slices_write_nothing() {
        let q = geo(1, 2, 2, INT8);
        let mut y = [7.0; 4];
        quantize(&q, &[1.0; 3], &[1.0, 1.0], None, &mut y);
        dequantize(&q, &[1.0; 4], &[1.0], None, &mut y);
        dequantize(&q, &[1.0; 4], &[1.0, 1.0], Some(&[0.0]), &mut y);
        assert_eq!(y, [7.0; 4]);
    }
}
