//! Tensor files for `rtonnx run` and `bench`: read through [`rtonnx::npy`], written as
//! `.npy` (npyz) or raw little-endian float32.

use std::path::Path;

use rtonnx::Model;

/// Reads `path` as the value of graph input `index` of `model` ([`rtonnx::npy::parse_input`]).
pub fn read_input(path: &Path, model: &Model, index: usize) -> Result<Vec<f32>, String> {
    let info = model
        .input(index)
        .ok_or_else(|| format!("the model has {} inputs", model.inputs().len()))?;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    rtonnx::npy::parse_input(&bytes, info.name, info.shape.as_slice())
        .map_err(|e| format!("{}: {e}", path.display()))
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
