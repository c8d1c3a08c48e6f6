//! QuantizeLinear and DequantizeLinear (opsets 10 to 21, 8-bit integer types, per tensor or
//! per axis).
//!
//! With a constant input (int8 weights, int32 biases: what QDQ exporters and weight-only
//! quantization write) they are folded here into float constants, so the float kernels run
//! them. Otherwise they are run-time steps (`ops::quant`) on float32 tensors that carry the
//! integers: a quantized model then computes what onnxruntime's reference computes when it
//! runs the QDQ nodes as they are.

use alloc::vec::Vec;

use super::attrs::Attrs;
use super::lower::{output0, Inputs};
use super::{numel, to_vec, try_collect, ConstData, Ctx, In};
use crate::decode::model::{data_type, Node};
use crate::error::{err, ErrorCode, Result};
use crate::ops::quant::{self, Quant};
use crate::plan::step::Kernel;

/// Whether an ONNX element type is one of the 8-bit integers quantized tensors use.
pub(crate) fn is_8bit(elem: i32) -> bool {
    elem == data_type::INT8 || elem == data_type::UINT8
}

/// Whether an operator only moves values (or reads the shape), so that it may read the
/// 8-bit integer tensors of a quantized model as they are at run time.
pub(crate) fn moves_integers(op: &str) -> bool {
    matches!(
        op,
        "DequantizeLinear"
            | "Reshape"
            | "Flatten"
            | "Squeeze"
            | "Unsqueeze"
            | "Identity"
            | "Dropout"
            | "Transpose"
            | "Concat"
            | "Gather"
            | "Slice"
            | "MaxPool"
            | "Shape"
    )
}

/// The saturation bounds of an 8-bit integer type.
fn bounds(elem: i32) -> Result<(f32, f32)> {
    match elem {
        data_type::INT8 => Ok((-128.0, 127.0)),
        data_type::UINT8 => Ok((0.0, 255.0)),
        _ => Err(err(
            ErrorCode::UnsupportedDataType,
            "quantized type other than int8 and uint8",
        )),
    }
}

/// QuantizeLinear (`quantize`) or DequantizeLinear.
pub(crate) fn quantize_linear(
    cx: &mut Ctx<'_>,
    node: &Node<'_, '_>,
    ins: &Inputs,
    quantize: bool,
) -> Result<()> {
    let at = Attrs::new(node);
    if at.int("block_size", 0)? != 0 {
        return Err(err(
            ErrorCode::UnsupportedAttribute,
            "blocked quantization (block_size) is not supported",
        ));
    }
    let (x, scale, zero) = (ins.get(0)?, ins.get(1)?, ins.opt(2));
    let shape = to_vec(cx.shape(x)?)?;
    let q = geometry(cx, &at, &shape, scale, zero)?;
    // The integer type: the zero point's; without one, QuantizeLinear's `output_dtype`
    // (opset 21) or uint8, DequantizeLinear's input's.
    let zero_elem = zero.map(|z| cx.elem_of(z));
    let elem = match (quantize, zero_elem) {
        (_, Some(e)) if e != 0 => e,
        (true, _) => match at.int("output_dtype", 0)? {
            0 => data_type::UINT8,
            t => i32::try_from(t).unwrap_or(0),
        },
        (false, _) => cx.elem_of(x),
    };
    let (lo, hi) = if !quantize && elem == data_type::INT32 && cx.konst(x)?.is_some() {
        // int32 biases: dequantized only (their zero point is 0), never saturated.
        (f32::MIN, f32::MAX)
    } else {
        bounds(elem)?
    };
    let q = Quant { lo, hi, ..q };
    let out = output0(cx, node)?;
    let len = numel(&shape)?;
    // The zero point's values, when it is a constant.
    let zero_v: Option<Vec<f32>> = match zero.map(|z| cx.konst(z)).transpose()?.flatten() {
        Some(ConstData::I64(v)) => Some(try_collect(v.iter().map(|&v| v as f32))?),
        Some(ConstData::F32(v)) => Some(to_vec(v)?),
        None => None,
    };
    let zero_known = zero.is_none() || zero_v.is_some();

    // Folded: a constant input, scale and zero point.
    let scale_v = cx.const_f32(scale)?;
    if let (Some(xc), Some(scale_v), true) = (cx.konst(x)?, scale_v, zero_known) {
        cx.check_fold(len)?;
        let mut y = Vec::new();
        y.try_reserve_exact(len)?;
        y.resize(len, 0.0f32);
        let z = zero_v.as_deref();
        match xc {
            // (x - zero) in integers first, as onnxruntime computes it.
            ConstData::I64(v) if !quantize => {
                for (i, yv) in y.iter_mut().enumerate() {
                    let c = (i / q.inner.max(1)) % q.channels.max(1);
                    let zc = z.and_then(|z| z.get(c)).map_or(0, |&z| z as i64);
                    let s = scale_v.get(c).copied().unwrap_or(1.0);
                    *yv = v.get(i).map_or(0.0, |&x| x.saturating_sub(zc) as f32 * s);
                }
            }
            // Quantizing integers: a cast to float first.
            ConstData::I64(v) => {
                let xf: Vec<f32> = try_collect(v.iter().map(|&v| v as f32))?;
                quant::quantize(&q, &xf, scale_v, z, &mut y);
            }
            ConstData::F32(v) if quantize => quant::quantize(&q, v, scale_v, z, &mut y),
            ConstData::F32(v) => quant::dequantize(&q, v, scale_v, z, &mut y),
        }
        if !quantize {
            return cx.define_const(out, shape, ConstData::F32(y.into()));
        }
        let ints: Vec<i64> = try_collect(y.iter().map(|&v| v as i64))?;
        cx.define_const(out, shape, ConstData::I64(ints))?;
        cx.set_elem(out, elem);
        return Ok(());
    }

    // A run-time step.
    if !quantize && !is_8bit(elem) {
        return Err(err(
            ErrorCode::UnsupportedDataType,
            "DequantizeLinear of a run-time tensor that is not int8 or uint8",
        ));
    }
    // An integer constant input (the scale is not constant): its values as float32.
    let x_loc = match cx.konst(x)? {
        Some(ConstData::I64(v)) => {
            let values = try_collect(v.iter().map(|&v| v as f32))?;
            cx.add_folded(values)?
        }
        _ => cx.loc(x)?,
    };
    let mut inputs = to_vec(&[x_loc, cx.loc(scale)?])?;
    match (zero, zero_v) {
        // A constant zero point not all zero: an operand (float32, the integers' values).
        (_, Some(z)) => {
            if z.iter().any(|&v| v != 0.0) {
                let loc = cx.add_folded(z)?;
                super::push(&mut inputs, loc)?;
            }
        }
        (Some(z), None) => super::push(&mut inputs, cx.loc(z)?)?,
        (None, None) => {}
    }
    let kernel = Kernel::Quant { q, quantize };
    cx.add_step(node, out, shape, kernel, inputs, node.op_type, 0, 0)?;
    if quantize {
        cx.set_elem(out, elem);
    }
    Ok(())
}

