//! Arbitrary bytes into both ONNX decoders: the in-place reader the device uses
//! (`rtonnx::decode::decode_model`) and the prost reference decoder
//! (`rtonnx::decode::reference::decode_model`). They must agree: both refuse the input, or
//! both accept it with the same content (every field the engine reads, floats compared bit
//! for bit). The comparison mirrors `tests/decode_differential.rs`: each side is turned into
//! the same plain-data form and the two are compared.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtonnx::decode::model::{
    AttributeDesc, DimDesc, FloatData, GraphDesc, ModelDesc, Node as NodeView, TensorDesc,
    ValueInfoDesc,
};
use rtonnx::decode::reference::onnx_pb;

/// Plain data both decoders are mapped to.
#[derive(Debug, PartialEq)]
struct Model {
    ir_version: i64,
    producer: (String, String),
    opsets: Vec<(String, i64)>,
    graph: Option<Graph>,
}

#[derive(Debug, PartialEq)]
struct Graph {
    name: String,
    nodes: Vec<Node>,
    initializers: Vec<Tensor>,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
}

#[derive(Debug, PartialEq)]
struct Node {
    op_type: String,
    name: String,
    domain: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    attributes: Vec<Attribute>,
}

#[derive(Debug, PartialEq)]
struct Attribute {
    name: String,
    kind: i32,
    f: Option<u32>,
    i: Option<i64>,
    s: Option<Vec<u8>>,
    t: Option<Tensor>,
    ints: Vec<i64>,
    floats: Vec<u32>,
    ref_attr_name: String,
}

#[derive(Debug, PartialEq)]
struct Tensor {
    name: String,
    dims: Vec<i64>,
    data_type: i32,
    raw_data: Option<Vec<u8>>,
    floats: Vec<u32>,
    int32_data: Vec<i32>,
    int64_data: Vec<i64>,
    data_location: i32,
}

#[derive(Debug, PartialEq)]
enum Dim {
    Value(i64),
    Param(String),
    Unknown,
}

#[derive(Debug, PartialEq)]
struct Value {
    name: String,
    elem_type: i32,
    shape: Option<Vec<Dim>>,
}

