//! Arbitrary bytes into the C API: `onnx_model_load_from_memory` (and the in-place
//! `onnx_model_load_static`); a model that loads is run with input values taken from the
//! last bytes of the input (NaN and infinities included), then freed. Checks: no panic, no
//! hang (libFuzzer `-timeout`), the heap a load uses stays within a multiple of the file plus
//! the arena, `onnx_run` allocates nothing, and both load paths compute the same results.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let tail = &data[data.len().saturating_sub(64)..];
    common::load_and_run(data, tail);
});
