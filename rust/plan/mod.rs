//! The execution plan: the seam between the compiler and the runtime.
//!
//! The compiler ([`crate::compile`]) writes a [`Plan`]; the runtime ([`crate::runtime`])
//! runs one. A plan is a list of [`step::Step`]s whose operands are resolved to ranges of one
//! activation arena (laid out by [`arena`]) and of the weight store, plus the tables of
//! graph inputs, outputs and executed nodes. [`format`] stores a plan as bytes (an `.rtm`
//! file) and reads it back, so that a device can run a plan compiled on the host without
//! carrying the ONNX decoder and compiler.

pub mod arena;
pub mod format;
pub mod info;
pub mod parts;
pub mod step;
pub mod validate;

use alloc::vec::Vec;

use crate::error::{err, ErrorCode, Result};
use info::{InfoBytes, Tables};
pub use info::{InitializerInfo, NodeInfo, Records, TensorInfo};
use step::{Loc, Step};

/// Largest number of elements of a tensor computed at load time or planned in the arena.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 24;
/// Most operands of a step (a Concat of 64 inputs, or a convolution with its scratch).
pub const MAX_STEP_INPUTS: usize = 65;

/// The weights of a plan: copied into RAM, or used where they lie.
pub enum WeightStore {
    /// Owned by the plan.
    Owned(Vec<f32>),
    /// In a buffer that lives for the whole program (a plan in flash).
    Static(&'static [f32]),
    /// In the plan's own bytes, kept by the model (a plan read from a file): `range` is the
    /// weight section, aligned for f32 (checked by [`WeightStore::in_buffer`]).
    InBuffer {
        /// The plan file's bytes.
        bytes: Vec<u8>,
        /// The weight section within them.
        range: core::ops::Range<usize>,
    },
}

impl WeightStore {
    /// The weights.
    pub fn as_slice(&self) -> &[f32] {
        match self {
            WeightStore::Owned(v) => v,
            WeightStore::Static(s) => s,
            WeightStore::InBuffer { bytes, range } => {
                bytes.get(range.clone()).and_then(f32_view).unwrap_or(&[])
            }
        }
    }

    /// The weights in `range` of `bytes`, used where they lie: refused unless aligned.
    pub fn in_buffer(bytes: Vec<u8>, range: core::ops::Range<usize>) -> Result<WeightStore> {
        if bytes.get(range.clone()).and_then(f32_view).is_none() {
            return Err(err(ErrorCode::InvalidArgument, "weights not aligned"));
        }
        Ok(WeightStore::InBuffer { bytes, range })
    }
}

/// Views little-endian f32 bytes as floats where they lie, when they are aligned.
pub(crate) fn f32_view(bytes: &[u8]) -> Option<&[f32]> {
    if cfg!(target_endian = "big")
        || bytes.len() % 4 != 0
        || (bytes.as_ptr() as usize) % core::mem::align_of::<f32>() != 0
    {
        return None;
    }
    // SAFETY: the pointer is aligned for f32 (checked above), `len / 4` floats cover exactly
    // the bytes (the length is a multiple of 4) and borrow them for as long as `bytes`, and
    // every bit pattern is a valid f32.
    Some(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) })
}

/// The kernel set a plan is compiled for. Kernel choices that depend on the device are made
/// at compile time and recorded in the plan's steps, so a plan runs only on a build of the
/// library for its target (checked when a plan is loaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Portable kernels only (Cortex-M0/M3, soft-float, Cortex-A, any other CPU).
    Portable,
    /// Arm cores whose FPU has `VFMA.F32` (Cortex-M4F, M7, M33, M55 with hard float): the
    /// portable steps, whose hot loops are the VFMA assembly kernels there.
    ArmVfma,
    /// x86-64: convolutions with weights packed for the AVX2 + FMA kernel (packed at load,
    /// with a portable fallback on a CPU without AVX2).
    X86_64,
}

impl Target {
    /// The target this build of the library runs.
    pub const fn native() -> Target {
        if cfg!(target_arch = "x86_64") {
            Target::X86_64
        } else if cfg!(rtonnx_vfma) {
            Target::ArmVfma
        } else {
            Target::Portable
        }
    }

    /// Its number in the plan format.
    pub const fn code(self) -> u8 {
        match self {
            Target::Portable => 0,
            Target::ArmVfma => 1,
            Target::X86_64 => 2,
        }
    }

    /// The target of a plan-format number.
    pub const fn from_code(code: u8) -> Option<Target> {
        match code {
            0 => Some(Target::Portable),
            1 => Some(Target::ArmVfma),
            2 => Some(Target::X86_64),
            _ => None,
        }
    }

