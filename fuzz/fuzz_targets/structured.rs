//! Structure-aware fuzzing: start from a valid model (one of three embedded MNIST models),
//! decode it with the prost reference decoder, apply a sequence of mutations chosen by the
//! fuzz bytes (dims, data types, attributes, operator types, tensor names, node order, tensor
//! data, opset and IR version, initializers, graph inputs and outputs, inserted nodes),
//! re-encode it and load and run it through the C API as `load_run` does. The mutated models
//! stay well-formed protobuf, so the inputs get past decoding into compilation and running.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use rtonnx::decode::reference::onnx_pb::{
    self, tensor_shape_proto::dimension::Value as Dim, type_proto::Value as TypeValue,
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
};

mod common;

/// The seed models: the original package's two keras2onnx models (copied from the shared data
/// directory by `build.rs`; empty when it is missing) and our own mnist-sm.
const SEEDS: [&[u8]; 3] = [
    include_bytes!(concat!(env!("OUT_DIR"), "/keras2onnx-mnist-sm.onnx")),
    include_bytes!(concat!(env!("OUT_DIR"), "/keras2onnx-mnist-lg.onnx")),
    include_bytes!("../../examples/models/mnist-sm.onnx"),
];

/// Operators the engine implements, and a few it does not.
const OPS: &[&str] = &[
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "BatchNormalization",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Clip",
    "Softmax",
    "LogSoftmax",
    "MatMul",
    "Gemm",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Max",
    "Min",
    "Sum",
    "Abs",
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Floor",
    "Ceil",
    "Elu",
    "Selu",
    "HardSigmoid",
    "HardSwish",
    "Softplus",
    "Softsign",
    "Erf",
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceSumSquare",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Identity",
    "Dropout",
    "Transpose",
    "Concat",
    "Pad",
    "Gather",
    "Slice",
    "Shape",
    "Constant",
    "ConstantOfShape",
    "Cast",
    "QuantizeLinear",
    "DequantizeLinear",
    // not implemented
    "ConvTranspose",
    "Resize",
    "Loop",
    "If",
    "LSTM",
    "",
];

const ATTR_NAMES: &[&str] = &[
    "kernel_shape",
    "strides",
    "pads",
    "dilations",
    "group",
    "auto_pad",
    "axis",
    "axes",
    "perm",
    "alpha",
    "beta",
    "gamma",
    "transA",
    "transB",
    "keepdims",
    "noop_with_empty_axes",
    "epsilon",
    "ceil_mode",
    "count_include_pad",
    "storage_order",
    "block_size",
    "output_dtype",
    "min",
    "max",
    "value",
    "value_float",
    "value_floats",
    "value_int",
    "value_ints",
    "to",
    "allowzero",
    "start",
    "end",
    "starts",
    "ends",
    "mode",
    "spatial",
    "training_mode",
];

const STRINGS: &[&[u8]] = &[
    b"NOTSET",
    b"SAME_UPPER",
    b"SAME_LOWER",
    b"VALID",
    b"constant",
    b"reflect",
    b"edge",
    b"",
    b"\xff\xfe",
];

/// The fuzz bytes, read as a sequence of choices (zero once exhausted).
struct Choices<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Choices<'_> {
    fn more(&self) -> bool {
        self.pos < self.data.len()
    }
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn flip(&mut self) -> bool {
        self.byte() & 1 == 0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let v = if n <= 256 {
            self.byte() as usize
        } else {
            u16::from_le_bytes([self.byte(), self.byte()]) as usize
        };
        v % n
    }
    fn pick<'t, T>(&mut self, items: &'t [T]) -> Option<&'t T> {
        if items.is_empty() {
            None
        } else {
            let i = self.below(items.len());
            items.get(i)
        }
    }
    /// An int64 of interest: small, boundary, huge or negative.
    fn int(&mut self) -> i64 {
        match self.byte() % 16 {
            0 => 0,
            1 => -1,
            2 => 1,
            3 => 2,
            4 => 3,
            5 => i64::MAX,
            6 => i64::MIN,
            7 => 1 << 24,
            8 => (1 << 24) + 1,
            9 => 1 << 31,
            10 => u32::MAX as i64,
            11 => -(self.byte() as i64),
            12 => (1 << 12) + self.byte() as i64,
            _ => self.byte() as i64 % 32,
        }
    }
    fn float(&mut self) -> f32 {
        match self.byte() % 12 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => 0.0,
            4 => -0.0,
            5 => f32::MAX,
            6 => 1.0e-45,
            7 => 1.0,
            _ => (self.byte() as f32 - 128.0) / 8.0,
        }
    }
    fn data_type(&mut self) -> i32 {
        *self
            .pick(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 99, -1])
            .unwrap_or(&1)
    }
}

