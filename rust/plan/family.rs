//! Operator families: the parts a device build is made of.
//!
//! Every step kernel belongs to one family, and each family is a cargo feature (`op-conv`,
//! ...; `all-ops` turns on every one) and a menuconfig option (`RTONNX_OP_CONV`, ..., which
//! the SConscript maps to the feature of the same name). A build without a family does not
//! link its kernels; a model that needs one is refused at load with
//! [`ErrorCode::NotSupported`] and a message naming the option that enables it.
//! `rtonnx compile --cargo-features` and `--kconfig` print what a plan needs.

use super::format;
use super::step::Kernel;
use crate::error::{err, Error, ErrorCode};

/// An operator family: the steps one cargo feature and one menuconfig option build in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// Conv (plain, blocked 3x3, fused with pooling; the Cortex-M and AVX2 kernels).
    Conv,
    /// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
    Pool,
    /// MatMul, Gemm and fused dense layers.
    Dense,
    /// Relu, LeakyRelu, Clip, Sigmoid, Tanh and the other activations.
    Activation,
    /// Element-wise arithmetic and math: Add, Mul, ..., Exp, Sqrt, Sin, ...
    Math,
    /// Softmax and LogSoftmax.
    Softmax,
    /// ReduceMean, ReduceSum, ReduceMax and the other reductions.
    Reduce,
    /// BatchNormalization that could not be folded into a convolution.
    Normalization,
    /// Transpose, Concat, Pad, Gather, Slice (Reshape and Flatten need no step).
    Layout,
}

/// Whether this build has each family (constants, so that a match arm guarded by one is
/// compiled out with its kernels when it is false).
pub const CONV: bool = cfg!(feature = "op-conv");
/// See [`CONV`].
pub const POOL: bool = cfg!(feature = "op-pool");
/// See [`CONV`].
pub const DENSE: bool = cfg!(feature = "op-dense");
/// See [`CONV`].
pub const ACTIVATION: bool = cfg!(feature = "op-activation");
/// See [`CONV`].
pub const MATH: bool = cfg!(feature = "op-math");
/// See [`CONV`].
pub const SOFTMAX: bool = cfg!(feature = "op-softmax");
/// See [`CONV`].
pub const REDUCE: bool = cfg!(feature = "op-reduce");
/// See [`CONV`].
pub const NORMALIZATION: bool = cfg!(feature = "op-normalization");
/// See [`CONV`].
pub const LAYOUT: bool = cfg!(feature = "op-layout");

/// One line per family: the family, its name (the feature is `op-` + name, the menuconfig
/// option `RTONNX_OP_` + the name in capitals), and the message of a load that needs it in a
/// build without it.
const TABLE: [(Family, &str, &str); 9] = [
    (Family::Conv, "conv",
        "convolutions left out: enable RTONNX_OP_CONV (cargo feature op-conv)"),
    (Family::Pool, "pool",
        "pooling left out: enable RTONNX_OP_POOL (cargo feature op-pool)"),
    (Family::Dense, "dense",
        "MatMul/Gemm left out: enable RTONNX_OP_DENSE (cargo feature op-dense)"),
    (Family::Activation, "activation",
        "activations left out: enable RTONNX_OP_ACTIVATION (cargo feature op-activation)"),
    (Family::Math, "math",
        "element-wise math left out: enable RTONNX_OP_MATH (cargo feature op-math)"),
    (Family::Softmax, "softmax",
        "Softmax left out: enable RTONNX_OP_SOFTMAX (cargo feature op-softmax)"),
    (Family::Reduce, "reduce",
        "reductions left out: enable RTONNX_OP_REDUCE (cargo feature op-reduce)"),
    (Family::Normalization, "normalization",
        "BatchNormalization left out: enable RTONNX_OP_NORMALIZATION (cargo feature op-normalization)"),
    (Family::Layout, "layout",
        "layout ops left out: enable RTONNX_OP_LAYOUT (cargo feature op-layout)"),
];

impl Family {
    /// Every family, in the order of [`Family::name`]'s table.
    pub const ALL: [Family; 9] = [
        Family::Conv,
        Family::Pool,
        Family::Dense,
        Family::Activation,
        Family::Math,
        Family::Softmax,
        Family::Reduce,
        Family::Normalization,
        Family::Layout,
    ];

    fn entry(self) -> (Family, &'static str, &'static str) {
        // `TABLE` lists the variants in declaration order.
        TABLE.get(self as usize).copied().unwrap_or((self, "", ""))
    }

    /// The family's name: `conv`, `pool`, ...
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// True when this build of the library has the family's kernels.
    pub const fn enabled(self) -> bool {
        match self {
            Family::Conv => CONV,
            Family::Pool => POOL,
            Family::Dense => DENSE,
            Family::Activation => ACTIVATION,
            Family::Math => MATH,
            Family::Softmax => SOFTMAX,
            Family::Reduce => REDUCE,
            Family::Normalization => NORMALIZATION,
            Family::Layout => LAYOUT,
        }
    }

    /// The error of a load that needs this family in a build without it.
    pub fn missing(self) -> Error {
        err(ErrorCode::NotSupported, self.entry().2)
    }

    /// The family of a step kernel (`None`: a copy, which every build has).
    pub fn of(kernel: &Kernel) -> Option<Family> {
        format::family_of_kind(format::kind_of(kernel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_declaration_order() {
        for (i, f) in Family::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i);
            assert_eq!(TABLE[i].0, *f);
            let upper = f.name().to_ascii_uppercase();
            let message = TABLE[i].2;
            assert!(message.contains(&alloc::format!("RTONNX_OP_{upper} ")));
            assert!(message.ends_with(&alloc::format!("(cargo feature op-{})", f.name())));
            // Whole in the C API's 128-byte message (a node name after it may be cut).
            let shown = ErrorCode::NotSupported.description().len() + 2 + message.len();
            assert!(shown < 128, "{message}");
        }
    }

    #[test]
    fn every_family_is_a_cargo_feature_and_every_op_feature_a_family() {
        let cargo = include_str!("../../Cargo.toml");
        let features: alloc::vec::Vec<&str> = cargo
            .lines()
            .filter_map(|l| l.strip_prefix("op-")?.split(" = [").next())
            .collect();
        let names: alloc::vec::Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(features, names);
        // This test build has them all.
        assert!(Family::ALL.iter().all(|f| f.enabled()));
    }
}
