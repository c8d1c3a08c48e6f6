//! The `rtonnx` command line: success paths on the keras2onnx model and clean errors.

mod support;

use std::process::Command;

fn rtonnx(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rtonnx"))
        .args(args)
        .env("RTONNX_SHARED", support::shared_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sm() -> String {
    support::shared_dir()
        .join("models/keras2onnx/mnist-sm.onnx")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn info_run_eval_bench() {
    let (code, out, _) = rtonnx(&["info", &sm()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Conv+Relu+MaxPool") && out.contains("21600 MACs"),
        "{out}"
    );
    let (code, out, _) = rtonnx(&["run", &sm(), "--index", "0"]);
    assert_eq!(code, 0);
    assert!(out.contains("The number is 7 (label 7"), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(": 0."))
            .count(),
        10
    );
    let (code, out, _) = rtonnx(&["eval", &sm(), "--limit", "100"]);
    assert_eq!(code, 0);
    assert!(
        out.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("accuracy: 0."),
        "{out}"
    );
    let (code, out, _) = rtonnx(&["bench", &sm(), "--iters", "10", "--warmup", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("median"), "{out}");
}

#[test]
fn errors_are_clean() {
    let (code, _, err) = rtonnx(&["info", "/nonexistent/model.onnx"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: ") && err.contains("No such file"),
        "{err}"
    );
    let garbage = std::env::temp_dir().join(format!("rtonnx-garbage-{}.onnx", std::process::id()));
    std::fs::write(&garbage, b"\xff\xff\xff\xffnot a model").unwrap();
    let (code, _, err) = rtonnx(&["info", garbage.to_str().unwrap()]);
    std::fs::remove_file(&garbage).unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("malformed model"), "{err}");
    let (code, _, err) = rtonnx(&["run", &sm(), "--index", "10000"]);
    assert_eq!(code, 1);
    assert!(err.contains("out of range"), "{err}");
    let (code, out, _) = rtonnx(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("eval"));
}

#[test]
fn compile_prints_the_device_build_a_plan_needs() {
    let (code, out, _) = rtonnx(&[
        "compile",
        &sm(),
        "--target",
        "cortex-m4f",
        "--cargo-features",
    ]);
    assert_eq!(code, 0);
    // The keras2onnx model: fused Conv+Relu+MaxPool (3x3 blocks, pooled), Transpose, MatMul+Add,
    // Softmax.
    assert_eq!(
        out,
        "op-conv-3x3pool,op-dense-layer,op-softmax-plain,op-layout-transpose\n"
    );
    let (code, out, _) = rtonnx(&["compile", &sm(), "--kconfig"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "# CONFIG_RTONNX_ONNX_LOADER is not set");
    let on = [
        "CONV",
        "CONV_3X3POOL",
        "DENSE",
        "DENSE_LAYER",
        "SOFTMAX",
        "SOFTMAX_PLAIN",
        "LAYOUT",
        "LAYOUT_TRANSPOSE",
    ];
    let off = [
        "CONV_ANY",
        "CONV_3X3",
        "POOL",
        "DENSE_GEMM",
        "DENSE_BATCHED",
        "ACTIVATION",
        "MATH",
        "SOFTMAX_LOG",
        "REDUCE",
        "NORMALIZATION",
        "QUANT",
        "LAYOUT_CONCAT",
        "LAYOUT_PAD",
        "LAYOUT_GATHER",
        "LAYOUT_SLICE",
    ];
    // The parts of a family that is off are not saved (menuconfig hides them).
    assert_eq!(lines.len(), 1 + on.len() + off.len(), "{out}");
    for on in on {
        let line = format!("CONFIG_RTONNX_OP_{on}=y");
        assert!(lines.contains(&line.as_str()), "{out}");
    }
    for off in off {
        let line = format!("# CONFIG_RTONNX_OP_{off} is not set");
        assert!(lines.contains(&line.as_str()), "{out}");
    }
    // A print option writes no plan unless -o asks for one.
    let dir = std::env::temp_dir().join(format!("rtonnx-cli-kconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.onnx");
    std::fs::copy(sm(), &model).unwrap();
    let (code, _, _) = rtonnx(&["compile", model.to_str().unwrap(), "--cargo-features"]);
    assert_eq!(code, 0);
    assert!(!dir.join("m.rtm").exists());
    let out_path = dir.join("x.rtm");
    let (code, out, err) = rtonnx(&[
        "compile",
        model.to_str().unwrap(),
        "--cargo-features",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1);
    assert!(err.contains("plan for"), "{err}");
    assert!(out_path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plan_for_the_board_runs_in_the_host_tools() {
    let dir = std::env::temp_dir().join(format!("rtonnx-cli-board-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = dir.join("board.rtm");
    let other = if cfg!(target_arch = "x86_64") {
        "cortex-m-vfma"
    } else {
        "x86_64"
    };
    let p = plan.to_str().unwrap();
    let (code, _, err) = rtonnx(&["compile", &sm(), "-o", p, "--target", other]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = rtonnx(&["info", p]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Conv+Relu+MaxPool") && out.contains("total: 6 steps"),
        "{out}"
    );
    assert!(err.contains(&format!("a plan for {other}")), "{err}");
    // The same predictions as the ONNX file on the first 200 test digits.
    let (code, plan_out, err) = rtonnx(&["eval", p, "--limit", "200"]);
    assert_eq!(code, 0, "{err}");
    let (code, onnx_out, _) = rtonnx(&["eval", &sm(), "--limit", "200"]);
    assert_eq!(code, 0);
    let acc = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("accuracy"))
            .map(str::to_owned)
    };
    assert_eq!(acc(&plan_out), acc(&onnx_out));
    assert!(acc(&plan_out).is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `rtonnx run MODEL --input X.npy --output Y.npy` on a model that is not an MNIST
/// classifier (MLPerf Tiny's int8 keyword spotter with float IO): the output file holds what
/// onnxruntime gives; inputs of another shape, and .npy files that are not what they claim,
/// are refused with a message, not a crash or a huge allocation.
#[test]
fn run_reads_and_writes_numpy_files() {
    let d = support::shared_dir().join("models/mlperf-tiny/kws_dscnn_int8_floatio");
    let dir = std::env::temp_dir().join(format!("rtonnx-cli-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (model, x) = (d.join("model.onnx"), d.join("input_0.npy"));
    let y = dir.join("y.npy");
    let (code, out, err) = rtonnx(&[
        "run",
        model.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--output",
        y.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let read = |p: &std::path::Path| {
        let b = std::fs::read(p).unwrap();
        let f = npyz::NpyFile::new(&b[..]).unwrap();
        let shape = f.shape().to_vec();
        (shape, f.into_vec::<f32>().unwrap())
    };
    let ((shape, got), (want_shape, want)) = (read(&y), read(&d.join("output_0.npy")));
    assert_eq!(shape, want_shape);
    // Bit-exact with onnxruntime's reference on this full-integer model (tests/mlperf.rs).
    assert_eq!(got, want);
    // By input name, printed instead of written.
    let named = format!("input_1={}", x.display());
    let (code, out, _) = rtonnx(&["run", model.to_str().unwrap(), "--input", &named]);
    assert_eq!(code, 0);
    assert!(out.contains("[1, 12]"), "{out}");
    // Another model's input: the shapes are named.
    let other = support::shared_dir().join("models/mlperf-tiny/ad_toycar/input_0.npy");
    let (code, _, err) = rtonnx(&[
        "run",
        model.to_str().unwrap(),
        "--input",
        other.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("has shape [1, 49, 10, 1], the array has shape [1, 640]"),
        "{err}"
    );
    // A header that claims more data than the file holds, and a cut file.
    let mut huge = std::fs::read(&x).unwrap();
    let text = String::from_utf8_lossy(&huge[..128]).into_owned();
    let claimed = text.replacen("(1, 49, 10, 1)", "(1, 49, 10, 9)", 1);
    huge[..128].copy_from_slice(&claimed.as_bytes()[..128]);
    let bad = dir.join("bad.npy");
    for bytes in [&huge[..], &std::fs::read(&x).unwrap()[..100]] {
        std::fs::write(&bad, bytes).unwrap();
        let (code, _, err) = rtonnx(&[
            "run",
            model.to_str().unwrap(),
            "--input",
            bad.to_str().unwrap(),
        ]);
        assert_ne!(code, 0);
        assert!(
            err.starts_with("error:") && err.contains("bad.npy"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
