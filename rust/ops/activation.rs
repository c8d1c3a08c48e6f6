//! Element-wise activation functions (Relu, LeakyRelu, Sigmoid, Tanh, Clip).
//!
//! Semantics follow ONNX/onnxruntime: NaN inputs produce NaN outputs for every activation.
//! The activation is also fused into Conv/Dense/Gemm kernels through [`Activation::apply_in_place`].

/// An element-wise activation, fusable into the producing kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// Identity (no activation).
    None,
    /// `max(0, x)`; NaN propagates.
    Relu,
    /// `x < 0 ? alpha * x : x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `1 / (1 + exp(-x))`, computed without overflow for large `|x|`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `min(max(x, min), max)`; NaN propagates.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
}

#[inline(always)]
fn relu(v: f32) -> f32 {
    // `v < 0` is false for NaN, so NaN passes through.
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

#[inline(always)]
fn leaky_relu(v: f32, alpha: f32) -> f32 {
    if v < 0.0 {
        alpha * v
    } else {
        v
    }
}

#[inline(always)]
fn sigmoid(v: f32) -> f32 {
    // exp of a non-positive argument never overflows.
    if v >= 0.0 {
        1.0 / (1.0 + libm::expf(-v))
    } else {
        // Also reached for NaN: expf(NaN) = NaN, so NaN propagates.
        let e = libm::expf(v);
        e / (1.0 + e)
    }
}

#[inline(always)]
fn clip(v: f32, min: f32, max: f32) -> f32 {
    // min(max(v, min), max) with NaN propagation (comparisons with NaN are false).
    let t = if v < min { min } else { v };
    if t > max {
        max
    } else {
        t
    }
}

impl Activation {
    /// Applies the activation to one value.
    #[inline]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Activation::None => v,
            Activation::Relu => relu(v),
            Activation::LeakyRelu { alpha } => leaky_relu(v, alpha),
            Activation::Sigmoid => sigmoid(v),
            Activation::Tanh => libm::tanhf(v),
            Activation::Clip { min, max } => clip(v, min, max),
        }
    }

    /// Applies the activation to every element of `xs` in place (`None` is a no-op).
    pub fn apply_in_place(self, xs: &mut [f32]) {
        // One monomorphic loop per activation: the match is outside the loop.
        match self {
            Activation::None => {}
            Activation::Relu => xs.iter_mut().for_each(|x| *x = relu(*x)),
            Activation::LeakyRelu { alpha } => {
                xs.iter_mut().for_each(|x| *x = leaky_relu(*x, alpha))
            }
            Activation::Sigmoid => xs.iter_mut().for_each(|x| *x = sigmoid(*x)),
            Activation::Tanh => xs.iter_mut().for_each(|x| *x = libm::tanhf(*x)),
            Activation::Clip { min, max } => xs.iter_mut().for_each(|x| *x = clip(*x, min, max)),
        }
    }

    /// The ONNX operator name ("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip"; "" for `None`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::None => "",
            Activation::Relu => "Relu",
            Activation::LeakyRelu { .. } => "LeakyRelu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Clip { .. } => "Clip",
        }
    }
}