/// The per-tensor or per-axis geometry of `x` (`shape`) for a `scale` and optional `zero`
/// point: a scalar (or one-element) scale is per tensor, a 1-D one per axis (opset 13 on;
/// `axis`, default 1).
fn geometry(
    cx: &Ctx<'_>,
    at: &Attrs<'_, '_>,
    shape: &[usize],
    scale: In,
    zero: Option<In>,
) -> Result<Quant> {
    let len = numel(shape)?;
    let scale_shape = cx.shape(scale)?;
    let channels = numel(scale_shape)?;
    if let Some(z) = zero {
        // A one-element scale and zero point may differ in rank ([1] and [], as
        // onnxruntime's quantize_static writes them).
        let z_shape = cx.shape(z)?;
        if z_shape != scale_shape && !(channels == 1 && numel(z_shape)? == 1) {
            return Err(err(
                ErrorCode::ShapeMismatch,
                "zero point and scale differ in shape",
            ));
        }
    }
    let per_tensor = Quant {
        outer: 1,
        channels: 1,
        inner: len,
        lo: 0.0,
        hi: 0.0,
    };
    if channels == 1 && scale_shape.len() <= 1 {
        return Ok(per_tensor);
    }
    if scale_shape.len() != 1 || cx.opset < 13 {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "quantization scale must be a scalar or (opset 13 on) 1-D",
        ));
    }
    let rank = i64::try_from(shape.len()).unwrap_or(0);
    let axis = at.int("axis", 1)?;
    let axis = if axis < 0 { axis + rank } else { axis };
    let axis = usize::try_from(axis)
        .ok()
        .filter(|&a| a < shape.len())
        .ok_or_else(|| err(ErrorCode::InvalidAttribute, "axis"))?;
    if shape.get(axis) != Some(&channels) {
        return Err(err(
            ErrorCode::ShapeMismatch,
            "quantization scale length differs from the axis",
        ));
    }
    let outer: usize = shape.get(..axis).unwrap_or(&[]).iter().product();
    let inner: usize = shape.get(axis + 1..).unwrap_or(&[]).iter().product();
    Ok(Quant {
        outer,
        channels,
        inner,
        lo: 0.0,
        hi: 0.0,
    })
}
