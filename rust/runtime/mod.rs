//! The loaded model and its execution.

use alloc::vec::Vec;
use core::fmt;

use crate::error::{err, fault, ErrorCode, FaultResult, Result};
use crate::plan::step::{Loc, Weights};
use crate::plan::{InitializerInfo, Plan, Records};
pub use crate::plan::{NodeInfo, TensorInfo};

/// A compiled model, ready to run without allocating.
///
/// A model owns its arena, so [`Model::run`] takes `&mut self`: one model runs one inference
/// at a time; different models may run on different threads at once.
pub struct Model {
    plan: Plan,
    arena: Vec<f32>,
    /// Elements of input 0, and elements and location of output 0, read from the plan's
    /// tables once: what every single-input run checks and copies (a few hundred
    /// instructions a run otherwise). Kept here, not in the plan, which the frames of a
    /// plan load hold several times.
    first_io: (Option<usize>, Option<(usize, Loc)>),
}

impl Model {
    /// A model running `plan`: allocates the zeroed activation arena (the only allocation of
    /// the runtime), after the caller has freed whatever built the plan.
    pub fn from_plan(plan: Plan) -> Result<Model> {
        if let Some(e) = plan.missing_part() {
            return Err(e);
        }
        let mut arena = Vec::new();
        arena.try_reserve_exact(plan.arena_len)?;
        arena.resize(plan.arena_len, 0.0f32);
        let t = plan.tables();
        let first_io = (t.input_lens().next(), t.output_lens().next());
        Ok(Model {
            plan,
            arena,
            first_io,
        })
    }

    /// The plan the model runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Runs the model on input 0 and writes output 0 (single-input, single-output models;
    /// use [`Model::run_many`] otherwise).
    pub fn run(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        self.run_steps(input, output)?;
        self.store_single(input, output)
    }

    /// [`Model::run`] up to storing the output, which [`Model::store_single`] does: the C
    /// API makes the two calls one after the other, so that no frame holding an [`Error`]
    /// is on the stack while the steps run.
    pub(crate) fn run_steps(&mut self, input: &[f32], output: &[f32]) -> FaultResult<()> {
        self.check_single(input, output)?;
        self.execute(&[input], None)
    }

    /// Stores output 0 of a run of [`Model::run_steps`] on `input`.
    pub(crate) fn store_single(&self, input: &[f32], output: &mut [f32]) -> Result<()> {
        self.store_output(0, self.first_io.1, output, &[input])
    }

    /// The checks of a single-input, single-output run (out of line: its frame is not on the
    /// stack while the steps run).
    #[inline(never)]
    fn check_single(&self, input: &[f32], output: &[f32]) -> FaultResult<()> {
        if self.plan.input_count() != 1 || self.plan.output_count() == 0 {
            return Err(fault(
                ErrorCode::InvalidArgument,
                "the model has several inputs: use run_many",
            ));
        }
        if input.len() != self.input_len() || output.len() != self.output_len() {
            return Err(fault(ErrorCode::BufferLength, ""));
        }
        Ok(())
    }

