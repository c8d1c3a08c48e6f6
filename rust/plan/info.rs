//! The plan's information tables: graph inputs, graph outputs, initializers and one record
//! per step (operator, node name, output shape, parameter and MAC counts).
//!
//! They stay in the plan format's encoding (`docs/plan-format.md`): a plan in flash is read
//! where it lies, a plan read from a file keeps them in its buffer, and a model compiled from
//! ONNX keeps them as one block of bytes. A record is decoded when it is asked for (tables,
//! profiles, error messages), so a load allocates nothing per input, output or node. The
//! tables are checked in full when a plan is loaded ([`Index::scan`]), so decoding a record
//! later cannot fail; should it, the table reads as ending there.

#[cfg(feature = "onnx")]
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::format::read::Reader;
use super::format::write::{put_loc, Writer};
use super::step::{Dims, Loc};
use super::MAX_TENSOR_ELEMENTS;
use crate::error::{err, fault, ErrorCode, FaultResult, Result};

/// Where a plan's information tables are.
pub(crate) enum InfoBytes {
    /// In a buffer that lives for the whole program (a plan in flash).
    Static(&'static [u8]),
    /// In a block of their own.
    Owned(Vec<u8>),
    /// In the plan file's buffer that the weight store keeps ([`super::WeightStore::InBuffer`]).
    InWeightBuffer(Range<usize>),
}

/// The tables, in order.
const INPUTS: usize = 0;
const OUTPUTS: usize = 1;
const INITIALIZERS: usize = 2;
const NODES: usize = 3;

/// Where each table starts in the information bytes and how many records it has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Index {
    at: [usize; 4],
    counts: [usize; 4],
}

/// Name and static shape of a graph input or output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorInfo<'a> {
    /// Tensor name in the ONNX graph.
    pub name: &'a str,
    /// Static shape (a symbolic or zero batch dimension is 1).
    pub shape: Dims,
}

impl TensorInfo<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.as_slice().iter().product()
    }
    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One executed step of the plan, for `info` tables and profiling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeInfo<'a> {
    /// Operator, with fused operators joined by '+', e.g. "Conv+Relu".
    pub op: &'a str,
    /// Name of the (first) ONNX node this step came from.
    pub name: &'a str,
    /// Shape of the output.
    pub output_shape: Dims,
    /// Number of weight parameters the step reads.
    pub params: usize,
    /// Multiply-accumulates per inference.
    pub macs: u64,
}

/// An initializer the steps read unchanged: its name, shape and where its data is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InitializerInfo<'a> {
    /// Name in the ONNX graph.
    pub name: &'a str,
    /// Shape.
    pub shape: Dims,
    /// Location of the data.
    pub loc: Loc,
}

fn read_tensor<'a>(r: &mut Reader<'a>) -> FaultResult<TensorInfo<'a>> {
    let name = r.str()?;
    Ok(TensorInfo {
        name,
        shape: r.shape_dims()?,
    })
}

fn read_output<'a>(r: &mut Reader<'a>) -> FaultResult<(TensorInfo<'a>, Loc)> {
    let t = read_tensor(r)?;
    Ok((t, r.loc()?))
}

fn read_initializer<'a>(r: &mut Reader<'a>) -> FaultResult<InitializerInfo<'a>> {
    let t = read_tensor(r)?;
    Ok(InitializerInfo {
        name: t.name,
        shape: t.shape,
        loc: r.loc()?,
    })
}

fn read_node<'a>(r: &mut Reader<'a>) -> FaultResult<NodeInfo<'a>> {
    let op = r.str()?;
    let name = r.str()?;
    Ok(NodeInfo {
        op,
        name,
        output_shape: r.shape_dims()?,
        params: r.usize()?,
        macs: r.u64()?,
    })
}

/// The records of one table, decoded one by one.
pub struct Records<'a, T> {
    r: Reader<'a>,
    left: usize,
    read: fn(&mut Reader<'a>) -> FaultResult<T>,
}

impl<T> Iterator for Records<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match (self.read)(&mut self.r) {
            Ok(v) => Some(v),
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for Records<'_, T> {}

/// The tables' views over the information bytes `b` laid out as `index` says.
#[derive(Clone, Copy)]
pub(crate) struct Tables<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) index: Index,
}

