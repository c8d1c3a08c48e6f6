//! Borrowed views of the ONNX messages the engine reads.
//!
//! Names and tensor bytes point into the model buffer (which may be in flash); only the lists
//! of nodes, attributes and small repeated numbers are allocated, each element costing at
//! least one byte of the input, so the memory used is bounded by a small multiple of the file.
//! The per-node lists (input and output names, attributes, attribute numbers) live in pools
//! owned by the graph, reserved exactly by a counting pass, so a node costs no allocation of
//! its own; [`GraphDesc::node`] gives a borrowed view of one node.
//! A singular message field that appears twice is merged, as protobuf requires.

use alloc::vec::Vec;

use super::parse::as_i64;
use super::wire::{f32_le, Reader, WireType};
use crate::error::{err, ErrorCode, Result};

pub use super::parse::{decode_model, merge_tensor};

/// `TensorProto.DataType` values the decoder names.
pub mod data_type {
    /// 32-bit IEEE float.
    pub const FLOAT: i32 = 1;
    /// Unsigned 8-bit integer.
    pub const UINT8: i32 = 2;
    /// Signed 8-bit integer.
    pub const INT8: i32 = 3;
    /// Signed 32-bit integer.
    pub const INT32: i32 = 6;
    /// Signed 64-bit integer.
    pub const INT64: i32 = 7;
    /// Boolean.
    pub const BOOL: i32 = 9;
    /// 64-bit IEEE float.
    pub const DOUBLE: i32 = 11;
}

/// `AttributeProto.AttributeType` values the decoder names.
pub mod attr_type {
    /// Not set (old IR versions): inferred from which field is present.
    pub const UNDEFINED: i32 = 0;
    /// A single float.
    pub const FLOAT: i32 = 1;
    /// A single int64.
    pub const INT: i32 = 2;
    /// A byte string.
    pub const STRING: i32 = 3;
    /// A tensor.
    pub const TENSOR: i32 = 4;
    /// A subgraph.
    pub const GRAPH: i32 = 5;
    /// A list of floats.
    pub const FLOATS: i32 = 6;
    /// A list of int64.
    pub const INTS: i32 = 7;
    /// A list of byte strings.
    pub const STRINGS: i32 = 8;
}

/// Float data of a tensor: borrowed little-endian bytes when the file holds them in one
/// packed run, otherwise collected.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum FloatData<'a> {
    /// No `float_data` in the message.
    #[default]
    None,
    /// One packed run of little-endian f32 bytes (length is a multiple of 4).
    Packed(&'a [u8]),
    /// Values collected from several runs or unpacked elements.
    Values(Vec<f32>),
}

impl FloatData<'_> {
    /// Number of floats.
    pub fn len(&self) -> usize {
        match self {
            FloatData::None => 0,
            FloatData::Packed(b) => b.len() / 4,
            FloatData::Values(v) => v.len(),
        }
    }

    /// True when there is no float data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th value.
    pub fn get(&self, i: usize) -> Option<f32> {
        match self {
            FloatData::None => None,
            FloatData::Packed(b) => {
                let at = i.checked_mul(4)?;
                b.get(at..at.checked_add(4)?).map(f32_le)
            }
            FloatData::Values(v) => v.get(i).copied(),
        }
    }
}

/// The `dims` of a tensor. ONNX writes them unpacked (one field per dimension), so they are
/// not one slice of the file; instead of collecting them, a tensor read from one message
/// keeps that message and reads the dims from it again when asked (skipping the other
/// fields is cheap: their lengths are in the keys).
#[derive(Clone, Debug, PartialEq)]
pub enum Dims<'a> {
    /// In the tensor message `msg` (already checked), `len` of them.
    InPlace {
        /// The serialized `TensorProto`.
        msg: &'a [u8],
        /// Number of dims in it.
        len: usize,
    },
    /// Collected, for a tensor merged from several messages.
    Values(Vec<i64>),
}

impl Default for Dims<'_> {
    fn default() -> Self {
        Dims::InPlace { msg: &[], len: 0 }
    }
}

