//! The step kinds: each kernel's number, build part and parameter encoding, written and read.

use super::*;

// ---------------------------------------------------------------------------------------
// Kernels: one kind number each, then their parameters.

pub(super) const K_CONV: u32 = 1;
pub(super) const K_CONV_POOL: u32 = 2;
pub(super) const K_CONV_X86: u32 = 3;
pub(super) const K_CONV_BLOCKS: u32 = 4;
pub(super) const K_MAX_POOL: u32 = 5;
pub(super) const K_AVG_POOL: u32 = 6;
pub(super) const K_GLOBAL_AVG_POOL: u32 = 7;
pub(super) const K_GLOBAL_MAX_POOL: u32 = 8;
pub(super) const K_ACTIVATION: u32 = 9;
pub(super) const K_UNARY: u32 = 10;
pub(super) const K_REDUCE: u32 = 11;
pub(super) const K_SOFTMAX: u32 = 12;
pub(super) const K_DENSE: u32 = 13;
pub(super) const K_GEMM: u32 = 14;
pub(super) const K_MATMUL: u32 = 15;
pub(super) const K_BINARY: u32 = 16;
pub(super) const K_BATCH_NORM: u32 = 17;
pub(super) const K_TRANSPOSE: u32 = 18;
pub(super) const K_CONCAT: u32 = 19;
pub(super) const K_PAD: u32 = 20;
pub(super) const K_GATHER: u32 = 21;
pub(super) const K_SLICE: u32 = 22;
pub(super) const K_COPY: u32 = 23;
pub(super) const K_CONV_POOL_BLOCKS: u32 = 24;
pub(super) const K_LOG_SOFTMAX: u32 = 25;
pub(super) const K_QUANTIZE: u32 = 26;
pub(super) const K_DEQUANTIZE: u32 = 27;

/// The build part of a step kind (`None`: a copy, in every build, or an unknown kind).
pub(crate) const fn part_of_kind(kind: u32) -> Option<Part> {
    Some(match kind {
        K_CONV | K_CONV_POOL | K_CONV_X86 => Part::ConvAny,
        K_CONV_BLOCKS => Part::Conv3x3,
        K_CONV_POOL_BLOCKS => Part::Conv3x3Pool,
        K_MAX_POOL | K_AVG_POOL => Part::PoolWindow,
        K_GLOBAL_AVG_POOL | K_GLOBAL_MAX_POOL => Part::PoolGlobal,
        K_ACTIVATION => Part::Activation,
        K_UNARY => Part::MathUnary,
        K_BINARY => Part::MathBinary,
        K_REDUCE => Part::Reduce,
        K_SOFTMAX => Part::SoftmaxPlain,
        K_LOG_SOFTMAX => Part::SoftmaxLog,
        K_DENSE => Part::DenseLayer,
        K_GEMM => Part::DenseGemm,
        K_MATMUL => Part::DenseBatched,
        K_BATCH_NORM => Part::Normalization,
        K_QUANTIZE | K_DEQUANTIZE => Part::Quant,
        K_TRANSPOSE => Part::LayoutTranspose,
        K_CONCAT => Part::LayoutConcat,
        K_PAD => Part::LayoutPad,
        K_GATHER => Part::LayoutGather,
        K_SLICE => Part::LayoutSlice,
        _ => return None,
    })
}

