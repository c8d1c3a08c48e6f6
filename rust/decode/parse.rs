//! The reader that fills the views of [`super::model`] from the protobuf wire format, in
//! place: a counting pass reserves every pool exactly, then one pass merges the fields.

use alloc::vec::Vec;

use super::model::*;
use super::wire::{expect, f32_le, utf8, Reader, WireType};
use crate::error::{err, ErrorCode, Result};

fn push<T>(v: &mut Vec<T>, x: T) -> Result<()> {
    v.try_reserve(1)?;
    v.push(x);
    Ok(())
}

/// Counts the length-delimited occurrences of each of `fields` in a message, so repeated
/// fields can be reserved exactly before they are read: no growth by doubling, no slack
/// left in what the decoder and compiler keep (heap is the scarcest resource on the device).
fn count_fields<const N: usize>(bytes: &[u8], fields: [u32; N]) -> Result<[usize; N]> {
    let mut counts = [0usize; N];
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        if wire == WireType::Len {
            if let Some(i) = fields.iter().position(|&f| f == field) {
                if let Some(c) = counts.get_mut(i) {
                    *c = c.saturating_add(1);
                }
            }
        }
        r.skip_field(field, wire)?;
    }
    Ok(counts)
}

/// Reserves room for exactly `n` more elements (fallibly).
fn reserve<T>(v: &mut Vec<T>, n: usize) -> Result<()> {
    v.try_reserve_exact(n)?;
    Ok(())
}

/// Reads a repeated int64/int32 field element(s), packed or not, converting with `conv`.
fn repeated_varint<T>(
    r: &mut Reader<'_>,
    wire: WireType,
    out: &mut Vec<T>,
    conv: fn(u64) -> T,
) -> Result<()> {
    match wire {
        WireType::Varint => push(out, conv(r.varint()?)),
        WireType::Len => {
            let bytes = r.bytes()?;
            // A varint ends at each byte without the continuation bit: exact count, bounded
            // by the bytes (a malformed last varint is refused below).
            let count = bytes.iter().filter(|&&b| b & 0x80 == 0).count();
            out.try_reserve_exact(count)?;
            let mut inner = Reader::new(bytes);
            while !inner.is_empty() {
                push(out, conv(inner.varint()?))?;
            }
            Ok(())
        }
        _ => Err(err(ErrorCode::Malformed, "field has the wrong wire type")),
    }
}

fn repeated_f32(r: &mut Reader<'_>, wire: WireType, out: &mut Vec<f32>) -> Result<()> {
    match wire {
        WireType::Fixed32 => push(out, f32::from_bits(r.fixed32()?)),
        WireType::Len => {
            let bytes = r.bytes()?;
            if bytes.len() % 4 != 0 {
                return Err(err(
                    ErrorCode::Malformed,
                    "packed floats not a multiple of 4",
                ));
            }
            out.try_reserve_exact(bytes.len() / 4)?;
            out.extend(bytes.chunks_exact(4).map(f32_le));
            Ok(())
        }
        _ => Err(err(ErrorCode::Malformed, "field has the wrong wire type")),
    }
}

pub(super) const fn as_i64(v: u64) -> i64 {
    v as i64
}
const fn as_i32(v: u64) -> i32 {
    v as i32
}

fn merge_float_data<'a>(fd: &mut FloatData<'a>, r: &mut Reader<'a>, wire: WireType) -> Result<()> {
    if wire == WireType::Len && matches!(fd, FloatData::None) {
        let bytes = r.bytes()?;
        if bytes.len() % 4 != 0 {
            return Err(err(
                ErrorCode::Malformed,
                "packed floats not a multiple of 4",
            ));
        }
        *fd = FloatData::Packed(bytes);
        return Ok(());
    }
    let mut values = match core::mem::take(fd) {
        FloatData::None => Vec::new(),
        FloatData::Packed(b) => {
            let mut v = Vec::new();
            v.try_reserve(b.len() / 4)?;
            v.extend(b.chunks_exact(4).map(f32_le));
            v
        }
        FloatData::Values(v) => v,
    };
    repeated_f32(r, wire, &mut values)?;
    *fd = FloatData::Values(values);
    Ok(())
}