impl<'a> Dims<'a> {
    /// Number of dimensions.
    pub fn len(&self) -> usize {
        match self {
            Dims::InPlace { len, .. } => *len,
            Dims::Values(v) => v.len(),
        }
    }

    /// True for a scalar (no dimension).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dimensions in order.
    pub fn iter(&self) -> DimsIter<'_> {
        match self {
            Dims::InPlace { msg, len } => DimsIter::InPlace {
                outer: Reader::new(msg),
                packed: Reader::new(&[]),
                left: *len,
            },
            Dims::Values(v) => DimsIter::Values(v.iter()),
        }
    }
}

/// Iterator over [`Dims`].
#[derive(Clone, Debug)]
pub enum DimsIter<'d> {
    /// Reading a tensor message.
    InPlace {
        /// The message's fields.
        outer: Reader<'d>,
        /// The rest of a packed run of dims.
        packed: Reader<'d>,
        /// Dims not yet returned (bounds the walk).
        left: usize,
    },
    /// Collected values.
    Values(core::slice::Iter<'d, i64>),
}

impl Iterator for DimsIter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        match self {
            DimsIter::Values(it) => it.next().copied(),
            DimsIter::InPlace {
                outer,
                packed,
                left,
            } => {
                *left = left.checked_sub(1)?;
                if !packed.is_empty() {
                    return packed.varint().ok().map(as_i64);
                }
                // The message was checked when decoded: a read error only ends the walk.
                while !outer.is_empty() {
                    let (field, wire) = outer.key().ok()?;
                    match (field, wire) {
                        (1, WireType::Varint) => return outer.varint().ok().map(as_i64),
                        (1, WireType::Len) => {
                            *packed = Reader::new(outer.bytes().ok()?);
                            if !packed.is_empty() {
                                return packed.varint().ok().map(as_i64);
                            }
                        }
                        _ => outer.skip_field(field, wire).ok()?,
                    }
                }
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            DimsIter::Values(it) => it.size_hint(),
            DimsIter::InPlace { left, .. } => (0, Some(*left)),
        }
    }
}

/// A `TensorProto` (initializer or attribute tensor).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TensorDesc<'a> {
    /// Tensor name.
    pub name: &'a str,
    /// Dimensions as stored (may be negative in a hostile file).
    pub dims: Dims<'a>,
    /// `TensorProto.DataType`.
    pub data_type: i32,
    /// `raw_data` bytes, when present.
    pub raw_data: Option<&'a [u8]>,
    /// `float_data`.
    pub float_data: FloatData<'a>,
    /// `int32_data` (also holds int8/uint8/bool/float16 payloads).
    pub int32_data: Vec<i32>,
    /// `int64_data`.
    pub int64_data: Vec<i64>,
    /// Number of `double_data`, `uint64_data` and `string_data` elements (unsupported types).
    pub other_data: usize,
    /// `data_location` (1 = external data, unsupported).
    pub data_location: i32,
}

/// A dimension of a declared tensor shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DimDesc<'a> {
    /// A fixed size.
    Value(i64),
    /// A symbolic size such as "N".
    Param(&'a str),
    /// Neither set.
    Unknown,
}

/// A `ValueInfoProto` (graph input or output).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValueInfoDesc<'a> {
    /// Tensor name.
    pub name: &'a str,
    /// True when the type is a tensor type.
    pub is_tensor: bool,
    /// True when the type is something else (sequence, map, optional, sparse tensor).
    pub is_other_type: bool,
    /// Element type (`TensorProto.DataType`), 0 when unknown.
    pub elem_type: i32,
    /// Declared shape; `None` when the shape is absent (unknown rank).
    pub shape: Option<Vec<DimDesc<'a>>>,
}

/// A heap-allocated [`TensorDesc`] (allocated fallibly; dereferences to the tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct TensorBox<'a>(alloc::boxed::Box<[TensorDesc<'a>]>);

