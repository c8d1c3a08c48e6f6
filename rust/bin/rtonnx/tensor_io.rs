//! Tensors in files for `rtonnx run`: NumPy `.npy` (through the npyz crate) or raw
//! little-endian float32, checked against the model's inputs.

use std::path::Path;

use rtonnx::Model;

/// Reads `path` as the value of graph input `index` of `model`: a `.npy` file of float32,
/// float64 or an integer type (converted to float32; 8-bit inputs of quantized models are
/// float32 values carrying the integers), in C order and of the input's shape; any other
/// file as raw little-endian float32 of the input's length.
pub fn read_input(path: &Path, model: &Model, index: usize) -> Result<Vec<f32>, String> {
    let info = model
        .input(index)
        .ok_or_else(|| format!("the model has {} inputs", model.inputs().len()))?;
    let (name, want): (&str, Vec<usize>) = (info.name, info.shape.as_slice().to_vec());
    let len: usize = want.iter().product();
    let at = |e: String| format!("{}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(|e| at(e.to_string()))?;
    let is_npy = bytes.starts_with(b"\x93NUMPY");
    if !is_npy {
        if bytes.len() != len * 4 {
            return Err(at(format!(
                "input '{name}' needs {len} float32 values ({} bytes of raw little-endian float32, or a .npy file), the file has {} bytes",
                len * 4,
                bytes.len()
            )));
        }
        return Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect());
    }
    let npy =
        npyz::NpyFile::new(&bytes[..]).map_err(|e| at(format!("not a valid .npy file: {e}")))?;
    if npy.order() == npyz::Order::Fortran {
        return Err(at(
            "Fortran-ordered arrays are not read: save it in C order".into(),
        ));
    }
    let shape: Vec<u64> = npy.shape().to_vec();
    let matches =
        shape.len() == want.len() && shape.iter().zip(&want).all(|(&a, &b)| a == b as u64);
    if !matches {
        return Err(at(format!(
            "input '{name}' has shape {want:?}, the array has shape {shape:?}"
        )));
    }
    // The data must be in the file: a header cannot make this allocate more than it holds.
    let item = match npy.dtype() {
        d @ npyz::DType::Plain(_) => d.num_bytes().unwrap_or(0),
        _ => 0,
    };
    if item == 0 || (len as u64).saturating_mul(item as u64) > bytes.len() as u64 {
        return Err(at(
            "array data shorter than its shape, or not a plain number type".into(),
        ));
    }
    let data = convert(npy).map_err(at)?;
    if data.len() != len {
        return Err(at(format!(
            "{} values, input '{name}' needs {len}",
            data.len()
        )));
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
            .collect::<std::io::Result<Vec<f32>>>()
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

/// Writes `data` of `shape` to `path`: `.npy` float32 when the name ends in `.npy`, else raw
/// little-endian float32.
pub fn write_output(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), String> {
    let at = |e: std::io::Error| format!("{}: {e}", path.display());
    if path.extension().and_then(|e| e.to_str()) != Some("npy") {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        return std::fs::write(path, bytes).map_err(at);
    }
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let file = std::fs::File::create(path).map_err(at)?;
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&shape)
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .map_err(at)?;
    w.extend(data.iter().copied()).map_err(at)?;
    w.finish().map_err(at)
}
