//! Lowering of convolution, pooling and batch normalisation.

use alloc::vec::Vec;

use super::attrs::Attrs;
use super::lower::{output0, reject_used_output, Inputs};
use super::{push, to_vec, ConstData, Ctx, In};
use crate::decode::model::Node;
use crate::error::{err, ErrorCode, Result};
use crate::ops::activation::Activation;
use crate::ops::conv::Conv2d;
use crate::ops::normalization;
use crate::ops::pool::Pool2d;
use crate::plan::step::{Kernel, Loc};

/// Geometry of one spatial axis after padding rules.
#[derive(Clone, Copy, Debug, Default)]
struct Axis {
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad_begin: usize,
    pad_end: usize,
    output: usize,
}

fn to_usize(v: i64, what: &'static str) -> Result<usize> {
    usize::try_from(v).map_err(|_| err(ErrorCode::InvalidAttribute, what))
}

/// Reads kernel/stride/dilation/pads/auto_pad for `spatial` axes and computes output sizes.
fn spatial_axes(
    a: &Attrs<'_, '_>,
    input: &[usize],
    kernel: &[usize],
    ceil_mode: bool,
) -> Result<Vec<Axis>> {
    let n = input.len();
    let strides = a.ints("strides")?;
    let dilations = a.ints("dilations")?;
    let pads = a.ints("pads")?;
    let auto_pad = a.string("auto_pad")?.unwrap_or("NOTSET");
    let len_ok = |v: Option<&[i64]>, want: usize| v.is_none_or(|v| v.len() == want);
    if !len_ok(strides, n) || !len_ok(dilations, n) || !len_ok(pads, 2 * n) || kernel.len() != n {
        return Err(err(
            ErrorCode::InvalidAttribute,
            "attribute length does not match the rank",
        ));
    }
    let mut axes = Vec::new();
    axes.try_reserve_exact(n)?;
    for i in 0..n {
        let get =
            |v: Option<&[i64]>, j: usize, d: i64| v.and_then(|v| v.get(j).copied()).unwrap_or(d);
        let mut ax = Axis {
            input: input.get(i).copied().unwrap_or(0),
            kernel: kernel.get(i).copied().unwrap_or(0),
            stride: to_usize(get(strides, i, 1), "strides")?,
            dilation: to_usize(get(dilations, i, 1), "dilations")?,
            ..Axis::default()
        };
        if ax.stride == 0 || ax.dilation == 0 || ax.kernel == 0 {
            return Err(err(
                ErrorCode::InvalidAttribute,
                "zero kernel, stride or dilation",
            ));
        }
        let span = ax
            .dilation
            .checked_mul(ax.kernel - 1)
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| err(ErrorCode::InvalidDimension, "kernel span overflows"))?;
        match auto_pad {
            "NOTSET" => {
                ax.pad_begin = to_usize(get(pads, i, 0), "pads")?;
                ax.pad_end = to_usize(get(pads, i + n, 0), "pads")?;
                let padded = ax
                    .input
                    .checked_add(ax.pad_begin)
                    .and_then(|v| v.checked_add(ax.pad_end))
                    .ok_or_else(|| err(ErrorCode::InvalidDimension, "padded size overflows"))?;
                if padded < span {
                    return Err(err(
                        ErrorCode::ShapeMismatch,
                        "kernel larger than the padded input",
                    ));
                }
                let q = padded - span;
                ax.output = if ceil_mode {
                    let mut out = q.div_ceil(ax.stride) + 1;
                    // The last window must start inside the input or the left padding.
                    if (out - 1) * ax.stride >= ax.input + ax.pad_begin {
                        out -= 1;
                    }
                    out
                } else {
                    q / ax.stride + 1
                };
            }
            "VALID" => {
                if ax.input < span {
                    return Err(err(
                        ErrorCode::ShapeMismatch,
                        "kernel larger than the input",
                    ));
                }
                ax.output = (ax.input - span) / ax.stride + 1;
            }
            "SAME_UPPER" | "SAME_LOWER" => {
                ax.output = ax.input.div_ceil(ax.stride);
                let needed = (ax.output.max(1) - 1)
                    .checked_mul(ax.stride)
                    .and_then(|v| v.checked_add(span))
                    .ok_or_else(|| err(ErrorCode::InvalidDimension, "padding overflows"))?;
                let total = needed.saturating_sub(ax.input);
                if auto_pad == "SAME_UPPER" {
                    ax.pad_begin = total / 2;
                } else {
                    ax.pad_begin = total - total / 2;
                }
                ax.pad_end = total - ax.pad_begin;
            }
            _ => return Err(err(ErrorCode::UnsupportedAttribute, "auto_pad")),
        }
        if ax.output == 0 {
            return Err(err(ErrorCode::ShapeMismatch, "empty output"));
        }
        axes.push(ax);
    }
    Ok(axes)
}

