//! Node dispatch, input/output helpers and generic constant folding.

use alloc::vec::Vec;

use super::{lower_layout, lower_math, lower_nn, lower_quant, push, Ctx, In, ValueKind};
use crate::compile::ConstData;
use crate::decode::model::Node;
use crate::error::{err, ErrorCode, Result};
use crate::plan::step::Loc;

/// Most inputs a node may have (Concat is the only variadic operator supported).
pub(crate) const MAX_NODE_INPUTS: usize = 64;

/// Inputs held without allocating: every operator but a wide Concat has at most this many.
const INLINE_INPUTS: usize = 8;

/// The resolved inputs of a node (`None` for an omitted optional input).
pub(crate) struct Inputs {
    /// The first [`INLINE_INPUTS`] inputs (nodes with more use `spill` instead).
    inline: [Option<In>; INLINE_INPUTS],
    /// Number of inputs.
    len: usize,
    /// All inputs, when there are more than [`INLINE_INPUTS`].
    spill: Vec<Option<In>>,
}

impl Inputs {
    /// The inputs as one slice.
    fn ids(&self) -> &[Option<In>] {
        if self.len > INLINE_INPUTS {
            &self.spill
        } else {
            self.inline.get(..self.len).unwrap_or(&[])
        }
    }

    /// Required input `i`.
    pub(crate) fn get(&self, i: usize) -> Result<In> {
        self.opt(i)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "a required input is missing"))
    }
    /// Optional input `i`.
    pub(crate) fn opt(&self, i: usize) -> Option<In> {
        self.ids().get(i).copied().flatten()
    }
    /// Number of listed inputs (including omitted ones).
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The value id of output `i` (`None` when absent).
pub(crate) fn output(cx: &Ctx<'_>, node: &Node<'_, '_>, i: usize) -> Option<usize> {
    if i >= node.outputs.len() {
        return None;
    }
    cx.names.output_id(node.output_index(i))
}

/// The value id of output 0, which every supported operator has.
pub(crate) fn output0(cx: &Ctx<'_>, node: &Node<'_, '_>) -> Result<usize> {
    output(cx, node, 0).ok_or_else(|| err(ErrorCode::InvalidArgument, "node has no output"))
}

/// Fails if optional output `i` exists and is read by anything.
pub(crate) fn reject_used_output(
    cx: &Ctx<'_>,
    node: &Node<'_, '_>,
    i: usize,
    what: &'static str,
) -> Result<()> {
    if let Some(id) = output(cx, node, i) {
        if cx.uses.get(id).copied().unwrap_or(0) > 0 {
            return Err(err(ErrorCode::UnsupportedAttribute, what));
        }
    }
    Ok(())
}

