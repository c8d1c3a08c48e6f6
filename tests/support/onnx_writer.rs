//! A tiny protobuf writer for building ONNX models (valid or deliberately broken) in tests.
#![allow(dead_code)]

/// A protobuf message under construction.
#[derive(Clone, Default, Debug)]
pub struct Msg(pub Vec<u8>);

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

impl Msg {
    pub fn new() -> Msg {
        Msg(Vec::new())
    }
    pub fn int(mut self, field: u32, v: i64) -> Msg {
        varint(&mut self.0, u64::from(field) << 3);
        varint(&mut self.0, v as u64);
        self
    }
    pub fn bytes(mut self, field: u32, b: &[u8]) -> Msg {
        varint(&mut self.0, (u64::from(field) << 3) | 2);
        varint(&mut self.0, b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    pub fn str(self, field: u32, s: &str) -> Msg {
        self.bytes(field, s.as_bytes())
    }
    pub fn msg(self, field: u32, m: Msg) -> Msg {
        self.bytes(field, &m.0)
    }
    pub fn float(mut self, field: u32, f: f32) -> Msg {
        varint(&mut self.0, (u64::from(field) << 3) | 5);
        self.0.extend_from_slice(&f.to_le_bytes());
        self
    }
    pub fn packed_i64(self, field: u32, v: &[i64]) -> Msg {
        let mut b = Vec::new();
        for &x in v {
            varint(&mut b, x as u64);
        }
        self.bytes(field, &b)
    }
    pub fn packed_f32(self, field: u32, v: &[f32]) -> Msg {
        let b: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
        self.bytes(field, &b)
    }
}

pub const FLOAT: i64 = 1;
pub const INT64: i64 = 7;

/// A float32 initializer with raw_data.
pub fn tensor_f32(name: &str, dims: &[i64], data: &[f32]) -> Msg {
    let raw: Vec<u8> = data.iter().flat_map(|f| f.to_le_bytes()).collect();
    Msg::new()
        .packed_i64(1, dims)
        .int(2, FLOAT)
        .str(8, name)
        .bytes(9, &raw)
}

/// An int64 initializer with int64_data.
pub fn tensor_i64(name: &str, dims: &[i64], data: &[i64]) -> Msg {
    Msg::new()
        .packed_i64(1, dims)
        .int(2, INT64)
        .str(8, name)
        .packed_i64(7, data)
}

/// A float32 ValueInfo with a fixed shape (dim < 0 means a symbolic "N").
pub fn value_info(name: &str, dims: &[i64]) -> Msg {
    let mut shape = Msg::new();
    for &d in dims {
        let dim = if d < 0 {
            Msg::new().str(2, "N")
        } else {
            Msg::new().int(1, d)
        };
        shape = shape.msg(1, dim);
    }
    let tensor_type = Msg::new().int(1, FLOAT).msg(2, shape);
    Msg::new()
        .str(1, name)
        .msg(2, Msg::new().msg(1, tensor_type))
}

pub fn attr_int(name: &str, v: i64) -> Msg {
    Msg::new().str(1, name).int(3, v).int(20, 2)
}
pub fn attr_float(name: &str, v: f32) -> Msg {
    Msg::new().str(1, name).float(2, v).int(20, 1)
}
pub fn attr_ints(name: &str, v: &[i64]) -> Msg {
    Msg::new().str(1, name).packed_i64(8, v).int(20, 7)
}
pub fn attr_str(name: &str, v: &str) -> Msg {
    Msg::new().str(1, name).str(4, v).int(20, 3)
}
pub fn attr_tensor(name: &str, t: Msg) -> Msg {
    Msg::new().str(1, name).msg(5, t).int(20, 4)
}

/// A node of the default domain.
pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<Msg>) -> Msg {
    let mut m = Msg::new();
    for i in inputs {
        m = m.str(1, i);
    }
    for o in outputs {
        m = m.str(2, o);
    }
    m = m.str(3, name).str(4, op);
    for a in attrs {
        m = m.msg(5, a);
    }
    m
}

/// A graph from its parts.
pub fn graph(nodes: Vec<Msg>, inits: Vec<Msg>, inputs: Vec<Msg>, outputs: Vec<Msg>) -> Msg {
    let mut g = Msg::new().str(2, "g");
    for n in nodes {
        g = g.msg(1, n);
    }
    for t in inits {
        g = g.msg(5, t);
    }
    for i in inputs {
        g = g.msg(11, i);
    }
    for o in outputs {
        g = g.msg(12, o);
    }
    g
}

/// A model (IR 8) importing the default domain at `opset`.
pub fn model(opset: i64, g: Msg) -> Vec<u8> {
    Msg::new()
        .int(1, 8)
        .str(2, "rtonnx-tests")
        .msg(8, Msg::new().str(1, "").int(2, opset))
        .msg(7, g)
        .0
}
