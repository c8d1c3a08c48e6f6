//! Out of memory is an error code, never an abort: a global allocator that fails the N-th
//! allocation after it is armed, for every N of a full load of each model (the loads then
//! return `OutOfMemory` or succeed), for ONNX files and for the plans compiled from them
//! (copied, from a file's buffer and in place), plus a bound on what a load allocates at its
//! peak.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

struct Failing;

thread_local! {
    // Only the test thread that armed the allocator is counted and refused: the harness and
    // other tests running at the same time allocate normally.
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Serialises the tests: they share the counters.
static LOCK: Mutex<()> = Mutex::new(());

fn armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

fn arm(on: bool) {
    ARMED.with(|a| a.set(on));
}
static COUNT: AtomicUsize = AtomicUsize::new(0);
static FAIL_AT: AtomicUsize = AtomicUsize::new(usize::MAX);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY (test): forwards to the system allocator; only refuses (returns null) when armed.
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if armed() {
            let n = COUNT.fetch_add(1, SeqCst);
            if n == FAIL_AT.load(SeqCst) {
                return std::ptr::null_mut();
            }
            let live = LIVE.fetch_add(l.size(), SeqCst) + l.size();
            PEAK.fetch_max(live, SeqCst);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if armed() {
            LIVE.fetch_sub(l.size().min(LIVE.load(SeqCst)), SeqCst);
        }
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if armed() {
            let n = COUNT.fetch_add(1, SeqCst);
            if n == FAIL_AT.load(SeqCst) {
                return std::ptr::null_mut();
            }
            let live = LIVE.fetch_add(new, SeqCst) + new;
            PEAK.fetch_max(live, SeqCst);
            LIVE.fetch_sub(l.size().min(LIVE.load(SeqCst)), SeqCst);
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Failing = Failing;

/// How a test loads a model's bytes.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// `Model::from_bytes` (ONNX or plan, copied).
    Bytes,
    /// `Model::from_vec` (a plan read from a file keeps the file's buffer).
    Vec,
    /// `Model::from_static` (a plan in flash, used in place).
    Static,
}

/// Loads `bytes` the `how` way with allocation number `fail_at` refused; returns (result,
/// allocations). The buffer `from_vec` takes is made before the allocator is armed, as the
/// file's bytes are read before the load.
fn load_failing(
    bytes: &'static [u8],
    how: Load,
    fail_at: usize,
) -> (Result<(), rtonnx::ErrorCode>, usize) {
    let owned = matches!(how, Load::Vec).then(|| bytes.to_vec());
    COUNT.store(0, SeqCst);
    FAIL_AT.store(fail_at, SeqCst);
    arm(true);
    let r = match (how, owned) {
        (Load::Vec, Some(v)) => rtonnx::Model::from_vec(v),
        (Load::Static, _) => rtonnx::Model::from_static(bytes),
        _ => rtonnx::Model::from_bytes(bytes),
    }
    .map(drop)
    .map_err(|e| e.code());
    arm(false);
    (r, COUNT.load(SeqCst))
}

/// Refuses each allocation of a load in turn: every one must give `OutOfMemory`.
fn check_every_allocation(what: &str, bytes: &'static [u8], how: Load) {
    let (ok, total) = load_failing(bytes, how, usize::MAX);
    assert!(ok.is_ok(), "{what} ({how:?}): {ok:?}");
    for n in 0..total {
        let (r, _) = load_failing(bytes, how, n);
        assert_eq!(
            r,
            Err(rtonnx::ErrorCode::OutOfMemory),
            "{what} ({how:?}): allocation {n} of {total}"
        );
    }
    println!(
        "{what} ({how:?}): each of the {total} allocations of a load refused in turn: OutOfMemory every time"
    );
}

/// The model files of the tests, read once and kept for the test's life (`from_static`).
fn model_files() -> Vec<(String, &'static [u8])> {
    let dir = support::shared_dir().join("models/keras2onnx");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        dir.join("mnist-sm.onnx"),
        dir.join("mnist-lg.onnx"),
        root.join("examples/models/mnist-sm.onnx"),
        root.join("examples/models/mnist-cnn.onnx"),
    ]
    .iter()
    .map(|f| {
        let bytes: &'static [u8] = std::fs::read(f).unwrap().leak();
        (f.display().to_string(), bytes)
    })
    .collect()
}

/// `onnx` compiled for this machine and written as a plan, at a 16-byte aligned address so
/// that an in-place load uses its weights where they lie.
fn plan_of(onnx: &[u8]) -> &'static [u8] {
    let plan = rtonnx::load::compile_plan(onnx, rtonnx::Target::native()).unwrap();
    let bytes = rtonnx::plan::format::write(&plan).unwrap();
    let words: &'static mut [u128] = vec![0u128; bytes.len().div_ceil(16)].leak();
    // SAFETY (test): the u128 buffer covers `bytes.len()` bytes; u8 has no alignment needs.
    let view: &'static mut [u8] = unsafe {
        std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 16)
    };
    view[..bytes.len()].copy_from_slice(&bytes);
    &view[..bytes.len()]
}

#[test]
fn every_failed_allocation_of_a_load_is_an_out_of_memory_error() {
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (name, bytes) in model_files() {
        check_every_allocation(&name, bytes, Load::Bytes);
    }
}

#[test]
fn every_failed_allocation_of_a_plan_load_is_an_out_of_memory_error() {
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (name, onnx) in model_files() {
        let plan = plan_of(onnx);
        for how in [Load::Bytes, Load::Vec, Load::Static] {
            check_every_allocation(&format!("plan of {name}"), plan, how);
        }
    }
}

#[test]
fn a_load_allocates_a_bounded_multiple_of_the_file_plus_the_arena() {
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = support::shared_dir().join("models/keras2onnx");
    for name in ["mnist-sm.onnx", "mnist-lg.onnx"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        LIVE.store(0, SeqCst);
        PEAK.store(0, SeqCst);
        COUNT.store(0, SeqCst);
        FAIL_AT.store(usize::MAX, SeqCst);
        arm(true);
        let m = rtonnx::Model::from_bytes(&bytes).unwrap();
        arm(false);
        let peak = PEAK.load(SeqCst);
        let bound = 12 * bytes.len() + m.arena_bytes();
        println!(
            "{name}: file {} B, arena {} B, peak heap during load {peak} B (bound {bound} B)",
            bytes.len(),
            m.arena_bytes()
        );
        assert!(peak <= bound, "{name}: {peak} > {bound}");
    }
}
