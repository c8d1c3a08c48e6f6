//! ONNX backend node tests: every case whose operators rtonnx supports must match ONNX's
//! expected outputs (rtol 1e-3, atol 1e-7: the tolerances of ONNX's own backend runner).
//!
//! Cases come from `tools/conformance/gen_node_tests.py` (directory from
//! `RTONNX_CONFORMANCE_DIR`, default `target/onnx-node-tests`). A case is *skipped* when the
//! model is refused with an "unsupported" code or its inputs/outputs are not float32 (or
//! int8/uint8, given and compared as float32 values carrying the integers); it
//! *fails* on any other error or a wrong number. Known failures are listed with their reason
//! in `tests/conformance_known_failures.txt`; an unlisted failure, or a listed case that now
//! passes, fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rtonnx::decode::model::{data_type, merge_tensor, FloatData, TensorDesc};
use rtonnx::{ErrorCode, Model};

fn read_tensor(path: &Path) -> Result<Vec<f32>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut t = TensorDesc::default();
    merge_tensor(&mut t, &bytes).map_err(|e| e.to_string())?;
    let n: usize = t.dims.iter().map(|d| d as usize).product();
    // 8-bit integer tensors (quantized models') are exchanged as float32 values carrying the
    // integers.
    if t.data_type == data_type::INT8 || t.data_type == data_type::UINT8 {
        let v: Vec<f32> = match t.raw_data {
            Some(raw) if t.data_type == data_type::INT8 => {
                raw.iter().map(|&b| f32::from(b as i8)).collect()
            }
            Some(raw) => raw.iter().map(|&b| f32::from(b)).collect(),
            None => t.int32_data.iter().map(|&v| v as f32).collect(),
        };
        if v.len() != n {
            return Err("tensor data size".into());
        }
        return Ok(v);
    }
    if t.data_type != data_type::FLOAT {
        return Err("non-float32 tensor".into());
    }
    let v: Vec<f32> = if let Some(raw) = t.raw_data {
        raw.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        match &t.float_data {
            FloatData::None => Vec::new(),
            FloatData::Packed(b) => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            FloatData::Values(v) => v.clone(),
        }
    };
    if v.len() != n {
        return Err("tensor data size".into());
    }
    Ok(v)
}

enum Outcome {
    Passed,
    Skipped(String),
    Failed(String),
}

fn is_unsupported(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UnsupportedOperator
            | ErrorCode::UnsupportedDataType
            | ErrorCode::UnsupportedAttribute
            | ErrorCode::UnsupportedOpset
            | ErrorCode::UnsupportedDomain
            | ErrorCode::NotSupported
    )
}