/// Splits an NC(H)W shape into batch, channels and (h, w) with 1-D as h = 1.
fn nchw(shape: &[usize]) -> Result<(usize, usize, usize, usize)> {
    match *shape {
        [n, c, w] => Ok((n, c, 1, w)),
        [n, c, h, w] => Ok((n, c, h, w)),
        _ => Err(err(
            ErrorCode::NotSupported,
            "only 1-D and 2-D spatial tensors (rank 3 or 4) are supported",
        )),
    }
}

/// Pads a 1-D axis list to (h, w) with h = identity.
fn hw(axes: &[Axis]) -> (Axis, Axis) {
    let unit = Axis {
        input: 1,
        kernel: 1,
        stride: 1,
        dilation: 1,
        pad_begin: 0,
        pad_end: 0,
        output: 1,
    };
    match axes {
        [w] => (unit, *w),
        [h, w] => (*h, *w),
        _ => (unit, unit),
    }
}

fn out_shape(n: usize, c: usize, rank: usize, axes: &[Axis]) -> Result<Vec<usize>> {
    let mut s = Vec::new();
    s.try_reserve_exact(rank)?;
    s.push(n);
    s.push(c);
    for a in axes {
        s.push(a.output);
    }
    Ok(s)
}

/// Conv: NCHW (or NCW) input, weights [M, C/group, kH, kW], optional bias [M].
pub(crate) fn conv(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    let x = ins.get(0)?;
    let w = ins.get(1)?;
    let b = ins.opt(2);
    let xs = to_vec(cx.shape(x)?)?;
    let ws = to_vec(cx.shape(w)?)?;
    let (batch, c, _, _) = nchw(&xs)?;
    if ws.len() != xs.len() {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "weight rank differs from input rank",
        ));
    }
    let group = to_usize(a.int("group", 1)?, "group")?;
    let m = ws.first().copied().unwrap_or(0);
    let wc = ws.get(1).copied().unwrap_or(0);
    if group == 0 || m == 0 || m % group != 0 || wc.checked_mul(group) != Some(c) {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "weight channels disagree with the input channels and group",
        ));
    }
    let kernel = ws.get(2..).unwrap_or(&[]);
    if let Some(ks) = a.ints("kernel_shape")? {
        if ks.len() != kernel.len()
            || ks
                .iter()
                .zip(kernel)
                .any(|(k, w)| usize::try_from(*k).ok() != Some(*w))
        {
            return Err(err(
                ErrorCode::ShapeMismatch,
                "kernel_shape disagrees with the weights",
            ));
        }
    }
    let axes = spatial_axes(&a, xs.get(2..).unwrap_or(&[]), kernel, false)?;
    let (ah, aw) = hw(&axes);
    if let Some(b) = b {
        if cx.shape(b)?.iter().product::<usize>() != m || cx.shape(b)?.len() != 1 {
            return Err(err(
                ErrorCode::ShapeMismatch,
                "bias length differs from output channels",
            ));
        }
    }
    let p = Conv2d {
        batch,
        in_channels: c,
        in_h: ah.input,
        in_w: aw.input,
        out_channels: m,
        out_h: ah.output,
        out_w: aw.output,
        kernel_h: ah.kernel,
        kernel_w: aw.kernel,
        stride_h: ah.stride,
        stride_w: aw.stride,
        dilation_h: ah.dilation,
        dilation_w: aw.dilation,
        pad_top: ah.pad_begin,
        pad_left: aw.pad_begin,
        group,
    };
    let out = output0(cx, node)?;
    let shape = out_shape(batch, m, xs.len(), &axes)?;
    let mut inputs = Vec::new();
    inputs.try_reserve_exact(3)?;
    inputs.push(cx.loc(x)?);
    inputs.push(cx.loc(w)?);
    let mut params = p.weight_len();
    if let Some(b) = b {
        inputs.push(cx.loc(b)?);
        params += m;
    }
    let macs = p.macs();
    cx.add_step(
        node,
        out,
        shape,
        Kernel::Conv {
            p,
            act: Activation::None,
        },
        inputs,
        "Conv",
        params,
        macs,
    )
}

