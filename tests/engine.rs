//! End-to-end behaviour of the compiler and runtime on small hand-built models:
//! fusion, folding, ordering, views, and the error code of every malformed-graph case.

mod support;

use rtonnx::{ErrorCode, Model};
use support::onnx_writer::*;

fn load(bytes: &[u8]) -> Model {
    Model::from_bytes(bytes).unwrap_or_else(|e| panic!("load failed: {e}"))
}

fn code(bytes: &[u8]) -> ErrorCode {
    match Model::from_bytes(bytes) {
        Ok(_) => panic!("model loaded but should not"),
        Err(e) => e.code(),
    }
}

fn run1(m: &mut Model, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; m.output_len()];
    m.run(x, &mut y).unwrap();
    y
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
            "element {i}: {x} vs {y}"
        );
    }
}

/// Conv 3x3 (ones, pad 1) + bias, then Relu: one fused step.
fn conv_relu_model() -> Vec<u8> {
    let g = graph(
        vec![
            node("Relu", "relu", &["c"], &["y"], vec![]),
            node(
                "Conv",
                "conv",
                &["x", "w", "b"],
                &["c"],
                vec![
                    attr_ints("pads", &[1, 1, 1, 1]),
                    attr_ints("kernel_shape", &[3, 3]),
                ],
            ),
        ],
        vec![
            tensor_f32("w", &[1, 1, 3, 3], &[1.0; 9]),
            tensor_f32("b", &[1], &[-4.0]),
        ],
        vec![value_info("x", &[-1, 1, 3, 3])],
        vec![value_info("y", &[1, 1, 3, 3])],
    );
    model(13, g)
}

#[test]
fn conv_relu_is_fused_and_correct_with_nodes_out_of_order() {
    let mut m = load(&conv_relu_model());
    assert_eq!(m.nodes().len(), 1);
    assert_eq!(m.node(0).unwrap().op, "Conv+Relu");
    assert_eq!(m.node(0).unwrap().macs, 81);
    assert_eq!(m.input_len(), 9);
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    // Sums of 3x3 neighbourhoods of 1..9 (zero padded), minus 4, then Relu.
    let want = [8.0, 17.0, 12.0, 23.0, 41.0, 29.0, 20.0, 35.0, 24.0].map(|v: f32| v.max(0.0));
    assert_close(&run1(&mut m, &x), &want);
    // Runs again with the same result (no state carried between runs).
    assert_close(&run1(&mut m, &x), &want);
}

#[test]
fn batch_norm_folds_into_conv() {
    let g = graph(
        vec![
            node("Conv", "conv", &["x", "w"], &["c"], vec![]),
            node(
                "BatchNormalization",
                "bn",
                &["c", "s", "bb", "m", "v"],
                &["y"],
                vec![attr_float("epsilon", 0.0)],
            ),
        ],
        vec![
            tensor_f32("w", &[2, 1, 1, 1], &[1.0, 2.0]),
            tensor_f32("s", &[2], &[2.0, 3.0]),
            tensor_f32("bb", &[2], &[0.5, -1.0]),
            tensor_f32("m", &[2], &[1.0, 0.0]),
            tensor_f32("v", &[2], &[4.0, 9.0]),
        ],
        vec![value_info("x", &[1, 1, 1, 2])],
        vec![value_info("y", &[1, 2, 1, 2])],
    );
    let mut m = load(&model(9, g));
    assert_eq!(m.nodes().len(), 1);
    assert_eq!(m.node(0).unwrap().op, "Conv+BatchNormalization");
    let y = run1(&mut m, &[1.0, 2.0]);
    // channel 0: (x*1 - 1) * 2/2 + 0.5 ; channel 1: (x*2 - 0) * 3/3 - 1
    assert_close(&y, &[0.5, 1.5, 1.0, 3.0]);
}

