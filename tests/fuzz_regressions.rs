//! Inputs the fuzzers (`fuzz/`) found problems with, kept in `tests/fuzz_regressions/`: each
//! must load or fail with an error code, without panicking and within the heap bound the
//! `load_run` fuzz target checks (12 bytes per file byte plus the arena, plus 64 KiB and the
//! fixed part of the load-time folding allowance); whatever loads must run on NaN, infinities
//! and ordinary values without panicking; both decoders must accept or refuse each alike.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use rtonnx::Model;

/// Counts the live and peak bytes of the thread that armed it.
struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

fn grow(n: usize) {
    let _ = LIVE.try_with(|l| {
        l.set(l.get() + n);
        let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
    });
}

fn shrink(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
}

// SAFETY (test): forwards every call to the system allocator; counts in thread-locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if armed() {
            grow(l.size());
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if armed() {
            grow(l.size());
        }
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if armed() {
            shrink(l.size());
        }
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if armed() {
            grow(new);
            shrink(l.size());
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Loads `bytes`; returns the model (if it loaded) and the peak heap of the load.
fn load_counted(bytes: &[u8]) -> (Option<Model>, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ARMED.with(|a| a.set(true));
    let m = Model::from_bytes(bytes).ok();
    ARMED.with(|a| a.set(false));
    (m, PEAK.with(Cell::get))
}

fn value(i: usize) -> f32 {
    match i % 6 {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        3 => -0.0,
        _ => i as f32 * 0.25 - 3.0,
    }
}

#[test]
fn every_fuzz_regression_loads_or_fails_cleanly_and_runs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no files in {}", dir.display());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let (model, peak) = load_counted(&bytes);
        let arena = model.as_ref().map_or(0, Model::arena_bytes);
        let bound = 12 * bytes.len() + arena + 64 * 1024 + 2 * 8 * 16 * 1024;
        assert!(
            peak <= bound,
            "{}: load peaked at {peak} B, bound {bound} B",
            f.display()
        );
        let status = match model {
            None => "refused".to_string(),
            Some(mut m) => {
                let xs: Vec<Vec<f32>> = m
                    .inputs()
                    .map(|t| (0..t.len()).map(value).collect())
                    .collect();
                let mut ys: Vec<Vec<f32>> = m.outputs().map(|t| vec![0.0; t.len()]).collect();
                let xr: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
                let mut yr: Vec<&mut [f32]> = ys.iter_mut().map(Vec::as_mut_slice).collect();
                let r = m.run_many(&xr, &mut yr);
                let mut info = String::new();
                let _ = m.write_info(&mut info);
                format!("loaded, run: {:?}", r.map_err(|e| e.code()))
            }
        };
        println!(
            "{}: {} B, peak heap {peak} B: {status}",
            f.file_name().unwrap().to_string_lossy(),
            bytes.len()
        );
    }
}

/// With the reference decoder built in: the in-place reader and prost accept or refuse each
/// regression file alike (`differential-*` files are inputs they disagreed on).
#[cfg(feature = "reference")]
#[test]
fn both_decoders_accept_or_refuse_each_fuzz_regression_alike() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().path();
        let bytes = std::fs::read(&f).unwrap();
        let mine = rtonnx::decode::decode_model(&bytes).map(drop);
        let reference = rtonnx::decode::reference::decode_model(&bytes).map(drop);
        assert_eq!(
            mine.is_ok(),
            reference.is_ok(),
            "{}: in-place {:?}, prost {:?}",
            f.display(),
            mine.err(),
            reference.err()
        );
    }
}
