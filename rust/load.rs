//! Loading a model: an ONNX file goes decode -> compile -> plan -> runtime; a compiled plan
//! (an `.rtm` file, see [`crate::plan::format`]) is read and checked, then run. Both are
//! recognised by their first bytes. A build without the ONNX loader (cargo feature `onnx`)
//! reads plans only and refuses an ONNX file with [`ErrorCode::NotSupported`].

use alloc::vec::Vec;

#[cfg(feature = "onnx")]
use crate::compile;
#[cfg(feature = "onnx")]
use crate::decode;
use crate::error::Result;
#[cfg(not(feature = "onnx"))]
use crate::error::{err, ErrorCode};
use crate::plan::{format, Plan, Target};
use crate::runtime::Model;

/// Compiles the bytes of an ONNX file into a plan for `target`. With `keep`, borrowed
/// weights that `keep` returns are used in place instead of copied.
#[cfg(feature = "onnx")]
fn compile_onnx<'a>(
    bytes: &'a [u8],
    target: Target,
    keep: impl Fn(&'a [f32]) -> Option<&'static [f32]>,
    borrow: bool,
) -> Result<Plan> {
    let desc = decode::decode_model(bytes)?;
    let compiled = compile::compile(&desc, bytes.len(), borrow, target)?;
    drop(desc);
    compile::finish(compiled, target, keep)
}

/// Compiles an ONNX file's bytes into a plan for `target` (what `rtonnx compile` writes).
/// Every weight is copied into the plan. A build without the ONNX loader refuses.
pub fn compile_plan(bytes: &[u8], target: Target) -> Result<Plan> {
    compile_onnx(bytes, target, |_| None, false)
}

/// A plan-only build: what is not a plan is refused, saying how to get one.
#[cfg(not(feature = "onnx"))]
fn compile_onnx<'a>(
    _bytes: &'a [u8],
    _target: Target,
    _keep: impl Fn(&'a [f32]) -> Option<&'static [f32]>,
    _borrow: bool,
) -> Result<Plan> {
    Err(err(
        ErrorCode::NotSupported,
        "not a plan, and no ONNX loader: use `rtonnx compile`, or enable RTONNX_ONNX_LOADER \
         (feature onnx)",
    ))
}

impl Model {
    /// Loads a model from the bytes of an ONNX file or of a compiled plan. The bytes are not
    /// kept.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        if format::is_plan(bytes) {
            return Model::from_plan(format::read(bytes, None)?);
        }
        Model::from_plan(compile_plan(bytes, Target::native())?)
    }

    /// Loads a model from the bytes of a file read into memory (ONNX or plan). An ONNX file's
    /// bytes are freed before the arena is allocated: the peak heap of a load from a file is
    /// then the larger of compiling (file + decoder + compiler) and the loaded model, not
    /// their sum. A plan keeps them, and its weights are used there instead of copied.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Model> {
        if format::is_plan(&bytes) {
            // The plan keeps the buffer and runs its weights where they lie.
            return Model::from_plan(format::read_vec(bytes)?);
        }
        let plan = compile_plan(&bytes, Target::native())?;
        drop(bytes);
        Model::from_plan(plan)
    }

    /// Loads a model from bytes that live for the whole program (a `static` array, e.g. in
    /// flash). Weights are used where they lie instead of being copied, which saves their
    /// size in RAM: all of a plan's (its weight section is aligned), and the float weights an
    /// ONNX file stores aligned. Misaligned or folded weights are still copied.
    pub fn from_static(bytes: &'static [u8]) -> Result<Model> {
        if format::is_plan(bytes) {
            return Model::from_plan(format::read(bytes, Some(bytes))?);
        }
        Model::from_plan(compile_onnx(bytes, Target::native(), Some, true)?)
    }
}