#[test]
fn matmul_add_becomes_dense_with_bias_and_softmax_follows() {
    let g = graph(
        vec![
            node("MatMul", "mm", &["x", "w"], &["t"], vec![]),
            node("Add", "add", &["t", "b"], &["z"], vec![]),
            node("Softmax", "sm", &["z"], &["y"], vec![attr_int("axis", -1)]),
        ],
        vec![
            tensor_f32("w", &[2, 3], &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0]),
            tensor_f32("b", &[3], &[0.0, 0.0, -1.0]),
        ],
        vec![value_info("x", &[1, 2])],
        vec![value_info("y", &[1, 3])],
    );
    let mut m = load(&model(13, g));
    let ops: Vec<&str> = m.nodes().map(|n| n.op).collect();
    assert_eq!(ops, ["MatMul+Add", "Softmax"]);
    let y = run1(&mut m, &[1.0, 2.0]);
    // logits [1, 2, 2]
    let e = [1f32.exp(), 2f32.exp(), 2f32.exp()];
    let s: f32 = e.iter().sum();
    assert_close(&y, &[e[0] / s, e[1] / s, e[2] / s]);
}

/// Reference Gemm: `alpha * op(A) * op(B) + beta * C`, `C` broadcast from `c_dims`.
#[allow(clippy::too_many_arguments)]
fn gemm_reference(
    a: &[f32],
    b: &[f32],
    c: Option<(&[f32], &[usize])>,
    (m, k, n): (usize, usize, usize),
    trans_a: bool,
    trans_b: bool,
    alpha: f32,
    beta: f32,
) -> Vec<f32> {
    let mut y = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                let av = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                s += av * bv;
            }
            let cv = c.map_or(0.0, |(c, dims)| match dims {
                [] | [1] | [1, 1] => c[0],
                [_] | [1, _] => c[j],
                [_, 1] => c[i],
                _ => c[i * n + j],
            });
            y[i * n + j] = alpha * s + beta * cv;
        }
    }
    y
}