fn bits(v: impl IntoIterator<Item = f32>) -> Vec<u32> {
    v.into_iter().map(f32::to_bits).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---- the in-place reader's views ----

fn float_data(fd: &FloatData<'_>) -> Vec<u32> {
    (0..fd.len())
        .map(|i| fd.get(i).map_or(u32::MAX, f32::to_bits))
        .collect()
}

fn tensor_mine(t: &TensorDesc<'_>) -> Tensor {
    Tensor {
        name: t.name.to_string(),
        dims: t.dims.iter().collect(),
        data_type: t.data_type,
        raw_data: t.raw_data.map(<[u8]>::to_vec),
        floats: float_data(&t.float_data),
        int32_data: t.int32_data.clone(),
        int64_data: t.int64_data.clone(),
        data_location: t.data_location,
    }
}

fn attribute_mine(n: &NodeView<'_, '_>, a: &AttributeDesc<'_>) -> Attribute {
    Attribute {
        name: a.name.to_string(),
        kind: a.kind,
        f: a.f.map(f32::to_bits),
        i: a.i,
        s: a.s.map(<[u8]>::to_vec),
        t: a.t.as_deref().map(tensor_mine),
        ints: n.ints(a).to_vec(),
        floats: bits(n.floats(a).iter().copied()),
        ref_attr_name: a.ref_attr_name.to_string(),
    }
}

fn value_mine(v: &ValueInfoDesc<'_>) -> Value {
    Value {
        name: v.name.to_string(),
        elem_type: v.elem_type,
        shape: v.shape.as_ref().map(|dims| {
            dims.iter()
                .map(|d| match d {
                    DimDesc::Value(x) => Dim::Value(*x),
                    DimDesc::Param(p) => Dim::Param(p.to_string()),
                    DimDesc::Unknown => Dim::Unknown,
                })
                .collect()
        }),
    }
}

fn graph_mine(g: &GraphDesc<'_>) -> Graph {
    Graph {
        name: g.name.to_string(),
        nodes: g
            .nodes()
            .map(|n| Node {
                op_type: n.op_type.to_string(),
                name: n.name.to_string(),
                domain: n.domain.to_string(),
                inputs: strings(n.inputs),
                outputs: strings(n.outputs),
                attributes: n.attributes.iter().map(|a| attribute_mine(&n, a)).collect(),
            })
            .collect(),
        initializers: g.initializers.iter().map(tensor_mine).collect(),
        inputs: g.inputs.iter().map(value_mine).collect(),
        outputs: g.outputs.iter().map(value_mine).collect(),
    }
}

fn model_mine(m: &ModelDesc<'_>) -> Model {
    Model {
        ir_version: m.ir_version,
        producer: (m.producer_name.to_string(), m.producer_version.to_string()),
        opsets: m
            .opsets
            .iter()
            .map(|o| (o.domain.to_string(), o.version))
            .collect(),
        graph: m.graph.as_ref().map(graph_mine),
    }
}

// ---- prost's messages ----

fn tensor_ref(t: &onnx_pb::TensorProto) -> Tensor {
    Tensor {
        name: t.name().to_string(),
        dims: t.dims.clone(),
        data_type: t.data_type(),
        raw_data: t.raw_data.clone(),
        floats: bits(t.float_data.iter().copied()),
        int32_data: t.int32_data.clone(),
        int64_data: t.int64_data.clone(),
        data_location: t.data_location.unwrap_or(0),
    }
}

fn attribute_ref(a: &onnx_pb::AttributeProto) -> Attribute {
    Attribute {
        name: a.name().to_string(),
        kind: a.r#type.unwrap_or(0),
        f: a.f.map(f32::to_bits),
        i: a.i,
        s: a.s.clone(),
        t: a.t.as_ref().map(tensor_ref),
        ints: a.ints.clone(),
        floats: bits(a.floats.iter().copied()),
        ref_attr_name: a.ref_attr_name().to_string(),
    }
}

fn value_ref(v: &onnx_pb::ValueInfoProto) -> Value {
    use onnx_pb::tensor_shape_proto::dimension::Value as D;
    let tt = v
        .r#type
        .as_ref()
        .and_then(|t| t.value.as_ref())
        .map(|onnx_pb::type_proto::Value::TensorType(tt)| tt);
    Value {
        name: v.name().to_string(),
        elem_type: tt.map_or(0, |t| t.elem_type()),
        shape: tt.and_then(|t| t.shape.as_ref()).map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(D::DimValue(x)) => Dim::Value(*x),
                    Some(D::DimParam(p)) => Dim::Param(p.clone()),
                    None => Dim::Unknown,
                })
                .collect()
        }),
    }
}

fn graph_ref(g: &onnx_pb::GraphProto) -> Graph {
    Graph {
        name: g.name().to_string(),
        nodes: g
            .node
            .iter()
            .map(|n| Node {
                op_type: n.op_type().to_string(),
                name: n.name().to_string(),
                domain: n.domain().to_string(),
                inputs: n.input.clone(),
                outputs: n.output.clone(),
                attributes: n.attribute.iter().map(attribute_ref).collect(),
            })
            .collect(),
        initializers: g.initializer.iter().map(tensor_ref).collect(),
        inputs: g.input.iter().map(value_ref).collect(),
        outputs: g.output.iter().map(value_ref).collect(),
    }
}

fn model_ref(m: &onnx_pb::ModelProto) -> Model {
    Model {
        ir_version: m.ir_version(),
        producer: (
            m.producer_name().to_string(),
            m.producer_version().to_string(),
        ),
        opsets: m
            .opset_import
            .iter()
            .map(|o| (o.domain().to_string(), o.version()))
            .collect(),
        graph: m.graph.as_ref().map(graph_ref),
    }
}

fuzz_target!(|data: &[u8]| {
    let mine = rtonnx::decode::decode_model(data);
    let reference = rtonnx::decode::reference::decode_model(data);
    match (&mine, &reference) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (model_mine(a), model_ref(b));
            assert!(a == b, "content differs:\nin-place {a:?}\nprost    {b:?}");
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "decoders disagree: in-place {:?}, prost {:?} ({:?})",
            a.as_ref().err(),
            b.as_ref().err(),
            <onnx_pb::ModelProto as prost::Message>::decode(data).err()
        ),
    }
});