    /// The name `rtonnx compile --target` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Target::Portable => "portable",
            Target::ArmVfma => "cortex-m-vfma",
            Target::X86_64 => "x86_64",
        }
    }

    /// Parses a target name or a Rust target triple (`thumbv7em-none-eabihf` is
    /// `cortex-m-vfma`, `x86_64-unknown-linux-gnu` is `x86_64`, other triples are portable).
    pub fn parse(s: &str) -> Option<Target> {
        match s {
            "portable" => return Some(Target::Portable),
            "cortex-m-vfma" | "cortex-m4f" | "cortex-m7" | "cortex-m33" | "cortex-m55" => {
                return Some(Target::ArmVfma)
            }
            "x86_64" | "x86-64" => return Some(Target::X86_64),
            _ => {}
        }
        let vfma_arch = ["thumbv7em-", "thumbv8m.main-", "thumbv8.1m.main-"]
            .iter()
            .any(|p| s.starts_with(p));
        if vfma_arch && s.ends_with("eabihf") {
            Some(Target::ArmVfma)
        } else if s.starts_with("x86_64-") {
            Some(Target::X86_64)
        } else if s.contains('-') {
            Some(Target::Portable)
        } else {
            None
        }
    }
}

/// A compiled model, ready to run: steps over one arena, the weights they read, and the
/// model's tables.
pub struct Plan {
    /// The kernel set the steps were chosen for.
    pub target: Target,
    /// The steps, in execution order (one [`NodeInfo`] each, in `nodes`).
    pub steps: Vec<Step>,
    /// The weight store (`Loc::Weight` operands index it).
    pub weights: WeightStore,
    /// Weights used in place from a buffer that outlives the model (e.g. in flash).
    pub segments: Vec<&'static [f32]>,
    /// Weights the model owns, one block per tensor (moved from the compiler, not copied).
    pub chunks: Vec<Vec<f32>>,
    /// Elements of the activation arena.
    pub arena_len: usize,
    /// The graph inputs, outputs, initializers and node records (see [`info`]).
    pub(crate) info: InfoBytes,
    /// Where each of those tables is.
    pub(crate) index: info::Index,
}

impl Plan {
    /// Bytes of weights held in RAM (copied or computed at load time).
    pub fn ram_weight_bytes(&self) -> usize {
        let owned = match &self.weights {
            WeightStore::Owned(v) => v.len(),
            WeightStore::InBuffer { bytes, .. } => bytes.len() / 4,
            WeightStore::Static(_) => 0,
        };
        (owned + self.chunks.iter().map(Vec::len).sum::<usize>()) * 4
    }

    /// Bytes of weights used in place (from a model buffer in flash).
    pub fn static_weight_bytes(&self) -> usize {
        let own = match &self.weights {
            WeightStore::Static(s) => s.len(),
            WeightStore::Owned(_) | WeightStore::InBuffer { .. } => 0,
        };
        (own + self.segments.iter().map(|s| s.len()).sum::<usize>()) * 4
    }

    /// The information tables, where they are.
    pub(crate) fn tables(&self) -> Tables<'_> {
        let b: &[u8] = match &self.info {
            InfoBytes::Static(s) => s,
            InfoBytes::Owned(v) => v,
            InfoBytes::InWeightBuffer(range) => match &self.weights {
                WeightStore::InBuffer { bytes, .. } => bytes.get(range.clone()).unwrap_or(&[]),
                _ => &[],
            },
        };
        Tables {
            b,
            index: self.index,
        }
    }

    /// Graph inputs (read where the caller has them: never copied into the arena).
    pub fn inputs(&self) -> Records<'_, TensorInfo<'_>> {
        self.tables().inputs()
    }

    /// Graph outputs, with where each is when the steps have run.
    pub fn outputs(&self) -> Records<'_, (TensorInfo<'_>, Loc)> {
        self.tables().outputs()
    }

    /// Initializers the steps read unchanged.
    pub fn initializers(&self) -> Records<'_, InitializerInfo<'_>> {
        self.tables().initializers()
    }

    /// One record per step, in order.
    pub fn nodes(&self) -> Records<'_, NodeInfo<'_>> {
        self.tables().nodes()
    }

    /// Number of graph inputs.
    pub fn input_count(&self) -> usize {
        self.index.input_count()
    }

    /// Number of graph outputs.
    pub fn output_count(&self) -> usize {
        self.index.output_count()
    }

    /// Number of node records (one per step).
    pub fn node_count(&self) -> usize {
        self.index.node_count()
    }

    /// The build parts the steps use, each once, in [`parts::Part::ALL`]'s order.
    pub fn parts(&self) -> impl Iterator<Item = parts::Part> + '_ {
        parts::Part::ALL.into_iter().filter(|p| {
            self.steps
                .iter()
                .any(|s| parts::Part::of(&s.kernel) == Some(*p))
        })
    }

    /// The error of loading this plan on this build when it lacks a part the plan needs
    /// (named after the first step that needs it).
    pub fn missing_part(&self) -> Option<crate::Error> {
        // Node names are read only for the message.
        self.steps.iter().enumerate().find_map(|(i, step)| {
            let part = parts::Part::of(&step.kernel)?;
            (!part.enabled()).then(|| {
                let name = self.nodes().nth(i).map_or("", |n| n.name);
                part.missing().with_name(name)
            })
        })
    }

    /// The read-only operands of a run with `inputs`.
    pub fn weights<'w>(&'w self, inputs: &'w [&'w [f32]]) -> step::Weights<'w> {
        step::Weights {
            owned: self.weights.as_slice(),
            segments: &self.segments,
            chunks: &self.chunks,
            inputs,
        }
    }
}
