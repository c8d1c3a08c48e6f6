//! The loaded model and its execution.

pub mod step;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::compile::{self, Compiled, ConstData, F32Buf};
use crate::decode;
use crate::error::{err, ErrorCode, Result};
use crate::plan;
use step::{Loc, Step, Weights};

/// Name and static shape of a graph input or output.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Tensor name in the ONNX graph.
    pub name: String,
    /// Static shape (a symbolic or zero batch dimension is 1).
    pub shape: Vec<usize>,
}

impl TensorInfo {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One executed step of the plan, for `info` tables and profiling.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    /// Operator, with fused operators joined by '+', e.g. "Conv+Relu".
    pub op: String,
    /// Name of the (first) ONNX node this step came from.
    pub name: String,
    /// Shape of the output.
    pub output_shape: Vec<usize>,
    /// Number of weight parameters the step reads.
    pub params: usize,
    /// Multiply-accumulates per inference.
    pub macs: u64,
}

/// A compiled model, ready to run without allocating.
///
/// A model owns its arena, so [`Model::run`] takes `&mut self`: one model runs one inference
/// at a time; different models may run on different threads at once.
pub struct Model {
    steps: Vec<Step>,
    weights: Vec<f32>,
    arena: Vec<f32>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    output_locs: Vec<Loc>,
    nodes: Vec<NodeInfo>,
    initializers: Vec<(String, Vec<usize>, Loc)>,
    /// Weights used in place from a model buffer that outlives the model (e.g. in flash).
    segments: Vec<&'static [f32]>,
    /// Weights the model owns, one block per tensor (moved from the compiler, not copied).
    chunks: Vec<Vec<f32>>,
}

/// `v` moved into a vector of exactly its length (no spare capacity), or `v` itself when it
/// has none.
fn exact<T>(mut v: Vec<T>) -> Result<Vec<T>> {
    if v.capacity() == v.len() {
        return Ok(v);
    }
    let mut out = Vec::new();
    out.try_reserve_exact(v.len())?;
    out.append(&mut v);
    Ok(out)
}