/// Checks one `dims` field (a dim, or a packed run of them); how many it holds.
fn check_dims(r: &mut Reader<'_>, wire: WireType) -> Result<usize> {
    match wire {
        WireType::Varint => r.varint().map(|_| 1),
        WireType::Len => {
            let mut inner = Reader::new(r.bytes()?);
            let mut n = 0usize;
            while !inner.is_empty() {
                inner.varint()?;
                n += 1;
            }
            Ok(n)
        }
        _ => Err(err(ErrorCode::Malformed, "field has the wrong wire type")),
    }
}

/// Merges a serialized `TensorProto` into `t`.
pub fn merge_tensor<'a>(t: &mut TensorDesc<'a>, bytes: &'a [u8]) -> Result<()> {
    let mut dims = 0usize;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => dims = dims.saturating_add(check_dims(&mut r, wire)?),
            2 => {
                expect(wire, WireType::Varint)?;
                t.data_type = as_i32(r.varint()?);
            }
            4 => merge_float_data(&mut t.float_data, &mut r, wire)?,
            5 => repeated_varint(&mut r, wire, &mut t.int32_data, as_i32)?,
            7 => repeated_varint(&mut r, wire, &mut t.int64_data, as_i64)?,
            8 => {
                expect(wire, WireType::Len)?;
                t.name = utf8(r.bytes()?)?;
            }
            9 => {
                expect(wire, WireType::Len)?;
                t.raw_data = Some(r.bytes()?);
            }
            // string_data, double_data, uint64_data: not read (their types are refused).
            6 | 10 | 11 => {
                r.skip_field(field, wire)?;
                t.other_data = t.other_data.saturating_add(1);
            }
            14 => {
                expect(wire, WireType::Varint)?;
                t.data_location = as_i32(r.varint()?);
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    if dims == 0 {
        return Ok(());
    }
    if t.dims.is_empty() {
        t.dims = Dims::InPlace {
            msg: bytes,
            len: dims,
        };
        return Ok(());
    }
    // A second message with dims (a tensor field merged twice): the dims are appended.
    let mut all = Vec::new();
    all.try_reserve_exact(t.dims.len().saturating_add(dims))?;
    all.extend(t.dims.iter());
    all.extend(
        Dims::InPlace {
            msg: bytes,
            len: dims,
        }
        .iter(),
    );
    t.dims = Dims::Values(all);
    Ok(())
}

fn merge_dim<'a>(d: &mut DimDesc<'a>, bytes: &'a [u8]) -> Result<()> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Varint)?;
                *d = DimDesc::Value(as_i64(r.varint()?));
            }
            2 => {
                expect(wire, WireType::Len)?;
                *d = DimDesc::Param(utf8(r.bytes()?)?);
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(())
}

fn merge_shape<'a>(shape: &mut Vec<DimDesc<'a>>, bytes: &'a [u8]) -> Result<()> {
    let [dims] = count_fields(bytes, [1])?;
    reserve(shape, dims)?;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        if field == 1 {
            expect(wire, WireType::Len)?;
            let mut d = DimDesc::Unknown;
            merge_dim(&mut d, r.bytes()?)?;
            push(shape, d)?;
        } else {
            r.skip_field(field, wire)?;
        }
    }
    Ok(())
}

fn merge_tensor_type<'a>(v: &mut ValueInfoDesc<'a>, bytes: &'a [u8]) -> Result<()> {
    v.is_tensor = true;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Varint)?;
                v.elem_type = as_i32(r.varint()?);
            }
            2 => {
                expect(wire, WireType::Len)?;
                let bytes = r.bytes()?;
                let shape = v.shape.get_or_insert_with(Vec::new);
                merge_shape(shape, bytes)?;
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(())
}

fn merge_type<'a>(v: &mut ValueInfoDesc<'a>, bytes: &'a [u8]) -> Result<()> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                merge_tensor_type(v, r.bytes()?)?;
            }
            // sequence_type, map_type, sparse_tensor_type, optional_type
            4 | 5 | 8 | 9 => {
                r.skip_field(field, wire)?;
                v.is_other_type = true;
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(())
}

fn merge_value_info<'a>(v: &mut ValueInfoDesc<'a>, bytes: &'a [u8]) -> Result<()> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                v.name = utf8(r.bytes()?)?;
            }
            2 => {
                expect(wire, WireType::Len)?;
                merge_type(v, r.bytes()?)?;
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(())
}

