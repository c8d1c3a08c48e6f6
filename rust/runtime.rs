//! The loaded model and its execution.
//!
//! (Work in progress: the signatures below are the public API; bodies land with the compiler.)

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{err, ErrorCode, Result};

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
    /// Shapes of the runtime inputs.
    pub input_shapes: Vec<Vec<usize>>,
    /// Shape of the output.
    pub output_shape: Vec<usize>,
    /// Number of weight parameters the step reads.
    pub params: usize,
    /// Multiply-accumulates per inference.
    pub macs: u64,
}

/// A compiled model, ready to run without allocating.
pub struct Model {
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    nodes: Vec<NodeInfo>,
}

impl Model {
    /// Loads and compiles a model from the bytes of an ONNX file.
    pub fn from_bytes(_bytes: &[u8]) -> Result<Model> {
        Err(err(ErrorCode::NotSupported, "compiler not landed yet"))
    }

    /// Runs the model on input 0 and writes output 0.
    pub fn run(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        self.run_many(&[input], &mut [output])
    }

    /// Runs the model with every graph input and output, in graph order.
    pub fn run_many(&mut self, _inputs: &[&[f32]], _outputs: &mut [&mut [f32]]) -> Result<()> {
        Err(err(ErrorCode::NotSupported, "compiler not landed yet"))
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
        0
    }
    /// Bytes of weights held by the model.
    pub fn weight_bytes(&self) -> usize {
        0
    }
    /// Multiply-accumulates per inference.
    pub fn total_macs(&self) -> u64 {
        self.nodes.iter().map(|n| n.macs).sum()
    }
    /// Looks up an initializer (weights) by its ONNX name: its shape and data.
    pub fn initializer(&self, _name: &str) -> Option<(&[usize], &[f32])> {
        None
    }
    /// Writes the per-node table and totals (what `onnx_model_info` prints).
    pub fn write_info(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(w, "{} nodes", self.nodes.len())
    }
}
