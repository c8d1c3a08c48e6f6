//! Parity with onnxruntime on the two keras2onnx models the original package shipped:
//! the first 1000 MNIST test images within 1e-5 of onnxruntime's outputs, and all 10,000
//! predictions (hence the accuracy) equal to onnxruntime's. The references come from
//! `tools/reference/ort_reference.py` and are committed in `tests/reference/`.

mod support;

use rtonnx::Model;

struct Reference {
    sha256: String,
    correct: usize,
    predictions: Vec<u8>,
    outputs: Vec<f32>,
}

fn reference(stem: &str) -> Reference {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let text = std::fs::read_to_string(dir.join(format!("{stem}.txt"))).unwrap();
    let field = |k: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("{stem}: no {k}"))
    };
    let correct = field("accuracy ")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let predictions = field("predictions ").bytes().map(|b| b - b'0').collect();
    let outputs = std::fs::read(dir.join(format!("{stem}.f32")))
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Reference {
        sha256: field("sha256 "),
        correct,
        predictions,
        outputs,
    }
}

fn check(stem: &str) {
    let shared = support::shared_dir();
    let bytes = std::fs::read(shared.join(format!("models/keras2onnx/{stem}.onnx"))).unwrap();
    let r = reference(stem);
    assert_eq!(
        support::sha256_hex(&bytes),
        r.sha256,
        "{stem}: model differs from the reference's"
    );
    let set = rtonnx::mnist::load(&shared.join("data/mnist"), "t10k").unwrap();
    let mut m = Model::from_bytes(&bytes).unwrap();
    let shape = m.input(0).unwrap().shape.as_slice().to_vec();
    let mut y = vec![0.0f32; m.output_len()];
    let (mut max_err, mut correct, mut same) = (0.0f32, 0usize, 0usize);
    for i in 0..set.len() {
        m.run(&set.to_input(i, &shape).unwrap(), &mut y).unwrap();
        if i < 1000 {
            for (a, b) in y.iter().zip(&r.outputs[i * 10..(i + 1) * 10]) {
                max_err = max_err.max((a - b).abs());
            }
        }
        let p = y
            .iter()
            .enumerate()
            .fold(0, |best, (j, &v)| if v > y[best] { j } else { best });
        same += usize::from(p == usize::from(r.predictions[i]));
        correct += usize::from(p == usize::from(set.labels[i]));
    }
    println!(
        "{stem}: max abs error vs onnxruntime over 1000 images {max_err:.3e}; \
         predictions equal on {same}/10000; accuracy {correct}/10000 (onnxruntime {})",
        r.correct
    );
    assert!(max_err <= 1e-5, "{stem}: max abs error {max_err}");
    assert_eq!(
        same,
        set.len(),
        "{stem}: predictions differ from onnxruntime's"
    );
    assert_eq!(correct, r.correct);
}

#[test]
fn mnist_sm_matches_onnxruntime() {
    check("mnist-sm");
}

#[test]
fn mnist_lg_matches_onnxruntime() {
    check("mnist-lg");
}

/// The models we ship (examples/models/models.json): our engine reproduces the recorded
/// t10k accuracy, which equals onnxruntime's.
#[test]
fn shipped_models_reach_their_recorded_accuracy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(root.join("examples/models/models.json")).unwrap();
    let set = rtonnx::mnist::load(&support::shared_dir().join("data/mnist"), "t10k").unwrap();
    let mut checked = 0;
    for entry in json.split('{').skip(1) {
        let field = |k: &str| -> String {
            let at = entry
                .find(&format!("\"{k}\""))
                .unwrap_or_else(|| panic!("no {k}"));
            let rest = &entry[at + k.len() + 3..];
            rest.trim_start()
                .trim_start_matches('"')
                .split(['"', ',', '\n'])
                .next()
                .unwrap()
                .trim()
                .to_string()
        };
        let file = field("file");
        let want: usize = field("t10k_correct_rtonnx").parse().unwrap();
        let ort: usize = field("t10k_correct_onnxruntime").parse().unwrap();
        assert_eq!(
            want, ort,
            "{file}: recorded rtonnx and onnxruntime accuracies differ"
        );
        let bytes = std::fs::read(root.join(&file)).unwrap();
        assert_eq!(
            support::sha256_hex(&bytes),
            field("sha256"),
            "{file} changed: rerun tools/train/record_models.py"
        );
        let mut m = Model::from_bytes(&bytes).unwrap();
        let shape = m.input(0).unwrap().shape.as_slice().to_vec();
        let mut y = vec![0.0f32; m.output_len()];
        let mut correct = 0;
        for i in 0..set.len() {
            m.run(&set.to_input(i, &shape).unwrap(), &mut y).unwrap();
            let p = y
                .iter()
                .enumerate()
                .fold(0, |b, (j, &v)| if v > y[b] { j } else { b });
            correct += usize::from(p == usize::from(set.labels[i]));
        }
        println!("{file}: t10k accuracy {correct}/10000 (recorded {want}, onnxruntime {ort})");
        assert_eq!(correct, want, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 2);
}