impl Model {
    /// Loads and compiles a model from the bytes of an ONNX file. The bytes are not kept.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let desc = decode::decode_model(bytes)?;
        let compiled = compile::compile(&desc, bytes.len(), false)?;
        drop(desc);
        let (mut model, arena_len) = Model::from_compiled(compiled, |_| None)?;
        model.allocate_arena(arena_len)?;
        Ok(model)
    }

    /// Loads and compiles a model from the bytes of an ONNX file read into memory, and frees
    /// them before the arena is allocated: the peak heap of a load from a file is then the
    /// larger of compiling (file + decoder + compiler) and the loaded model, not their sum.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Model> {
        let desc = decode::decode_model(&bytes)?;
        let compiled = compile::compile(&desc, bytes.len(), false)?;
        drop(desc);
        let (mut model, arena_len) = Model::from_compiled(compiled, |_| None)?;
        drop(bytes);
        model.allocate_arena(arena_len)?;
        Ok(model)
    }

    /// Allocates the zeroed activation arena, last, once the compiler's structures are gone.
    fn allocate_arena(&mut self, len: usize) -> Result<()> {
        self.arena.try_reserve_exact(len)?;
        self.arena.resize(len, 0.0f32);
        Ok(())
    }

    /// Loads a model from bytes that live for the whole program (a `static` array, e.g. in
    /// flash): float weights stored aligned are used where they lie instead of being copied,
    /// which saves their size in RAM. Misaligned or folded weights are still copied.
    pub fn from_static(bytes: &'static [u8]) -> Result<Model> {
        let desc = decode::decode_model(bytes)?;
        let compiled = compile::compile(&desc, bytes.len(), true)?;
        drop(desc);
        let (mut model, arena_len) = Model::from_compiled(compiled, Some)?;
        model.allocate_arena(arena_len)?;
        Ok(model)
    }

    /// Builds the model from the compiler's output, with an empty arena (returns its length:
    /// the caller allocates it after freeing what it no longer needs).
    fn from_compiled<'a>(
        mut c: Compiled<'a>,
        keep: impl Fn(&'a [f32]) -> Option<&'static [f32]>,
    ) -> Result<(Model, usize)> {
        // The compiler grows its step and info tables by doubling: move them into tables of
        // exactly their length (what the model keeps), before the weights are packed.
        let mut steps = exact(core::mem::take(&mut c.steps))?;
        let nodes = exact(core::mem::take(&mut c.infos))?;
        let mut lens: Vec<usize> = Vec::new();
        lens.try_reserve_exact(c.buffers.len())?;
        lens.extend(c.buffers.iter().map(|b| b.len));
        drop(core::mem::take(&mut c.buffers));
        let input_bufs: Vec<usize> = crate::compile::try_collect(c.inputs.iter().map(|i| i.2))?;
        let output_bufs: Vec<usize> =
            crate::compile::try_collect(c.outputs.iter().filter_map(|o| match o.2 {
                Loc::Buf(b) => Some(b),
                _ => None,
            }))?;
        let p = plan::plan(&lens, &steps, &input_bufs, &output_bufs, true)?;

        // Pack every constant a step or an output reads, once, into the weight store.
        let mut weight_at: Vec<Option<Loc>> = Vec::new();
        weight_at.try_reserve_exact(c.consts.len())?;
        weight_at.resize(c.consts.len(), None);
        // Reserve the tables exactly: no growth, no slack. Owned constants (initializers read
        // from the file, folded weights) are moved into chunks of their own, never copied:
        // a load never holds two copies of the weights.
        let mut counted: Vec<bool> = Vec::new();
        counted.try_reserve_exact(c.consts.len())?;
        counted.resize(c.consts.len(), false);
        let (mut copied_len, mut segment_count, mut chunk_count) = (0usize, 0usize, 0usize);
        let const_locs = steps
            .iter()
            .flat_map(|s| s.inputs.iter().chain(core::iter::once(&s.output)))
            .chain(c.outputs.iter().map(|o| &o.2));
        for loc in const_locs {
            if let Loc::Const(k) = *loc {
                if let (Some(seen), Some(ConstData::F32(d))) = (counted.get_mut(k), c.consts.get(k))
                {
                    if !*seen {
                        *seen = true;
                        match d {
                            F32Buf::Borrowed(s) if keep(s).is_some() => segment_count += 1,
                            F32Buf::Borrowed(_) => copied_len = copied_len.saturating_add(d.len()),
                            F32Buf::Owned(_) => chunk_count += 1,
                        }
                    }
                }
            }
        }
        drop(counted);
        let mut weights: Vec<f32> = Vec::new();
        weights.try_reserve_exact(copied_len)?;
        let mut segments: Vec<&'static [f32]> = Vec::new();
        segments.try_reserve_exact(segment_count)?;
        let mut chunks: Vec<Vec<f32>> = Vec::new();
        chunks.try_reserve_exact(chunk_count)?;
        let consts = &mut c.consts;
        let mut place = |id: usize,
                         weights: &mut Vec<f32>,
                         segments: &mut Vec<&'static [f32]>,
                         chunks: &mut Vec<Vec<f32>>|
         -> Result<Loc> {
            let slot = weight_at
                .get_mut(id)
                .ok_or_else(|| err(ErrorCode::InvalidArgument, "constant id"))?;
            if let Some(loc) = *slot {
                return Ok(loc);
            }
            let data = match consts.get_mut(id) {
                Some(ConstData::F32(d)) => d,
                _ => {
                    return Err(err(
                        ErrorCode::UnsupportedDataType,
                        "run-time operand is not float32",
                    ))
                }
            };
            let loc = match data {
                F32Buf::Owned(v) => {
                    let v = core::mem::take(v);
                    let len = v.len();
                    crate::compile::push(chunks, v)?;
                    Loc::Owned {
                        chunk: chunks.len() - 1,
                        len,
                    }
                }
                F32Buf::Borrowed(s) => match keep(s) {
                    Some(s) => {
                        crate::compile::push(segments, s)?;
                        Loc::Static {
                            seg: segments.len() - 1,
                            len: s.len(),
                        }
                    }
                    None => {
                        let off = weights.len();
                        weights.try_reserve(s.len())?;
                        weights.extend_from_slice(s);
                        Loc::Weight { off, len: s.len() }
                    }
                },
            };
            *slot = Some(loc);
            Ok(loc)
        };
        let resolve_buf = |b: usize| -> Result<Loc> {
            if let Some(index) = input_bufs.iter().position(|&i| i == b) {
                let len = *lens
                    .get(b)
                    .ok_or_else(|| err(ErrorCode::InvalidArgument, "buffer id"))?;
                return Ok(Loc::Input { index, len });
            }
            let off = *p
                .offsets
                .get(b)
                .ok_or_else(|| err(ErrorCode::InvalidArgument, "buffer id"))?;
            let len = *lens
                .get(b)
                .ok_or_else(|| err(ErrorCode::InvalidArgument, "buffer id"))?;
            Ok(Loc::Arena { off, len })
        };
        for step in steps.iter_mut() {
            for loc in step
                .inputs
                .iter_mut()
                .chain(core::iter::once(&mut step.output))
            {
                *loc = match *loc {
                    Loc::Buf(b) => resolve_buf(b)?,
                    Loc::Const(k) => place(k, &mut weights, &mut segments, &mut chunks)?,
                    other => other,
                };
            }
        }
        // The compiler's names and shapes move into the model's tables, reserved exactly.
        let mut outputs = Vec::new();
        outputs.try_reserve_exact(c.outputs.len())?;
        let mut output_locs = Vec::new();
        output_locs.try_reserve_exact(c.outputs.len())?;
        for (name, shape, loc) in core::mem::take(&mut c.outputs) {
            let loc = match loc {
                Loc::Buf(b) => resolve_buf(b)?,
                Loc::Const(k) => place(k, &mut weights, &mut segments, &mut chunks)?,
                other => other,
            };
            output_locs.push(loc);
            outputs.push(TensorInfo { name, shape });
        }
        let placed = |k: usize| weight_at.get(k).copied().flatten();
        let mut initializers = Vec::new();
        initializers.try_reserve_exact(
            c.initializers
                .iter()
                .filter(|i| placed(i.2).is_some())
                .count(),
        )?;
        for (name, shape, k) in c.initializers {
            if let Some(loc) = placed(k) {
                initializers.push((name, shape, loc));
            }
        }
        let mut inputs = Vec::new();
        inputs.try_reserve_exact(c.inputs.len())?;
        for (name, shape, _) in c.inputs {
            inputs.push(TensorInfo { name, shape });
        }
        Ok((
            Model {
                steps,
                weights,
                arena: Vec::new(),
                inputs,
                outputs,
                output_locs,
                nodes,
                initializers,
                segments,
                chunks,
            },
            p.arena_len,
        ))
    }

    /// Runs the model on input 0 and writes output 0 (single-input, single-output models;
    /// use [`Model::run_many`] otherwise).
    pub fn run(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        self.check_single(input, output)?;
        self.execute(&[input], None)?;
        self.store_output(0, output, &[input])
    }

    /// The checks of a single-input, single-output run.
    fn check_single(&self, input: &[f32], output: &[f32]) -> Result<()> {
        if self.inputs.len() != 1 || self.outputs.is_empty() {
            return Err(err(
                ErrorCode::InvalidArgument,
                "the model has several inputs: use run_many",
            ));
        }
        if input.len() != self.input_len() || output.len() != self.output_len() {
            return Err(err(ErrorCode::BufferLength, ""));
        }
        Ok(())
    }

    /// Runs the model with every graph input and output, in graph order. `outputs` may be
    /// shorter than the model's output list (the rest are not copied).
    pub fn run_many(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]]) -> Result<()> {
        if inputs.len() != self.inputs.len() || outputs.len() > self.outputs.len() {
            return Err(err(
                ErrorCode::InvalidArgument,
                "wrong number of inputs or outputs",
            ));
        }
        for (i, x) in inputs.iter().enumerate() {
            self.check_input(i, x)?;
        }
        self.execute(inputs, None)?;
        for (i, y) in outputs.iter_mut().enumerate() {
            self.store_output(i, y, inputs)?;
        }
        Ok(())
    }

    /// Input `i` must have the model's length (steps read it where it lies: no copy).
    fn check_input(&self, i: usize, x: &[f32]) -> Result<()> {
        let want = self.inputs.get(i).map(TensorInfo::len);
        if want != Some(x.len()) {
            return Err(err(ErrorCode::BufferLength, "input")
                .with_name(self.inputs.get(i).map_or("", |t| t.name.as_str())));
        }
        Ok(())
    }

    /// Runs input 0 -> output 0 like [`Model::run`], reading `clock` before the first step
    /// and after every step, and stores each step's elapsed clock units (wrapping `u32`
    /// arithmetic, so a free-running 32-bit cycle counter such as the Cortex-M DWT's works)
    /// in `ticks`, which needs one slot per entry of [`Model::nodes`]. The clock is the
    /// caller's: a cycle counter, a microsecond timer, or an instruction counter.
    pub fn run_profiled(
        &mut self,
        input: &[f32],
        output: &mut [f32],
        clock: &mut dyn FnMut() -> u32,
        ticks: &mut [u32],
    ) -> Result<()> {
        if ticks.len() < self.steps.len() {
            return Err(err(ErrorCode::BufferLength, "one tick slot per node"));
        }
        self.check_single(input, output)?;
        self.execute(&[input], Some((clock, ticks)))?;
        self.store_output(0, output, &[input])
    }

    /// Writes a per-node profile from the `ticks` of [`Model::run_profiled`]: operator, name,
    /// MACs, output bytes, clock units (`unit` names them) and each node's share of the total.
    /// Integer arithmetic only, so no float formatting is linked on the device.
    pub fn write_profile(&self, ticks: &[u32], unit: &str, w: &mut dyn fmt::Write) -> fmt::Result {
        let total: u64 = ticks
            .iter()
            .take(self.nodes.len())
            .map(|&t| u64::from(t))
            .sum();
        w.write_str("  # op                   name                 MACs  out B ")?;
        put(w, unit, 10, true)?;
        w.write_str("  share\n")?;
        for (i, (n, &t)) in self.nodes.iter().zip(ticks).enumerate() {
            let name: &str = n.name.get(..n.name.len().min(16)).unwrap_or(&n.name);
            let out_bytes = n.output_shape.iter().product::<usize>().saturating_mul(4);
            let permille = (u64::from(t) * 1000).checked_div(total).unwrap_or(0);
            row_head(w, i, &n.op, name)?;
            put_u64(w, n.macs, 8, true)?;
            w.write_str(" ")?;
            put_u64(w, out_bytes as u64, 6, true)?;
            w.write_str(" ")?;
            put_u64(w, u64::from(t), 10, true)?;
            w.write_str(" ")?;
            put_u64(w, permille / 10, 3, true)?;
            w.write_str(".")?;
            put_u64(w, permille % 10, 0, true)?;
            w.write_str("%\n")?;
        }
        let macs = self.total_macs();
        // MACs per 100 clock units, in integers.
        let per100 = (macs * 100).checked_div(total).unwrap_or(0);
        w.write_str("total: ")?;
        put_u64(w, total, 0, true)?;
        w.write_str(" ")?;
        w.write_str(unit)?;
        w.write_str(", ")?;
        put_u64(w, macs, 0, true)?;
        w.write_str(" MACs, ")?;
        put_u64(w, per100 / 100, 0, true)?;
        w.write_str(if per100 % 100 < 10 { ".0" } else { "." })?;
        put_u64(w, per100 % 100, 0, true)?;
        w.write_str(" MACs per unit of ")?;
        w.write_str(unit)?;
        w.write_str("\n")
    }

    /// Runs every step; with a profiler, reads its clock before the first step and after
    /// each one and stores the differences.
    fn execute(
        &mut self,
        inputs: &[&[f32]],
        mut profile: Option<(&mut dyn FnMut() -> u32, &mut [u32])>,
    ) -> Result<()> {
        let weights = Weights {
            owned: &self.weights,
            segments: &self.segments,
            chunks: &self.chunks,
            inputs,
        };
        let mut t0 = profile.as_mut().map_or(0, |(clock, _)| clock());
        for (i, step) in self.steps.iter().enumerate() {
            step.execute(&mut self.arena, weights)?;
            if let Some((clock, ticks)) = profile.as_mut() {
                let t1 = clock();
                if let Some(slot) = ticks.get_mut(i) {
                    *slot = t1.wrapping_sub(t0);
                }
                t0 = t1;
            }
        }
        Ok(())
    }

    fn store_output(&self, i: usize, y: &mut [f32], inputs: &[&[f32]]) -> Result<()> {
        let want = self.outputs.get(i).map(TensorInfo::len);
        if want != Some(y.len()) {
            return Err(err(ErrorCode::BufferLength, "output")
                .with_name(self.outputs.get(i).map_or("", |t| t.name.as_str())));
        }
        let src = match self.output_locs.get(i) {
            Some(Loc::Arena { off, len }) => self.arena.get(*off..off + len),
            Some(loc @ (Loc::Weight { .. } | Loc::Static { .. } | Loc::Owned { .. })) => {
                self.weight_view().get(*loc)
            }
            // An output that is a graph input (an Identity model).
            Some(loc @ Loc::Input { .. }) => Weights {
                inputs,
                ..self.weight_view()
            }
            .get(*loc),
            _ => None,
        }
        .ok_or_else(|| err(ErrorCode::InvalidArgument, "output location"))?;
        if src.len() != y.len() {
            return Err(err(ErrorCode::InvalidArgument, "output location"));
        }
        crate::ops::copy_f32(y, src);
        Ok(())
    }

    /// Graph inputs (excluding initializers).
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }
    /// Graph outputs.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }
    /// Elements of input 0.
    pub fn input_len(&self) -> usize {
        self.inputs.first().map_or(0, TensorInfo::len)
    }
    /// Elements of output 0.
    pub fn output_len(&self) -> usize {
        self.outputs.first().map_or(0, TensorInfo::len)
    }
    /// The executed steps.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }
    /// Bytes of the activation arena.
    pub fn arena_bytes(&self) -> usize {
        self.arena.len() * 4
    }
    /// Bytes of weights copied into the model (RAM).
    pub fn weight_bytes(&self) -> usize {
        (self.weights.len() + self.chunks.iter().map(Vec::len).sum::<usize>()) * 4
    }
    /// Bytes of weights used in place from the model buffer (see [`Model::from_static`]).
    pub fn static_weight_bytes(&self) -> usize {
        self.segments.iter().map(|s| s.len() * 4).sum()
    }

    fn weight_view(&self) -> Weights<'_> {
        Weights {
            owned: &self.weights,
            segments: &self.segments,
            chunks: &self.chunks,
            inputs: &[],
        }
    }
    /// Multiply-accumulates per inference.
    pub fn total_macs(&self) -> u64 {
        self.nodes.iter().map(|n| n.macs).sum()
    }
    /// Looks up an initializer (weights) by its ONNX name: its shape and data. Only
    /// initializers the plan uses unchanged are kept (e.g. not a Conv's weights after a
    /// BatchNormalization was folded into them).
    pub fn initializer(&self, name: &str) -> Option<(&[usize], &[f32])> {
        let (_, shape, loc) = self.initializers.iter().find(|i| i.0 == name)?;
        Some((shape, self.weight_view().get(*loc)?))
    }

    /// Writes the per-node table and totals (what `onnx_model_info` prints). Lines stay
    /// under 100 characters for small consoles.
    pub fn write_info(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        w.write_str("  # op                   name             output        params     MACs\n")?;
        for (i, n) in self.nodes.iter().enumerate() {
            let name: &str = n.name.get(..n.name.len().min(16)).unwrap_or(&n.name);
            row_head(w, i, &n.op, name)?;
            let mut col = 0;
            for (j, &d) in n.output_shape.iter().enumerate() {
                if j > 0 {
                    w.write_str("x")?;
                    col += 1;
                }
                col += put_u64(w, d as u64, 0, true)?;
            }
            for _ in col..13 {
                w.write_str(" ")?;
            }
            w.write_str(" ")?;
            put_u64(w, n.params as u64, 6, true)?;
            w.write_str(" ")?;
            put_u64(w, n.macs, 8, true)?;
            w.write_str("\n")?;
        }
        w.write_str("total: ")?;
        put_u64(w, self.nodes.len() as u64, 0, true)?;
        w.write_str(" steps, weights ")?;
        put_u64(w, self.weight_bytes() as u64, 0, true)?;
        w.write_str(" B (+")?;
        put_u64(w, self.static_weight_bytes() as u64, 0, true)?;
        w.write_str(" B in place), arena ")?;
        put_u64(w, self.arena_bytes() as u64, 0, true)?;
        w.write_str(" B, ")?;
        put_u64(w, self.total_macs(), 0, true)?;
        w.write_str(" MACs\n")
    }
}

