//! Plan steps and their execution over the arena.
//!
//! A [`Step`] is one kernel call with its parameters fixed at load time and its operands
//! resolved to ranges of the activation arena or of the weight store. Executing a step
//! never allocates.

use alloc::vec::Vec;

use crate::error::{err, fault, ErrorCode, Fault, FaultResult, Result};
// Kernels by path (`ops::conv::conv2d`): a build without a family uses none of its module.
#[allow(unused_imports)]
use crate::ops;
use crate::ops::activation::Activation;
use crate::ops::binary::{BinaryOp, Broadcast};
use crate::ops::conv::Conv2d;
use crate::ops::matmul::{BatchedMatMul, Gemm};
use crate::ops::pool::Pool2d;
use crate::ops::reduce::{Reduce, ReduceOp};
use crate::ops::unary::UnaryOp;
use crate::ops::MAX_RANK;

/// Where an operand lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// Compile time only: a runtime buffer id, resolved by the memory plan.
    Buf(usize),
    /// Compile time only: a constant id, resolved when weights are packed.
    Const(usize),
    /// Elements `off..off + len` of the activation arena.
    Arena {
        /// First element.
        off: usize,
        /// Number of elements.
        len: usize,
    },
    /// Elements `off..off + len` of the weight store.
    Weight {
        /// First element.
        off: usize,
        /// Number of elements.
        len: usize,
    },
    /// A weight tensor the model owns as a block of its own (`chunk` in the chunk table):
    /// constants computed or copied at load time are moved there, not copied again.
    Owned {
        /// Chunk index.
        chunk: usize,
        /// Number of elements.
        len: usize,
    },
    /// A weight tensor used in place from the model buffer (`seg` in the segment table).
    Static {
        /// Segment index.
        seg: usize,
        /// Number of elements.
        len: usize,
    },
    /// Graph input `index`, read where the caller's buffer lies (inputs are never copied
    /// into the arena and never written).
    Input {
        /// Graph input index.
        index: usize,
        /// Number of elements.
        len: usize,
    },
}

/// The read-only operands of a plan: copied weights, weights used in place, and the
/// caller's inputs.
#[derive(Clone, Copy, Debug)]
pub struct Weights<'w> {
    /// Weights copied into the model.
    pub owned: &'w [f32],
    /// Weights borrowed from a model buffer that outlives the model.
    pub segments: &'w [&'static [f32]],
    /// Weights owned by the model, one block per tensor.
    pub chunks: &'w [Vec<f32>],
    /// The caller's graph inputs of the current run.
    pub inputs: &'w [&'w [f32]],
}

impl<'w> Weights<'w> {
    /// The slice a weight location names.
    pub fn get(&self, loc: Loc) -> Option<&'w [f32]> {
        match loc {
            Loc::Weight { off, len } => self.owned.get(off..off.checked_add(len)?),
            Loc::Static { seg, len } => self.segments.get(seg).and_then(|s| s.get(..len)),
            Loc::Owned { chunk, len } => self.chunks.get(chunk).and_then(|s| s.get(..len)),
            Loc::Input { index, len } => self.inputs.get(index).and_then(|s| s.get(..len)),
            _ => None,
        }
    }
}

/// A fixed-capacity list of per-axis values (no allocation at run time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AxisValues<T> {
    len: usize,
    values: [T; MAX_RANK],
}

/// Dimensions, starts, permutations.
pub type Dims = AxisValues<usize>;
/// Signed per-axis values (pads, steps).
pub type SignedDims = AxisValues<i64>;

impl<T: Copy + Default> AxisValues<T> {
    /// Copies `values`, failing beyond [`MAX_RANK`].
    pub fn new(values: &[T]) -> Result<AxisValues<T>> {
        let mut d = AxisValues {
            len: 0,
            values: [T::default(); MAX_RANK],
        };
        let dst = d
            .values
            .get_mut(..values.len())
            .ok_or_else(|| err(ErrorCode::LimitExceeded, "tensor rank above 8"))?;
        dst.copy_from_slice(values);
        d.len = values.len();
        Ok(d)
    }
    /// The values.
    pub fn as_slice(&self) -> &[T] {
        self.values.get(..self.len).unwrap_or(&[])
    }
}

