//! The in-place reader (`rtonnx::decode::decode_model`) and the prost reference decoder
//! (`rtonnx::decode::reference`, generated from `proto/onnx.proto`) must agree on every input:
//! both refuse it, or both accept it with the same content. Inputs: the two keras2onnx models,
//! every truncation of them, and deterministic random mutations.

mod support;

use std::fmt::Write;

use rtonnx::decode::model::{DimDesc, FloatData, ModelDesc, TensorDesc};
use rtonnx::decode::reference::onnx_pb;

fn floats_of(fd: &FloatData<'_>) -> Vec<u32> {
    (0..fd.len())
        .map(|i| fd.get(i).unwrap().to_bits())
        .collect()
}

fn tensor_mine(t: &TensorDesc<'_>, s: &mut String) {
    write!(
        s,
        "T[{} {:?} {} raw={:?} f={:?} i32={:?} i64={:?} loc={}]",
        t.name,
        t.dims.iter().collect::<Vec<_>>(),
        t.data_type,
        t.raw_data,
        floats_of(&t.float_data),
        t.int32_data,
        t.int64_data,
        t.data_location
    )
    .unwrap();
}

fn tensor_ref(t: &onnx_pb::TensorProto, s: &mut String) {
    write!(
        s,
        "T[{} {:?} {} raw={:?} f={:?} i32={:?} i64={:?} loc={}]",
        t.name(),
        t.dims,
        t.data_type(),
        t.raw_data.as_deref(),
        t.float_data.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
        t.int32_data,
        t.int64_data,
        t.data_location.unwrap_or(0)
    )
    .unwrap();
}

fn canon_mine(m: &ModelDesc<'_>) -> String {
    let mut s = String::new();
    write!(
        s,
        "ir={} prod={} {} ops=",
        m.ir_version, m.producer_name, m.producer_version
    )
    .unwrap();
    for o in &m.opsets {
        write!(s, "({},{})", o.domain, o.version).unwrap();
    }
    if let Some(g) = &m.graph {
        write!(s, " G[{}]", g.name).unwrap();
        for n in g.nodes() {
            write!(
                s,
                " N[{} {} {} {:?} {:?}",
                n.op_type, n.name, n.domain, n.inputs, n.outputs
            )
            .unwrap();
            for a in n.attributes {
                write!(
                    s,
                    " A[{} {} {:?} {:?} {:?} {:?} {:?} {}",
                    a.name,
                    a.kind,
                    a.f.map(f32::to_bits),
                    a.i,
                    a.s,
                    n.ints(a),
                    n.floats(a).iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                    a.ref_attr_name
                )
                .unwrap();
                if let Some(t) = &a.t {
                    tensor_mine(t, &mut s);
                }
                s.push(']');
            }
            s.push(']');
        }
        for t in &g.initializers {
            tensor_mine(t, &mut s);
        }
        for (tag, list) in [("I", &g.inputs), ("O", &g.outputs)] {
            for v in list {
                write!(s, " {tag}[{} {} ", v.name, v.elem_type).unwrap();
                match &v.shape {
                    None => s.push('-'),
                    Some(dims) => {
                        for d in dims {
                            match d {
                                DimDesc::Value(x) => write!(s, "v{x},").unwrap(),
                                DimDesc::Param(p) => write!(s, "p{p},").unwrap(),
                                DimDesc::Unknown => s.push_str("?,"),
                            }
                        }
                    }
                }
                s.push(']');
            }
        }
    }
    s
}