impl<'a> TensorBox<'a> {
    /// Moves `t` to the heap, or fails with `OutOfMemory`.
    pub fn new(t: TensorDesc<'a>) -> Result<TensorBox<'a>> {
        let mut v = Vec::new();
        v.try_reserve_exact(1)?;
        v.push(t);
        // Length equals capacity: no reallocation.
        Ok(TensorBox(v.into_boxed_slice()))
    }
}

impl<'a> core::ops::Deref for TensorBox<'a> {
    type Target = TensorDesc<'a>;
    fn deref(&self) -> &TensorDesc<'a> {
        // A TensorBox is only built by `new`, with exactly one element.
        #[allow(clippy::indexing_slicing)]
        &self.0[0]
    }
}

impl<'a> core::ops::DerefMut for TensorBox<'a> {
    fn deref_mut(&mut self) -> &mut TensorDesc<'a> {
        // A TensorBox is only built by `new`, with exactly one element.
        #[allow(clippy::indexing_slicing)]
        &mut self.0[0]
    }
}

/// An `AttributeProto`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttributeDesc<'a> {
    /// Attribute name.
    pub name: &'a str,
    /// Declared `AttributeType` (0 in old files).
    pub kind: i32,
    /// `f`.
    pub f: Option<f32>,
    /// `i`.
    pub i: Option<i64>,
    /// `s`.
    pub s: Option<&'a [u8]>,
    /// `t`, out of line: tensor attributes are rare (Constant, ConstantOfShape) and a
    /// `TensorDesc` inline would triple the size of every attribute.
    pub t: Option<TensorBox<'a>>,
    /// True when a subgraph `g` is present.
    pub has_graph: bool,
    /// `floats`: a span of the graph's float pool (read with [`Node::floats`]).
    pub floats: Span,
    /// `ints`: a span of the graph's int pool (read with [`Node::ints`]).
    pub ints: Span,
    /// Number of `strings`, `tensors`, `graphs` (unsupported list kinds).
    pub other_lists: usize,
    /// `ref_attr_name` (only meaningful inside functions).
    pub ref_attr_name: &'a str,
}

/// A contiguous run of one of a graph's pools (element indices `start..end`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub(super) start: u32,
    pub(super) end: u32,
}

impl Span {
    /// The span `start..end` (u32 keeps nodes and attributes small; a pool that long would
    /// need a file of more than 4 GiB).
    pub(super) fn new(start: usize, end: usize) -> Result<Span> {
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) if start <= end => Ok(Span { start, end }),
            _ => Err(err(ErrorCode::LimitExceeded, "too many elements")),
        }
    }

    /// Number of elements.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// True when the span holds no element.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The elements of `pool` the span covers (empty if out of range, which a decoded
    /// graph never produces).
    pub(super) fn of<T>(self, pool: &[T]) -> &[T] {
        pool.get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }
}

/// A `NodeProto` as stored: its lists are spans of the graph's pools; read it through
/// [`GraphDesc::node`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeDesc<'a> {
    /// Span of [`GraphDesc`]'s input-name pool.
    pub(super) inputs: Span,
    /// Span of the output-name pool.
    pub(super) outputs: Span,
    /// Span of the attribute pool.
    pub(super) attributes: Span,
    /// Node name.
    pub name: &'a str,
    /// Operator type, e.g. "Conv".
    pub op_type: &'a str,
    /// Operator domain ("" or "ai.onnx" is the default domain).
    pub domain: &'a str,
}

/// A borrowed view of one node of a [`GraphDesc`] (cheap to copy).
#[derive(Clone, Copy, Debug)]
pub struct Node<'g, 'a> {
    /// Input tensor names ("" for an omitted optional input).
    pub inputs: &'g [&'a str],
    /// Output tensor names ("" for an omitted optional output).
    pub outputs: &'g [&'a str],
    /// Node name.
    pub name: &'a str,
    /// Operator type, e.g. "Conv".
    pub op_type: &'a str,
    /// Operator domain ("" or "ai.onnx" is the default domain).
    pub domain: &'a str,
    /// Attributes.
    pub attributes: &'g [AttributeDesc<'a>],
    /// The graph's attribute int pool.
    pub(super) ints: &'g [i64],
    /// The graph's attribute float pool.
    pub(super) floats: &'g [f32],
    /// Position of `inputs[0]` among all nodes' inputs (see [`GraphDesc::node_inputs`]).
    pub(super) input_base: usize,
    /// Position of `outputs[0]` among all nodes' outputs.
    pub(super) output_base: usize,
}