    /// Runs the model with every graph input and output, in graph order. `outputs` may be
    /// shorter than the model's output list (the rest are not copied).
    pub fn run_many(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]]) -> Result<()> {
        if inputs.len() != self.plan.input_count() || outputs.len() > self.plan.output_count() {
            return Err(err(
                ErrorCode::InvalidArgument,
                "wrong number of inputs or outputs",
            ));
        }
        // Each input must have the model's length (steps read it where it lies: no copy).
        // The tables are walked once, not record `i` looked up for each `i` (quadratic).
        let mut lens = self.plan.tables().input_lens();
        for (i, x) in inputs.iter().enumerate() {
            if lens.next() != Some(x.len()) {
                let name = self.input(i).map_or("", |t| t.name);
                return Err(err(ErrorCode::BufferLength, "input").with_name(name));
            }
        }
        self.execute(inputs, None)?;
        let mut outs = self.plan.tables().output_lens();
        for (i, y) in outputs.iter_mut().enumerate() {
            self.store_output(i, outs.next(), y, inputs)?;
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
        self.run_profiled_steps(input, output, clock, ticks)?;
        self.store_single(input, output)
    }

    /// [`Model::run_profiled`] up to storing the output (see [`Model::run_steps`]).
    pub(crate) fn run_profiled_steps(
        &mut self,
        input: &[f32],
        output: &[f32],
        clock: &mut dyn FnMut() -> u32,
        ticks: &mut [u32],
    ) -> FaultResult<()> {
        if ticks.len() < self.plan.steps.len() {
            return Err(fault(ErrorCode::BufferLength, "one tick slot per node"));
        }
        self.check_single(input, output)?;
        self.execute(&[input], Some((clock, ticks)))
    }

    /// Writes a per-node profile from the `ticks` of [`Model::run_profiled`]: operator, name,
    /// MACs, output bytes, clock units (`unit` names them) and each node's share of the total.
    /// Integer arithmetic only, so no float formatting is linked on the device.
    pub fn write_profile(&self, ticks: &[u32], unit: &str, w: &mut dyn fmt::Write) -> fmt::Result {
        let total: u64 = ticks
            .iter()
            .take(self.plan.node_count())
            .map(|&t| u64::from(t))
            .sum();
        w.write_str("  # op                   name                 MACs  out B ")?;
        put(w, unit, 10, true)?;
        w.write_str("  share\n")?;
        for (i, (n, &t)) in self.plan.nodes().zip(ticks).enumerate() {
            let name: &str = n.name.get(..n.name.len().min(16)).unwrap_or(n.name);
            let out_bytes = n
                .output_shape
                .as_slice()
                .iter()
                .product::<usize>()
                .saturating_mul(4);
            let permille = (u64::from(t) * 1000).checked_div(total).unwrap_or(0);
            row_head(w, i, n.op, name)?;
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
        w.write_str(" MACs per ")?;
        w.write_str(singular(unit))?;
        w.write_str("\n")
    }

    /// Runs every step; with a profiler, reads its clock before the first step and after
    /// each one and stores the differences. (A [`crate::error::Fault`], not an `Error`: the
    /// frames of an inference hold small results.)
    #[inline(always)]
    fn execute(
        &mut self,
        inputs: &[&[f32]],
        profile: Option<(&mut dyn FnMut() -> u32, &mut [u32])>,
    ) -> FaultResult<()> {
        let weights = self.plan.weights(inputs);
        let Some(profile) = profile else {
            for step in &self.plan.steps {
                step.execute(&mut self.arena, &weights)?;
            }
            return Ok(());
        };
        Self::execute_profiled(&self.plan, &mut self.arena, &weights, profile)
    }

    /// [`Model::execute`] with a profiler (out of line: its frame is not on the stack of an
    /// inference without one).
    #[inline(never)]
    fn execute_profiled(
        plan: &Plan,
        arena: &mut [f32],
        weights: &Weights<'_>,
        profile: (&mut dyn FnMut() -> u32, &mut [u32]),
    ) -> FaultResult<()> {
        let mut t0 = (profile.0)();
        for (i, step) in plan.steps.iter().enumerate() {
            step.execute(arena, weights)?;
            let t1 = (profile.0)();
            if let Some(slot) = profile.1.get_mut(i) {
                *slot = t1.wrapping_sub(t0);
            }
            t0 = t1;
        }
        Ok(())
    }

    /// Stores output `i`, of elements and location `out`, into `y`.
    fn store_output(
        &self,
        i: usize,
        out: Option<(usize, Loc)>,
        y: &mut [f32],
        inputs: &[&[f32]],
    ) -> Result<()> {
        if out.map(|(len, _)| len) != Some(y.len()) {
            let name = self.output(i).map_or("", |t| t.name);
            return Err(err(ErrorCode::BufferLength, "output").with_name(name));
        }
        let src = match out.map(|(_, loc)| loc) {
            Some(Loc::Arena { off, len }) => self.arena.get(off..off + len),
            Some(loc @ (Loc::Weight { .. } | Loc::Static { .. } | Loc::Owned { .. })) => {
                self.weight_view().get(loc)
            }
            // An output that is a graph input (an Identity model).
            Some(loc @ Loc::Input { .. }) => Weights {
                inputs,
                ..self.weight_view()
            }
            .get(loc),
            _ => None,
        }
        .ok_or_else(|| err(ErrorCode::InvalidArgument, "output location"))?;
        if src.len() != y.len() {
            return Err(err(ErrorCode::InvalidArgument, "output location"));
        }
        crate::ops::copy_f32(y, src);
        Ok(())
    }

    /// Graph inputs (excluding initializers), in graph order.
    pub fn inputs(&self) -> Records<'_, TensorInfo<'_>> {
        self.plan.inputs()
    }
    /// Graph input `i` (read from the start of its table: to visit every input, iterate
    /// [`Model::inputs`]).
    pub fn input(&self, i: usize) -> Option<TensorInfo<'_>> {
        self.plan.inputs().nth(i)
    }
    /// Graph outputs, in graph order.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = TensorInfo<'_>> {
        self.plan.outputs().map(|(t, _)| t)
    }
    /// Graph output `i` (read from the start of its table, like [`Model::input`]).
    pub fn output(&self, i: usize) -> Option<TensorInfo<'_>> {
        self.plan.outputs().nth(i).map(|(t, _)| t)
    }
    /// Elements of input 0.
    pub fn input_len(&self) -> usize {
        self.first_io.0.unwrap_or(0)
    }
    /// Elements of output 0.
    pub fn output_len(&self) -> usize {
        self.first_io.1.map_or(0, |(len, _)| len)
    }
    /// The executed steps, in order.
    pub fn nodes(&self) -> Records<'_, NodeInfo<'_>> {
        self.plan.nodes()
    }
    /// Step `i` (read from the start of its table, like [`Model::input`]).
    pub fn node(&self, i: usize) -> Option<NodeInfo<'_>> {
        self.plan.nodes().nth(i)
    }
    /// Number of executed steps (the length of [`Model::nodes`]).
    pub fn node_count(&self) -> usize {
        self.plan.node_count()
    }
    /// Bytes of the activation arena.
    pub fn arena_bytes(&self) -> usize {
        self.arena.len() * 4
    }
    /// Bytes of weights copied into the model (RAM).
    pub fn weight_bytes(&self) -> usize {
        self.plan.ram_weight_bytes()
    }
    /// Bytes of weights used in place from the model buffer (see [`Model::from_static`]).
    pub fn static_weight_bytes(&self) -> usize {
        self.plan.static_weight_bytes()
    }

    fn weight_view(&self) -> Weights<'_> {
        self.plan.weights(&[])
    }
    /// Multiply-accumulates per inference.
    pub fn total_macs(&self) -> u64 {
        // Saturating: a count is an estimate, never a reason to stop.
        self.plan
            .nodes()
            .fold(0u64, |t, n| t.saturating_add(n.macs))
    }
    /// Looks up an initializer (weights) by its ONNX name: its shape and data. Only
    /// initializers the plan uses unchanged are kept (e.g. not a Conv's weights after a
    /// BatchNormalization was folded into them).
    pub fn initializer(&self, name: &str) -> Option<(InitializerInfo<'_>, &[f32])> {
        let i = self.plan.initializers().find(|i| i.name == name)?;
        Some((i, self.weight_view().get(i.loc)?))
    }

    /// Writes the per-node table and totals (what `onnx_model_info` prints). Lines stay
    /// under 100 characters for small consoles.
    pub fn write_info(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        w.write_str("  # op                   name             output        params     MACs\n")?;
        for (i, n) in self.plan.nodes().enumerate() {
            let name: &str = n.name.get(..n.name.len().min(16)).unwrap_or(n.name);
            row_head(w, i, n.op, name)?;
            let mut col = 0;
            for (j, &d) in n.output_shape.as_slice().iter().enumerate() {
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
        put_u64(w, self.plan.node_count() as u64, 0, true)?;
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
/// One of a clock's units, for "MACs per tick": "ticks" -> "tick", "cycles" -> "cycle";
/// short names ("us", "ms") and singular ones ("SysTick") unchanged.
fn singular(unit: &str) -> &str {
    match unit.strip_suffix('s') {
        Some(one) if unit.len() > 3 => one,
        _ => unit,
    }
}

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
