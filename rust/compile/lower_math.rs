//! Lowering of activations, softmax, MatMul/Gemm and broadcasting arithmetic.

use alloc::vec::Vec;

use super::attrs::Attrs;
use super::lower::{output0, Inputs};
use super::{numel, to_vec, try_collect, ConstData, Ctx, In, ValueKind};
use crate::decode::model::Node;
use crate::error::{err, ErrorCode, Result};
use crate::ops::activation::Activation;
use crate::ops::binary::{self, BinaryOp, Broadcast};
use crate::ops::matmul::{BatchedMatMul, Gemm, GemmBias};
use crate::ops::reduce::{Reduce, ReduceOp};
use crate::ops::unary::UnaryOp;
use crate::ops::MAX_RANK;
use crate::plan::step::{Kernel, Loc};

fn scalar_const(cx: &Ctx<'_>, v: Option<In>, default: f32) -> Result<f32> {
    match v {
        None => Ok(default),
        Some(v) => {
            let d = cx.const_f32(v)?.ok_or_else(|| {
                err(
                    ErrorCode::UnsupportedAttribute,
                    "Clip bounds must be constant",
                )
            })?;
            match d {
                [x] => Ok(*x),
                _ => Err(err(ErrorCode::ShapeMismatch, "Clip bounds must be scalars")),
            }
        }
    }
}

/// Relu, LeakyRelu, Sigmoid, Tanh, Clip: fused into the producing Conv/Dense/Gemm when it has
/// no other reader, otherwise an element-wise step.
pub(crate) fn activation(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let act = match node.op_type {
        "Relu" => Activation::Relu,
        "LeakyRelu" => Activation::LeakyRelu {
            alpha: a.float("alpha", 0.01)?,
        },
        "Sigmoid" => Activation::Sigmoid,
        "Tanh" => Activation::Tanh,
        _ => {
            let (min, max) = if cx.opset < 11 {
                (a.float("min", f32::MIN)?, a.float("max", f32::MAX)?)
            } else {
                (
                    scalar_const(cx, ins.opt(1), f32::MIN)?,
                    scalar_const(cx, ins.opt(2), f32::MAX)?,
                )
            };
            Activation::Clip { min, max }
        }
    };
    let x = ins.get(0)?;
    let shape = to_vec(cx.shape(x)?)?;
    let out = output0(cx, node)?;
    if let Some(s) = cx.sole_producer(x) {
        let fused = match cx.steps.get_mut(s).map(|s| &mut s.kernel) {
            Some(Kernel::Conv { act: slot, .. })
            | Some(Kernel::Dense { act: slot, .. })
            | Some(Kernel::Gemm { act: slot, .. })
                if *slot == Activation::None =>
            {
                *slot = act;
                true
            }
            _ => false,
        };
        if fused {
            cx.rename_step(s, node.op_type)?;
            return cx.fused_alias(out, x, shape);
        }
    }
    let inputs = to_vec(&[cx.loc(x)?])?;
    cx.add_step(
        node,
        out,
        shape,
        Kernel::Activation(act),
        inputs,
        node.op_type,
        0,
        0,
    )
}

/// Softmax / LogSoftmax: coerced-2D semantics before opset 13, single axis from 13.
pub(crate) fn softmax(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let x = ins.get(0)?;
    let shape = to_vec(cx.shape(x)?)?;
    let rank = shape.len() as i64;
    let axis = a.int("axis", if cx.opset < 13 { 1 } else { -1 })?;
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis < 0 || axis >= rank.max(1) {
        return Err(err(ErrorCode::InvalidAttribute, "axis out of range"));
    }
    let axis = axis as usize;
    let outer = shape.iter().take(axis).product::<usize>();
    let (axis_len, inner) = if cx.opset < 13 {
        (shape.iter().skip(axis).product::<usize>(), 1)
    } else {
        (
            shape.get(axis).copied().unwrap_or(1),
            shape.iter().skip(axis + 1).product::<usize>(),
        )
    };
    let out = output0(cx, node)?;
    let inputs = to_vec(&[cx.loc(x)?])?;
    let kernel = Kernel::Softmax {
        outer,
        axis_len,
        inner,
        log: node.op_type == "LogSoftmax",
    };
    cx.add_step(node, out, shape, kernel, inputs, node.op_type, 0, 0)
}