/// Every tensor name the graph mentions (node inputs and outputs, initializers, graph inputs
/// and outputs), for rewiring.
fn names(g: &GraphProto) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for n in &g.node {
        v.extend(n.input.iter().cloned());
        v.extend(n.output.iter().cloned());
    }
    v.extend(g.initializer.iter().map(|t| t.name().to_string()));
    v.extend(g.input.iter().map(|t| t.name().to_string()));
    v.extend(g.output.iter().map(|t| t.name().to_string()));
    v.push("dangling".to_string());
    v.push(String::new());
    v
}

fn tensor_dims(t: &mut TensorProto, c: &mut Choices<'_>) {
    match c.byte() % 4 {
        0 if !t.dims.is_empty() => {
            let i = c.below(t.dims.len());
            t.dims[i] = c.int();
        }
        1 => t.dims.push(c.int()),
        2 => {
            t.dims.pop();
        }
        _ => t.dims.reverse(),
    }
}

fn tensor_data(t: &mut TensorProto, c: &mut Choices<'_>) {
    match c.byte() % 8 {
        0 => {
            if let Some(r) = &mut t.raw_data {
                let n = c.below(r.len() + 1);
                r.truncate(n);
            }
        }
        1 => {
            let extra = c.below(64);
            let fill = c.byte();
            t.raw_data
                .get_or_insert_with(Vec::new)
                .extend(std::iter::repeat_n(fill, extra));
        }
        2 => {
            // One float of raw_data set to a special value.
            let f = c.float();
            if let Some(r) = &mut t.raw_data {
                if r.len() >= 4 {
                    let i = c.below(r.len() / 4) * 4;
                    r[i..i + 4].copy_from_slice(&f.to_le_bytes());
                }
            }
        }
        3 => {
            // raw_data -> float_data.
            if let Some(r) = t.raw_data.take() {
                t.float_data = r
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
            }
        }
        4 => {
            let n = c.below(t.float_data.len() + 1);
            t.float_data.truncate(n);
        }
        5 => {
            let k = c.below(16);
            for _ in 0..k {
                let f = c.float();
                t.float_data.push(f);
            }
        }
        6 => {
            let k = c.below(8);
            for _ in 0..k {
                let v = c.int();
                t.int64_data.push(v);
            }
        }
        _ => {
            let k = c.below(8);
            for _ in 0..k {
                let v = c.int() as i32;
                t.int32_data.push(v);
            }
        }
    }
}

/// A small tensor made from the fuzz bytes: float or int64, for new initializers and
/// Constant values.
fn new_tensor(name: String, c: &mut Choices<'_>) -> TensorProto {
    let mut t = TensorProto {
        name: Some(name),
        ..Default::default()
    };
    let n = c.below(6);
    if c.flip() {
        t.data_type = Some(7);
        t.int64_data = (0..n).map(|_| c.int()).collect();
    } else {
        t.data_type = Some(1);
        t.float_data = (0..n).map(|_| c.float()).collect();
    }
    if c.byte() & 3 != 0 {
        t.dims = vec![n as i64];
    }
    t
}

fn attribute(a: &mut AttributeProto, c: &mut Choices<'_>) {
    match c.byte() % 10 {
        0 => a.i = Some(c.int()),
        1 => a.f = Some(c.float()),
        2 if !a.ints.is_empty() => {
            let i = c.below(a.ints.len());
            a.ints[i] = c.int();
        }
        3 => a.ints.push(c.int()),
        4 => {
            a.ints.pop();
        }
        5 => a.floats.push(c.float()),
        6 => a.s = c.pick(STRINGS).map(|s| s.to_vec()),
        7 => a.r#type = Some(c.below(16) as i32),
        8 => {
            if let Some(t) = &mut a.t {
                tensor_dims(t, c);
            } else {
                a.t = Some(new_tensor("value".into(), c));
            }
        }
        _ => {
            if let Some(t) = &mut a.t {
                tensor_data(t, c);
            }
        }
    }
}

fn new_attribute(c: &mut Choices<'_>) -> AttributeProto {
    let name = c.pick(ATTR_NAMES).copied().unwrap_or("axis").to_string();
    let mut a = AttributeProto {
        name: Some(name),
        ..Default::default()
    };
    match c.byte() % 5 {
        0 => {
            a.r#type = Some(2);
            a.i = Some(c.int());
        }
        1 => {
            a.r#type = Some(1);
            a.f = Some(c.float());
        }
        2 => {
            a.r#type = Some(7);
            let n = c.below(9);
            a.ints = (0..n).map(|_| c.int()).collect();
        }
        3 => {
            a.r#type = Some(3);
            a.s = c.pick(STRINGS).map(|s| s.to_vec());
        }
        _ => {
            a.r#type = Some(4);
            a.t = Some(new_tensor("value".into(), c));
        }
    }
    a
}

