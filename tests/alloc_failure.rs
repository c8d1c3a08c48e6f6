//! Out of memory is an error code, never an abort: a global allocator that fails the N-th
//! allocation after it is armed, for every N of a full load of each model (the loads then
//! return `OutOfMemory` or succeed), plus a bound on what a load allocates at its peak.

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

/// Loads `bytes` with allocation number `fail_at` refused; returns (result ok?, allocations).
fn load_failing(bytes: &[u8], fail_at: usize) -> (Result<(), rtonnx::ErrorCode>, usize) {
    COUNT.store(0, SeqCst);
    FAIL_AT.store(fail_at, SeqCst);
    arm(true);
    let r = rtonnx::Model::from_bytes(bytes)
        .map(drop)
        .map_err(|e| e.code());
    arm(false);
    (r, COUNT.load(SeqCst))
}

#[test]
fn every_failed_allocation_of_a_load_is_an_out_of_memory_error() {
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = support::shared_dir().join("models/keras2onnx");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = [
        dir.join("mnist-sm.onnx"),
        dir.join("mnist-lg.onnx"),
        root.join("examples/models/mnist-sm.onnx"),
        root.join("examples/models/mnist-cnn.onnx"),
    ];
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let (ok, total) = load_failing(&bytes, usize::MAX);
        assert!(ok.is_ok(), "{}: {ok:?}", f.display());
        for n in 0..total {
            let (r, _) = load_failing(&bytes, n);
            assert_eq!(
                r,
                Err(rtonnx::ErrorCode::OutOfMemory),
                "{}: allocation {n} of {total}",
                f.display()
            );
        }
        println!(
            "{}: each of the {total} allocations of a load refused in turn: OutOfMemory every time",
            f.display()
        );
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