impl<'g, 'a> Node<'g, 'a> {
    /// The `ints` of one of this node's attributes.
    pub fn ints(&self, a: &AttributeDesc<'_>) -> &'g [i64] {
        a.ints.of(self.ints)
    }

    /// The `floats` of one of this node's attributes.
    pub fn floats(&self, a: &AttributeDesc<'_>) -> &'g [f32] {
        a.floats.of(self.floats)
    }

    /// Where input `i` is in [`GraphDesc::node_inputs`] (lets callers keep per-input data
    /// for the whole graph in one array).
    pub fn input_index(&self, i: usize) -> usize {
        self.input_base.saturating_add(i)
    }

    /// Where output `i` is in [`GraphDesc::node_outputs`].
    pub fn output_index(&self, i: usize) -> usize {
        self.output_base.saturating_add(i)
    }
}

/// The lists every node of a graph shares, each node holding spans of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct NodePools<'a> {
    pub(super) inputs: Vec<&'a str>,
    pub(super) outputs: Vec<&'a str>,
    pub(super) attributes: Vec<AttributeDesc<'a>>,
    pub(super) ints: Vec<i64>,
    pub(super) floats: Vec<f32>,
}

/// A `GraphProto`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphDesc<'a> {
    /// Graph name.
    pub name: &'a str,
    /// Nodes, in file order.
    pub(super) nodes: Vec<NodeDesc<'a>>,
    /// Node lists.
    pub(super) pools: NodePools<'a>,
    /// Initializers.
    pub initializers: Vec<TensorDesc<'a>>,
    /// Declared inputs (may include initializers in old IR versions).
    pub inputs: Vec<ValueInfoDesc<'a>>,
    /// Declared outputs.
    pub outputs: Vec<ValueInfoDesc<'a>>,
    /// Number of sparse initializers (unsupported).
    pub sparse_initializers: usize,
}

impl<'a> GraphDesc<'a> {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The `i`-th node, in file order.
    pub fn node(&self, i: usize) -> Option<Node<'_, 'a>> {
        self.nodes.get(i).map(|n| self.view(n))
    }

    /// The inputs of every node, node after node (in file order).
    pub fn node_inputs(&self) -> &[&'a str] {
        &self.pools.inputs
    }

    /// The outputs of every node, node after node (in file order).
    pub fn node_outputs(&self) -> &[&'a str] {
        &self.pools.outputs
    }

    /// Every node, in file order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = Node<'_, 'a>> + '_ {
        self.nodes.iter().map(|n| self.view(n))
    }

    pub(super) fn view(&self, n: &NodeDesc<'a>) -> Node<'_, 'a> {
        let p = &self.pools;
        Node {
            inputs: n.inputs.of(&p.inputs),
            outputs: n.outputs.of(&p.outputs),
            name: n.name,
            op_type: n.op_type,
            domain: n.domain,
            attributes: n.attributes.of(&p.attributes),
            ints: &p.ints,
            floats: &p.floats,
            input_base: n.inputs.start as usize,
            output_base: n.outputs.start as usize,
        }
    }
}

/// An `OperatorSetIdProto`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpsetDesc<'a> {
    /// Domain ("" or "ai.onnx" for the default domain).
    pub domain: &'a str,
    /// Opset version.
    pub version: i64,
}

/// A `ModelProto`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelDesc<'a> {
    /// `ir_version` (0 when absent).
    pub ir_version: i64,
    /// `opset_import`.
    pub opsets: Vec<OpsetDesc<'a>>,
    /// `producer_name`.
    pub producer_name: &'a str,
    /// `producer_version`.
    pub producer_version: &'a str,
    /// The main graph, when present.
    pub graph: Option<GraphDesc<'a>>,
}