impl<'a> Tables<'a> {
    fn records<T>(
        &self,
        table: usize,
        read: fn(&mut Reader<'a>) -> FaultResult<T>,
    ) -> Records<'a, T> {
        Records {
            r: Reader {
                b: self.b,
                pos: self.index.at.get(table).copied().unwrap_or(usize::MAX),
            },
            left: self.index.count(table),
            read,
        }
    }
    pub(crate) fn inputs(&self) -> Records<'a, TensorInfo<'a>> {
        self.records(INPUTS, read_tensor)
    }
    pub(crate) fn outputs(&self) -> Records<'a, (TensorInfo<'a>, Loc)> {
        self.records(OUTPUTS, read_output)
    }
    pub(crate) fn initializers(&self) -> Records<'a, InitializerInfo<'a>> {
        self.records(INITIALIZERS, read_initializer)
    }
    pub(crate) fn nodes(&self) -> Records<'a, NodeInfo<'a>> {
        self.records(NODES, read_node)
    }
    /// Elements of each graph input, without decoding names (the run-time checks). Records
    /// are found by walking the table: visit them in one pass, never record `i` for each `i`.
    pub(crate) fn input_lens(&self) -> Records<'a, usize> {
        self.records(INPUTS, read_len)
    }
    /// Elements and location of each graph output, without decoding names.
    pub(crate) fn output_lens(&self) -> Records<'a, (usize, Loc)> {
        self.records(OUTPUTS, read_len_loc)
    }
    /// Elements and location of each initializer, without decoding names.
    pub(crate) fn initializer_lens(&self) -> Records<'a, (usize, Loc)> {
        self.records(INITIALIZERS, read_len_loc)
    }
}

impl Index {
    fn count(&self, table: usize) -> usize {
        self.counts.get(table).copied().unwrap_or(0)
    }
    /// Number of graph inputs.
    pub(crate) fn input_count(&self) -> usize {
        self.count(INPUTS)
    }
    /// Number of graph outputs.
    pub(crate) fn output_count(&self) -> usize {
        self.count(OUTPUTS)
    }
    /// Number of node records.
    pub(crate) fn node_count(&self) -> usize {
        self.count(NODES)
    }
    /// Reads and checks the four tables at the start of `b`, with the counts of
    /// inputs, outputs, initializers and nodes: every record decodes, every name is UTF-8,
    /// every shape has at most 8 dims and at most 2^24 elements, the MAC counts add up below
    /// 2^64. Returns the index and where the tables end.
    pub(crate) fn scan(b: &[u8], counts: [usize; 4]) -> Result<(Index, usize)> {
        let bad = |what| err(ErrorCode::Malformed, what);
        // Each record takes at least this many words: bounds the counts by the plan's size.
        for (&n, words) in counts.iter().zip([2usize, 5, 5, 6]) {
            if n.saturating_mul(words) > b.len() / 4 {
                return Err(bad("plan: count larger than the plan"));
            }
        }
        let mut r = Reader { b, pos: 0 };
        let mut at = [0usize; 4];
        let mut total_macs = 0u64;
        for (table, (&n, slot)) in counts.iter().zip(at.iter_mut()).enumerate() {
            *slot = r.pos;
            for _ in 0..n {
                check_name(&mut r)?;
                if table == NODES {
                    check_name(&mut r)?;
                }
                if r.shape_len()? > MAX_TENSOR_ELEMENTS {
                    return Err(err(
                        ErrorCode::LimitExceeded,
                        "plan: tensor above 2^24 elements",
                    ));
                }
                if table == OUTPUTS || table == INITIALIZERS {
                    r.loc()?;
                }
                if table == NODES {
                    r.usize()?;
                    total_macs = total_macs
                        .checked_add(r.u64()?)
                        .ok_or_else(|| bad("plan: the steps' MAC counts add up past 2^64"))?;
                }
            }
        }
        Ok((Index { at, counts }, r.pos))
    }
}

/// Skips a name, refusing one that is not UTF-8 (ASCII, the usual case, is checked fastest).
fn check_name(r: &mut Reader<'_>) -> FaultResult<()> {
    let n = r.usize()?;
    let s = r.take(n)?;
    r.take((4 - n % 4) % 4)?;
    if !s.is_ascii() && core::str::from_utf8(s).is_err() {
        return Err(fault(ErrorCode::Malformed, "plan: name is not UTF-8"));
    }
    Ok(())
}

/// Elements of a graph input, its name skipped.
fn read_len(r: &mut Reader<'_>) -> FaultResult<usize> {
    r.skip_str()?;
    r.shape_len()
}

/// Elements and location of a graph output or initializer, its name skipped.
fn read_len_loc(r: &mut Reader<'_>) -> FaultResult<(usize, Loc)> {
    r.skip_str()?;
    let len = r.shape_len()?;
    Ok((len, r.loc()?))
}

