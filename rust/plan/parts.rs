//! Build parts: the kernels a device library is made of.
//!
//! Every step kernel belongs to one part, and each part is a cargo feature (`op-conv-3x3`,
//! ...) and a menuconfig option (`RTONNX_OP_CONV_3X3`, ..., which the SConscript maps to the
//! feature of the same name). Parts are grouped in operator families (`op-conv` is every
//! convolution part, `all-ops` every part; in menuconfig a family is a switch with its parts
//! under it). A build without a part does not link its kernels; a model that needs one is
//! refused at load with [`ErrorCode::NotSupported`] and a message naming the option that
//! enables it. `rtonnx compile --cargo-features` and `--kconfig` print what a plan needs.

use super::format;
use super::step::Kernel;
use crate::error::{err, Error, ErrorCode};

/// A build part: the steps one cargo feature and one menuconfig option build in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// Conv of any geometry (direct), pooled or not; the x86-64 AVX2 kernel.
    ConvAny,
    /// 3x3 stride-1 Conv in 2x2 output blocks (the Cortex-M assembly).
    Conv3x3,
    /// 3x3 stride-1 Conv with a 2x2 stride-2 pooling, each pooling window one 2x2 block.
    Conv3x3Pool,
    /// MaxPool and AveragePool.
    PoolWindow,
    /// GlobalAveragePool and GlobalMaxPool.
    PoolGlobal,
    /// Dense layers: MatMul with a 2-D right operand, Gemm with constant weights.
    DenseLayer,
    /// Gemm in general (transposed operands, a run-time or broadcast C).
    DenseGemm,
    /// Batched MatMul (broadcast batch dimensions).
    DenseBatched,
    /// Relu, LeakyRelu, Clip, Sigmoid, Tanh on their own (not fused).
    Activation,
    /// Element-wise math of one input: Exp, Sqrt, Abs, Erf, ...
    MathUnary,
    /// Element-wise arithmetic of two inputs with broadcasting: Add, Mul, Pow, Max, ...
    MathBinary,
    /// Softmax.
    SoftmaxPlain,
    /// LogSoftmax.
    SoftmaxLog,
    /// ReduceMean, ReduceSum, ReduceMax and the other reductions.
    Reduce,
    /// BatchNormalization that could not be folded into a convolution.
    Normalization,
    /// QuantizeLinear and DequantizeLinear at run time (on float32 tensors carrying the
    /// integers).
    Quant,
    /// Transpose.
    LayoutTranspose,
    /// Concat.
    LayoutConcat,
    /// Pad.
    LayoutPad,
    /// Gather.
    LayoutGather,
    /// Slice.
    LayoutSlice,
}

/// Whether this build has each part (constants, so that a match arm guarded by one is
/// compiled out with its kernels when it is false).
pub const CONV_ANY: bool = cfg!(feature = "op-conv-any");
/// See [`CONV_ANY`].
pub const CONV_3X3: bool = cfg!(feature = "op-conv-3x3");
/// See [`CONV_ANY`].
pub const CONV_3X3POOL: bool = cfg!(feature = "op-conv-3x3pool");
/// See [`CONV_ANY`].
pub const POOL_WINDOW: bool = cfg!(feature = "op-pool-window");
/// See [`CONV_ANY`].
pub const POOL_GLOBAL: bool = cfg!(feature = "op-pool-global");
/// See [`CONV_ANY`].
pub const DENSE_LAYER: bool = cfg!(feature = "op-dense-layer");
/// See [`CONV_ANY`].
pub const DENSE_GEMM: bool = cfg!(feature = "op-dense-gemm");
/// See [`CONV_ANY`].
pub const DENSE_BATCHED: bool = cfg!(feature = "op-dense-batched");
/// See [`CONV_ANY`].
pub const ACTIVATION: bool = cfg!(feature = "op-activation");
/// See [`CONV_ANY`].
pub const MATH_UNARY: bool = cfg!(feature = "op-math-unary");
/// See [`CONV_ANY`].
pub const MATH_BINARY: bool = cfg!(feature = "op-math-binary");
/// See [`CONV_ANY`].
pub const SOFTMAX_PLAIN: bool = cfg!(feature = "op-softmax-plain");
/// See [`CONV_ANY`].
pub const SOFTMAX_LOG: bool = cfg!(feature = "op-softmax-log");
/// See [`CONV_ANY`].
pub const REDUCE: bool = cfg!(feature = "op-reduce");
/// See [`CONV_ANY`].
pub const NORMALIZATION: bool = cfg!(feature = "op-normalization");
/// See [`CONV_ANY`].
pub const QUANT: bool = cfg!(feature = "op-quant");
/// See [`CONV_ANY`].
pub const LAYOUT_TRANSPOSE: bool = cfg!(feature = "op-layout-transpose");
/// See [`CONV_ANY`].
pub const LAYOUT_CONCAT: bool = cfg!(feature = "op-layout-concat");
/// See [`CONV_ANY`].
pub const LAYOUT_PAD: bool = cfg!(feature = "op-layout-pad");
/// See [`CONV_ANY`].
pub const LAYOUT_GATHER: bool = cfg!(feature = "op-layout-gather");
/// See [`CONV_ANY`].
pub const LAYOUT_SLICE: bool = cfg!(feature = "op-layout-slice");