/// The step kind of a kernel in the format.
pub(crate) fn kind_of(k: &Kernel) -> u32 {
    match k {
        Kernel::Conv { .. } => K_CONV,
        Kernel::ConvPool { blocks: false, .. } => K_CONV_POOL,
        Kernel::ConvPool { blocks: true, .. } => K_CONV_POOL_BLOCKS,
        #[cfg(target_arch = "x86_64")]
        Kernel::ConvX86(_) => K_CONV_X86,
        Kernel::ConvBlocks { .. } => K_CONV_BLOCKS,
        Kernel::MaxPool(_) => K_MAX_POOL,
        Kernel::AvgPool(_) => K_AVG_POOL,
        Kernel::GlobalAvgPool { .. } => K_GLOBAL_AVG_POOL,
        Kernel::GlobalMaxPool { .. } => K_GLOBAL_MAX_POOL,
        Kernel::Activation(_) => K_ACTIVATION,
        Kernel::Unary(_) => K_UNARY,
        Kernel::Reduce { .. } => K_REDUCE,
        Kernel::Softmax { log: false, .. } => K_SOFTMAX,
        Kernel::Softmax { log: true, .. } => K_LOG_SOFTMAX,
        Kernel::Dense { .. } => K_DENSE,
        Kernel::Gemm { .. } => K_GEMM,
        Kernel::MatMul(_) => K_MATMUL,
        Kernel::Binary { .. } => K_BINARY,
        Kernel::BatchNorm { .. } => K_BATCH_NORM,
        Kernel::Quant { quantize: true, .. } => K_QUANTIZE,
        Kernel::Quant {
            quantize: false, ..
        } => K_DEQUANTIZE,
        Kernel::Transpose { .. } => K_TRANSPOSE,
        Kernel::Concat { .. } => K_CONCAT,
        Kernel::Pad { .. } => K_PAD,
        Kernel::Gather { .. } => K_GATHER,
        Kernel::Slice { .. } => K_SLICE,
        Kernel::Copy => K_COPY,
    }
}

/// The fields of a struct of `usize`s, written and read in one order.
macro_rules! usize_fields {
    ($put:ident, $get:ident, $ty:ident { $($f:ident),* $(,)? } $($rest:tt)*) => {
        fn $put(w: &mut Writer, p: &$ty) -> Result<()> {
            $( w.usize(p.$f)?; )*
            Ok(())
        }
        fn $get(r: &mut Reader<'_>) -> FaultResult<$ty> {
            Ok($ty { $( $f: r.usize()?, )* $($rest)* })
        }
    };
}

usize_fields!(
    put_conv,
    get_conv,
    Conv2d {
        batch,
        in_channels,
        in_h,
        in_w,
        out_channels,
        out_h,
        out_w,
        kernel_h,
        kernel_w,
        stride_h,
        stride_w,
        dilation_h,
        dilation_w,
        pad_top,
        pad_left,
        group,
    }
);

usize_fields!(put_pool_dims, get_pool_dims, Pool2d {
    batch, channels, in_h, in_w, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w,
    dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right,
} count_include_pad: false);

pub(super) fn put_pool(w: &mut Writer, p: &Pool2d) -> Result<()> {
    put_pool_dims(w, p)?;
    w.bool(p.count_include_pad)
}

pub(super) fn get_pool(r: &mut Reader<'_>) -> FaultResult<Pool2d> {
    let p = get_pool_dims(r)?;
    Ok(Pool2d {
        count_include_pad: r.bool()?,
        ..p
    })
}

pub(super) fn put_act(w: &mut Writer, a: Activation) -> Result<()> {
    let (tag, x, y) = match a {
        Activation::None => (0, 0.0, 0.0),
        Activation::Relu => (1, 0.0, 0.0),
        Activation::LeakyRelu { alpha } => (2, alpha, 0.0),
        Activation::Sigmoid => (3, 0.0, 0.0),
        Activation::Tanh => (4, 0.0, 0.0),
        Activation::Clip { min, max } => (5, min, max),
    };
    w.word(tag)?;
    w.f32(x)?;
    w.f32(y)
}

pub(super) fn get_act(r: &mut Reader<'_>) -> FaultResult<Activation> {
    let (tag, x, y) = (r.word()?, r.f32()?, r.f32()?);
    Ok(match tag {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::LeakyRelu { alpha: x },
        3 => Activation::Sigmoid,
        4 => Activation::Tanh,
        5 => Activation::Clip { min: x, max: y },
        _ => return Err(malformed_f("plan: unknown activation")),
    })
}