/// MatMul with numpy semantics; a constant 2-D right operand becomes a dense layer.
pub(crate) fn matmul(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = ins.get(0)?;
    let b = ins.get(1)?;
    let a_shape = to_vec(cx.shape(a)?)?;
    let b_shape = to_vec(cx.shape(b)?)?;
    if a_shape.is_empty() || b_shape.is_empty() {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "MatMul operands must have rank >= 1",
        ));
    }
    // 1-D operands: [k] -> [1, k] on the left, [k] -> [k, 1] on the right, removed afterwards.
    let (a_batch, m, k) = match a_shape.as_slice() {
        [k] => (&[][..], 1, *k),
        [batch @ .., m, k] => (batch, *m, *k),
        [] => return Err(err(ErrorCode::ShapeMismatch, "rank")),
    };
    let (b_batch, k2, n) = match b_shape.as_slice() {
        [k] => (&[][..], *k, 1),
        [batch @ .., k, n] => (batch, *k, *n),
        [] => return Err(err(ErrorCode::ShapeMismatch, "rank")),
    };
    if k != k2 {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "MatMul inner dimensions differ",
        ));
    }
    let out = output0(cx, node)?;
    let b_const = matches!(cx.value(b)?.kind, ValueKind::Const(_));
    if b_batch.is_empty() {
        // Dense: every leading dim of A folds into the rows.
        let rows = a_batch.iter().product::<usize>() * m;
        let mut shape = to_vec(a_batch)?;
        if a_shape.len() > 1 {
            super::push(&mut shape, m)?;
        }
        if b_shape.len() > 1 {
            super::push(&mut shape, n)?;
        }
        let inputs = to_vec(&[cx.loc(a)?, cx.loc(b)?])?;
        let macs = (rows as u64) * (k as u64) * (n as u64);
        let kernel = Kernel::Dense {
            m: rows,
            k,
            n,
            act: Activation::None,
        };
        let params = if b_const { k * n } else { 0 };
        return cx.add_step(node, out, shape, kernel, inputs, "MatMul", params, macs);
    }
    let p = BatchedMatMul::new(a_batch, b_batch, m, k, n).ok_or_else(|| {
        err(
            ErrorCode::ShapeMismatch,
            "MatMul batch dimensions do not broadcast",
        )
    })?;
    let mut shape = to_vec(p.batch_shape.get(..p.rank).unwrap_or(&[]))?;
    if a_shape.len() > 1 {
        super::push(&mut shape, m)?;
    }
    if b_shape.len() > 1 {
        super::push(&mut shape, n)?;
    }
    numel(&shape)?;
    let inputs = to_vec(&[cx.loc(a)?, cx.loc(b)?])?;
    let macs = p.macs();
    cx.add_step(
        node,
        out,
        shape,
        Kernel::MatMul(p),
        inputs,
        "MatMul",
        0,
        macs,
    )
}