fn value_info(v: &mut ValueInfoProto, c: &mut Choices<'_>) {
    let Some(TypeValue::TensorType(tt)) = v.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
        v.r#type = Some(onnx_pb::TypeProto {
            value: Some(TypeValue::TensorType(Default::default())),
        });
        return;
    };
    match c.byte() % 6 {
        0 => tt.elem_type = Some(c.data_type()),
        1 => {
            tt.shape = None;
        }
        _ => {
            let shape = tt.shape.get_or_insert_with(Default::default);
            match c.byte() % 4 {
                0 => shape.dim.push(Default::default()),
                1 => {
                    shape.dim.pop();
                }
                _ if !shape.dim.is_empty() => {
                    let i = c.below(shape.dim.len());
                    shape.dim[i].value = match c.byte() % 4 {
                        0 => None,
                        1 => Some(Dim::DimParam("N".into())),
                        _ => Some(Dim::DimValue(c.int())),
                    };
                }
                _ => {}
            }
        }
    }
}

fn node(g: &mut GraphProto, c: &mut Choices<'_>) {
    let all = names(g);
    let nn = g.node.len();
    if nn == 0 {
        return;
    }
    let i = c.below(nn);
    let n = &mut g.node[i];
    match c.byte() % 12 {
        0 => n.op_type = c.pick(OPS).map(|s| s.to_string()),
        1 => {
            n.domain = c
                .pick(&["", "ai.onnx", "com.microsoft"])
                .map(|s| s.to_string())
        }
        2 if !n.input.is_empty() => {
            let k = c.below(n.input.len());
            n.input[k] = c.pick(&all).cloned().unwrap_or_default();
        }
        3 => n.input.push(c.pick(&all).cloned().unwrap_or_default()),
        4 => {
            n.input.pop();
        }
        5 if !n.output.is_empty() => {
            let k = c.below(n.output.len());
            n.output[k] = c.pick(&all).cloned().unwrap_or_default();
        }
        6 => n.output.push(format!("extra{}", c.byte())),
        7 if n.input.len() >= 2 => {
            let a = c.below(n.input.len());
            let b = c.below(n.input.len());
            n.input.swap(a, b);
        }
        8 if !n.attribute.is_empty() => {
            let k = c.below(n.attribute.len());
            attribute(&mut n.attribute[k], c);
        }
        9 => n.attribute.push(new_attribute(c)),
        10 if !n.attribute.is_empty() => {
            let k = c.below(n.attribute.len());
            n.attribute.remove(k);
        }
        _ => {
            // Swap the first input names of this node and another.
            let j = c.below(nn);
            if i != j && !g.node[i].input.is_empty() && !g.node[j].input.is_empty() {
                let a = std::mem::take(&mut g.node[i].input[0]);
                let b = std::mem::replace(&mut g.node[j].input[0], a);
                g.node[i].input[0] = b;
            }
        }
    }
}

/// A new node of a chosen operator reading existing tensors; its output may become a graph
/// output.
fn insert_node(g: &mut GraphProto, c: &mut Choices<'_>) {
    let all = names(g);
    let op = c.pick(OPS).copied().unwrap_or("Relu");
    let k = c.below(4);
    let input: Vec<String> = (0..k)
        .map(|_| c.pick(&all).cloned().unwrap_or_default())
        .collect();
    let out = format!("fz{}", g.node.len());
    let mut attribute = Vec::new();
    for _ in 0..c.below(3) {
        attribute.push(new_attribute(c));
    }
    let n = NodeProto {
        input,
        output: vec![out.clone()],
        name: Some(out.clone()),
        op_type: Some(op.to_string()),
        domain: None,
        attribute,
    };
    let at = c.below(g.node.len() + 1);
    g.node.insert(at, n);
    if c.flip() {
        g.output.push(ValueInfoProto {
            name: Some(out),
            r#type: Some(onnx_pb::TypeProto {
                value: Some(TypeValue::TensorType(onnx_pb::type_proto::Tensor {
                    elem_type: Some(1),
                    shape: None,
                })),
            }),
        });
    }
}