/// The kernel a step runs, with its load-time parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    /// Convolution (+ fused activation). Inputs: x, w, optional bias.
    Conv {
        /// Geometry.
        p: Conv2d,
        /// Fused activation.
        act: Activation,
    },
    /// Convolution (+ activation) and pooling in one step. Inputs: x, w, optional bias, and
    /// last a scratch buffer written by this step (`ops::fused::scratch_len`).
    ConvPool {
        /// Convolution geometry.
        p: Conv2d,
        /// Fused activation.
        act: Activation,
        /// Pooling of one conv plane.
        pool: Pool2d,
        /// MaxPool (else AveragePool).
        max: bool,
        /// Chosen by the compiler: the 3x3 blocks, each pooling window one 2x2 block
        /// (`ops::fused::conv3x3_pool2x2`, part `conv-3x3pool`), or plane by plane
        /// (`ops::fused::conv_then_pool`, part `conv-any`).
        blocks: bool,
    },
    /// Convolution (+ activation, + 2x2 pooling) with its weights packed at load time for the
    /// x86-64 AVX2 + FMA kernel (only built when the CPU has both). Inputs: those of `Conv`, or
    /// of `ConvPool` when it pools; the file's weights stay an operand, for the portable
    /// kernel should the packed one not run.
    #[cfg(target_arch = "x86_64")]
    ConvX86(crate::ops::conv_x86::PackedConv),
    /// 3x3 stride-1 convolution (+ activation) computed in 2x2 output blocks
    /// (`conv::conv3x3_plain`). Inputs: x, w, optional bias, and last a scratch ring of
    /// padded input rows written by this step.
    ConvBlocks {
        /// Geometry.
        p: Conv2d,
        /// Fused activation.
        act: Activation,
    },
    /// Max pooling. Input: x.
    MaxPool(Pool2d),
    /// Average pooling. Input: x.
    AvgPool(Pool2d),
    /// Global average pooling over `planes` planes of `plane_len`. Input: x.
    GlobalAvgPool {
        /// Batch times channels.
        planes: usize,
        /// Spatial size.
        plane_len: usize,
    },
    /// Global max pooling. Input: x.
    GlobalMaxPool {
        /// Batch times channels.
        planes: usize,
        /// Spatial size.
        plane_len: usize,
    },
    /// Element-wise activation. Input: x (may be the output: in place).
    Activation(Activation),
    /// Element-wise math function. Input: x (may be the output: in place).
    Unary(UnaryOp),
    /// Reduction over a set of axes. Input: x.
    Reduce {
        /// The reduction.
        op: ReduceOp,
        /// Geometry.
        p: Reduce,
    },
    /// Softmax or LogSoftmax over `[outer, axis_len, inner]`. Input: x (may be in place).
    Softmax {
        /// Product of the dims before the axis.
        outer: usize,
        /// Size of the normalised axis (or coerced block).
        axis_len: usize,
        /// Product of the dims after the axis.
        inner: usize,
        /// LogSoftmax instead of Softmax.
        log: bool,
    },
    /// Dense layer `x[m,k] * w[k,n] + bias` (+ activation). Inputs: x, w, optional bias.
    Dense {
        /// Rows.
        m: usize,
        /// Inner size.
        k: usize,
        /// Columns.
        n: usize,
        /// Fused activation.
        act: Activation,
    },
    /// Gemm (+ activation). Inputs: a, b, optional c.
    Gemm {
        /// Geometry and scalars.
        p: Gemm,
        /// Fused activation.
        act: Activation,
    },
    /// Batched MatMul with broadcasting. Inputs: a, b.
    MatMul(BatchedMatMul),
    /// Broadcasting binary arithmetic. Inputs: a, b (a may be the output: in place).
    Binary {
        /// Operation.
        op: BinaryOp,
        /// Broadcast geometry.
        bc: Broadcast,
    },
    /// QuantizeLinear (`quantize`) or DequantizeLinear over float32 tensors carrying the
    /// integers (`ops::quant`). Inputs: x, scale, optional zero point.
    Quant {
        /// Geometry and saturation.
        q: crate::ops::quant::Quant,
        /// Quantize (else dequantize).
        quantize: bool,
    },
    /// Inference batch normalisation `x*scale[c] + shift[c]`. Inputs: x, scale, shift.
    BatchNorm {
        /// Batch size.
        batch: usize,
        /// Channels.
        channels: usize,
        /// Spatial size.
        plane: usize,
    },
    /// Transpose. Input: x.
    Transpose {
        /// Input shape.
        shape: Dims,
        /// Permutation.
        perm: Dims,
    },
    /// Concat along an axis: inputs viewed as `[outer, inner_i]`, output `[outer, sum inner_i]`.
    Concat {
        /// Product of the dims before the axis.
        outer: usize,
        /// Per input, its axis size times the inner size.
        inners: Vec<usize>,
    },
    /// Constant-mode Pad. Input: x.
    Pad {
        /// Input shape.
        shape: Dims,
        /// Pads before each axis (negative crops).
        begin: SignedDims,
        /// Pads after each axis.
        end: SignedDims,
        /// Fill value.
        value: f32,
    },
    /// Gather with constant indices along an axis. Input: x.
    Gather {
        /// Product of the dims before the axis.
        outer: usize,
        /// Size of the axis.
        axis_len: usize,
        /// Product of the dims after the axis.
        inner: usize,
        /// The indices (validated at load time).
        indices: Vec<i64>,
    },
    /// Strided slice. Input: x.
    Slice {
        /// Input shape.
        shape: Dims,
        /// First index per axis.
        starts: Dims,
        /// Step per axis.
        steps: SignedDims,
        /// Output shape.
        out: Dims,
    },
    /// Copies the input to the output.
    Copy,
}

