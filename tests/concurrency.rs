//! What the API allows across threads (documented in docs/engine.md, "Threads"): a `Model`
//! is `Send` and `Sync`; `run` takes `&mut self`, so one model is used by one thread at a
//! time (move it, or put it behind a mutex), while different models run in parallel.
//! Every result here is compared bit for bit with the same run on one thread.

mod support;

use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use rtonnx::Model;

fn assert_send_sync<T: Send + Sync>() {}

fn model_bytes(name: &str) -> Vec<u8> {
    let path = support::shared_dir().join("models/keras2onnx").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Deterministic inputs in 0..1 (like scaled pixels), a different one per index.
fn input(len: usize, index: usize) -> Vec<f32> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Runs `count` inputs starting at `first` and returns every output.
fn run_all(m: &mut Model, first: usize, count: usize) -> Vec<Vec<f32>> {
    (first..first + count)
        .map(|i| {
            let x = input(m.input_len(), i);
            let mut y = vec![0.0; m.output_len()];
            m.run(&x, &mut y).expect("run");
            y
        })
        .collect()
}

fn bits(v: &[Vec<f32>]) -> Vec<Vec<u32>> {
    v.iter()
        .map(|y| y.iter().map(|f| f.to_bits()).collect())
        .collect()
}

#[test]
fn model_is_send_and_sync() {
    assert_send_sync::<Model>();
}

#[test]
fn two_models_on_two_threads_at_once_match_one_thread() {
    let names = ["mnist-sm.onnx", "mnist-lg.onnx"];
    let expected: Vec<_> = names
        .iter()
        .map(|n| {
            let mut m = Model::from_bytes(&model_bytes(n)).expect("load");
            bits(&run_all(&mut m, 0, 300))
        })
        .collect();
    // Load and run at the same time (the barrier lines the threads up), twice each.
    let barrier = Arc::new(Barrier::new(names.len()));
    let handles: Vec<_> = names
        .iter()
        .map(|&n| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let bytes = model_bytes(n);
                barrier.wait();
                let mut m = Model::from_bytes(&bytes).expect("load");
                let first = bits(&run_all(&mut m, 0, 300));
                let again = bits(&run_all(&mut m, 0, 300));
                assert_eq!(first, again, "{n}: a second pass differs");
                first
            })
        })
        .collect();
    for (h, (want, n)) in handles.into_iter().zip(expected.iter().zip(names)) {
        let got = h.join().expect("thread panicked");
        assert_eq!(
            &got, want,
            "{n}: results on a thread differ from one thread"
        );
    }
}

#[test]
fn one_model_moved_between_threads_one_after_another() {
    let bytes = model_bytes("mnist-sm.onnx");
    let mut reference = Model::from_bytes(&bytes).expect("load");
    let want = bits(&run_all(&mut reference, 0, 200));

    let m = Model::from_bytes(&bytes).expect("load");
    // Thread A runs the first half, hands the model back; thread B runs the second half.
    let (m, first) = thread::spawn(move || {
        let mut m = m;
        let y = run_all(&mut m, 0, 100);
        (m, y)
    })
    .join()
    .expect("thread A");
    let second = thread::spawn(move || {
        let mut m = m;
        run_all(&mut m, 100, 100)
    })
    .join()
    .expect("thread B");
    let mut got = bits(&first);
    got.extend(bits(&second));
    assert_eq!(got, want);
}

#[test]
fn one_model_shared_behind_a_mutex_by_two_threads() {
    let bytes = model_bytes("mnist-lg.onnx");
    let mut reference = Model::from_bytes(&bytes).expect("load");
    let want = bits(&run_all(&mut reference, 0, 200));

    let shared = Arc::new(Mutex::new(Model::from_bytes(&bytes).expect("load")));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                // Interleaved: thread t runs the even (t = 0) or odd (t = 1) inputs, locking
                // the model for each run.
                (0..100)
                    .map(|k| {
                        let i = 2 * k + t;
                        let mut m = shared.lock().expect("lock");
                        let y = run_all(&mut m, i, 1);
                        (i, y)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut got = vec![Vec::new(); 200];
    for h in handles {
        for (i, y) in h.join().expect("thread") {
            got[i] = bits(&y).remove(0);
        }
    }
    assert_eq!(got, want);
}