/// Lowers one node: a step, an alias or a constant for each output.
pub(crate) fn lower_node(cx: &mut Ctx<'_>, node: &Node<'_, '_>) -> Result<()> {
    if node.inputs.len() > MAX_NODE_INPUTS {
        return Err(err(
            ErrorCode::LimitExceeded,
            "node has more than 64 inputs",
        ));
    }
    let mut ins = Inputs {
        inline: [None; INLINE_INPUTS],
        len: node.inputs.len(),
        spill: Vec::new(),
    };
    if ins.len > INLINE_INPUTS {
        ins.spill.try_reserve_exact(ins.len)?;
    }
    let mut all_const = true;
    for (i, name) in node.inputs.iter().enumerate() {
        let slot = if ins.len > INLINE_INPUTS {
            ins.spill.push(None);
            ins.spill.get_mut(i)
        } else {
            ins.inline.get_mut(i)
        };
        // Resolved by the topological sort (NO_ID: omitted).
        let id = match cx.input_ids.get(node.input_index(i)) {
            Some(&super::graph::NO_ID) => continue,
            Some(&id) => id as usize,
            None => return Err(err(ErrorCode::DanglingInput, "").with_name(name)),
        };
        match cx.values.get(id).map(|v| v.kind) {
            Some(ValueKind::Pending) | None => {
                return Err(err(ErrorCode::DanglingInput, "").with_name(name))
            }
            Some(ValueKind::Runtime(_)) => all_const = false,
            Some(ValueKind::Const(_)) => {}
        }
        if let Some(slot) = slot {
            *slot = Some(In { id });
        }
    }
    let first_step = cx.steps.len();
    let first_buffer = cx.buffers.len();
    // 8-bit integer tensors at run time (float32 carrying the integers) are read only by
    // the operators that move values without computing on them, and those give 8-bit
    // tensors again.
    // (A QuantizeLinear's zero point is 8-bit: its data input is the one that counts.)
    let data_inputs = match node.op_type {
        "QuantizeLinear" => ins.ids().get(..1).unwrap_or(&[]),
        _ => ins.ids(),
    };
    let integers = data_inputs.iter().flatten().find(|i| {
        matches!(
            cx.values.get(i.id).map(|v| v.kind),
            Some(ValueKind::Runtime(_))
        ) && lower_quant::is_8bit(cx.elem_of(**i))
    });
    let integers = integers.map(|&i| cx.elem_of(i));
    if integers.is_some() && !lower_quant::moves_integers(node.op_type) {
        return Err(err(
            ErrorCode::UnsupportedDataType,
            "an int8/uint8 tensor read by an operator that computes on floats (dequantize it first)",
        ));
    }

    match node.op_type {
        "Conv" => lower_nn::conv(cx, node, &ins)?,
        "MaxPool" => lower_nn::pool(cx, node, &ins, true)?,
        "AveragePool" => lower_nn::pool(cx, node, &ins, false)?,
        "GlobalAveragePool" => lower_nn::global_pool(cx, node, &ins, false)?,
        "GlobalMaxPool" => lower_nn::global_pool(cx, node, &ins, true)?,
        "BatchNormalization" => lower_nn::batch_norm(cx, node, &ins)?,
        "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "Clip" => {
            lower_math::activation(cx, node, &ins)?
        }
        "Softmax" | "LogSoftmax" => lower_math::softmax(cx, node, &ins)?,
        "MatMul" => lower_math::matmul(cx, node, &ins)?,
        "Gemm" => lower_math::gemm(cx, node, &ins)?,
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" => {
            lower_math::binary(cx, node, &ins)?
        }
        "Abs" | "Neg" | "Exp" | "Log" | "Sqrt" | "Reciprocal" | "Floor" | "Ceil" | "Elu"
        | "Selu" | "HardSigmoid" | "HardSwish" | "Softplus" | "Softsign" | "Erf" => {
            lower_math::unary(cx, node, &ins)?
        }
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd"
        | "ReduceSumSquare" | "ReduceL1" | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp" => {
            lower_math::reduce(cx, node, &ins)?
        }
        "Reshape" => lower_layout::reshape(cx, node, &ins)?,
        "Flatten" => lower_layout::flatten(cx, node, &ins)?,
        "Squeeze" => lower_layout::squeeze(cx, node, &ins)?,
        "Unsqueeze" => lower_layout::unsqueeze(cx, node, &ins)?,
        "Identity" => lower_layout::identity(cx, node, &ins)?,
        "Dropout" => lower_layout::dropout(cx, node, &ins)?,
        "Transpose" => lower_layout::transpose(cx, node, &ins)?,
        "Concat" => lower_layout::concat(cx, node, &ins)?,
        "Pad" => lower_layout::pad(cx, node, &ins)?,
        "Gather" => lower_layout::gather(cx, node, &ins)?,
        "Slice" => lower_layout::slice(cx, node, &ins)?,
        "Shape" => lower_layout::shape(cx, node, &ins)?,
        "Constant" => lower_layout::constant(cx, node)?,
        "ConstantOfShape" => lower_layout::constant_of_shape(cx, node, &ins)?,
        "Cast" => lower_layout::cast(cx, node, &ins)?,
        "QuantizeLinear" => lower_quant::quantize_linear(cx, node, &ins, true)?,
        "DequantizeLinear" => lower_quant::quantize_linear(cx, node, &ins, false)?,
        other => {
            return Err(err(ErrorCode::UnsupportedOperator, "").with_name(other));
        }
    }

    if let (Some(elem), Some(out), false) = (
        integers,
        output(cx, node, 0),
        node.op_type == "DequantizeLinear",
    ) {
        cx.set_elem(out, elem);
    }
    if all_const && cx.steps.len() > first_step {
        fold_steps(cx, first_step, first_buffer)?;
    }
    Ok(())
}