/// One step of the execution plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The kernel and its parameters.
    pub kernel: Kernel,
    /// Operands, in the kernel's order (absent optional operands are not listed; see `has_bias`).
    pub inputs: Vec<Loc>,
    /// The output.
    pub output: Loc,
}

fn range(loc: Loc) -> FaultResult<(bool, usize, usize)> {
    match loc {
        Loc::Arena { off, len } => Ok((true, off, len)),
        Loc::Weight { off, len } => Ok((false, off, len)),
        Loc::Static { len, .. } | Loc::Owned { len, .. } | Loc::Input { len, .. } => {
            Ok((false, 0, len))
        }
        _ => Err(bad_operand("unresolved operand")),
    }
}

/// The fault of a step whose operands do not fit (out of line: every check shares it).
#[cold]
#[inline(never)]
fn bad_operand(detail: &'static str) -> Fault {
    fault(ErrorCode::InvalidArgument, detail)
}

/// Splits the arena around the output so inputs can be read while the output is written.
struct Split<'s> {
    before: &'s [f32],
    after: &'s [f32],
    out_start: usize,
    out_end: usize,
    weights: &'s Weights<'s>,
}

impl<'s> Split<'s> {
    fn get(&self, loc: Loc) -> FaultResult<&'s [f32]> {
        let (arena, off, len) = range(loc)?;
        let end = off
            .checked_add(len)
            .ok_or_else(|| bad_operand("operand range overflows"))?;
        let bad = || bad_operand("operand out of range");
        if !arena {
            return self.weights.get(loc).ok_or_else(bad);
        }
        if end <= self.out_start {
            self.before.get(off..end).ok_or_else(bad)
        } else if off >= self.out_end {
            self.after
                .get(off - self.out_end..end - self.out_end)
                .ok_or_else(bad)
        } else {
            Err(bad_operand("operand overlaps output"))
        }
    }
}

