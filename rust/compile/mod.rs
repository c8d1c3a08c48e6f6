//! Graph compilation, once at load time.
//!
//! The decoded graph is checked (opsets, names), sorted topologically, and lowered node by
//! node in that order with static shapes: nodes whose inputs are all known at load time are
//! evaluated here (constant folding, including the int64 shape arithmetic exporters emit),
//! view-only nodes (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout) become aliases,
//! BatchNormalization is folded into a preceding Conv and activations and biases are fused
//! into the producing Conv/Dense/Gemm. The remaining steps go to the memory planner.

mod attrs;
mod finish;
mod graph;
mod lower;
mod lower_layout;
mod lower_math;
mod lower_nn;
mod lower_quant;
mod tensor;

use alloc::string::String;
use alloc::vec::Vec;

use crate::decode::model::{DimDesc, ModelDesc, Node};
use crate::error::{err, Error, ErrorCode, Result};
use crate::plan::info::StepInfo;
use crate::plan::step::{Kernel, Loc, Step};
use crate::plan::Target;

pub(crate) use finish::finish;
pub(crate) use tensor::{ConstData, DType, F32Buf};

/// Lowest and highest default-domain opset versions supported. Opsets 22 to 28 only added
/// element types (bfloat16, float8, int4, ...) to the operators implemented here; their
/// float32 semantics equal opset 21's, which ONNX's own node tests at those opsets confirm.
pub const OPSET_RANGE: (i64, i64) = (7, 28);
/// Lowest and highest IR versions accepted (IR 3 is the first with opset imports; IR 14 is
/// the newest the ONNX 1.23 tools write; the fields read here are unchanged since IR 3).
pub const IR_RANGE: (i64, i64) = (3, 14);
pub use crate::plan::MAX_TENSOR_ELEMENTS;

/// Constants computed at load time (folded shape chains, ConstantOfShape, constant
/// subgraphs) may total the file's length in elements (4x its bytes) plus this many.
pub const FOLD_BUDGET_EXTRA: usize = 16 * 1024;

/// A tensor value during compilation.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub kind: ValueKind,
}

/// Where a value's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// Not produced yet.
    Pending,
    /// Known at load time: constant `id`.
    Const(usize),
    /// Computed at run time into buffer `id` (several values may view one buffer).
    Runtime(usize),
}

/// A runtime buffer (one arena allocation).
#[derive(Clone, Debug)]
pub(crate) struct Buffer {
    pub len: usize,
    /// Step writing it, or `None` for a graph input.
    pub producer: Option<usize>,
    /// The value the producing step wrote (aliases have other value ids).
    pub value: usize,
}

/// Result of compilation, consumed by the runtime.
pub(crate) struct Compiled<'a> {
    pub steps: Vec<Step>,
    pub infos: Vec<StepInfo>,
    pub buffers: Vec<Buffer>,
    pub consts: Vec<ConstData<'a>>,
    /// Graph inputs: name, shape, buffer.
    pub inputs: Vec<(String, Vec<usize>, usize)>,
    /// Graph outputs: name, shape, location (Buf or Const).
    pub outputs: Vec<(String, Vec<usize>, Loc)>,
    /// Initializers that reached the weight store unchanged: name, shape, const id.
    pub initializers: Vec<(String, Vec<usize>, usize)>,
}

/// Compilation state shared by the lowering functions.
pub(crate) struct Ctx<'a> {
    pub opset: i64,
    pub names: graph::NameTable<'a>,
    /// Value id of every node input (see [`graph::topological_order`]).
    pub input_ids: graph::InputIds,
    pub values: Vec<Value>,
    /// Number of node inputs and graph outputs reading each value.
    pub uses: Vec<usize>,
    /// The ONNX element type of each value where it matters and is known (0: not recorded):
    /// initializers, graph inputs, QuantizeLinear outputs and their views. An 8-bit integer
    /// tensor at run time is a float32 tensor carrying the integers (`ops::quant`).
    pub elem: Vec<u8>,
    pub is_output: Vec<bool>,
    pub consts: Vec<ConstData<'a>>,
    pub buffers: Vec<Buffer>,
    pub steps: Vec<Step>,
    pub infos: Vec<StepInfo>,
    /// Total elements of constants computed at load time (bounded).
    pub folded_elements: usize,
    pub fold_budget: usize,
}