pub(super) fn put_unary(w: &mut Writer, op: UnaryOp) -> Result<()> {
    let (tag, x, y) = match op {
        UnaryOp::Abs => (0, 0.0, 0.0),
        UnaryOp::Neg => (1, 0.0, 0.0),
        UnaryOp::Exp => (2, 0.0, 0.0),
        UnaryOp::Log => (3, 0.0, 0.0),
        UnaryOp::Sqrt => (4, 0.0, 0.0),
        UnaryOp::Reciprocal => (5, 0.0, 0.0),
        UnaryOp::Floor => (6, 0.0, 0.0),
        UnaryOp::Ceil => (7, 0.0, 0.0),
        UnaryOp::Elu { alpha } => (8, alpha, 0.0),
        UnaryOp::Selu { alpha, gamma } => (9, alpha, gamma),
        UnaryOp::HardSigmoid { alpha, beta } => (10, alpha, beta),
        UnaryOp::HardSwish => (11, 0.0, 0.0),
        UnaryOp::Softplus => (12, 0.0, 0.0),
        UnaryOp::Softsign => (13, 0.0, 0.0),
        UnaryOp::Erf => (14, 0.0, 0.0),
    };
    w.word(tag)?;
    w.f32(x)?;
    w.f32(y)
}

pub(super) fn get_unary(r: &mut Reader<'_>) -> FaultResult<UnaryOp> {
    let (tag, x, y) = (r.word()?, r.f32()?, r.f32()?);
    Ok(match tag {
        0 => UnaryOp::Abs,
        1 => UnaryOp::Neg,
        2 => UnaryOp::Exp,
        3 => UnaryOp::Log,
        4 => UnaryOp::Sqrt,
        5 => UnaryOp::Reciprocal,
        6 => UnaryOp::Floor,
        7 => UnaryOp::Ceil,
        8 => UnaryOp::Elu { alpha: x },
        9 => UnaryOp::Selu { alpha: x, gamma: y },
        10 => UnaryOp::HardSigmoid { alpha: x, beta: y },
        11 => UnaryOp::HardSwish,
        12 => UnaryOp::Softplus,
        13 => UnaryOp::Softsign,
        14 => UnaryOp::Erf,
        _ => return Err(malformed_f("plan: unknown unary operator")),
    })
}

pub(super) const REDUCE_OPS: [ReduceOp; 10] = [
    ReduceOp::Sum,
    ReduceOp::Mean,
    ReduceOp::Max,
    ReduceOp::Min,
    ReduceOp::Prod,
    ReduceOp::SumSquare,
    ReduceOp::L1,
    ReduceOp::L2,
    ReduceOp::LogSum,
    ReduceOp::LogSumExp,
];

pub(super) const BINARY_OPS: [BinaryOp; 7] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Pow,
    BinaryOp::Max,
    BinaryOp::Min,
];

pub(super) const GEMM_BIAS: [GemmBias; 5] = [
    GemmBias::None,
    GemmBias::Scalar,
    GemmBias::Row,
    GemmBias::Column,
    GemmBias::Full,
];

/// The index of `x` in `table` (every value of these enums is listed).
pub(super) fn index_in<T: PartialEq>(table: &[T], x: &T) -> Result<u32> {
    let i = table
        .iter()
        .position(|t| t == x)
        .ok_or_else(|| malformed("plan: enum value"))?;
    Ok(i as u32)
}

pub(super) fn from_table<T: Copy>(
    table: &[T],
    r: &mut Reader<'_>,
    what: &'static str,
) -> FaultResult<T> {
    let i = r.usize()?;
    table.get(i).copied().ok_or_else(|| malformed_f(what))
}

pub(super) fn put_dims(w: &mut Writer, d: &Dims) -> Result<()> {
    w.usizes(d.as_slice())
}

pub(super) fn put_signed(w: &mut Writer, d: &SignedDims) -> Result<()> {
    w.usize(d.as_slice().len())?;
    d.as_slice().iter().try_for_each(|&v| w.i64(v))
}

