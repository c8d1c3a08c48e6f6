//! Tensors in files for the host tools: NumPy `.npy` arrays (through the npyz crate) or raw
//! little-endian float32, checked against a model input's shape. The bytes are untrusted
//! (fuzz target `npy`): a header cannot make the reader allocate more than the file holds.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The value of a model input named `name` of `shape` from a file's `bytes`: a `.npy` array
/// of float32, float64 or an integer type (converted to float32; 8-bit inputs of quantized
/// models are float32 values carrying the integers), in C order and of the input's shape;
/// other bytes as raw little-endian float32 of the input's length. The error says what
/// differs.
pub fn parse_input(bytes: &[u8], name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
    let len: usize = shape.iter().product();
    if !bytes.starts_with(b"\x93NUMPY") {
        if bytes.len() != len.saturating_mul(4) {
            return Err(format!(
                "input '{name}' needs {len} float32 values ({} bytes of raw little-endian float32, or a .npy file), the file has {} bytes",
                len.saturating_mul(4),
                bytes.len()
            ));
        }
        return Ok(bytes
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(f32::from_le_bytes))
            .collect());
    }
    // The header's length is checked against the file first: npyz allocates what it claims.
    let header_end = match (bytes.get(6), bytes.get(8..12)) {
        (Some(1), Some(&[a, b, _, _])) => 10 + usize::from(u16::from_le_bytes([a, b])),
        (Some(2 | 3), Some(&[a, b, c, d])) => {
            12usize.saturating_add(u32::from_le_bytes([a, b, c, d]) as usize)
        }
        _ => return Err("not a valid .npy file: unknown format version".into()),
    };
    let header_start = if bytes.get(6) == Some(&1) { 10 } else { 12 };
    let Some(header) = bytes.get(header_start..header_end) else {
        return Err("not a valid .npy file: the header is longer than the file".into());
    };
    // A plain number type's header is one flat dict with one shape tuple: nested lists or
    // tuples (structured types, which are not read) would take npyz's parser time that grows
    // fast with their depth.
    let parens = header.iter().filter(|&&c| c == b'(').count();
    if header.contains(&b'[') || parens > 1 || header.len() > 4096 {
        return Err("structured or oversized .npy header: give an array of one number type".into());
    }
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a valid .npy file: {e}"))?;
    if npy.order() == npyz::Order::Fortran {
        return Err("Fortran-ordered arrays are not read: save it in C order".into());
    }
    let got: Vec<u64> = npy.shape().to_vec();
    let matches = got.len() == shape.len() && got.iter().zip(shape).all(|(&a, &b)| a == b as u64);
    if !matches {
        return Err(format!(
            "input '{name}' has shape {shape:?}, the array has shape {got:?}"
        ));
    }
    // The data must be in the file: a header cannot make this allocate more than it holds.
    let item = match npy.dtype() {
        d @ npyz::DType::Plain(_) => d.num_bytes().unwrap_or(0),
        _ => 0,
    };
    if item == 0 || (len as u64).saturating_mul(item as u64) > bytes.len() as u64 {
        return Err("array data shorter than its shape, or not a plain number type".into());
    }
    let data = convert(npy)?;
    if data.len() != len {
        return Err(format!("{} values, input '{name}' needs {len}", data.len()));
    }
    Ok(data)
}

/// The array's values as float32, for the number types a model input can come in.
fn convert(npy: npyz::NpyFile<&[u8]>) -> Result<Vec<f32>, String> {
    fn values<T: npyz::Deserialize + Copy>(
        npy: npyz::NpyFile<&[u8]>,
        to: fn(T) -> f32,
    ) -> Result<Result<Vec<f32>, String>, npyz::NpyFile<&[u8]>> {
        let data = npy.try_data::<T>()?;
        Ok(data
            .into_iter()
            .map(|v| v.map(to))
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|e| e.to_string()))
    }
    let npy = match values::<f32>(npy, |v| v) {
        Ok(r) => return r,
        Err(n) => n,
    };
    let npy = match values::<f64>(npy, |v| v as f32) {
        Ok(r) => return r,
        Err(n) => n,
    };
    let npy = match values::<i8>(npy, f32::from) {
        Ok(r) => return r,
        Err(n) => n,
    };
    let npy = match values::<u8>(npy, f32::from) {
        Ok(r) => return r,
        Err(n) => n,
    };
    let npy = match values::<i32>(npy, |v| v as f32) {
        Ok(r) => return r,
        Err(n) => n,
    };
    match values::<i64>(npy, |v| v as f32) {
        Ok(r) => r,
        Err(n) => Err(format!(
            "array of {}: give float32, float64 or an integer type",
            n.dtype().descr()
        )),
    }
}
