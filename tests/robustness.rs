//! Hostile input: mutated and truncated real models must load or fail with an error code,
//! and whatever loads must run on any input (NaN and Inf included) without panicking.

mod support;

use rtonnx::Model;

/// xorshift64*: deterministic mutations without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn models() -> Vec<Vec<u8>> {
    let dir = support::shared_dir().join("models/keras2onnx");
    ["mnist-sm.onnx", "mnist-lg.onnx"]
        .iter()
        .map(|m| std::fs::read(dir.join(m)).unwrap_or_else(|e| panic!("{m}: {e}")))
        .collect()
}

fn exercise(bytes: &[u8]) -> bool {
    match Model::from_bytes(bytes) {
        Err(_) => false,
        Ok(mut m) => {
            let ins: Vec<Vec<f32>> = m
                .inputs()
                .map(|t| {
                    (0..t.len())
                        .map(|i| match i % 7 {
                            0 => f32::NAN,
                            1 => f32::INFINITY,
                            2 => f32::NEG_INFINITY,
                            3 => -1e30,
                            _ => i as f32 * 0.01,
                        })
                        .collect()
                })
                .collect();
            let mut outs: Vec<Vec<f32>> = m.outputs().map(|t| vec![0.0; t.len()]).collect();
            let in_refs: Vec<&[f32]> = ins.iter().map(|v| v.as_slice()).collect();
            let mut out_refs: Vec<&mut [f32]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
            let _ = m.run_many(&in_refs, &mut out_refs);
            let mut info = String::new();
            let _ = m.write_info(&mut info);
            true
        }
    }
}

#[test]
fn every_truncation_fails_cleanly() {
    for bytes in models() {
        for cut in 0..bytes.len() {
            // A cut between top-level fields can still be a valid model: just no panic.
            exercise(&bytes[..cut]);
        }
        assert!(exercise(&bytes));
    }
}

#[test]
fn random_mutations_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let base = models();
    let mut loaded = 0;
    for i in 0..20000 {
        let mut b = base[i % base.len()].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(b.len());
            match rng.below(4) {
                0 => b[at] ^= 1 << rng.below(8),
                1 => b[at] = rng.next() as u8,
                2 => {
                    b.insert(at, rng.next() as u8);
                }
                _ => {
                    b.remove(at);
                }
            }
        }
        if exercise(&b) {
            loaded += 1;
        }
    }
    println!("{loaded} of 20000 mutated models loaded and ran");
}

#[test]
fn nan_and_inf_propagate_like_onnxruntime_through_softmax() {
    // Softmax of a row containing NaN is NaN everywhere (onnxruntime agrees); Inf input to
    // Relu stays Inf.
    use support::onnx_writer::*;
    let g = graph(
        vec![
            node("Relu", "r", &["x"], &["h"], vec![]),
            node("Softmax", "s", &["h"], &["y"], vec![attr_int("axis", -1)]),
        ],
        vec![],
        vec![value_info("x", &[1, 3])],
        vec![value_info("y", &[1, 3])],
    );
    let mut m = Model::from_bytes(&model(13, g)).unwrap();
    let mut y = vec![0.0; 3];
    m.run(&[f32::NAN, 1.0, 2.0], &mut y).unwrap();
    assert!(y.iter().all(|v| v.is_nan()), "{y:?}");
}