/// Evaluates the steps just added for a node whose inputs are all constants, turns the values
/// they wrote into constants, and removes the steps.
fn fold_steps(cx: &mut Ctx<'_>, first_step: usize, first_buffer: usize) -> Result<()> {
    // Pack the constants the steps read into one temporary weight store.
    let mut weights: Vec<f32> = Vec::new();
    let mut placed: Vec<(usize, usize, usize)> = Vec::new(); // const id, offset, len
    let mut arena_offsets: Vec<(usize, usize)> = Vec::new(); // offset, len per new buffer
    let mut arena_len = 0usize;
    for b in cx.buffers.get(first_buffer..).unwrap_or(&[]) {
        push(&mut arena_offsets, (arena_len, b.len))?;
        arena_len = arena_len
            .checked_add(b.len)
            .ok_or_else(|| err(ErrorCode::LimitExceeded, "folded tensors too large"))?;
    }
    // The evaluation buffers count against the folding budget before they are allocated.
    cx.check_fold(arena_len)?;
    let steps = cx.steps.get(first_step..).unwrap_or(&[]);
    let mut resolved = Vec::new();
    for step in steps {
        let mut s = step.clone();
        for loc in s.inputs.iter_mut().chain(core::iter::once(&mut s.output)) {
            *loc = match *loc {
                Loc::Const(c) => {
                    let (off, len) = match placed.iter().find(|p| p.0 == c) {
                        Some(&(_, off, len)) => (off, len),
                        None => {
                            let data = match cx.consts.get(c) {
                                Some(ConstData::F32(d)) => d,
                                _ => {
                                    return Err(err(
                                        ErrorCode::UnsupportedDataType,
                                        "cannot fold a non-float tensor",
                                    ))
                                }
                            };
                            let off = weights.len();
                            weights.try_reserve(data.len())?;
                            weights.extend_from_slice(data);
                            push(&mut placed, (c, off, data.len()))?;
                            (off, data.len())
                        }
                    };
                    Loc::Weight { off, len }
                }
                Loc::Buf(b) => {
                    let &(off, len) = b
                        .checked_sub(first_buffer)
                        .and_then(|i| arena_offsets.get(i))
                        .ok_or_else(|| {
                            err(ErrorCode::InvalidArgument, "fold reads a runtime tensor")
                        })?;
                    Loc::Arena { off, len }
                }
                other => other,
            };
        }
        push(&mut resolved, s)?;
    }
    let mut arena: Vec<f32> = Vec::new();
    arena.try_reserve_exact(arena_len)?;
    arena.resize(arena_len, 0.0);
    for s in &resolved {
        s.execute(
            &mut arena,
            &crate::plan::step::Weights {
                owned: &weights,
                segments: &[],
                chunks: &[],
                inputs: &[],
            },
        )?;
    }
    // Every value that viewed a new buffer becomes a constant (one copy per buffer).
    let mut buffer_const: Vec<Option<usize>> = Vec::new();
    buffer_const.try_reserve_exact(arena_offsets.len())?;
    buffer_const.resize(arena_offsets.len(), None);
    for vi in 0..cx.values.len() {
        let Some(ValueKind::Runtime(b)) = cx.values.get(vi).map(|v| v.kind) else {
            continue;
        };
        let Some(local) = b.checked_sub(first_buffer) else {
            continue;
        };
        let c = match buffer_const.get(local).copied().flatten() {
            Some(c) => c,
            None => {
                let &(off, len) = arena_offsets
                    .get(local)
                    .ok_or_else(|| err(ErrorCode::InvalidArgument, "buffer"))?;
                let data = super::to_vec(arena.get(off..off + len).unwrap_or(&[]))?;
                cx.check_fold(len)?;
                cx.folded_elements = cx.folded_elements.saturating_add(len);
                let c = cx.consts.len();
                push(&mut cx.consts, ConstData::F32(data.into()))?;
                if let Some(slot) = buffer_const.get_mut(local) {
                    *slot = Some(c);
                }
                c
            }
        };
        if let Some(v) = cx.values.get_mut(vi) {
            v.kind = ValueKind::Const(c);
        }
    }
    cx.steps.truncate(first_step);
    cx.infos.truncate(first_step);
    cx.buffers.truncate(first_buffer);
    Ok(())
}