/// One line per part, in declaration order: the part, its name (the feature is `op-` + name,
/// the menuconfig option `RTONNX_OP_` + the name in capitals with `_` for `-`; the family is
/// the name up to its first `-`), whether this build has it, and the message of a load that
/// needs it in a build without it.
const TABLE: [(Part, &str, bool, &str); 21] = [
    (Part::ConvAny, "conv-any", CONV_ANY,
        "convolutions left out: enable RTONNX_OP_CONV_ANY (cargo feature op-conv-any)"),
    (Part::Conv3x3, "conv-3x3", CONV_3X3,
        "3x3 convolutions left out: enable RTONNX_OP_CONV_3X3 (cargo feature op-conv-3x3)"),
    (Part::Conv3x3Pool, "conv-3x3pool", CONV_3X3POOL,
        "pooled 3x3 convolutions left out: enable RTONNX_OP_CONV_3X3POOL (cargo feature op-conv-3x3pool)"),
    (Part::PoolWindow, "pool-window", POOL_WINDOW,
        "pooling left out: enable RTONNX_OP_POOL_WINDOW (cargo feature op-pool-window)"),
    (Part::PoolGlobal, "pool-global", POOL_GLOBAL,
        "global pooling left out: enable RTONNX_OP_POOL_GLOBAL (cargo feature op-pool-global)"),
    (Part::DenseLayer, "dense-layer", DENSE_LAYER,
        "dense layers left out: enable RTONNX_OP_DENSE_LAYER (cargo feature op-dense-layer)"),
    (Part::DenseGemm, "dense-gemm", DENSE_GEMM,
        "Gemm left out: enable RTONNX_OP_DENSE_GEMM (cargo feature op-dense-gemm)"),
    (Part::DenseBatched, "dense-batched", DENSE_BATCHED,
        "batched MatMul left out: enable RTONNX_OP_DENSE_BATCHED (cargo feature op-dense-batched)"),
    (Part::Activation, "activation", ACTIVATION,
        "activations left out: enable RTONNX_OP_ACTIVATION (cargo feature op-activation)"),
    (Part::MathUnary, "math-unary", MATH_UNARY,
        "element-wise math left out: enable RTONNX_OP_MATH_UNARY (cargo feature op-math-unary)"),
    (Part::MathBinary, "math-binary", MATH_BINARY,
        "arithmetic left out: enable RTONNX_OP_MATH_BINARY (cargo feature op-math-binary)"),
    (Part::SoftmaxPlain, "softmax-plain", SOFTMAX_PLAIN,
        "Softmax left out: enable RTONNX_OP_SOFTMAX_PLAIN (cargo feature op-softmax-plain)"),
    (Part::SoftmaxLog, "softmax-log", SOFTMAX_LOG,
        "LogSoftmax left out: enable RTONNX_OP_SOFTMAX_LOG (cargo feature op-softmax-log)"),
    (Part::Reduce, "reduce", REDUCE,
        "reductions left out: enable RTONNX_OP_REDUCE (cargo feature op-reduce)"),
    (Part::Normalization, "normalization", NORMALIZATION,
        "BatchNormalization left out: enable RTONNX_OP_NORMALIZATION (cargo feature op-normalization)"),
    (Part::Quant, "quant", QUANT,
        "QuantizeLinear/DequantizeLinear left out: enable RTONNX_OP_QUANT (cargo feature op-quant)"),
    (Part::LayoutTranspose, "layout-transpose", LAYOUT_TRANSPOSE,
        "Transpose left out: enable RTONNX_OP_LAYOUT_TRANSPOSE (cargo feature op-layout-transpose)"),
    (Part::LayoutConcat, "layout-concat", LAYOUT_CONCAT,
        "Concat left out: enable RTONNX_OP_LAYOUT_CONCAT (cargo feature op-layout-concat)"),
    (Part::LayoutPad, "layout-pad", LAYOUT_PAD,
        "Pad left out: enable RTONNX_OP_LAYOUT_PAD (cargo feature op-layout-pad)"),
    (Part::LayoutGather, "layout-gather", LAYOUT_GATHER,
        "Gather left out: enable RTONNX_OP_LAYOUT_GATHER (cargo feature op-layout-gather)"),
    (Part::LayoutSlice, "layout-slice", LAYOUT_SLICE,
        "Slice left out: enable RTONNX_OP_LAYOUT_SLICE (cargo feature op-layout-slice)"),
];