/// Merges a serialized `AttributeProto` into `a`, appending its lists to the pools (nothing
/// else is appended to them meanwhile, so each list is one contiguous span).
fn merge_attribute<'a>(
    a: &mut AttributeDesc<'a>,
    bytes: &'a [u8],
    ints: &mut Vec<i64>,
    floats: &mut Vec<f32>,
) -> Result<()> {
    let (ints_start, floats_start) = (ints.len(), floats.len());
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                a.name = utf8(r.bytes()?)?;
            }
            2 => {
                expect(wire, WireType::Fixed32)?;
                a.f = Some(f32::from_bits(r.fixed32()?));
            }
            3 => {
                expect(wire, WireType::Varint)?;
                a.i = Some(as_i64(r.varint()?));
            }
            4 => {
                expect(wire, WireType::Len)?;
                a.s = Some(r.bytes()?);
            }
            5 => {
                expect(wire, WireType::Len)?;
                let bytes = r.bytes()?;
                if a.t.is_none() {
                    a.t = Some(TensorBox::new(TensorDesc::default())?);
                }
                if let Some(t) = a.t.as_deref_mut() {
                    merge_tensor(t, bytes)?;
                }
            }
            // A subgraph (If, Loop, Scan): not read, those operators are refused.
            6 => {
                r.skip_field(field, wire)?;
                a.has_graph = true;
            }
            7 => repeated_f32(&mut r, wire, floats)?,
            8 => repeated_varint(&mut r, wire, ints, as_i64)?,
            9..=11 | 22 | 23 | 14 | 15 => {
                r.skip_field(field, wire)?;
                a.other_lists = a.other_lists.saturating_add(1);
            }
            20 => {
                expect(wire, WireType::Varint)?;
                a.kind = as_i32(r.varint()?);
            }
            21 => {
                expect(wire, WireType::Len)?;
                a.ref_attr_name = utf8(r.bytes()?)?;
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    a.ints = Span::new(ints_start, ints.len())?;
    a.floats = Span::new(floats_start, floats.len())?;
    Ok(())
}

/// What a graph message holds, counted before it is read so every list and pool is reserved
/// exactly (no growth by doubling, no slack).
#[derive(Default)]
struct GraphCounts {
    nodes: usize,
    initializers: usize,
    inputs: usize,
    outputs: usize,
    node_inputs: usize,
    node_outputs: usize,
    attributes: usize,
    ints: usize,
    floats: usize,
}

fn add(c: &mut usize, n: usize) {
    *c = c.saturating_add(n);
}

/// Counts the ints and floats of a serialized `AttributeProto` (packed runs by their bytes).
fn count_attribute(c: &mut GraphCounts, bytes: &[u8]) -> Result<()> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (7, WireType::Len) => add(&mut c.floats, r.bytes()?.len() / 4),
            (8, WireType::Len) => {
                let b = r.bytes()?;
                add(&mut c.ints, b.iter().filter(|&&b| b & 0x80 == 0).count());
            }
            (7, WireType::Fixed32) => {
                add(&mut c.floats, 1);
                r.take(4)?;
            }
            (8, WireType::Varint) => {
                add(&mut c.ints, 1);
                r.varint()?;
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(())
}

/// Counts the lists of a serialized `NodeProto`.
fn count_node(c: &mut GraphCounts, bytes: &[u8]) -> Result<()> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        if wire != WireType::Len {
            r.skip_field(field, wire)?;
            continue;
        }
        let b = r.bytes()?;
        match field {
            1 => add(&mut c.node_inputs, 1),
            2 => add(&mut c.node_outputs, 1),
            5 => {
                add(&mut c.attributes, 1);
                count_attribute(c, b)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Counts the lists of a serialized `GraphProto`, nodes' lists included.
fn count_graph(bytes: &[u8]) -> Result<GraphCounts> {
    let mut c = GraphCounts::default();
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        if wire != WireType::Len {
            r.skip_field(field, wire)?;
            continue;
        }
        let b = r.bytes()?;
        match field {
            1 => {
                add(&mut c.nodes, 1);
                count_node(&mut c, b)?;
            }
            5 => add(&mut c.initializers, 1),
            11 => add(&mut c.inputs, 1),
            12 => add(&mut c.outputs, 1),
            _ => {}
        }
    }
    Ok(c)
}

/// Reads a serialized `NodeProto` into `n`, appending its lists to the pools (one node at a
/// time, so each list is one contiguous span).
fn merge_node<'a>(n: &mut NodeDesc<'a>, p: &mut NodePools<'a>, bytes: &'a [u8]) -> Result<()> {
    let (inputs, outputs, attributes) = (p.inputs.len(), p.outputs.len(), p.attributes.len());
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                push(&mut p.inputs, utf8(r.bytes()?)?)?;
            }
            2 => {
                expect(wire, WireType::Len)?;
                push(&mut p.outputs, utf8(r.bytes()?)?)?;
            }
            3 => {
                expect(wire, WireType::Len)?;
                n.name = utf8(r.bytes()?)?;
            }
            4 => {
                expect(wire, WireType::Len)?;
                n.op_type = utf8(r.bytes()?)?;
            }
            5 => {
                expect(wire, WireType::Len)?;
                let bytes = r.bytes()?;
                // Built in place: an attribute is large, moving it costs a copy.
                push(&mut p.attributes, AttributeDesc::default())?;
                if let Some(a) = p.attributes.last_mut() {
                    merge_attribute(a, bytes, &mut p.ints, &mut p.floats)?;
                }
            }
            7 => {
                expect(wire, WireType::Len)?;
                n.domain = utf8(r.bytes()?)?;
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    n.inputs = Span::new(inputs, p.inputs.len())?;
    n.outputs = Span::new(outputs, p.outputs.len())?;
    n.attributes = Span::new(attributes, p.attributes.len())?;
    Ok(())
}