/// Gemm: y = alpha * op(A) * op(B) + beta * C.
pub(crate) fn gemm(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let at = Attrs::new(node);
    let a = ins.get(0)?;
    let b = ins.get(1)?;
    let c = ins.opt(2);
    let trans_a = at.int("transA", 0)? != 0;
    let trans_b = at.int("transB", 0)? != 0;
    let alpha = at.float("alpha", 1.0)?;
    let beta = at.float("beta", 1.0)?;
    let (m, k) = match *cx.shape(a)? {
        [r, c] => {
            if trans_a {
                (c, r)
            } else {
                (r, c)
            }
        }
        _ => return Err(err(ErrorCode::ShapeMismatch, "Gemm A must be 2-D")),
    };
    let (k2, n) = match *cx.shape(b)? {
        [r, c] => {
            if trans_b {
                (c, r)
            } else {
                (r, c)
            }
        }
        _ => return Err(err(ErrorCode::ShapeMismatch, "Gemm B must be 2-D")),
    };
    if k != k2 {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "Gemm inner dimensions differ",
        ));
    }
    let bias = match c {
        None => GemmBias::None,
        Some(c) => {
            let cs = cx.shape(c)?;
            let len = cs.iter().product::<usize>();
            match cs {
                _ if len == 1 => GemmBias::Scalar,
                [x] if *x == n => GemmBias::Row,
                [1, x] if *x == n => GemmBias::Row,
                [x, 1] if *x == m => GemmBias::Column,
                [x, y] if *x == m && *y == n => GemmBias::Full,
                _ => {
                    return Err(err(
                        ErrorCode::ShapeMismatch,
                        "Gemm C does not broadcast to [M, N]",
                    ))
                }
            }
        }
    };
    let p = Gemm {
        m,
        k,
        n,
        trans_a,
        trans_b,
        alpha,
        beta,
        bias,
    };
    let out = output0(cx, node)?;
    let macs = (m as u64) * (k as u64) * (n as u64);
    if let Some(inputs) = gemm_as_dense(cx, a, b, c, &p)? {
        let params = k * n + if inputs.len() > 2 { n } else { 0 };
        let kernel = Kernel::Dense {
            m,
            k,
            n,
            act: Activation::None,
        };
        return cx.add_step(
            node,
            out,
            to_vec(&[m, n])?,
            kernel,
            inputs,
            "Gemm",
            params,
            macs,
        );
    }
    let mut inputs = to_vec(&[cx.loc(a)?, cx.loc(b)?])?;
    if let Some(c) = c {
        super::push(&mut inputs, cx.loc(c)?)?;
    }
    let params = if matches!(cx.value(b)?.kind, ValueKind::Const(_)) {
        k * n
    } else {
        0
    };
    cx.add_step(
        node,
        out,
        to_vec(&[m, n])?,
        Kernel::Gemm {
            p,
            act: Activation::None,
        },
        inputs,
        "Gemm",
        params,
        macs,
    )
}

/// The operands of a Dense step computing Gemm `p` (x, w `[k, n]`, optional bias `[n]`),
/// when `B` is a constant and `C` a constant that is the same for every row: `alpha` and
/// `transB` go into the weights and `beta` into the bias once, at compile time, so the layer
/// runs the dense kernel, which reads each weight once. Weights and a row bias that need no
/// change are used where they lie (`onnx_model_initializer` still finds them: the msh
/// example mnist_sm reads them). `None` leaves it a Gemm (`A` stored transposed with more
/// than one row, a `C` computed at run time or one that varies by row).
fn gemm_as_dense(
    cx: &mut Ctx<'_>,
    a: In,
    b: In,
    c: Option<In>,
    p: &Gemm,
) -> Result<Option<Vec<Loc>>> {
    let (k, n) = (p.k, p.n);
    // [k, 1] transposed is the one row [1, k], already laid out as the dense kernel reads it.
    if p.trans_a && p.m != 1 {
        return Ok(None);
    }
    let Some(wsrc) = cx.const_f32(b).ok().flatten() else {
        return Ok(None);
    };
    // The bias: none, C as it is, or C scaled by beta (and a scalar spread over the row).
    let bias: Option<Option<Vec<f32>>> = match c {
        Some(c) if p.beta != 0.0 => {
            let Some(cv) = cx.const_f32(c).ok().flatten() else {
                return Ok(None);
            };
            match p.bias {
                GemmBias::Row if p.beta == 1.0 && cv.len() == n => Some(None),
                GemmBias::Scalar | GemmBias::Row => {
                    let at = |j: usize| if p.bias == GemmBias::Scalar { 0 } else { j };
                    let row = (0..n).map(|j| p.beta * cv.get(at(j)).copied().unwrap_or(0.0));
                    Some(Some(try_collect(row)?))
                }
                _ => return Ok(None),
            }
        }
        _ => None,
    };
    let weights = if p.trans_b || p.alpha != 1.0 {
        let len = k
            .checked_mul(n)
            .filter(|&len| len == wsrc.len())
            .ok_or_else(|| err(ErrorCode::DataSize, "Gemm B size"))?;
        cx.check_fold(len)?;
        let at = |i: usize| {
            let (row, col) = (i / n, i % n);
            if p.trans_b {
                col * k + row
            } else {
                i
            }
        };
        Some(try_collect(
            (0..len).map(|i| p.alpha * wsrc.get(at(i)).copied().unwrap_or(0.0)),
        )?)
    } else {
        None
    };
    let mut inputs = to_vec(&[cx.loc(a)?])?;
    for (src, computed) in [(Some(b), Some(weights)), (c, bias)] {
        let (Some(src), Some(computed)) = (src, computed) else {
            continue;
        };
        let loc = cx.loc(src)?;
        match computed {
            None => super::push(&mut inputs, loc)?,
            Some(data) => {
                let new = cx.add_folded(data)?;
                super::push(&mut inputs, new)?;
                if let Loc::Const(old) = loc {
                    cx.release_if_sole_reader(old);
                }
            }
        }
    }
    Ok(Some(inputs))
}