fn mutate(m: &mut ModelProto, c: &mut Choices<'_>) {
    let op = c.byte() % 20;
    match op {
        0 => m.ir_version = Some(*c.pick(&[1, 3, 4, 7, 8, 10, 14, 15, -1]).unwrap_or(&7)),
        1 => {
            let v = *c
                .pick(&[
                    1,
                    6,
                    7,
                    9,
                    10,
                    11,
                    12,
                    13,
                    17,
                    18,
                    21,
                    22,
                    28,
                    29,
                    -1,
                    i64::MAX,
                ])
                .unwrap_or(&13);
            match m.opset_import.first_mut() {
                Some(o) => o.version = Some(v),
                None => m.opset_import.push(onnx_pb::OperatorSetIdProto {
                    domain: None,
                    version: Some(v),
                }),
            }
        }
        2 => {
            if let Some(o) = m.opset_import.first_mut() {
                o.domain = c
                    .pick(&["", "ai.onnx", "ai.onnx.ml"])
                    .map(|s| s.to_string());
            }
            if c.flip() {
                m.opset_import.push(onnx_pb::OperatorSetIdProto {
                    domain: Some(String::new()),
                    version: Some(c.int()),
                });
            }
        }
        _ => {
            let Some(g) = m.graph.as_mut() else {
                m.graph = Some(GraphProto::default());
                return;
            };
            match op {
                3 | 4 => node(g, c),
                5 | 6 => insert_node(g, c),
                7 if !g.node.is_empty() => {
                    let a = c.below(g.node.len());
                    let b = c.below(g.node.len());
                    g.node.swap(a, b);
                }
                8 if !g.node.is_empty() => {
                    let a = c.below(g.node.len());
                    if c.flip() {
                        g.node.remove(a);
                    } else {
                        let dup = g.node[a].clone();
                        g.node.insert(a, dup);
                    }
                }
                9 | 10 if !g.initializer.is_empty() => {
                    let i = c.below(g.initializer.len());
                    tensor_dims(&mut g.initializer[i], c);
                }
                11 | 12 if !g.initializer.is_empty() => {
                    let i = c.below(g.initializer.len());
                    tensor_data(&mut g.initializer[i], c);
                }
                13 if !g.initializer.is_empty() => {
                    let i = c.below(g.initializer.len());
                    g.initializer[i].data_type = Some(c.data_type());
                }
                14 => {
                    if !g.initializer.is_empty() && c.flip() {
                        let i = c.below(g.initializer.len());
                        if c.flip() {
                            g.initializer.remove(i);
                        } else {
                            let dup = g.initializer[i].clone();
                            g.initializer.push(dup);
                        }
                    } else {
                        // A new initializer, possibly named like an existing tensor.
                        let all = names(g);
                        let name = match c.byte() % 2 {
                            0 => c.pick(&all).cloned().unwrap_or_default(),
                            _ => format!("init{}", g.initializer.len()),
                        };
                        let t = new_tensor(name, c);
                        g.initializer.push(t);
                    }
                }
                15 | 16 => {
                    let list = if c.flip() {
                        &mut g.input
                    } else {
                        &mut g.output
                    };
                    if !list.is_empty() {
                        let i = c.below(list.len());
                        value_info(&mut list[i], c);
                    }
                }
                17 => {
                    let all = names(g);
                    let list = if c.flip() {
                        &mut g.input
                    } else {
                        &mut g.output
                    };
                    match c.byte() % 3 {
                        0 if !list.is_empty() => {
                            let i = c.below(list.len());
                            list.remove(i);
                        }
                        1 if !list.is_empty() => {
                            let i = c.below(list.len());
                            let dup = list[i].clone();
                            list.push(dup);
                        }
                        _ if !list.is_empty() => {
                            let i = c.below(list.len());
                            list[i].name = c.pick(&all).cloned();
                        }
                        _ => {}
                    }
                }
                _ => {
                    // A Constant node whose output replaces one input of a node.
                    let out = format!("const{}", g.node.len());
                    let t = new_tensor(String::new(), c);
                    let n = NodeProto {
                        input: vec![],
                        output: vec![out.clone()],
                        name: Some(out.clone()),
                        op_type: Some("Constant".into()),
                        domain: None,
                        attribute: vec![AttributeProto {
                            name: Some("value".into()),
                            r#type: Some(4),
                            t: Some(t),
                            ..Default::default()
                        }],
                    };
                    if !g.node.is_empty() {
                        let j = c.below(g.node.len());
                        if !g.node[j].input.is_empty() {
                            let k = c.below(g.node[j].input.len());
                            g.node[j].input[k] = out;
                        }
                    }
                    g.node.insert(0, n);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Choices { data, pos: 0 };
    let seed = SEEDS[c.below(SEEDS.len())];
    let seed = if seed.is_empty() { SEEDS[2] } else { seed };
    let mut m = ModelProto::decode(seed).expect("an embedded seed decodes");
    let steps = 1 + c.below(16);
    for _ in 0..steps {
        if !c.more() {
            break;
        }
        mutate(&mut m, &mut c);
    }
    let bytes = m.encode_to_vec();
    // Input values from what the mutations did not use.
    let rest = data.get(c.pos..).unwrap_or(&[]);
    common::load_and_run(&bytes, rest);
});
