//! Shared by `load_run`, `structured` and `plan`: a counting global allocator, and "load
//! through the C API, check the memory bound, run on hostile input values, free".
// Each target uses a part of this module.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::ptr;

use rtonnx::capi;

/// Counts live and peak bytes (and allocations) while armed. libFuzzer runs the target on one
/// thread and its own allocations go through C `malloc`, so the counters see only ours.
pub struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed on this thread, armed or not (leak check).
    static NET: Cell<isize> = const { Cell::new(0) };
}

fn net(delta: isize) {
    let _ = NET.try_with(|n| n.set(n.get().wrapping_add(delta)));
}

fn armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

/// While armed, an allocation that would take the live bytes above this fails (returns NULL),
/// as on a device with that much heap: a 200-byte file may ask for a 500 MB arena, which the
/// load must then refuse with `OutOfMemory` instead of exhausting the fuzzing process.
const HEAP_CAP: usize = 64 << 20;

/// True when an armed allocation of `n` more bytes must be refused.
fn refuse(n: usize) -> bool {
    armed() && LIVE.try_with(Cell::get).unwrap_or(0).saturating_add(n) > HEAP_CAP
}

fn grow(n: usize) {
    let _ = LIVE.try_with(|l| {
        let live = l.get().saturating_add(n);
        l.set(live);
        let _ = PEAK.try_with(|p| p.set(p.get().max(live)));
    });
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

fn shrink(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping touches
// only thread-local counters and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if refuse(l.size()) {
            return ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            net(l.size() as isize);
            if armed() {
                grow(l.size());
            }
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if refuse(l.size()) {
            return ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            net(l.size() as isize);
            if armed() {
                grow(l.size());
            }
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        net(-(l.size() as isize));
        if armed() {
            shrink(l.size());
        }
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if refuse(new.saturating_sub(l.size())) {
            return ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's pointer, layout and size.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            net(new as isize - l.size() as isize);
            if armed() {
                grow(new);
                shrink(l.size());
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Starts counting from zero live bytes.
pub fn arm() {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
}

/// Stops counting; returns (peak live bytes, allocations) since `arm`.
pub fn disarm() -> (usize, usize) {
    ARMED.with(|a| a.set(false));
    (PEAK.with(Cell::get), COUNT.with(Cell::get))
}

/// Heap a load may use at its peak: the bound `tests/alloc_failure.rs` checks on real models
/// (12 bytes per input byte plus the arena), plus 64 KiB for fixed-size tables and small
/// allocations that tiny inputs cannot pay for with their own bytes, plus the fixed part of
/// the load-time folding allowance (`FOLD_BUDGET_EXTRA` elements beyond the file's length,
/// by design): up to 8 bytes each (int64 constants) and held twice at the peak (a folded
/// constant and its copy in the weight store).
pub fn load_bound(len: usize, arena: usize) -> usize {
    12 * len + arena + 64 * 1024 + 2 * 8 * FOLD_BUDGET_EXTRA
}

/// `rtonnx::compile::FOLD_BUDGET_EXTRA` (repeated so the harness builds against older trees).
const FOLD_BUDGET_EXTRA: usize = 16 * 1024;

/// Prints every load's size, peak heap and arena on stderr when `RTONNX_FUZZ_PEAKS` is set
/// (run the target binary on corpus files to see how close inputs come to the bound).
fn report_peaks() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("RTONNX_FUZZ_PEAKS").is_some())
}

/// Models whose arena or work is bigger than this are loaded and checked, not run: a 200-byte
/// file may legitimately describe a network that takes minutes.
/// (Element-wise work is bounded through the arena: a Pad to 8 M elements and a Slice back,
/// run twice under ASan, take about a second.)
const MAX_RUN_ARENA: usize = 8 << 20;
const MAX_RUN_MACS: u64 = 10_000_000;
const MAX_RUN_ELEMENTS: usize = 1 << 21;

/// Input value number `i` chosen by the fuzz bytes in `tail` (cycled): special values
/// (NaN, infinities, huge, tiny, subnormal, signed zeros) and ordinary ones.
pub fn input_value(tail: &[u8], i: usize) -> f32 {
    let b = if tail.is_empty() {
        i as u8
    } else {
        tail[i % tail.len()]
    };
    match b % 16 {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        3 => f32::MAX,
        4 => f32::MIN,
        5 => f32::MIN_POSITIVE,
        6 => 1.0e-45, // smallest subnormal
        7 => -0.0,
        8 => 0.0,
        9 => 1.0e30,
        10 => -1.0e30,
        _ => (b as f32 - 128.0) / 16.0,
    }
}

unsafe extern "C" fn sink(_ctx: *mut c_void, text: *const c_char) {
    assert!(!text.is_null());
}

/// True when a loaded model is small enough to run (see `MAX_RUN_ARENA`).
pub fn runnable(arena: usize, macs: u64) -> bool {
    arena <= MAX_RUN_ARENA && macs <= MAX_RUN_MACS
}

/// Runs a `Model` (not a C handle) on input values from `tail` as `run_c` does: one input,
/// lengths within the run limits; checks the run allocates nothing. The output bits when it
/// ran and succeeded.
pub fn run_model(m: &mut rtonnx::Model, tail: &[u8]) -> Option<Vec<u32>> {
    let (in_len, out_len) = (m.input_len(), m.output_len());
    if m.inputs().len() != 1 || in_len > MAX_RUN_ELEMENTS || out_len > MAX_RUN_ELEMENTS {
        return None;
    }
    let x: Vec<f32> = (0..in_len).map(|i| input_value(tail, i)).collect();
    let mut y = vec![0.0f32; out_len];
    arm();
    let r = m.run(&x, &mut y);
    let (_, allocs) = disarm();
    assert_eq!(allocs, 0, "Model::run allocated");
    r.ok().map(|()| y.iter().map(|v| v.to_bits()).collect())
}

/// Heap bytes held by run outputs that a checked function hands back to its caller.
pub fn output_bytes(out: &Option<Vec<u32>>) -> isize {
    out.as_ref().map_or(0, |v| (v.capacity() * 4) as isize)
}

/// Runs `f` and checks that it returns every heap byte it took (armed or not), except the
/// `held(&result)` bytes of what it returns.
pub fn leak_checked<T>(what: &str, held: impl Fn(&T) -> isize, f: impl FnOnce() -> T) -> T {
    let before = NET.with(Cell::get);
    let r = f();
    let after = NET.with(Cell::get);
    assert_eq!(after - held(&r), before, "heap bytes leaked by {what}");
    r
}

pub fn run_c(m: *mut capi::onnx_model_t, tail: &[u8]) -> Option<Vec<u32>> {
    // SAFETY: `m` is a live handle from `onnx_model_load*`.
    let (n_in, in_len, out_len) = unsafe {
        (
            capi::onnx_model_num_inputs(m),
            capi::onnx_model_input_len(m),
            capi::onnx_model_output_len(m),
        )
    };
    if n_in != 1 || in_len > MAX_RUN_ELEMENTS || out_len > MAX_RUN_ELEMENTS {
        return None;
    }
    let x: Vec<f32> = (0..in_len).map(|i| input_value(tail, i)).collect();
    let mut y = vec![0.0f32; out_len.max(1)];
    arm();
    // SAFETY: live handle; buffers of the stated lengths that do not overlap.
    let rc = unsafe { capi::onnx_run(m, x.as_ptr(), in_len, y.as_mut_ptr(), out_len) };
    let (_, allocs) = disarm();
    assert_eq!(allocs, 0, "onnx_run allocated");
    assert!(rc <= 0, "onnx_run returned {rc}");
    (rc == 0).then(|| y[..out_len].iter().map(|v| v.to_bits()).collect())
}

/// What `check` saw.
pub struct Outcome {
    /// Code of the copying load (`onnx_model_load_from_memory_ex`; 0: loaded).
    pub copied: i32,
    /// Code of the in-place load (`onnx_model_load_static_ex`), tried only when the copying
    /// load succeeded.
    pub in_place: Option<i32>,
    /// The copied model's outputs (bits), when it was run and the run succeeded.
    pub outputs: Option<Vec<u32>>,
}

/// Loads `model` through the C API (copying and in place), checks the heap bound of the load,
/// runs both with input values from `tail` when the model is small enough to run, checks they
/// agree bit for bit, prints the info table into a sink and frees. Returns true when it loaded.
pub fn load_and_run(model: &[u8], tail: &[u8]) -> bool {
    check(model, tail).copied == 0
}

/// `load_and_run`, returning what it saw.
pub fn check(model: &[u8], tail: &[u8]) -> Outcome {
    let _ = report_peaks();
    leak_checked(
        "a load, run and free",
        |o: &Outcome| output_bytes(&o.outputs),
        || load_and_run_inner(model, tail),
    )
}

/// Loads `model` in place only (`onnx_model_load_static_ex`), checks the heap bound, runs it
/// when small enough and frees; returns the load's code and the outputs when it ran.
pub fn load_static_and_run(model: &[u8], tail: &[u8]) -> (i32, Option<Vec<u32>>) {
    leak_checked(
        "an in-place load, run and free",
        |r: &(i32, Option<Vec<u32>>)| output_bytes(&r.1),
        || {
            let mut s = ptr::null_mut();
            arm();
            // SAFETY: `model` outlives `s`, which is freed below; `s` is a writable slot.
            let rc = unsafe {
                capi::onnx_model_load_static_ex(
                    model.as_ptr(),
                    model.len(),
                    &mut s,
                    ptr::null_mut(),
                )
            };
            let (peak, _) = disarm();
            assert_eq!(rc == 0, !s.is_null());
            // SAFETY: `s` is NULL or a live handle.
            let (arena, macs) =
                unsafe { (capi::onnx_model_arena_bytes(s), capi::onnx_model_macs(s)) };
            let bound = load_bound(model.len(), arena);
            assert!(
                peak <= bound,
                "in-place load peaked at {peak}, bound {bound}"
            );
            if s.is_null() {
                return (rc, None);
            }
            // SAFETY: live handle; `sink` accepts every chunk.
            assert_eq!(
                unsafe { capi::onnx_model_info_to(s, Some(sink), ptr::null_mut()) },
                0
            );
            let out = if runnable(arena, macs) {
                run_c(s, tail)
            } else {
                None
            };
            // SAFETY: freed once, not used afterwards.
            unsafe { capi::onnx_model_free(s) };
            (rc, out)
        },
    )
}

fn load_and_run_inner(model: &[u8], tail: &[u8]) -> Outcome {
    let mut m = ptr::null_mut();
    // SAFETY: all-zero is a valid `onnx_error_t` (code 0, empty message).
    let mut e: capi::onnx_error_t = unsafe { std::mem::zeroed() };
    arm();
    // SAFETY: `model` is `model.len()` readable bytes; `m` and `e` are writable slots.
    let rc = unsafe {
        capi::onnx_model_load_from_memory_ex(model.as_ptr(), model.len(), &mut m, &mut e)
    };
    let (peak, _) = disarm();
    assert_eq!(rc, e.code);
    assert_eq!(rc == 0, !m.is_null());
    // SAFETY: `m` is NULL or a live handle.
    let arena = unsafe { capi::onnx_model_arena_bytes(m) };
    let bound = load_bound(model.len(), arena);
    if report_peaks() {
        eprintln!(
            "peak: len {} peak {peak} arena {arena} excess-over-12x+arena {}",
            model.len(),
            peak as i64 - (12 * model.len() + arena) as i64
        );
        // SAFETY: the library NUL-terminates the message.
        let msg = unsafe { std::ffi::CStr::from_ptr(e.message.as_ptr()) };
        eprintln!("load: {rc} {}", msg.to_string_lossy());
    }
    assert!(
        peak <= bound,
        "load of {} bytes peaked at {peak} heap bytes (arena {arena}), bound {bound}",
        model.len()
    );
    if m.is_null() {
        return Outcome {
            copied: rc,
            in_place: None,
            outputs: None,
        };
    }

    // SAFETY: live handle.
    let macs = unsafe { capi::onnx_model_macs(m) };
    // SAFETY: live handle; `sink` accepts every chunk.
    let rc = unsafe { capi::onnx_model_info_to(m, Some(sink), ptr::null_mut()) };
    assert_eq!(rc, 0);
    let runnable = runnable(arena, macs);
    let copied = if runnable { run_c(m, tail) } else { None };

    // The same bytes loaded in place (weights used where they lie when aligned) must give
    // the same model and the same results.
    let mut s = ptr::null_mut();
    arm();
    // SAFETY: `model` outlives `s`, which is freed below; `s` is a writable slot.
    let rc = unsafe {
        capi::onnx_model_load_static_ex(model.as_ptr(), model.len(), &mut s, ptr::null_mut())
    };
    let (peak_static, _) = disarm();
    assert!(
        peak_static <= bound,
        "in-place load peaked at {peak_static}, bound {bound}"
    );
    if rc == rtonnx::ErrorCode::OutOfMemory.as_i32() {
        // SAFETY: live handle, freed once.
        unsafe { capi::onnx_model_free(m) };
        return Outcome {
            copied: 0,
            in_place: Some(rc),
            outputs: copied,
        };
    }
    assert!(
        rc == 0 && !s.is_null(),
        "loads copied but not in place ({rc})"
    );
    // SAFETY: live handles.
    unsafe {
        assert_eq!(capi::onnx_model_arena_bytes(s), arena);
        assert_eq!(capi::onnx_model_macs(s), macs);
        assert_eq!(capi::onnx_model_input_len(s), capi::onnx_model_input_len(m));
        assert_eq!(
            capi::onnx_model_output_len(s),
            capi::onnx_model_output_len(m)
        );
    }
    if runnable {
        let in_place = run_c(s, tail);
        assert_eq!(copied, in_place, "copied and in-place models differ");
    }
    // SAFETY: each handle is freed once and not used afterwards.
    unsafe {
        capi::onnx_model_free(s);
        capi::onnx_model_free(m);
    }

    // Several inputs: the C API runs only input 0, so go through `run_many`.
    if runnable {
        arm();
        let loaded = rtonnx::Model::from_bytes(model);
        disarm();
        if let Ok(mut mm) = loaded {
            if mm.inputs().len() > 1
                && mm
                    .inputs()
                    .chain(mm.outputs())
                    .all(|t| t.len() <= MAX_RUN_ELEMENTS)
            {
                let xs: Vec<Vec<f32>> = mm
                    .inputs()
                    .map(|t| (0..t.len()).map(|i| input_value(tail, i)).collect())
                    .collect();
                let mut ys: Vec<Vec<f32>> =
                    mm.outputs().map(|t| vec![0.0; t.len()]).collect();
                let xr: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
                let mut yr: Vec<&mut [f32]> = ys.iter_mut().map(Vec::as_mut_slice).collect();
                arm();
                let _ = mm.run_many(&xr, &mut yr);
                let (_, allocs) = disarm();
                assert_eq!(allocs, 0, "run_many allocated");
            }
        }
    }
    Outcome {
        copied: 0,
        in_place: Some(0),
        outputs: copied,
    }
}