pub(crate) use crate::fallible::{push, string_of, to_vec, try_collect};

/// Number of elements of a shape, failing on overflow (no size limit: for tensors whose data
/// is in the file, which bounds them).
pub(crate) fn element_count(shape: &[usize]) -> Result<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = n
            .checked_mul(d)
            .ok_or_else(|| err(ErrorCode::InvalidDimension, "element count overflows"))?;
    }
    Ok(n)
}

/// Number of elements of a shape, failing on overflow or above the limit.
pub(crate) fn numel(shape: &[usize]) -> Result<usize> {
    let n = element_count(shape)?;
    if n > MAX_TENSOR_ELEMENTS {
        return Err(err(
            ErrorCode::LimitExceeded,
            "tensor larger than 2^24 elements",
        ));
    }
    Ok(n)
}

/// The input of a node being lowered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct In {
    pub id: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn value(&self, v: In) -> Result<&Value> {
        self.values
            .get(v.id)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "value id"))
    }

    pub(crate) fn shape(&self, v: In) -> Result<&[usize]> {
        Ok(&self.value(v)?.shape)
    }

    /// Constant data of a value, if it is known at load time.
    pub(crate) fn konst(&self, v: In) -> Result<Option<&ConstData<'a>>> {
        match self.value(v)?.kind {
            ValueKind::Const(c) => Ok(self.consts.get(c)),
            _ => Ok(None),
        }
    }

    /// Constant int64 data (shape tensors), converting float constants is not allowed.
    pub(crate) fn const_i64(&self, v: In) -> Result<Option<&[i64]>> {
        match self.konst(v)? {
            Some(ConstData::I64(d)) => Ok(Some(d)),
            Some(ConstData::F32(_)) => Err(err(
                ErrorCode::UnsupportedDataType,
                "expected an int64 tensor",
            )),
            None => Ok(None),
        }
    }

    pub(crate) fn const_f32(&self, v: In) -> Result<Option<&[f32]>> {
        match self.konst(v)? {
            Some(ConstData::F32(d)) => Ok(Some(d)),
            Some(ConstData::I64(_)) => Err(err(
                ErrorCode::UnsupportedDataType,
                "expected a float tensor",
            )),
            None => Ok(None),
        }
    }

    /// The operand location of a value for a step (buffer or constant).
    pub(crate) fn loc(&self, v: In) -> Result<Loc> {
        let val = self.value(v)?;
        if val.dtype != DType::F32 {
            return Err(err(
                ErrorCode::UnsupportedDataType,
                "only float32 tensors can be computed at run time",
            ));
        }
        match val.kind {
            ValueKind::Const(c) => Ok(Loc::Const(c)),
            ValueKind::Runtime(b) => Ok(Loc::Buf(b)),
            ValueKind::Pending => Err(err(ErrorCode::DanglingInput, "value not computed")),
        }
    }

    fn set(&mut self, out: usize, value: Value) -> Result<()> {
        let slot = self
            .values
            .get_mut(out)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "value id"))?;
        if slot.kind != ValueKind::Pending {
            return Err(err(ErrorCode::DuplicateOutput, ""));
        }
        *slot = value;
        Ok(())
    }

    /// Frees constant `c` when the only node reading it has just replaced it (a Conv whose
    /// weights absorbed a BatchNormalization): no other node reads a value holding it and it
    /// is no graph output. Loading then never holds both the original and the folded weights
    /// of a layer at once beyond that layer.
    pub(crate) fn release_if_sole_reader(&mut self, c: usize) {
        let shared = self.values.iter().enumerate().any(|(vi, v)| {
            v.kind == ValueKind::Const(c)
                && (self.uses.get(vi).copied().unwrap_or(0) > 1
                    || self.is_output.get(vi).copied().unwrap_or(true))
        });
        if shared {
            return;
        }
        if let Some(ConstData::F32(d @ F32Buf::Owned(_))) = self.consts.get_mut(c) {
            *d = F32Buf::Owned(Vec::new());
        }
    }

    /// Fails with `LimitExceeded` when `n` more elements computed at load time would exceed
    /// the budget; called before allocating them, so a hostile shape cannot make load
    /// allocate more than a small multiple of the file size.
    pub(crate) fn check_fold(&self, n: usize) -> Result<()> {
        if self.folded_elements.saturating_add(n) > self.fold_budget {
            return Err(err(
                ErrorCode::LimitExceeded,
                "constants computed at load time exceed the budget",
            ));
        }
        Ok(())
    }

    /// Defines `out` as a constant.
    pub(crate) fn define_const(
        &mut self,
        out: usize,
        shape: Vec<usize>,
        data: ConstData<'a>,
    ) -> Result<()> {
        let n = numel(&shape)?;
        if data.len() != n {
            return Err(err(ErrorCode::DataSize, "folded tensor size"));
        }
        self.check_fold(n)?;
        self.folded_elements = self.folded_elements.saturating_add(n);
        let dtype = data.dtype();
        let id = self.consts.len();
        push(&mut self.consts, data)?;
        self.set(
            out,
            Value {
                shape,
                dtype,
                kind: ValueKind::Const(id),
            },
        )
    }

    /// A constant computed at load time that no graph value names (weights rearranged for a
    /// kernel), counted against the fold budget: its operand location.
    pub(crate) fn add_folded(&mut self, data: Vec<f32>) -> Result<Loc> {
        self.check_fold(data.len())?;
        self.folded_elements = self.folded_elements.saturating_add(data.len());
        let id = self.consts.len();
        push(&mut self.consts, ConstData::F32(data.into()))?;
        Ok(Loc::Const(id))
    }

    /// Defines `out` as a view of `of` with another shape (same element count).
    pub(crate) fn alias(&mut self, out: usize, of: In, shape: Vec<usize>) -> Result<()> {
        let src = self.value(of)?;
        let (dtype, kind, len) = (src.dtype, src.kind, numel(&src.shape)?);
        if numel(&shape)? != len {
            return Err(err(
                ErrorCode::ShapeMismatch,
                "reshape changes the element count",
            ));
        }
        self.set(out, Value { shape, dtype, kind })?;
        let elem = self.elem_of(of);
        self.set_elem(out, elem);
        Ok(())
    }

    /// The recorded ONNX element type of a value (0 when not recorded).
    pub(crate) fn elem_of(&self, v: In) -> i32 {
        self.elem.get(v.id).copied().map_or(0, i32::from)
    }

    /// Records the ONNX element type of value `id`.
    pub(crate) fn set_elem(&mut self, id: usize, elem: i32) {
        // ONNX's element types are below 256 (one byte a value); any other is "not recorded".
        if let Some(e) = self.elem.get_mut(id) {
            *e = u8::try_from(elem).unwrap_or(0);
        }
    }

    /// Like [`Ctx::alias`] for an operator fused into the step that produced `of`: `of` had
    /// no other reader, so `out` becomes the value that step writes (further fusion sees it).
    pub(crate) fn fused_alias(&mut self, out: usize, of: In, shape: Vec<usize>) -> Result<()> {
        self.alias(out, of, shape)?;
        if let Some(ValueKind::Runtime(b)) = self.values.get(of.id).map(|v| v.kind) {
            if let Some(buf) = self.buffers.get_mut(b) {
                if buf.value == of.id {
                    buf.value = out;
                }
            }
        }
        Ok(())
    }

    /// Adds a step writing a new runtime buffer for value `out`.
    pub(crate) fn add_step(
        &mut self,
        node: &Node<'_, '_>,
        out: usize,
        shape: Vec<usize>,
        kernel: Kernel,
        inputs: Vec<Loc>,
        op: &str,
        params: usize,
        macs: u64,
    ) -> Result<()> {
        let len = numel(&shape)?;
        let buf = self.buffers.len();
        let step = self.steps.len();
        push(
            &mut self.buffers,
            Buffer {
                len,
                producer: Some(step),
                value: out,
            },
        )?;
        push(
            &mut self.infos,
            StepInfo {
                op: string_of(op)?,
                name: string_of(node.name)?,
                output_shape: to_vec(&shape)?,
                params,
                macs,
            },
        )?;
        push(
            &mut self.steps,
            Step {
                kernel,
                inputs,
                output: Loc::Buf(buf),
            },
        )?;
        self.set(
            out,
            Value {
                shape,
                dtype: DType::F32,
                kind: ValueKind::Runtime(buf),
            },
        )
    }

    /// If `v` was written directly by a step that no other node reads, that step's index.
    pub(crate) fn sole_producer(&self, v: In) -> Option<usize> {
        let val = self.values.get(v.id)?;
        let ValueKind::Runtime(b) = val.kind else {
            return None;
        };
        let buf = self.buffers.get(b)?;
        if buf.value != v.id
            || self.uses.get(v.id).copied() != Some(1)
            || self.is_output.get(v.id).copied() != Some(false)
        {
            return None;
        }
        buf.producer
    }

    /// Appends "+suffix" to a step's op name in the info table.
    pub(crate) fn rename_step(&mut self, step: usize, suffix: &str) -> Result<()> {
        if let Some(info) = self.infos.get_mut(step) {
            info.op.try_reserve(suffix.len() + 1)?;
            info.op.push('+');
            info.op.push_str(suffix);
        }
        Ok(())
    }
}