/// The compiler's description of a graph input or output, an initializer and a step, in the
/// form [`encode`] writes.
#[cfg(feature = "onnx")]
pub(crate) struct Described {
    /// Graph inputs: name, shape.
    pub inputs: Vec<(String, Vec<usize>)>,
    /// Graph outputs: name, shape, location.
    pub outputs: Vec<(String, Vec<usize>, Loc)>,
    /// Initializers: name, shape, location.
    pub initializers: Vec<(String, Vec<usize>, Loc)>,
    /// Steps: operator, name, output shape, parameters, MACs.
    pub nodes: Vec<StepInfo>,
}

/// What the compiler records of a step for the node table.
#[cfg(feature = "onnx")]
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StepInfo {
    /// Operator, with fused operators joined by '+'.
    pub op: String,
    /// Name of the (first) ONNX node.
    pub name: String,
    /// Shape of the output.
    pub output_shape: Vec<usize>,
    /// Weight parameters read.
    pub params: usize,
    /// Multiply-accumulates per inference.
    pub macs: u64,
}

/// Writes the four tables. `map` gives each location as it is to be stored (a plan file
/// moves weights into its weight section).
pub(crate) fn write_tables<'t>(
    w: &mut Writer,
    tables: &Tables<'t>,
    map: &mut dyn FnMut(Loc) -> Result<Loc>,
) -> Result<()> {
    for t in tables.inputs() {
        put_tensor(w, t.name, t.shape.as_slice())?;
    }
    for (t, loc) in tables.outputs() {
        put_tensor(w, t.name, t.shape.as_slice())?;
        put_loc(w, map(loc)?)?;
    }
    for i in tables.initializers() {
        put_tensor(w, i.name, i.shape.as_slice())?;
        put_loc(w, map(i.loc)?)?;
    }
    for n in tables.nodes() {
        put_node(w, n.op, n.name, n.output_shape.as_slice(), n.params, n.macs)?;
    }
    Ok(())
}

// Out of line: called from several loops, each would otherwise carry its own copy.
#[inline(never)]
fn put_tensor(w: &mut Writer, name: &str, shape: &[usize]) -> Result<()> {
    w.str(name)?;
    w.usizes(shape)
}

#[inline(never)]
fn put_node(
    w: &mut Writer,
    op: &str,
    name: &str,
    shape: &[usize],
    params: usize,
    macs: u64,
) -> Result<()> {
    w.str(op)?;
    w.str(name)?;
    w.usizes(shape)?;
    w.usize(params)?;
    w.u64(macs)
}

/// Encodes the compiler's tables into one block of exactly its length, with its index.
#[cfg(feature = "onnx")]
pub(crate) fn encode(d: Described) -> Result<(Vec<u8>, Index)> {
    // The exact size first: one allocation, no growth.
    fn text(s: &str) -> usize {
        4 + s.len().next_multiple_of(4)
    }
    fn dims(v: &[usize]) -> usize {
        4 + 4 * v.len()
    }
    let mut size = 0usize;
    for (n, sh) in &d.inputs {
        size += text(n) + dims(sh);
    }
    for (n, sh, _) in d.outputs.iter().chain(&d.initializers) {
        size += text(n) + dims(sh) + 12;
    }
    for n in &d.nodes {
        size += text(&n.op) + text(&n.name) + dims(&n.output_shape) + 12;
    }
    let mut w = Writer { buf: Vec::new() };
    w.buf.try_reserve_exact(size)?;
    let mut at = [0usize; 4];
    for (name, shape) in &d.inputs {
        put_tensor(&mut w, name, shape)?;
    }
    at[OUTPUTS] = w.buf.len();
    for (name, shape, loc) in &d.outputs {
        put_tensor(&mut w, name, shape)?;
        put_loc(&mut w, *loc)?;
    }
    at[INITIALIZERS] = w.buf.len();
    for (name, shape, loc) in &d.initializers {
        put_tensor(&mut w, name, shape)?;
        put_loc(&mut w, *loc)?;
    }
    at[NODES] = w.buf.len();
    for n in &d.nodes {
        put_node(&mut w, &n.op, &n.name, &n.output_shape, n.params, n.macs)?;
    }
    let counts = [
        d.inputs.len(),
        d.outputs.len(),
        d.initializers.len(),
        d.nodes.len(),
    ];
    Ok((w.buf, Index { at, counts }))
}