/// MaxPool / AveragePool.
pub(crate) fn pool(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs, max: bool) -> Result<()> {
    let a = Attrs::new(node);
    let x = ins.get(0)?;
    if max {
        reject_used_output(cx, node, 1, "MaxPool Indices output")?;
    }
    let xs = to_vec(cx.shape(x)?)?;
    let (batch, c, _, _) = nchw(&xs)?;
    let ks = a
        .ints("kernel_shape")?
        .ok_or_else(|| err(ErrorCode::InvalidAttribute, "kernel_shape is required"))?;
    let mut kernel = Vec::new();
    kernel.try_reserve_exact(ks.len())?;
    for &k in ks {
        kernel.push(to_usize(k, "kernel_shape")?);
    }
    let ceil_mode = a.int("ceil_mode", 0)? != 0;
    if !max && a.get("dilations").is_some() && cx.opset < 19 {
        return Err(err(
            ErrorCode::InvalidAttribute,
            "AveragePool dilations need opset 19",
        ));
    }
    let axes = spatial_axes(&a, xs.get(2..).unwrap_or(&[]), &kernel, ceil_mode)?;
    let (ah, aw) = hw(&axes);
    let p = Pool2d {
        batch,
        channels: c,
        in_h: ah.input,
        in_w: aw.input,
        out_h: ah.output,
        out_w: aw.output,
        kernel_h: ah.kernel,
        kernel_w: aw.kernel,
        stride_h: ah.stride,
        stride_w: aw.stride,
        dilation_h: ah.dilation,
        dilation_w: aw.dilation,
        pad_top: ah.pad_begin,
        pad_left: aw.pad_begin,
        pad_bottom: ah.pad_end,
        pad_right: aw.pad_end,
        count_include_pad: a.int("count_include_pad", 0)? != 0,
    };
    let out = output0(cx, node)?;
    let shape = out_shape(batch, c, xs.len(), &axes)?;
    if let Some(s) = cx.sole_producer(x) {
        if fuse_into_conv(cx, s, &p, max, out, &shape)? {
            return Ok(());
        }
    }
    let inputs = to_vec(&[cx.loc(x)?])?;
    let (kernel, name) = if max {
        (Kernel::MaxPool(p), "MaxPool")
    } else {
        (Kernel::AvgPool(p), "AveragePool")
    };
    cx.add_step(node, out, shape, kernel, inputs, name, 0, 0)
}

/// GlobalAveragePool / GlobalMaxPool over every spatial axis.
pub(crate) fn global_pool(
    cx: &mut Ctx<'_>,
    node: &Node<'_, '_>,
    ins: &Inputs,
    max: bool,
) -> Result<()> {
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    if xs.len() < 2 {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "input rank must be at least 2",
        ));
    }
    let planes = xs.iter().take(2).product::<usize>();
    let plane_len = xs.iter().skip(2).product::<usize>();
    let mut shape = to_vec(&xs)?;
    for d in shape.iter_mut().skip(2) {
        *d = 1;
    }
    let out = output0(cx, node)?;
    let inputs = to_vec(&[cx.loc(x)?])?;
    let (kernel, name) = if max {
        (Kernel::GlobalMaxPool { planes, plane_len }, "GlobalMaxPool")
    } else {
        (
            Kernel::GlobalAvgPool { planes, plane_len },
            "GlobalAveragePool",
        )
    };
    cx.add_step(node, out, shape, kernel, inputs, name, 0, 0)
}

fn const_vec(cx: &Ctx<'_>, v: In, len: usize) -> Result<Vec<f32>> {
    let d = cx.const_f32(v)?.ok_or_else(|| {
        err(
            ErrorCode::UnsupportedAttribute,
            "BatchNormalization parameters must be constant",
        )
    })?;
    if d.len() != len {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "BatchNormalization parameter length",
        ));
    }
    to_vec(d)
}

