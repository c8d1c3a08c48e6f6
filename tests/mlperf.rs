//! The MLPerf Tiny reference models (`../shared/models/mlperf-tiny/`, listed in its
//! `index.json`): MLCommons' trained float, weight-only quantized and full-integer int8
//! models as tf2onnx converts them. Each runs on its `input_0.npy` within the tolerance its
//! `meta.json` gives (`judge`: atol + rtol x |reference|) of onnxruntime's `output_0.npy`,
//! with the same predicted class, and through a compiled plan bit-identical.

mod support;

use rtonnx::Model;

fn npy(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    npyz::NpyFile::new(&bytes[..])
        .unwrap()
        .into_vec::<f32>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

#[test]
fn every_mlperf_tiny_model_matches_onnxruntime() {
    let dir = support::shared_dir().join("models/mlperf-tiny");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let cases = index.as_array().unwrap();
    assert!(cases.len() >= 19, "{} cases", cases.len());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let d = dir.join(name);
        let judge = &case["judge"];
        let (atol, rtol) = (
            judge["atol"].as_f64().unwrap() as f32,
            judge["rtol"].as_f64().unwrap() as f32,
        );
        let bytes = std::fs::read(d.join("model.onnx")).unwrap();
        let mut m = Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let x = npy(&d.join("input_0.npy"));
        let want = npy(&d.join("output_0.npy"));
        let mut y = vec![0.0f32; m.output_len()];
        assert_eq!(y.len(), want.len(), "{name}");
        m.run(&x, &mut y).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut worst = 0.0f32;
        for (i, (&a, &b)) in y.iter().zip(&want).enumerate() {
            let d = (a - b).abs();
            worst = worst.max(d);
            assert!(
                d <= atol + rtol * b.abs(),
                "{name}: output[{i}] = {a}, onnxruntime {b} (atol {atol}, rtol {rtol})"
            );
        }
        if want.len() > 2 && want.len() < 100 {
            assert_eq!(argmax(&y), argmax(&want), "{name}: predicted class");
        }
        let plan = rtonnx::load::compile_plan(&bytes, rtonnx::Target::native())
            .and_then(|p| rtonnx::plan::format::write(&p))
            .unwrap();
        let mut planned = Model::from_bytes(&plan).unwrap();
        let mut again = vec![0.0f32; y.len()];
        planned.run(&x, &mut again).unwrap();
        assert!(
            again
                .iter()
                .zip(&y)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}: the plan differs from the ONNX file"
        );
        println!("{name}: max |difference| {worst:.3e} (atol {atol}, rtol {rtol})");
    }
}