/// Add/Sub/Mul/Div with numpy broadcasting; int64 constants are folded here, a constant
/// bias added to a Dense output is fused into it.
pub(crate) fn binary(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let op = match node.op_type {
        "Add" | "Sum" => BinaryOp::Add,
        "Sub" => BinaryOp::Sub,
        "Mul" => BinaryOp::Mul,
        "Pow" => BinaryOp::Pow,
        "Max" => BinaryOp::Max,
        "Min" => BinaryOp::Min,
        _ => BinaryOp::Div,
    };
    // Variadic Sum/Max/Min: one input is a copy; more than two are not supported.
    if matches!(node.op_type, "Sum" | "Max" | "Min") {
        match ins.len() {
            1 => return super::lower_layout::identity(cx, node, ins),
            2 => {}
            _ => {
                return Err(err(
                    ErrorCode::UnsupportedAttribute,
                    "more than two inputs to Sum/Max/Min",
                ))
            }
        }
    }
    let a = ins.get(0)?;
    let b = ins.get(1)?;
    let a_shape = to_vec(cx.shape(a)?)?;
    let b_shape = to_vec(cx.shape(b)?)?;
    let bc = Broadcast::new(&a_shape, &b_shape)
        .ok_or_else(|| err(ErrorCode::ShapeMismatch, "shapes do not broadcast"))?;
    let shape = to_vec(bc.out_shape())?;
    let len = numel(&shape)?;
    let out = output0(cx, node)?;
    if cx.value(a)?.dtype != cx.value(b)?.dtype {
        return Err(err(
            ErrorCode::UnsupportedDataType,
            "operands have different types",
        ));
    }
    // int64 arithmetic (shape computations) is evaluated here.
    if let (Some(ConstData::I64(x)), Some(ConstData::I64(y))) = (cx.konst(a)?, cx.konst(b)?) {
        cx.check_fold(len)?;
        let mut v = Vec::new();
        v.try_reserve_exact(len)?;
        v.resize(len, 0i64);
        binary::binary(op, &bc, x, y, &mut v);
        return cx.define_const(out, shape, ConstData::I64(v));
    }
    // Dense + constant row bias -> Dense with bias.
    if op == BinaryOp::Add {
        for (x, c) in [(a, b), (b, a)] {
            if try_fuse_bias(cx, node, x, c, &shape)? {
                return cx.fused_alias(out, x, shape);
            }
        }
    }
    let inputs = to_vec(&[cx.loc(a)?, cx.loc(b)?])?;
    cx.add_step(
        node,
        out,
        shape,
        Kernel::Binary { op, bc },
        inputs,
        node.op_type,
        0,
        0,
    )
}

fn try_fuse_bias(
    cx: &mut Ctx<'_>,
    node: &Node<'_, '_>,
    x: In,
    c: In,
    out_shape: &[usize],
) -> Result<bool> {
    let Some(step) = cx.sole_producer(x) else {
        return Ok(false);
    };
    if cx.shape(x)? != out_shape {
        return Ok(false);
    }
    let Some(cdata) = cx.const_f32(c).ok().flatten() else {
        return Ok(false);
    };
    let c_shape = cx.shape(c)?;
    let Some(s) = cx.steps.get(step) else {
        return Ok(false);
    };
    let Kernel::Dense {
        n,
        act: Activation::None,
        ..
    } = s.kernel
    else {
        return Ok(false);
    };
    // The constant must be a row vector over the last axis: [n], [1, n], [1, 1, n], ...
    let row = cdata.len() == n
        && c_shape.last() == Some(&n)
        && c_shape.iter().rev().skip(1).all(|&d| d == 1)
        && c_shape.len() <= out_shape.len();
    if !row || s.inputs.len() != 2 {
        return Ok(false);
    }
    let loc = cx.loc(c)?;
    if let Some(s) = cx.steps.get_mut(step) {
        super::push(&mut s.inputs, loc)?;
    }
    if let Some(info) = cx.infos.get_mut(step) {
        info.params += n;
    }
    cx.rename_step(step, node.op_type)?;
    Ok(true)
}

