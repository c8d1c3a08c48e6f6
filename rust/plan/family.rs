//! Operator families: the parts a device build is made of.
//!
//! Every step kernel belongs to one family, and each family is a cargo feature (`op-conv`,
//! ...; `all-ops` turns on every one) and a menuconfig option (`RTONNX_OP_CONV`, ..., which
//! the SConscript maps to the feature of the same name). A build without a family does not
//! link its kernels; a model that needs one is refused at load with
//! [`ErrorCode::NotSupported`] and a message naming the option that enables it.
//! `rtonnx compile --cargo-features` and `--kconfig` print what a plan needs.

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

/// One line per family: the family, its name (the feature is `op-` + name, the menuconfig
/// option `RTONNX_OP_` + the name in capitals), whether this build has it, and the message of
/// a load that needs it without it.
const TABLE: [(Family, &str, bool, &str); 9] = [
    (Family::Conv, "conv", cfg!(feature = "op-conv"),
        "convolutions left out: enable RTONNX_OP_CONV (cargo feature op-conv)"),
    (Family::Pool, "pool", cfg!(feature = "op-pool"),
        "pooling left out: enable RTONNX_OP_POOL (cargo feature op-pool)"),
    (Family::Dense, "dense", cfg!(feature = "op-dense"),
        "MatMul/Gemm left out: enable RTONNX_OP_DENSE (cargo feature op-dense)"),
    (Family::Activation, "activation", cfg!(feature = "op-activation"),
        "activations left out: enable RTONNX_OP_ACTIVATION (cargo feature op-activation)"),
    (Family::Math, "math", cfg!(feature = "op-math"),
        "element-wise math left out: enable RTONNX_OP_MATH (cargo feature op-math)"),
    (Family::Softmax, "softmax", cfg!(feature = "op-softmax"),
        "Softmax left out: enable RTONNX_OP_SOFTMAX (cargo feature op-softmax)"),
    (Family::Reduce, "reduce", cfg!(feature = "op-reduce"),
        "reductions left out: enable RTONNX_OP_REDUCE (cargo feature op-reduce)"),
    (Family::Normalization, "normalization", cfg!(feature = "op-normalization"),
        "BatchNormalization left out: enable RTONNX_OP_NORMALIZATION (cargo feature op-normalization)"),
    (Family::Layout, "layout", cfg!(feature = "op-layout"),
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

    fn entry(self) -> (Family, &'static str, bool, &'static str) {
        // `TABLE` lists the variants in declaration order.
        TABLE
            .get(self as usize)
            .copied()
            .unwrap_or((self, "", false, ""))
    }

    /// The family's name: `conv`, `pool`, ...
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// True when this build of the library has the family's kernels.
    pub fn enabled(self) -> bool {
        self.entry().2
    }

    /// The error of a load that needs this family in a build without it.
    pub fn missing(self) -> Error {
        err(ErrorCode::NotSupported, self.entry().3)
    }

    /// The family of a step kernel (`None`: a copy, which every build has).
    pub fn of(kernel: &Kernel) -> Option<Family> {
        Some(match kernel {
            Kernel::Conv { .. } | Kernel::ConvPool { .. } | Kernel::ConvBlocks { .. } => {
                Family::Conv
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::ConvX86(_) => Family::Conv,
            Kernel::MaxPool(_)
            | Kernel::AvgPool(_)
            | Kernel::GlobalAvgPool { .. }
            | Kernel::GlobalMaxPool { .. } => Family::Pool,
            Kernel::Dense { .. } | Kernel::Gemm { .. } | Kernel::MatMul(_) => Family::Dense,
            Kernel::Activation(_) => Family::Activation,
            Kernel::Unary(_) | Kernel::Binary { .. } => Family::Math,
            Kernel::Softmax { .. } => Family::Softmax,
            Kernel::Reduce { .. } => Family::Reduce,
            Kernel::BatchNorm { .. } => Family::Normalization,
            Kernel::Transpose { .. }
            | Kernel::Concat { .. }
            | Kernel::Pad { .. }
            | Kernel::Gather { .. }
            | Kernel::Slice { .. } => Family::Layout,
            Kernel::Copy => return None,
        })
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
            let message = TABLE[i].3;
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