fn run_case(dir: &Path) -> Outcome {
    let bytes = match std::fs::read(dir.join("model.onnx")) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("read model: {e}")),
    };
    let ds = dir.join("test_data_set_0");
    let files = |kind: &str| -> Vec<PathBuf> {
        (0..)
            .map(|i| ds.join(format!("{kind}_{i}.pb")))
            .take_while(|p| p.exists())
            .collect()
    };
    let mut inputs = Vec::new();
    for p in files("input") {
        match read_tensor(&p) {
            Ok(v) => inputs.push(v),
            Err(e) => return Outcome::Skipped(format!("input: {e}")),
        }
    }
    let mut expected = Vec::new();
    for p in files("output") {
        match read_tensor(&p) {
            Ok(v) => expected.push(v),
            Err(e) => return Outcome::Skipped(format!("output: {e}")),
        }
    }
    let mut model = match Model::from_bytes(&bytes) {
        Ok(m) => m,
        Err(e) if is_unsupported(e.code()) => return Outcome::Skipped(e.to_string()),
        Err(e) => return Outcome::Failed(format!("load: {e}")),
    };
    if model.outputs().len() != expected.len() || model.inputs().len() != inputs.len() {
        return Outcome::Failed("input/output count differs".into());
    }
    let mut outputs: Vec<Vec<f32>> = model.outputs().map(|o| vec![0.0; o.len()]).collect();
    for (o, e) in outputs.iter().zip(&expected) {
        if o.len() != e.len() {
            return Outcome::Failed(format!(
                "output has {} elements, expected {}",
                o.len(),
                e.len()
            ));
        }
    }
    let in_refs: Vec<&[f32]> = inputs.iter().map(|v| v.as_slice()).collect();
    let mut out_refs: Vec<&mut [f32]> = outputs.iter_mut().map(|v| v.as_mut_slice()).collect();
    if let Err(e) = model.run_many(&in_refs, &mut out_refs) {
        return Outcome::Failed(format!("run: {e}"));
    }
    for (k, (o, e)) in outputs.iter().zip(&expected).enumerate() {
        for (i, (&a, &b)) in o.iter().zip(e).enumerate() {
            let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-7 + 1e-3 * b.abs();
            if !ok {
                return Outcome::Failed(format!("output {k}[{i}] = {a}, expected {b}"));
            }
        }
    }
    // The same model through a compiled plan runs bit-identical.
    let plan = rtonnx::load::compile_plan(&bytes, rtonnx::Target::native())
        .and_then(|p| rtonnx::plan::format::write(&p));
    let mut planned = match plan.and_then(|p| Model::from_bytes(&p)) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed(format!("plan: {e}")),
    };
    let mut again: Vec<Vec<f32>> = outputs.iter().map(|o| vec![0.0; o.len()]).collect();
    let mut again_refs: Vec<&mut [f32]> = again.iter_mut().map(|v| v.as_mut_slice()).collect();
    if let Err(e) = planned.run_many(&in_refs, &mut again_refs) {
        return Outcome::Failed(format!("plan run: {e}"));
    }
    let bits = |v: &[Vec<f32>]| -> Vec<u32> { v.iter().flatten().map(|x| x.to_bits()).collect() };
    if bits(&again) != bits(&outputs) {
        return Outcome::Failed("the compiled plan's outputs differ from the ONNX path's".into());
    }
    Outcome::Passed
}

fn op_of(name: &str) -> String {
    name.trim_start_matches("test_")
        .split('_')
        .next()
        .unwrap_or("")
        .to_string()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("RTONNX_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/onnx-node-tests"));
    if !dir.is_dir() {
        println!(
            "conformance: no cases at {} (generate them with: python tools/conformance/gen_node_tests.py {})",
            dir.display(),
            dir.display()
        );
        if std::env::var_os("RTONNX_CONFORMANCE_REQUIRED").is_some() {
            std::process::exit(1);
        }
        println!("0 passed, 0 failed, 0 skipped");
        return;
    }
    let known_text = std::fs::read_to_string(root.join("tests/conformance_known_failures.txt"))
        .unwrap_or_default();
    let known: BTreeSet<String> = known_text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read cases dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut passed, mut failed, mut skipped, mut known_failed) = (0, 0, 0, 0);
    let mut per_op: BTreeMap<String, usize> = BTreeMap::new();
    let mut skip_reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for name in &names {
        match run_case(&dir.join(name)) {
            Outcome::Passed => {
                passed += 1;
                *per_op.entry(op_of(name)).or_default() += 1;
                if known.contains(name) {
                    fixed.push(name.clone());
                }
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                let key: String = why.chars().take(70).collect();
                *skip_reasons.entry(key).or_default() += 1;
            }
            Outcome::Failed(why) => {
                if known.contains(name) {
                    known_failed += 1;
                } else {
                    failed += 1;
                }
                if known.contains(name) {
                    println!("known failure (listed) {name}: {why}");
                } else {
                    println!("FAILED (not listed) {name}: {why}");
                }
                if !known.contains(name) {
                    unexpected.push(name.clone());
                }
            }
        }
    }
    println!("passed cases by operator:");
    let list: Vec<String> = per_op.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("  {}", list.join(", "));
    let mut reasons: Vec<(&String, &usize)> = skip_reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1));
    println!("most common reasons to skip:");
    for (r, n) in reasons.iter().take(12) {
        println!("  {n:5}  {r}");
    }
    for f in &fixed {
        println!("listed as a known failure but passes now: {f} (remove it from the list)");
    }
    println!("known failures (tests/conformance_known_failures.txt): {known_failed}");
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if !unexpected.is_empty() || !fixed.is_empty() || passed == 0 {
        std::process::exit(1);
    }
}