/// Element-wise math functions.
pub(crate) fn unary(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let op = match node.op_type {
        "Abs" => UnaryOp::Abs,
        "Neg" => UnaryOp::Neg,
        "Exp" => UnaryOp::Exp,
        "Log" => UnaryOp::Log,
        "Sqrt" => UnaryOp::Sqrt,
        "Reciprocal" => UnaryOp::Reciprocal,
        "Floor" => UnaryOp::Floor,
        "Ceil" => UnaryOp::Ceil,
        "Elu" => UnaryOp::Elu {
            alpha: a.float("alpha", 1.0)?,
        },
        "Selu" => UnaryOp::Selu {
            alpha: a.float("alpha", 1.673_263_2)?,
            gamma: a.float("gamma", 1.050_701)?,
        },
        "HardSigmoid" => UnaryOp::HardSigmoid {
            alpha: a.float("alpha", 0.2)?,
            beta: a.float("beta", 0.5)?,
        },
        "HardSwish" => UnaryOp::HardSwish,
        "Softplus" => UnaryOp::Softplus,
        "Softsign" => UnaryOp::Softsign,
        _ => UnaryOp::Erf,
    };
    let x = ins.get(0)?;
    let shape = to_vec(cx.shape(x)?)?;
    let out = output0(cx, node)?;
    let inputs = to_vec(&[cx.loc(x)?])?;
    cx.add_step(
        node,
        out,
        shape,
        Kernel::Unary(op),
        inputs,
        node.op_type,
        0,
        0,
    )
}

/// ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp over constant axes.
pub(crate) fn reduce(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let op = match node.op_type {
        "ReduceSum" => ReduceOp::Sum,
        "ReduceMean" => ReduceOp::Mean,
        "ReduceMax" => ReduceOp::Max,
        "ReduceMin" => ReduceOp::Min,
        "ReduceProd" => ReduceOp::Prod,
        "ReduceSumSquare" => ReduceOp::SumSquare,
        "ReduceL1" => ReduceOp::L1,
        "ReduceL2" => ReduceOp::L2,
        "ReduceLogSum" => ReduceOp::LogSum,
        _ => ReduceOp::LogSumExp,
    };
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    let axes_from_input = if op == ReduceOp::Sum {
        cx.opset >= 13
    } else {
        cx.opset >= 18
    };
    let axes: Vec<i64> = if axes_from_input {
        match ins.opt(1) {
            Some(v) => to_vec(cx.const_i64(v)?.ok_or_else(|| {
                err(
                    ErrorCode::UnsupportedAttribute,
                    "axes must be known at load time",
                )
            })?)?,
            None => Vec::new(),
        }
    } else {
        a.ints("axes")?.map(to_vec).transpose()?.unwrap_or_default()
    };
    let keep = a.int("keepdims", 1)? != 0;
    let out = output0(cx, node)?;
    if axes.is_empty() && a.int("noop_with_empty_axes", 0)? != 0 {
        return super::lower_layout::identity(cx, node, ins);
    }
    let mut mask = [false; MAX_RANK];
    if xs.len() > MAX_RANK {
        return Err(err(ErrorCode::LimitExceeded, "tensor rank above 8"));
    }
    if axes.is_empty() {
        mask.iter_mut().take(xs.len()).for_each(|m| *m = true);
    }
    for ax in axes {
        let i = super::lower_layout::norm_axis(ax, xs.len())?;
        if let Some(m) = mask.get_mut(i) {
            *m = true;
        }
    }
    let mask = mask.get(..xs.len()).unwrap_or(&[]);
    let mut shape = Vec::new();
    for (d, m) in xs.iter().zip(mask) {
        if !m {
            super::push(&mut shape, *d)?;
        } else if keep {
            super::push(&mut shape, 1)?;
        }
    }
    let p = Reduce::new(&xs, mask)
        .ok_or_else(|| err(ErrorCode::LimitExceeded, "tensor rank above 8"))?;
    let inputs = to_vec(&[cx.loc(x)?])?;
    cx.add_step(
        node,
        out,
        shape,
        Kernel::Reduce { op, p },
        inputs,
        node.op_type,
        0,
        0,
    )
}