fn merge_graph<'a>(g: &mut GraphDesc<'a>, bytes: &'a [u8]) -> Result<()> {
    let c = count_graph(bytes)?;
    reserve(&mut g.nodes, c.nodes)?;
    reserve(&mut g.initializers, c.initializers)?;
    reserve(&mut g.inputs, c.inputs)?;
    reserve(&mut g.outputs, c.outputs)?;
    reserve(&mut g.pools.inputs, c.node_inputs)?;
    reserve(&mut g.pools.outputs, c.node_outputs)?;
    reserve(&mut g.pools.attributes, c.attributes)?;
    reserve(&mut g.pools.ints, c.ints)?;
    reserve(&mut g.pools.floats, c.floats)?;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                let bytes = r.bytes()?;
                let mut n = NodeDesc::default();
                merge_node(&mut n, &mut g.pools, bytes)?;
                push(&mut g.nodes, n)?;
            }
            2 => {
                expect(wire, WireType::Len)?;
                g.name = utf8(r.bytes()?)?;
            }
            5 => {
                expect(wire, WireType::Len)?;
                let bytes = r.bytes()?;
                // Built in place: a tensor is large, moving it costs a copy.
                push(&mut g.initializers, TensorDesc::default())?;
                if let Some(t) = g.initializers.last_mut() {
                    merge_tensor(t, bytes)?;
                }
            }
            11 | 12 => {
                expect(wire, WireType::Len)?;
                let bytes = r.bytes()?;
                let list = if field == 11 {
                    &mut g.inputs
                } else {
                    &mut g.outputs
                };
                push(list, ValueInfoDesc::default())?;
                if let Some(v) = list.last_mut() {
                    merge_value_info(v, bytes)?;
                }
            }
            15 => {
                r.skip_field(field, wire)?;
                g.sparse_initializers = g.sparse_initializers.saturating_add(1);
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(())
}

fn merge_opset<'a>(o: &mut OpsetDesc<'a>, bytes: &'a [u8]) -> Result<()> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                o.domain = utf8(r.bytes()?)?;
            }
            2 => {
                expect(wire, WireType::Varint)?;
                o.version = as_i64(r.varint()?);
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(())
}