impl Part {
    /// Every part, in declaration order (`TABLE`'s).
    // Evaluated at compile time: an index out of range would fail the build, not panic.
    #[allow(clippy::indexing_slicing)]
    pub const ALL: [Part; TABLE.len()] = {
        let mut all = [Part::ConvAny; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn entry(self) -> (Part, &'static str, bool, &'static str) {
        // `TABLE` lists the variants in declaration order.
        TABLE
            .get(self as usize)
            .copied()
            .unwrap_or((self, "", false, ""))
    }

    /// The part's name: `conv-any`, `conv-3x3`, ... (the cargo feature is `op-` + name).
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// The name of the part's family (`conv` for `conv-3x3`; the cargo feature `op-conv`
    /// and the menuconfig switch `RTONNX_OP_CONV` group the family's parts).
    pub fn family(self) -> &'static str {
        let name = self.name();
        name.split('-').next().unwrap_or(name)
    }

    /// True when this build of the library has the part's kernels.
    pub fn enabled(self) -> bool {
        self.entry().2
    }

    /// The error of a load that needs this part in a build without it.
    pub fn missing(self) -> Error {
        err(ErrorCode::NotSupported, self.entry().3)
    }

    /// The part of a step kernel (`None`: a copy, which every build has).
    pub fn of(kernel: &Kernel) -> Option<Part> {
        format::part_of_kind(format::kind_of(kernel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    #[test]
    fn the_table_follows_the_declaration_order() {
        for (i, p) in Part::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i);
            assert_eq!(TABLE[i].0, *p);
            let option: String = p.name().to_ascii_uppercase().replace('-', "_");
            let message = TABLE[i].3;
            assert!(message.contains(&alloc::format!("RTONNX_OP_{option} ")));
            assert!(message.ends_with(&alloc::format!("(cargo feature op-{})", p.name())));
            // Whole in the C API's 128-byte message (a node name after it may be cut).
            let shown = ErrorCode::NotSupported.description().len() + 2 + message.len();
            assert!(shown < 128, "{message}");
        }
    }

    /// Cargo.toml's `op-` features: every part a feature of its own, every family a feature
    /// listing exactly its parts (a one-part family is the part).
    #[test]
    fn every_part_is_a_cargo_feature_and_every_family_lists_its_parts() {
        let cargo = include_str!("../../Cargo.toml");
        let features: Vec<(&str, Vec<&str>)> = cargo
            .lines()
            .filter_map(|l| {
                let (name, list) = l.strip_prefix("op-")?.split_once(" = [")?;
                let list = list.trim_end_matches(']');
                let parts = list
                    .split(',')
                    .map(|s| s.trim().trim_matches('"'))
                    .filter(|s| !s.is_empty())
                    .collect();
                Some((name, parts))
            })
            .collect();
        let leaves: Vec<&str> = features
            .iter()
            .filter(|f| f.1.is_empty())
            .map(|f| f.0)
            .collect();
        let names: Vec<&str> = Part::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(leaves, names);
        for (family, parts) in features.iter().filter(|f| !f.1.is_empty()) {
            let want: Vec<String> = Part::ALL
                .iter()
                .filter(|p| p.family() == *family)
                .map(|p| alloc::format!("op-{}", p.name()))
                .collect();
            assert_eq!(parts, &want, "op-{family}");
        }
        // This test build has them all.
        assert!(Part::ALL.iter().all(|p| p.enabled()));
    }
}