pub(super) fn put_kernel(w: &mut Writer, k: &Kernel) -> Result<()> {
    match k {
        Kernel::Conv { p, act } | Kernel::ConvBlocks { p, act } => {
            put_conv(w, p)?;
            put_act(w, *act)
        }
        Kernel::ConvPool {
            p, act, pool, max, ..
        } => {
            put_conv(w, p)?;
            put_act(w, *act)?;
            put_pool(w, pool)?;
            w.bool(*max)
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::ConvX86(k) => {
            put_conv(w, k.conv())?;
            put_act(w, k.act())?;
            match k.pool() {
                Some((pool, max)) => {
                    w.bool(true)?;
                    put_pool(w, &pool)?;
                    w.bool(max)
                }
                None => w.bool(false),
            }
        }
        Kernel::MaxPool(p) | Kernel::AvgPool(p) => put_pool(w, p),
        Kernel::GlobalAvgPool { planes, plane_len }
        | Kernel::GlobalMaxPool { planes, plane_len } => {
            w.usize(*planes)?;
            w.usize(*plane_len)
        }
        Kernel::Activation(a) => put_act(w, *a),
        Kernel::Unary(op) => put_unary(w, *op),
        Kernel::Reduce { op, p } => {
            w.word(index_in(&REDUCE_OPS, op)?)?;
            w.usize(p.rank)?;
            w.array(p.rank, &p.shape)?;
            p.reduced.iter().take(p.rank).try_for_each(|&b| w.bool(b))
        }
        // LogSoftmax is a kind of its own (a part of its own).
        Kernel::Softmax {
            outer,
            axis_len,
            inner,
            ..
        } => {
            w.usize(*outer)?;
            w.usize(*axis_len)?;
            w.usize(*inner)
        }
        Kernel::Dense { m, k, n, act } => {
            w.usize(*m)?;
            w.usize(*k)?;
            w.usize(*n)?;
            put_act(w, *act)
        }
        Kernel::Gemm { p, act } => {
            w.usize(p.m)?;
            w.usize(p.k)?;
            w.usize(p.n)?;
            w.bool(p.trans_a)?;
            w.bool(p.trans_b)?;
            w.f32(p.alpha)?;
            w.f32(p.beta)?;
            w.word(index_in(&GEMM_BIAS, &p.bias)?)?;
            put_act(w, *act)
        }
        Kernel::MatMul(p) => {
            w.usize(p.m)?;
            w.usize(p.k)?;
            w.usize(p.n)?;
            w.usize(p.rank)?;
            w.array(p.rank, &p.batch_shape)?;
            w.array(p.rank, &p.a_batch_strides)?;
            w.array(p.rank, &p.b_batch_strides)
        }
        Kernel::Binary { op, bc } => {
            w.word(index_in(&BINARY_OPS, op)?)?;
            w.usize(bc.rank)?;
            w.array(bc.rank, &bc.out_shape)?;
            w.array(bc.rank, &bc.a_strides)?;
            w.array(bc.rank, &bc.b_strides)?;
            w.usize(bc.full_rank)?;
            w.array(bc.full_rank, &bc.full_shape)
        }
        Kernel::BatchNorm {
            batch,
            channels,
            plane,
        } => {
            w.usize(*batch)?;
            w.usize(*channels)?;
            w.usize(*plane)
        }
        // Quantize and dequantize are kinds of their own.
        Kernel::Quant { q, .. } => {
            w.usize(q.outer)?;
            w.usize(q.channels)?;
            w.usize(q.inner)?;
            w.f32(q.lo)?;
            w.f32(q.hi)
        }
        Kernel::Transpose { shape, perm } => {
            put_dims(w, shape)?;
            put_dims(w, perm)
        }
        Kernel::Concat { outer, inners } => {
            w.usize(*outer)?;
            w.usizes(inners)
        }
        Kernel::Pad {
            shape,
            begin,
            end,
            value,
        } => {
            put_dims(w, shape)?;
            put_signed(w, begin)?;
            put_signed(w, end)?;
            w.f32(*value)
        }
        Kernel::Gather {
            outer,
            axis_len,
            inner,
            indices,
        } => {
            w.usize(*outer)?;
            w.usize(*axis_len)?;
            w.usize(*inner)?;
            w.usize(indices.len())?;
            indices.iter().try_for_each(|&i| w.i64(i))
        }
        Kernel::Slice {
            shape,
            starts,
            steps,
            out,
        } => {
            put_dims(w, shape)?;
            put_dims(w, starts)?;
            put_signed(w, steps)?;
            put_dims(w, out)
        }
        Kernel::Copy => Ok(()),
    }
}

/// A rank above [`MAX_RANK`] in a plan.
pub(super) const fn rank_fault() -> Fault {
    fault(ErrorCode::LimitExceeded, "plan: rank above 8")
}

/// Reads a kernel of `kind` into `out`.
pub(super) fn get_kernel(r: &mut Reader<'_>, kind: u32, out: &mut Kernel) -> Result<()> {
    *out = match kind {
        K_CONV if parts::CONV_ANY => Kernel::Conv {
            p: get_conv(r)?,
            act: get_act(r)?,
        },
        K_CONV_BLOCKS if parts::CONV_3X3 => Kernel::ConvBlocks {
            p: get_conv(r)?,
            act: get_act(r)?,
        },
        K_CONV_POOL | K_CONV_POOL_BLOCKS
            if (kind == K_CONV_POOL && parts::CONV_ANY)
                || (kind == K_CONV_POOL_BLOCKS && parts::CONV_3X3POOL) =>
        {
            Kernel::ConvPool {
                p: get_conv(r)?,
                act: get_act(r)?,
                pool: get_pool(r)?,
                max: r.bool()?,
                blocks: kind == K_CONV_POOL_BLOCKS,
            }
        }
        // Read as its portable form; `specialise` packs it for this CPU.
        K_CONV_X86 if parts::CONV_ANY => {
            let (p, act) = (get_conv(r)?, get_act(r)?);
            if r.bool()? {
                let pool = get_pool(r)?;
                Kernel::ConvPool {
                    p,
                    act,
                    pool,
                    max: r.bool()?,
                    blocks: parts::CONV_3X3POOL && crate::ops::fused::blocks_apply(&p, &pool),
                }
            } else {
                Kernel::Conv { p, act }
            }
        }
        K_MAX_POOL if parts::POOL_WINDOW => Kernel::MaxPool(get_pool(r)?),
        K_AVG_POOL if parts::POOL_WINDOW => Kernel::AvgPool(get_pool(r)?),
        K_GLOBAL_AVG_POOL if parts::POOL_GLOBAL => Kernel::GlobalAvgPool {
            planes: r.usize()?,
            plane_len: r.usize()?,
        },
        K_GLOBAL_MAX_POOL if parts::POOL_GLOBAL => Kernel::GlobalMaxPool {
            planes: r.usize()?,
            plane_len: r.usize()?,
        },
        K_ACTIVATION if parts::ACTIVATION => Kernel::Activation(get_act(r)?),
        K_UNARY if parts::MATH_UNARY => Kernel::Unary(get_unary(r)?),
        K_REDUCE if parts::REDUCE => {
            let op = from_table(&REDUCE_OPS, r, "plan: unknown reduction")?;
            let rank = r.rank()?;
            let shape = r.array(rank)?;
            let mut reduced = [false; MAX_RANK];
            for b in reduced.get_mut(..rank).unwrap_or(&mut []) {
                *b = r.bool()?;
            }
            let p = Reduce::new(
                shape.get(..rank).unwrap_or(&[]),
                reduced.get(..rank).unwrap_or(&[]),
            )
            .ok_or_else(|| malformed("plan: reduction geometry"))?;
            Kernel::Reduce { op, p }
        }
        K_SOFTMAX | K_LOG_SOFTMAX
            if (kind == K_SOFTMAX && parts::SOFTMAX_PLAIN)
                || (kind == K_LOG_SOFTMAX && parts::SOFTMAX_LOG) =>
        {
            Kernel::Softmax {
                outer: r.usize()?,
                axis_len: r.usize()?,
                inner: r.usize()?,
                log: kind == K_LOG_SOFTMAX,
            }
        }
        K_DENSE if parts::DENSE_LAYER => Kernel::Dense {
            m: r.usize()?,
            k: r.usize()?,
            n: r.usize()?,
            act: get_act(r)?,
        },
        K_GEMM if parts::DENSE_GEMM => Kernel::Gemm {
            p: Gemm {
                m: r.usize()?,
                k: r.usize()?,
                n: r.usize()?,
                trans_a: r.bool()?,
                trans_b: r.bool()?,
                alpha: r.f32()?,
                beta: r.f32()?,
                bias: from_table(&GEMM_BIAS, r, "plan: unknown Gemm bias")?,
            },
            act: get_act(r)?,
        },
        K_MATMUL if parts::DENSE_BATCHED => {
            let (m, k, n, rank) = (r.usize()?, r.usize()?, r.usize()?, r.rank()?);
            Kernel::MatMul(BatchedMatMul {
                m,
                k,
                n,
                rank,
                batch_shape: r.array(rank)?,
                a_batch_strides: r.array(rank)?,
                b_batch_strides: r.array(rank)?,
            })
        }
        K_BINARY if parts::MATH_BINARY => {
            let op = from_table(&BINARY_OPS, r, "plan: unknown binary operator")?;
            let rank = r.rank()?;
            let (out_shape, a_strides, b_strides) =
                (r.array(rank)?, r.array(rank)?, r.array(rank)?);
            let full_rank = r.rank()?;
            let bc = Broadcast {
                rank,
                out_shape,
                a_strides,
                b_strides,
                full_rank,
                full_shape: r.array(full_rank)?,
            };
            Kernel::Binary { op, bc }
        }
        K_BATCH_NORM if parts::NORMALIZATION => Kernel::BatchNorm {
            batch: r.usize()?,
            channels: r.usize()?,
            plane: r.usize()?,
        },
        K_QUANTIZE | K_DEQUANTIZE if parts::QUANT => Kernel::Quant {
            q: crate::ops::quant::Quant {
                outer: r.usize()?,
                channels: r.usize()?,
                inner: r.usize()?,
                lo: r.f32()?,
                hi: r.f32()?,
            },
            quantize: kind == K_QUANTIZE,
        },
        K_TRANSPOSE if parts::LAYOUT_TRANSPOSE => Kernel::Transpose {
            shape: r.dims()?,
            perm: r.dims()?,
        },
        K_CONCAT if parts::LAYOUT_CONCAT => {
            let outer = r.usize()?;
            let n = r.count(1)?;
            let mut inners = Vec::new();
            inners.try_reserve_exact(n)?;
            for _ in 0..n {
                inners.push(r.usize()?);
            }
            Kernel::Concat { outer, inners }
        }
        K_PAD if parts::LAYOUT_PAD => Kernel::Pad {
            shape: r.dims()?,
            begin: r.signed()?,
            end: r.signed()?,
            value: r.f32()?,
        },
        K_GATHER if parts::LAYOUT_GATHER => {
            let (outer, axis_len, inner) = (r.usize()?, r.usize()?, r.usize()?);
            let n = r.count(2)?;
            let mut indices = Vec::new();
            indices.try_reserve_exact(n)?;
            for _ in 0..n {
                indices.push(r.i64()?);
            }
            Kernel::Gather {
                outer,
                axis_len,
                inner,
                indices,
            }
        }
        K_SLICE if parts::LAYOUT_SLICE => Kernel::Slice {
            shape: r.dims()?,
            starts: r.dims()?,
            steps: r.signed()?,
            out: r.dims()?,
        },
        K_COPY => Kernel::Copy,
        // A kind of a part this build leaves out, or none at all.
        _ => {
            return Err(
                part_of_kind(kind).map_or(malformed("plan: unknown step kind"), |p| p.missing())
            )
        }
    };
    Ok(())
}