/// BatchNormalization (inference): folded into a preceding Conv when that Conv's output is
/// read only here, otherwise a per-channel scale and shift.
pub(crate) fn batch_norm(cx: &mut Ctx<'_>, node: &Node<'_, '_>, ins: &Inputs) -> Result<()> {
    let a = Attrs::new(node);
    if a.int("training_mode", 0)? != 0 {
        return Err(err(ErrorCode::UnsupportedAttribute, "training_mode"));
    }
    if cx.opset < 9 && a.int("spatial", 1)? == 0 {
        return Err(err(ErrorCode::UnsupportedAttribute, "spatial=0"));
    }
    for i in 1..5 {
        reject_used_output(cx, node, i, "BatchNormalization training outputs")?;
    }
    let x = ins.get(0)?;
    let xs = to_vec(cx.shape(x)?)?;
    if xs.len() < 2 {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "input rank must be at least 2",
        ));
    }
    let c = xs.get(1).copied().unwrap_or(0);
    let gamma = const_vec(cx, ins.get(1)?, c)?;
    let beta = const_vec(cx, ins.get(2)?, c)?;
    let mean = const_vec(cx, ins.get(3)?, c)?;
    let var = const_vec(cx, ins.get(4)?, c)?;
    let eps = a.float("epsilon", 1e-5)?;
    let mut scale = Vec::new();
    scale.try_reserve_exact(c)?;
    scale.resize(c, 0.0f32);
    let mut shift = Vec::new();
    shift.try_reserve_exact(c)?;
    shift.resize(c, 0.0f32);
    normalization::batch_norm_coefficients(&gamma, &beta, &mean, &var, eps, &mut scale, &mut shift);
    let out = output0(cx, node)?;

    if let Some(s) = cx.sole_producer(x) {
        if fold_into_conv(cx, s, &scale, &shift)? {
            cx.rename_step(s, "BatchNormalization")?;
            return cx.fused_alias(out, x, xs);
        }
    }
    let batch = xs.first().copied().unwrap_or(1);
    let plane = xs.iter().skip(2).product::<usize>();
    let sc = cx.consts.len();
    push(&mut cx.consts, ConstData::F32(scale.into()))?;
    let sh = cx.consts.len();
    push(&mut cx.consts, ConstData::F32(shift.into()))?;
    let inputs = to_vec(&[cx.loc(x)?, Loc::Const(sc), Loc::Const(sh)])?;
    cx.add_step(
        node,
        out,
        xs,
        Kernel::BatchNorm {
            batch,
            channels: c,
            plane,
        },
        inputs,
        "BatchNormalization",
        2 * c,
        0,
    )
}

/// Scales a Conv's constant weights and bias in place of a following BatchNormalization.
fn fold_into_conv(cx: &mut Ctx<'_>, step: usize, scale: &[f32], shift: &[f32]) -> Result<bool> {
    let Some(s) = cx.steps.get(step) else {
        return Ok(false);
    };
    let Kernel::Conv {
        p,
        act: Activation::None,
    } = s.kernel
    else {
        return Ok(false);
    };
    let (Some(Loc::Const(wc)), bias) = (s.inputs.get(1).copied(), s.inputs.get(2).copied()) else {
        return Ok(false);
    };
    if p.out_channels != scale.len() {
        return Ok(false);
    }
    let Some(ConstData::F32(w)) = cx.consts.get(wc) else {
        return Ok(false);
    };
    let mut w = to_vec(w)?;
    let per = w.len() / p.out_channels.max(1);
    for (oc, chunk) in w.chunks_mut(per.max(1)).enumerate() {
        let k = scale.get(oc).copied().unwrap_or(1.0);
        for v in chunk {
            *v *= k;
        }
    }
    let mut b = to_vec(shift)?;
    match bias {
        None => {}
        Some(Loc::Const(bc)) => {
            let Some(ConstData::F32(old)) = cx.consts.get(bc) else {
                return Ok(false);
            };
            for ((nb, ob), k) in b.iter_mut().zip(old.iter()).zip(scale) {
                *nb += ob * k;
            }
        }
        Some(_) => return Ok(false),
    }
    let new_w = cx.consts.len();
    push(&mut cx.consts, ConstData::F32(w.into()))?;
    let new_b = cx.consts.len();
    push(&mut cx.consts, ConstData::F32(b.into()))?;
    cx.release_if_sole_reader(wc);
    if let Some(Loc::Const(bc)) = bias {
        cx.release_if_sole_reader(bc);
    }
    let had_bias = bias.is_some();
    if let Some(s) = cx.steps.get_mut(step) {
        if let Some(slot) = s.inputs.get_mut(1) {
            *slot = Loc::Const(new_w);
        }
        if had_bias {
            if let Some(slot) = s.inputs.get_mut(2) {
                *slot = Loc::Const(new_b);
            }
        } else {
            push(&mut s.inputs, Loc::Const(new_b))?;
        }
    }
    if let Some(info) = cx.infos.get_mut(step) {
        if !had_bias {
            info.params += scale.len();
        }
    }
    Ok(true)
}

