//! Constant tensors known at load time (initializers, Constant nodes, folded results).

use alloc::vec::Vec;

use super::element_count;
use crate::decode::model::{data_type, FloatData, TensorDesc};
use crate::error::{err, ErrorCode, Result};

/// Element type of a tensor. Runtime tensors are float32; int64 exists at load time for
/// shape arithmetic. (int8 will join for quantized kernels.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DType {
    F32,
    I64,
}

/// Float data of a constant: computed here, or borrowed in place from the model buffer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum F32Buf<'a> {
    Owned(Vec<f32>),
    Borrowed(&'a [f32]),
}

impl core::ops::Deref for F32Buf<'_> {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match self {
            F32Buf::Owned(v) => v,
            F32Buf::Borrowed(s) => s,
        }
    }
}

impl From<Vec<f32>> for F32Buf<'_> {
    fn from(v: Vec<f32>) -> Self {
        F32Buf::Owned(v)
    }
}

/// Data of a constant tensor.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstData<'a> {
    F32(F32Buf<'a>),
    I64(Vec<i64>),
}

/// Views little-endian f32 bytes as floats without copying, when they are aligned.
fn as_f32_slice(bytes: &[u8]) -> Option<&[f32]> {
    if cfg!(target_endian = "big")
        || bytes.len() % 4 != 0
        || (bytes.as_ptr() as usize) % core::mem::align_of::<f32>() != 0
    {
        return None;
    }
    // SAFETY: the pointer is aligned for f32 (checked above), `len / 4` floats cover exactly
    // the borrowed bytes (length is a multiple of 4), the result borrows `bytes` so it cannot
    // outlive them, and every bit pattern is a valid f32.
    Some(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) })
}

impl ConstData<'_> {
    /// The same data, copied where it was borrowed.
    pub(crate) fn into_owned<'b>(self) -> Result<ConstData<'b>> {
        Ok(match self {
            ConstData::F32(F32Buf::Owned(v)) => ConstData::F32(F32Buf::Owned(v)),
            ConstData::F32(F32Buf::Borrowed(s)) => ConstData::F32(F32Buf::Owned(super::to_vec(s)?)),
            ConstData::I64(v) => ConstData::I64(v),
        })
    }

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
    for d in t.dims.iter() {
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
/// With `borrow`, aligned float data is used in place instead of copied.
pub(crate) fn from_desc<'a>(
    t: &TensorDesc<'a>,
    borrow: bool,
) -> Result<(Vec<usize>, ConstData<'a>)> {
    if t.data_location == 1 {
        return Err(err(ErrorCode::NotSupported, "external tensor data").with_name(t.name));
    }
    let shape = dims(t)?;
    // The data must be in the file, so it bounds the count: a count the data does not hold is
    // `DataSize`, checked below before anything is allocated.
    let n = element_count(&shape).map_err(|e| e.with_name(t.name))?;
    let data = match t.data_type {
        data_type::FLOAT => {
            let packed = match (t.raw_data, &t.float_data) {
                (Some(raw), _) => Some(raw),
                (None, FloatData::Packed(b)) => Some(*b),
                _ => None,
            };
            let in_place = packed
                .filter(|_| borrow)
                .and_then(as_f32_slice)
                .filter(|s| s.len() == n);
            if let Some(s) = in_place {
                ConstData::F32(F32Buf::Borrowed(s))
            } else if let Some(raw) = t.raw_data {
                ConstData::F32(from_raw(raw, n, f32::from_le_bytes)?.into())
            } else {
                if t.float_data.len() != n {
                    return Err(size_error().with_name(t.name));
                }
                let mut v = Vec::new();
                v.try_reserve_exact(n)?;
                match &t.float_data {
                    FloatData::None => {}
                    FloatData::Packed(b) => {
                        v.extend(b.chunks_exact(4).map(crate::decode::wire::f32_le))
                    }
                    FloatData::Values(vals) => v.extend_from_slice(vals),
                }
                ConstData::F32(v.into())
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
