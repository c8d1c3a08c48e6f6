//! Element-wise math functions (Abs, Neg, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Elu,
//! Selu, HardSigmoid, HardSwish, Softplus, Softsign, Erf), with ONNX semantics.

/// An element-wise function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// `|x|`.
    Abs,
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// Natural logarithm.
    Log,
    /// Square root.
    Sqrt,
    /// `1 / x`.
    Reciprocal,
    /// Round down.
    Floor,
    /// Round up.
    Ceil,
    /// `x < 0 ? alpha * (e^x - 1) : x`.
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// `gamma * (x <= 0 ? alpha * (e^x - 1) : x)`.
    Selu {
        /// Scale of the negative part.
        alpha: f32,
        /// Overall scale.
        gamma: f32,
    },
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 1 / 2))`.
    HardSwish,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// The error function.
    Erf,
}

impl UnaryOp {
    /// Applies the function to one value.
    #[inline]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            UnaryOp::Abs => libm::fabsf(v),
            UnaryOp::Neg => -v,
            UnaryOp::Exp => libm::expf(v),
            UnaryOp::Log => libm::logf(v),
            UnaryOp::Sqrt => libm::sqrtf(v),
            UnaryOp::Reciprocal => 1.0 / v,
            UnaryOp::Floor => libm::floorf(v),
            UnaryOp::Ceil => libm::ceilf(v),
            UnaryOp::Elu { alpha } => {
                if v < 0.0 {
                    alpha * (libm::expf(v) - 1.0)
                } else {
                    v
                }
            }
            UnaryOp::Selu { alpha, gamma } => {
                if v <= 0.0 {
                    gamma * alpha * (libm::expf(v) - 1.0)
                } else {
                    gamma * v
                }
            }
            UnaryOp::HardSigmoid { alpha, beta } => hard_sigmoid(v, alpha, beta),
            UnaryOp::HardSwish => v * hard_sigmoid(v, 1.0 / 6.0, 0.5),
            UnaryOp::Softplus => {
                // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): no overflow for large x.
                let m = if v > 0.0 { v } else { 0.0 };
                m + libm::log1pf(libm::expf(-libm::fabsf(v)))
            }
            UnaryOp::Softsign => v / (1.0 + libm::fabsf(v)),
            UnaryOp::Erf => libm::erff(v),
        }
    }

    /// The ONNX operator name.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Abs => "Abs",
            UnaryOp::Neg => "Neg",
            UnaryOp::Exp => "Exp",
            UnaryOp::Log => "Log",
            UnaryOp::Sqrt => "Sqrt",
            UnaryOp::Reciprocal => "Reciprocal",
            UnaryOp::Floor => "Floor",
            UnaryOp::Ceil => "Ceil",
            UnaryOp::Elu { .. } => "Elu",
            UnaryOp::Selu { .. } => "Selu",
            UnaryOp::HardSigmoid { .. } => "HardSigmoid",
            UnaryOp::HardSwish => "HardSwish",
            UnaryOp::Softplus => "Softplus",
            UnaryOp::Softsign => "Softsign",
            UnaryOp::Erf => "Erf",
        }
    }
}

#[inline]
fn hard_sigmoid(v: f32, alpha: f32, beta: f32) -> f32 {
    (alpha * v + beta).clamp(0.0, 1.0)
}

/// `y = op(x)` over `min(x.len(), y.len())` elements.
pub fn unary(op: UnaryOp, x: &[f32], y: &mut [f32]) {
    for (o, &i) in y.iter_mut().zip(x) {
        *o = op.apply(i);
    }
}

/// `xs = op(xs)` in place.
pub fn unary_in_place(op: UnaryOp, xs: &mut [f32]) {
    for v in xs.iter_mut() {
        *v = op.apply(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * (1.0 + b.abs());
        assert!(close(UnaryOp::Abs.apply(-2.5), 2.5));
        assert!(close(UnaryOp::Neg.apply(3.0), -3.0));
        assert!(close(UnaryOp::Exp.apply(1.0), core::f32::consts::E));
        assert!(close(UnaryOp::Log.apply(core::f32::consts::E), 1.0));
        assert!(close(UnaryOp::Sqrt.apply(9.0), 3.0));
        assert!(close(UnaryOp::Reciprocal.apply(4.0), 0.25));
        assert!(close(UnaryOp::Floor.apply(-1.5), -2.0));
        assert!(close(UnaryOp::Ceil.apply(-1.5), -1.0));
        assert!(close(
            UnaryOp::Elu { alpha: 2.0 }.apply(-1.0),
            2.0 * (libm::expf(-1.0) - 1.0)
        ));
        assert!(close(
            UnaryOp::HardSigmoid {
                alpha: 0.2,
                beta: 0.5
            }
            .apply(1.0),
            0.7
        ));
        assert!(close(
            UnaryOp::HardSwish.apply(1.0),
            1.0 * (1.0 / 6.0 + 0.5)
        ));
        assert!(close(UnaryOp::Softplus.apply(100.0), 100.0));
        assert!(close(UnaryOp::Softplus.apply(0.0), core::f32::consts::LN_2));
        assert!(close(UnaryOp::Softsign.apply(1.0), 0.5));
        assert!(close(UnaryOp::Erf.apply(0.5), 0.520_499_9));
        assert!(UnaryOp::Sqrt.apply(-1.0).is_nan());
        let mut v = [1.0f32, 4.0];
        unary_in_place(UnaryOp::Sqrt, &mut v);
        assert_eq!(v, [1.0, 2.0]);
        let mut y = [0.0f32; 1];
        unary(UnaryOp::Neg, &[1.0, 2.0], &mut y);
        assert_eq!(y, [-1.0]);
    }
}