/// Validates the model header: IR version and the default-domain opset.
fn check_header(model: &ModelDesc<'_>) -> Result<i64> {
    if model.ir_version < IR_RANGE.0 || model.ir_version > IR_RANGE.1 {
        return Err(err(
            ErrorCode::UnsupportedIrVersion,
            "IR version must be 3 to 14",
        ));
    }
    let mut opset = None;
    for o in &model.opsets {
        if o.domain.is_empty() || o.domain == "ai.onnx" {
            opset = Some(o.version);
        }
    }
    let opset = opset.ok_or_else(|| {
        err(
            ErrorCode::UnsupportedOpset,
            "the model imports no default-domain opset (no opset_import: the file may be truncated)",
        )
    })?;
    if opset < OPSET_RANGE.0 || opset > OPSET_RANGE.1 {
        return Err(err(
            ErrorCode::UnsupportedOpset,
            "default-domain opset must be 7 to 28",
        ));
    }
    Ok(opset)
}

/// Compiles a decoded model. `file_len` bounds the work done at load time.
/// With `borrow`, aligned float initializers are used in place (the caller keeps `model`'s
/// bytes alive as long as the result).
pub(crate) fn compile<'a>(
    model: &ModelDesc<'a>,
    file_len: usize,
    borrow: bool,
    target: Target,
) -> Result<Compiled<'a>> {
    let opset = check_header(model)?;
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| err(ErrorCode::EmptyGraph, "the model has no graph"))?;
    if g.node_count() == 0 {
        return Err(err(ErrorCode::EmptyGraph, "the graph has no nodes"));
    }
    if g.outputs.is_empty() {
        return Err(err(ErrorCode::EmptyGraph, "the graph has no outputs"));
    }
    if g.sparse_initializers > 0 {
        return Err(err(
            ErrorCode::UnsupportedDataType,
            "sparse initializers are not supported",
        ));
    }
    for n in g.nodes() {
        if !(n.domain.is_empty() || n.domain == "ai.onnx") {
            return Err(err(ErrorCode::UnsupportedDomain, "").with_name(n.domain));
        }
    }

    let names = graph::NameTable::build(g)?;
    let (order, input_ids) = graph::topological_order(g, &names)?;
    let count = names.len();
    let mut values = Vec::new();
    values.try_reserve_exact(count)?;
    values.resize(
        count,
        Value {
            shape: Vec::new(),
            dtype: DType::F32,
            kind: ValueKind::Pending,
        },
    );
    let mut uses = Vec::new();
    uses.try_reserve_exact(count)?;
    uses.resize(count, 0usize);
    let mut is_output = Vec::new();
    is_output.try_reserve_exact(count)?;
    is_output.resize(count, false);
    let mut elem = Vec::new();
    elem.try_reserve_exact(count)?;
    elem.resize(count, 0u8);
    for &id in input_ids.iter().filter(|&&id| id != graph::NO_ID) {
        if let Some(u) = uses.get_mut(id as usize) {
            *u += 1;
        }
    }
    for o in &g.outputs {
        let id = names
            .find(o.name)
            .ok_or_else(|| err(ErrorCode::DanglingInput, "graph output").with_name(o.name))?;
        if let Some(u) = uses.get_mut(id) {
            *u += 1;
        }
        if let Some(f) = is_output.get_mut(id) {
            *f = true;
        }
    }

    let mut cx = Ctx {
        opset,
        names,
        input_ids,
        values,
        uses,
        is_output,
        elem,
        consts: Vec::new(),
        buffers: Vec::new(),
        steps: Vec::new(),
        infos: Vec::new(),
        folded_elements: 0,
        fold_budget: file_len.saturating_add(FOLD_BUDGET_EXTRA),
    };

    // Initializers become constants. Lists whose length is known are reserved exactly: each
    // growth step is an allocation and a copy.
    cx.consts.try_reserve(g.initializers.len())?;
    let mut initializer_ids = Vec::new();
    initializer_ids.try_reserve_exact(g.initializers.len())?;
    for t in &g.initializers {
        let id = cx
            .names
            .find(t.name)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "initializer name"))?;
        let (shape, data) = tensor::from_desc(t, borrow)?;
        let c = cx.consts.len();
        let dtype = data.dtype();
        push(&mut cx.consts, data)?;
        let slot = cx
            .values
            .get_mut(id)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "value id"))?;
        *slot = Value {
            shape,
            dtype,
            kind: ValueKind::Const(c),
        };
        cx.set_elem(id, t.data_type);
        push(&mut initializer_ids, (t.name, id, c))?;
    }

    // Graph inputs that are not initializers get arena buffers.
    let mut inputs = Vec::new();
    for vi in &g.inputs {
        let id = cx
            .names
            .find(vi.name)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "input name"))?;
        // Old IR versions also list initializers as inputs: they are constants already.
        if matches!(cx.values.get(id).map(|v| v.kind), Some(ValueKind::Const(_))) {
            continue;
        }
        let shape = input_shape(vi)?;
        let len = numel(&shape)?;
        let buf = cx.buffers.len();
        push(
            &mut cx.buffers,
            Buffer {
                len,
                producer: None,
                value: id,
            },
        )?;
        if let Some(slot) = cx.values.get_mut(id) {
            *slot = Value {
                shape: to_vec(&shape)?,
                dtype: DType::F32,
                kind: ValueKind::Runtime(buf),
            };
        }
        cx.set_elem(id, vi.elem_type);
        push(&mut inputs, (string_of(vi.name)?, shape, buf))?;
    }

    for &i in &order {
        let node = g
            .node(i)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "node index"))?;
        lower::lower_node(&mut cx, &node).map_err(|e: Error| {
            e.with_name(if node.name.is_empty() {
                node.op_type
            } else {
                node.name
            })
        })?;
    }

    // Kernels that depend on the device are chosen for the target, not for the CPU the
    // compiler runs on.
    if target == Target::X86_64 {
        #[cfg(target_arch = "x86_64")]
        lower_nn::select_x86_kernels(&mut cx)?;
        #[cfg(not(target_arch = "x86_64"))]
        return Err(err(
            ErrorCode::NotSupported,
            "x86_64 plans are compiled by an x86_64 build",
        ));
    }
    lower_nn::select_block_kernels(&mut cx)?;

    let mut outputs = Vec::new();
    outputs.try_reserve_exact(g.outputs.len())?;
    for o in &g.outputs {
        let id = cx
            .names
            .find(o.name)
            .ok_or_else(|| err(ErrorCode::DanglingInput, "graph output").with_name(o.name))?;
        let v = cx
            .values
            .get(id)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "value id"))?;
        if v.dtype != DType::F32 {
            return Err(err(
                ErrorCode::UnsupportedDataType,
                "graph outputs must be float32",
            )
            .with_name(o.name));
        }
        // The declared type (when the file gives one) must be what the graph computes: a
        // caller reading the declaration would otherwise misread the output buffer.
        // An 8-bit integer output (a QuantizeLinear's) is the float32 tensor carrying the
        // integers.
        let declared_float =
            o.elem_type == 0 || o.elem_type == crate::decode::model::data_type::FLOAT;
        let declared_as_computed = declared_float
            || (lower_quant::is_8bit(o.elem_type) && cx.elem_of(In { id }) == o.elem_type);
        if o.is_other_type || !declared_as_computed {
            return Err(err(
                ErrorCode::UnsupportedDataType,
                "graph output is declared with another type than the float32 the graph computes",
            )
            .with_name(o.name));
        }
        let loc = match v.kind {
            ValueKind::Const(c) => Loc::Const(c),
            ValueKind::Runtime(b) => Loc::Buf(b),
            ValueKind::Pending => {
                return Err(err(ErrorCode::DanglingInput, "graph output").with_name(o.name))
            }
        };
        push(&mut outputs, (string_of(o.name)?, to_vec(&v.shape)?, loc))?;
    }

    let still_float = |values: &[Value], &(_, id, c): &(&str, usize, usize)| {
        values
            .get(id)
            .is_some_and(|v| v.kind == ValueKind::Const(c) && v.dtype == DType::F32)
    };
    let mut initializers = Vec::new();
    initializers.try_reserve_exact(
        initializer_ids
            .iter()
            .filter(|e| still_float(&cx.values, e))
            .count(),
    )?;
    for e in &initializer_ids {
        if !still_float(&cx.values, e) {
            continue;
        }
        // The values' last use: the shape moves instead of being copied (an initializer
        // name is unique, so no other entry reads this value).
        if let Some(v) = cx.values.get_mut(e.1) {
            let shape = core::mem::take(&mut v.shape);
            push(&mut initializers, (string_of(e.0)?, shape, e.2))?;
        }
    }

    Ok(Compiled {
        steps: cx.steps,
        infos: cx.infos,
        buffers: cx.buffers,
        consts: cx.consts,
        inputs,
        outputs,
        initializers,
    })
}

