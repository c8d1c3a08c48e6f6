//! Constant tensors known at load time (initializers, Constant nodes, folded results).

use alloc::vec::Vec;

use super::numel;
use crate::decode::model::{data_type, FloatData, TensorDesc};
use crate::error::{err, ErrorCode, Result};

/// Element type of a tensor. Runtime tensors are float32; int64 exists at load time for
/// shape arithmetic. (int8 will join for quantized kernels.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DType {
    F32,
    I64,
}

/// Data of a constant tensor.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl ConstData {
    pub(crate) fn len(&self) -> usize {
        match self {
            ConstData::F32(v) => v.len(),
            ConstData::I64(v) => v.len(),
        }
    }
    pub(crate) fn dtype(&self) -> DType {
        match self {
            ConstData::F32(_) => DType::F32,
            ConstData::I64(_) => DType::I64,
        }
    }
}

fn size_error() -> crate::Error {
    err(ErrorCode::DataSize, "tensor data does not match its dims")
}

/// Checked dims of a stored tensor.
pub(crate) fn dims(t: &TensorDesc<'_>) -> Result<Vec<usize>> {
    let mut shape = Vec::new();
    shape.try_reserve_exact(t.dims.len())?;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| {
            err(ErrorCode::InvalidDimension, "negative dimension").with_name(t.name)
        })?;
        shape.push(d);
    }
    Ok(shape)
}

fn from_raw<T, const N: usize>(raw: &[u8], n: usize, conv: fn([u8; N]) -> T) -> Result<Vec<T>> {
    if raw.len() != n.checked_mul(N).ok_or_else(size_error)? {
        return Err(size_error());
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n)?;
    for c in raw.chunks_exact(N) {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        v.push(conv(a));
    }
    Ok(v)
}

/// Converts a stored tensor to a constant: float32 from `raw_data` or `float_data`; int64,
/// int32, int16, int8, uint8, uint16 and bool to int64 (shape and index tensors).
pub(crate) fn from_desc(t: &TensorDesc<'_>) -> Result<(Vec<usize>, ConstData)> {
    if t.data_location == 1 {
        return Err(err(ErrorCode::NotSupported, "external tensor data").with_name(t.name));
    }
    let shape = dims(t)?;
    let n = numel(&shape).map_err(|e| e.with_name(t.name))?;
    let data = match t.data_type {
        data_type::FLOAT => {
            if let Some(raw) = t.raw_data {
                ConstData::F32(from_raw(raw, n, f32::from_le_bytes)?)
            } else {
                if t.float_data.len() != n {
                    return Err(size_error().with_name(t.name));
                }
                let mut v = Vec::new();
                v.try_reserve_exact(n)?;
                match &t.float_data {
                    FloatData::None => {}
                    FloatData::Packed(b) => v.extend(
                        b.chunks_exact(4)
                            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                    ),
                    FloatData::Values(vals) => v.extend_from_slice(vals),
                }
                ConstData::F32(v)
            }
        }
        data_type::INT64 => {
            if let Some(raw) = t.raw_data {
                ConstData::I64(from_raw(raw, n, i64::from_le_bytes)?)
            } else {
                if t.int64_data.len() != n {
                    return Err(size_error().with_name(t.name));
                }
                ConstData::I64(super::to_vec(&t.int64_data)?)
            }
        }
        data_type::INT32 | 5 | 4 | data_type::INT8 | data_type::UINT8 | data_type::BOOL => {
            if let Some(raw) = t.raw_data {
                let v = match t.data_type {
                    data_type::INT32 => {
                        from_raw(raw, n, |b: [u8; 4]| i64::from(i32::from_le_bytes(b)))?
                    }
                    5 => from_raw(raw, n, |b: [u8; 2]| i64::from(i16::from_le_bytes(b)))?,
                    4 => from_raw(raw, n, |b: [u8; 2]| i64::from(u16::from_le_bytes(b)))?,
                    data_type::INT8 => from_raw(raw, n, |b: [u8; 1]| i64::from(b[0] as i8))?,
                    _ => from_raw(raw, n, |b: [u8; 1]| i64::from(b[0]))?,
                };
                ConstData::I64(v)
            } else {
                if t.int32_data.len() != n {
                    return Err(size_error().with_name(t.name));
                }
                let mut v = Vec::new();
                v.try_reserve_exact(n)?;
                v.extend(t.int32_data.iter().map(|&x| i64::from(x)));
                ConstData::I64(v)
            }
        }
        _ => {
            return Err(err(
                ErrorCode::UnsupportedDataType,
                "only float32 and integer tensors are supported",
            )
            .with_name(t.name))
        }
    };
    Ok((shape, data))
}