impl Step {
    /// Runs the step over `arena` (activations) and `weights`.
    /// (`weights` by reference: a step call then passes one pointer, not the four slices.)
    ///
    /// The three ways of running a step (with scratch, in place, reading other ranges) are
    /// out of line, this dispatch inlined into the loop over the steps: the stack an
    /// inference takes is then that loop's frame plus the one way and kernel the step runs,
    /// not the frames of every kernel inlined into the loop. The results are [`Fault`]s
    /// (12 bytes) for the same reason.
    #[inline(always)]
    pub fn execute(&self, arena: &mut [f32], weights: &Weights<'_>) -> FaultResult<()> {
        // Each way takes the step, the arena and the weights alone (arguments in registers).
        match &self.kernel {
            #[cfg(any(
                feature = "op-conv-any",
                feature = "op-conv-3x3",
                feature = "op-conv-3x3pool"
            ))]
            Kernel::ConvPool { .. } | Kernel::ConvBlocks { .. } => {
                self.execute_with_scratch(arena, weights)
            }
            #[cfg(all(target_arch = "x86_64", feature = "op-conv-any"))]
            Kernel::ConvX86(k) if k.pool().is_some() => self.execute_with_scratch(arena, weights),
            // In-place kernels read and write the same range.
            _ if self.inputs.first() == Some(&self.output) => self.execute_in_place(arena),
            _ => self.execute_split(arena, weights),
        }
    }

    /// The output's range of the arena, `(offset, length)`; None when it is empty (the step
    /// then does nothing).
    #[inline(always)]
    fn out_range(&self) -> FaultResult<Option<(usize, usize)>> {
        let (is_arena, out_off, out_len) = range(self.output)?;
        if !is_arena {
            return Err(bad_operand("output must be in the arena"));
        }
        out_off
            .checked_add(out_len)
            .ok_or_else(|| bad_operand("operand range overflows"))?;
        Ok((out_len != 0).then_some((out_off, out_len)))
    }

    /// A step that reads other ranges than it writes: the arena split around the output.
    #[inline(never)]
    fn execute_split(&self, arena: &mut [f32], weights: &Weights<'_>) -> FaultResult<()> {
        let Some((out_off, out_len)) = self.out_range()? else {
            return Ok(());
        };
        let out_end = out_off + out_len;
        let (before, rest) = arena.split_at_mut(out_off.min(arena.len()));
        let (y, after) = rest.split_at_mut(out_len.min(rest.len()));
        if y.len() != out_len {
            return Err(bad_operand("operand out of range"));
        }
        let s = Split {
            before,
            after,
            out_start: out_off,
            out_end,
            weights,
        };
        let input = |i: usize| -> FaultResult<&[f32]> {
            let loc = *self
                .inputs
                .get(i)
                .ok_or_else(|| bad_operand("missing operand"))?;
            s.get(loc)
        };
        // Unused in a build without the conv and dense families.
        #[allow(unused_variables)]
        let optional = |i: usize| -> FaultResult<Option<&[f32]>> {
            match self.inputs.get(i) {
                Some(loc) => s.get(*loc).map(Some),
                None => Ok(None),
            }
        };
        match &self.kernel {
            #[cfg(feature = "op-conv-any")]
            Kernel::Conv { p, act } => {
                ops::conv::conv2d(p, input(0)?, input(1)?, optional(2)?, *act, y)
            }
            Kernel::ConvPool { .. } | Kernel::ConvBlocks { .. } => {
                return Err(bad_operand("scratch step dispatch"))
            }
            #[cfg(all(target_arch = "x86_64", feature = "op-conv-any"))]
            Kernel::ConvX86(k) => {
                let (x, w, b) = (input(0)?, input(1)?, optional(2)?);
                if !k.run(x, b, y) {
                    ops::conv::conv2d(k.conv(), x, w, b, k.act(), y)
                }
            }
            #[cfg(feature = "op-pool-window")]
            Kernel::MaxPool(p) => ops::pool::max_pool2d(p, input(0)?, y),
            #[cfg(feature = "op-pool-window")]
            Kernel::AvgPool(p) => ops::pool::avg_pool2d(p, input(0)?, y),
            #[cfg(feature = "op-pool-global")]
            Kernel::GlobalAvgPool { planes, plane_len } => {
                ops::pool::global_avg_pool(input(0)?, y, *planes, *plane_len)
            }
            #[cfg(feature = "op-pool-global")]
            Kernel::GlobalMaxPool { planes, plane_len } => {
                ops::pool::global_max_pool(input(0)?, y, *planes, *plane_len)
            }
            #[cfg(feature = "op-activation")]
            Kernel::Activation(act) => ops::activation::activation(*act, input(0)?, y),
            #[cfg(feature = "op-math-unary")]
            Kernel::Unary(op) => ops::unary::unary(*op, input(0)?, y),
            #[cfg(feature = "op-reduce")]
            Kernel::Reduce { op, p } => ops::reduce::reduce(*op, p, input(0)?, y),
            #[cfg(feature = "op-softmax-plain")]
            Kernel::Softmax {
                outer,
                axis_len,
                inner,
                log: false,
            } => ops::softmax::softmax(input(0)?, y, *outer, *axis_len, *inner),
            #[cfg(feature = "op-softmax-log")]
            Kernel::Softmax {
                outer,
                axis_len,
                inner,
                log: true,
            } => ops::softmax::log_softmax(input(0)?, y, *outer, *axis_len, *inner),
            #[cfg(feature = "op-dense-layer")]
            Kernel::Dense { m, k, n, act } => {
                ops::matmul::dense(input(0)?, input(1)?, optional(2)?, *act, y, *m, *k, *n)
            }
            #[cfg(feature = "op-dense-gemm")]
            Kernel::Gemm { p, act } => {
                ops::matmul::gemm(p, input(0)?, input(1)?, optional(2)?, *act, y)
            }
            #[cfg(feature = "op-dense-batched")]
            Kernel::MatMul(p) => ops::matmul::batched_matmul(p, input(0)?, input(1)?, y),
            #[cfg(feature = "op-math-binary")]
            Kernel::Binary { op, bc } => ops::binary::binary(*op, bc, input(0)?, input(1)?, y),
            #[cfg(feature = "op-quant")]
            Kernel::Quant { q, quantize } => {
                let (x, scale, zero) = (input(0)?, input(1)?, optional(2)?);
                if *quantize {
                    ops::quant::quantize(q, x, scale, zero, y)
                } else {
                    ops::quant::dequantize(q, x, scale, zero, y)
                }
            }
            #[cfg(feature = "op-normalization")]
            Kernel::BatchNorm {
                batch,
                channels,
                plane,
            } => ops::normalization::batch_norm(
                input(0)?,
                y,
                *batch,
                *channels,
                *plane,
                input(1)?,
                input(2)?,
            ),
            #[cfg(feature = "op-layout-transpose")]
            Kernel::Transpose { shape, perm } => {
                ops::layout::transpose(input(0)?, y, shape.as_slice(), perm.as_slice())
            }
            #[cfg(feature = "op-layout-concat")]
            Kernel::Concat { outer, inners } => {
                let y_inner: usize = inners.iter().sum();
                let mut offset = 0;
                for (i, inner) in inners.iter().enumerate() {
                    ops::layout::concat_part(input(i)?, y, *outer, *inner, y_inner, offset);
                    offset += inner;
                }
            }
            #[cfg(feature = "op-layout-pad")]
            Kernel::Pad {
                shape,
                begin,
                end,
                value,
            } => ops::layout::pad_constant(
                input(0)?,
                y,
                shape.as_slice(),
                begin.as_slice(),
                end.as_slice(),
                *value,
            ),
            #[cfg(feature = "op-layout-gather")]
            Kernel::Gather {
                outer,
                axis_len,
                inner,
                indices,
            } => {
                if !ops::layout::gather(input(0)?, y, *outer, *axis_len, *inner, indices) {
                    return Err(bad_operand("gather index out of range"));
                }
            }
            #[cfg(feature = "op-layout-slice")]
            Kernel::Slice {
                shape,
                starts,
                steps,
                out,
            } => ops::layout::slice(
                input(0)?,
                y,
                shape.as_slice(),
                starts.as_slice(),
                steps.as_slice(),
                out.as_slice(),
            ),
            Kernel::Copy => {
                let x = input(0)?;
                let yx = y
                    .get_mut(..x.len())
                    .ok_or_else(|| bad_operand("copy length"))?;
                yx.copy_from_slice(x);
            }
            // A part this build leaves out (refused at load: `Plan::missing_part`).
            #[allow(unreachable_patterns)]
            _ => return Err(fault(ErrorCode::NotSupported, "kernel not built")),
        }
        Ok(())
    }

    /// ConvPool and ConvBlocks write two arena ranges (their scratch and their output): split
    /// the arena around both, then read x (and any arena-held weights) from the untouched
    /// parts.
    #[cfg(any(
        feature = "op-conv-any",
        feature = "op-conv-3x3",
        feature = "op-conv-3x3pool"
    ))]
    #[inline(never)]
    fn execute_with_scratch(&self, arena: &mut [f32], weights: &Weights<'_>) -> FaultResult<()> {
        let Some((out_off, out_len)) = self.out_range()? else {
            return Ok(());
        };
        #[cfg(target_arch = "x86_64")]
        let x86_pool = match &self.kernel {
            Kernel::ConvX86(k) => k.pool(),
            _ => None,
        };
        let (p, act, pool) = match &self.kernel {
            Kernel::ConvPool {
                p,
                act,
                pool,
                max,
                blocks,
            } => (p, *act, Some((pool, *max, *blocks))),
            Kernel::ConvBlocks { p, act } => (p, *act, None),
            #[cfg(target_arch = "x86_64")]
            Kernel::ConvX86(k) => (
                k.conv(),
                k.act(),
                x86_pool.as_ref().map(|(p, m)| (p, *m, false)),
            ),
            _ => return Err(bad_operand("scratch step dispatch")),
        };
        let bad = || bad_operand("operand out of range");
        let n = self.inputs.len();
        let (
            Some(&Loc::Arena {
                off: s_off,
                len: s_len,
            }),
            true,
        ) = (self.inputs.last(), n == 3 || n == 4)
        else {
            return Err(bad());
        };
        // Order the two written ranges.
        let (lo, hi, out_first) = if out_off < s_off {
            ((out_off, out_len), (s_off, s_len), true)
        } else {
            ((s_off, s_len), (out_off, out_len), false)
        };
        if lo.0.checked_add(lo.1).ok_or_else(bad)? > hi.0 {
            return Err(bad_operand("scratch overlaps output"));
        }
        let (a, rest) = arena.split_at_mut(lo.0.min(arena.len()));
        let (m1, rest) = rest.split_at_mut(lo.1.min(rest.len()));
        let gap = hi.0 - lo.0 - lo.1;
        let (b, rest) = rest.split_at_mut(gap.min(rest.len()));
        let (m2, c) = rest.split_at_mut(hi.1.min(rest.len()));
        if m1.len() != lo.1 || m2.len() != hi.1 {
            return Err(bad());
        }
        let read = |loc: Loc| -> FaultResult<&[f32]> {
            match loc {
                Loc::Arena { off, len } => {
                    let end = off.checked_add(len).ok_or_else(bad)?;
                    let b_start = lo.0 + lo.1;
                    let c_start = hi.0 + hi.1;
                    if end <= lo.0 {
                        a.get(off..end).ok_or_else(bad)
                    } else if off >= b_start && end <= hi.0 {
                        b.get(off - b_start..end - b_start).ok_or_else(bad)
                    } else if off >= c_start {
                        c.get(off - c_start..end - c_start).ok_or_else(bad)
                    } else {
                        Err(bad_operand("operand overlaps output"))
                    }
                }
                other => weights.get(other).ok_or_else(bad),
            }
        };
        let x = read(*self.inputs.first().ok_or_else(bad)?)?;
        let w = read(*self.inputs.get(1).ok_or_else(bad)?)?;
        let bias = if n == 4 {
            Some(read(*self.inputs.get(2).ok_or_else(bad)?)?)
        } else {
            None
        };
        let (y, scratch) = if out_first { (m1, m2) } else { (m2, m1) };
        #[cfg(target_arch = "x86_64")]
        if let Kernel::ConvX86(k) = &self.kernel {
            if k.run(x, bias, y) {
                return Ok(());
            }
        }
        // The blocked kernels decline only operands a checked plan does not have; then the
        // general kernel, where the build has it.
        let done = match pool {
            #[cfg(feature = "op-conv-3x3pool")]
            Some((pool, max, true)) => {
                ops::fused::conv3x3_pool2x2(p, act, pool, max, x, w, bias, scratch, y)
            }
            #[cfg(feature = "op-conv-3x3")]
            None => ops::conv::conv3x3_plain(p, x, w, bias, act, scratch, y),
            _ => false,
        };
        if done {
            return Ok(());
        }
        #[cfg(feature = "op-conv-any")]
        match pool {
            Some((pool, max, _)) => {
                ops::fused::conv_then_pool(p, act, pool, max, x, w, bias, scratch, y)
            }
            None => ops::conv::conv2d(p, x, w, bias, act, y),
        }
        #[cfg(not(feature = "op-conv-any"))]
        return Err(bad_operand("blocked convolution: operands do not fit"));
        #[cfg(feature = "op-conv-any")]
        Ok(())
    }

    #[cfg_attr(not(feature = "all-ops"), allow(unused_variables))]
    #[inline(never)]
    fn execute_in_place(&self, arena: &mut [f32]) -> FaultResult<()> {
        let Some((out_off, out_len)) = self.out_range()? else {
            return Ok(());
        };
        let y = arena
            .get_mut(out_off..out_off + out_len)
            .ok_or_else(|| bad_operand("operand out of range"))?;
        match &self.kernel {
            #[cfg(feature = "op-activation")]
            Kernel::Activation(act) => act.apply_in_place(y),
            #[cfg(feature = "op-math-unary")]
            Kernel::Unary(op) => ops::unary::unary_in_place(*op, y),
            #[cfg(feature = "op-softmax-plain")]
            Kernel::Softmax {
                outer,
                axis_len,
                inner,
                log: false,
            } => ops::softmax::softmax_in_place(y, *outer, *axis_len, *inner),
            #[cfg(feature = "op-softmax-log")]
            Kernel::Softmax {
                outer,
                axis_len,
                inner,
                log: true,
            } => ops::softmax::log_softmax_in_place(y, *outer, *axis_len, *inner),
            Kernel::Copy => {}
            _ => return Err(bad_operand("kernel cannot run in place")),
        }
        Ok(())
    }
}

/// True when the kernel can write its output over its first input.
pub fn supports_in_place(kernel: &Kernel) -> bool {
    matches!(
        kernel,
        Kernel::Activation(_) | Kernel::Unary(_) | Kernel::Softmax { .. } | Kernel::Copy
    )
}

/// The arena buffer a step uses as scratch (written and read only during the step).
pub fn scratch_of(step: &Step) -> Option<Loc> {
    match step.kernel {
        Kernel::ConvPool { .. } | Kernel::ConvBlocks { .. } => step.inputs.last().copied(),
        #[cfg(target_arch = "x86_64")]
        Kernel::ConvX86(ref k) if k.pool().is_some() => step.inputs.last().copied(),
        _ => None,
    }
}