/// The static shape of a graph input: a symbolic, unknown or zero first (batch) dimension is 1.
fn input_shape(vi: &crate::decode::model::ValueInfoDesc<'_>) -> Result<Vec<usize>> {
    if vi.is_other_type || !vi.is_tensor {
        return Err(err(ErrorCode::UnsupportedDataType, "input is not a tensor").with_name(vi.name));
    }
    // 8-bit integer inputs (of quantized models) are given as float32 values carrying the
    // integers.
    if vi.elem_type != crate::decode::model::data_type::FLOAT && !lower_quant::is_8bit(vi.elem_type)
    {
        return Err(err(
            ErrorCode::UnsupportedDataType,
            "inputs must be float32 (or int8/uint8, given as float32 values)",
        )
        .with_name(vi.name));
    }
    let dims = vi
        .shape
        .as_ref()
        .ok_or_else(|| err(ErrorCode::InvalidDimension, "input has no shape").with_name(vi.name))?;
    let mut shape = Vec::new();
    shape.try_reserve_exact(dims.len())?;
    for (i, d) in dims.iter().enumerate() {
        let v = match *d {
            DimDesc::Value(v) if v > 0 => v,
            DimDesc::Value(0) | DimDesc::Param(_) | DimDesc::Unknown if i == 0 => 1,
            DimDesc::Value(0) => 0,
            DimDesc::Value(v) if v < 0 => {
                return Err(
                    err(ErrorCode::InvalidDimension, "negative dimension").with_name(vi.name)
                )
            }
            _ => {
                return Err(err(
                    ErrorCode::InvalidDimension,
                    "only the first (batch) dimension may be symbolic",
                )
                .with_name(vi.name))
            }
        };
        shape.push(
            usize::try_from(v)
                .map_err(|_| err(ErrorCode::InvalidDimension, "dimension too large"))?,
        );
    }
    numel(&shape)?;
    Ok(shape)
}