/// `y = act(x)` element-wise over `min(x.len(), y.len())` elements.
pub fn activation(act: Activation, x: &[f32], y: &mut [f32]) {
    #[inline(always)]
    fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
        for (o, &i) in y.iter_mut().zip(x) {
            *o = f(i);
        }
    }
    match act {
        Activation::None => map(x, y, |v| v),
        Activation::Relu => map(x, y, relu),
        Activation::LeakyRelu { alpha } => map(x, y, |v| leaky_relu(v, alpha)),
        Activation::Sigmoid => map(x, y, sigmoid),
        Activation::Tanh => map(x, y, libm::tanhf),
        Activation::Clip { min, max } => map(x, y, |v| clip(v, min, max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, Rng};
    use alloc::vec;
    use alloc::vec::Vec;

    const ALL: [Activation; 7] = [
        Activation::None,
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Clip {
            min: -0.5,
            max: 0.25,
        },
        Activation::Clip { min: 0.0, max: 6.0 },
    ];

    /// Naive reference in f64.
    fn reference(act: Activation, v: f32) -> f32 {
        let x = v as f64;
        let r = match act {
            Activation::None => x,
            Activation::Relu => {
                if x.is_nan() {
                    x
                } else {
                    x.max(0.0)
                }
            }
            Activation::LeakyRelu { alpha } => {
                if x < 0.0 {
                    alpha as f64 * x
                } else {
                    x
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::Clip { min, max } => {
                if x.is_nan() {
                    x
                } else {
                    x.max(min as f64).min(max as f64)
                }
            }
        };
        r as f32
    }

    #[test]
    fn matches_reference_on_random_data() {
        let mut rng = Rng::new(1);
        let x: Vec<f32> = (0..257).map(|_| rng.f32() * 8.0).collect();
        for act in ALL {
            let want: Vec<f32> = x.iter().map(|&v| reference(act, v)).collect();
            let mut y = vec![0.0; x.len()];
            activation(act, &x, &mut y);
            assert_close(&y, &want, 1e-6);
            let mut z = x.clone();
            act.apply_in_place(&mut z);
            assert_eq!(y, z, "{act:?} in place differs");
            let s: Vec<f32> = x.iter().map(|&v| act.apply(v)).collect();
            assert_eq!(y, s, "{act:?} scalar differs");
        }
    }

    #[test]
    fn nan_propagates() {
        for act in ALL {
            assert!(act.apply(f32::NAN).is_nan(), "{act:?}");
            let mut y = [0.0f32; 2];
            activation(act, &[f32::NAN, 1.0], &mut y);
            assert!(y[0].is_nan(), "{act:?}");
        }
    }

    #[test]
    fn sigmoid_is_stable_for_large_inputs() {
        let s = Activation::Sigmoid;
        assert_eq!(s.apply(1000.0), 1.0);
        assert_eq!(s.apply(-1000.0), 0.0);
        assert_eq!(s.apply(f32::INFINITY), 1.0);
        assert_eq!(s.apply(f32::NEG_INFINITY), 0.0);
        assert!((s.apply(-88.0) - 6.0546e-39).abs() < 1e-40);
        assert_eq!(s.apply(0.0), 0.5);
    }

    #[test]
    fn relu_leaky_clip_edges() {
        assert_eq!(Activation::Relu.apply(-3.0), 0.0);
        assert_eq!(Activation::Relu.apply(2.5), 2.5);
        assert_eq!(Activation::Relu.apply(f32::NEG_INFINITY), 0.0);
        let l = Activation::LeakyRelu { alpha: 0.2 };
        assert_eq!(l.apply(-5.0), -1.0);
        assert_eq!(l.apply(5.0), 5.0);
        let c = Activation::Clip {
            min: -1.0,
            max: 1.0,
        };
        assert_eq!(c.apply(-7.0), -1.0);
        assert_eq!(c.apply(7.0), 1.0);
        assert_eq!(c.apply(0.3), 0.3);
        // min > max: ONNX's min(max(x, min), max) gives max everywhere.
        let c = Activation::Clip { min: 2.0, max: 1.0 };
        assert_eq!(c.apply(0.0), 1.0);
        assert_eq!(c.apply(5.0), 1.0);
        // Infinite bounds (Clip without min/max inputs).
        let c = Activation::Clip {
            min: f32::NEG_INFINITY,
            max: f32::INFINITY,
        };
        assert_eq!(c.apply(-1e30), -1e30);
    }

    #[test]
    fn names() {
        let names: Vec<&str> = ALL.iter().map(|a| a.name()).collect();
        assert_eq!(
            names,
            ["", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Clip"]
        );
    }

    #[test]
    fn mismatched_lengths_do_not_panic() {
        let mut y = [9.0f32; 2];
        activation(Activation::Relu, &[-1.0, 2.0, 3.0], &mut y);
        assert_eq!(y, [0.0, 2.0]);
        let mut y = [9.0f32; 3];
        activation(Activation::Tanh, &[0.0], &mut y);
        assert_eq!(y, [0.0, 9.0, 9.0]);
        Activation::Sigmoid.apply_in_place(&mut []);
    }

    #[test]
    fn onnxruntime_values() {
        // Generated by tools/kernels/gen_kernel_cases.py (onnxruntime CPU). onnxruntime's
        // vectorised sigmoid flushes sigmoid(-20) = 2.06e-9 to 0; both are within tolerance.
        let x = [-20.0f32, -3.5, -1.0, -0.25, 0.0, 0.25, 1.0, 3.5, 20.0];
        let mut y = [0.0f32; 9];
        activation(Activation::Sigmoid, &x, &mut y);
        assert_close(&y, &ORT_SIGMOID, 1e-6);
        activation(Activation::Tanh, &x, &mut y);
        assert_close(&y, &ORT_TANH, 1e-6);
    }

    // shape [9]

    const ORT_SIGMOID: [f32; 9] = [
        0.0,
        0.029312193,
        0.26894143,
        0.4378235,
        0.5,
        0.56217647,
        0.7310586,
        0.9706878,
        1.0,
    ];
    // shape [9]
    const ORT_TANH: [f32; 9] = [
        -1.0,
        -0.99817795,
        -0.7615942,
        -0.24491866,
        0.0,
        0.24491866,
        0.7615942,
        0.99817795,
        1.0,
    ];
}