#[test]
fn gemm_with_constant_weights_matches_the_reference_in_every_form() {
    // Gemm with constant B (and C) runs as a dense layer with transB, alpha and beta applied to
    // the weights at compile time; the other forms stay Gemm steps. Both must give Gemm's values.
    let (k, n) = (5usize, 9usize);
    let b: Vec<f32> = (0..k * n)
        .map(|v| ((v * 7 % 11) as f32 - 5.0) * 0.25)
        .collect();
    for m in [1usize, 3] {
        let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.3).sin()).collect();
        let c_full: Vec<f32> = (0..m * n).map(|v| v as f32 * 0.1 - 1.0).collect();
        let c_forms: [(&[usize], &[f32]); 5] = [
            (&[], &[0.75]),
            (&[n], &c_full[..n]),
            (&[1, n], &c_full[..n]),
            (&[m, 1], &c_full[..m]),
            (&[m, n], &c_full[..]),
        ];
        for trans_a in [false, true] {
            for trans_b in [false, true] {
                for (alpha, beta) in [(1.0, 1.0), (0.5, -2.0), (1.0, 0.0)] {
                    for c in std::iter::once(None).chain(c_forms.iter().map(Some)) {
                        let a_dims = if trans_a { [k, m] } else { [m, k] };
                        let b_dims = if trans_b { [n, k] } else { [k, n] };
                        // B as stored: the transpose of the [k, n] matrix when transB.
                        let b_stored: Vec<f32> = if trans_b {
                            (0..n * k).map(|v| b[(v % k) * n + v / k]).collect()
                        } else {
                            b.clone()
                        };
                        let a_stored: Vec<f32> = if trans_a {
                            (0..k * m).map(|v| a[(v % m) * k + v / m]).collect()
                        } else {
                            a.clone()
                        };
                        let dims = |d: &[usize]| d.iter().map(|&v| v as i64).collect::<Vec<_>>();
                        let mut inits = vec![tensor_f32("b", &dims(&b_dims), &b_stored)];
                        let mut ins = vec!["a", "b"];
                        if let Some((cd, cv)) = c {
                            inits.push(tensor_f32("c", &dims(cd), cv));
                            ins.push("c");
                        }
                        let g = graph(
                            vec![node(
                                "Gemm",
                                "gemm",
                                &ins,
                                &["y"],
                                vec![
                                    attr_int("transA", trans_a as i64),
                                    attr_int("transB", trans_b as i64),
                                    attr_float("alpha", alpha),
                                    attr_float("beta", beta),
                                ],
                            )],
                            inits,
                            vec![value_info("a", &dims(&a_dims))],
                            vec![value_info("y", &[m as i64, n as i64])],
                        );
                        let mut model = load(&model(13, g));
                        let want = gemm_reference(
                            &a_stored,
                            &b_stored,
                            c.map(|(cd, cv)| (*cv, *cd)),
                            (m, k, n),
                            trans_a,
                            trans_b,
                            alpha,
                            beta,
                        );
                        let got = run1(&mut model, &a_stored);
                        assert_close(&got, &want);
                        assert_eq!(model.node(0).unwrap().macs, (m * k * n) as u64);
                        // Weights and a row bias the dense step uses as they are stay
                        // initializers (`onnx_model_initializer` finds them).
                        if !trans_b && alpha == 1.0 {
                            assert!(model.initializer("b").is_some());
                        }
                        if let Some((cd, cv)) = c {
                            if beta == 1.0 && cv.len() == n && cd.last() == Some(&n) {
                                assert!(model.initializer("c").is_some(), "{cd:?}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn shape_arithmetic_is_folded_and_reshape_is_a_view() {
    // PyTorch-style flatten: Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape
    let g = graph(
        vec![
            node("Shape", "shape", &["x"], &["s"], vec![]),
            node(
                "Gather",
                "g",
                &["s", "zero"],
                &["n"],
                vec![attr_int("axis", 0)],
            ),
            node("Unsqueeze", "u", &["n", "ax"], &["n1"], vec![]),
            node(
                "Concat",
                "cat",
                &["n1", "minus1"],
                &["target"],
                vec![attr_int("axis", 0)],
            ),
            node("Reshape", "r", &["x", "target"], &["f"], vec![]),
            node("Relu", "relu", &["f"], &["y"], vec![]),
        ],
        vec![
            tensor_i64("zero", &[], &[0]),
            tensor_i64("ax", &[1], &[0]),
            tensor_i64("minus1", &[1], &[-1]),
        ],
        vec![value_info("x", &[1, 2, 2])],
        vec![value_info("y", &[1, 4])],
    );
    let mut m = load(&model(13, g));
    let ops: Vec<&str> = m.nodes().map(|n| n.op).collect();
    assert_eq!(ops, ["Relu"]);
    assert_eq!(m.output(0).unwrap().shape.as_slice(), [1, 4]);
    assert_close(
        &run1(&mut m, &[-1.0, 2.0, -3.0, 4.0]),
        &[0.0, 2.0, 0.0, 4.0],
    );
}

#[test]
fn transpose_of_size_one_axes_is_a_view_and_others_are_steps() {
    let g = graph(
        vec![
            node(
                "Transpose",
                "t0",
                &["x"],
                &["a"],
                vec![attr_ints("perm", &[0, 3, 1, 2])],
            ),
            node(
                "Transpose",
                "t1",
                &["a"],
                &["y"],
                vec![attr_ints("perm", &[0, 1, 3, 2])],
            ),
        ],
        vec![],
        vec![value_info("x", &[1, 2, 3, 1])],
        vec![value_info("y", &[1, 1, 3, 2])],
    );
    let mut m = load(&model(13, g));
    assert_eq!(m.nodes().len(), 1);
    let y = run1(&mut m, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_close(&y, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

#[test]
fn output_that_is_an_input_or_a_constant_is_copied() {
    let g = graph(
        vec![
            node("Identity", "i", &["x"], &["y"], vec![]),
            node(
                "Constant",
                "c",
                &[],
                &["k"],
                vec![attr_tensor("value", tensor_f32("", &[2], &[7.0, 8.0]))],
            ),
        ],
        vec![],
        vec![value_info("x", &[2])],
        vec![value_info("y", &[2]), value_info("k", &[2])],
    );
    let mut m = load(&model(13, g));
    let mut y = vec![0.0; 2];
    let mut k = vec![0.0; 2];
    m.run_many(&[&[1.0, 2.0]], &mut [&mut y, &mut k]).unwrap();
    assert_eq!(y, [1.0, 2.0]);
    assert_eq!(k, [7.0, 8.0]);
}

#[test]
fn wrong_buffer_lengths_are_errors() {
    let mut m = load(&conv_relu_model());
    let mut y = vec![0.0; 9];
    assert_eq!(
        m.run(&[0.0; 8], &mut y).unwrap_err().code(),
        ErrorCode::BufferLength
    );
    let mut short = vec![0.0; 8];
    assert_eq!(
        m.run(&[0.0; 9], &mut short).unwrap_err().code(),
        ErrorCode::BufferLength
    );
}

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

#[test]
fn malformed_graphs_give_their_error_codes() {
    assert_eq!(code(&[]), ErrorCode::EmptyModel);
    assert_eq!(code(&[0xff, 0xff, 0xff]), ErrorCode::Malformed);
    // Unsupported operator, named in the error.
    let e = Model::from_bytes(&one_node("Foo", vec![], vec![], &["x"]))
        .err()
        .unwrap();
    assert_eq!(e.code(), ErrorCode::UnsupportedOperator);
    assert!(e.to_string().contains("Foo"), "{e}");
    // Cycle: a -> b -> a
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
    assert_eq!(code(&model(13, cyc)), ErrorCode::GraphCycle);
    // Dangling input.
    assert_eq!(
        code(&one_node("Relu", vec![], vec![], &["nobody"])),
        ErrorCode::DanglingInput
    );
    // Two nodes write one tensor.
    let dup = graph(
        vec![
            node("Relu", "a", &["x"], &["y"], vec![]),
            node("Relu", "b", &["x"], &["y"], vec![]),
        ],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("y", &[1])],
    );
    assert_eq!(code(&model(13, dup)), ErrorCode::DuplicateOutput);
    // Opsets and domains.
    let relu = || {
        graph(
            vec![node("Relu", "a", &["x"], &["y"], vec![])],
            vec![],
            vec![value_info("x", &[1])],
            vec![value_info("y", &[1])],
        )
    };
    assert_eq!(code(&model(6, relu())), ErrorCode::UnsupportedOpset);
    assert_eq!(code(&model(29, relu())), ErrorCode::UnsupportedOpset);
    let custom = graph(
        vec![node("Relu", "a", &["x"], &["y"], vec![]).str(7, "com.microsoft")],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("y", &[1])],
    );
    assert_eq!(code(&model(13, custom)), ErrorCode::UnsupportedDomain);
    let no_ir = Msg::new()
        .msg(8, Msg::new().str(1, "").int(2, 13))
        .msg(7, relu())
        .0;
    assert_eq!(code(&no_ir), ErrorCode::UnsupportedIrVersion);
    // Zero nodes.
    let empty = graph(
        vec![],
        vec![],
        vec![value_info("x", &[1])],
        vec![value_info("x", &[1])],
    );
    assert_eq!(code(&model(13, empty)), ErrorCode::EmptyGraph);
    // Conv weight channels disagree with the input.
    let conv = one_node(
        "Conv",
        vec![],
        vec![tensor_f32("w", &[1, 3, 1, 1], &[1.0; 3])],
        &["x", "w"],
    );
    assert_eq!(code(&conv), ErrorCode::ShapeMismatch);
    // Dims that overflow when multiplied, claim more data than present, or are negative.
    let big = one_node(
        "Add",
        vec![],
        vec![tensor_f32("w", &[1 << 40, 1 << 40], &[1.0])],
        &["x", "w"],
    );
    assert_eq!(code(&big), ErrorCode::InvalidDimension);
    let short = one_node(
        "Add",
        vec![],
        vec![tensor_f32("w", &[1000], &[1.0])],
        &["x", "w"],
    );
    assert_eq!(code(&short), ErrorCode::DataSize);
    let neg = one_node(
        "Add",
        vec![],
        vec![tensor_f32("w", &[-1], &[])],
        &["x", "w"],
    );
    assert_eq!(code(&neg), ErrorCode::InvalidDimension);
    // A double tensor.
    let dbl = Msg::new()
        .packed_i64(1, &[1])
        .int(2, 11)
        .str(8, "w")
        .bytes(9, &1.0f64.to_le_bytes());
    assert_eq!(
        code(&one_node("Add", vec![], vec![dbl], &["x", "w"])),
        ErrorCode::UnsupportedDataType
    );
}

#[test]
fn static_models_use_aligned_weights_in_place() {
    let bytes = conv_relu_model();
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let want = run1(&mut load(&bytes), &x);
    let mut in_place = 0;
    // Prefix an unknown field of 1..=4 bytes so that some prefix aligns the raw weights.
    for pad in 0..4usize {
        // Build: unknown varint field 15 (0x78) with `pad` payload bytes of 0x80.. then 0x00.
        let mut prefixed = Vec::new();
        if pad > 0 {
            prefixed.push(0x78);
            prefixed.extend(std::iter::repeat_n(0x80u8, pad - 1));
            prefixed.push(0x00);
        }
        prefixed.extend_from_slice(&bytes);
        // Copy into 4-aligned static storage.
        let words: &'static mut [u32] =
            Box::leak(vec![0u32; prefixed.len().div_ceil(4)].into_boxed_slice());
        let ptr = words.as_mut_ptr().cast::<u8>();
        // SAFETY (test): the u32 storage is at least prefixed.len() bytes and lives forever.
        let stat: &'static mut [u8] =
            unsafe { std::slice::from_raw_parts_mut(ptr, prefixed.len()) };
        stat.copy_from_slice(&prefixed);
        let mut m = rtonnx::Model::from_static(stat).unwrap();
        assert_close(&run1(&mut m, &x), &want);
        assert_eq!(m.weight_bytes() + m.static_weight_bytes(), 40);
        in_place += m.static_weight_bytes();
    }
    assert!(in_place > 0, "no prefix aligned the weights");
}

fn conv_bn_relu_pool(extra_output: bool) -> Vec<u8> {
    let w: Vec<f32> = (0..18).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.1).collect();
    let mut outputs = vec![value_info("y", &[1, 2, 2, 2])];
    if extra_output {
        outputs.push(value_info("r", &[1, 2, 4, 4]));
    }
    let g = graph(
        vec![
            node(
                "Conv",
                "conv",
                &["x", "w", "b"],
                &["c"],
                vec![attr_ints("pads", &[1, 1, 1, 1])],
            ),
            node(
                "BatchNormalization",
                "bn",
                &["c", "s", "bb", "m", "v"],
                &["n"],
                vec![],
            ),
            node("Relu", "relu", &["n"], &["r"], vec![]),
            node(
                "MaxPool",
                "pool",
                &["r"],
                &["y"],
                vec![
                    attr_ints("kernel_shape", &[2, 2]),
                    attr_ints("strides", &[2, 2]),
                ],
            ),
        ],
        vec![
            tensor_f32("w", &[2, 1, 3, 3], &w),
            tensor_f32("b", &[2], &[0.1, -0.2]),
            tensor_f32("s", &[2], &[1.5, 0.5]),
            tensor_f32("bb", &[2], &[0.0, 0.3]),
            tensor_f32("m", &[2], &[0.2, -0.1]),
            tensor_f32("v", &[2], &[1.0, 4.0]),
        ],
        vec![value_info("x", &[1, 1, 4, 4])],
        outputs,
    );
    model(13, g)
}

#[test]
fn conv_batchnorm_relu_maxpool_become_one_step_with_the_same_result() {
    let x: Vec<f32> = (0..16).map(|i| (i as f32 - 8.0) * 0.25).collect();
    let mut fused = load(&conv_bn_relu_pool(false));
    let ops: Vec<&str> = fused.nodes().map(|n| n.op).collect();
    assert_eq!(ops, ["Conv+BatchNormalization+Relu+MaxPool"]);
    // With the Relu output also a graph output, nothing after the Relu can be fused.
    let mut plain = load(&conv_bn_relu_pool(true));
    assert_eq!(plain.nodes().len(), 2);
    let mut y_plain = vec![0.0; 8];
    let mut r = vec![0.0; 32];
    plain.run_many(&[&x], &mut [&mut y_plain, &mut r]).unwrap();
    assert_close(&run1(&mut fused, &x), &y_plain);
    assert!(fused.arena_bytes() < plain.arena_bytes());
}