/// Decodes a serialized `ModelProto`, borrowing names and tensor bytes from `bytes`.
pub fn decode_model(bytes: &[u8]) -> Result<ModelDesc<'_>> {
    if bytes.is_empty() {
        return Err(err(ErrorCode::EmptyModel, ""));
    }
    let mut m = ModelDesc::default();
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, WireType::Varint)?;
                m.ir_version = as_i64(r.varint()?);
            }
            2 => {
                expect(wire, WireType::Len)?;
                m.producer_name = utf8(r.bytes()?)?;
            }
            3 => {
                expect(wire, WireType::Len)?;
                m.producer_version = utf8(r.bytes()?)?;
            }
            7 => {
                expect(wire, WireType::Len)?;
                let bytes = r.bytes()?;
                let g = m.graph.get_or_insert_with(GraphDesc::default);
                merge_graph(g, bytes)?;
            }
            8 => {
                expect(wire, WireType::Len)?;
                let mut o = OpsetDesc::default();
                merge_opset(&mut o, r.bytes()?)?;
                push(&mut m.opsets, o)?;
            }
            _ => r.skip_field(field, wire)?,
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::path::PathBuf;

    fn shared() -> PathBuf {
        std::env::var_os("RTONNX_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
    }

    #[test]
    fn decodes_keras2onnx_mnist_sm() {
        let bytes = std::fs::read(shared().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
        let m = decode_model(&bytes).unwrap();
        assert_eq!(m.ir_version, 5);
        assert_eq!(m.producer_name, "keras2onnx");
        assert_eq!(
            m.opsets,
            [OpsetDesc {
                domain: "",
                version: 10
            }]
        );
        let g = m.graph.unwrap();
        assert_eq!(g.node_count(), 15);
        assert_eq!(g.node(0).unwrap().op_type, "Identity");
        assert_eq!(g.initializers.len(), 9);
        let w3 = g.initializers.iter().find(|t| t.name == "W3").unwrap();
        assert_eq!(w3.dims.iter().collect::<Vec<_>>(), [2, 1, 3, 3]);
        assert_eq!(w3.data_type, data_type::FLOAT);
        assert_eq!(w3.float_data.len(), 18);
        let shape = g
            .initializers
            .iter()
            .find(|t| t.name == "shape_tensor")
            .unwrap();
        assert_eq!(shape.data_type, data_type::INT64);
        assert_eq!(shape.int64_data.len(), 2);
        assert_eq!(g.inputs.len(), 1);
        let dims = g.inputs[0].shape.as_ref().unwrap();
        assert_eq!(dims[0], DimDesc::Param("N"));
        assert_eq!(
            &dims[1..],
            &[DimDesc::Value(28), DimDesc::Value(28), DimDesc::Value(1)]
        );
        let conv = g.nodes().find(|n| n.name == "conv2d_5").unwrap();
        let pads = conv.attributes.iter().find(|a| a.name == "pads").unwrap();
        assert_eq!(conv.ints(pads), [1, 1, 1, 1]);
        assert_eq!(pads.kind, attr_type::INTS);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = std::fs::read(shared().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
        let mut ok = 0;
        for cut in 0..bytes.len() {
            if decode_model(&bytes[..cut]).is_ok() {
                ok += 1;
            }
        }
        // Cutting exactly between top-level fields yields a valid (smaller) message.
        assert!(ok < bytes.len() / 10, "{ok} truncations decoded");
    }

    #[test]
    fn dims_unpacked_packed_and_merged() {
        // TensorProto { dims: 2, data_type: 1, dims: packed [3, 300] }
        let t = [0x08, 0x02, 0x10, 0x01, 0x0a, 0x03, 0x03, 0xac, 0x02];
        let mut d = TensorDesc::default();
        merge_tensor(&mut d, &t).unwrap();
        assert!(matches!(d.dims, Dims::InPlace { len: 3, .. }));
        assert_eq!(d.dims.iter().collect::<std::vec::Vec<_>>(), [2, 3, 300]);
        // Merging a second message appends its dims.
        merge_tensor(&mut d, &t).unwrap();
        assert_eq!(
            d.dims.iter().collect::<std::vec::Vec<_>>(),
            [2, 3, 300, 2, 3, 300]
        );
        // A truncated packed run is refused when decoded.
        assert!(merge_tensor(&mut TensorDesc::default(), &[0x0a, 0x01, 0x80]).is_err());
    }

    #[test]
    fn packed_float_data_is_borrowed_and_split_runs_are_merged() {
        // TensorProto { dims: [2], data_type: 1, float_data: packed [1.0], float_data: 2.0 }
        let mut t = std::vec![0x08, 0x02, 0x10, 0x01, 0x22, 0x04];
        t.extend_from_slice(&1.0f32.to_le_bytes());
        let mut d = TensorDesc::default();
        merge_tensor(&mut d, &t).unwrap();
        assert!(matches!(d.float_data, FloatData::Packed(_)));
        t.push(0x25);
        t.extend_from_slice(&2.0f32.to_le_bytes());
        let mut d = TensorDesc::default();
        merge_tensor(&mut d, &t).unwrap();
        assert_eq!(d.float_data, FloatData::Values(std::vec![1.0, 2.0]));
        assert_eq!(d.float_data.get(1), Some(2.0));
    }
}