/// Turns `Conv -> pool` into one ConvPool step when the conv output is read only by the
/// pool: the conv output buffer shrinks to the pooled size plus a one-plane scratch.
fn fuse_into_conv(
    cx: &mut Ctx<'_>,
    step: usize,
    pool: &Pool2d,
    max: bool,
    out: usize,
    shape: &[usize],
) -> Result<bool> {
    let Some(s) = cx.steps.get(step) else {
        return Ok(false);
    };
    let Kernel::Conv { p, act } = s.kernel else {
        return Ok(false);
    };
    let Loc::Buf(b) = s.output else {
        return Ok(false);
    };
    let pooled = super::numel(shape)?;
    // Only worth it when a conv plane is smaller than the conv output it replaces.
    if p.out_channels * p.batch < 2 {
        return Ok(false);
    }
    let one_plane = Pool2d {
        batch: 1,
        channels: 1,
        ..*pool
    };
    let scratch = cx.buffers.len();
    let (scratch_len, blocks) = crate::ops::fused::pooled_layout(&p, &one_plane);
    push(
        &mut cx.buffers,
        super::Buffer {
            len: scratch_len,
            producer: Some(step),
            value: usize::MAX,
        },
    )?;
    if let Some(s) = cx.steps.get_mut(step) {
        s.kernel = Kernel::ConvPool {
            p,
            act,
            pool: one_plane,
            max,
            blocks,
        };
        push(&mut s.inputs, Loc::Buf(scratch))?;
    }
    if let Some(buf) = cx.buffers.get_mut(b) {
        buf.len = pooled;
        buf.value = out;
    }
    if let Some(v) = cx.values.get_mut(out) {
        *v = super::Value {
            shape: to_vec(shape)?,
            dtype: super::DType::F32,
            kind: super::ValueKind::Runtime(b),
        };
    }
    cx.rename_step(step, if max { "MaxPool" } else { "AveragePool" })?;
    if let Some(info) = cx.infos.get_mut(step) {
        // Same rank as the Conv output: its vector is reused, no allocation.
        info.output_shape.clear();
        info.output_shape.try_reserve_exact(shape.len())?;
        info.output_shape.extend_from_slice(shape);
    }
    Ok(true)
}

/// On an x86-64 CPU with AVX2 and FMA, gives every Conv and Conv+pool step with constant
/// weights the packed AVX2 kernel where it applies (see `ops::conv_x86`). Runs once, after
/// every node is lowered and fused. The steps keep their operands (the file's weights too:
/// initializers stay visible and the portable kernel remains the fallback).
#[cfg(target_arch = "x86_64")]
pub(crate) fn select_x86_kernels(cx: &mut Ctx<'_>) -> Result<()> {
    for s in cx.steps.iter_mut() {
        let (p, act, pool) = match s.kernel {
            Kernel::Conv { p, act } => (p, act, None),
            Kernel::ConvPool {
                p, act, pool, max, ..
            } => (p, act, Some((pool, max))),
            _ => continue,
        };
        let Some(&Loc::Const(wc)) = s.inputs.get(1) else {
            continue;
        };
        let Some(ConstData::F32(w)) = cx.consts.get(wc) else {
            continue;
        };
        if let Some(k) = crate::ops::conv_x86::PackedConv::new(&p, act, pool, w)? {
            s.kernel = Kernel::ConvX86(k);
        }
    }
    Ok(())
}

/// Gives every plain Conv step the 2x2 block kernel where it applies (3x3, stride 1,
/// dilation 1: `ops::conv::conv3x3_plain`), with the scratch ring it needs as a buffer of its
/// own (live only during the step, so the planner overlaps it with dead buffers). Runs once,
/// after every node is lowered and fused (Conv+pool steps have their own block kernel).
pub(crate) fn select_block_kernels(cx: &mut Ctx<'_>) -> Result<()> {
    for step in 0..cx.steps.len() {
        let Some(&crate::plan::step::Step {
            kernel: Kernel::Conv { p, act },
            ..
        }) = cx.steps.get(step)
        else {
            continue;
        };
        let Some(len) = crate::ops::conv::conv3x3_plain_scratch_len(&p) else {
            continue;
        };
        let scratch = cx.buffers.len();
        push(
            &mut cx.buffers,
            super::Buffer {
                len,
                producer: Some(step),
                value: usize::MAX,
            },
        )?;
        if let Some(s) = cx.steps.get_mut(step) {
            s.kernel = Kernel::ConvBlocks { p, act };
            push(&mut s.inputs, Loc::Buf(scratch))?;
        }
    }
    Ok(())
}