fn canon_ref(m: &onnx_pb::ModelProto) -> String {
    let mut s = String::new();
    write!(
        s,
        "ir={} prod={} {} ops=",
        m.ir_version(),
        m.producer_name(),
        m.producer_version()
    )
    .unwrap();
    for o in &m.opset_import {
        write!(s, "({},{})", o.domain(), o.version()).unwrap();
    }
    if let Some(g) = &m.graph {
        write!(s, " G[{}]", g.name()).unwrap();
        for n in &g.node {
            write!(
                s,
                " N[{} {} {} {:?} {:?}",
                n.op_type(),
                n.name(),
                n.domain(),
                n.input,
                n.output
            )
            .unwrap();
            for a in &n.attribute {
                write!(
                    s,
                    " A[{} {} {:?} {:?} {:?} {:?} {:?} {}",
                    a.name(),
                    a.r#type.unwrap_or(0),
                    a.f.map(f32::to_bits),
                    a.i,
                    a.s.as_deref(),
                    a.ints,
                    a.floats.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                    a.ref_attr_name()
                )
                .unwrap();
                if let Some(t) = &a.t {
                    tensor_ref(t, &mut s);
                }
                s.push(']');
            }
            s.push(']');
        }
        for t in &g.initializer {
            tensor_ref(t, &mut s);
        }
        for (tag, list) in [("I", &g.input), ("O", &g.output)] {
            for v in list {
                let tt = v
                    .r#type
                    .as_ref()
                    .and_then(|t| t.value.as_ref())
                    .map(|v| match v {
                        onnx_pb::type_proto::Value::TensorType(tt) => tt,
                    });
                write!(
                    s,
                    " {tag}[{} {} ",
                    v.name(),
                    tt.map_or(0, |t| t.elem_type())
                )
                .unwrap();
                match tt.and_then(|t| t.shape.as_ref()) {
                    None => s.push('-'),
                    Some(shape) => {
                        for d in &shape.dim {
                            use onnx_pb::tensor_shape_proto::dimension::Value;
                            match &d.value {
                                Some(Value::DimValue(x)) => write!(s, "v{x},").unwrap(),
                                Some(Value::DimParam(p)) => write!(s, "p{p},").unwrap(),
                                None => s.push_str("?,"),
                            }
                        }
                    }
                }
                s.push(']');
            }
        }
    }
    s
}

/// Returns true when both decoders accepted.
fn agree(bytes: &[u8]) -> bool {
    let mine = rtonnx::decode::decode_model(bytes);
    let reference = rtonnx::decode::reference::decode_model(bytes);
    match (&mine, &reference) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                canon_mine(a),
                canon_ref(b),
                "content differs for input {:02x?}",
                bytes
            );
            true
        }
        (Err(_), Err(_)) => false,
        (a, b) => {
            let path = std::env::temp_dir().join("rtonnx-decode-disagreement.bin");
            std::fs::write(&path, bytes).unwrap();
            let detail = <onnx_pb::ModelProto as prost::Message>::decode(bytes).err();
            panic!(
                "decoders disagree: in-place {:?}, prost {:?} ({detail:?}); input saved to {}",
                a.as_ref().err(),
                b.as_ref().err(),
                path.display()
            )
        }
    }
}

fn models() -> Vec<Vec<u8>> {
    let dir = support::shared_dir().join("models/keras2onnx");
    ["mnist-sm.onnx", "mnist-lg.onnx"]
        .iter()
        .map(|m| std::fs::read(dir.join(m)).unwrap())
        .collect()
}

#[test]
fn agree_on_the_models_and_every_truncation() {
    for b in models() {
        assert!(agree(&b));
        for cut in 1..b.len() {
            agree(&b[..cut]);
        }
    }
}

#[test]
fn agree_on_random_mutations() {
    let mut x: u64 = 0x0123_4567_89ab_cdef;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let base = models();
    let (mut accepted, mut total) = (0, 0);
    for i in 0..20000 {
        let mut b = base[i % 2].clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % b.len() as u64) as usize;
            match next() % 4 {
                0 => b[at] ^= 1 << (next() % 8),
                1 => b[at] = next() as u8,
                2 => b.insert(at, next() as u8),
                _ => {
                    b.remove(at);
                }
            }
        }
        total += 1;
        accepted += usize::from(agree(&b));
    }
    println!(
        "{accepted} of {total} mutated models accepted by both decoders, the rest refused by both"
    );
}

#[test]
fn agree_on_groups_and_unknown_fields() {
    // An unknown group field (field 99, nested group inside) before a real model.
    let mut b = vec![0x9b, 0x06, 0x0b, 0x10, 0x01, 0x0c, 0x9c, 0x06];
    b.extend_from_slice(&models()[0]);
    assert!(agree(&b));
    // An unmatched end group.
    let mut bad = vec![0x9c, 0x06];
    bad.extend_from_slice(&models()[0]);
    assert!(!agree(&bad));
}