// The tables are written with `write_str` and the helpers below instead of `write!`: the
// formatting machinery of `core::fmt` (argument tables, padding, integer `Display`) costs
// kilobytes of device code for output these few functions produce as well.

/// The start of a table row, as `{:>3} {:<20} {:<16} ` would write it.
#[inline(never)]
fn row_head(w: &mut dyn fmt::Write, i: usize, op: &str, name: &str) -> fmt::Result {
    put_u64(w, i as u64, 3, true)?;
    w.write_str(" ")?;
    put(w, op, 20, false)?;
    w.write_str(" ")?;
    put(w, name, 16, false)?;
    w.write_str(" ")
}

/// Writes `s` padded with spaces to `width` characters, on the left when `right` (aligned
/// right, like `{:>width}`), else on the right (`{:<width}`). Returns the characters written.
#[inline(never)]
fn put(
    w: &mut dyn fmt::Write,
    s: &str,
    width: usize,
    right: bool,
) -> core::result::Result<usize, fmt::Error> {
    // Characters are the bytes that do not continue a UTF-8 sequence (a plain loop: the
    // optimised `chars().count()` is a kilobyte of code).
    let mut chars = 0;
    for &b in s.as_bytes() {
        chars += usize::from(b & 0xC0 != 0x80);
    }
    let pad = width.saturating_sub(chars);
    if !right {
        w.write_str(s)?;
    }
    for _ in 0..pad {
        w.write_str(" ")?;
    }
    if right {
        w.write_str(s)?;
    }
    Ok(chars + pad)
}

/// Writes `v` in decimal, padded like [`put`]. Returns the characters written.
#[inline(never)]
fn put_u64(
    w: &mut dyn fmt::Write,
    mut v: u64,
    width: usize,
    right: bool,
) -> core::result::Result<usize, fmt::Error> {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    // 20 digits hold u64::MAX, so the loop ends by `v == 0`; the slot check only keeps it
    // free of panics (and of a fully unrolled copy, which a bounded count would invite).
    while let Some(d) = digits.get_mut(i.wrapping_sub(1)) {
        i -= 1;
        *d = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let text = core::str::from_utf8(digits.get(i..).unwrap_or(&[])).unwrap_or("");
    put(w, text, width, right)
}
