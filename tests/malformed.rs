//! The malformed-model table: every broken or hostile input the loader must refuse, with the
//! exact error code it must give, checked through the Rust API and the C API, with the peak
//! heap of each load measured by a counting allocator and held to the load bound
//! (`16 x file size + 64 KiB`, whatever the file claims).
//!
//! `cargo test --release --test malformed -- --nocapture` prints the table (it is quoted in
//! docs/robustness.md).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use rtonnx::capi::{onnx_error_t, onnx_model_free, onnx_model_load_from_memory_ex};
use rtonnx::{ErrorCode, Model};
use support::onnx_writer::*;

// ---- a counting allocator, armed per thread (the harness allocates concurrently) ----------

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LOCK: Mutex<()> = Mutex::new(());

fn armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

fn grow(n: usize) {
    let live = LIVE.fetch_add(n, SeqCst) + n;
    PEAK.fetch_max(live, SeqCst);
}

fn shrink(n: usize) {
    let _ = LIVE.fetch_update(SeqCst, SeqCst, |l| Some(l.saturating_sub(n)));
}

// SAFETY (test): forwards every call to the system allocator; only counts when armed.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(l) };
        if armed() && !p.is_null() {
            grow(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if armed() {
            shrink(l.size());
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if armed() && !q.is_null() {
            grow(new);
            shrink(l.size());
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Loads `bytes` with the Rust API and returns the result and the peak heap of the load.
fn load_measured(bytes: &[u8]) -> (Result<Model, rtonnx::Error>, usize) {
    LIVE.store(0, SeqCst);
    PEAK.store(0, SeqCst);
    ARMED.with(|a| a.set(true));
    let r = Model::from_bytes(bytes);
    ARMED.with(|a| a.set(false));
    (r, PEAK.load(SeqCst))
}

/// The load bound of the robustness issue: a small multiple of the file plus a constant.
fn bound(len: usize) -> usize {
    16 * len + 64 * 1024
}

/// Loads through the C API: the code, that `*out` stays NULL, and a non-empty message.
fn c_code(bytes: &[u8]) -> (i32, String) {
    let mut out = std::ptr::null_mut();
    let mut e = onnx_error_t {
        code: 0,
        message: [0; 128],
    };
    // SAFETY: valid pointers for the duration of the call.
    let rc =
        unsafe { onnx_model_load_from_memory_ex(bytes.as_ptr(), bytes.len(), &mut out, &mut e) };
    if rc == 0 {
        // SAFETY: `out` came from a successful load.
        unsafe { onnx_model_free(out) };
        return (0, String::new());
    }
    assert!(out.is_null(), "a failed load must leave *out NULL");
    assert_eq!(e.code, rc);
    // SAFETY: the library NUL-terminates the message.
    let msg = unsafe { CStr::from_ptr(e.message.as_ptr()) };
    (rc, msg.to_string_lossy().into_owned())
}

struct Row {
    case: String,
    want: String,
    got: String,
    peak: usize,
    len: usize,
    ok: bool,
}

/// Checks one case: both APIs refuse it with `want`, with a message, within the bound.
fn check(rows: &mut Vec<Row>, case: &str, bytes: &[u8], want: ErrorCode) {
    let (r, peak) = load_measured(bytes);
    let got = match &r {
        Ok(_) => None,
        Err(e) => Some(e.code()),
    };
    let (c_rc, c_msg) = c_code(bytes);
    let ok = got == Some(want)
        && c_rc == want.as_i32()
        && !c_msg.is_empty()
        && peak <= bound(bytes.len());
    rows.push(Row {
        case: case.to_string(),
        want: format!("{want:?} ({})", want.as_i32()),
        got: match &r {
            Ok(_) => "loaded".to_string(),
            Err(e) => format!("{:?}: {e}", e.code()),
        },
        peak,
        len: bytes.len(),
        ok,
    });
}

fn relu_graph() -> Msg {
    graph(
        vec![node("Relu", "a", &["x"], &["y"], vec![])],
        vec![],
        vec![value_info("x", &[1, 4])],
        vec![value_info("y", &[1, 4])],
    )
}

/// One node reading `x` [1,1,4,4] (and initializers) and writing `y`.
fn one_node(op: &str, attrs: Vec<Msg>, inits: Vec<Msg>, inputs: &[&str]) -> Vec<u8> {
    model(
        13,
        graph(
            vec![node(op, "n", inputs, &["y"], attrs)],
            inits,
            vec![value_info("x", &[1, 1, 4, 4])],
            vec![value_info("y", &[1])],
        ),
    )
}

/// A graph input of element type `dtype` (ONNX TensorProto.DataType).
fn input_of_type(dtype: i64) -> Vec<u8> {
    let shape = Msg::new().msg(1, Msg::new().int(1, 4));
    let ty = Msg::new().msg(1, Msg::new().int(1, dtype).msg(2, shape));
    let x = Msg::new().str(1, "x").msg(2, ty);
    model(
        13,
        graph(
            vec![node("Relu", "a", &["x"], &["y"], vec![])],
            vec![],
            vec![x],
            vec![value_info("y", &[4])],
        ),
    )
}

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn every_malformed_case_gives_its_code_within_the_memory_bound() {
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut rows = Vec::new();
    let r = &mut rows;
    use ErrorCode::*;

    // --- not an ONNX protobuf at all ---
    check(r, "empty file", &[], EmptyModel);
    check(r, "one zero byte", &[0], Malformed);
    check(r, "PNG header", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Malformed);
    check(
        r,
        "gzip-compressed file",
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
        Malformed,
    );
    check(r, "text file", b"hello, this is not a model\n", Malformed);
    check(
        r,
        "TFLite flatbuffer header",
        b"\x1c\0\0\0TFL3\0\0\0\0\x14\0",
        Malformed,
    );
    check(r, "wire type 7", &[0x0f, 1], Malformed);
    check(
        r,
        "varint of 11 bytes",
        &[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        Malformed,
    );
    let mut huge_len = vec![0x3a]; // graph (field 7), length-delimited
    huge_len.extend(varint(u64::MAX >> 1));
    huge_len.extend_from_slice(&[0; 16]);
    check(r, "length prefix of 2^63 bytes", &huge_len, Malformed);
    let mut deep = Vec::new();
    for _ in 0..10_000 {
        deep.push(0xfb); // field 31, start group
        deep.push(0x01);
    }
    check(r, "10,000 nested groups", &deep, Malformed);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for i in 0..4 {
        let b: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
        check(r, &format!("4 KiB of random bytes #{i}"), &b, Malformed);
    }

    // --- header: IR version, opsets, domains ---
    let no_ir = Msg::new()
        .msg(8, Msg::new().str(1, "").int(2, 13))
        .msg(7, relu_graph())
        .0;
    check(r, "IR version missing", &no_ir, UnsupportedIrVersion);
    let ir99 = Msg::new()
        .int(1, 99)
        .msg(8, Msg::new().str(1, "").int(2, 13))
        .msg(7, relu_graph())
        .0;
    check(r, "IR version 99", &ir99, UnsupportedIrVersion);
    check(r, "opset 6", &model(6, relu_graph()), UnsupportedOpset);
    check(r, "opset 29", &model(29, relu_graph()), UnsupportedOpset);
    let no_opset = Msg::new().int(1, 8).msg(7, relu_graph()).0;
    check(
        r,
        "no default-domain opset import",
        &no_opset,
        UnsupportedOpset,
    );
    // A graph output declared INT64 whose value the graph computes as float.
    let int64_y = Msg::new().str(1, "y").msg(
        2,
        Msg::new().msg(
            1,
            Msg::new()
                .int(1, 7)
                .msg(2, Msg::new().msg(1, Msg::new().int(1, 1))),
        ),
    );
    let mistyped = graph(
        vec![node("Relu", "a", &["x"], &["y"], vec![])],
        vec![],
        vec![value_info("x", &[1])],
        vec![int64_y],
    );
    check(
        r,
        "graph output declared INT64, computed as float",
        &model(13, mistyped),
        UnsupportedDataType,
    );
    let custom = graph(
        vec![node("Relu", "a", &["x"], &["y"], vec![]).str(7, "com.microsoft")],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("y", &[1])],
    );
    check(
        r,
        "node in domain com.microsoft",
        &model(13, custom),
        UnsupportedDomain,
    );

    // --- graph structure ---
    let cyc = graph(
        vec![
            node("Relu", "a", &["x2"], &["x1"], vec![]),
            node("Relu", "b", &["x1"], &["x2"], vec![]),
            node("Relu", "c", &["x"], &["y"], vec![]),
        ],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("y", &[1])],
    );
    check(r, "graph cycle a -> b -> a", &model(13, cyc), GraphCycle);
    let self_loop = graph(
        vec![node("Add", "a", &["x", "y"], &["y"], vec![])],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("y", &[1])],
    );
    check(
        r,
        "node reading its own output",
        &model(13, self_loop),
        GraphCycle,
    );
    check(
        r,
        "node reading a tensor nobody produces",
        &one_node("Relu", vec![], vec![], &["nobody"]),
        DanglingInput,
    );
    let no_producer = graph(
        vec![node("Relu", "a", &["x"], &["y"], vec![])],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("z", &[1])],
    );
    check(
        r,
        "graph output nobody produces",
        &model(13, no_producer),
        DanglingInput,
    );
    let dup = graph(
        vec![
            node("Relu", "a", &["x"], &["y"], vec![]),
            node("Relu", "b", &["x"], &["y"], vec![]),
        ],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("y", &[1])],
    );
    check(
        r,
        "two nodes writing one tensor",
        &model(13, dup),
        DuplicateOutput,
    );
    let overwrite_input = graph(
        vec![
            node("Relu", "a", &["x"], &["x"], vec![]),
            node("Relu", "b", &["x"], &["y"], vec![]),
        ],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("y", &[1])],
    );
    check(
        r,
        "node writing a graph input",
        &model(13, overwrite_input),
        DuplicateOutput,
    );
    let empty = graph(
        vec![],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("x", &[1])],
    );
    check(r, "graph without nodes", &model(13, empty), EmptyGraph);
    let no_outputs = graph(
        vec![node("Relu", "a", &["x"], &["y"], vec![])],
        vec![],
        vec![value_info("x", &[1])],
        vec![],
    );
    check(
        r,
        "graph without outputs",
        &model(13, no_outputs),
        EmptyGraph,
    );

    // --- operators and attributes ---
    let e = one_node("LSTM", vec![], vec![], &["x"]);
    check(r, "unsupported operator (LSTM)", &e, UnsupportedOperator);
    check(
        r,
        "unknown operator (Foo)",
        &one_node("Foo", vec![], vec![], &["x"]),
        UnsupportedOperator,
    );
    let conv = one_node(
        "Conv",
        vec![],
        vec![tensor_f32("w", &[1, 3, 1, 1], &[1.0; 3])],
        &["x", "w"],
    );
    check(
        r,
        "Conv weight with 3 channels, input with 1",
        &conv,
        ShapeMismatch,
    );
    let conv_k = one_node(
        "Conv",
        vec![attr_float("kernel_shape", 3.0)],
        vec![tensor_f32("w", &[1, 1, 1, 1], &[1.0])],
        &["x", "w"],
    );
    check(
        r,
        "Conv kernel_shape given as a float",
        &conv_k,
        InvalidAttribute,
    );
    let reshape = one_node(
        "Reshape",
        vec![],
        vec![tensor_i64("s", &[2], &[3, 5])],
        &["x", "s"],
    );
    check(r, "Reshape of 16 elements to 3x5", &reshape, ShapeMismatch);
    let pad_mode = one_node(
        "Pad",
        vec![attr_str("mode", "wrap-around")],
        vec![tensor_i64("p", &[8], &[0; 8])],
        &["x", "p"],
    );
    check(r, "Pad mode 'wrap-around'", &pad_mode, UnsupportedAttribute);
    let too_many: Vec<String> = (0..65).map(|_| "x".to_string()).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    check(
        r,
        "Sum with 65 inputs",
        &one_node("Sum", vec![], vec![], &too_many),
        LimitExceeded,
    );

    // --- dimensions and data ---
    let big = one_node(
        "Add",
        vec![],
        vec![tensor_f32("w", &[1 << 40, 1 << 40], &[1.0])],
        &["x", "w"],
    );
    check(
        r,
        "initializer dims 2^40 x 2^40 (overflow)",
        &big,
        InvalidDimension,
    );
    let short = one_node(
        "Add",
        vec![],
        vec![tensor_f32("w", &[1000], &[1.0])],
        &["x", "w"],
    );
    check(
        r,
        "initializer claims 1000 floats, holds 1",
        &short,
        DataSize,
    );
    let claims = one_node(
        "Add",
        vec![],
        vec![tensor_f32("w", &[1 << 30], &[1.0])],
        &["x", "w"],
    );
    check(
        r,
        "initializer claims 2^30 floats, holds 1",
        &claims,
        DataSize,
    );
    let neg = one_node(
        "Add",
        vec![],
        vec![tensor_f32("w", &[-1], &[])],
        &["x", "w"],
    );
    check(r, "initializer dim -1", &neg, InvalidDimension);
    let neg_in = model(
        13,
        graph(
            vec![node("Relu", "a", &["x"], &["y"], vec![])],
            vec![],
            vec![Msg::new().str(1, "x").msg(
                2,
                Msg::new().msg(
                    1,
                    Msg::new()
                        .int(1, FLOAT)
                        .msg(2, Msg::new().msg(1, Msg::new().int(1, -7))),
                ),
            )],
            vec![value_info("y", &[1])],
        ),
    );
    check(r, "graph input dim -7", &neg_in, InvalidDimension);
    let huge_in = model(
        13,
        graph(
            vec![node("Relu", "a", &["x"], &["y"], vec![])],
            vec![],
            vec![value_info("x", &[1 << 31, 1 << 31])],
            vec![value_info("y", &[1])],
        ),
    );
    check(
        r,
        "graph input 2^31 x 2^31 (above the 2^24 limit)",
        &huge_in,
        LimitExceeded,
    );
    let overflow_in = model(
        13,
        graph(
            vec![node("Relu", "a", &["x"], &["y"], vec![])],
            vec![],
            vec![value_info("x", &[1 << 40, 1 << 40])],
            vec![value_info("y", &[1])],
        ),
    );
    check(
        r,
        "graph input 2^40 x 2^40 (overflow)",
        &overflow_in,
        InvalidDimension,
    );
    let cos = one_node(
        "ConstantOfShape",
        vec![],
        vec![tensor_i64("s", &[2], &[1 << 15, 1 << 15])],
        &["s"],
    );
    check(r, "ConstantOfShape of 2^30 elements", &cos, LimitExceeded);
    let cos_mid = one_node(
        "ConstantOfShape",
        vec![],
        vec![tensor_i64("s", &[2], &[4096, 1024])],
        &["s"],
    );
    check(
        r,
        "ConstantOfShape of 4M elements (folding budget)",
        &cos_mid,
        LimitExceeded,
    );
    let dbl = Msg::new()
        .packed_i64(1, &[1])
        .int(2, 11)
        .str(8, "w")
        .bytes(9, &1.0f64.to_le_bytes());
    check(
        r,
        "double initializer",
        &one_node("Add", vec![], vec![dbl], &["x", "w"]),
        UnsupportedDataType,
    );
    let strings = Msg::new()
        .packed_i64(1, &[1])
        .int(2, 8)
        .str(8, "w")
        .str(6, "hi");
    check(
        r,
        "string initializer",
        &one_node("Add", vec![], vec![strings], &["x", "w"]),
        UnsupportedDataType,
    );
    check(
        r,
        "double graph input",
        &input_of_type(11),
        UnsupportedDataType,
    );
    check(
        r,
        "int8 graph input",
        &input_of_type(3),
        UnsupportedDataType,
    );
    let rank9 = model(
        13,
        graph(
            vec![node("Transpose", "a", &["x"], &["y"], vec![])],
            vec![],
            vec![value_info("x", &[1; 9])],
            vec![value_info("y", &[1])],
        ),
    );
    check(r, "Transpose of a rank-9 tensor", &rank9, LimitExceeded);

    // --- print and judge ---
    println!("| case | bytes | expected | got | peak heap of the load |");
    println!("| --- | --- | --- | --- | --- |");
    let mut bad = Vec::new();
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {} B |",
            row.case, row.len, row.want, row.got, row.peak
        );
        if !row.ok {
            bad.push(format!(
                "{}: expected {}, got {} (peak {} B, bound {} B)",
                row.case,
                row.want,
                row.got,
                row.peak,
                bound(row.len)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} cases wrong:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Every truncation of every real model: offset 0 is `EmptyModel`, every other cut is
/// refused (or, at a field boundary, may load a valid prefix) and stays within the bound.
#[test]
fn every_truncation_of_a_real_model_is_refused_within_the_bound() {
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = support::shared_dir().join("models/keras2onnx");
    let ours = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models");
    for path in [
        dir.join("mnist-sm.onnx"),
        dir.join("mnist-lg.onnx"),
        ours.join("mnist-cnn.onnx"),
    ] {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut codes: std::collections::BTreeMap<String, usize> = Default::default();
        let mut worst = 0f64;
        for cut in 0..bytes.len() {
            let (r, peak) = load_measured(&bytes[..cut]);
            assert!(
                peak <= bound(cut),
                "{} cut at {cut}: peak {peak} B over the bound",
                path.display()
            );
            worst = worst.max(peak as f64 / (cut.max(1)) as f64);
            let code = match r {
                Ok(_) => "loaded".to_string(),
                Err(e) => format!("{:?}", e.code()),
            };
            if cut == 0 {
                assert_eq!(code, "EmptyModel");
            }
            *codes.entry(code).or_default() += 1;
        }
        let (full, peak) = load_measured(&bytes);
        let arena = full.as_ref().map(|m| m.arena_bytes()).unwrap_or(0);
        assert!(full.is_ok(), "{} must load whole", path.display());
        println!(
            "{}: {} cuts -> {:?}; whole file loads with peak {peak} B ({} B file, {arena} B arena)",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            bytes.len(),
            codes,
            bytes.len()
        );
        assert!(peak <= bound(bytes.len()) + arena);
        // A prefix that loads is a model whose remaining fields were cut off whole: it must
        // be rare (only cuts at top-level field boundaries).
        assert!(codes.get("loaded").copied().unwrap_or(0) <= 4, "{codes:?}");
    }
}
